package filecap

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestParse(t *testing.T) {
	// v2, effective, CAP_NET_RAW (13) and CAP_BPF (39).
	b := []byte{0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Effective || !slices.Equal(c.Permitted, []string{"CAP_NET_RAW", "CAP_BPF"}) {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range [][]byte{nil, {1, 2}, make([]byte, 20), append([]byte{0, 0, 0, 0x02}, make([]byte, 10)...)} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%x) accepted", bad)
		}
	}
}

func TestNames(t *testing.T) {
	if n, ok := Number("net_raw"); !ok || n != 13 || Name(13) != "CAP_NET_RAW" {
		t.Errorf("net_raw: %d %v", n, ok)
	}
	if _, ok := Number("CAP_NOPE"); ok {
		t.Error("unknown capability accepted")
	}
}

// TestRead sets a real file capability with setcap and reads it back.
func TestRead(t *testing.T) {
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		testenv.Missing(t, "setcap (libcap2-bin) is not installed")
	}
	f := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := Read(f); err != nil || ok {
		t.Fatalf("plain file: ok=%v err=%v", ok, err)
	}
	if out, err := exec.Command(setcap, "cap_net_raw,cap_sys_admin+ep", f).CombinedOutput(); err != nil {
		testenv.Missingf(t, "setcap failed (needs CAP_SETFCAP and a filesystem with xattrs): %s", out)
	}
	c, ok, err := Read(f)
	if err != nil || !ok {
		t.Fatalf("Read: ok=%v err=%v", ok, err)
	}
	if !c.Effective || !slices.Equal(c.Permitted, []string{"CAP_NET_RAW", "CAP_SYS_ADMIN"}) {
		t.Errorf("read %+v", c)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add(append([]byte{0, 0, 0, 0x03}, make([]byte, 20)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err == nil && len(c.Permitted) > 64 {
			t.Fatalf("too many capabilities: %d", len(c.Permitted))
		}
	})
}
