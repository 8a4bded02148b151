package sysno

import "testing"

func TestKnownNumbers(t *testing.T) {
	cases := []struct {
		arch Arch
		name string
		nr   int
	}{
		{AMD64, "read", 0},
		{AMD64, "set_robust_list", 273},
		{AMD64, "_sysctl", 156},
		{AMD64, "clone3", 435},
		{AMD64, "io_uring_setup", 425},
		{ARM64, "read", 63},
		{ARM64, "set_robust_list", 99},
		{ARM64, "newfstatat", 79},
		{ARM64, "clone3", 435},
	}
	for _, c := range cases {
		if got, ok := Number(c.arch, c.name); !ok || got != c.nr {
			t.Errorf("Number(%s, %q) = %d, %v; want %d", c.arch, c.name, got, ok, c.nr)
		}
		if got := Name(c.arch, c.nr); got != c.name {
			t.Errorf("Name(%s, %d) = %q; want %q", c.arch, c.nr, got, c.name)
		}
	}
}

func TestAliasesAndUnknown(t *testing.T) {
	if n, ok := Number(AMD64, "sysctl"); !ok || n != 156 {
		t.Errorf("sysctl alias: %d %v", n, ok)
	}
	if got := Canonical(AMD64, "sysctl"); got != "_sysctl" {
		t.Errorf("Canonical(sysctl) = %q", got)
	}
	for _, s := range []string{"syscall_0x3e7", "syscall_999", "sys_999"} {
		if n, ok := Number(AMD64, s); !ok || n != 999 {
			t.Errorf("Number(%q) = %d, %v; want 999", s, n, ok)
		}
	}
	if Name(AMD64, 999) != "syscall_0x3e7" {
		t.Errorf("Name(999) = %q", Name(AMD64, 999))
	}
	for _, s := range []string{"nonsense", "syscall_", "sys_x", "syscall_0x"} {
		if _, ok := Number(AMD64, s); ok {
			t.Errorf("Number(%q) accepted", s)
		}
	}
}

func TestTableSizes(t *testing.T) {
	if n := len(Numbers(AMD64)); n < 370 {
		t.Errorf("amd64 table has %d entries", n)
	}
	if n := len(Numbers(ARM64)); n < 310 {
		t.Errorf("arm64 table has %d entries", n)
	}
}

func TestParseArch(t *testing.T) {
	for in, want := range map[string]Arch{"x86_64": AMD64, "amd64": AMD64, "aarch64": ARM64, "ARM64": ARM64} {
		if got, err := ParseArch(in); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseArch("mips"); err == nil {
		t.Error("ParseArch(mips) accepted")
	}
}

func TestErrnoName(t *testing.T) {
	for e, want := range map[int64]string{2: "ENOENT", 38: "ENOSYS", 512: "ERESTARTSYS", 516: "ERESTART_RESTARTBLOCK", 4000: "E4000"} {
		if got := ErrnoName(e); got != want {
			t.Errorf("ErrnoName(%d) = %q, want %q", e, got, want)
		}
	}
}
