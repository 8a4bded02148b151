package sysargs

import (
	"slices"
	"strings"
)

// PathArg says which arguments of a syscall name a file: Path is the index
// of the path string, Dir that of the directory fd it is relative to (-1:
// the working directory).
type PathArg struct{ Path, Dir int }

// pathArgs covers the syscalls whose path argument decides what gVisor
// answers (it synthesises /proc, /sys and /dev itself).
var pathArgs = map[string]PathArg{
	"open": {0, -1}, "creat": {0, -1}, "stat": {0, -1}, "lstat": {0, -1},
	"access": {0, -1}, "readlink": {0, -1}, "execve": {0, -1}, "truncate": {0, -1},
	"chdir": {0, -1}, "mkdir": {0, -1}, "rmdir": {0, -1}, "unlink": {0, -1},
	"chmod": {0, -1}, "chown": {0, -1}, "lchown": {0, -1}, "statfs": {0, -1},
	"getxattr": {0, -1}, "lgetxattr": {0, -1}, "listxattr": {0, -1}, "llistxattr": {0, -1},
	"setxattr": {0, -1}, "lsetxattr": {0, -1}, "utime": {0, -1}, "utimes": {0, -1},
	"mknod": {0, -1}, "uselib": {0, -1}, "chroot": {0, -1}, "acct": {0, -1}, "swapon": {0, -1},
	"openat": {1, 0}, "openat2": {1, 0}, "newfstatat": {1, 0}, "fstatat64": {1, 0},
	"statx": {1, 0}, "faccessat": {1, 0}, "faccessat2": {1, 0}, "readlinkat": {1, 0},
	"execveat": {1, 0}, "mkdirat": {1, 0}, "unlinkat": {1, 0}, "fchmodat": {1, 0},
	"fchmodat2": {1, 0}, "fchownat": {1, 0}, "mknodat": {1, 0}, "utimensat": {1, 0},
	"futimesat": {1, 0}, "name_to_handle_at": {1, 0}, "open_tree": {1, 0},
	"inotify_add_watch": {1, -1},
}

// PathArgOf returns where name's path argument is.
func PathArgOf(name string) (PathArg, bool) {
	a, ok := pathArgs[name]
	return a, ok
}

// PathSyscalls lists the syscalls PathArgOf knows, sorted.
func PathSyscalls() []string {
	names := make([]string, 0, len(pathArgs))
	for n := range pathArgs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SynthesizedRoots are the trees gVisor builds itself rather than passing
// through from the host's filesystem.
var SynthesizedRoots = []string{"/proc", "/sys", "/dev"}

// SynthesizedPath reports whether an absolute path lies in one of them.
func SynthesizedPath(p string) bool {
	for _, root := range SynthesizedRoots {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}
