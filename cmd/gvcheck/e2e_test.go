package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// The tests in this file run a gvcheck binary built with go build, as a
// user's is: go test strips the symbol table of its own binaries, and
// gvcheck reads the Go runtime's record of the signal state it started
// with from there (see internal/sigstate).
var gvcheckBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func gvcheck(t *testing.T) string {
	t.Helper()
	gvcheckBin.once.Do(func() {
		gvcheckBin.dir, gvcheckBin.err = os.MkdirTemp("", "gvcheck-e2e")
		if gvcheckBin.err != nil {
			return
		}
		gvcheckBin.path = filepath.Join(gvcheckBin.dir, "gvcheck")
		out, err := exec.Command("go", "build", "-o", gvcheckBin.path, ".").CombinedOutput()
		if err != nil {
			gvcheckBin.err = &buildError{err, string(out)}
		}
	})
	if gvcheckBin.err != nil {
		t.Fatal(gvcheckBin.err)
	}
	return gvcheckBin.path
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// TestIgnoredSignalsInherited: a SIGPIPE ignored by the shell stays ignored
// in the traced program (yes then gets EPIPE and exits 1 instead of dying of
// SIGPIPE), and a blocked mask passes through, as natively.
func TestIgnoredSignalsInherited(t *testing.T) {
	testenv.NeedRoot(t)
	g := gvcheck(t)
	bash := testenv.NeedTool(t, "bash")
	for _, mode := range [][]string{nil, {"run", "-o", "/dev/null", "--"}, {"run", "--full", "-o", "/dev/null", "--"}} {
		pre := ""
		if mode != nil {
			pre = g + " " + strings.Join(mode, " ") + " "
		}
		out, err := exec.Command(bash, "-c", "trap '' PIPE QUIT TERM; "+pre+"yes 2>/dev/null | head -1 >/dev/null; echo ${PIPESTATUS[*]}; "+
			pre+"grep ^SigIgn /proc/self/status").CombinedOutput()
		got := strings.Fields(string(out))
		if err != nil || len(got) != 4 || got[0] != "1" || got[1] != "0" {
			t.Errorf("%q: %v: %q; want yes to exit 1 (EPIPE), as untraced", mode, err, out)
			continue
		}
		// QUIT, PIPE and TERM ignored: signal n is bit n-1.
		ign, err := strconv.ParseUint(got[3], 16, 64)
		if want := uint64(1<<2 | 1<<12 | 1<<14); err != nil || ign&want != want {
			t.Errorf("%q: program's SigIgn %s lacks what the shell ignored", mode, got[3])
		}
	}
}

// TestDeathBySignalPassedOn: when the program dies of a signal, gvcheck dies
// of it too (a shell then stops a script on Ctrl-C and prints "Quit"), as
// strace does, without a core dump of its own.
func TestDeathBySignalPassedOn(t *testing.T) {
	testenv.NeedRoot(t)
	g := gvcheck(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGSEGV, syscall.SIGKILL} {
		for _, full := range []bool{false, true} {
			args := []string{"run", "-o", "/dev/null"}
			if full {
				args = append(args, "--full")
			}
			args = append(args, "--", "sh", "-c", "kill -"+strings.TrimPrefix(unix.SignalName(sig), "SIG")+" $$")
			cmd := exec.Command(g, args...)
			cmd.Dir = t.TempDir()
			_ = cmd.Run()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("%v full=%v: gvcheck ended %v, want killed by the same signal", sig, full, cmd.ProcessState)
				continue
			}
			if ws.CoreDump() {
				t.Errorf("%v full=%v: gvcheck dumped core", sig, full)
			}
		}
	}
	// A plain exit status stays a plain exit status.
	cmd := exec.Command(g, "run", "-o", "/dev/null", "--", "sh", "-c", "exit 130")
	_ = cmd.Run()
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Exited() || ws.ExitStatus() != 130 {
		t.Errorf("exit 130: gvcheck ended %v", cmd.ProcessState)
	}
}

// TestNestedAndUntrustedText: a gvcheck traced by another says why it
// cannot trace (not "run as root"), and what programs and inputs named
// reaches the terminal escaped.
func TestNestedAndUntrustedText(t *testing.T) {
	testenv.NeedRoot(t)
	g := gvcheck(t)
	out, _ := exec.Command(g, "run", "--backend", "ptrace", "-o", "/dev/null", "--",
		g, "run", "--backend", "ptrace", "-o", "/dev/null", "--", "true").CombinedOutput()
	if !strings.Contains(string(out), "already traced by process") || strings.Contains(string(out), "as root") ||
		strings.Contains(string(out), "went away") {
		t.Errorf("nested gvcheck said:\n%s", out)
	}
	dir := t.TempDir()
	evil := filepath.Join(dir, "ev\x1b[2Jil\nname.txt")
	if err := os.WriteFile(evil, []byte("read\nkexec_load\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "e\x1b]0;pwned\x07mpty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", evil}, {"check", "-f", "markdown", evil}, {"check", empty},
		{"run", "--backend", "ptrace", "--", "sh", "-c", "exit 0", "x\x1b[31m\u202e"}} {
		out, _ := exec.Command(g, args...).CombinedOutput()
		if strings.ContainsAny(string(out), "\x1b\x07\u202e") {
			t.Errorf("%q: raw control characters in:\n%q", args, out)
		}
		if strings.Contains(string(out), "\nname.txt") {
			t.Errorf("%q: a newline from a file name forged a line:\n%s", args, out)
		}
	}
}
