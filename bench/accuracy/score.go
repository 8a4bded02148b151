package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// The modes scored, in table order.
var allModes = []string{"check", "run", "run-probe", "probe", "verify"}

var modeTitle = map[string]string{
	"check": "check", "run": "run", "run-probe": "run --probe", "probe": "probe", "verify": "verify",
}

// Predictions.
const (
	predWorks       = "works"
	predFails       = "fails"
	predError       = "error" // counted as wrong
	predUnavailable = "n/a"   // the mode does not exist in this gvcheck
)

// prediction is one mode's answer for one program.
type prediction struct {
	Mode       string  `json:"mode"`
	Predict    string  `json:"predict"`
	Right      bool    `json:"right"`
	Exit       int     `json:"exit"`
	Verdict    string  `json:"verdict,omitempty"` // the report's verdict field
	Outcome    string  `json:"outcome,omitempty"` // the report's outcome field, when it has one
	Cause      string  `json:"cause,omitempty"`   // first line of the report's cause
	CauseRight bool    `json:"cause_right"`
	Error      string  `json:"error,omitempty"`
	Seconds    float64 `json:"seconds"`
}

// predict maps the result of one gvcheck mode to a prediction. It is the
// one place that decides how gvcheck's answers are read:
//
//   - probe, verify: the exit status; 0 works, 3 does not work, anything
//     else is an error (counted as wrong).
//   - check, run: the JSON report. Its "outcome" field, when present, wins
//     (works; degraded and fails do not work); otherwise its "verdict":
//     compatible and fallbacks-verified work, at-risk and incompatible do
//     not. run exits with the program's own status, so only a missing or
//     unreadable report is an error; check must exit 0 or 3.
//   - run --probe: read as run; a usage error (exit 2, "unknown flag")
//     means this gvcheck has no such mode.
//
// detail says why a result is an error.
func predict(mode string, exit int, stderr string, report map[string]any) (pred, detail string) {
	if mode == "run-probe" && exit == 2 && strings.Contains(stderr, "unknown flag") {
		return predUnavailable, ""
	}
	switch mode {
	case "probe", "verify":
		switch exit {
		case 0:
			return predWorks, ""
		case 3:
			return predFails, ""
		}
		return predError, fmt.Sprintf("exit %d: %s", exit, lastLine(stderr))
	}
	if mode == "check" && exit != 0 && exit != 3 {
		return predError, fmt.Sprintf("exit %d: %s", exit, lastLine(stderr))
	}
	if report == nil {
		return predError, fmt.Sprintf("no report (exit %d): %s", exit, lastLine(stderr))
	}
	if o, ok := report["outcome"].(string); ok && o != "" {
		switch o {
		case "works":
			return predWorks, ""
		case "degraded", "fails":
			return predFails, ""
		}
		return predError, fmt.Sprintf("unknown outcome %q", o)
	}
	switch v, _ := report["verdict"].(string); v {
	case "compatible", "fallbacks-verified":
		return predWorks, ""
	case "at-risk", "incompatible":
		return predFails, ""
	default:
		return predError, fmt.Sprintf("unknown verdict %q", v)
	}
}

