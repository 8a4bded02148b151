package probe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestAgreesWithRunsc checks the probe against reality: for each program,
// the probe's verdict against the installed runsc's own table must say
// "works" exactly when the program, run under that runsc, ends as it does
// natively.
func TestAgreesWithRunsc(t *testing.T) {
	runsc := testenv.NeedRunsc(t)
	ctx := context.Background()
	tb, err := compat.InstalledTable(ctx, runsc, sysno.Host())
	if err != nil {
		t.Fatal(err)
	}
	set, _ := rules.For(compat.Latest().ID, sysno.Host())
	fivecalls := prog(t, "fivecalls")
	programs := []struct {
		name string
		argv []string
	}{
		{"clone3 with fallback", []string{prog(t, "clone3fb")}},
		{"needs 2 of 5 missing", []string{fivecalls, "vmsplice", "fspick"}},
		{"needs 1 of 5 missing", []string{fivecalls, "setfsgid"}},
		{"tolerates 5 missing", []string{fivecalls}},
		{"needs kcmp (CapError)", []string{prog(t, "kcmp")}},
		{"needs a /proc file", []string{prog(t, "procsched")}},
		{"degraded by a socket family", []string{prog(t, "netfilter")}},
		{"shell", []string{"/bin/sh", "-c", "echo hello; ls / >/dev/null"}},
	}
	gv := &gvisor.Runner{Runsc: runsc, Timeout: 60 * time.Second}
	for _, p := range programs {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			cfg := Config{Argv: p.argv}
			cfg.SetTarget(tb, set, nil, nil, nil)
			res := run(t, cfg, "")
			real, err := gv.Run(ctx, gvisor.RunOptions{Argv: p.argv})
			if err != nil {
				t.Fatalf("runsc: %v", err)
			}
			truth := outcome.Compare(res.Reference.Run, outcome.Run{Exit: real.Exit, Stdout: real.Stdout, Stderr: real.Stderr},
				outcome.Options{Errnos: []string{"ENOSYS", "EPERM", "ENOENT", "EPROTONOSUPPORT", "EAFNOSUPPORT"}})
			t.Logf("%s: probe %s (%d runs), runsc %s", filepath.Base(p.argv[0]), res.Outcome.Verdict, res.Runs, truth.Verdict)
			if res.Works() != truth.Verdict.OK() {
				t.Errorf("probe says %s but under runsc it %s (%s); stderr %q", res.Outcome.Verdict, truth.Verdict, truth.Summary(), real.Stderr)
			}
		})
	}
}
