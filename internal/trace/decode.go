package trace

import "strings"

// Key arguments are decoded by package sysargs, shared with the strace log
// parser so that both produce the same profile keys.

// pathSyscalls maps syscalls with a path argument to its index. The tracer
// keeps paths under /proc, /sys and /dev, the trees gVisor synthesises.
var pathSyscalls = map[string]int{
	"open": 0, "openat": 1, "openat2": 1, "stat": 0, "lstat": 0, "newfstatat": 1, "statx": 1,
	"access": 0, "faccessat": 1, "faccessat2": 1, "readlink": 0, "readlinkat": 1,
	"execve": 0, "execveat": 1, "creat": 0,
}

func interestingPath(p string) bool {
	for _, pre := range []string{"/proc", "/sys", "/dev"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}
