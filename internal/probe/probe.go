// Package probe answers "does the program fall back?" by experiment: it
// re-runs a program natively while the syscalls gVisor lacks fail exactly as
// gVisor fails them, and, when the program then breaks, finds by adaptive
// group testing the few missing syscalls it cannot do without.
package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Candidate is one syscall gVisor lacks that the program was seen to use:
// the experiments deny it natively with the errno gVisor would return.
type Candidate struct {
	Syscall string `json:"syscall"`
	Nr      int    `json:"number"`
	// Errno is the error gVisor returns for the call, e.g. "ENOSYS".
	Errno string `json:"errno"`
}

func (c Candidate) String() string { return c.Syscall + " → " + c.Errno }

// Ready says when a program started for a --test experiment is ready to be
// tested.
type Ready = launch.Ready

// Config describes one probe.
type Config struct {
	Argv  []string
	Dir   string   // working directory ("" = the current one)
	Env   []string // environment (nil = this process's)
	Stdin string   // file to read stdin from ("" = /dev/null)

	// Table is the target gVisor table; Arch its architecture.
	Table analyze.Table
	// Analysis adds the target's argument rules and runsc options.
	Analysis analyze.Options
	Arch     sysno.Arch
	// HasCap says whether the sandboxed program would hold a capability
	// (e.g. "CAP_SYS_ADMIN"); it decides how gVisor fails CapError
	// syscalls. nil means: whatever this process holds, which matches
	// `runsc do` started by the same user.
	HasCap func(capName string) bool
	// Candidates are what to deny. nil: computed from the syscalls the
	// reference run used.
	Candidates []Candidate

	// CompareOutput also requires stdout to equal the reference's.
	CompareOutput bool
	// Test, if set, is a shell command run against the started program;
	// success means it exits 0.
	Test    string
	Ready   Ready
	Timeout time.Duration // per run; 0 means DefaultTimeout
	Grace   time.Duration // SIGTERM to SIGKILL; 0 means DefaultGrace
	// Repeat runs each configuration this many times (default 1); runs that
	// disagree make the result Inconsistent.
	Repeat int
}

// Defaults for Config's zero values.
const (
	DefaultTimeout = 60 * time.Second
	DefaultGrace   = 2 * time.Second
)

// Outcome is what one run of the program produced.
type Outcome struct {
	Exit profile.Exit `json:"exit"`
	// TimedOut is set when the run hit its timeout and was killed.
	TimedOut bool `json:"timed_out,omitempty"`
	// Stdout and Stderr are the last bytes of the program's output;
	// StdoutSum is a digest of all of stdout, for --compare-output.
	Stdout    string `json:"stdout,omitempty"`
	Stderr    string `json:"stderr,omitempty"`
	StdoutSum string `json:"stdout_sha256,omitempty"`
	// Test is the --test command's result, in test mode.
	Test *TestOutcome `json:"test,omitempty"`
	// Calls are the syscalls observed, in completion order, and Profile
	// their profile (observed runs only).
	Calls    []profile.Call   `json:"-"`
	Profile  *profile.Profile `json:"-"`
	Duration time.Duration    `json:"duration_ns"`
}

// TestOutcome is the result of the --test command.
type TestOutcome struct {
	Exit   profile.Exit `json:"exit"`
	Output string       `json:"output,omitempty"` // last bytes of its stdout+stderr
	// NotReady is set when the program never became ready; the test
	// command did not run.
	NotReady string `json:"not_ready,omitempty"`
}

// Runner runs the program once, denying the given candidates. observe asks
// for the calls the program made (slower); without it only the outcome
// matters.
type Runner interface {
	Run(ctx context.Context, deny []Candidate, observe bool) (Outcome, error)
}

// Finding is a candidate the program cannot do without.
type Finding struct {
	Candidate
	// Evidence is the run that isolated it: the program failed with this
	// syscall denied, and worked without it denied.
	Evidence Outcome  `json:"evidence"`
	Denied   []string `json:"denied"` // what that run denied
}

// Fallback is what the program did when a denied syscall failed.
type Fallback struct {
	Candidate
	// Failed is how many times the call failed in the simulated run (where
	// the denied call itself was invisible, how often the reference made
	// it); 0 when unknown.
	Failed int `json:"failed"`
	// Then is the syscall the same thread made next (the usual fallback,
	// e.g. clone after clone3), "" if none was seen; Next lists the first
	// few distinct follow-up calls.
	Then string   `json:"then,omitempty"`
	Next []string `json:"next,omitempty"`
	// Native is set when the call fails natively too, with the same errno,
	// every time the reference made it: no experiment was needed.
	Native bool `json:"native,omitempty"`
}

func (f Fallback) String() string {
	s := f.Syscall + " → " + f.Errno
	switch {
	case f.Native:
		s += " (natively too)"
	case f.Then != "":
		s += ", then " + f.Then
	}
	return s
}

