// Package outcome decides whether a program worked in one run compared with
// a reference run of the same program from the same starting state: the
// judgement shared by probe (a run under simulated gVisor against a native
// run) and verify (a run under real gVisor against a native run).
//
// A program works when it ends as the reference did (exit status or signal,
// no hang), passes the user's own test or expectation when one is given,
// and prints nothing new that carries an error it was given and the
// reference was not: many programs meet a missing feature, say so ("not
// supported", "Function not implemented", "skipping") and still exit 0.
// Those are degraded, which counts as not working. Every verdict quotes its
// evidence.
package outcome

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// Judgement is how a run compares with its reference.
type Judgement string

const (
	// Works: ended the same way, and nothing points at lost function.
	Works Judgement = "works"
	// Degraded: ended the same way, but printed that something failed
	// with an error only this run was given.
	Degraded Judgement = "degraded"
	// Fails: ended differently, hung, was refused, or failed its test.
	Fails Judgement = "fails"
)

// OK reports whether the verdict counts as working (exit status 0).
func (v Judgement) OK() bool { return v == Works }

// Run is what one run of a program produced.
type Run struct {
	Exit profile.Exit `json:"exit"`
	// TimedOut: the run was stopped at its time limit.
	TimedOut bool `json:"timed_out,omitempty"`
	// Refused: the runtime would not start the program (runsc's reason).
	Refused string `json:"refused,omitempty"`
	// Stdout and Stderr are what the program printed, possibly only the
	// last part of it (Truncated).
	Stdout    []byte `json:"-"`
	Stderr    []byte `json:"-"`
	Truncated bool   `json:"truncated,omitempty"`
	// Test is the user's test command's result, for servers.
	Test *Test `json:"test,omitempty"`
}

// Test is the result of a --test command run against the program.
type Test struct {
	Exit profile.Exit `json:"exit"`
	// NotReady: the program never became ready; the test did not run.
	NotReady string `json:"not_ready,omitempty"`
	Output   string `json:"output,omitempty"`
}

// Passed reports whether the test ran and exited 0.
func (t *Test) Passed() bool { return t != nil && t.NotReady == "" && t.Exit == (profile.Exit{}) }

// Evidence is one fact a verdict rests on.
type Evidence struct {
	// Kind: exit, timeout, refused, test, expect, output, message.
	Kind string `json:"kind"`
	// Text says what was seen; for messages, the line as printed.
	Text string `json:"text"`
	// Stream is stdout or stderr, for output lines.
	Stream string `json:"stream,omitempty"`
	// Errno is the error a message carries, when it names one this run
	// was given and the reference was not.
	Errno string `json:"errno,omitempty"`
}

func (e Evidence) String() string {
	if e.Kind == "message" {
		s := fmt.Sprintf("%s: %q", e.Stream, e.Text)
		if e.Errno != "" {
			s += " (" + e.Errno + ")"
		}
		return s
	}
	return e.Text
}

// Options refine a comparison.
type Options struct {
	// Errnos are the errors the judged run was given where the reference
	// was not (divergences seen by tracing, or errors injected by a
	// simulation). A new line naming one of them is degradation evidence.
	// Without them, only words that mean "unsupported" count.
	Errnos []string
	// Expect, if set, must match the judged run's output (stdout and
	// stderr) whenever it matches the reference's.
	Expect *regexp.Regexp
	// CompareOutput makes any difference in (normalised) stdout a failure.
	CompareOutput bool
	// Baseline are more reference runs: what differs among them varies by
	// itself and is never evidence.
	Baseline []Run
	// LostErrno, if set, is the error the judged run was given where a
	// file or feature the program reports on was missing (a /proc, /sys
	// or /dev entry, an ioctl): lines of the reference's stdout that this
	// run did not print are then evidence of lost function, with it.
	LostErrno string
	// Values are calls that returned another value in the judged run (a
	// stub): a line that printed the one where the reference printed the
	// other is evidence.
	Values []Value
}

// Value is a call whose result differs between the runs.
type Value struct {
	Call          string // e.g. "sched_get_priority_max"
	Native, Other int64
	// NativeUnknown: only the judged run's value is known (a simulation);
	// a line then counts when it differs from the reference's in that one
	// number alone.
	NativeUnknown bool
	// Stub: the judged run's runtime documents the call as a stub. A
	// program may print what it made of the value rather than the value
	// ("idle" for an I/O priority): a stdout line changed beyond what
	// varies between reference runs then counts too.
	Stub bool
}

// Result is a verdict with its evidence.
type Result struct {
	Verdict  Judgement  `json:"verdict"`
	Evidence []Evidence `json:"evidence"`
	// Suspect are new lines that read like errors but carry none of the
	// known errnos: not evidence, but worth explaining.
	Suspect []Evidence `json:"suspect,omitempty"`
	// OutputDiffers is set when normalised stdout differs; LostLines
	// counts the reference's stdout lines this run did not print.
	OutputDiffers bool `json:"output_differs,omitempty"`
	LostLines     int  `json:"lost_lines,omitempty"`
	// RawDiffers is set when stdout differs before normalisation (numbers
	// included).
	RawDiffers bool `json:"raw_differs,omitempty"`
}

// Summary is the verdict's main evidence in one line.
func (r Result) Summary() string {
	if len(r.Evidence) == 0 {
		return "ended as natively"
	}
	return r.Evidence[0].String()
}

// Errnos returns the errnos the evidence names, first seen first.
func (r Result) Errnos() []string {
	var out []string
	for _, e := range r.Evidence {
		if e.Errno != "" && !slices.Contains(out, e.Errno) {
			out = append(out, e.Errno)
		}
	}
	return out
}

