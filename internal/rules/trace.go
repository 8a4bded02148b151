package rules

import (
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

// TraceConditions turns the rules of syscall into a first-match list for
// the fast tracer's seccomp filter: evaluate conds in order; the first whose
// checks all hold decides (Trace: stop and report the call, else run it
// natively); when none holds, all decides. Calls gVisor handles as Linux
// does run natively; unsupported, ignored and flag-dependent values (given
// runscFlags) stop. A syscall without rules, or whose key is not in
// registers (clone3), gives (nil, true): stop every call, since the filter
// cannot tell.
//
// Requests to netlink sockets are the exception: stopping every sendto and
// sendmsg would stop every send of every socket. The filter stops the
// creation of a NETLINK_ROUTE socket instead, and the tracer then watches
// the thread that made it (package trace).
func (s *Set) TraceConditions(syscall string, runscFlags []string) (conds []ArgCond, all bool) {
	rs := s.rules[syscall]
	if mk, ok := sysargs.MemoryKeyOf(syscall); ok && mk.Kind == sysargs.MemoryNetlink {
		return nil, false
	}
	if syscall == "socket" && s.hasNetlinkRules() {
		defer func() {
			conds = append([]ArgCond{NetlinkRouteSocket}, conds...)
		}()
	}
	specs, ok := sysargs.KeyArgs(syscall)
	if len(rs) == 0 || !ok {
		return nil, true
	}
	stop := func(r *Rule) bool { return verdictOf(r, runscFlags) != AnswerSupported }
	if rs[0].Bit {
		// Flags: stop when any flag whose rule is not supported is set.
		spec := specs[0]
		for i := range rs {
			r := &rs[i]
			f := r.Values[0]
			if f == 0 || !stop(r) {
				continue
			}
			conds = append(conds, ArgCond{Checks: []ArgCheck{{Arg: spec.Arg, Mask: f & spec.Mask, Value: f & spec.Mask}}, Trace: true, Rule: r})
		}
		return conds, false
	}
	// Prefix rules: longer prefixes are more specific, so they come first.
	order := make([]*Rule, 0, len(rs))
	for i := range rs {
		if len(rs[i].Values) <= len(specs) {
			order = append(order, &rs[i])
		}
	}
	for n := len(specs); n >= 0; n-- {
		for _, r := range order {
			if len(r.Values) != n {
				continue
			}
			if n == 0 { // the default for values no case names
				all = stop(r)
				continue
			}
			c := ArgCond{Trace: stop(r), Rule: r}
			for i, v := range r.Values {
				c.Checks = append(c.Checks, ArgCheck{Arg: specs[i].Arg, Mask: specs[i].Mask, Value: v & specs[i].Mask})
			}
			conds = append(conds, c)
		}
	}
	if !hasDefault(rs) {
		all = true // values no rule covers are unknown: look at them
	}
	// Conditions after the last one that decides otherwise than the
	// default decide what the default decides anyway: drop them. Those
	// before it stay, since they shadow it.
	last := -1
	for i, c := range conds {
		if c.Trace != all {
			last = i
		}
	}
	if last < 0 {
		return nil, all
	}
	return conds[:last+1], all
}

func hasDefault(rs []Rule) bool {
	for _, r := range rs {
		if len(r.Values) == 0 {
			return true
		}
	}
	return false
}

// NetlinkRouteSocket is the condition that stops socket(AF_NETLINK, any,
// NETLINK_ROUTE): the calls after it may be requests the tracer reads.
var NetlinkRouteSocket = ArgCond{Checks: []ArgCheck{{Arg: 0, Mask: 0xffffffff, Value: 16}, {Arg: 2, Mask: 0xffffffff, Value: 0}}, Trace: true}

func (s *Set) hasNetlinkRules() bool {
	for _, name := range []string{"sendto", "sendmsg"} {
		if len(s.rules[name]) > 0 {
			return true
		}
	}
	return false
}

// Holds reports whether every check of c holds for args.
func (c ArgCond) Holds(args [6]uint64) bool {
	for _, k := range c.Checks {
		if args[k.Arg]&k.Mask != k.Value {
			return false
		}
	}
	return true
}
