package analyze

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

type fakeTable map[int]compat.Entry

func (f fakeTable) Lookup(nr int) compat.Entry {
	if e, ok := f[nr]; ok {
		return e
	}
	return compat.Entry{Number: nr, Support: compat.Unimplemented, Errno: "ENOSYS"}
}

func nr(name string) int {
	n, _ := sysno.Number(sysno.AMD64, name)
	return n
}

func table() fakeTable {
	return fakeTable{
		nr("read"):   {Support: compat.Full, InTable: true},
		nr("write"):  {Support: compat.Full, InTable: true},
		nr("ioctl"):  {Support: compat.Partial, Note: "Only a few ioctls are implemented.", InTable: true},
		nr("setns"):  {Support: compat.Unimplemented, Errno: "ENOSYS", Cap: "CAP_SYS_ADMIN", InTable: true},
		nr("kcmp"):   {Support: compat.Unimplemented, Errno: "ENODEV", InTable: true, Note: "not supported"},
		nr("execve"): {Support: compat.Full, InTable: true},
	}
}

func TestAnalyzeFindings(t *testing.T) {
	p := profile.New(sysno.AMD64)
	for _, c := range []struct {
		name  string
		n     int
		errno string
	}{{"read", 10, ""}, {"write", 3, ""}, {"ioctl", 2, "ENOTTY"}, {"setns", 1, ""}, {"kcmp", 4, ""}, {"pkey_alloc", 1, "ENOSPC"}} {
		s, _ := p.SyscallByName(c.name)
		s.Record(uint64(c.n), c.errno)
	}
	res := AnalyzeWith(p, table(), Options{})
	if res.Verdict != AtRisk {
		t.Errorf("verdict %s, want at-risk", res.Verdict)
	}
	want := []struct {
		name  string
		level Level
	}{{"kcmp", LevelUnimplemented}, {"pkey_alloc", LevelUnimplemented}, {"setns", LevelUnimplemented}, {"ioctl", LevelPartial}}
	if len(res.Findings) != len(want) {
		t.Fatalf("findings %+v", res.Findings)
	}
	for i, w := range want {
		if f := res.Findings[i]; f.Syscall != w.name || f.Level != w.level {
			t.Errorf("finding %d = %s/%s, want %s/%s", i, f.Syscall, f.Level, w.name, w.level)
		}
	}
	if s := res.Summary; s.SyscallsSeen != 6 || s.FullySupported != 2 || s.Partial != 1 || s.Unimplemented != 3 || s.Calls != 21 {
		t.Errorf("summary %+v", s)
	}
	if f := res.Findings[2]; f.Cap != "CAP_SYS_ADMIN" || f.Errno != "ENOSYS" {
		t.Errorf("setns finding %+v", f)
	}
	if !res.Fails(LevelUnimplemented) || !res.Fails(LevelPartial) {
		t.Error("Fails should be true")
	}
	never, _ := ParseLevel("never")
	if res.Fails(never) {
		t.Error("Fails(never) should be false")
	}
}

func TestAnalyzeCompatible(t *testing.T) {
	p := profile.New(sysno.AMD64)
	for _, n := range []string{"read", "write", "execve", "ioctl"} {
		s, _ := p.SyscallByName(n)
		s.Record(1, "")
	}
	res := AnalyzeWith(p, table(), Options{})
	if res.Verdict != Compatible {
		t.Errorf("verdict %s, want compatible", res.Verdict)
	}
	if res.Fails(LevelUnimplemented) {
		t.Error("partial support alone must not fail the default gate")
	}
	if !res.Fails(LevelPartial) {
		t.Error("--fail-on partial must fail on a partial finding")
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"partial", "needs-option", "unsupported-argument", "unimplemented", "never"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("ParseLevel(%q): %v", s, err)
		}
	}
	if _, err := ParseLevel("bogus"); err == nil {
		t.Error("ParseLevel(bogus) accepted")
	}
}
