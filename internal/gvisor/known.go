package gvisor

// What is known of gVisor's "Unsupported syscall" reports, the lines
// people find in their platform's logs (Cloud Run, GKE Sandbox, runsc's
// boot log) and ask about in gVisor's issue tracker: is this line a
// problem? A report says a program asked for something gVisor did not
// implement at the time; whether that matters depends on whether the
// program falls back. Each entry cites where that is known from.

// Knowledge is the judgement of one kind of report.
type Knowledge struct {
	Syscall string
	// Key is the argument the report is keyed on ("SOL_SOCKET,SO_RCVLOWAT");
	// empty matches every report of the syscall.
	Key      string
	Harmless bool
	Why      string
	// Source is where the knowledge comes from: source files of the
	// libraries that fall back, and gVisor's issues and commits.
	Source string
}

var known = []Knowledge{
	{
		Syscall: "rseq", Harmless: true,
		Why:    "glibc (2.35 and later) registers every thread with rseq and carries on without it when the kernel refuses; gVisor supports rseq only on platforms that detect preemption (kvm)",
		Source: "glibc sysdeps/nptl/dl-tls_init_tp.c and sysdeps/unix/sysv/linux/rseq-internal.h (a failed registration only leaves __rseq_size 0); gVisor pkg/sentry/kernel/rseq.go; reported in https://github.com/google/gvisor/issues/8287",
	},
	{
		Syscall: "clone3", Harmless: true,
		Why:    "glibc (2.34 and later) starts threads with clone3 and falls back to clone when clone3 returns ENOSYS, which gVisor returned until it implemented clone3 in 2023",
		Source: "glibc sysdeps/unix/sysv/linux/clone-internal.c (__clone_internal falls back on ENOSYS); https://github.com/google/gvisor/issues/12557; reported in https://github.com/google/gvisor/issues/8287 and https://github.com/google/gvisor/issues/8585",
	},
	{
		Syscall: "faccessat2", Harmless: true,
		Why:    "glibc's faccessat (2.33 and later) calls faccessat2 and, when it returns ENOSYS, uses faccessat and checks the flags itself; only a program calling faccessat2 directly without a fallback would notice",
		Source: "glibc sysdeps/unix/sysv/linux/faccessat.c; reported in https://github.com/google/gvisor/issues/7575",
	},
	{
		Syscall: "membarrier", Harmless: true,
		Why:    ".NET's runtime and musl libc try membarrier and fall back when it is unsupported (musl emulates the barrier with signals)",
		Source: "gVisor maintainers in https://github.com/google/gvisor/issues/267 (coreclr's fallback in src/pal/src/thread/process.cpp); musl src/linux/membarrier.c; reported with node:alpine in https://github.com/alpinelinux/docker-alpine/issues/75",
	},
	{
		Syscall: "setsockopt", Key: "SOL_SOCKET,SO_RCVLOWAT", Harmless: true,
		Why:    "gVisor accepts and ignores SO_RCVLOWAT, and stopped reporting it because it does not affect correctness",
		Source: "gVisor commit 007a91a911084e46efffc4e2531ff8dee5cf1917, cited in https://github.com/google/gvisor/issues/7575",
	},
}

// Classify returns what is known of a report, if anything.
func Classify(u UnsupportedReport) (Knowledge, bool) {
	for _, k := range known {
		if k.Syscall == u.Name && (k.Key == "" || k.Key == u.Key) {
			return k, true
		}
	}
	return Knowledge{}, false
}

// IsLog reports whether the start of an input holds a report: a runsc
// log, or lines pasted from a platform's logs.
func IsLog(head []byte) bool {
	return unsupportedRe.Match(head)
}