// Step is one configuration tested.
type Step struct {
	Denied  []string     `json:"denied"`
	OK      bool         `json:"ok"`
	Runs    int          `json:"runs"`
	Exit    profile.Exit `json:"exit"`
	Purpose string       `json:"purpose"` // reference, simulation, search
	// Duration is the wall time of the configuration's runs.
	Duration time.Duration `json:"duration_ns"`
}

// Result is the answer of a probe.
type Result struct {
	Verdict    analyze.Verdict `json:"verdict"`
	Candidates []Candidate     `json:"candidates"`
	Required   []Finding       `json:"required"`
	// Fallbacks are the denied syscalls the program works without.
	Fallbacks []Fallback    `json:"fallbacks"`
	Runs      int           `json:"runs"`
	Wall      time.Duration `json:"wall_ns"`
	Reference Outcome       `json:"reference"`
	// Simulated is the run with every candidate denied.
	Simulated *Outcome `json:"simulated,omitempty"`
	Steps     []Step   `json:"steps"`
	// Inconsistent is set when repeated runs of one configuration
	// disagreed; Inconsistency says which, and the verdict is at-risk.
	Inconsistent  bool   `json:"inconsistent,omitempty"`
	Inconsistency string `json:"inconsistency,omitempty"`
}

// ErrReferenceFailed is returned (wrapped) when the program does not work
// even natively, so there is nothing to compare against.
var ErrReferenceFailed = errors.New("reference run failed")

// errInconsistent stops the search when repeated runs disagree.
type errInconsistent struct{ msg string }

func (e *errInconsistent) Error() string { return e.msg }

// Probe runs the experiment: a reference run, a run with every candidate
// denied, and, if that fails, a group-testing search for the required ones.
func Probe(ctx context.Context, cfg Config, r Runner) (*Result, error) {
	start := time.Now()
	p := &prober{cfg: cfg, r: r, res: &Result{Candidates: []Candidate{}, Required: []Finding{}, Fallbacks: []Fallback{}, Steps: []Step{}}}
	if p.cfg.Repeat < 1 {
		p.cfg.Repeat = 1
	}
	err := p.run(ctx)
	p.res.Wall = time.Since(start)
	var inc *errInconsistent
	if errors.As(err, &inc) {
		p.res.Inconsistent = true
		p.res.Inconsistency = inc.msg
		p.res.Verdict = analyze.AtRisk
		return p.res, nil
	}
	if err != nil {
		return nil, err
	}
	return p.res, nil
}

type prober struct {
	cfg   Config
	r     Runner
	res   *Result
	ref   Outcome
	cands []Candidate
	// known caches configuration outcomes by their denied set.
	known map[string]judged
}

type judged struct {
	ok bool
	o  Outcome
}

func (p *prober) run(ctx context.Context) error {
	// Reference: nothing denied, observed to learn which candidates are used.
	start := time.Now()
	refs, err := p.runN(ctx, nil, true)
	if err != nil {
		return fmt.Errorf("reference run: %w", err)
	}
	p.ref = refs[0]
	p.res.Reference = p.ref
	if p.cfg.Test != "" {
		for _, o := range refs {
			if !testPassed(o) {
				return fmt.Errorf("%w: the test command failed against the unmodified program (%s)", ErrReferenceFailed, describe(o))
			}
		}
	} else {
		if p.ref.TimedOut {
			return fmt.Errorf("%w: timed out after %s (raise the timeout, or use a test command for servers)", ErrReferenceFailed, p.ref.Duration.Round(time.Millisecond))
		}
		for _, o := range refs[1:] {
			if o.Exit != p.ref.Exit || (p.cfg.CompareOutput && o.StdoutSum != p.ref.StdoutSum) {
				return &errInconsistent{fmt.Sprintf("the unmodified program is not deterministic: exit %s, then %s", exitString(p.ref.Exit), describe(o))}
			}
		}
	}
	p.known = map[string]judged{"": {true, p.ref}}
	p.res.Steps = append(p.res.Steps, Step{Denied: []string{}, OK: true, Runs: len(refs), Exit: p.ref.Exit, Purpose: "reference", Duration: time.Since(start)})

	p.cands = p.cfg.Candidates
	if p.cands == nil {
		if p.cfg.Table == nil {
			return errors.New("no candidates and no gVisor table to compute them from")
		}
		var native []Candidate
		p.cands, native = splitNative(CandidatesFromCalls(p.ref.Calls, p.cfg.Table, p.cfg.Analysis, p.cfg.Arch, p.cfg.HasCap), p.ref.Calls)
		// Calls that already fail natively as gVisor fails them need no
		// experiment: the reference run shows the program copes.
		for _, c := range native {
			p.res.Fallbacks = append(p.res.Fallbacks, Fallback{Candidate: c, Native: true})
		}
	}
	p.res.Candidates = append(p.res.Candidates, p.cands...)
	if len(p.cands) == 0 {
		p.res.Verdict = analyze.Compatible
		if len(p.res.Fallbacks) > 0 {
			p.res.Verdict = analyze.FallbacksVerified
		}
		return nil
	}

	all := make([]int, len(p.cands))
	for i := range all {
		all[i] = i
	}
	ok, sim, err := p.test(ctx, all, true, "simulation")
	if err != nil {
		return err
	}
	p.res.Simulated = &sim
	if ok {
		p.res.Verdict = analyze.FallbacksVerified
		p.res.Fallbacks = append(fallbacks(p.cands, sim.Calls, p.ref.Calls), p.res.Fallbacks...)
		return nil
	}
	required, err := Search(len(p.cands), func(deny []int) (bool, error) {
		ok, _, err := p.test(ctx, deny, false, "search")
		return ok, err
	})
	if err != nil {
		return err
	}
	denied := make([]Candidate, 0, len(p.cands))
	for i, c := range p.cands {
		if slices.Contains(required.Required, i) {
			f := Finding{Candidate: c, Denied: []string{}}
			if j, ok := p.known[key(required.Evidence[i])]; ok {
				f.Evidence = j.o
			}
			for _, d := range required.Evidence[i] {
				f.Denied = append(f.Denied, p.cands[d].Syscall)
			}
			p.res.Required = append(p.res.Required, f)
		} else {
			denied = append(denied, c)
		}
	}
	// The observed simulation failed, so what it did after a denied call
	// says nothing about a working fallback; the runs that worked were not
	// observed. List the deniable ones without a follow-up.
	p.res.Fallbacks = append(fallbacks(denied, nil, nil), p.res.Fallbacks...)
	p.res.Verdict = analyze.Incompatible
	return nil
}

