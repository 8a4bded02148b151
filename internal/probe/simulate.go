package probe

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// SimulatePolicy returns the seccomp policy that makes a native run see
// gVisor's syscall surface: every candidate fails with gVisor's errno,
// everything else runs. With cands nil, the candidates are every syscall
// the table fails whatever its arguments (Unsupported, with this process's
// capabilities deciding CapError entries). This is `gvcheck run
// --simulate`'s policy; pass it to trace.Run.
func SimulatePolicy(t analyze.Table, arch sysno.Arch, cands []Candidate) (*policy.Policy, error) {
	if cands == nil {
		if t == nil {
			return nil, fmt.Errorf("simulate: no gVisor table")
		}
		cands = Unsupported(t, arch, nil)
	}
	p := &policy.Policy{Arch: arch, Default: policy.Allow}
	seen := map[int]bool{}
	for _, c := range cands {
		if seen[c.Nr] {
			continue
		}
		seen[c.Nr] = true
		e, err := ErrnoValue(c.Errno)
		if err != nil {
			return nil, fmt.Errorf("simulate %s: %w", c.Syscall, err)
		}
		p.Rules = append(p.Rules, policy.Rule{Nr: c.Nr, Action: policy.Errno, Errno: e})
	}
	return p, nil
}

// errnoAliases are names unix.ErrnoName does not give for their number.
var errnoAliases = map[string]unix.Errno{
	"EOPNOTSUPP":  unix.EOPNOTSUPP,
	"ENOTSUP":     unix.ENOTSUP,
	"EWOULDBLOCK": unix.EWOULDBLOCK,
	"EAGAIN":      unix.EAGAIN,
	"EDEADLOCK":   unix.EDEADLOCK,
	"EDEADLK":     unix.EDEADLK,
}

// ErrnoValue returns the number of an errno name such as "ENOSYS".
func ErrnoValue(name string) (unix.Errno, error) {
	if e, ok := errnoAliases[name]; ok {
		return e, nil
	}
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e, nil
		}
	}
	return 0, fmt.Errorf("unknown errno %q", name)
}
