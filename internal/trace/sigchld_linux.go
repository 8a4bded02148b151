//go:build linux

package trace

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction on amd64 and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// Every ptrace-stop signals SIGCHLD to the tracer. With the Go runtime's
// handler installed each one is delivered (waking some thread of gvcheck),
// which costs about as much as the stop itself; with SIG_DFL the kernel
// discards it without delivery, and wait4 works unchanged (unlike SIG_IGN,
// which would reap children). Run quiets SIGCHLD while it traces; Attach
// needs the notifications, so while one attaches SIGCHLD stays delivered.
var sigchld struct {
	sync.Mutex
	quiet, attaching int
	saved            kernelSigaction // the runtime's action while quiet
}

func sigaction(act, old *kernelSigaction) bool {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return e == 0
}

// quietSIGCHLD sets SIGCHLD to SIG_DFL unless an Attach is running; the
// returned function undoes it.
func quietSIGCHLD() (restore func()) {
	sigchld.Lock()
	defer sigchld.Unlock()
	if sigchld.attaching > 0 {
		return func() {}
	}
	if sigchld.quiet == 0 {
		var dfl kernelSigaction
		if !sigaction(&dfl, &sigchld.saved) {
			return func() {}
		}
	}
	sigchld.quiet++
	return func() {
		sigchld.Lock()
		defer sigchld.Unlock()
		sigchld.quiet--
		if sigchld.quiet == 0 && sigchld.attaching == 0 {
			sigaction(&sigchld.saved, nil)
		}
	}
}

// loudSIGCHLD makes sure SIGCHLD is delivered while an Attach runs.
func loudSIGCHLD() (done func()) {
	sigchld.Lock()
	defer sigchld.Unlock()
	if sigchld.attaching == 0 && sigchld.quiet > 0 {
		sigaction(&sigchld.saved, nil)
	}
	sigchld.attaching++
	return func() {
		sigchld.Lock()
		defer sigchld.Unlock()
		sigchld.attaching--
		if sigchld.attaching == 0 && sigchld.quiet > 0 {
			var dfl kernelSigaction
			sigaction(&dfl, nil)
		}
	}
}
