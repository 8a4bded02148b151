package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// modes are the ways gvcheck runs a command of the corpus: run with the
// default backend (eBPF where it loads), the ptrace backend in fast and full
// mode, and attach (ptrace) to the command once it runs.
var modes = []string{"run", "ptrace", "full", "attach"}

// outcome is what a command did.
type outcome struct {
	status         string // "exit N" or "signal NAME"
	stdout, stderr []byte
}

func (o outcome) String() string {
	return fmt.Sprintf("%s, %d bytes out, %d bytes err", o.status, len(o.stdout), len(o.stderr))
}

// TestTransparency runs the corpus untraced and in every mode and compares
// (about two minutes). Figures go to the file named by
// GVCHECK_CORPUS_REPORT, if set.
func TestTransparency(t *testing.T) {
	testenv.NeedRoot(t)
	g := gvcheck(t)
	var report *os.File
	if p := os.Getenv("GVCHECK_CORPUS_REPORT"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		report = f
	}
	var mu sync.Mutex
	tried, compared, documented, differences := 0, 0, 0, 0
	for _, c := range corpus() {
		t.Run(c.name, func(t *testing.T) {
			argv := c.argv(t)
			dir := t.TempDir() // the same working directory for every run
			native := runCase(t, "", g, argv, c, dir)
			mu.Lock()
			tried++
			mu.Unlock()
			for _, m := range modes {
				got := runCase(t, m, g, argv, c, dir)
				same := got.status == native.status && bytes.Equal(got.stdout, native.stdout) &&
					(c.statusOnly || bytes.Equal(got.stderr, native.stderr))
				line := fmt.Sprintf("%-30s %-7s same", c.name, m)
				mu.Lock()
				compared++
				switch {
				case same:
				case c.limits[m] != "":
					documented++
					line = fmt.Sprintf("%-30s %-7s differs (documented: %s): %v, untraced %v", c.name, m, firstWords(c.limits[m]), got, native)
					t.Logf("%s: documented difference (%s): got %v, untraced %v", m, c.limits[m], got, native)
				default:
					differences++
					line = fmt.Sprintf("%-30s %-7s DIFFERS: %v, untraced %v", c.name, m, got, native)
					t.Errorf("%s: %v\nuntraced: %v\n%s", m, got, native, diff(native, got))
				}
				if report != nil {
					fmt.Fprintln(report, line)
				}
				mu.Unlock()
			}
		})
	}
	t.Logf("corpus: %d commands, %d comparisons, %d documented kernel limits, %d undocumented differences", tried, compared, documented, differences)
	if report != nil {
		fmt.Fprintf(report, "TOTAL %d commands, %d comparisons, %d documented, %d differences\n", tried, compared, documented, differences)
	}
}

func firstWords(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 {
		return s[:i]
	}
	return s
}

func diff(a, b outcome) string {
	var out []string
	if a.status != b.status {
		out = append(out, "status: "+a.status+" vs "+b.status)
	}
	for _, x := range []struct {
		name string
		a, b []byte
	}{{"stdout", a.stdout, b.stdout}, {"stderr", a.stderr, b.stderr}} {
		if bytes.Equal(x.a, x.b) {
			continue
		}
		i := 0
		for i < len(x.a) && i < len(x.b) && x.a[i] == x.b[i] {
			i++
		}
		from := max(0, i-80)
		out = append(out, fmt.Sprintf("%s differs at byte %d:\n  untraced %q\n  traced   %q", x.name, i,
			clip(x.a[from:min(len(x.a), i+200)]), clip(x.b[from:min(len(x.b), i+200)])))
	}
	return strings.Join(out, "\n")
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}

// runCase runs argv untraced (mode "") or in mode, and returns what it did.
func runCase(t *testing.T, mode, g string, argv []string, c corpusCase, dir string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var full []string
	switch mode {
	case "":
		// A shell's exec, so that a command that cannot be started gets a
		// shell's status, as under gvcheck.
		full = append([]string{"/bin/sh", "-c", `exec "$@"`, "sh"}, argv...)
	// --fail-on never: gvcheck's status is then the program's alone (with
	// findings at or above --fail-on, a program that succeeded gives 3).
	case "run":
		full = append([]string{g, "run", "--fail-on", "never", "-o", "/dev/null", "--"}, argv...)
	case "ptrace":
		full = append([]string{g, "run", "--fail-on", "never", "--backend", "ptrace", "-o", "/dev/null", "--"}, argv...)
	case "full":
		full = append([]string{g, "run", "--fail-on", "never", "--backend", "ptrace", "--full", "-o", "/dev/null", "--"}, argv...)
	case "attach":
		return runAttached(t, ctx, g, argv, c, dir)
	}
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Dir = dir
	return runCmd(t, cmd, c, nil)
}

