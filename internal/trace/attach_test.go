//go:build linux

package trace

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestAttachHTTPServer attaches to a running Python HTTP server for two
// seconds while it serves, detaches, and checks that it still serves and is
// not left stopped.
func TestAttachHTTPServer(t *testing.T) {
	testenv.NeedRoot(t)
	py := testenv.NeedTool(t, "python3")
	port := testenv.FreePort(t)
	srv := exec.Command(py, "-m", "http.server", "--bind", "127.0.0.1", fmt.Sprint(port))
	srv.Dir = t.TempDir()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(15 * time.Second)
	for testenv.HTTPGet(url) != nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		served <- testenv.HTTPGet(url)
	}()
	p := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow}
	res, err := Attach(ctx, []int{srv.Process.Pid}, Options{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("request while attached: %v", err)
	}
	names := res.Profile.Names()
	for _, want := range []string{"accept4", "sendto"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("attached trace %v lacks %s", names, want)
		}
	}
	if st, ok := procState(srv.Process.Pid); !ok || st == 't' || st == 'T' {
		t.Fatalf("server state after detach: %q (present %v)", st, ok)
	}
	if err := testenv.HTTPGet(url); err != nil {
		t.Errorf("request after detach: %v", err)
	}
	if st, _ := procState(srv.Process.Pid); st == 't' || st == 'T' {
		t.Errorf("server stopped after detach: %c", st)
	}
}

func TestAttachErrors(t *testing.T) {
	if _, err := Attach(context.Background(), nil, Options{}); err == nil {
		t.Error("no pids: no error")
	}
	_, err := Attach(context.Background(), []int{1 << 30}, Options{})
	if err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("missing pid: %v", err)
	}
}

// TestRefusals: when tracing is impossible the message says why, and does
// not tell a root gvcheck to run as root: a zombie has nothing left to
// trace, a kernel thread runs no program, a traced process has its tracer.
func TestRefusals(t *testing.T) {
	if refusal(os.Getpid(), errSrch) != "" {
		t.Error("a refusal for ESRCH")
	}
	h := refusal(os.Getpid(), fmt.Errorf("seize: %w", errPerm))
	if os.Geteuid() == 0 {
		if strings.Contains(h, "run gvcheck as root") || !strings.Contains(h, "runs as root") {
			t.Errorf("as root: %q", h)
		}
	} else if !strings.Contains(h, "CAP_SYS_PTRACE") || !strings.Contains(h, "root") {
		t.Errorf("as user: %q", h)
	}
	testenv.NeedRoot(t)
	// A zombie: a child that exited and was not waited for.
	zombie := exec.Command(testenv.NeedTool(t, "true"))
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, _ := taskStat(zombie.Process.Pid); st == 'Z' {
			break
		}
	}
	_, err := Attach(context.Background(), []int{zombie.Process.Pid}, Options{})
	_ = zombie.Wait()
	if err == nil || !strings.Contains(err.Error(), "has exited") || strings.Contains(err.Error(), "as root") {
		t.Errorf("zombie: %v", err)
	}
	// A kernel thread: kthreadd is pid 2 where the kernel runs init.
	if st, flags := taskStat(2); flags&0x00200000 != 0 && st != 0 {
		_, err := Attach(context.Background(), []int{2}, Options{})
		if err == nil || !strings.Contains(err.Error(), "kernel thread") || strings.Contains(err.Error(), "as root") {
			t.Errorf("kernel thread: %v", err)
		}
	}
}

var errPerm, errSrch error = unix.EPERM, unix.ESRCH

// TestAttachStoppedProcess attaches to a job-control-stopped process: it
// stays stopped while traced and after detach, and runs on SIGCONT.
func TestAttachStoppedProcess(t *testing.T) {
	testenv.NeedRoot(t)
	sleep := exec.Command(testenv.NeedTool(t, "sh"), "-c", "kill -STOP $$; exec sleep 0.2")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	pid := sleep.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for st, _ := procState(pid); st != 'T'; st, _ = procState(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("victim did not stop (state %c)", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Attach(ctx, []int{pid}, Options{}); err != nil {
		t.Fatal(err)
	}
	// Detaching re-enters the group-stop: the task may be seen running
	// for a moment on its way back. Had it really been resumed, it would
	// exec sleep and exit within 0.2 s.
	deadline = time.Now().Add(2 * time.Second)
	for st, _ := procState(pid); st != 'T'; st, _ = procState(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("after detach: state %c, want T (stopped, as before)", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	if st, _ := procState(pid); st != 'T' {
		t.Errorf("0.4 s after detach: state %c, want still stopped", st)
	}
	if err := sleep.Process.Signal(unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("victim: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = sleep.Process.Kill()
		t.Error("victim did not finish after SIGCONT")
	}
}

// TestAttachFollowsChildren attaches to a shell that keeps starting
// programs: the children it forks afterwards are traced, with their exec'd
// executables, and the shell runs on after detach.
func TestAttachFollowsChildren(t *testing.T) {
	testenv.NeedRoot(t)
	truePath := testenv.NeedTool(t, "true")
	sh := exec.Command(testenv.NeedTool(t, "sh"), "-c", "while :; do "+truePath+"; sleep 0.05; done")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sh.Process.Kill()
		_ = sh.Wait()
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	res, err := Attach(ctx, []int{sh.Process.Pid}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Processes < 3 {
		t.Errorf("processes %d, want the shell and several children", res.Processes)
	}
	ex := res.Profile.Syscalls["execve"]
	if ex == nil || ex.Count < 2 {
		t.Fatalf("execve not recorded: %+v", ex)
	}
	if w := res.Profile.Syscalls["wait4"]; w == nil {
		t.Errorf("the shell's wait4 was not recorded")
	}
	resolved, _ := filepath.EvalSymlinks(truePath)
	found := false
	for _, s := range res.Profile.Syscalls {
		for exe := range s.Exes {
			found = found || exe == resolved || exe == truePath
		}
	}
	if !found {
		t.Errorf("no calls attributed to %s", resolved)
	}
	time.Sleep(100 * time.Millisecond)
	if st, ok := procState(sh.Process.Pid); !ok || st == 't' || st == 'T' || st == 'Z' {
		t.Errorf("shell state after detach: %c (present %v)", st, ok)
	}
}

// TestAttachAlreadyTraced: a process another tracer holds gives a clear
// error naming that tracer.
func TestAttachAlreadyTraced(t *testing.T) {
	testenv.NeedRoot(t)
	strace := testenv.NeedTool(t, "strace")
	cmd := exec.Command(strace, "-o", "/dev/null", testenv.NeedTool(t, "sleep"), "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// strace forks short-lived children of its own to probe ptrace features
	// before it starts the command: wait for the traced child that runs sleep.
	var victim int
	deadline := time.Now().Add(10 * time.Second)
	for victim == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if pid > 0 && strings.TrimSpace(string(comm)) == "sleep" && tracerOf(pid) == cmd.Process.Pid {
				victim = pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if victim == 0 {
		t.Fatal("strace did not start tracing its child")
	}
	_, err := Attach(context.Background(), []int{victim}, Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("already traced by process %d", cmd.Process.Pid)) {
		t.Errorf("attach to a traced process: %v", err)
	}
}
