package policy

import (
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Observe is the fast-mode policy for a gVisor table: syscalls gVisor fully
// supports run natively and unobserved; every other one (partial,
// unimplemented, or a number gVisor's table lacks) stops the program so the
// tracer records it.
func Observe(t *compat.Table) *Policy {
	p := &Policy{Arch: t.Arch, Default: Trace}
	for _, nr := range sysno.Numbers(t.Arch) {
		if t.Lookup(nr).Support == compat.Full {
			p.Rules = append(p.Rules, Rule{Nr: nr, Action: Allow})
		} else {
			p.Rules = append(p.Rules, Rule{Nr: nr, Action: Trace})
		}
	}
	return p
}
