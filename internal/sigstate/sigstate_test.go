package sigstate

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestSet(t *testing.T) {
	var s Set
	s = s.Add(syscall.SIGHUP).Add(syscall.SIGPIPE).Add(64).Add(0).Add(65)
	if uint64(s) != 1|1<<12|1<<63 {
		t.Errorf("set %#x", uint64(s))
	}
	if !s.Has(syscall.SIGPIPE) || s.Has(syscall.SIGINT) || s.Has(0) || s.Has(65) {
		t.Error("Has")
	}
}

// TestInherited builds a program as gvcheck is built and starts it with
// signals ignored and blocked: it recovers exactly those, which its Go
// runtime has replaced by the time its main runs; stripped of its symbol
// table it knows only an ignored SIGHUP or SIGINT, and says so.
func TestInherited(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "no go command")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not installed (.ci/install installs it)")
	}
	dir := t.TempDir()
	for _, b := range []struct{ name, ldflags string }{{"full", ""}, {"stripped", "-s"}} {
		out, err := exec.Command(gocmd, "build", "-ldflags="+b.ldflags, "-o", filepath.Join(dir, b.name), "./testdata/print").CombinedOutput()
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	prog := `
import os, signal, subprocess, sys
signal.pthread_sigmask(signal.SIG_SETMASK, {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, 45})
for s in range(1, 65):
    if s not in (signal.SIGKILL, signal.SIGSTOP, 32, 33):
        signal.signal(s, signal.SIG_DFL)
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGTERM, signal.SIGCHLD, 40):
    signal.signal(s, signal.SIG_IGN)
for b in sys.argv[1:]:
    sys.stdout.write(subprocess.run([b], stdout=subprocess.PIPE, restore_signals=False, check=True).stdout.decode())
`
	out, err := exec.Command(py, "-c", prog, filepath.Join(dir, "full"), filepath.Join(dir, "stripped")).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// INT, QUIT, PIPE, TERM, CHLD, 40 ignored; INT, USR1, TERM, 45 blocked.
	const ign, blk = "000000800001500" + "6", "0000100000004202"
	want := []string{ign + " " + blk + " true", "0000000000000002 0000000000000000 false"}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
}
