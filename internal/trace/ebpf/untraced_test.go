//go:build linux && amd64

package ebpf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// outcome is what a program shows of a run: its output, with process ids
// and addresses (which differ from run to run) masked, and its exit.
type outcome struct {
	stdout, stderr string
	code           int
}

var volatile = regexp.MustCompile(`==[0-9]+==|0x[0-9a-f]+`)

func mask(b []byte) string { return volatile.ReplaceAllString(string(b), "N") }

func native(t *testing.T, argv []string) outcome {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return outcome{mask(out.Bytes()), mask(errb.Bytes()), cmd.ProcessState.ExitCode()}
}

func underEBPF(t *testing.T, argv []string) (outcome, *trace.Result) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(dir + "/out")
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(dir + "/err")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	defer errf.Close()
	res, err := Run(context.Background(), argv, trace.Options{Stdout: out, Stderr: errf})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(dir + "/out")
	e, _ := os.ReadFile(dir + "/err")
	return outcome{mask(o), mask(e), res.Exit.Code}, res
}

// TestUntracedBehaviour runs programs that behave differently under a
// ptrace tracer: a tracer (strace, which cannot trace what is already
// traced) and AddressSanitizer (whose LeakSanitizer stops threads with
// ptrace). Under the eBPF backend they must do exactly what they do
// natively.
func TestUntracedBehaviour(t *testing.T) {
	testenv.NeedRoot(t)
	asan := buildVictim(t, "asan", "-fsanitize=address", "-g")
	cases := map[string][]string{
		"asan":      {asan},
		"asan-leak": {asan, "leak"},
	}
	if s, err := exec.LookPath("strace"); err == nil {
		cases["strace"] = []string{s, "-f", "-o", os.DevNull, "true"}
	} else {
		t.Error("strace is not installed (.ci/install installs it)")
	}
	for name, argv := range cases {
		t.Run(name, func(t *testing.T) {
			want := native(t, argv)
			if name == "asan-leak" && (want.code == 0 || !strings.Contains(want.stderr, "LeakSanitizer: detected memory leaks")) {
				t.Fatalf("natively, LeakSanitizer reported no leak: %+v", want)
			}
			got, res := underEBPF(t, argv)
			if got != want {
				t.Errorf("under ebpf:\n%+v\nnatively:\n%+v", got, want)
			}
			if res.Profile.Syscalls["execve"] == nil || res.Profile.Syscalls["exit_group"] == nil {
				t.Errorf("the inventory lacks execve or exit_group: %v", res.Profile.Names())
			}
		})
	}
}

// TestRunCancel: cancelling Run kills the whole traced tree, including a
// process that left its parent's process group.
func TestRunCancel(t *testing.T) {
	testenv.NeedRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := Run(ctx, []string{"sh", "-c", "setsid sleep 30 & echo $! > " + pidFile + "; sleep 30"}, trace.Options{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if res == nil || res.Profile.Syscalls["execve"] == nil {
		t.Errorf("no profile of the cancelled run: %+v", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for i := 0; ; i++ {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		if i > 100 {
			t.Fatalf("the detached sleep %d survived the cancellation", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
