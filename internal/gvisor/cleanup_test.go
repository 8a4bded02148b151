package gvisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

func alive(pid int) bool {
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := strings.LastIndexByte(string(st), ')')
	return i > 0 && i+2 < len(st) && st[i+2] != 'Z'
}

func waitGone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return false
}

// TestSweep: what a killed gvcheck's run left (a process started with its
// directory, a mount below it, the runsc do root its logs name) is removed
// by the next run; a live gvcheck's run is left alone.
func TestSweep(t *testing.T) {
	testenv.NeedRoot(t)
	// A gvcheck that has died: a process that has come and gone.
	dead := exec.Command("true")
	if err := dead.Start(); err != nil {
		t.Fatal(err)
	}
	pid, start := dead.Process.Pid, startTime(dead.Process.Pid)
	_ = dead.Wait()
	tmp := os.TempDir()
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("%s%d.%d-", runDirPrefix, pid, start))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	doRoot, err := os.MkdirTemp(tmp, "runsc-do")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(doRoot)
	for _, d := range []string{filepath.Join(dir, "logs"), filepath.Join(dir, "state", "mnt")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	log := fmt.Sprintf("I1130 Create container, cid: x, rootDir: %q\n", doRoot)
	if err := os.WriteFile(filepath.Join(dir, "logs", "runsc.log.do.txt"), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(doRoot, "x_sandbox:x.state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", filepath.Join(dir, "state", "mnt"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	leftover := exec.Command("sh", "-c", "while :; do sleep 1; done", "--root="+doRoot)
	if err := leftover.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = leftover.Wait() }()
	// And a live gvcheck's run: this test's.
	mine, err := runDir()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(mine)

	removed := Sweep("")
	if len(removed) == 0 || !strings.Contains(strings.Join(removed, " "), dir) {
		t.Errorf("Sweep removed %v, not %s", removed, dir)
	}
	for _, p := range []string{dir, doRoot} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if !waitGone(leftover.Process.Pid) {
		t.Errorf("process %d started with the run's root survived", leftover.Process.Pid)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), dir) {
		t.Error("a mount below the run's directory survived")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the live run's directory was removed: %v", err)
	}
}

// TestContainedTestDiesWithGvcheck: a --test command, and what it starts
// in the background, are killed when gvcheck is (SIGKILL, no cleanup).
func TestContainedTestDiesWithGvcheck(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(self)
	helper.Env = append(os.Environ(), "GVCHECK_GVISOR_TEST_CONTAIN=(setsid sleep 100 & echo $! > "+pidfile+".tmp; mv "+pidfile+".tmp "+pidfile+"; wait); sleep 100")
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidfile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	if pid == 0 {
		t.Fatal("the test command did not start")
	}
	if !waitGone(pid) {
		_ = unix.Kill(pid, unix.SIGKILL)
		t.Errorf("the test command's background process %d survived gvcheck", pid)
	}
}
