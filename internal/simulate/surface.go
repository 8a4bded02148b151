package simulate

import (
	"fmt"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// SurfacePolicy is gVisor's syscall surface as a seccomp policy, for runs
// that were not observed first (`gvcheck run --simulate`): every syscall
// the table fails whatever its arguments, and every one the target's rules
// fail without a runsc option (io_uring without --iouring), fails with
// gVisor's errno; everything else runs.
func SurfacePolicy(t analyze.Table, opt analyze.Options, arch sysno.Arch, hasCap func(string) bool) (*policy.Policy, error) {
	p := &policy.Policy{Arch: arch, Default: policy.Allow}
	add := func(name string, nr int, errno string) error {
		e, ok := sysno.ErrnoValue(errno)
		if !ok {
			return fmt.Errorf("simulate %s: unknown errno %q", name, errno)
		}
		p.Rules = append(p.Rules, policy.Rule{Nr: nr, Action: policy.Errno, Errno: e})
		return nil
	}
	for _, nr := range sysno.Numbers(arch) {
		e := t.Lookup(nr)
		name := e.Name
		if name == "" {
			name = sysno.Name(arch, nr)
		}
		if e.Support == compat.Unimplemented {
			if e.Errno == "" {
				continue
			}
			held := e.Cap == "" || (hasCap != nil && hasCap(e.Cap)) || (hasCap == nil && OwnCapability(e.Cap))
			if err := add(name, nr, e.ErrnoFor(held)); err != nil {
				return nil, err
			}
			continue
		}
		if opt.Rules == nil {
			continue
		}
		v, rule := opt.Rules.Judge(sysno.Name(arch, nr), nil, opt.RunscFlags)
		if (v == rules.AnswerUnsupported || v == rules.AnswerNeedsFlag) && rule.Errno != "" {
			if err := add(name, nr, rule.Errno); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Surface counts the syscalls a policy fails with an errno.
func Surface(p *policy.Policy) int {
	if p == nil {
		return 0
	}
	n := 0
	for _, r := range p.Rules {
		if r.Action == policy.Errno {
			n++
		}
	}
	return n
}
