//go:build linux && amd64

package ebpf

import (
	"math/rand/v2"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// TestSpecsKeyLikeRegisters checks that what the kernel keeps of a call's
// registers keys it exactly as the registers themselves do, for every
// syscall with a key argument and many register values.
func TestSpecsKeyLikeRegisters(t *testing.T) {
	arch := sysno.AMD64
	sp, err := specs(arch)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []uint64{0, 1, 2, 3, 35, 0xffffffff, 1 << 32, 0x20000 | 0x4000000, 0xffffffff00000023, 0x5401}
	for _, name := range sysargs.Syscalls() {
		nr, ok := sysno.Number(arch, name)
		if !ok {
			continue
		}
		s := sp[nr]
		if s.Flags&spKey == 0 {
			t.Errorf("%s has a key argument but no key spec", name)
			continue
		}
		for i := 0; i < 2000; i++ {
			var r [6]uint64
			for j := range r {
				if rng.IntN(2) == 0 {
					r[j] = interesting[rng.IntN(len(interesting))]
				} else {
					r[j] = rng.Uint64()
				}
			}
			want, wantVals, wantOK := sysargs.KeyFromRegs(arch, name, r)
			got, gotVals, gotOK := sysargs.KeyFromRegs(arch, name, regsOf(s, kernelSlots(s, r)))
			if want != got || wantOK != gotOK || len(wantVals) != len(gotVals) {
				t.Fatalf("%s%x: registers key it %q (%v), the kernel's slots %q (%v)", name, r, want, wantOK, got, gotOK)
			}
		}
	}
}

func TestSpecsPathsAndChildren(t *testing.T) {
	arch := sysno.AMD64
	sp, err := specs(arch)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sysargs.PathSyscalls() {
		nr, ok := sysno.Number(arch, name)
		if !ok {
			continue
		}
		pa, _ := sysargs.PathArgOf(name)
		if s := sp[nr]; s.Flags&spPath == 0 || int(s.PathArg) != pa.Path || int(s.DirArg) != pa.Dir {
			t.Errorf("%s: spec %+v, path argument %+v", name, s, pa)
		}
	}
	for _, name := range []string{"clone", "clone3", "fork", "vfork"} {
		nr, _ := sysno.Number(arch, name)
		if sp[nr].Flags&spChild0 == 0 {
			t.Errorf("%s does not skip the child's return", name)
		}
	}
	read, _ := sysno.Number(arch, "read")
	if sp[read].Flags != 0 {
		t.Errorf("read has flags %#x: it must take the counts array", sp[read].Flags)
	}
}