// causeOf is the first line of the report's explanation: its "cause"
// field, else (probe) the syscalls it found required.
func causeOf(report map[string]any) string {
	if report == nil {
		return ""
	}
	var s string
	switch c := report["cause"].(type) {
	case string:
		s = c
	case nil:
	default:
		b, _ := json.Marshal(c)
		s = string(b)
	}
	if s == "" {
		// run: the experiment of its (only) workload.
		if ws, ok := report["workloads"].([]any); ok && len(ws) == 1 {
			if w, ok := ws[0].(map[string]any); ok {
				if e, ok := w["experiment"].(map[string]any); ok {
					s, _ = e["cause"].(string)
				}
			}
		}
	}
	if s == "" {
		if req, ok := report["required"].([]any); ok && len(req) > 0 {
			var parts []string
			for _, r := range req {
				if m, ok := r.(map[string]any); ok {
					parts = append(parts, strings.Join(strings.Fields(fmt.Sprintf("%v %v %v", m["syscall"], orEmpty(m["arg"]), orEmpty(m["errno"]))), " "))
				} else {
					parts = append(parts, fmt.Sprint(r))
				}
			}
			s = "required: " + strings.Join(parts, "; ")
		}
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func orEmpty(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// scorer runs gvcheck's modes on corpus entries.
type scorer struct {
	gvcheck string
	base    string
}

// runMode gets one mode's prediction for the entry, from a fresh
// directory of its own.
func (s *scorer) runMode(ctx context.Context, e *Entry, mode string) (p prediction) {
	p.Mode = mode
	start := time.Now()
	defer func() { p.Seconds = time.Since(start).Seconds() }()
	fail := func(err error) prediction {
		p.Predict, p.Error = predError, err.Error()
		p.Seconds = time.Since(start).Seconds()
		return p
	}
	dir, err := freshDir(e, s.base)
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	// Reports and logs live outside the program's directory.
	rdir, err := os.MkdirTemp(s.base, "report-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(rdir)
	rep := filepath.Join(rdir, "report.json")
	flags := "--runsc-flags=" + strings.Join(e.Runsc, " ")
	timeout := "--timeout=" + e.timeout.String()
	argv := e.argv()
	var cmd []string
	limit := 4*e.timeout + 30*time.Second
	switch mode {
	case "check":
		log := filepath.Join(rdir, "strace.log")
		st := execute(ctx, dir, append([]string{"strace", "-f", "-o", log, "--"}, argv...), e.timeout)
		if st.err != "" {
			return fail(errors.New(st.err))
		}
		cmd = []string{s.gvcheck, "check", "-f", "json", "-o", rep, flags, log}
		limit = 2 * time.Minute
	case "run":
		cmd = append([]string{s.gvcheck, "run", "-f", "json", "-o", rep, flags, "--"}, argv...)
	case "run-probe":
		cmd = append([]string{s.gvcheck, "run", "--probe", "-f", "json", "-o", rep, flags, "--"}, argv...)
		limit = 10*e.timeout + 30*time.Second
	case "probe":
		cmd = append([]string{s.gvcheck, "probe", "-f", "json", "-o", rep, timeout, flags, "--"}, argv...)
		limit = 10*e.timeout + 30*time.Second
	case "verify":
		cmd = append([]string{s.gvcheck, "verify", "-f", "json", "-o", rep, timeout, flags, "--"}, argv...)
	default:
		return fail(fmt.Errorf("unknown mode %q", mode))
	}
	r := execute(ctx, dir, cmd, limit)
	if r.err != "" {
		return fail(errors.New(r.err))
	}
	p.Exit = r.exit
	var report map[string]any
	if data, err := os.ReadFile(rep); err == nil {
		if err := json.Unmarshal(data, &report); err != nil {
			report = nil
		}
	}
	if r.timedOut {
		p.Predict, p.Error = predError, fmt.Sprintf("gvcheck timed out after %s", limit)
		return p
	}
	p.Predict, p.Error = predict(mode, r.exit, r.stderr, report)
	if report != nil {
		p.Verdict, _ = report["verdict"].(string)
		p.Outcome, _ = report["outcome"].(string)
		p.Cause = causeOf(report)
	}
	p.Right = p.Predict == e.Label
	if e.Label == labelFails && p.Predict == predFails && e.cause != nil {
		p.CauseRight = e.cause.MatchString(p.Cause)
	}
	return p
}

// entryScore is the scored predictions of one entry.
type entryScore struct {
	Name        string       `json:"name"`
	Category    string       `json:"category"`
	Label       string       `json:"label"`
	Mechanism   string       `json:"mechanism,omitempty"`
	Predictions []prediction `json:"predictions"`
}

// modeSummary is a mode's score over the corpus.
type modeSummary struct {
	Mode        string  `json:"mode"`
	Programs    int     `json:"programs"`
	Right       int     `json:"right"`
	Accuracy    float64 `json:"accuracy"`
	Failing     int     `json:"failing"`
	Caught      int     `json:"caught"`
	Recall      float64 `json:"recall"`
	Working     int     `json:"working"`
	FalseAlarms int     `json:"false_alarms"`
	CauseRight  int     `json:"cause_right"`
	Errors      int     `json:"errors"`
	Unavailable bool    `json:"unavailable,omitempty"`
	Seconds     float64 `json:"seconds"`
}

type scoreFile struct {
	Date    string        `json:"date"`
	Gvcheck string        `json:"gvcheck"`
	Runsc   string        `json:"runsc"`
	Kernel  string        `json:"kernel"`
	Modes   []string      `json:"modes"`
	Summary []modeSummary `json:"summary"`
	Entries []*entryScore `json:"entries"`
}

func summarizeMode(mode string, scores []*entryScore) modeSummary {
	m := modeSummary{Mode: mode, Unavailable: true}
	for _, s := range scores {
		for _, p := range s.Predictions {
			if p.Mode != mode || p.Predict == predUnavailable {
				continue
			}
			m.Unavailable = false
			m.Programs++
			m.Seconds += p.Seconds
			if p.Right {
				m.Right++
			}
			if p.Predict == predError {
				m.Errors++
			}
			if s.Label == labelFails {
				m.Failing++
				if p.Predict == predFails {
					m.Caught++
				}
				if p.CauseRight {
					m.CauseRight++
				}
			} else {
				m.Working++
				if p.Predict == predFails {
					m.FalseAlarms++
				}
			}
		}
	}
	if m.Programs > 0 {
		m.Accuracy = float64(m.Right) / float64(m.Programs)
	}
	if m.Failing > 0 {
		m.Recall = float64(m.Caught) / float64(m.Failing)
	}
	return m
}

// cmdScore builds (or takes) gvcheck and scores the selected modes on the
// selected labelled entries.
func cmdScore(ctx context.Context, o *options, entries []*Entry) error {
	var labelled []*Entry
	for _, e := range entries {
		if e.Label == "" {
			fmt.Fprintf(os.Stderr, "score: %s has no label, skipped (run label first)\n", e.Name)
			continue
		}
		labelled = append(labelled, e)
	}
	modes, err := parseModes(o.modes)
	if err != nil {
		return err
	}
	base, err := os.MkdirTemp("", "gvcheck-accuracy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	gv := o.gvcheck
	if gv == "" {
		gv = filepath.Join(base, "gvcheck")
		if err := buildGvcheck(ctx, o.root, gv); err != nil {
			return err
		}
	}
	s := &scorer{gvcheck: gv, base: base}
	scores := make([]*entryScore, len(labelled))
	var mu sync.Mutex
	forEach(len(labelled), o.parallel, func(i int) {
		e := labelled[i]
		es := &entryScore{Name: e.Name, Category: e.Category, Label: e.Label, Mechanism: e.Mechanism}
		for _, m := range modes {
			es.Predictions = append(es.Predictions, s.runMode(ctx, e, m))
		}
		mu.Lock()
		scores[i] = es
		var b strings.Builder
		for _, p := range es.Predictions {
			fmt.Fprintf(&b, " %s=%s", p.Mode, p.Predict)
		}
		fmt.Fprintf(os.Stderr, "score %-28s %s:%s\n", e.Name, e.Label, b.String())
		mu.Unlock()
	})
	sf := &scoreFile{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Gvcheck: describeGvcheck(ctx, o.root, o.gvcheck),
		Runsc:   runscVersion(ctx, o.runsc),
		Kernel:  kernelRelease(),
		Modes:   modes,
		Entries: scores,
	}
	for _, m := range modes {
		sf.Summary = append(sf.Summary, summarizeMode(m, scores))
	}
	var md strings.Builder
	printScores(&md, sf)
	fmt.Print(md.String())
	if err := writeJSON(o.out, "score.json", sf); err != nil {
		return err
	}
	if o.out != "" {
		return os.WriteFile(filepath.Join(o.out, "score.md"), []byte(md.String()), 0o644)
	}
	return nil
}

func parseModes(s string) ([]string, error) {
	if s == "" || s == "all" {
		return allModes, nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m == "run--probe" || m == "run_probe" {
			m = "run-probe"
		}
		if _, ok := modeTitle[m]; !ok {
			return nil, fmt.Errorf("unknown mode %q (modes: %s)", m, strings.Join(allModes, ","))
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return modeIndex(out[i]) < modeIndex(out[j]) })
	return out, nil
}

func modeIndex(m string) int {
	for i, x := range allModes {
		if x == m {
			return i
		}
	}
	return len(allModes)
}

// cell renders one prediction: the prediction, marked when wrong, and for
// failing programs whether the cause named the mechanism.
func cell(p prediction, label string) string {
	switch {
	case p.Predict == predUnavailable:
		return "n/a"
	case p.Predict == predError:
		return "error ✗"
	case !p.Right:
		return p.Predict + " ✗"
	case label == labelFails && p.Cause != "":
		if p.CauseRight {
			return "fails, cause ✓"
		}
		return "fails, cause ✗"
	}
	return p.Predict
}

func printScores(w io.Writer, sf *scoreFile) {
	fmt.Fprintf(w, "gvcheck %s, runsc %s, kernel %s, %s\n\n", sf.Gvcheck, sf.Runsc, sf.Kernel, sf.Date)
	fmt.Fprint(w, "| program | category | label | mechanism |")
	for _, m := range sf.Modes {
		fmt.Fprintf(w, " %s |", modeTitle[m])
	}
	fmt.Fprint(w, "\n|---|---|---|---|")
	for range sf.Modes {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, s := range sf.Entries {
		if s == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |", s.Name, s.Category, s.Label, orDash(s.Mechanism))
		for _, p := range s.Predictions {
			fmt.Fprintf(w, " %s |", cell(p, s.Label))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| mode | accuracy | recall | false alarms | cause right | errors | wall time |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, m := range sf.Summary {
		if m.Unavailable {
			fmt.Fprintf(w, "| %s | n/a | n/a | n/a | n/a | n/a | n/a |\n", modeTitle[m.Mode])
			continue
		}
		fmt.Fprintf(w, "| %s | %.2f (%d/%d) | %s | %d/%d | %d/%d | %d | %.0fs |\n", modeTitle[m.Mode],
			m.Accuracy, m.Right, m.Programs, ratio(m.Caught, m.Failing), m.FalseAlarms, m.Working,
			m.CauseRight, m.Failing, m.Errors, m.Seconds)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "✗: wrong (error counts as wrong). cause ✓: the first cause line names the mechanism (the entry's cause regex).")
	// The wrong answers, with what gvcheck said, so a reader sees why.
	fmt.Fprintln(w, "\nWrong answers and causes:")
	for _, s := range sf.Entries {
		if s == nil {
			continue
		}
		for _, p := range s.Predictions {
			if p.Predict == predUnavailable || (p.Right && (s.Label == labelWorks || p.CauseRight || p.Cause == "")) {
				continue
			}
			detail := p.Cause
			if p.Error != "" {
				detail = p.Error
			}
			fmt.Fprintf(w, "- %s, %s: %s (verdict %s) %s\n", s.Name, modeTitle[p.Mode], p.Predict, orDash(p.Verdict), mdEscape(detail))
		}
	}
}

func ratio(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%d/%d)", float64(a)/float64(b), a, b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
