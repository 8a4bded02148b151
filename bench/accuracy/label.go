package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
)

// labelResult is what the labelling runs of one entry showed.
type labelResult struct {
	Name      string       `json:"name"`
	Committed string       `json:"committed,omitempty"`
	Measured  string       `json:"measured,omitempty"` // works, fails, or "" when undecided
	Status    string       `json:"status"`             // ok, disagrees, flaky, native-fails, unlabelled, error
	Native    []runSummary `json:"native"`
	Runsc     []runSummary `json:"runsc"`
}

type runSummary struct {
	Pass    bool    `json:"pass"`
	Why     string  `json:"why,omitempty"`
	Exit    int     `json:"exit"`
	Seconds float64 `json:"seconds"`
}

func summarize(r *runResult, why string) runSummary {
	return runSummary{Pass: why == "", Why: why, Exit: r.exit, Seconds: r.dur.Seconds()}
}

// labelEntry runs the entry repeat times natively and under runsc, one
// after the other, and decides its label: every native run must pass, and
// the runsc runs must agree with each other.
func labelEntry(ctx context.Context, e *Entry, repeat int, runsc, base string) (*labelResult, error) {
	lr := &labelResult{Name: e.Name, Committed: e.Label}
	for i := 0; i < repeat; i++ {
		for _, sandbox := range []bool{false, true} {
			r, why, err := runEntry(ctx, e, sandbox, runsc, base)
			if err != nil {
				return nil, err
			}
			if sandbox {
				lr.Runsc = append(lr.Runsc, summarize(r, why))
			} else {
				lr.Native = append(lr.Native, summarize(r, why))
			}
		}
	}
	lr.decide()
	return lr, nil
}

func (lr *labelResult) decide() {
	for _, n := range lr.Native {
		if !n.Pass {
			lr.Status = "native-fails"
			return
		}
	}
	pass := 0
	for _, r := range lr.Runsc {
		if r.Pass {
			pass++
		}
	}
	switch pass {
	case len(lr.Runsc):
		lr.Measured = labelWorks
	case 0:
		lr.Measured = labelFails
	default:
		lr.Status = "flaky"
		return
	}
	switch lr.Committed {
	case "":
		lr.Status = "unlabelled"
	case lr.Measured:
		lr.Status = "ok"
	default:
		lr.Status = "disagrees"
	}
}

// why is the first reason a run failed, for the table.
func (lr *labelResult) why() string {
	for _, set := range [][]runSummary{lr.Native, lr.Runsc} {
		for _, r := range set {
			if !r.Pass {
				return r.Why
			}
		}
	}
	return ""
}

func passCount(rs []runSummary) string {
	n := 0
	for _, r := range rs {
		if r.Pass {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(rs))
}

// cmdLabel labels the selected entries and reports every entry whose
// measured label is not its committed one; -write records the measured
// labels in the corpus file.
func cmdLabel(ctx context.Context, o *options, entries []*Entry) error {
	base, err := os.MkdirTemp("", "gvcheck-accuracy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	results := make([]*labelResult, len(entries))
	var firstErr error
	var mu sync.Mutex
	forEach(len(entries), o.parallel, func(i int) {
		lr, err := labelEntry(ctx, entries[i], o.repeat, o.runsc, base)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		results[i] = lr
		fmt.Fprintf(os.Stderr, "label %-28s native %s runsc %s  %s\n", lr.Name, passCount(lr.Native), passCount(lr.Runsc), lr.Status)
	})
	if firstErr != nil {
		return firstErr
	}
	printLabels(os.Stdout, results)
	if err := writeJSON(o.out, "labels.json", results); err != nil {
		return err
	}
	if o.write {
		if err := writeLabels(o.corpus, results); err != nil {
			return err
		}
	}
	bad := 0
	for _, lr := range results {
		if lr.Status != "ok" {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d entries are not ok (disagreeing, flaky, failing natively or unlabelled)", bad, len(results))
	}
	return nil
}

func printLabels(w io.Writer, results []*labelResult) {
	fmt.Fprintln(w, "| program | native | runsc | measured | committed | status | first failing check |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, lr := range results {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", lr.Name, passCount(lr.Native), passCount(lr.Runsc),
			orDash(lr.Measured), orDash(lr.Committed), lr.Status, mdEscape(lr.why()))
	}
}

// writeLabels sets the label line of each consistently measured entry in
// the corpus file, editing the text so that comments and layout stay.
func writeLabels(path string, results []*labelResult) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	for _, lr := range results {
		if lr.Measured == "" || lr.Measured == lr.Committed {
			continue
		}
		lines, err = setLabel(lines, lr.Name, lr.Measured)
		if err != nil {
			return err
		}
		if lr.Measured == labelFails {
			fmt.Fprintf(os.Stderr, "%s: now labelled fails; check that it has the right mechanism and cause\n", lr.Name)
		}
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

var entryStart = regexp.MustCompile(`^- name: *(\S+)`)

func setLabel(lines []string, name, label string) ([]string, error) {
	start, end := -1, len(lines)
	for i, l := range lines {
		m := entryStart.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if start >= 0 {
			end = i
			break
		}
		if m[1] == name {
			start = i
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("entry %s not found in the corpus file", name)
	}
	// A working program has no mechanism or cause: drop them.
	block := make([]string, 0, end-start+1)
	for _, l := range lines[start:end] {
		if label == labelWorks && (strings.HasPrefix(l, "  mechanism:") || strings.HasPrefix(l, "  cause:")) {
			continue
		}
		block = append(block, l)
	}
	last, found := 0, false
	for i, l := range block {
		if strings.HasPrefix(l, "  label:") {
			block[i], found = "  label: "+label, true
			break
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			last = i
		}
	}
	if !found {
		block = append(block[:last+1], append([]string{"  label: " + label}, block[last+1:]...)...)
	}
	out := append([]string{}, lines[:start]...)
	out = append(out, block...)
	return append(out, lines[end:]...), nil
}
