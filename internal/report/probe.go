package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/probe"
)

// ProbeSchema names the JSON form of a probe report. Version 2 judges
// differences (syscalls, arguments, paths, execs, stub values) rather than
// syscalls alone, and reports outcomes as works, degraded or fails.
const ProbeSchema = "gvcheck.probe/v2"

// Probe is the outcome of a probe, as reported.
type Probe struct {
	Schema  string          `json:"schema"`
	Tool    string          `json:"tool"`
	Target  Target          `json:"target"`
	Command []string        `json:"command"`
	Verdict analyze.Verdict `json:"verdict"`
	Works   bool            `json:"works"`
	// Outcome is works, degraded or fails: the run with every difference
	// simulated against the reference; Evidence quotes what it rests on.
	Outcome     string        `json:"outcome"`
	Evidence    []Evidence    `json:"evidence"`
	Cause       string        `json:"cause,omitempty"`
	Differences []probe.Tried `json:"differences"`
	Reference   probe.Run     `json:"reference"`
	Simulated   *probe.Run    `json:"simulated,omitempty"`
	Observed    *probe.Run    `json:"observed,omitempty"`
	Steps       []probe.Step  `json:"steps"`
	Runs        int           `json:"runs"`
	Wall        time.Duration `json:"wall_ns"`
	// Inconsistent: repeated runs of one configuration disagreed.
	Inconsistent  bool     `json:"inconsistent,omitempty"`
	Inconsistency string   `json:"inconsistency,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

// NewProbe turns a probe's result into its report.
func NewProbe(tool string, tgt Target, argv []string, r *probe.Result) *Probe {
	p := &Probe{
		Schema: ProbeSchema, Tool: tool, Target: tgt, Command: argv, Verdict: r.Verdict, Works: r.Works(),
		Outcome: string(r.Outcome.Verdict), Evidence: []Evidence{}, Cause: r.Cause, Differences: r.Differences,
		Reference: r.Reference, Simulated: r.Simulated, Observed: r.Observed, Steps: r.Steps, Runs: r.Runs, Wall: r.Wall,
		Inconsistent: r.Inconsistent, Inconsistency: r.Inconsistency, Notes: r.Notes,
	}
	for _, e := range r.Outcome.Evidence {
		p.Evidence = append(p.Evidence, Evidence{Kind: e.Kind, Text: e.Text, Stream: e.Stream, Errno: e.Errno})
	}
	if r.Inconsistent {
		p.Outcome = "inconsistent"
	}
	return p
}

// WriteProbe renders p in format.
func WriteProbe(w io.Writer, p *Probe, format string) error {
	s := textSafe(p, format)
	return render(w, format, "probe", p,
		func(bw *bufio.Writer) { writeProbeText(bw, s) },
		func(bw *bufio.Writer) { writeProbeMarkdown(bw, s) })
}

func probeHeadline(p *Probe) string {
	switch {
	case p.Inconsistent:
		return "inconsistent: the runs disagree"
	case p.Works && p.Verdict == analyze.FallbacksVerified:
		return "works under simulated gVisor (fallbacks verified)"
	case p.Works && len(p.Differences) == 0:
		return "works: it meets nothing gVisor does differently"
	case p.Works:
		return "works under simulated gVisor"
	case p.Outcome == "degraded":
		return "degraded under simulated gVisor"
	}
	return "fails under simulated gVisor"
}

func writeProbeText(bw *bufio.Writer, p *Probe) {
	writeVerdictHead(bw, "probe", probeHeadline(p), p.Cause, p.Evidence)
	if p.Inconsistent {
		fmt.Fprintf(bw, "why:      %s\n", p.Inconsistency)
	}
	fmt.Fprintf(bw, "command:  %s\n", shellJoin(p.Command))
	fmt.Fprintf(bw, "target:   %s\n", targetLine(p.Target))
	fmt.Fprintf(bw, "runs:     %d in %s\n", p.Runs, p.Wall.Round(time.Millisecond))
	fmt.Fprintf(bw, "native:   %s\n", probeRun(p.Reference))
	if p.Simulated != nil {
		fmt.Fprintf(bw, "simulated: %s\n", probeRun(*p.Simulated))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(bw, "note:     %s\n", n)
	}
	if len(p.Differences) == 0 {
		return
	}
	fmt.Fprintf(bw, "\nwhat gVisor does differently, simulated natively:\n")
	for _, d := range p.Differences {
		calls := "never met"
		if d.Hits > 0 {
			calls = Plural(int(d.Hits), "call")
		}
		fmt.Fprintf(bw, "  %-12s %s → %s (%s)\n", d.Status, d.Title, d.Answer(), calls)
		if d.Evidence != "" {
			fmt.Fprintf(bw, "               simulated, it: %s\n", d.Evidence)
		}
		if d.NeedsFlag != "" {
			fmt.Fprintf(bw, "               works with runsc %s\n", d.NeedsFlag)
		}
	}
}

func probeRun(r probe.Run) string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timed out after %s", r.Duration.Round(time.Millisecond))
	case r.Test != nil && r.Test.NotReady != "":
		return "never ready: " + r.Test.NotReady
	}
	s := fmt.Sprintf("%s in %s", exitString(r.Exit), r.Duration.Round(time.Millisecond))
	if r.Test != nil {
		s += ", test " + exitString(r.Test.Exit)
	}
	return s
}

func writeProbeMarkdown(bw *bufio.Writer, p *Probe) {
	writeMarkdownVerdictHead(bw, "probe", p.Works, probeHeadline(p), p.Cause)
	for _, e := range p.Evidence {
		fmt.Fprintf(bw, "- %s\n", mdCell(verdictEvidence(e)))
	}
	fmt.Fprintf(bw, "\n| | |\n|---|---|\n| Command | `%s` |\n| Target | %s |\n| Runs | %d in %s |\n| Native | %s |\n",
		mdCell(strings.Join(p.Command, " ")), mdCell(targetLine(p.Target)), p.Runs, p.Wall.Round(time.Millisecond), mdCell(probeRun(p.Reference)))
	if p.Simulated != nil {
		fmt.Fprintf(bw, "| Simulated | %s |\n", mdCell(probeRun(*p.Simulated)))
	}
	if len(p.Differences) > 0 {
		fmt.Fprintf(bw, "\n| Status | Difference | gVisor | Calls |\n|---|---|---|---:|\n")
		for _, d := range p.Differences {
			fmt.Fprintf(bw, "| %s | `%s` | %s | %d |\n", d.Status, mdCell(d.Title), mdCell(d.Answer()), d.Hits)
		}
	}
}
