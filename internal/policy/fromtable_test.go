package policy

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// TestObserveFilters compiles the fast-mode policy of every embedded
// version, architecture and a few runsc option sets, and checks that the
// filter fits the kernel's limit and decides every syscall as the policy
// does, on arguments taken from the rules' own values (so that conditions
// hold) and random ones.
func TestObserveFilters(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range compat.Versions() {
		for _, arch := range v.Arches() {
			tb, err := compat.Load(v, arch, "")
			if err != nil {
				t.Fatal(err)
			}
			set, _ := rules.For(v.ID, arch)
			audit, _ := AuditArch(arch)
			for _, flags := range [][]string{nil, {"--net-raw", "--iouring", "--platform=kvm"}} {
				p := Observe(tb, set, flags)
				prog, err := p.Compile()
				if err != nil {
					t.Fatalf("%s %s %v: %v", v.ID, arch, flags, err)
				}
				values := map[int][]ArgCond{}
				for _, r := range p.Rules {
					values[r.Nr] = append(values[r.Nr], r.Args...)
				}
				for _, nr := range sysno.Numbers(arch) {
					for probe := 0; probe < 8; probe++ {
						var args [6]uint64
						for i := range args {
							args[i] = rng.Uint64() >> (rng.IntN(4) * 16)
						}
						if cs := values[nr]; len(cs) > 0 && probe > 0 {
							c := cs[rng.IntN(len(cs))]
							args[c.Arg] = c.Value | (rng.Uint64()&^c.Mask)*uint64(probe%2)
						}
						got, err := Eval(prog, SeccompData{Nr: int32(nr), Arch: audit, Args: args})
						if err != nil {
							t.Fatal(err)
						}
						a, e := p.decide(nr, args)
						if w, _ := retFor(a, e); got != w {
							t.Fatalf("%s %s %v: %s args %#x: filter %#x, policy %#x", v.ID, arch, flags, sysno.Name(arch, nr), args, got, w)
						}
					}
				}
			}
		}
	}
}

// TestLowRuns: runs of rules comparing one argument's low half, the code
// shared between them, against Decide: duplicate values (the first wins),
// several verdicts, runs longer than one block, a mask, and a default.
func TestLowRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 200; iter++ {
		mask := uint64(0xffffffff)
		if iter%3 == 0 {
			mask = 0xff00ff
		}
		p := &Policy{Arch: sysno.AMD64, Default: Action(rng.IntN(3)), DefaultErrno: unix.ENOSYS}
		n := 1 + rng.IntN(450)
		for k := 0; k < n; k++ {
			r := Rule{Nr: 16, Action: Action(rng.IntN(4)), Errno: unix.Errno(1 + rng.IntN(3))}
			r.Args = []ArgCond{{Arg: 1, Op: MaskedEq, Mask: mask, Value: uint64(rng.IntN(n)) & mask}}
			p.Rules = append(p.Rules, r)
		}
		if rng.IntN(2) == 0 {
			p.Rules = append(p.Rules, Rule{Nr: 16, Action: Trace})
		}
		prog, err := p.Compile()
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		for probe := 0; probe < 300; probe++ {
			args := [6]uint64{rng.Uint64(), uint64(rng.IntN(n+2)) | rng.Uint64()<<32, rng.Uint64()}
			got, err := Eval(prog, SeccompData{Nr: 16, Arch: unix.AUDIT_ARCH_X86_64, Args: args})
			if err != nil {
				t.Fatal(err)
			}
			a, e := p.decide(16, args)
			if w, _ := retFor(a, e); got != w {
				t.Fatalf("iter %d args %#x: filter %#x, Decide %#x", iter, args, got, w)
			}
		}
	}
}
