package policy

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

func want(p *Policy, nr int) uint32 {
	a, e := p.Action(nr)
	r, err := retFor(a, e)
	if err != nil {
		panic(err)
	}
	return r
}

func evalNr(t *testing.T, prog []unix.SockFilter, arch uint32, nr int32) uint32 {
	t.Helper()
	got, err := Eval(prog, SeccompData{Nr: nr, Arch: arch, Args: [6]uint64{1, 2, 3, 4, 5, 6}})
	if err != nil {
		t.Fatalf("eval nr %d: %v", nr, err)
	}
	return got
}

// TestCompileMatchesTable compiles random policies and checks the filter's
// verdict for every syscall number against the table, on both ABIs.
func TestCompileMatchesTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 60; iter++ {
		for _, arch := range sysno.Arches {
			audit, _ := AuditArch(arch)
			p := &Policy{Arch: arch, Default: Action(rng.IntN(3)), DefaultErrno: unix.ENOSYS,
				OtherABI: Action(rng.IntN(3)), OtherABIErrno: unix.ENOSYS}
			nums := sysno.Numbers(arch)
			density := rng.Float64()
			for _, n := range append(nums, 999, 1000, 2000) {
				if rng.Float64() < density {
					r := Rule{Nr: n, Action: Action(rng.IntN(3))}
					if r.Action == Errno {
						r.Errno = unix.Errno(1 + rng.IntN(4000))
					}
					p.Rules = append(p.Rules, r)
				}
			}
			prog, err := p.Compile()
			if err != nil {
				t.Fatalf("%s: %v", arch, err)
			}
			for n := int32(0); n < 2100; n++ {
				if got, w := evalNr(t, prog, audit, n), want(p, int(n)); got != w {
					t.Fatalf("%s iter %d nr %d: filter says %#x, table %#x", arch, iter, n, got, w)
				}
			}
			other := want(&Policy{Default: p.OtherABI, DefaultErrno: p.OtherABIErrno}, 0)
			if got := evalNr(t, prog, 0x40000003, 1); got != other { // AUDIT_ARCH_I386
				t.Fatalf("%s: foreign arch verdict %#x, want %#x", arch, got, other)
			}
			if arch == sysno.AMD64 {
				if got := evalNr(t, prog, audit, 0x40000000|1); got != other {
					t.Fatalf("x32 write: verdict %#x, want %#x", got, other)
				}
				if got := evalNr(t, prog, audit, -1); got != other {
					t.Fatalf("nr -1: verdict %#x, want %#x", got, other)
				}
			} else if got := evalNr(t, prog, audit, 0x40000000|1); got != want(p, 0x40000001) {
				t.Fatalf("arm64 high nr: verdict %#x", got)
			}
			if len(prog) > 4*len(p.Rules)+16 { // a range and a gap per rule, a jump per range
				t.Errorf("%d rules compiled to %d instructions", len(p.Rules), len(prog))
			}
		}
	}
}

// TestCompileIsLogarithmic checks a call's cost: the number of instructions
// executed for any syscall is about log2 of the number of ranges, not linear.
func TestCompileIsLogarithmic(t *testing.T) {
	p := &Policy{Arch: sysno.AMD64, Default: Allow}
	for n := 0; n < 450; n += 2 {
		p.Rules = append(p.Rules, Rule{Nr: n, Action: Trace})
	}
	prog, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 460; n++ {
		steps := pathLen(prog, uint32(n))
		if steps > 20 {
			t.Errorf("nr %d takes %d instructions", n, steps)
		}
	}
}

// pathLen counts instructions executed for nr on amd64.
func pathLen(prog []unix.SockFilter, nr uint32) int {
	a, steps := uint32(0), 0
	for pc := 0; pc < len(prog); pc++ {
		steps++
		in := prog[pc]
		switch in.Code {
		case bpfLD | bpfW | bpfABS:
			if in.K == offArch {
				a = unix.AUDIT_ARCH_X86_64
			} else {
				a = nr
			}
		case bpfRET | bpfK:
			return steps
		case bpfJMP | bpfJA:
			pc += int(in.K)
		default:
			var c bool
			switch in.Code &^ 0x07 {
			case bpfJEQ:
				c = a == in.K
			case bpfJGE:
				c = a >= in.K
			case bpfJSET:
				c = a&in.K != 0
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		}
	}
	return steps
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		p    Policy
		want string
	}{
		{Policy{Arch: "mips"}, "unsupported architecture"},
		{Policy{Arch: sysno.AMD64, Default: Errno}, "errno 0 out of range"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: 1, Action: Trace}, {Nr: 1, Action: Allow}}}, "comes before other rules"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: 1, Args: []ArgCond{{Arg: 6}}, Action: Trace}}}, "argument 6 out of range"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: 1, Args: []ArgCond{{Op: 42}}, Action: Trace}}}, "unknown comparison"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: -3}}}, "out of range"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: 5, Action: Errno, Errno: 5000}}}, "out of range"},
		{Policy{Arch: sysno.AMD64, Rules: []Rule{{Nr: 5, Action: 9}}}, "unknown action"},
	}
	for _, c := range cases {
		_, err := c.p.Compile()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		}
	}
}

