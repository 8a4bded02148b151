// Package ebpf is gvcheck's eBPF tracing backend: a complete syscall
// inventory of a process tree, a cgroup or a container, recorded by a BPF
// program on the kernel's raw syscall tracepoint and aggregated in the
// kernel, so that the traced programs run unstopped and unchanged (they may
// themselves trace, or use sanitizers) at close to native speed.
//
// The result is the profile.Profile the ptrace tracer (package trace)
// produces: the same syscall names, counts and errno counts, key arguments
// decoded by package sysargs, executables, and paths under /proc, /sys and
// /dev. See bpf/gvcheck.c for what the kernel side records and how.
package ebpf
