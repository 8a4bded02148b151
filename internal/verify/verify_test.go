//go:build linux

package verify

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

func TestMain(m *testing.M) { testenv.Main(m, policy.ShimMain) }

func runner(t *testing.T) *gvisor.Runner {
	t.Helper()
	return &gvisor.Runner{Runsc: testenv.NeedRunsc(t), Timeout: 60 * time.Second}
}

// TestEveryCallPairs: the same program traced natively and under runsc
// --strace gives the same key and path for each call with one, decoded by
// one decoder (package sysargs) on both sides.
func TestEveryCallPairs(t *testing.T) {
	r := runner(t)
	prog := testenv.BuildC(t, filepath.Join("testdata", "keys.c"))
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
	nmap := testenv.NeedTool(t, "nmap")
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
