package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// VerifySchema names the JSON form of a verify report.
const VerifySchema = "gvcheck.verify/v1"

// Verify is the outcome of running a program natively and under gVisor.
type Verify struct {
	Schema  string          `json:"schema"`
	Tool    string          `json:"tool"`
	Command []string        `json:"command"`
	Verdict analyze.Verdict `json:"verdict"` // compatible or incompatible
	Works   bool            `json:"works"`
	// Outcome is works, degraded (same ending, but it printed that
	// something failed with an error gVisor gave) or fails; Evidence
	// quotes what it rests on.
	Outcome  string     `json:"outcome"`
	Evidence []Evidence `json:"evidence"`
	// Cause is one sentence naming the most likely reason it fails, and
	// Because what the choice rests on.
	Cause   string `json:"cause,omitempty"`
	Because string `json:"because,omitempty"`
	// Observed is what the explaining (traced) runs showed.
	Observed *ObservedRuns `json:"observed,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
	GVisor   GVisorRun     `json:"gvisor"`
	Native   RunOutcome    `json:"native"`
	// Sandbox is the run under gVisor.
	Sandbox RunOutcome `json:"sandbox"`
	// OutputDiff is an excerpt of where the two runs' stdout differ.
	OutputDiff  string         `json:"output_diff,omitempty"`
	Divergences []Divergence   `json:"divergences"`
	Unsupported []GVisorReport `json:"unsupported"`
	// Findings are the static analysis of the native run against Target.
	Target   Target            `json:"target"`
	Findings []analyze.Finding `json:"findings"`
}

// Evidence is one fact a verdict rests on (see package outcome).
type Evidence struct {
	Kind   string `json:"kind"`
	Text   string `json:"text"`
	Stream string `json:"stream,omitempty"`
	Errno  string `json:"errno,omitempty"`
}

// ObservedRuns are the traced runs that explain a verdict, and whether they
// ended as the unobserved runs did.
type ObservedRuns struct {
	Native RunOutcome `json:"native"`
	GVisor RunOutcome `json:"gvisor"`
	Agrees bool       `json:"agrees"`
	Note   string     `json:"note,omitempty"`
}

// GVisorRun says which runsc ran the program, and how.
type GVisorRun struct {
	Runsc   string   `json:"runsc"`
	Version string   `json:"version"`
	Flags   []string `json:"flags"`
}

// RunOutcome is one run's result.
type RunOutcome struct {
	Exit     profile.Exit  `json:"exit"`
	Duration time.Duration `json:"duration_ns"`
	TimedOut bool          `json:"timed_out,omitempty"`
	Refused  string        `json:"refused,omitempty"`
	Test     *profile.Exit `json:"test,omitempty"` // the --test command's exit, in test mode
	NotReady string        `json:"not_ready,omitempty"`
	Stderr   string        `json:"stderr_tail,omitempty"`
	Calls    int           `json:"calls"`
}

// Divergence is a call whose result differs between the two runs.
type Divergence struct {
	Rank    int    `json:"rank"`
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
	Exe     string `json:"exe,omitempty"`
	Syscall string `json:"syscall"`
	Native  string `json:"native"`
	GVisor  string `json:"gvisor"`
	Count   int    `json:"count"`
	// ProcessFailed: the process that made the call ended worse under gVisor.
	ProcessFailed bool     `json:"process_failed,omitempty"`
	Note          string   `json:"note,omitempty"`
	URLs          []string `json:"urls,omitempty"`
}

// GVisorReport is a call gVisor itself reported as unsupported.
type GVisorReport struct {
	Syscall  string `json:"syscall"`
	Key      string `json:"key,omitempty"`
	Count    int    `json:"count"`
	Harmless bool   `json:"harmless,omitempty"`
}

// WriteVerify renders v in format.
func WriteVerify(w io.Writer, v *Verify, format string) error {
	s := textSafe(v, format)
	return render(w, format, "verify", v,
		func(bw *bufio.Writer) { writeVerifyText(bw, s) },
		func(bw *bufio.Writer) { writeVerifyMarkdown(bw, s) })
}

func exitString(e profile.Exit) string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}

func runLine(r RunOutcome) string {
	if r.Refused != "" {
		return "not started: " + r.Refused
	}
	s := fmt.Sprintf("%s in %s", exitString(r.Exit), r.Duration.Round(time.Millisecond))
	if r.Calls > 0 {
		s += ", " + Plural(r.Calls, "call")
	}
	if r.TimedOut {
		s += ", timed out"
	}
	if r.NotReady != "" {
		s += ", never ready: " + r.NotReady
	}
	if r.Test != nil {
		s += ", test " + exitString(*r.Test)
	}
	return s
}

func verifyHeadline(v *Verify) string {
	switch {
	case v.Works:
		return "works under gVisor"
	case v.Outcome == "degraded":
		return "degraded under gVisor"
	}
	return "fails under gVisor"
}

func writeVerifyText(bw *bufio.Writer, v *Verify) {
	writeVerdictHead(bw, "verify", verifyHeadline(v), v.Cause, v.Evidence)
	if v.Because != "" {
		fmt.Fprintf(bw, "because:  %s\n", v.Because)
	}
	fmt.Fprintf(bw, "command:  %s\n", shellJoin(v.Command))
	fmt.Fprintf(bw, "gVisor:   runsc %s %s\n", v.GVisor.Version, strings.Join(v.GVisor.Flags, " "))
	fmt.Fprintf(bw, "native:   %s\n", runLine(v.Native))
	fmt.Fprintf(bw, "sandbox:  %s\n", runLine(v.Sandbox))
	if v.Observed != nil {
		fmt.Fprintf(bw, "observed: native %s; gVisor %s\n", runLine(v.Observed.Native), runLine(v.Observed.GVisor))
	}
	for _, n := range v.Notes {
		fmt.Fprintf(bw, "note:     %s\n", n)
	}
	if v.OutputDiff != "" {
		fmt.Fprintf(bw, "\nstdout differs:\n%s\n", indent(v.OutputDiff, "  "))
	}
	if v.Sandbox.Stderr != "" && !v.Works {
		fmt.Fprintf(bw, "\nstderr under gVisor (last lines):\n%s\n", indent(v.Sandbox.Stderr, "  "))
	}
	if len(v.Divergences) > 0 {
		divs := v.Divergences
		if v.Works {
			const shownWhenWorking = 3
			fmt.Fprintf(bw, "\ndifferences that did not change the outcome (%d shown; all in --format json):\n", min(len(divs), shownWhenWorking))
			divs = divs[:min(len(divs), shownWhenWorking)]
		} else {
			fmt.Fprintf(bw, "\nwhere the runs differ (most likely cause first):\n")
		}
		for _, d := range divs {
			fmt.Fprintf(bw, "%3d. [%s] %s\n", d.Rank, d.Kind, d.Summary)
			fmt.Fprintf(bw, "     native: %s\n     gVisor: %s\n", dashIfEmpty(d.Native), dashIfEmpty(d.GVisor))
			if d.Exe != "" {
				fmt.Fprintf(bw, "     in %s", d.Exe)
				if d.Count > 1 {
					fmt.Fprintf(bw, " (%d times)", d.Count)
				}
				fmt.Fprintln(bw)
			}
			if d.Note != "" {
				fmt.Fprintf(bw, "     gVisor's note: %s\n", d.Note)
			}
			for _, u := range d.URLs {
				fmt.Fprintf(bw, "     see: %s\n", u)
			}
		}
	}
	if len(v.Unsupported) > 0 {
		fmt.Fprintf(bw, "\ngVisor reported as unsupported:\n")
		for _, u := range v.Unsupported {
			line := u.Syscall
			if u.Key != "" {
				line += "(" + u.Key + ")"
			}
			if u.Harmless {
				line += " (harmless: expected on this platform)"
			}
			fmt.Fprintf(bw, "  %s ×%d\n", line, u.Count)
		}
	}
	if len(v.Findings) > 0 {
		fmt.Fprintf(bw, "\nnative run against %s:\n", targetLine(v.Target))
		for _, f := range v.Findings {
			fmt.Fprintf(bw, "  %-14s %s (%s)\n", f.Level, f.Syscall, outcome(f))
		}
	}
}

func writeVerifyMarkdown(bw *bufio.Writer, v *Verify) {
	writeMarkdownVerdictHead(bw, "verify", v.Works, verifyHeadline(v), v.Cause)
	fmt.Fprintf(bw, "| | |\n|---|---|\n| Command | `%s` |\n| gVisor | runsc %s %s |\n| Native | %s |\n| Sandbox | %s |\n",
		mdCell(strings.Join(v.Command, " ")), mdCell(v.GVisor.Version), mdCell(strings.Join(v.GVisor.Flags, " ")),
		mdCell(runLine(v.Native)), mdCell(runLine(v.Sandbox)))
	if v.OutputDiff != "" {
		fmt.Fprintf(bw, "\n<details><summary>stdout differs</summary>\n\n```\n%s\n```\n</details>\n", v.OutputDiff)
	}
	if len(v.Divergences) > 0 {
		fmt.Fprintf(bw, "\n| # | Kind | Syscall | Native | gVisor | Where |\n|---:|---|---|---|---|---|\n")
		for _, d := range v.Divergences {
			fmt.Fprintf(bw, "| %d | %s | `%s` | %s | %s | %s |\n", d.Rank, d.Kind, d.Syscall, mdCell(dashIfEmpty(d.Native)),
				mdCell(dashIfEmpty(d.GVisor)), mdCell(d.Exe))
		}
	}
}

// writeVerdictHead writes the lines that open a probe or verify report: the
// verdict, its cause and the evidence for it.
func writeVerdictHead(bw *bufio.Writer, command, headline, cause string, evidence []Evidence) {
	fmt.Fprintf(bw, "gvcheck %s: %s\n", command, headline)
	if cause != "" {
		fmt.Fprintf(bw, "cause:    %s\n", cause)
	}
	for i, e := range evidence {
		label := "evidence:"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(bw, "%-9s %s\n", label, verdictEvidence(e))
	}
}

func writeMarkdownVerdictHead(bw *bufio.Writer, command string, works bool, headline, cause string) {
	mark := "✅"
	if !works {
		mark = "❌"
	}
	fmt.Fprintf(bw, "## gvcheck %s: %s %s\n\n", command, mark, headline)
	if cause != "" {
		fmt.Fprintf(bw, "**Cause:** %s\n\n", mdCell(cause))
	}
}

func verdictEvidence(e Evidence) string {
	if e.Kind == "message" {
		s := fmt.Sprintf("%s: %q", e.Stream, e.Text)
		if e.Errno != "" {
			s += " (" + e.Errno + ")"
		}
		return s
	}
	return e.Text
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "(no such call)"
	}
	return s
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
