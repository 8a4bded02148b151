//go:build linux

package ebpf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	hybrid := `22 1 0:20 / /sys rw,nosuid shared:7 - sysfs sysfs rw
30 22 0:25 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:27 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory
`
	cases := map[string]string{
		hybrid: "/sys/fs/cgroup/unified",
		"25 1 0:22 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw\n":     "/sys/fs/cgroup",
		"25 1 0:22 / /mnt/my\\040cgroups rw - cgroup2 none rw\n":            "/mnt/my cgroups",
		"25 1 0:22 / /x rw shared:1 master:2 - cgroup2 none rw\n":           "/x",
		"32 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n": "",
		"short - cgroup2\n": "",
	}
	for in, want := range cases {
		got, err := parseMountinfo(strings.NewReader(in))
		if got != want || (err == nil) != (want != "") {
			t.Errorf("parseMountinfo(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	in := "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n"
	if rel, ok := parseProcCgroup(in); !ok || rel != "/docker/abc" {
		t.Errorf("got %q %v", rel, ok)
	}
	if _, ok := parseProcCgroup("4:memory:/x\n"); ok {
		t.Error("a v1-only process has a cgroup v2")
	}
}

func TestInHierarchy(t *testing.T) {
	root := t.TempDir()
	if err := mkdirs(root, "docker/abc"); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, dir, rel string }{
		{root, root, "/"},
		{root + "/docker/abc", root + "/docker/abc", "/docker/abc"},
		{root + "/docker/abc/", root + "/docker/abc", "/docker/abc"},
		{"/docker/abc", root + "/docker/abc", "/docker/abc"},
		{"/sys/fs/cgroup/memory/docker/abc", root + "/docker/abc", "/docker/abc"},
		{"/sys/fs/cgroup/memory/docker/none", "", ""},
		{"/nope", "", ""},
		{"relative/path", "", ""},
	}
	for _, c := range cases {
		dir, rel, err := inHierarchy(root, c.in)
		if dir != c.dir || rel != c.rel || (err == nil) != (c.dir != "") {
			t.Errorf("inHierarchy(%q) = %q, %q, %v; want %q, %q", c.in, dir, rel, err, c.dir, c.rel)
		}
	}
}

func TestContainerIDOf(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, name := range []string{id, "docker-" + id + ".scope", "cri-containerd-" + id + ".scope", "crio-" + id, "libpod-" + id + ".scope"} {
		if got := containerIDOf(name); got != id {
			t.Errorf("containerIDOf(%q) = %q", name, got)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("31 30 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n")
	f.Add("25 1 0:22 / /mnt/a\\040b rw - cgroup2 none rw\n")
	f.Add("- cgroup2\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseMountinfo(strings.NewReader(s))
		if err == nil && got == "" && !strings.Contains(s, "cgroup2") {
			t.Errorf("found a mount in %q", s)
		}
		_, _ = parseProcCgroup(s)
	})
}

func mkdirs(root, rel string) error {
	return os.MkdirAll(filepath.Join(root, rel), 0o755)
}
