package image_test

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/image/imagetest"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func needRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t)
}

// netRawCap is security.capability for cap_net_raw+ep (revision 2).
func netRawCap() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b, 0x02000000|1)
	binary.LittleEndian.PutUint32(b[4:], 1<<13)
	return string(b)
}

func testImage(t *testing.T) v1.Image {
	t.Helper()
	l1, err := imagetest.Layer([]imagetest.File{
		{Path: "bin/", Type: tar.TypeDir},
		{Path: "bin/tool", Mode: 0o755, Body: []byte("tool")},
		{Path: "bin/hl", Type: tar.TypeLink, Link: "bin/tool"},
		{Path: "bin/ping", Mode: 0o755, Body: []byte("ping"), Xattrs: map[string]string{"security.capability": netRawCap()}},
		{Path: "bin/su", Mode: 0o4755, Body: []byte("su")},
		{Path: "etc/", Type: tar.TypeDir},
		{Path: "etc/owned", Body: []byte("x"), UID: 1000, GID: 1000, Xattrs: map[string]string{"user.note": "kept"}},
		{Path: "a/b/c", Body: []byte("old")},
		{Path: "hidden/x", Body: []byte("x")},
		{Path: "opq/o1", Body: []byte("1")},
		{Path: "opq/o2", Body: []byte("2")},
		{Path: "dev/", Type: tar.TypeDir},
		{Path: "dev/null", Type: tar.TypeChar, Mode: 0o666, Major: 1, Minor: 3},
		{Path: "fifo", Type: tar.TypeFifo},
		{Path: "evil-overlay", Body: []byte("x"), Xattrs: map[string]string{"trusted.overlay.opaque": "y"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := imagetest.Layer([]imagetest.File{
		{Path: ".wh.hidden"},
		{Path: "opq/", Type: tar.TypeDir},
		{Path: "opq/.wh..wh..opq"},
		{Path: "opq/o3", Body: []byte("3")},
		{Path: "a/b/c", Body: []byte("new")},
		{Path: "link", Type: tar.TypeSymlink, Link: "/a/b"},
		{Path: "rel", Type: tar.TypeSymlink, Link: "../../../a/b/c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Image(v1.Config{Entrypoint: []string{"/bin/tool"}, Cmd: []string{"x"}, User: "1000", WorkingDir: "/a", Env: []string{"A=1"}}, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestOpenSources(t *testing.T) {
	needRoot(t)
	img := testImage(t)
	dir := t.TempDir()
	lay := filepath.Join(dir, "layout")
	arc := filepath.Join(dir, "img.tar")
	if err := imagetest.WriteLayout(lay, img, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := imagetest.WriteArchive(arc, img, "gvcheck-test/unit:v1"); err != nil {
		t.Fatal(err)
	}
	cache := &image.Cache{Dir: filepath.Join(dir, "cache")}
	ctx := context.Background()
	var first *image.Image
	for _, ref := range []image.Ref{
		{Source: image.SourceOCI, Path: lay},
		{Source: image.SourceOCI, Path: lay, Name: "v1"},
		{Source: image.SourceArchive, Path: arc},
		{Source: image.SourceArchive, Path: arc, Name: "gvcheck-test/unit:v1"},
	} {
		im, err := image.Open(ctx, ref, image.Options{Cache: cache})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if im.Config.User != "1000" || im.Config.WorkingDir != "/a" || !slices.Equal(im.Config.Entrypoint, []string{"/bin/tool"}) {
			t.Errorf("%s: config %+v", ref, im.Config)
		}
		if first == nil {
			first = im
			checkRootfs(t, im.Rootfs())
		} else if !slices.Equal(im.Layers, first.Layers) || im.ID != first.ID {
			t.Errorf("%s: layers %v id %s, want the cached %v %s", ref, im.Layers, im.ID, first.Layers, first.ID)
		}
	}
	if _, err := image.Open(ctx, image.Ref{Source: image.SourceOCI, Path: lay, Name: "nope"}, image.Options{Cache: cache}); err == nil || !strings.Contains(err.Error(), `no image tagged "nope"`) {
		t.Errorf("unknown tag: %v", err)
	}
	if _, err := image.Open(ctx, image.Ref{Source: image.SourceOCI, Path: lay}, image.Options{Cache: cache, Arch: "s390x"}); err == nil || !strings.Contains(err.Error(), "no linux/s390x image") {
		t.Errorf("other platform: %v", err)
	}
	if _, err := image.Open(ctx, image.Ref{Source: image.SourceArchive, Path: lay + "/index.json"}, image.Options{Cache: cache}); err == nil {
		t.Error("a JSON file opened as an archive")
	}
}

func checkRootfs(t *testing.T, r *image.Rootfs) {
	t.Helper()
	read := func(p string) string {
		b, err := r.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
		}
		return string(b)
	}
	if got := read("/a/b/c"); got != "new" {
		t.Errorf("/a/b/c = %q, want the upper layer's", got)
	}
	if got := read("/link/c"); got != "new" {
		t.Errorf("/link/c = %q", got)
	}
	if got := read("/rel"); got != "new" {
		t.Errorf("/rel (.. beyond the root) = %q", got)
	}
	for _, p := range []string{"/hidden", "/hidden/x", "/opq/o1", "/evil-overlay/x"} {
		if _, _, err := r.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want hidden", p, err)
		}
	}
	var all []string
	if err := r.Walk(func(e image.Entry) error { all = append(all, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"/a", "/a/b", "/a/b/c", "/bin", "/bin/hl", "/bin/ping", "/bin/su", "/bin/tool", "/dev", "/dev/null",
		"/etc", "/etc/owned", "/evil-overlay", "/fifo", "/link", "/opq", "/opq/o3", "/rel"}
	if !slices.Equal(all, want) {
		t.Errorf("walk:\n got %q\nwant %q", all, want)
	}
	host, st, err := r.Lstat("/bin/ping")
	if err != nil {
		t.Fatal(err)
	}
	caps, ok, err := filecap.Read(host)
	if err != nil || !ok || !caps.Effective || !slices.Equal(caps.Permitted, []string{"CAP_NET_RAW"}) {
		t.Errorf("/bin/ping file capabilities: %+v %v %v", caps, ok, err)
	}
	if st.Mode()&fs.ModePerm != 0o755 {
		t.Errorf("/bin/ping mode %v", st.Mode())
	}
	if _, st, _ := r.Lstat("/bin/su"); st == nil || st.Mode()&fs.ModeSetuid == 0 {
		t.Errorf("/bin/su lost its setuid bit")
	}
	_, a, _ := r.Lstat("/bin/tool")
	_, b, _ := r.Lstat("/bin/hl")
	if a == nil || b == nil || a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("/bin/hl is not a hard link of /bin/tool")
	}
	if _, st, _ := r.Lstat("/etc/owned"); st == nil || st.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("/etc/owned lost its owner")
	}
	if host, _, _ := r.Lstat("/etc/owned"); host != "" {
		buf := make([]byte, 16)
		if n, err := syscall.Getxattr(host, "user.note", buf); err != nil || string(buf[:n]) != "kept" {
			t.Errorf("/etc/owned user.note: %q %v", buf[:max(n, 0)], err)
		}
	}
	if host, _, _ := r.Lstat("/evil-overlay"); host != "" {
		if _, err := syscall.Getxattr(host, image.OpaqueXattr, make([]byte, 4)); err == nil {
			t.Errorf("an image set %s", image.OpaqueXattr)
		}
	}
	if _, st, _ := r.Lstat("/dev/null"); st == nil || st.Sys().(*syscall.Stat_t).Rdev != uint64(1<<8|3) {
		t.Errorf("/dev/null is not the 1:3 device")
	}
}

// TestPlatform: a layout with an image per platform opens the one asked
// for.
func TestPlatform(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lay := filepath.Join(dir, "layout")
	for _, arch := range []string{"amd64", "arm64"} {
		l, err := imagetest.Layer([]imagetest.File{{Path: "arch", Body: []byte(arch)}})
		if err != nil {
			t.Fatal(err)
		}
		img, err := imagetest.Image(v1.Config{Cmd: []string{"/" + arch}}, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := imagetest.WritePlatform(lay, img, "multi", arch); err != nil {
			t.Fatal(err)
		}
	}
	cache := &image.Cache{Dir: filepath.Join(dir, "cache")}
	for _, arch := range []string{"amd64", "arm64"} {
		im, err := image.Open(context.Background(), image.Ref{Source: image.SourceOCI, Path: lay, Name: "multi"}, image.Options{Cache: cache, Arch: arch})
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if b, err := im.Rootfs().ReadFile("/arch"); err != nil || string(b) != arch || im.Config.Cmd[0] != "/"+arch {
			t.Errorf("%s: got %q %v, cmd %v", arch, b, err, im.Config.Cmd)
		}
	}
}

func TestLayerDigestChecked(t *testing.T) {
	needRoot(t)
	b, err := imagetest.Tar([]imagetest.File{{Path: "x", Body: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	cache := &image.Cache{Dir: t.TempDir()}
	wrong, _ := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	_, err = cache.Layer(wrong, func() (ioReadCloser, error) { return nopCloser(b), nil })
	if err == nil || !strings.Contains(err.Error(), "its content has digest") {
		t.Fatalf("wrong digest: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(cache.Dir, "layers")); len(ents) != 0 {
		t.Errorf("a failed unpack left %d entries", len(ents))
	}
}

func TestUnsafeLayers(t *testing.T) {
	needRoot(t)
	for name, files := range map[string][]imagetest.File{
		"dotdot":        {{Path: "../escape", Body: []byte("x")}},
		"through-link":  {{Path: "s", Type: tar.TypeSymlink, Link: "/nonexistent-gvcheck-dir"}, {Path: "s/x", Body: []byte("x")}},
		"link-outside":  {{Path: "hl", Type: tar.TypeLink, Link: "../../etc/passwd"}},
		"link-via-link": {{Path: "s", Type: tar.TypeSymlink, Link: "/etc"}, {Path: "hl", Type: tar.TypeLink, Link: "s/passwd"}},
	} {
		b, err := imagetest.Tar(files)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := v1.SHA256(bytesReader(b))
		cache := &image.Cache{Dir: t.TempDir()}
		if _, err := cache.Layer(h, func() (ioReadCloser, error) { return nopCloser(b), nil }); err == nil {
			t.Errorf("%s: unpacked", name)
		}
	}
}

func TestParseRef(t *testing.T) {
	exists := func(p string) bool { return p == "dir:with:colons" }
	for in, want := range map[string]image.Ref{
		"oci:/tmp/layout":        {Source: "oci", Path: "/tmp/layout"},
		"oci:/tmp/layout:v1":     {Source: "oci", Path: "/tmp/layout", Name: "v1"},
		"oci:dir:with:colons":    {Source: "oci", Path: "dir:with:colons"},
		"archive:img.tar":        {Source: "archive", Path: "img.tar"},
		"archive:img.tar:app:v2": {Source: "archive", Path: "img.tar:app", Name: "v2"},
		"docker:busybox:latest":  {Source: "docker", Name: "busybox:latest"},
		"docker:sha256:abc":      {Source: "docker", Name: "sha256:abc"},
	} {
		got, err := image.ParseRef(in, exists)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "busybox", "oci:", "registry:foo", "docker:"} {
		if _, err := image.ParseRef(bad, nil); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

// TestDockerEngine imports the image into the Engine and opens it from
// there: once exported, once from the cache alone.
func TestDockerEngine(t *testing.T) {
	needRoot(t)
	requireDocker(t)
	img := testImage(t)
	dir := t.TempDir()
	arc := filepath.Join(dir, "img.tar")
	tag := "gvcheck-test/unit:" + filepath.Base(dir)
	if err := imagetest.WriteArchive(arc, img, tag); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := imagetest.Load(ctx, arc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	cache := &image.Cache{Dir: filepath.Join(dir, "cache")}
	for i := range 2 {
		im, err := image.Open(ctx, image.Ref{Source: image.SourceDocker, Name: tag}, image.Options{Cache: cache})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		cfgID, _ := img.ConfigName()
		if im.ID != cfgID.String() || len(im.Layers) != 2 || im.Config.User != "1000" {
			t.Fatalf("open %d: %+v", i, im)
		}
		checkRootfs(t, im.Rootfs())
	}
	if _, err := image.Open(ctx, image.Ref{Source: image.SourceDocker, Name: "gvcheck-test/none:nope"}, image.Options{Cache: cache}); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("missing image: %v", err)
	}
}

func requireDocker(t *testing.T) {
	t.Helper()
	sock, err := image.DockerSocket()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(sock); err != nil {
		testenv.Missingf(t, "no Docker Engine here: %v", err)
	}
}
