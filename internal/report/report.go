// Package report renders analysis results for people (text), machines
// (JSON, versioned schema) and pull requests (Markdown).
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// Schema names the JSON report format; bump on incompatible change.
const Schema = "gvcheck.report/v1"

// Report is everything gvcheck says about one or more workloads against one
// gVisor target.
type Report struct {
	Schema    string          `json:"schema"`
	Tool      string          `json:"tool"`
	Target    Target          `json:"target"`
	Verdict   analyze.Verdict `json:"verdict"`
	Workloads []Workload      `json:"workloads"`
	// Baseline says what --baseline accepted.
	Baseline *BaselineSummary `json:"baseline,omitempty"`
	// History is the verdict in every embedded version (check --gvisor all).
	History []HistoryRow `json:"history,omitempty"`
	// Fleet summarises several workloads.
	Fleet *Fleet `json:"fleet,omitempty"`
}

// Target is the gVisor the evidence was judged against.
type Target struct {
	GVisor     string    `json:"gvisor"`
	Tag        string    `json:"tag,omitempty"`
	Date       time.Time `json:"date"`
	Arch       string    `json:"arch"`
	Variant    string    `json:"variant,omitempty"`
	RunscFlags []string  `json:"runsc_flags,omitempty"`
	Source     string    `json:"source"`
}

