// Package policy compiles a per-syscall decision table into a seccomp BPF
// program, and provides the re-exec shim that installs such a program
// between fork and exec. One compiler serves the fast tracer (ALLOW what
// gVisor fully supports, TRACE the rest), probe (ERRNO what gVisor lacks)
// and tests.
package policy

import (
	"errors"
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
	// Notify suspends the caller until a supervisor holding the filter's
	// user-notification listener answers (SECCOMP_RET_USER_NOTIF); the
	// shim creates the listener when the program uses this action.
	Notify
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Trace:
		return "trace"
	case Errno:
		return "errno"
	case Notify:
		return "notify"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Rule is the decision for one syscall number, or for the calls of that
// number whose arguments satisfy every condition in Args. Several rules may
// share a number: they are tried in the order given and the first that
// matches decides; a call no rule matches gets the policy's Default.
type Rule struct {
	Nr     int
	Args   []ArgCond // all must hold; none: every call of Nr
	Action Action
	Errno  unix.Errno // for Errno; must be 1..4095
}

// CmpOp compares a syscall argument with a value.
type CmpOp int

const (
	Eq       CmpOp = iota // arg == Value
	Ne                    // arg != Value
	MaskedEq              // arg & Mask == Value
	Lt                    // arg < Value (unsigned)
	Le                    // arg <= Value
	Gt                    // arg > Value
	Ge                    // arg >= Value
)

// ArgCond is a condition on one argument, compared as the 64-bit value the
// kernel passes (the filter checks both 32-bit halves). An argument of C
// type int may carry garbage in its upper half: compare such arguments with
// MaskedEq and Mask 0xffffffff.
type ArgCond struct {
	Arg   int // 0..5
	Op    CmpOp
	Value uint64
	Mask  uint64 // for MaskedEq
}

// Holds reports whether the condition holds for args.
func (c ArgCond) Holds(args [6]uint64) bool {
	a := args[c.Arg]
	switch c.Op {
	case Eq:
		return a == c.Value
	case Ne:
		return a != c.Value
	case MaskedEq:
		return a&c.Mask == c.Value
	case Lt:
		return a < c.Value
	case Le:
		return a <= c.Value
	case Gt:
		return a > c.Value
	case Ge:
		return a >= c.Value
	}
	return false
}

func (r *Rule) matches(args [6]uint64) bool {
	for _, c := range r.Args {
		if !c.Holds(args) {
			return false
		}
	}
	return true
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
	// PathOnly holds the numbers TracePaths made stop that the policy let
	// run otherwise: a tracer records such a call only for what its path
	// tells.
	PathOnly map[int]bool
}

// notifies reports whether some decision of p is Notify, so that a filter
// compiled from it needs a user-notification listener.
func (p *Policy) notifies() bool {
	if p.Default == Notify || p.OtherABI == Notify {
		return true
	}
	for _, r := range p.Rules {
		if r.Action == Notify {
			return true
		}
	}
	return false
}

// Action returns the policy's decision for nr (of the native ABI) when it
// does not depend on arguments: the first rule for nr without conditions,
// else the default. Decide takes arguments into account.
func (p *Policy) Action(nr int) (Action, unix.Errno) {
	for _, r := range p.Rules {
		if r.Nr == nr && len(r.Args) == 0 {
			return r.Action, r.Errno
		}
	}
	return p.Default, p.DefaultErrno
}

// decide returns the policy's decision for a call of nr with args, exactly
// as the compiled filter decides it.
func (p *Policy) decide(nr int, args [6]uint64) (Action, unix.Errno) {
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Nr == nr && r.matches(args) {
			return r.Action, r.Errno
		}
	}
	return p.Default, p.DefaultErrno
}

// Conditional reports whether some rule has argument conditions.
func (p *Policy) Conditional() bool {
	for _, r := range p.Rules {
		if len(r.Args) > 0 {
			return true
		}
	}
	return false
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
	bpfJGT  = 0x20
	bpfALU  = 0x04
	bpfAND  = 0x50
	bpfK    = 0x00

	// BPFMaxInsns is the kernel's limit on a classic BPF program's length.
	BPFMaxInsns = 4096

	// Offsets in struct seccomp_data.
	offNr   = 0
	offArch = 4
	offArgs = 16

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
	case Notify:
		return unix.SECCOMP_RET_USER_NOTIF, nil
	}
	return 0, fmt.Errorf("unknown action %d", int(a))
}

