//go:build linux

package isolate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

const childEnv = "GVCHECK_ISOLATE_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

// child enters the isolated root and execs the shell command in argv.
func child(enc string) int {
	runtime.LockOSThread()
	var s Spec
	if err := json.Unmarshal([]byte(enc), &s); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 125
	}
	if err := Enter(&s); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 125
	}
	args := os.Args[len(os.Args)-1]
	err := unix.Exec("/bin/sh", []string{"sh", "-c", args}, os.Environ())
	os.Stderr.WriteString(err.Error() + "\n")
	return 126
}

func runIsolated(t *testing.T, dir, script string) string {
	t.Helper()
	spec, err := json.Marshal(&Spec{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", script)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("isolated run: %v\n%s", err, out)
	}
	return string(out)
}

func scratchDirs(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "gvcheck-isolate-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRunsDoNotShareFiles: every run starts from the same files, sees its
// own writes, and leaves the host's directory as it was.
func TestRunsDoNotShareFiles(t *testing.T) {
	testenv.NeedRoot(t)
	before := scratchDirs(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpName := "gvcheck-isolate-test-" + filepath.Base(dir)
	script := `set -e
pwd
mkdir out
echo new > out/file
echo changed > keep
cat keep out/file
rm -f keep
echo x > /tmp/` + tmpName + `
test ! -e keep && echo removed
ls /proc/self/fd >/dev/null && ls /dev/null /sys/kernel >/dev/null && echo kernelfs`
	for i := range 2 {
		out := runIsolated(t, dir, script)
		want := dir + "\nchanged\nnew\nremoved\nkernelfs\n"
		if out != want {
			t.Fatalf("run %d printed %q, want %q", i+1, out, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "keep"))
	if err != nil || string(b) != "original\n" {
		t.Errorf("host file after the runs: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("host directory holds %d entries after the runs, want 1", len(ents))
	}
	if _, err := os.Stat(filepath.Join("/tmp", tmpName)); err == nil {
		t.Errorf("/tmp/%s reached the host", tmpName)
	}
	if after := scratchDirs(t); !slices.Equal(before, after) {
		t.Errorf("scratch directories left on the host: before %v, after %v", before, after)
	}
}

// TestKernelFilesystemsAreShared: /proc shows the host's processes and
// /dev/null works as a device.
func TestKernelFilesystemsAreShared(t *testing.T) {
	testenv.NeedRoot(t)
	out := runIsolated(t, "/", `test -d /proc/1 && echo proc; echo hi > /dev/null && echo devnull; grep -c . /proc/self/mountinfo >/dev/null && echo mountinfo`)
	if out != "proc\ndevnull\nmountinfo\n" {
		t.Fatalf("got %q", out)
	}
}

func TestPlan(t *testing.T) {
	info := `22 1 0:5 / /proc rw,relatime - proc proc rw
23 1 0:20 / /sys rw,relatime - sysfs sysfs rw
24 1 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw
25 24 0:21 / /dev/shm rw - tmpfs tmpfs rw
26 24 0:22 / /dev/pts rw - devpts devpts rw
1 0 254:0 / / rw,relatime - ext4 /dev/vda rw
30 1 0:40 / /mnt/tools ro,nosuid - fuse.tool tool ro
31 23 0:41 / /sys/fs/cgroup rw - tmpfs tmpfs rw
32 1 254:0 /docker /var/lib/docker rw - ext4 /dev/vda rw
33 1 0:50 / /tmp rw - tmpfs tmpfs rw
34 1 0:51 / /media/my\040disk ro - ext4 /dev/vdb ro
35 24 0:23 / /dev/shm rw - tmpfs tmpfs rw
`
	ms, err := parseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	names := map[action]string{overlayMount: "overlay", bindTree: "tree", bindReadOnly: "ro"}
	for _, s := range plan(ms) {
		got = append(got, names[s.action]+" "+s.point)
	}
	want := []string{
		"tree /proc", "tree /sys", "tree /dev", "overlay /tmp",
		"ro /mnt/tools", "ro /media/my disk", "overlay /dev/shm", "overlay /var/lib/docker",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n got %q\nwant %q", got, want)
	}
}