// runAttached starts argv held before its exec, attaches gvcheck to it,
// and lets it go.
func runAttached(t *testing.T, ctx context.Context, g string, argv []string, c corpusCase, dir string) outcome {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `read -r gvcheck_go <&3; unset gvcheck_go; exec 3<&-; exec "$@"`, "sh"}, argv...)...)
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{pr}
	var att *exec.Cmd
	var attOut bytes.Buffer
	o := runCmd(t, cmd, c, func(pid int) {
		pr.Close()
		att = exec.CommandContext(ctx, g, "attach", "--fail-on", "never", "--backend", "ptrace", "-o", "/dev/null", strconv.Itoa(pid))
		att.Stdout, att.Stderr = &attOut, &attOut
		if err := att.Start(); err != nil {
			t.Errorf("attach: %v", err)
		} else {
			// TracerPid names the tracing thread of gvcheck.
			for deadline := time.Now().Add(20 * time.Second); tgid(tracer(pid)) != att.Process.Pid && time.Now().Before(deadline); {
				time.Sleep(2 * time.Millisecond)
			}
			if tgid(tracer(pid)) != att.Process.Pid {
				t.Errorf("gvcheck attach did not attach: %s", attOut.Bytes())
			}
		}
		_, _ = pw.Write([]byte("\n"))
		pw.Close()
	})
	if att != nil {
		done := make(chan error, 1)
		go func() { done <- att.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gvcheck attach: %v: %s", err, attOut.Bytes())
			}
		case <-time.After(30 * time.Second):
			_ = att.Process.Kill()
			<-done
			t.Errorf("gvcheck attach did not end with its target: %s", attOut.Bytes())
		}
	}
	return o
}

func tracer(pid int) int { return statusField(pid, "TracerPid") }

func tgid(tid int) int {
	if tid == 0 {
		return 0
	}
	return statusField(tid, "Tgid")
}

func statusField(pid int, name string) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// runCmd runs cmd with c's standard input, on a terminal of its own if c
// asks for one, calling started (if set) once it has started.
func runCmd(t *testing.T, cmd *exec.Cmd, c corpusCase, started func(pid int)) outcome {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// A background process that outlives the command keeps its output
	// open; do not wait for it forever.
	cmd.WaitDelay = 20 * time.Second
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	var master *os.File
	if c.tty {
		m, slave, err := openPty()
		if err != nil {
			t.Fatalf("pty: %v", err)
		}
		master = m
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		defer slave.Close()
	} else {
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %q: %v", cmd.Args, err)
	}
	var copied chan struct{}
	if master != nil {
		cmd.Stdin.(*os.File).Close()
		copied = make(chan struct{})
		go func() {
			defer close(copied)
			_, _ = io.Copy(&stdout, master) // EIO once every holder of the terminal has gone
		}()
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	err := cmd.Wait()
	if master != nil {
		select {
		case <-copied:
		case <-time.After(10 * time.Second):
		}
		master.Close()
	}
	o := outcome{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	if c.filter != nil {
		o.stdout, o.stderr = c.filter(o.stdout), c.filter(o.stderr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		o.status = "exit 0"
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			o.status = "signal " + unix.SignalName(ws.Signal())
		} else {
			o.status = fmt.Sprintf("exit %d", ws.ExitStatus())
		}
	default:
		o.status = "error " + err.Error()
	}
	return o
}

// openPty returns a new pseudo-terminal's master and slave.
func openPty() (*os.File, *os.File, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		return nil, nil, e
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	_ = unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	return m, s, nil
}

// goBuild builds a Go program of this module once per test binary.
func goBuild(t *testing.T, pkg string) string {
	t.Helper()
	goBuilt.Lock()
	defer goBuilt.Unlock()
	if p, ok := goBuilt.m[pkg]; ok {
		return p
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	// Outlive this test: other tests may use it.
	if dir, err := os.MkdirTemp("", "gvcheck-corpus-go"); err == nil {
		out = filepath.Join(dir, filepath.Base(pkg))
	}
	if b, err := exec.Command(testenv.NeedTool(t, "go"), "build", "-o", out, "./"+pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	goBuilt.m[pkg] = out
	return out
}

var goBuilt = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}