// interval is a run of consecutive syscall numbers with the same verdict,
// or a single number whose verdict depends on arguments (code).
type interval struct {
	lo, hi uint32 // inclusive
	ret    uint32
	code   []unix.SockFilter
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
	// Group the rules by number, keeping their order within a number.
	byNr := map[int][]Rule{}
	var nums []int
	for i, r := range p.Rules {
		if r.Nr < 0 || r.Nr >= x32Bit {
			return nil, fmt.Errorf("policy rule %d: syscall number %d out of range", i, r.Nr)
		}
		if _, ok := byNr[r.Nr]; !ok {
			nums = append(nums, r.Nr)
		}
		byNr[r.Nr] = append(byNr[r.Nr], r)
	}
	slices.Sort(nums)
	var ivs []interval
	next := uint32(0) // first number not yet covered
	for _, nr := range nums {
		iv, err := p.compileNr(nr, byNr[nr], defRet)
		if err != nil {
			return nil, fmt.Errorf("policy rule for %s: %w", sysno.Name(p.Arch, nr), err)
		}
		n := uint32(nr)
		if n > next {
			ivs = appendInterval(ivs, interval{lo: next, hi: n - 1, ret: defRet})
		}
		ivs = appendInterval(ivs, iv)
		next = n + 1
	}
	ivs = appendInterval(ivs, interval{lo: next, hi: 0xffffffff, ret: defRet})

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
	if n := len(ivs); n > 0 && iv.code == nil && ivs[n-1].code == nil && ivs[n-1].ret == iv.ret && ivs[n-1].hi+1 == iv.lo {
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
		if ivs[0].code != nil {
			return ivs[0].code
		}
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

// compileNr compiles the rules of one number. Without argument conditions
// the first rule decides; otherwise the code tries each rule in turn and
// falls back to the default.
func (p *Policy) compileNr(nr int, rules []Rule, defRet uint32) (interval, error) {
	n := uint32(nr)
	if len(rules[0].Args) == 0 {
		if len(rules) > 1 {
			return interval{}, errors.New("a rule without argument conditions comes before other rules of the same syscall")
		}
		ret, err := retFor(rules[0].Action, rules[0].Errno)
		return interval{lo: n, hi: n, ret: ret}, err
	}
	var code []unix.SockFilter
	for i := 0; i < len(rules); {
		r := rules[i]
		if len(r.Args) == 0 && i != len(rules)-1 {
			return interval{}, errors.New("a rule without argument conditions comes before other rules of the same syscall")
		}
		// A run of rules that each compare the low half of one argument
		// under one mask (prctl options, ioctl requests) shares one load.
		if j := lowRun(rules, i); j-i >= 3 {
			block, err := lowBlock(rules[i:j])
			if err != nil {
				return interval{}, err
			}
			code = append(code, block...)
			i = j
			continue
		}
		ret, err := retFor(r.Action, r.Errno)
		if err != nil {
			return interval{}, err
		}
		block, err := ruleBlock(r.Args, ret)
		if err != nil {
			return interval{}, err
		}
		code = append(code, block...)
		if len(r.Args) == 0 {
			return interval{lo: n, hi: n, code: code}, nil
		}
		i++
	}
	code = append(code, stmt(bpfRET|bpfK, defRet))
	return interval{lo: n, hi: n, code: code}, nil
}

// lowOnly reports whether c is a masked comparison of an argument's low
// half alone: the high half of mask and value are zero, so it always holds.
func lowOnly(c ArgCond) bool {
	return c.Op == MaskedEq && c.Mask>>32 == 0 && c.Value>>32 == 0
}

// lowRun returns the end of the run of rules from i that each have one
// low-half condition on the same argument under the same mask, at most
// 200 so that every jump of lowBlock fits in 8 bits.
func lowRun(rules []Rule, i int) int {
	if len(rules[i].Args) != 1 || !lowOnly(rules[i].Args[0]) {
		return i
	}
	first := rules[i].Args[0]
	j := i + 1
	for j < len(rules) && j-i < 200 {
		a := rules[j].Args
		if len(a) != 1 || !lowOnly(a[0]) || a[0].Arg != first.Arg || a[0].Mask != first.Mask {
			break
		}
		j++
	}
	return j
}

// lowBlock compiles a run found by lowRun: load and mask the low half once,
// then one comparison per rule, in order, jumping to a shared return per
// verdict; when none matches, it falls through to the next rule.
func lowBlock(rules []Rule) ([]unix.SockFilter, error) {
	c := rules[0].Args[0]
	if c.Arg < 0 || c.Arg > 5 {
		return nil, fmt.Errorf("argument %d out of range 0..5", c.Arg)
	}
	var rets []uint32
	which := make([]int, len(rules))
	for i, r := range rules {
		ret, err := retFor(r.Action, r.Errno)
		if err != nil {
			return nil, err
		}
		k := slices.Index(rets, ret)
		if k < 0 {
			k = len(rets)
			rets = append(rets, ret)
		}
		which[i] = k
	}
	code := []unix.SockFilter{stmt(bpfLD|bpfW|bpfABS, uint32(offArgs+8*c.Arg))}
	if uint32(c.Mask) != 0xffffffff {
		code = append(code, stmt(bpfALU|bpfAND|bpfK, uint32(c.Mask)))
	}
	for i, r := range rules {
		// From comparison i, the returns start len(rules)-i instructions on.
		jt := len(rules) - i - 1 + which[i]
		jf := 0
		if i == len(rules)-1 {
			jf = len(rets) // past the returns, to the next rule
		}
		code = append(code, jump(bpfJMP|bpfJEQ|bpfK, uint32(r.Args[0].Value), uint8(jt), uint8(jf)))
	}
	for _, ret := range rets {
		code = append(code, stmt(bpfRET|bpfK, ret))
	}
	return code, nil
}

// Jump targets inside a rule block before they are resolved: the next
// instruction (continue), the verdict, or the next rule (fail).
const (
	toNext uint8 = iota
	toPass
	toFail
)

type insn struct {
	unix.SockFilter
	jt, jf uint8 // symbolic targets of a conditional jump
	cond   bool
}

// ruleBlock emits the checks of conds followed by "ret verdict"; a failed
// check jumps just past the block, to the next rule.
func ruleBlock(conds []ArgCond, verdict uint32) ([]unix.SockFilter, error) {
	var ins []insn
	ld := func(k uint32) { ins = append(ins, insn{SockFilter: stmt(bpfLD|bpfW|bpfABS, k)}) }
	and := func(k uint32) { ins = append(ins, insn{SockFilter: stmt(bpfALU|bpfAND|bpfK, k)}) }
	j := func(op uint16, k uint32, jt, jf uint8) {
		ins = append(ins, insn{SockFilter: jump(bpfJMP|op|bpfK, k, 0, 0), jt: jt, jf: jf, cond: true})
	}
	// Each condition's code ends by falling through to the next one when it
	// holds; "pass" below means "holds", resolved as the next condition.
	for _, c := range conds {
		if c.Arg < 0 || c.Arg > 5 {
			return nil, fmt.Errorf("argument %d out of range 0..5", c.Arg)
		}
		lo := uint32(offArgs + 8*c.Arg) // little-endian: low half first
		hi := lo + 4
		vlo, vhi := uint32(c.Value), uint32(c.Value>>32)
		start := len(ins)
		switch c.Op {
		case Eq:
			ld(hi)
			j(bpfJEQ, vhi, toNext, toFail)
			ld(lo)
			j(bpfJEQ, vlo, toPass, toFail)
		case Ne:
			ld(hi)
			j(bpfJEQ, vhi, toNext, toPass)
			ld(lo)
			j(bpfJEQ, vlo, toFail, toPass)
		case MaskedEq:
			if !lowOnly(c) {
				ld(hi)
				and(uint32(c.Mask >> 32))
				j(bpfJEQ, vhi, toNext, toFail)
			}
			ld(lo)
			and(uint32(c.Mask))
			j(bpfJEQ, vlo, toPass, toFail)
		case Gt, Ge, Lt, Le:
			// Decide on the high halves; on equal high halves, on the low.
			above, below := toPass, toFail // Gt/Ge hold when the argument is above
			if c.Op == Lt || c.Op == Le {
				above, below = toFail, toPass
			}
			ld(hi)
			j(bpfJGT, vhi, above, toNext)
			j(bpfJEQ, vhi, toNext, below)
			ld(lo)
			switch c.Op {
			case Gt:
				j(bpfJGT, vlo, toPass, toFail)
			case Ge:
				j(bpfJGE, vlo, toPass, toFail)
			case Lt:
				j(bpfJGE, vlo, toFail, toPass)
			case Le:
				j(bpfJGT, vlo, toFail, toPass)
			}
		default:
			return nil, fmt.Errorf("unknown comparison %d", int(c.Op))
		}
		// "pass" of this condition: the first instruction after its code.
		end := len(ins)
		for k := start; k < end; k++ {
			if ins[k].cond {
				ins[k].jt = passToEnd(ins[k].jt, k, end)
				ins[k].jf = passToEnd(ins[k].jf, k, end)
			}
		}
	}
	ins = append(ins, insn{SockFilter: stmt(bpfRET|bpfK, verdict)})
	out := make([]unix.SockFilter, len(ins))
	for k, in := range ins {
		f := in.SockFilter
		if in.cond {
			var err error
			if f.Jt, err = resolve(in.jt, k, len(ins)); err != nil {
				return nil, err
			}
			if f.Jf, err = resolve(in.jf, k, len(ins)); err != nil {
				return nil, err
			}
		}
		out[k] = f
	}
	return out, nil
}

// Targets after a condition is laid out: relative offsets are stored +3 so
// they stay distinct from the symbolic ones.
const relBase = 3

func passToEnd(target uint8, k, end int) uint8 {
	switch target {
	case toNext:
		return relBase // offset 0: the next instruction
	case toPass:
		return uint8(relBase + end - k - 1)
	}
	return target
}

func resolve(target uint8, k, n int) (uint8, error) {
	if target == toFail {
		off := n - k - 1 // just past the block
		if off > 255 {
			return 0, errors.New("argument conditions too long for one rule")
		}
		return uint8(off), nil
	}
	return target - relBase, nil
}
