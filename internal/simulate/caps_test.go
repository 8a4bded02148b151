package simulate

import (
	"strings"
	"testing"
)

func TestParseCaps(t *testing.T) {
	for _, c := range []struct {
		spec         string
		admin, chown bool
		err          bool
	}{
		{"all", true, true, false},
		{"none", false, false, false},
		{"docker", false, true, false},
		{"CAP_SYS_ADMIN, sys_ptrace", true, false, false},
		{"CAP_SYS_ADMIN,CAP_NOPE", false, false, true},
		{",", false, false, true},
	} {
		has, err := ParseCaps(c.spec)
		if (err != nil) != c.err {
			t.Errorf("ParseCaps(%q) error %v", c.spec, err)
			continue
		}
		if err == nil && (has("CAP_SYS_ADMIN") != c.admin || has("CAP_CHOWN") != c.chown) {
			t.Errorf("ParseCaps(%q): SYS_ADMIN %v, CHOWN %v; want %v, %v", c.spec, has("CAP_SYS_ADMIN"), has("CAP_CHOWN"), c.admin, c.chown)
		}
	}
	own, err := ParseCaps("")
	if err != nil || own("CAP_SYS_ADMIN") != OwnCapability("CAP_SYS_ADMIN") {
		t.Errorf("default is not this process's capabilities")
	}
}

func FuzzParseCaps(f *testing.F) {
	for _, s := range []string{"own", "docker", "CAP_SYS_ADMIN,SYS_PTRACE", "cap_bpf", "x,,y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		has, err := ParseCaps(s)
		if err != nil {
			if strings.ContainsRune(err.Error(), '\n') {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		_ = has("CAP_SYS_ADMIN")
		_ = has(s)
	})
}
