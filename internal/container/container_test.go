package container_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gvcheck/gvcheck/internal/container"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/image/imagetest"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func needRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t)
}

// open builds an image with an /etc/passwd and /etc/group and a program.
func open(t *testing.T, cfg v1.Config) *image.Image {
	t.Helper()
	needRoot(t)
	l, err := imagetest.Layer([]imagetest.File{
		{Path: "etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:33:www:/var/www:/bin/sh\n")},
		{Path: "etc/group", Body: []byte("root:x:0:\napp:x:1000:\nstaff:x:50:app,web\nwww:x:33:\naudio:x:29:app\n")},
		{Path: "usr/bin/prog", Mode: 0o755, Body: []byte("#!/bin/sh\n")},
		{Path: "usr/bin/noexec", Mode: 0o644, Body: []byte("x")},
		{Path: "bin", Type: tar.TypeSymlink, Link: "usr/bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Image(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := imagetest.WriteLayout(filepath.Join(dir, "l"), img, "t"); err != nil {
		t.Fatal(err)
	}
	im, err := image.Open(context.Background(), image.Ref{Source: image.SourceOCI, Path: filepath.Join(dir, "l")}, image.Options{Cache: &image.Cache{Dir: filepath.Join(dir, "c")}})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestNewProcess(t *testing.T) {
	im := open(t, v1.Config{Entrypoint: []string{"prog", "--flag"}, Cmd: []string{"default"}, User: "app", WorkingDir: "work", Env: []string{"A=1"}})
	p, err := container.NewProcess(im, nil, container.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Argv, []string{"prog", "--flag", "default"}) || p.Path != "/usr/local/sbin/prog" && p.Path != "/usr/bin/prog" {
		t.Errorf("argv %q path %q", p.Argv, p.Path)
	}
	if p.UID != 1000 || p.GID != 1000 || !slices.Equal(p.Groups, []uint32{50, 29}) || p.Dir != "/work" {
		t.Errorf("user %d:%d groups %v dir %s", p.UID, p.GID, p.Groups, p.Dir)
	}
	for _, kv := range []string{"PATH=" + container.DefaultPath, "A=1", "HOSTNAME=gvcheck", "HOME=/home/app"} {
		if !slices.Contains(p.Env, kv) {
			t.Errorf("env %q lacks %s", p.Env, kv)
		}
	}
	if !slices.Equal(p.Caps, container.DockerCaps) && len(p.Caps) != len(container.DockerCaps) {
		t.Errorf("caps %v", p.Caps)
	}
	// Arguments replace the cmd, not the entrypoint.
	p, err = container.NewProcess(im, []string{"x", "y"}, container.Settings{User: "web:staff"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Argv, []string{"prog", "--flag", "x", "y"}) || p.UID != 33 || p.GID != 50 {
		t.Errorf("argv %q user %d:%d", p.Argv, p.UID, p.GID)
	}
}

func TestLookupUser(t *testing.T) {
	im := open(t, v1.Config{Cmd: []string{"/bin/prog"}})
	r := im.Rootfs()
	for spec, want := range map[string]container.User{
		"":          {UID: 0, GID: 0, Home: "/root"},
		"root":      {UID: 0, GID: 0, Home: "/root"},
		"1000":      {UID: 1000, GID: 1000, Groups: []uint32{50, 29}, Home: "/home/app"},
		"4242":      {UID: 4242, GID: 0, Home: "/"},
		"4242:4343": {UID: 4242, GID: 4343, Home: "/"},
		"app:www":   {UID: 1000, GID: 33, Groups: []uint32{50, 29}, Home: "/home/app"},
	} {
		got, err := container.LookupUser(r, spec)
		if err != nil || got.UID != want.UID || got.GID != want.GID || got.Home != want.Home || !slices.Equal(got.Groups, want.Groups) {
			t.Errorf("LookupUser(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"nobody", "app:nogroup"} {
		if _, err := container.LookupUser(r, bad); err == nil {
			t.Errorf("LookupUser(%q) accepted", bad)
		}
	}
}

func TestLookPath(t *testing.T) {
	im := open(t, v1.Config{Cmd: []string{"/bin/prog"}})
	r := im.Rootfs()
	if p, err := container.LookPath(r, "prog", "/nope:/bin", "/"); err != nil || p != "/bin/prog" {
		t.Errorf("prog: %q %v", p, err)
	}
	if _, err := container.LookPath(r, "noexec", "/usr/bin", "/"); err == nil {
		t.Error("a file without an execute bit was found")
	}
	if _, err := container.LookPath(r, "/usr/bin/missing", "", "/"); err == nil || !strings.Contains(err.Error(), "has no /usr/bin/missing") {
		t.Errorf("missing: %v", err)
	}
	if _, err := container.NewProcess(im, []string{}, container.Settings{}); err != nil {
		t.Errorf("cmd only: %v", err)
	}
	empty := open(t, v1.Config{})
	if _, err := container.NewProcess(empty, nil, container.Settings{}); err != container.ErrNoCommand {
		t.Errorf("no command: %v", err)
	}
}

func TestCaps(t *testing.T) {
	s := container.Settings{CapAdd: []string{"net_admin", "CAP_SYS_PTRACE"}, CapDrop: []string{"NET_RAW", "chown"}}
	got := s.Caps()
	for _, c := range []string{"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"} {
		if !slices.Contains(got, c) {
			t.Errorf("caps %v lack %s", got, c)
		}
	}
	for _, c := range []string{"CAP_NET_RAW", "CAP_CHOWN", "CAP_SYS_ADMIN"} {
		if slices.Contains(got, c) {
			t.Errorf("caps %v hold %s", got, c)
		}
	}
	if got := (container.Settings{CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}).Caps(); !slices.Equal(got, []string{"CAP_KILL"}) {
		t.Errorf("drop ALL, add KILL: %v", got)
	}
	if got := (container.Settings{Privileged: true}).Caps(); !slices.Contains(got, "CAP_SYS_ADMIN") || len(got) < 38 {
		t.Errorf("privileged: %v", got)
	}
	if err := (container.Settings{CapAdd: []string{"NOPE"}}).Validate(); err == nil {
		t.Error("unknown capability accepted")
	}
	if err := (container.Settings{Network: "bridge"}).Validate(); err == nil {
		t.Error("bridge network accepted")
	}
}

func TestSpec(t *testing.T) {
	im := open(t, v1.Config{Cmd: []string{"/bin/prog"}, User: "app"})
	p, err := container.NewProcess(im, nil, container.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	spec := container.Spec(p, container.Settings{ReadOnly: true, Network: "host"}, "/rootfs", nil)
	b, _ := json.Marshal(spec)
	js := string(b)
	for _, want := range []string{`"uid":1000`, `"additionalGids":[50,29]`, `"readonly":true`, `"hostname":"gvcheck"`,
		`"CAP_NET_RAW"`, `"/proc/kcore"`, `"destination":"/dev/mqueue"`} {
		if !strings.Contains(js, want) {
			t.Errorf("spec lacks %s", want)
		}
	}
	if strings.Contains(js, `"type":"network"`) {
		t.Error("host network has a network namespace")
	}
	ps := container.Settings{Privileged: true}
	pp, err := container.NewProcess(im, nil, ps)
	if err != nil {
		t.Fatal(err)
	}
	priv := container.Spec(pp, ps, "/rootfs", nil)
	if len(priv.Linux.MaskedPaths) != 0 || !slices.Contains(priv.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Errorf("privileged spec: masked %v caps %v", priv.Linux.MaskedPaths, priv.Process.Capabilities.Bounding)
	}
}
