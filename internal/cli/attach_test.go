package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/policy"
)

func TestMain(m *testing.M) {
	if policy.ShimMain() {
		return
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(url string) error {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

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
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	port := freePort(t)
	srv := exec.Command(py, "-m", "http.server", "--bind", "127.0.0.1", fmt.Sprint(port))
	srv.Dir = t.TempDir()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(10 * time.Second)
	for get(url) != nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	done := make(chan struct{})
	go func() { // load while attached, so the trace sees the server work
		defer close(done)
		for i := 0; i < 20; i++ {
			get(url)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"attach", "--duration", "2s", "--all", fmt.Sprint(srv.Process.Pid)}, nil, &stdout, &stderr)
	<-done
	if code != 0 {
		t.Fatalf("attach exited %d: %s", code, stderr.String())
	}
	for _, want := range []string{"accept4", "coverage full", "pid "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	if err := get(url); err != nil {
		t.Fatalf("server does not serve after detach: %v", err)
	}
	if st := processState(t, srv.Process.Pid); st == "t" || st == "T" {
		t.Fatalf("server left in state %s", st)
	}
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
