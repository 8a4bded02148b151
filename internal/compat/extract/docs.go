package extract

import (
	"fmt"
	"time"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// DocsID names the version that is gVisor's documentation of 2020-04-23 as
// quoted by the article gvcheck started from.
const DocsID = "docs-2020-04-23"

// docsNames is the article's list of the amd64 syscalls gVisor's
// documentation called unimplemented on 2020-04-23, verbatim and in its
// order (it saved it as gvisor_unimplemented_20200423).
var docsNames = []string{
	"msgget",
	"msgsnd",
	"msgrcv",
	"msgctl",
	"setfsuid",
	"setfsgid",
	"uselib",
	"personality",
	"ustat",
	"sysfs",
	"sched_setparam",
	"sched_rr_get_interval",
	"vhangup",
	"modify_ldt",
	"pivot_root",
	"sysctl",
	"adjtimex",
	"acct",
	"settimeofday",
	"swapon",
	"swapoff",
	"reboot",
	"iopl",
	"ioperm",
	"create_module",
	"init_module",
	"delete_module",
	"get_kernel_syms",
	"query_module",
	"quotactl",
	"nfsservctl",
	"getpmsg",
	"putpmsg",
	"afs_syscall",
	"tuxcall",
	"security",
	"set_thread_area",
	"get_thread_area",
	"lookup_dcookie",
	"epoll_ctl_old",
	"epoll_wait_old",
	"remap_file_pages",
	"semtimedop",
	"vserver",
	"mq_open",
	"mq_unlink",
	"mq_timedsend",
	"mq_timedreceive",
	"mq_notify",
	"mq_getsetattr",
	"kexec_load",
	"add_key",
	"request_key",
	"keyctl",
	"ioprio_set",
	"ioprio_get",
	"migrate_pages",
	"set_robust_list",
	"get_robust_list",
	"vmsplice",
	"move_pages",
	"perf_event_open",
	"fanotify_init",
	"fanotify_mark",
	"name_to_handle_at",
	"open_by_handle_at",
	"clock_adjtime",
	"setns",
	"process_vm_readv",
	"process_vm_writev",
	"kcmp",
	"finit_module",
	"sched_setattr",
	"sched_getattr",
	"renameat2",
	"kexec_file_load",
	"bpf",
	"userfaultfd",
	"membarrier",
	"copy_file_range",
	"pkey_mprotect",
	"pkey_alloc",
	"pkey_free",
	"io_pgetevents",
	"pidfd_send_signal",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"open_tree",
	"move_mount",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"pidfd_open",
	"clone3",
}

// DocsNames returns a copy of the article's list.
func DocsNames() []string { return append([]string(nil), docsNames...) }

// Docs builds the docs-2020-04-23 version: the documentation covered the 347
// amd64 syscalls of Linux at the time (0-334 and 424-435); the 96 listed are
// unimplemented, the rest implemented. The list gives names only, so there
// is no partial level, errno, note or arm64 table: ENOSYS is assumed.
func Docs() (*Result, error) {
	unimpl := map[int]string{}
	for _, name := range docsNames {
		nr, ok := sysno.Number(sysno.AMD64, name)
		if !ok {
			return nil, fmt.Errorf("%s: unknown amd64 syscall %q", DocsID, name)
		}
		if _, dup := unimpl[nr]; dup {
			return nil, fmt.Errorf("%s: %q listed twice", DocsID, name)
		}
		unimpl[nr] = name
	}
	var entries []compat.Entry
	add := func(nr int) {
		e := compat.Entry{Number: nr, Name: sysno.Name(sysno.AMD64, nr), Support: compat.Full, InTable: true}
		if name, ok := unimpl[nr]; ok {
			e.Name = name
			e.Support = compat.Unimplemented
			e.Errno = "ENOSYS"
			e.Note = "Listed as unimplemented in gVisor's documentation of 2020-04-23 (names only; errno assumed)."
			delete(unimpl, nr)
		}
		entries = append(entries, e)
	}
	for nr := 0; nr <= 334; nr++ {
		add(nr)
	}
	for nr := 424; nr <= 435; nr++ {
		add(nr)
	}
	if len(unimpl) != 0 {
		return nil, fmt.Errorf("%s: %d listed names fall outside the documented range", DocsID, len(unimpl))
	}
	return &Result{
		Version: compat.Version{
			ID:   DocsID,
			Date: time.Date(2020, 4, 23, 0, 0, 0, 0, time.UTC),
			// The article's environment: gVisor release-20200323.0-181-g486759a37d61.
			Tag:       "release-20200323.0",
			Source:    "the article \"このアプリ、gVisor 上でも動きますか?\" (2020-04-23): its copy of the unimplemented list of gvisor.dev/docs/user_guide/compatibility/linux/amd64/",
			NamesOnly: true,
		},
		Tables: map[sysno.Arch]map[string][]compat.Entry{sysno.AMD64: {"": entries}},
	}, nil
}