// test runs the configuration denying cands[idx] (Repeat times, once if
// cached) and judges it against the reference.
func (p *prober) test(ctx context.Context, idx []int, observe bool, purpose string) (bool, Outcome, error) {
	k := key(idx)
	if j, ok := p.known[k]; ok && (!observe || j.o.Calls != nil) {
		return j.ok, j.o, nil
	}
	deny := make([]Candidate, len(idx))
	names := make([]string, len(idx))
	for i, n := range idx {
		deny[i] = p.cands[n]
		names[i] = p.cands[n].Syscall
	}
	start := time.Now()
	outs, err := p.runN(ctx, deny, observe)
	if err != nil {
		return false, Outcome{}, err
	}
	took := time.Since(start)
	ok := p.success(outs[0])
	for _, o := range outs[1:] {
		if p.success(o) != ok {
			good := 0
			for _, o := range outs {
				if p.success(o) {
					good++
				}
			}
			return false, Outcome{}, &errInconsistent{fmt.Sprintf("denying %s: %d of %d runs worked (first: %s; then: %s)",
				strings.Join(names, ", "), good, len(outs), describe(outs[0]), describe(o))}
		}
	}
	// Keep a failing run as evidence: the first one is as good as any.
	p.known[k] = judged{ok, outs[0]}
	p.res.Steps = append(p.res.Steps, Step{Denied: names, OK: ok, Runs: len(outs), Exit: outs[0].Exit, Purpose: purpose, Duration: took})
	return ok, outs[0], nil
}

func (p *prober) runN(ctx context.Context, deny []Candidate, observe bool) ([]Outcome, error) {
	outs := make([]Outcome, 0, p.cfg.Repeat)
	for range p.cfg.Repeat {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := p.r.Run(ctx, deny, observe)
		if err != nil {
			return nil, err
		}
		p.res.Runs++
		outs = append(outs, o)
	}
	return outs, nil
}

// success judges a run against the reference.
func (p *prober) success(o Outcome) bool {
	if p.cfg.Test != "" {
		return testPassed(o)
	}
	if o.TimedOut || o.Exit != p.ref.Exit {
		return false
	}
	return !p.cfg.CompareOutput || o.StdoutSum == p.ref.StdoutSum
}

func testPassed(o Outcome) bool {
	return o.Test != nil && o.Test.NotReady == "" && o.Test.Exit == (profile.Exit{})
}

func key(idx []int) string {
	s := slices.Clone(idx)
	slices.Sort(s)
	var b strings.Builder
	for _, n := range s {
		fmt.Fprintf(&b, "%d,", n)
	}
	return b.String()
}

func exitString(e profile.Exit) string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("status %d", e.Code)
}

// describe summarises an outcome in one line for messages.
func describe(o Outcome) string {
	var s string
	switch {
	case o.Test != nil && o.Test.NotReady != "":
		s = "program not ready: " + o.Test.NotReady
	case o.Test != nil:
		s = "test command exit " + exitString(o.Test.Exit)
	case o.TimedOut:
		s = "timed out"
	default:
		s = "exit " + exitString(o.Exit)
	}
	if tail := lastLine(o.Stderr); tail != "" {
		s += ", stderr: " + tail
	}
	return s
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[len(s)-200:]
	}
	return s
}
