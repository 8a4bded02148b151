package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace/ebpf"
)

func TestMain(m *testing.M) { testenv.Main(m, policy.ShimMain) }

// processState returns the state letter of /proc/PID/stat.
func processState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// TestAttachServerKeepsServing attaches to a live Python HTTP server, traces
// it while it serves, detaches after --duration and checks it still serves
// and is not left stopped.
func TestAttachServerKeepsServing(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	port := testenv.FreePort(t)
	srv := exec.Command(py, "-m", "http.server", "--bind", "127.0.0.1", fmt.Sprint(port))
	srv.Dir = t.TempDir()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(10 * time.Second)
	for testenv.HTTPGet(url) != nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, backend := range []string{"ptrace", "ebpf"} {
		done := make(chan struct{})
		go func() { // load while attached, so the trace sees the server work
			defer close(done)
			for i := 0; i < 20; i++ {
				testenv.HTTPGet(url)
				time.Sleep(50 * time.Millisecond)
			}
		}()
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), []string{"attach", "--backend", backend, "--duration", "2s", "--all", fmt.Sprint(srv.Process.Pid)}, nil, &stdout, &stderr)
		<-done
		if code != 0 {
			t.Fatalf("%s: attach exited %d: %s", backend, code, stderr.String())
		}
		for _, want := range []string{"accept4", "coverage full", "pid ", "traced with the " + backend + " backend"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%s: report lacks %q:\n%s", backend, want, stdout.String())
			}
		}
		if err := testenv.HTTPGet(url); err != nil {
			t.Fatalf("%s: server does not serve after detach: %v", backend, err)
		}
		if st := processState(t, srv.Process.Pid); st == "t" || st == "T" {
			t.Fatalf("%s: server left in state %s", backend, st)
		}
	}
}

// TestAttachCgroup takes in a cgroup with attach --cgroup: a process
// started in it after the attach is in the report.
func TestAttachCgroup(t *testing.T) {
	if _, err := ebpf.Check(); err != nil {
		testenv.Missingf(t, "the eBPF backend cannot run here: %v", err)
	}
	root := cgroup2Root(t)
	dir, err := os.MkdirTemp(root, "gvcheck-cli-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	fd, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	go func() {
		time.Sleep(500 * time.Millisecond)
		cmd := exec.Command("cat", "/proc/self/status")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
		_ = cmd.Run()
	}()
	var stdout, stderr bytes.Buffer
	saved := filepath.Join(t.TempDir(), "prof.json")
	code := Run(context.Background(), []string{"attach", "--cgroup", dir, "--duration", "1500ms", "-f", "json", "--save", saved}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("attach --cgroup exited %d: %s", code, stderr.String())
	}
	var rep struct {
		Workloads []struct {
			Name    string
			Sources []struct{ Name, Backend, Why string }
			Rows    []struct{ Syscall string }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	w := rep.Workloads[0]
	if !strings.HasPrefix(w.Name, "cgroup /") || w.Sources[0].Backend != "ebpf" || w.Sources[0].Why == "" {
		t.Errorf("workload %+v", w)
	}
	prof, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prof), `"/proc/self/status"`) || !strings.Contains(string(prof), `"/usr/bin/cat"`) {
		t.Errorf("the process started after the attach is not in the profile: %s", prof)
	}
}

// cgroup2Root finds the cgroup v2 mount.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && f[i+1] == "cgroup2" {
				return f[4]
			}
		}
	}
	testenv.Missing(t, "this machine mounts no cgroup v2 hierarchy")
	return ""
}

func TestAttachErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"attach", "notapid"}, nil, &stdout, &stderr); code != ExitUsage {
		t.Errorf("attach notapid: exit %d", code)
	}
	stderr.Reset()
	code := Run(context.Background(), []string{"attach", "--duration", "1s", "999999999"}, nil, &stdout, &stderr)
	if code != ExitError || !strings.HasPrefix(stderr.String(), "gvcheck: error: ") {
		t.Errorf("attach to a missing pid: exit %d, %q", code, stderr.String())
	}
}
