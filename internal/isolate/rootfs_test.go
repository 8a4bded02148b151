//go:build linux

package isolate

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/image/imagetest"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// busyboxLayers unpacks the busybox test image and returns its layers,
// top first.
func busyboxLayers(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	w, err := imagetest.Write(context.Background(), imagetest.Busybox, filepath.Join(dir, "img"), "unit", false)
	if err != nil {
		t.Fatal(err)
	}
	im, err := image.Open(context.Background(), image.Ref{Source: image.SourceOCI, Path: w.Layout, Name: imagetest.Busybox},
		image.Options{Cache: &image.Cache{Dir: filepath.Join(dir, "cache")}})
	if err != nil {
		t.Fatal(err)
	}
	return im.Rootfs().Layers
}

func runRootfs(t *testing.T, spec *Spec, script string) (string, error) {
	t.Helper()
	enc, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", script)
	cmd.Env = append(os.Environ(), childEnv+"="+string(enc))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRootfs: the program runs in the image's root as a container runtime
// sets it up, as the image's user with Docker's bounding set, and the
// layers stay as they were.
func TestRootfs(t *testing.T) {
	testenv.NeedRoot(t)
	layers := busyboxLayers(t)
	before := hashLayers(t, layers)
	files := t.TempDir()
	hosts := filepath.Join(files, "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
	// SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE
	// SETFCAP.
	caps := []int{0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}
	spec := &Spec{Dir: "/work/dir", Rootfs: &Rootfs{Layers: layers, Hostname: "boxed",
		Files: []Bind{{Source: hosts, Target: "/etc/hosts"}},
		Creds: &Creds{UID: 1000, GID: 1000, Groups: []uint32{50}, Caps: caps}}}
	script := `id -u; id -g; id -G; pwd; hostname; cat /etc/hosts; ls /dev
grep -E 'Cap(Bnd|Eff)' /proc/self/status
echo new > /tmp/f && cat /tmp/f
test -e /proc/kcore && echo kcore-visible
cat /proc/1/cmdline >/dev/null && echo proc
touch /etc/x 2>/dev/null || echo etc-not-writable`
	out, err := runRootfs(t, spec, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"1000\n1000\n1000 50\n/work/dir\nboxed\n127.0.0.1 localhost from-host\n",
		"null", "zero", "urandom", "pts", "shm", "mqueue", "CapBnd:\t00000000a80425fb", "CapEff:\t0000000000000000", "new\n", "etc-not-writable"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Root keeps the bounding set as its capabilities; a read-only root.
	spec.Rootfs.Creds = &Creds{Caps: caps}
	spec.Rootfs.ReadOnly = true
	out, err = runRootfs(t, spec, `grep CapEff /proc/self/status; touch /x 2>/dev/null || echo read-only; echo ok > /dev/shm/x && cat /dev/shm/x`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "CapEff:\t00000000a80425fb") || !strings.Contains(out, "read-only") || !strings.Contains(out, "ok") {
		t.Errorf("read-only root as root:\n%s", out)
	}
	if after := hashLayers(t, layers); after != before {
		t.Error("a run changed the image's layers")
	}
	if b, _ := os.ReadFile(hosts); string(b) != "127.0.0.1 localhost from-host\n" {
		t.Errorf("hosts file: %q", b)
	}
}

func hashLayers(t *testing.T, layers []string) string {
	t.Helper()
	var all []string
	for _, l := range layers {
		h, err := imagetest.TreeHash(l)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, h)
	}
	return strings.Join(all, ",")
}
