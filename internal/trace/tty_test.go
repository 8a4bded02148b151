//go:build linux

package trace

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q; it shows:\n%s", want, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInteractiveTerminal runs an interactive python3 under a tracer that
// is itself on a terminal (a pseudo-terminal here): the program owns the
// terminal, Ctrl-C interrupts the program, not the tracer, and the tracer
// exits with the program's status.
func TestInteractiveTerminal(t *testing.T) {
	testenv.NeedRoot(t)
	py := testenv.NeedTool(t, "python3")
	master, slave := openPTY(t)
	defer master.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "GVCHECK_TRACE_TEST_TRACER="+py+" -i -q", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out syncBuffer
	go func() { _, _ = copyTerminal(&out, master) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	out.waitFor(t, ">>> ")
	if _, err := master.Write([]byte("print(6*7)\r")); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "42")
	if _, err := master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	out.waitFor(t, "KeyboardInterrupt")
	if _, err := master.Write([]byte("import sys; sys.exit(7)\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("tracer did not exit; terminal:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("tracer exit %v, want 7 (the program's); terminal:\n%s", cmd.ProcessState, out.String())
	}
}

func copyTerminal(dst *syncBuffer, src *os.File) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			_, _ = dst.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}

// TestJobControl: an interactive bash under the tracer stops a job with
// Ctrl-Z, resumes it with fg, interrupts it with Ctrl-C, and exits with its
// own status.
func TestJobControl(t *testing.T) {
	testenv.NeedRoot(t)
	bash := testenv.NeedTool(t, "bash")
	sleep := testenv.NeedTool(t, "sleep")
	master, slave := openPTY(t)
	defer master.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "GVCHECK_TRACE_TEST_TRACER="+bash+" --norc --noprofile -i", "TERM=dumb", "PS1=$ ")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out syncBuffer
	go func() { _, _ = copyTerminal(&out, master) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	send := func(s string) {
		if _, err := master.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	out.waitFor(t, "$ ")
	send(sleep + " 30\r")
	time.Sleep(300 * time.Millisecond)
	send("\x1a") // Ctrl-Z
	out.waitFor(t, "Stopped")
	send("jobs -l; fg\r")
	out.waitFor(t, sleep+" 30")
	time.Sleep(300 * time.Millisecond)
	send("\x03") // Ctrl-C
	time.Sleep(200 * time.Millisecond)
	send("echo status=$?\r")
	out.waitFor(t, "status=130")
	send("exit 4\r")
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("tracer did not exit; terminal:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("tracer exit %v, want 4; terminal:\n%s", cmd.ProcessState, out.String())
	}
}
