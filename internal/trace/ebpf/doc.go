// Package ebpf is gvcheck's eBPF tracing backend: a complete syscall
// inventory of a process tree, a cgroup or a container, recorded by a BPF
// program on the kernel's raw syscall tracepoint and aggregated in the
// kernel, so that the traced programs run unstopped and unchanged (they may
// themselves trace, or use sanitizers) at close to native speed.
//
// The result is the profile.Profile the ptrace tracer (package trace)
// produces in full mode with exact errors: the same syscall names, counts
// and errno counts, key arguments decoded by package sysargs, executables,
// and paths under /proc, /sys and /dev. See bpf/gvcheck.c for what the
// kernel side records and how. Where the two can differ:
//
//   - The program sees a call when it returns, so paths relative to a
//     directory are resolved then: for chdir, which moves the working
//     directory, a relative path that succeeded is named by the directory
//     it led to (symbolic links followed, where ptrace joins the names).
//   - Executables are named as their process sees them, from its own root:
//     in a container, /bin/busybox rather than a path under the runtime's
//     storage.
//   - Only x86_64 calls are recorded; the i386 ABI (int 0x80), which gVisor
//     lacks, is skipped, as the ptrace tracer skips it.
package ebpf
