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
	if name := unix.ErrnoName(unix.Errno(e)); name != "" {
		return name
	}
	return "E" + strconv.FormatInt(e, 10)
}
