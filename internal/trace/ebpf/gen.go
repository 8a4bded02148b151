package ebpf

// The BPF object is compiled from bpf/gvcheck.c by bpf2go with Debian
// bookworm's clang 14, for x86_64 only, and checked in with the Go code
// bpf2go generates around it; bpf/VERSIONS records the generator's and the
// compiler's versions. CI regenerates all three and compares: the output is
// byte for byte reproducible (bpf2go strips the compiler's identity and the
// source directory).
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target amd64 -go-package ebpf gvcheck bpf/gvcheck.c -- -I bpf -mcpu=v3 -Wall -Werror
//go:generate sh -c "{ go list -m -f '{{.Path}} {{.Version}}' github.com/cilium/ebpf; clang-14 --version | head -n 1; } > bpf/VERSIONS"
