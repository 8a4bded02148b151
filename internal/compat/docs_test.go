package compat_test

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/compat/extract"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Exceptions to "the documentation of 2020-04-23 agrees with the served
// versions just before (2019-12-24) and after (2020-07-27) it", each with
// its reason, found by reading the tables of both versions.
var (
	// Listed unimplemented by the docs, yet implemented in the version.
	docsUnimplButImplemented = map[string]map[string]string{
		v191224: {
			// None: every listed name is unimplemented in 2019-12-24.
		},
		v200727: {
			"set_robust_list": "implemented after the docs were generated (Supported by 2020-07-27)",
			"get_robust_list": "implemented after the docs were generated (Supported by 2020-07-27)",
		},
		v200727 + " --vfs2": {
			"set_robust_list": "implemented after the docs were generated (Supported by 2020-07-27)",
			"get_robust_list": "implemented after the docs were generated (Supported by 2020-07-27)",
			"renameat2":       "implemented in the VFS2 overrides only; the docs were generated from the VFS1 table",
		},
	}
	// Implemented per the docs, yet unimplemented in the version.
	docsImplButUnimplemented = map[string]map[string]string{
		v191224: {
			"lsetxattr":    "extended attributes implemented between 2019-12 and 2020-04 (Error \"Requires filesystem support.\" before)",
			"fsetxattr":    "extended attributes implemented between 2019-12 and 2020-04",
			"lgetxattr":    "extended attributes implemented between 2019-12 and 2020-04",
			"fgetxattr":    "extended attributes implemented between 2019-12 and 2020-04",
			"listxattr":    "extended attributes implemented between 2019-12 and 2020-04",
			"llistxattr":   "extended attributes implemented between 2019-12 and 2020-04",
			"flistxattr":   "extended attributes implemented between 2019-12 and 2020-04",
			"removexattr":  "extended attributes implemented between 2019-12 and 2020-04",
			"lremovexattr": "extended attributes implemented between 2019-12 and 2020-04",
			"fremovexattr": "extended attributes implemented between 2019-12 and 2020-04",
			"rseq":         "rseq implemented between 2019-12 and 2020-04 (ErrorWithEvent ENOSYS before)",
		},
		v200727:             {},
		v200727 + " --vfs2": {},
	}
)

// TestDocsCrossCheck compares the article's 96-name list with the tables
// generated from gVisor's source for the versions around it.
func TestDocsCrossCheck(t *testing.T) {
	docs := mustLoad(t, docsID, sysno.AMD64, "")
	names := extract.DocsNames()
	if len(names) != 96 {
		t.Fatalf("article list has %d names, want 96", len(names))
	}
	if n := docs.Count(compat.Unimplemented); n != 96 {
		t.Errorf("%s table has %d unimplemented, want 96", docsID, n)
	}
	if docs.Len() != 347 || docs.Count(compat.Full) != 251 {
		t.Errorf("%s table: %d entries, %d implemented; the article says 251 of 347", docsID, docs.Len(), docs.Count(compat.Full))
	}
	for _, name := range names {
		if e, ok := docs.LookupName(name); !ok || e.Support != compat.Unimplemented {
			t.Errorf("%s: %s = %+v, %t", docsID, name, e, ok)
		}
	}

	for _, c := range []struct{ id, variant string }{{v191224, ""}, {v200727, ""}, {v200727, "--vfs2"}} {
		key := c.id
		if c.variant != "" {
			key += " " + c.variant
		}
		tb := mustLoad(t, c.id, sysno.AMD64, c.variant)
		// The docs covered exactly the numbers in gVisor's table.
		for _, e := range docs.Entries() {
			if !tb.Lookup(e.Number).InTable {
				t.Errorf("%s: docs list %d %s, table lacks it", key, e.Number, e.Name)
			}
		}
		usedA, usedB := map[string]bool{}, map[string]bool{}
		for _, d := range docs.Entries() {
			e := tb.Lookup(d.Number)
			docUnimpl := d.Support == compat.Unimplemented
			unimpl := e.Support == compat.Unimplemented
			switch {
			case docUnimpl && !unimpl:
				if reason, ok := docsUnimplButImplemented[key][d.Name]; ok {
					usedA[d.Name] = true
					t.Logf("%s: %s listed unimplemented, table says %s: %s", key, d.Name, e.Support, reason)
				} else {
					t.Errorf("%s: %s is on the article's list but %s in the table, and no exception explains it", key, d.Name, e.Support)
				}
			case !docUnimpl && unimpl:
				if reason, ok := docsImplButUnimplemented[key][d.Name]; ok {
					usedB[d.Name] = true
					t.Logf("%s: %s implemented per the docs, table says unimplemented: %s", key, d.Name, reason)
				} else {
					t.Errorf("%s: %s is implemented per the docs but unimplemented in the table, and no exception explains it", key, d.Name)
				}
			}
		}
		for name := range docsUnimplButImplemented[key] {
			if !usedA[name] {
				t.Errorf("%s: stale exception %s", key, name)
			}
		}
		for name := range docsImplButUnimplemented[key] {
			if !usedB[name] {
				t.Errorf("%s: stale exception %s", key, name)
			}
		}
	}

	// The article's finding: of nmap's syscalls, only set_robust_list is
	// on the list.
	nmap := []string{"access", "arch_prctl", "bind", "brk", "close", "connect", "execve", "exit_group", "fcntl", "fstat", "futex", "getegid", "geteuid", "getgid", "getrlimit", "getsockname", "getsockopt", "getuid", "ioctl", "lseek", "mmap", "mprotect", "munmap", "open", "read", "readlink", "recvfrom", "recvmsg", "rt_sigaction", "rt_sigprocmask", "select", "sendmsg", "sendto", "set_robust_list", "set_tid_address", "setsockopt", "socket", "stat", "statfs", "write"}
	var hit []string
	for _, n := range nmap {
		if e, _ := docs.LookupName(n); e.Support == compat.Unimplemented {
			hit = append(hit, n)
		}
	}
	if len(hit) != 1 || hit[0] != "set_robust_list" {
		t.Errorf("nmap's syscalls unimplemented per %s: %v, want [set_robust_list]", docsID, hit)
	}
}
