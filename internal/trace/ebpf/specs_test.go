//go:build linux && amd64

package ebpf

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
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
		if s.Mem != 0 && s.Mem != memU64 {
			continue // TestSpecsStringKeys; netlink keys: TestBackendsAgree
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
			got, gotVals, gotOK := sysargs.KeyFromRegs(arch, name, regsOf(name, s, kernelSlots(s, r)))
			if want != got || wantOK != gotOK || len(wantVals) != len(gotVals) {
				t.Fatalf("%s%x: registers key it %q (%v), the kernel's slots %q (%v)", name, r, want, wantOK, got, gotOK)
			}
		}
	}
}

// TestSpecsStringKeys checks that the start of a string the kernel keeps
// (bpf_probe_read_user_str into the three slots: at most 23 bytes and a
// NUL) keys a call as the ptrace tracer's reading of the same memory does.
func TestSpecsStringKeys(t *testing.T) {
	arch := sysno.AMD64
	sp, err := specs(arch)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"user.k", "security.selinux", "security.capability", "security.capabilityX",
		"trusted.overlay.opaque", "system.posix_acl_access", "security." + strings.Repeat("x", 40), "other", ""}
	checked := 0
	for _, call := range sysargs.Syscalls() {
		nr, ok := sysno.Number(arch, call)
		if !ok || sp[nr].Mem != memStr {
			continue
		}
		s := sp[nr]
		for _, xname := range names {
			mem := append([]byte(xname), 0)
			var r [6]uint64
			r[s.Arg[0]] = 0x1000
			want, wantVals, wantOK := sysargs.KeyFromRegs(arch, call, sysargs.FromTracee(call, r, stringAt(mem)))
			var kb [24]byte
			copy(kb[:23], xname)
			var slots [3]uint64
			for i := range slots {
				slots[i] = binary.LittleEndian.Uint64(kb[8*i:])
			}
			got, gotVals, gotOK := sysargs.KeyFromRegs(arch, call, regsOf(call, s, slots))
			if want != got || wantOK != gotOK || !slices.Equal(wantVals, gotVals) {
				t.Errorf("%s(%q): ptrace keys it %q %v, the kernel's bytes %q %v", call, xname, want, wantVals, got, gotVals)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no syscall keyed by a string")
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

// stringAt is a process whose memory is mem at every address.
type stringAt []byte

func (m stringAt) Read(_ uintptr, n int) []byte       { return m[:min(n, len(m))] }
func (m stringAt) NetlinkProtocol(int) (uint64, bool) { return 0, false }
