package ebpf

// The BPF object is compiled from bpf/gvcheck.c by bpf2go with Debian
// bookworm's clang 14 (14.0.6), for x86_64 only, and checked in with the Go
// code bpf2go generates around it; CI regenerates both and compares.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target amd64 -go-package ebpf gvcheck bpf/gvcheck.c -- -I bpf -mcpu=v3 -Wall -Werror
