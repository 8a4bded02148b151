//go:build linux

package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/trace"
)

func TestMain(m *testing.M) {
	if policy.ShimMain() {
		return
	}
	os.Exit(m.Run())
}

func inCI() bool { return os.Getenv("CI") == "true" }

func runner(t *testing.T) *gvisor.Runner {
	t.Helper()
	p, err := exec.LookPath("runsc")
	if err != nil {
		if inCI() {
			t.Fatalf("runsc not installed in CI: %v", err)
		}
		t.Skip("runsc is not installed on this machine")
	}
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("CI must run these tests as root")
		}
		t.Skip("runsc and isolated runs need root on this machine")
	}
	return &gvisor.Runner{Runsc: p, Timeout: 60 * time.Second}
}

func buildC(t *testing.T, name string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		if inCI() {
			t.Fatalf("no C compiler in CI: %v", err)
		}
		t.Skip("no C compiler on this machine")
	}
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command(cc, "-O1", "-o", out, filepath.Join("testdata", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", name, err, b)
	}
	return out
}

// TestEveryCallPairs: the same program traced natively and under runsc
// --strace gives the same key and path for each call with one, decoded by
// one decoder (package sysargs) on both sides.
func TestEveryCallPairs(t *testing.T) {
	r := runner(t)
	prog := buildC(t, "keys")
	dir := t.TempDir()
	o, err := launch.Observe(context.Background(), launch.Config{Argv: []string{prog}, Dir: dir, Isolate: true, Network: "none"},
		trace.Options{Full: true, ExactErrors: true}, true)
	if err != nil {
		t.Fatal(err)
	}
	r.Strace = true
	gv, err := r.Run(context.Background(), gvisor.RunOptions{Argv: []string{prog}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	keyed := 0
	for _, n := range o.Calls {
		// The program's own exec is the sandbox's loader under gVisor, not
		// a call of the program.
		if n.Exe != prog || n.Name == "execve" || (n.Key == "" && !interesting(n)) {
			continue
		}
		keyed++
		if !pairs(n, gv.Calls) {
			t.Errorf("native %s(%s %s) has no gVisor counterpart with the same key and path", n.Name, n.Key, n.Path)
		}
	}
	if keyed < 12 {
		t.Errorf("only %d keyed calls seen natively", keyed)
	}
}

// interesting are the program's own path calls (not the loader's).
func interesting(c profile.Call) bool {
	_, ok := sysargs.PathArgOf(c.Name)
	return ok && c.Path != "" && !strings.HasPrefix(c.Path, "/etc/") && !strings.HasPrefix(c.Path, "/lib") && !strings.HasPrefix(c.Path, "/usr/lib")
}

func pairs(n profile.Call, gv []profile.Call) bool {
	for _, g := range gv {
		if g.Name == n.Name && g.Key == n.Key && (n.Path == "" || g.Path == n.Path || strings.HasSuffix(n.Path, "/"+g.Path)) {
			return true
		}
	}
	return false
}

// TestSameCauseEveryTime: verify repeated gives the same verdict and cause.
func TestSameCauseEveryTime(t *testing.T) {
	r := runner(t)
	nmap, err := exec.LookPath("nmap")
	if err != nil {
		if inCI() {
			t.Fatal("nmap not installed in CI")
		}
		t.Skip("nmap is not installed on this machine")
	}
	var first *Result
	for i := range 3 {
		res, err := Verify(context.Background(), Config{Argv: []string{nmap, "-sT", "-p", "22", "localhost"}, Runner: r, Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %s; cause %q", i+1, res.Outcome.Verdict, res.Cause)
		if first == nil {
			first = res
			continue
		}
		if res.Outcome.Verdict != first.Outcome.Verdict || res.Cause != first.Cause {
			t.Errorf("run %d: %s, %q; first %s, %q", i+1, res.Outcome.Verdict, res.Cause, first.Outcome.Verdict, first.Cause)
		}
	}
	if first.Works() || first.Cause == "" {
		t.Errorf("nmap under runsc --network=none: %s, cause %q; want a failure with a cause", first.Outcome.Verdict, first.Cause)
	}
}
