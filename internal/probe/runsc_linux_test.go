package probe

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// TestAgreesWithRunsc checks the probe against reality: for each program,
// the probe's verdict against the installed runsc's own table must say
// "works" exactly when the program, run under that runsc, ends as it does
// natively.
func TestAgreesWithRunsc(t *testing.T) {
	needRoot(t)
	runsc, err := exec.LookPath("runsc")
	if err != nil {
		if inCI() {
			t.Fatalf("runsc not installed in CI: %v", err)
		}
		t.Skip("runsc is not installed on this machine")
	}
	ctx := context.Background()
	tb, err := compat.InstalledTable(ctx, runsc, sysno.Host())
	if err != nil {
		t.Fatal(err)
	}
	fivecalls := buildC(t, "fivecalls")
	programs := []struct {
		name string
		argv []string
	}{
		{"clone3 with fallback", []string{buildC(t, "clone3fb")}},
		{"needs 2 of 5 missing", []string{fivecalls, "vmsplice", "fspick"}},
		{"needs 1 of 5 missing", []string{fivecalls, "setfsgid"}},
		{"tolerates 5 missing", []string{fivecalls}},
		{"needs kcmp (CapError)", []string{buildC(t, "kcmp")}},
		{"shell", []string{"/bin/sh", "-c", "echo hello; ls / >/dev/null"}},
	}
	gv := &gvisor.Runner{Runsc: runsc, Timeout: 60 * time.Second}
	for _, p := range programs {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			res := probe(t, Config{Argv: p.argv, Table: tb})
			probeWorks := res.Verdict == analyze.Compatible || res.Verdict == analyze.FallbacksVerified
			real, err := gv.Run(ctx, gvisor.RunOptions{Argv: p.argv})
			if err != nil {
				t.Fatalf("runsc: %v", err)
			}
			runscWorks := real.Exit == res.Reference.Exit
			t.Logf("%s: probe %s (%d runs), runsc exit %v, native exit %v", filepath.Base(p.argv[0]), res.Verdict, res.Runs, real.Exit, res.Reference.Exit)
			if probeWorks != runscWorks {
				t.Errorf("probe says %s but under runsc the program exited %v (natively %v); stderr %q",
					res.Verdict, real.Exit, res.Reference.Exit, real.Stderr)
			}
		})
	}
}
