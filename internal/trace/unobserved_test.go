//go:build linux

package trace

import (
	"bytes"
	"context"
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

// errnoPolicy only allows and fails calls, as probe's experiments and
// --simulate do: such a run is not traced.
func errnoPolicy() *policy.Policy {
	p := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow}
	if n, ok := sysno.Number(sysno.Host(), "kexec_load"); ok {
		p.Rules = append(p.Rules, policy.Rule{Nr: n, Action: policy.Errno, Errno: unix.ENOSYS})
	}
	return p
}

// TestUnobservedRunsTracers: programs that trace, and a sanitizer whose
// leak checker attaches to its own threads, work in an unobserved run as
// natively (under any ptrace-based observer they cannot attach).
func TestUnobservedRunsTracers(t *testing.T) {
	testenv.NeedRoot(t)
	cc := testenv.NeedTool(t, "cc")
	strace := testenv.NeedTool(t, "strace")
	dir := t.TempDir()
	asan := filepath.Join(dir, "asan")
	src := filepath.Join(dir, "hello.c")
	if err := os.WriteFile(src, []byte("#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmds := [][]string{{strace, "-f", "-o", "/dev/null", "/bin/true"}}
	if out, err := exec.Command(cc, "-fsanitize=address", "-o", asan, src).CombinedOutput(); err == nil {
		cmds = append(cmds, []string{asan})
	} else {
		t.Logf("no AddressSanitizer runtime here (%v: %s); strace only", err, out)
	}
	for _, argv := range cmds {
		var out bytes.Buffer
		w, wait := pipeTo(t, &out)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res, err := Run(ctx, argv, Options{Policy: errnoPolicy(), Stdout: w, Stderr: w})
		cancel()
		w.Close()
		wait()
		if err != nil || res.Exit.Code != 0 {
			t.Errorf("%s: %v %+v\n%s", argv[0], err, res, out.String())
		}
	}
}

// TestUnobservedRunLastsForTheTree: an unobserved run, like a traced one,
// lasts until the last descendant has gone, and its errno rules apply.
func TestUnobservedRunLastsForTheTree(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	var out bytes.Buffer
	w, wait := pipeTo(t, &out)
	start := time.Now()
	res, err := Run(context.Background(), []string{sh, "-c", "(sleep 0.3; echo late) & exit 3"}, Options{Policy: errnoPolicy(), Stdout: w})
	w.Close()
	wait()
	if err != nil || res.Exit.Code != 3 || out.String() != "late\n" || time.Since(start) < 300*time.Millisecond {
		t.Errorf("%v %+v %q after %v", err, res, out.String(), time.Since(start))
	}
}

// TestUnobservedCancelAndDeath: cancelling an unobserved run kills its whole
// tree, a daemon that left its process group and parent included; so does
// the death of gvcheck itself, by SIGKILL.
func TestUnobservedCancelAndDeath(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	setsid := testenv.NeedTool(t, "setsid")
	for _, killTracer := range []bool{false, true} {
		pidfile := filepath.Join(t.TempDir(), "pids")
		script := filepath.Join(t.TempDir(), "victim.sh")
		body := "(" + setsid + " " + sh + " -c 'echo $$ >> " + pidfile + "; exec sleep 100' &) ; sleep 100 & echo $! >> " + pidfile + "; echo $$ >> " + pidfile + "; wait\n"
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		var stop func()
		if killTracer {
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			helper := exec.Command(self)
			helper.Env = append(os.Environ(), "GVCHECK_TRACE_TEST_TRACER="+sh+" "+script, "GVCHECK_TRACE_TEST_UNOBSERVED=1")
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			stop = func() { _ = helper.Process.Kill(); _ = helper.Wait() }
		} else {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := Run(ctx, []string{sh, script}, Options{Policy: errnoPolicy()})
				done <- err
			}()
			stop = func() {
				cancel()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Error("Run did not return after cancel")
				}
			}
		}
		var pids []int
		for deadline := time.Now().Add(20 * time.Second); len(pids) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			pids = pids[:0]
			b, _ := os.ReadFile(pidfile)
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil {
					pids = append(pids, n)
				}
			}
		}
		stop()
		if len(pids) < 3 {
			t.Fatalf("kill tracer=%v: the victim did not start (%v)", killTracer, pids)
		}
		for _, pid := range pids {
			if !gone(pid, 5*time.Second) {
				st, _ := procState(pid)
				_ = unix.Kill(pid, unix.SIGKILL)
				t.Errorf("kill tracer=%v: process %d survived (state %c)", killTracer, pid, st)
			}
		}
	}
}
