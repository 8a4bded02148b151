//go:build linux

package trace

import (
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

// quietSIGCHLD sets SIGCHLD to SIG_DFL for the process and returns a
// function restoring the previous action. Every ptrace-stop signals
// SIGCHLD to the tracer; with the Go runtime's handler installed each one
// is delivered (waking some thread of gvcheck), which costs about as much
// as the stop itself. With SIG_DFL the kernel discards it without delivery,
// and wait4 works unchanged (unlike SIG_IGN, which would reap children).
// Nothing else in gvcheck listens for SIGCHLD while Run traces.
func quietSIGCHLD() (restore func()) {
	var old kernelSigaction
	dfl := kernelSigaction{}
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(&dfl)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	if e != 0 {
		return func() {}
	}
	return func() {
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
			uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	}
}
