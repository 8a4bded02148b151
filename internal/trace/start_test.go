//go:build linux

package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestStartUnderLoad starts many short programs while busy loops compete
// for the CPUs. The shim used to stop itself with a process-directed
// SIGSTOP from one thread while another went on to install the filter and
// exec untraced (ENOSYS, status 127, about once in 400 starts); the
// handshake leaves no such window.
func TestStartUnderLoad(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	var busy []*exec.Cmd
	for range 3 {
		c := exec.Command(sh, "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		busy = append(busy, c)
	}
	defer func() {
		for _, c := range busy {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	runs := 300
	if testing.Short() {
		runs = 60
	}
	for i := range runs {
		opt := Options{Policy: testPolicy()}
		if i%2 == 1 {
			opt = Options{} // full mode, with the notification listener
		}
		res, err := Run(context.Background(), []string{"/bin/true"}, opt)
		if err != nil || res.Exit.Code != 0 {
			t.Fatalf("start %d: %v, %+v", i, err, res)
		}
	}
}

// TestProgramSignalState: the program starts with exactly the dispositions
// and blocked mask it is given (normally gvcheck's own at start), whatever
// the Go runtime did to gvcheck's.
func TestProgramSignalState(t *testing.T) {
	testenv.NeedRoot(t)
	want := &policy.Signals{}
	for _, s := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGALRM, syscall.SIGURG, syscall.SIGXFSZ, syscall.SIGCHLD, 40} {
		want.Ignored = want.Ignored.Add(s)
	}
	for _, s := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2, syscall.SIGWINCH, 50} {
		want.Blocked = want.Blocked.Add(s)
	}
	grep := testenv.NeedTool(t, "grep")
	for _, full := range []bool{false, true} {
		var out bytes.Buffer
		w, r := pipeTo(t, &out)
		opt := Options{Signals: want, Stdout: w}
		if !full {
			opt.Policy = testPolicy()
		}
		res, err := Run(context.Background(), []string{grep, "-E", "^Sig(Ign|Blk)", "/proc/self/status"}, opt)
		w.Close()
		r()
		if err != nil || res.Exit.Code != 0 {
			t.Fatalf("full=%v: %v %+v", full, err, res)
		}
		got := strings.Join(strings.Fields(out.String()), " ")
		exp := "SigBlk: " + hex16(uint64(want.Blocked)) + " SigIgn: " + hex16(uint64(want.Ignored))
		if got != exp {
			t.Errorf("full=%v: program has %q, want %q", full, got, exp)
		}
	}
}

func hex16(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// pipeTo returns the write end of a pipe copied into buf, and a func that
// waits for the copy once every writer is closed.
func pipeTo(t *testing.T, buf *bytes.Buffer) (*os.File, func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = buf.ReadFrom(r)
		r.Close()
	}()
	return w, wg.Wait
}

// TestExecLikeAShell: statuses 127 and 126 for what cannot be started, and
// a file without "#!" run by /bin/sh, as shells, env and execvp do.
func TestExecLikeAShell(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("echo \"script $0 $1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pathDir := t.TempDir() // a PATH entry holding only a non-executable match
	if err := os.WriteFile(filepath.Join(pathDir, "gvcheck-noexec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv   []string
		env    []string
		status int
	}{
		{argv: []string{"gvcheck-no-such-command"}, status: 127},
		{argv: []string{filepath.Join(dir, "missing")}, status: 127},
		{argv: []string{noexec}, status: 126},
		{argv: []string{dir}, status: 126},
		{argv: []string{"gvcheck-noexec"}, env: []string{"PATH=" + pathDir}, status: 126},
	} {
		_, err := Run(context.Background(), tc.argv, Options{Policy: testPolicy(), Env: tc.env})
		var se *StartError
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%q: %v, want status %d", tc.argv, err, tc.status)
		}
	}
	var out bytes.Buffer
	w, wait := pipeTo(t, &out)
	res, err := Run(context.Background(), []string{script, "arg"}, Options{Policy: testPolicy(), Stdout: w})
	w.Close()
	wait()
	if err != nil || res.Exit.Code != 0 || out.String() != "script "+script+" arg\n" {
		t.Errorf("script without #!: %v, %+v, %q", err, res, out.String())
	}
}

// TestArgumentSpace: the traced program has exactly its native argument
// space. The shim used to carry its filter in the environment and the
// program's path in its argv, and lost 40-60 KB of ARG_MAX.
func TestArgumentSpace(t *testing.T) {
	testenv.NeedRoot(t)
	truePath := testenv.NeedTool(t, "true")
	env := []string{"PATH=/usr/bin:/bin"}
	argv := func(n int) []string {
		a := []string{truePath}
		arg := strings.Repeat("x", 4095)
		for range n {
			a = append(a, arg)
		}
		return a
	}
	native := func(n int) bool {
		a := argv(n)
		pid, err := syscall.ForkExec(a[0], a, &syscall.ProcAttr{Env: env})
		if err != nil {
			if !errors.Is(err, unix.E2BIG) {
				t.Fatal(err)
			}
			return false
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
		return true
	}
	lo, hi := 1, 4096 // native(lo) holds, native(hi) does not
	if !native(lo) || native(hi) {
		t.Skip("cannot bracket ARG_MAX here")
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; native(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	for _, full := range []bool{false, true} {
		opt := Options{Env: env}
		if !full {
			opt.Policy = testPolicy()
		}
		res, err := Run(context.Background(), argv(lo), opt)
		if err != nil || res.Exit.Code != 0 {
			t.Errorf("full=%v: %d arguments of 4 KiB run natively but not traced: %v %+v", full, lo, err, res)
		}
	}
	// One more is too many, natively and traced: a shell's 126.
	res, err := Run(context.Background(), argv(hi), Options{Env: env, Policy: testPolicy(), Stderr: devNull(t)})
	if err != nil || res.Exit.Code != 126 {
		t.Errorf("%d arguments: %v %+v, want status 126 (E2BIG)", hi, err, res)
	}
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestInheritedSignalState checks sigstate in a real gvcheck-like binary
// (go test strips its binaries' symbol tables, which sigstate reads): the
// program traced by a process started with signals ignored and blocked
// starts with them ignored and blocked, as natively.
func TestInheritedSignalState(t *testing.T) {
	testenv.NeedRoot(t)
	py := testenv.NeedTool(t, "python3")
	gocmd := testenv.NeedTool(t, "go")
	tracer := build(t, "tracer", func(out string) *exec.Cmd {
		return exec.Command(gocmd, "build", "-o", out, "./testdata/tracer")
	})
	prog := `
import os, signal, subprocess, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, 45})
for s in (signal.SIGQUIT, signal.SIGPIPE, signal.SIGTERM, signal.SIGUSR2, signal.SIGCHLD, signal.SIGHUP, 40):
    signal.signal(s, signal.SIG_IGN)
cmd = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]
for argv in (cmd, [sys.argv[1]] + cmd, [sys.argv[1], "-full"] + cmd):
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, restore_signals=False, check=True).stdout
    print(" ".join(out.decode().split()))
`
	out, err := exec.Command(py, "-c", prog, tracer).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != lines[1] || lines[0] != lines[2] {
		t.Errorf("native, fast and full signal state differ:\n%s", out)
	}
	// SigBlk first: INT, TERM, USR1 and 45 blocked; then SigIgn with at
	// least HUP, QUIT, USR2, PIPE, TERM, CHLD and 40 ignored.
	var blk, ign uint64
	if _, err := fmt.Sscanf(lines[0], "SigBlk: %x SigIgn: %x", &blk, &ign); err != nil {
		t.Fatalf("%q: %v", lines[0], err)
	}
	if blk != 0x100000004202 || ign&0x8000015805 != 0x8000015805 {
		t.Errorf("native state %q is not what the test set", lines[0])
	}
}

func untracedVictim(t *testing.T) string {
	cc := testenv.NeedTool(t, "cc")
	return build(t, "untraced", func(out string) *exec.Cmd {
		return exec.Command(cc, "-O1", "-o", out, "testdata/victims/untraced.c")
	})
}

// TestUntracedChildren: children made with CLONE_UNTRACED (a sanitizer's
// leak checker makes one) run as natively in fast and full mode: they used
// to get ENOSYS for every call the filter sent to a tracer they did not
// have (their exec, in full mode their exit).
func TestUntracedChildren(t *testing.T) {
	testenv.NeedRoot(t)
	victim := untracedVictim(t)
	for _, full := range []bool{false, true} {
		var out bytes.Buffer
		w, wait := pipeTo(t, &out)
		opt := Options{Stdout: w}
		if !full {
			opt.Policy = testPolicy()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := Run(ctx, []string{victim}, opt)
		cancel()
		w.Close()
		wait()
		if err != nil || res.Exit.Code != 0 || out.String() != "clone\nclone3\ndone\n" {
			t.Errorf("full=%v: %v %+v, output %q", full, err, res, out.String())
		}
	}
}

// TestKilledTracerKillsUntracedChild: a CLONE_UNTRACED child dies with its
// tracer like every other task of the run.
func TestKilledTracerKillsUntracedChild(t *testing.T) {
	testenv.NeedRoot(t)
	victim := untracedVictim(t)
	pidfile := filepath.Join(t.TempDir(), "pid")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(self)
	helper.Env = append(os.Environ(), "GVCHECK_TRACE_TEST_TRACER="+victim+" hold "+pidfile)
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	for deadline := time.Now().Add(20 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	if pid == 0 {
		t.Fatal("the untraced child did not start")
	}
	if !gone(pid, 5*time.Second) {
		st, _ := procState(pid)
		_ = unix.Kill(pid, unix.SIGKILL)
		t.Errorf("untraced child %d survived its tracer (state %c)", pid, st)
	}
}
