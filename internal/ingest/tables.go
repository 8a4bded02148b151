package ingest

import (
	"sort"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Which argument of a syscall is the path it acts on (1-based), for the
// calls whose /proc, /sys and /dev paths gvcheck records.
var pathArgs = map[string]uint8{
	"open": 1, "creat": 1, "stat": 1, "lstat": 1, "access": 1, "readlink": 1,
	"execve": 1, "chdir": 1, "statfs": 1, "truncate": 1, "chmod": 1, "chown": 1,
	"lchown": 1, "mkdir": 1, "rmdir": 1, "unlink": 1, "mknod": 1, "utime": 1,
	"utimes": 1, "getxattr": 1, "lgetxattr": 1, "listxattr": 1, "llistxattr": 1,
	"setxattr": 1, "lsetxattr": 1, "chroot": 1, "acct": 1, "swapon": 1, "uselib": 1,
	"openat": 2, "openat2": 2, "newfstatat": 2, "fstatat64": 2, "statx": 2,
	"faccessat": 2, "faccessat2": 2, "readlinkat": 2, "execveat": 2, "mkdirat": 2,
	"mknodat": 2, "unlinkat": 2, "fchmodat": 2, "fchmodat2": 2, "fchownat": 2,
	"utimensat": 2, "futimesat": 2, "name_to_handle_at": 2, "inotify_add_watch": 2,
	"fanotify_mark": 5, "open_tree": 2,
}

type archTables struct {
	key  []*keySpec // by number: argument-sensitive syscalls
	path []uint8    // by number
	exec []bool
	fork []bool
}

var tablesByArch = map[sysno.Arch]*archTables{}

func init() {
	for _, a := range sysno.Arches {
		t := &archTables{}
		max := sysno.Max(a) + 1
		t.path = make([]uint8, max)
		t.exec = make([]bool, max)
		t.fork = make([]bool, max)
		t.key = keySpecs(a, max)
		for name, k := range pathArgs {
			if k > 2 {
				continue // not handled: only first-string paths are parsed
			}
			if nr, ok := sysno.Number(a, name); ok && nr < max {
				t.path[nr] = k
			}
		}
		for _, name := range []string{"execve", "execveat"} {
			if nr, ok := sysno.Number(a, name); ok {
				t.exec[nr] = true
			}
		}
		for _, name := range []string{"fork", "vfork", "clone", "clone3"} {
			if nr, ok := sysno.Number(a, name); ok {
				t.fork[nr] = true
			}
		}
		tablesByArch[a] = t
	}
}

func tablesFor(a sysno.Arch) *archTables {
	if t := tablesByArch[a]; t != nil {
		return t
	}
	return tablesByArch[sysno.AMD64]
}

func (t *archTables) isExec(nr int) bool {
	return nr >= 0 && nr < len(t.exec) && t.exec[nr]
}

func (t *archTables) isFork(nr int) bool {
	return nr >= 0 && nr < len(t.fork) && t.fork[nr]
}

func sortStrings(s []string) { sort.Strings(s) }
