package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// knownWrong lists gvcheck's wrong answers on the CI subset today: program
// -> the checks it gets wrong. A check is a mode ("verify", "probe": its
// works/fails answer disagrees with the label) or a mode's cause
// ("verify cause", "probe cause": it says a failing program fails, but its
// first cause line does not name the mechanism).
//
// It is empty: every answer on the subset is right. A check listed here
// that becomes right fails the test, so the list cannot go stale.
var knownWrong = map[string][]string{}

// The CI subset must stay fast: about ten programs (ci: true in the corpus).
const maxSubset = 14

func TestCorpusIsValid(t *testing.T) {
	entries, err := loadCorpus("corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	works, fails := 0, 0
	mechanisms := map[string]bool{}
	var subset []*Entry
	for _, e := range entries {
		switch e.Label {
		case labelWorks:
			works++
		case labelFails:
			fails++
			mechanisms[e.Mechanism] = true
		default:
			t.Errorf("%s: unlabelled (go run ./bench/accuracy label -write)", e.Name)
		}
		if e.CI {
			subset = append(subset, e)
		}
	}
	// What issue 9 asks of the corpus.
	if len(entries) < 60 || works < 30 || fails < 15 || len(mechanisms) < 8 {
		t.Errorf("corpus has %d programs, %d working, %d failing by %d mechanisms; want at least 60, 30, 15 and 8",
			len(entries), works, fails, len(mechanisms))
	}
	if len(subset) == 0 || len(subset) > maxSubset {
		t.Errorf("CI subset has %d programs, want 1..%d", len(subset), maxSubset)
	}
	for name := range knownWrong {
		if !slices.ContainsFunc(subset, func(e *Entry) bool { return e.Name == name }) {
			t.Errorf("knownWrong names %s, which is not in the CI subset", name)
		}
	}

	// install.sh installs every package of the corpus, and .ci/install
	// those of the subset (the subset runs in go test ./...).
	install := shellList(t, "install.sh", "packages")
	ci := shellList(t, "../../.ci/install", "packages")
	for _, e := range entries {
		if !slices.Contains(install, e.Package) {
			t.Errorf("%s: package %s is not in install.sh", e.Name, e.Package)
		}
		if e.CI && !slices.Contains(ci, e.Package) {
			t.Errorf("%s (CI subset): package %s is not in .ci/install", e.Name, e.Package)
		}
	}
}

// TestHoldoutIsValid checks the holdout corpus: programs tried after the
// rules and verdicts were written, as a new user would, scored apart so
// that they stay a test of what the tool was not tuned on.
func TestHoldoutIsValid(t *testing.T) {
	holdout, err := loadCorpus("holdout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := loadCorpus("corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	install := shellList(t, "install.sh", "packages")
	for _, e := range holdout {
		if e.Label != labelWorks && e.Label != labelFails {
			t.Errorf("%s: unlabelled (go run ./bench/accuracy label -corpus bench/accuracy/holdout.yaml -write)", e.Name)
		}
		if e.Label == labelFails && (e.Mechanism == "" || e.Cause == "") {
			t.Errorf("%s: fails without a mechanism and a cause pattern", e.Name)
		}
		if e.CI {
			t.Errorf("%s: the holdout is not part of the CI subset", e.Name)
		}
		if slices.ContainsFunc(corpus, func(c *Entry) bool { return c.Name == e.Name }) {
			t.Errorf("%s is in both corpora", e.Name)
		}
		if !slices.Contains(install, e.Package) {
			t.Errorf("%s: package %s is not in install.sh", e.Name, e.Package)
		}
	}
}

// shellList reads the words of a bash array assignment NAME=( ... ).
func shellList(t *testing.T, path, name string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\n` + name + `=\((.*?)\)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no %s=( ... ) list", path, name)
	}
	return strings.Fields(string(m[1]))
}

// TestSubset runs the CI subset with real runsc: each program's native
// and gVisor runs must still give its committed label (so the corpus does
// not rot), and gvcheck's verify and probe answers are compared with the
// labels, today's wrong answers excepted (knownWrong).
func TestSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real programs natively and under runsc")
	}
	runsc, err := exec.LookPath("runsc")
	if err != nil {
		t.Fatal("runsc is not on PATH: bash .ci/install installs it")
	}
	entries, err := loadCorpus("corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := t.TempDir()
	gv := filepath.Join(base, "gvcheck")
	if err := buildGvcheck(ctx, root, gv); err != nil {
		t.Fatal(err)
	}
	s := &scorer{gvcheck: gv, base: base}
	for _, e := range entries {
		if !e.CI {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			r, why, err := runEntry(ctx, e, false, runsc, base)
			if err != nil {
				t.Fatal(err)
			}
			if why != "" {
				t.Fatalf("fails natively (is package %s installed? bash .ci/install): %s\nstdout: %s\nstderr: %s", e.Package, why, r.stdout, r.stderr)
			}
			r, why, err = runEntry(ctx, e, true, runsc, base)
			if err != nil {
				t.Fatal(err)
			}
			measured := labelWorks
			if why != "" {
				measured = labelFails
			}
			if measured != e.Label {
				t.Errorf("under runsc it %s (%s), but its label is %s: relabel it (go run ./bench/accuracy label -only %s)\nstdout: %s\nstderr: %s",
					measured, orDash(why), e.Label, e.Name, r.stdout, r.stderr)
			}

			var wrong []string
			for _, mode := range []string{"verify", "probe"} {
				p := s.runMode(ctx, e, mode)
				t.Logf("%s: %s (exit %d, verdict %s) cause %q %s", mode, p.Predict, p.Exit, orDash(p.Verdict), p.Cause, p.Error)
				if !p.Right {
					wrong = append(wrong, mode)
				} else if e.Label == labelFails && !p.CauseRight {
					wrong = append(wrong, mode+" cause")
				}
			}
			known := knownWrong[e.Name]
			for _, w := range wrong {
				if !slices.Contains(known, w) {
					t.Errorf("gvcheck %s is wrong (label %s, mechanism %s, cause regex %q)", w, e.Label, orDash(e.Mechanism), e.Cause)
				}
			}
			for _, k := range known {
				if !slices.Contains(wrong, k) {
					t.Errorf("gvcheck %s is right now: delete it from knownWrong[%q]", k, e.Name)
				}
			}
		})
	}
}