// Compare judges run against ref.
func Compare(ref, run Run, opt Options) Result {
	var res Result
	fail := func(kind, text string) {
		res.Verdict = Fails
		res.Evidence = append(res.Evidence, Evidence{Kind: kind, Text: text})
	}
	switch {
	case run.Refused != "":
		fail("refused", "the program was not started: "+run.Refused)
	case run.TimedOut && !ref.TimedOut:
		fail("timeout", "it did not finish in time (natively it "+exitWords(ref.Exit)+")")
	case ref.Test != nil:
		if !run.Test.Passed() {
			fail("test", "its test failed: "+testWords(run.Test))
		}
	case run.Exit != ref.Exit:
		fail("exit", fmt.Sprintf("it %s (natively it %s)", exitWords(run.Exit), exitWords(ref.Exit)))
	}
	if opt.Expect != nil && opt.Expect.Match(both(ref)) && !opt.Expect.Match(both(run)) {
		fail("expect", fmt.Sprintf("its output does not match %q", opt.Expect.String()))
	}

	volatile := map[string]bool{}
	for _, b := range opt.Baseline {
		for _, l := range newLines(ref, b) {
			volatile[l.stream+"\x00"+l.norm] = true
		}
		for _, l := range newLines(b, ref) {
			volatile[l.stream+"\x00"+l.norm] = true
		}
	}
	var fresh []line
	for _, l := range newLines(ref, run) {
		if !volatile[l.stream+"\x00"+l.norm] {
			fresh = append(fresh, l)
		}
	}
	for _, l := range fresh {
		if e, ok := errnoIn(l.text, opt.Errnos); ok {
			res.Evidence = append(res.Evidence, Evidence{Kind: "message", Stream: l.stream, Text: l.text, Errno: e})
		} else if e, named := namedErrno(l.text); named || errorish(l.text) {
			res.Suspect = append(res.Suspect, Evidence{Kind: "message", Stream: l.stream, Text: l.text, Errno: e})
		}
	}
	res.OutputDiffers = !sameLines(ref.Stdout, run.Stdout, volatile)
	lost := lostLines(ref, run, volatile)
	res.LostLines = len(lost)
	// Lost output is evidence when the run printed (almost) nothing of
	// what the reference printed: a listing come out empty. A run that
	// printed other content instead (gVisor's own kernel log for dmesg)
	// reports on a different machine, not on a missing feature.
	refLines, runLines := len(lines(Run{Stdout: ref.Stdout})), len(lines(Run{Stdout: run.Stdout}))
	if len(lost) > 0 && opt.LostErrno != "" && len(res.Evidence) == 0 && refLines >= 2 && runLines <= 2 && 2*len(lost) >= refLines {
		res.Evidence = append(res.Evidence, Evidence{Kind: "lost-output", Stream: "stdout", Errno: opt.LostErrno,
			Text: fmt.Sprintf("%d line(s) the native run printed are missing, first %q", len(lost), lost[0])})
	}
	for _, v := range opt.Values {
		if l, ok := printedValue(ref.Stdout, run.Stdout, v); ok {
			text := fmt.Sprintf("it printed %q where natively %s returned %d, here %d", l, v.Call, v.Native, v.Other)
			if v.NativeUnknown {
				text = fmt.Sprintf("it printed %q, with %s's answer %d", l, v.Call, v.Other)
			}
			res.Evidence = append(res.Evidence, Evidence{Kind: "value", Stream: "stdout", Errno: "value:" + v.Call, Text: text})
		} else if v.Stub && res.OutputDiffers {
			if was, now, ok := changedLine(ref.Stdout, run.Stdout, opt.Baseline, volatile); ok {
				res.Evidence = append(res.Evidence, Evidence{Kind: "value", Stream: "stdout", Errno: "value:" + v.Call,
					Text: stubText(now, was, v)})
			}
		}
	}
	if res.OutputDiffers && opt.CompareOutput {
		fail("output", "its standard output differs")
	}
	res.RawDiffers = string(ref.Stdout) != string(run.Stdout)
	if res.Verdict == "" {
		res.Verdict = Works
		if len(res.Errnos()) > 0 {
			res.Verdict = Degraded
		}
	}
	// The decisive evidence first: how it ended, then what it printed.
	slices.SortStableFunc(res.Evidence, func(a, b Evidence) int {
		return rankKind(a.Kind) - rankKind(b.Kind)
	})
	return res
}

func stubText(now, was string, v Value) string {
	if v.NativeUnknown {
		return fmt.Sprintf("it printed %q where natively it printed %q, with %s, a stub, answering %d", now, was, v.Call, v.Other)
	}
	return fmt.Sprintf("it printed %q where natively it printed %q, after %s, a stub, returned %d (natively %d)", now, was, v.Call, v.Other, v.Native)
}

func rankKind(k string) int {
	switch k {
	case "refused", "timeout", "exit", "test", "expect", "output":
		return 0
	case "message", "value":
		return 1
	}
	return 2
}

func both(r Run) []byte {
	return append(append(slices.Clip(r.Stdout), '\n'), r.Stderr...)
}

func exitWords(e profile.Exit) string {
	switch {
	case e.Signal != "":
		return "was killed by " + e.Signal
	case e.Code == 0:
		return "exited 0"
	}
	return fmt.Sprintf("exited %d", e.Code)
}

func testWords(t *Test) string {
	switch {
	case t == nil:
		return "it never ran"
	case t.NotReady != "":
		return t.NotReady
	}
	s := exitWords(t.Exit)
	if o := lastLine(t.Output); o != "" {
		s += ": " + o
	}
	return s
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
