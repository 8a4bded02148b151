package policy

import (
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Observe is the fast-mode policy for a gVisor target: calls gVisor handles
// as Linux does run natively and unobserved; every other one stops the
// program so the tracer records it. With argument rules (set may be nil),
// a syscall gVisor supports only for some arguments stops only for those
// (prctl(PR_SET_MM) stops, prctl(PR_SET_NAME) does not), given the runsc
// options the sandbox will have.
func Observe(t *compat.Table, set *rules.Set, runscFlags []string) *Policy {
	p := &Policy{Arch: t.Arch, Default: Trace}
	for _, nr := range sysno.Numbers(t.Arch) {
		rs := observeRules(t, set, runscFlags, nr)
		if len(rs) > 1 && conditionCost(t.Arch, rs) > maxConditionInsns {
			// Too many argument cases to check in the kernel's 4096
			// instructions (setsockopt has hundreds): stop every call and
			// let the tracer judge the arguments.
			rs = []Rule{{Nr: nr, Action: Trace}}
		}
		p.Rules = append(p.Rules, rs...)
	}
	return p
}

// maxConditionInsns bounds the filter code one syscall's argument
// conditions may take, so that the whole filter stays within BPFMaxInsns.
const maxConditionInsns = 600

// conditionCost is how many instructions a filter for rs alone has: the
// code of its argument checks, and the at most 11 around it (architecture
// checks, one search step, default verdicts).
func conditionCost(arch sysno.Arch, rs []Rule) int {
	ret, _ := retFor(Trace, 0)
	iv, err := (&Policy{Arch: arch}).compileNr(rs[0].Nr, rs, ret)
	if err != nil {
		return BPFMaxInsns
	}
	return len(iv.code) + 11
}

func observeRules(t *compat.Table, set *rules.Set, runscFlags []string, nr int) []Rule {
	e := t.Lookup(nr)
	name := sysno.Name(t.Arch, nr)
	// execve runs unstopped like any supported call: the tracer learns
	// which program runs from its exec event, and a shell's search of PATH
	// (one failing execve per directory) costs nothing.
	if e.Support == compat.Unimplemented {
		return []Rule{{Nr: nr, Action: Trace}}
	}
	if set == nil {
		if e.Support == compat.Full {
			return []Rule{{Nr: nr, Action: Allow}}
		}
		return []Rule{{Nr: nr, Action: Trace}}
	}
	// A rule for the whole syscall (io_uring without --iouring).
	if v, _ := set.Judge(name, nil, runscFlags); v == rules.AnswerUnsupported || v == rules.AnswerNeedsFlag {
		return []Rule{{Nr: nr, Action: Trace}}
	}
	if !set.HasRules(name) {
		// No argument rules: only a fully supported syscall can run unseen.
		if e.Support == compat.Full {
			return []Rule{{Nr: nr, Action: Allow}}
		}
		return []Rule{{Nr: nr, Action: Trace}}
	}
	conds, all := set.TraceConditions(name, runscFlags)
	var out []Rule
	for _, c := range conds {
		r := Rule{Nr: nr, Action: Allow}
		if c.Trace {
			r.Action = Trace
		}
		for _, chk := range c.Checks {
			r.Args = append(r.Args, ArgCond{Arg: chk.Arg, Op: MaskedEq, Mask: chk.Mask, Value: chk.Value})
		}
		out = append(out, r)
	}
	last := Rule{Nr: nr, Action: Allow}
	if all {
		last.Action = Trace
	}
	return append(out, last)
}

// conditional reports whether some rule of nr has argument conditions.
func (p *Policy) conditional(nr int) bool {
	for _, r := range p.Rules {
		if r.Nr == nr && len(r.Args) > 0 {
			return true
		}
	}
	return false
}

// TracePaths makes every syscall that names a file stop, so that fast mode
// also sees the /proc, /sys and /dev paths a program uses (the filter
// cannot read strings). It costs a stop per file operation; PathOnly names
// the syscalls that stop for their path alone.
func (p *Policy) TracePaths() {
	stop := map[int]bool{}
	for _, name := range sysargs.PathSyscalls() {
		if nr, ok := sysno.Number(p.Arch, name); ok {
			stop[nr] = true
		}
	}
	if p.PathOnly == nil {
		p.PathOnly = map[int]bool{}
	}
	for nr := range stop {
		if a, _ := p.Action(nr); a == Allow && !p.conditional(nr) {
			p.PathOnly[nr] = true
		}
	}
	rules := p.Rules[:0]
	for _, r := range p.Rules {
		if !stop[r.Nr] {
			rules = append(rules, r)
		}
	}
	for nr := range stop {
		rules = append(rules, Rule{Nr: nr, Action: Trace})
	}
	p.Rules = rules
}