// decodeFilter reads struct sock_filter records (a fuzzer's input).
func decodeFilter(b []byte) []unix.SockFilter {
	prog := make([]unix.SockFilter, len(b)/8)
	for i := range prog {
		prog[i] = unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b[8*i:]), Jt: b[8*i+2], Jf: b[8*i+3],
			K: binary.LittleEndian.Uint32(b[8*i+4:]),
		}
	}
	return prog
}

func encodeFilter(prog []unix.SockFilter) []byte {
	b := make([]byte, 8*len(prog))
	for i, in := range prog {
		binary.LittleEndian.PutUint16(b[8*i:], in.Code)
		b[8*i+2], b[8*i+3] = in.Jt, in.Jf
		binary.LittleEndian.PutUint32(b[8*i+4:], in.K)
	}
	return b
}

// FuzzEval: arbitrary programs evaluate or fail cleanly, never panic or
// loop (every jump goes forward).
func FuzzEval(f *testing.F) {
	p := &Policy{Arch: sysno.AMD64, Default: Allow, Rules: []Rule{{Nr: 425, Action: Trace}}}
	prog, _ := p.Compile()
	f.Add(encodeFilter(prog))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Eval(decodeFilter(b), SeccompData{Nr: 1, Arch: unix.AUDIT_ARCH_X86_64})
	})
}

// TestArgumentConditions compiles random rules with argument conditions and
// checks the filter against Decide on argument values chosen around the
// rules' boundaries (both halves equal, one off, masks).
func TestArgumentConditions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	interesting := func() uint64 {
		switch rng.IntN(6) {
		case 0:
			return uint64(rng.IntN(4))
		case 1:
			return 1 << 32 * uint64(rng.IntN(3))
		case 2:
			return ^uint64(0) - uint64(rng.IntN(3))
		case 3:
			return 0xffffffff + uint64(rng.IntN(3))
		default:
			return rng.Uint64()
		}
	}
	for iter := 0; iter < 300; iter++ {
		p := &Policy{Arch: sysno.AMD64, Default: Action(rng.IntN(3)), DefaultErrno: unix.ENOSYS}
		nrs := []int{1, 2, 157}
		for _, nr := range nrs {
			for k := rng.IntN(4); k > 0; k-- {
				r := Rule{Nr: nr, Action: Action(rng.IntN(3)), Errno: unix.EPERM}
				for c := rng.IntN(3) + 1; c > 0; c-- {
					r.Args = append(r.Args, ArgCond{Arg: rng.IntN(6), Op: CmpOp(rng.IntN(7)), Value: interesting(), Mask: interesting()})
				}
				p.Rules = append(p.Rules, r)
			}
			if rng.IntN(2) == 0 {
				p.Rules = append(p.Rules, Rule{Nr: nr, Action: Action(rng.IntN(3)), Errno: unix.EACCES})
			}
		}
		prog, err := p.Compile()
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		for probe := 0; probe < 200; probe++ {
			nr := nrs[rng.IntN(len(nrs))]
			var args [6]uint64
			for i := range args {
				args[i] = interesting()
			}
			// Reuse a rule's own value half the time, so that conditions hold.
			if rs := p.Rules; len(rs) > 0 && rng.IntN(2) == 0 {
				r := rs[rng.IntN(len(rs))]
				for _, c := range r.Args {
					args[c.Arg] = c.Value + uint64(rng.IntN(3)) - 1
				}
			}
			got, err := Eval(prog, SeccompData{Nr: int32(nr), Arch: unix.AUDIT_ARCH_X86_64, Args: args})
			if err != nil {
				t.Fatal(err)
			}
			a, e := p.decide(nr, args)
			w, _ := retFor(a, e)
			if got != w {
				t.Fatalf("iter %d nr %d args %#x: filter %#x, Decide %#x\nrules %+v", iter, nr, args, got, w, p.Rules)
			}
		}
	}
}

func TestNotifyToTrace(t *testing.T) {
	p := &Policy{Arch: sysno.AMD64, Default: Trace, Rules: []Rule{{Nr: 0, Action: Notify}, {Nr: 1, Action: Allow}}}
	if !p.notifies() {
		t.Error("Notifies() = false")
	}
	prog, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if got := evalNr(t, prog, unix.AUDIT_ARCH_X86_64, 0); got != unix.SECCOMP_RET_USER_NOTIF {
		t.Errorf("read: %#x, want USER_NOTIF", got)
	}
	q := notifyToTrace(prog)
	for nr, want := range map[int32]uint32{0: unix.SECCOMP_RET_TRACE, 1: unix.SECCOMP_RET_ALLOW, 2: unix.SECCOMP_RET_TRACE} {
		if got := evalNr(t, q, unix.AUDIT_ARCH_X86_64, nr); got != want {
			t.Errorf("nr %d after NotifyToTrace: %#x, want %#x", nr, got, want)
		}
	}
	if got := evalNr(t, prog, unix.AUDIT_ARCH_X86_64, 0); got != unix.SECCOMP_RET_USER_NOTIF {
		t.Error("NotifyToTrace changed its argument")
	}
}