// Workload is the analysis of one profile.
type Workload struct {
	Name     string            `json:"name"`
	Coverage profile.Coverage  `json:"coverage"`
	Sources  []profile.Source  `json:"sources"`
	Verdict  analyze.Verdict   `json:"verdict"`
	Summary  analyze.Summary   `json:"summary"`
	Findings []analyze.Finding `json:"findings"`
	Rows     []analyze.Row     `json:"rows,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	Exit     *profile.Exit     `json:"exit,omitempty"`
	// Experiment is what re-running the program with gVisor's differences
	// simulated showed (run --probe); it decides the verdict when present.
	Experiment *Experiment `json:"experiment,omitempty"`
	// Log judges the "Unsupported syscall" reports of gVisor logs given as
	// evidence.
	Log []LogLine `json:"log,omitempty"`
}

// Experiment summarises a probe made for a workload.
type Experiment struct {
	// Outcome is works, degraded or fails; Evidence quotes why.
	Outcome  string     `json:"outcome"`
	Evidence []Evidence `json:"evidence"`
	Cause    string     `json:"cause,omitempty"`
	Runs     int        `json:"runs"`
	Wall     int64      `json:"wall_ns"`
	Notes    []string   `json:"notes,omitempty"`
}

// Options controls rendering.
type Options struct {
	// All lists every observed syscall, not only the findings.
	All bool
	// FailOn is the --fail-on level: formats that mark findings as
	// failures (JUnit, SARIF levels) mark those that count at it.
	FailOn analyze.Level
}

var verdictRank = map[analyze.Verdict]int{
	analyze.Compatible: 0, analyze.FallbacksVerified: 1, analyze.AtRisk: 2, analyze.Incompatible: 3,
}

// New builds a report; its verdict is the worst of its workloads'.
func New(tool string, target Target, workloads []Workload) *Report {
	r := &Report{Schema: Schema, Tool: tool, Target: target, Verdict: analyze.Compatible, Workloads: workloads}
	for _, w := range workloads {
		if verdictRank[w.Verdict] > verdictRank[r.Verdict] {
			r.Verdict = w.Verdict
		}
	}
	return r
}

// NewWorkload wraps one analysis, adding the notes a reader needs to judge
// how complete it is.
func NewWorkload(name string, p *profile.Profile, res *analyze.Result, opt Options) Workload {
	w := Workload{
		Name: name, Coverage: p.Coverage(), Sources: p.Sources, Verdict: res.Verdict,
		Summary: res.Summary, Findings: res.Findings,
	}
	if opt.All {
		w.Rows = res.Rows
	}
	switch w.Coverage {
	case profile.CoverageFiltered:
		w.Notes = append(w.Notes, "fast mode: calls gVisor fully supports ran unobserved and are not counted; use --full for a complete inventory")
	case profile.CoverageNames:
		w.Notes = append(w.Notes, "the evidence lists names only: call counts are unknown")
	case profile.CoveragePermitted:
		w.Notes = append(w.Notes, "the evidence is a seccomp profile: it lists what the workload is allowed to call, not what it called")
	}
	for _, s := range p.Sources {
		if s.Backend != "" && s.Why != "" {
			w.Notes = append(w.Notes, fmt.Sprintf("traced with the %s backend: %s", s.Backend, s.Why))
		}
		if s.Lost > 0 {
			w.Notes = append(w.Notes, fmt.Sprintf("incomplete: the %s trace lost %d events (%s); counts are lower bounds, and a syscall, argument or path may be missing",
				s.Backend, s.Lost, s.Detail))
		}
	}
	if res.Summary.Unimplemented > 0 && res.Verdict == analyze.AtRisk {
		w.Notes = append(w.Notes, "a program may fall back when a syscall is missing: `gvcheck probe` finds out by experiment, `gvcheck verify` by running it under gVisor")
	}
	for _, s := range p.Sources {
		if s.Exit != nil && w.Exit == nil {
			e := *s.Exit
			w.Exit = &e
		}
	}
	return w
}

// writeJSON writes the report in the versioned JSON schema.
func writeJSON(w io.Writer, r *Report) error {
	return WriteJSONValue(w, r)
}

// WriteJSONValue writes any report value as indented JSON.
func WriteJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// Formats are the formats Write renders.
var Formats = []string{"text", "json", "markdown", "sarif", "html", "junit"}

// Write renders r in format (one of Formats; "md" is markdown).
func Write(w io.Writer, r *Report, format string, opt Options) error {
	switch format {
	case "text", "":
		return WriteText(w, Safe(r), opt)
	case "json":
		return writeJSON(w, r)
	case "markdown", "md":
		return WriteMarkdown(w, Safe(r), opt)
	case "sarif":
		return WriteSARIF(w, r, opt)
	case "html":
		return WriteHTML(w, r, opt)
	case "junit":
		return WriteJUnit(w, r, opt)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats, ", "))
}

// render writes v as JSON, or as text or Markdown through a buffered writer
// flushed once, so a failed write is reported and never half-ignored. The
// text and Markdown renderers are given Safe's copy of v by their callers
// (see textSafe).
func render(w io.Writer, format, what string, v any, text, markdown func(*bufio.Writer)) error {
	var write func(*bufio.Writer)
	switch format {
	case "json":
		return WriteJSONValue(w, v)
	case "markdown", "md":
		write = markdown
	case "text", "":
		write = text
	default:
		return fmt.Errorf("unknown report format %q (want text, json or markdown)", format)
	}
	bw := bufio.NewWriter(w)
	write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s report: %w", what, err)
	}
	return nil
}

// AddExperiment records a probe made for the workload: each finding's
// experimental status, and the experiment's verdict, which supersedes the
// static one.
func AddExperiment(w *Workload, r *probe.Result) {
	for i := range w.Findings {
		f := &w.Findings[i]
		for _, t := range r.Differences {
			if t.Covers(*f) {
				f.Tried = string(t.Status)
				break
			}
		}
	}
	e := &Experiment{Outcome: string(r.Outcome.Verdict), Evidence: []Evidence{}, Cause: r.Cause, Runs: r.Runs, Wall: int64(r.Wall), Notes: r.Notes}
	for _, ev := range r.Outcome.Evidence {
		e.Evidence = append(e.Evidence, Evidence{Kind: ev.Kind, Text: ev.Text, Stream: ev.Stream, Errno: ev.Errno})
	}
	if r.Inconsistent {
		e.Outcome = "inconsistent"
		e.Notes = append(e.Notes, r.Inconsistency)
	}
	w.Experiment = e
	w.Verdict = r.Verdict
}

// HistoryRow is the verdict of the evidence in one embedded gVisor version
// (check --gvisor all).
type HistoryRow struct {
	GVisor        string          `json:"gvisor"`
	Tag           string          `json:"tag,omitempty"`
	Date          time.Time       `json:"date"`
	Verdict       analyze.Verdict `json:"verdict"`
	Unimplemented int             `json:"unimplemented"`
	// Findings count those at or above --fail-on.
	Findings int    `json:"findings"`
	Worst    string `json:"worst,omitempty"`
	// FirstCompatible marks the version from which the evidence is
	// compatible in every newer one.
	FirstCompatible bool `json:"first_compatible,omitempty"`
}

// textSafe returns Safe's copy of v for the text and Markdown formats, and
// v itself for the machine formats.
func textSafe[T any](v T, format string) T {
	switch format {
	case "text", "", "markdown", "md":
		return Safe(v)
	}
	return v
}
