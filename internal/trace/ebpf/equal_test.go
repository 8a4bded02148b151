//go:build linux && amd64

package ebpf

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// buildVictim compiles testdata/NAME.c with the system's C compiler.
func buildVictim(t *testing.T, name string, flags ...string) string {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		testenv.Missing(t, "no C compiler (.ci/install installs gcc)")
	}
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"-O1", "-Wall", "-o", out, filepath.Join("testdata", name+".c")}, flags...)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

// evidence is what a profile says, as sets that both backends must agree
// on, and counts.
func evidence(p *profile.Profile) map[string]string {
	e := map[string]string{}
	for name, s := range p.Syscalls {
		if name == "futex" {
			// pthread_join waits on a futex only when the thread has not
			// ended yet: a matter of timing, which a loaded machine shifts.
			continue
		}
		e["syscall "+name] = fmt.Sprintf("count %d errors %v exes %v", s.Count, s.Errors, s.Exes)
		for key, a := range s.Args {
			e["arg "+name+"("+key+")"] = fmt.Sprintf("values %v count %d errors %v", a.Values, a.Count, a.Errors)
		}
	}
	for path, u := range p.Paths {
		e["path "+path] = fmt.Sprintf("syscalls %v count %d errors %v", u.Syscalls, u.Count, u.Errors)
	}
	return e
}

func TestBackendsAgree(t *testing.T) {
	t.Run("counts", func(t *testing.T) { backendsAgree(t) })
	// Without counts rows (as for executables beyond them), plain calls go
	// through the calls hash.
	t.Run("hash", func(t *testing.T) {
		mapLimits.noRows = true
		defer func() { mapLimits.noRows = false }()
		backendsAgree(t)
	})
}

func backendsAgree(t *testing.T) {
	testenv.NeedRoot(t)
	victim := buildVictim(t, "victim", "-pthread")
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	opt := trace.Options{Stdin: devNull, Stdout: devNull, Stderr: devNull, Dir: t.TempDir()}
	argv := []string{victim}

	ours, err := Run(context.Background(), argv, opt)
	if err != nil {
		t.Fatal(err)
	}
	popt := opt
	popt.ExactErrors = true // every result, as the eBPF backend records them
	theirs, err := trace.Run(context.Background(), argv, popt)
	if err != nil {
		t.Fatal(err)
	}
	if ours.Exit != theirs.Exit {
		t.Errorf("exit: ebpf %+v, ptrace %+v", ours.Exit, theirs.Exit)
	}
	a, b := evidence(ours.Profile), evidence(theirs.Profile)
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	var diffs []string
	for _, k := range keys {
		if a[k] != b[k] {
			diffs = append(diffs, fmt.Sprintf("%s:\n\tebpf:   %s\n\tptrace: %s", k, orNone(a[k]), orNone(b[k])))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("the backends disagree on %d of %d items:\n%s", len(diffs), len(keys), strings.Join(diffs, "\n"))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
