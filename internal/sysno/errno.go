package sysno

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// kernelOnly are the kernel's internal restart codes, which a tracer sees in
// a syscall's return value (and gVisor's strace prints) but libc never does.
var kernelOnly = map[int64]string{
	512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
	515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK",
}

// ErrnoName names errno e as strace does ("ENOENT"), including the
// kernel's internal restart codes; unknown numbers print as "E<n>".
func ErrnoName(e int64) string {
	if name, ok := kernelOnly[e]; ok {
		return name
	}
	if e == int64(unix.EOPNOTSUPP) {
		// 95 is both ENOTSUP and EOPNOTSUPP; gVisor and strace say the latter.
		return "EOPNOTSUPP"
	}
	if name := unix.ErrnoName(unix.Errno(e)); name != "" {
		return name
	}
	return "E" + strconv.FormatInt(e, 10)
}

// errnoAliases are names unix.ErrnoName does not give for their number.
var errnoAliases = map[string]unix.Errno{
	"EOPNOTSUPP": unix.EOPNOTSUPP, "ENOTSUP": unix.ENOTSUP, "EWOULDBLOCK": unix.EWOULDBLOCK,
	"EAGAIN": unix.EAGAIN, "EDEADLOCK": unix.EDEADLOCK, "EDEADLK": unix.EDEADLK,
}

// ErrnoValue returns the number of an errno name such as "ENOSYS".
func ErrnoValue(name string) (unix.Errno, bool) {
	if e, ok := errnoAliases[name]; ok {
		return e, true
	}
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e, true
		}
	}
	return 0, false
}
