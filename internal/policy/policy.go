// Package policy compiles a per-syscall decision table into a seccomp BPF
// program, and provides the re-exec shim that installs such a program
// between fork and exec. One compiler serves the fast tracer (ALLOW what
// gVisor fully supports, TRACE the rest), probe (ERRNO what gVisor lacks)
// and tests.
package policy

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Action is what the filter does with a syscall.
type Action int

const (
	// Allow runs the syscall natively, unobserved.
	Allow Action = iota
	// Trace stops the caller in a PTRACE_EVENT_SECCOMP stop for the tracer
	// (without a tracer the kernel fails the call with ENOSYS).
	Trace
	// Errno fails the syscall with the rule's errno without running it.
	Errno
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Trace:
		return "trace"
	case Errno:
		return "errno"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Rule is the decision for one syscall number.
//
// Argument conditions will be added as a field (a list of conditions on
// 32-bit halves of arguments); several rules may then share a number and are
// tried in order, the first whose conditions all hold wins. Today a number
// may appear once.
type Rule struct {
	Nr     int
	Action Action
	Errno  unix.Errno // for Errno; must be 1..4095
}

// Policy is a complete decision table for one architecture.
type Policy struct {
	Arch         sysno.Arch
	Default      Action // for numbers without a rule
	DefaultErrno unix.Errno
	Rules        []Rule
	// OtherABI is the action for calls made through another ABI of the same
	// CPU (i386 int 0x80 and x32 on amd64, compat on arm64), which gVisor
	// does not implement. The zero value lets them run.
	OtherABI      Action
	OtherABIErrno unix.Errno
}

// Action returns the policy's decision for nr (of the native ABI).
func (p *Policy) Action(nr int) (Action, unix.Errno) {
	for _, r := range p.Rules {
		if r.Nr == nr {
			return r.Action, r.Errno
		}
	}
	return p.Default, p.DefaultErrno
}

// Classic BPF opcodes used by the compiler (linux/bpf_common.h).
const (
	bpfLD   = 0x00
	bpfJMP  = 0x05
	bpfRET  = 0x06
	bpfW    = 0x00
	bpfABS  = 0x20
	bpfJA   = 0x00
	bpfJEQ  = 0x10
	bpfJGE  = 0x30
	bpfJSET = 0x40
	bpfK    = 0x00

	// BPFMaxInsns is the kernel's limit on a classic BPF program's length.
	BPFMaxInsns = 4096

	// Offsets in struct seccomp_data.
	offNr   = 0
	offArch = 4

	x32Bit = 0x40000000
)

// AuditArch returns the AUDIT_ARCH_* value seccomp reports for a.
func AuditArch(a sysno.Arch) (uint32, error) {
	switch a {
	case sysno.AMD64:
		return unix.AUDIT_ARCH_X86_64, nil
	case sysno.ARM64:
		return 0xc00000b7, nil // AUDIT_ARCH_AARCH64
	}
	return 0, fmt.Errorf("policy: unsupported architecture %q", a)
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

func retFor(a Action, e unix.Errno) (uint32, error) {
	switch a {
	case Allow:
		return unix.SECCOMP_RET_ALLOW, nil
	case Trace:
		return unix.SECCOMP_RET_TRACE, nil
	case Errno:
		if e <= 0 || e > 4095 {
			return 0, fmt.Errorf("errno %d out of range 1..4095", int(e))
		}
		return unix.SECCOMP_RET_ERRNO | uint32(e), nil
	}
	return 0, fmt.Errorf("unknown action %d", int(a))
}

// interval is a run of consecutive syscall numbers with the same verdict.
type interval struct {
	lo, hi uint32 // inclusive
	ret    uint32
}

// Compile returns the seccomp program for p: check the architecture (and on
// amd64 the x32 bit), then find the verdict by a binary search over ranges
// of numbers, so a call costs O(log n) comparisons rather than a chain of
// hundreds.
func (p *Policy) Compile() ([]unix.SockFilter, error) {
	audit, err := AuditArch(p.Arch)
	if err != nil {
		return nil, err
	}
	defRet, err := retFor(p.Default, p.DefaultErrno)
	if err != nil {
		return nil, fmt.Errorf("policy default: %w", err)
	}
	otherRet, err := retFor(p.OtherABI, p.OtherABIErrno)
	if err != nil {
		return nil, fmt.Errorf("policy other-ABI action: %w", err)
	}
	rules := slices.Clone(p.Rules)
	slices.SortFunc(rules, func(a, b Rule) int { return a.Nr - b.Nr })
	var ivs []interval
	next := uint32(0) // first number not yet covered
	for i, r := range rules {
		if r.Nr < 0 || r.Nr >= x32Bit {
			return nil, fmt.Errorf("policy rule %d: syscall number %d out of range", i, r.Nr)
		}
		if i > 0 && rules[i-1].Nr == r.Nr {
			return nil, fmt.Errorf("policy: syscall %s has two rules", sysno.Name(p.Arch, r.Nr))
		}
		ret, err := retFor(r.Action, r.Errno)
		if err != nil {
			return nil, fmt.Errorf("policy rule for %s: %w", sysno.Name(p.Arch, r.Nr), err)
		}
		n := uint32(r.Nr)
		if n > next {
			ivs = appendInterval(ivs, interval{next, n - 1, defRet})
		}
		ivs = appendInterval(ivs, interval{n, n, ret})
		next = n + 1
	}
	ivs = appendInterval(ivs, interval{next, 0xffffffff, defRet})

	prog := []unix.SockFilter{
		stmt(bpfLD|bpfW|bpfABS, offArch),
		jump(bpfJMP|bpfJEQ|bpfK, audit, 1, 0),
		stmt(bpfRET|bpfK, otherRet),
		stmt(bpfLD|bpfW|bpfABS, offNr),
	}
	if p.Arch == sysno.AMD64 {
		// x32 calls carry bit 30; "negative" numbers land here too, which
		// only ever fail with ENOSYS natively.
		prog = append(prog,
			jump(bpfJMP|bpfJSET|bpfK, x32Bit, 0, 1),
			stmt(bpfRET|bpfK, otherRet))
	}
	prog = append(prog, tree(ivs)...)
	if len(prog) > BPFMaxInsns {
		return nil, fmt.Errorf("policy: filter has %d instructions, the kernel allows %d", len(prog), BPFMaxInsns)
	}
	return prog, nil
}

func appendInterval(ivs []interval, iv interval) []interval {
	if n := len(ivs); n > 0 && ivs[n-1].ret == iv.ret && ivs[n-1].hi+1 == iv.lo {
		ivs[n-1].hi = iv.hi
		return ivs
	}
	return append(ivs, iv)
}

// tree emits a binary decision tree over sorted, contiguous intervals with
// the syscall number in A. Jumps farther than a conditional jump's 8-bit
// offset go through an unconditional long jump.
func tree(ivs []interval) []unix.SockFilter {
	if len(ivs) == 1 {
		return []unix.SockFilter{stmt(bpfRET|bpfK, ivs[0].ret)}
	}
	mid := len(ivs) / 2
	left, right := tree(ivs[:mid]), tree(ivs[mid:])
	split := ivs[mid].lo
	var out []unix.SockFilter
	if len(left) <= 255 {
		out = append(out, jump(bpfJMP|bpfJGE|bpfK, split, uint8(len(left)), 0))
	} else {
		// A >= split: fall through to the long jump over the left subtree.
		out = append(out,
			jump(bpfJMP|bpfJGE|bpfK, split, 0, 1),
			stmt(bpfJMP|bpfJA, uint32(len(left))))
	}
	out = append(out, left...)
	return append(out, right...)
}
