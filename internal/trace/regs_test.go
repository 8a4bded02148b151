package trace

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// The arm64 register set of a thread stopped at the entry of
// write(1, buf, 5), laid out as struct user_pt_regs.
func TestDecodeRegsARM64(t *testing.T) {
	b, err := os.ReadFile("testdata/regs/arm64-write-entry.hex")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRegs(sysno.ARM64, raw)
	if err != nil {
		t.Fatal(err)
	}
	if name := sysno.Name(sysno.ARM64, int(r.Nr)); name != "write" {
		t.Errorf("syscall %d (%s), want write", r.Nr, name)
	}
	want := [6]uint64{1, 0xffffd1234560, 5, 3, 0x44, 0x55}
	if r.Args != want {
		t.Errorf("args %#x, want %#x", r.Args, want)
	}
	if r.IP != 0x4005d4 || r.SP != 0xffffd12344f0 || r.Ret != 1 {
		t.Errorf("ip %#x sp %#x ret %#x", r.IP, r.SP, r.Ret)
	}
	if _, err := DecodeRegs(sysno.ARM64, raw[:100]); err == nil {
		t.Error("short register set decoded")
	}
	if _, err := DecodeRegs("sparc", raw); err == nil {
		t.Error("unknown architecture decoded")
	}
}

func TestDecodeRegsAMD64(t *testing.T) {
	raw := make([]byte, regSetSize(sysno.AMD64))
	put := func(i int, v uint64) {
		for j := 0; j < 8; j++ {
			raw[8*i+j] = byte(v >> (8 * j))
		}
	}
	// rdi rsi rdx r10 r8 r9, orig_rax, rax, rip, rsp
	for i, idx := range []int{14, 13, 12, 7, 9, 8} {
		put(idx, uint64(100+i))
	}
	put(15, 257) // openat
	put(10, ^uint64(37))
	put(16, 0x401000)
	put(19, 0x7ffc0000)
	r, err := DecodeRegs(sysno.AMD64, raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.Nr != 257 || r.Args != [6]uint64{100, 101, 102, 103, 104, 105} || int64(r.Ret) != -38 || r.IP != 0x401000 || r.SP != 0x7ffc0000 {
		t.Errorf("decoded %+v", r)
	}
}

func FuzzDecodeRegs(f *testing.F) {
	f.Add(true, make([]byte, 34*8))
	f.Add(false, make([]byte, 27*8))
	f.Add(false, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, arm bool, b []byte) {
		arch := sysno.AMD64
		if arm {
			arch = sysno.ARM64
		}
		r, err := DecodeRegs(arch, b)
		if err != nil {
			if len(b) >= regSetSize(arch) {
				t.Fatalf("%d bytes rejected: %v", len(b), err)
			}
			return
		}
		if len(b) < regSetSize(arch) {
			t.Fatalf("%d bytes accepted", len(b))
		}
		_ = r
	})
}

func TestSetSkip(t *testing.T) {
	for _, arch := range []sysno.Arch{sysno.AMD64, sysno.ARM64} {
		raw := make([]byte, regSetSize(arch))
		for i := range raw {
			raw[i] = byte(i)
		}
		before, _ := DecodeRegs(arch, raw)
		setSkip(arch, raw, -38)
		r, err := DecodeRegs(arch, raw)
		if err != nil {
			t.Fatal(err)
		}
		if int64(r.Ret) != -38 {
			t.Errorf("%s: ret %d", arch, int64(r.Ret))
		}
		if arch == sysno.AMD64 && int64(r.Nr) != -1 {
			t.Errorf("amd64: nr %d, want -1", int64(r.Nr))
		}
		if arch == sysno.ARM64 && r.Nr != before.Nr {
			t.Errorf("arm64: x8 changed (the number is set through NT_ARM_SYSTEM_CALL)")
		}
		if r.IP != before.IP || r.SP != before.SP {
			t.Errorf("%s: other registers changed", arch)
		}
	}
}
