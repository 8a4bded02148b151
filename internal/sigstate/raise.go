package sigstate

import (
	"runtime"
	"syscall"
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

// SetAction sets the disposition of sig to SIG_IGN or SIG_DFL directly in
// the kernel, behind the Go runtime's back: for use just before an exec or
// a deliberate death, never in a process that goes on running Go code
// that expects its handlers.
func SetAction(sig syscall.Signal, ignore bool) error {
	var act kernelSigaction
	if ignore {
		act.handler = sigIGN
	}
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// SetMask sets the calling thread's blocked mask.
func SetMask(s Set) error {
	m := uint64(s)
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&m)), 0, 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Reraise makes the process die of sig as the traced program did, the way
// strace does: without a core dump of its own (which could overwrite the
// program's), with the default action, unblocked, sent to itself. It
// returns only if sig does not kill (the caller then exits 128+sig).
func Reraise(sig syscall.Signal) {
	if sig < 1 || sig > 64 {
		return
	}
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	runtime.LockOSThread()
	if sig != syscall.SIGKILL && sig != syscall.SIGSTOP {
		_ = SetAction(sig, false)
	}
	m := uint64(1) << (sig - 1)
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&m)), 0, 8, 0, 0)
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
	runtime.UnlockOSThread()
}
