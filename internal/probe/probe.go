// Package probe answers the founding article's open question, "does the
// program fall back when gVisor lacks something?", by experiment. It runs
// the program natively as the reference, traces it once to learn what it
// asks of the kernel, and runs it again while everything the target gVisor
// does differently from Linux is simulated (package simulate): missing
// syscalls and argument values fail with gVisor's errno, absent /proc,
// /sys and /dev entries do not exist, execs gVisor refuses fail, stubs
// return gVisor's fixed values. If the outcome changes (it fails, or it
// says that something failed with an error it was given), adaptive group
// testing finds the differences it cannot do without, in far fewer runs
// than one per difference. Each difference ends required, tolerated or
// not reached.
//
// Every run that decides is unobserved (no ptrace) and isolated as a
// sandbox is, from the same starting state (package launch).
package probe

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Config describes one probe.
type Config struct {
	Argv  []string
	Dir   string   // "": the current directory
	Env   []string // nil: this process's environment
	Stdin string   // "": /dev/null
	// Timeout bounds each run; Grace is a server's time between SIGTERM
	// and SIGKILL after its test.
	Timeout time.Duration
	Grace   time.Duration
	// Test and Ready check a server (see launch.Config).
	Test  string
	Ready launch.Ready
	// Expect and CompareOutput refine what "works" means.
	Expect        *regexp.Regexp
	CompareOutput bool
	// Repeat runs each configuration this many times (default 1); runs
	// that disagree make the result inconsistent instead of guessed.
	Repeat int
	// InPlace runs in the user's files rather than isolated copies.
	InPlace bool
	// Network is the sandbox's network: "none" (default) gives every run a
	// network namespace with only loopback, as runsc --network=none does.
	Network string
	// Rootfs and Path run a container image's program (see launch.Config).
	Rootfs *isolate.Rootfs
	Path   string
	// Observe is the policy of the traced run that learns what the program
	// asks of the kernel (the fast-mode policy of the target, with paths);
	// nil traces every call.
	Observe *policy.Policy
	// Analyze judges the observed profile against the target gVisor.
	Analyze func(*profile.Profile) []analyze.Finding
	// Target says how differences are simulated (capabilities).
	Target simulate.Target
	// Differences, if set, are simulated instead of those of the traced
	// run (tests, and callers that already traced the program).
	Differences []*simulate.Difference
	Progress    func(string)
}

// Defaults for Config's zero values.
const (
	DefaultTimeout = launch.DefaultTimeout
	DefaultGrace   = launch.DefaultGrace
)

// Status is what an experiment showed of one difference.
type Status string

const (
	// Required: the outcome changes when it is simulated (with the
	// differences found deniable before it).
	Required Status = "required"
	// Tolerated: simulated, and the program still worked.
	Tolerated Status = "tolerated"
	// NotReached: simulated, but the program never made such a call.
	NotReached Status = "not-reached"
)

// Tried is one difference with what the experiments showed.
type Tried struct {
	*simulate.Difference
	Status Status `json:"status"`
	// Hits is how many calls met it in the run with everything simulated.
	Hits uint64 `json:"hits"`
	// Evidence, for a required difference, is the outcome of the run that
	// isolated it, and Denied what that run simulated.
	Evidence string   `json:"evidence,omitempty"`
	Denied   []string `json:"denied,omitempty"`
	// Examples are paths the difference hid, when its title names none.
	Examples []string `json:"examples,omitempty"`
}

// Run is one run's outcome as reported.
type Run struct {
	outcome.Run
	Duration time.Duration `json:"duration_ns"`
}

// Step is one configuration tested.
type Step struct {
	Simulated []string      `json:"simulated"`
	Verdict   string        `json:"verdict"`
	Runs      int           `json:"runs"`
	Exit      profile.Exit  `json:"exit"`
	Purpose   string        `json:"purpose"` // reference, observe, simulation, search
	Duration  time.Duration `json:"duration_ns"`
}

// Result is the answer of a probe.
type Result struct {
	// Outcome judges the run with every difference simulated against the
	// reference: works, degraded or fails.
	Outcome outcome.Result `json:"outcome"`
	// Verdict in the report vocabulary: compatible (nothing to simulate),
	// fallbacks-verified (it works with them all), incompatible (it needs
	// some), at-risk (runs disagreed).
	Verdict     analyze.Verdict `json:"verdict"`
	Differences []Tried         `json:"differences"`
	// Cause names the required differences in one sentence.
	Cause     string `json:"cause,omitempty"`
	Reference Run    `json:"reference"`
	Simulated *Run   `json:"simulated,omitempty"`
	// Observed is the traced run that found the differences; Note says
	// when it ended unlike the reference.
	Observed *Run          `json:"observed,omitempty"`
	Steps    []Step        `json:"steps"`
	Runs     int           `json:"runs"`
	Wall     time.Duration `json:"wall_ns"`
	// Inconsistent is set when repeated runs of one configuration
	// disagreed; Inconsistency says which.
	Inconsistent  bool     `json:"inconsistent,omitempty"`
	Inconsistency string   `json:"inconsistency,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

// Works reports whether the program works with every difference simulated.
func (r *Result) Works() bool { return r.Outcome.Verdict.OK() && !r.Inconsistent }

// required returns the required differences.
func (r *Result) required() []Tried {
	var out []Tried
	for _, t := range r.Differences {
		if t.Status == Required {
			out = append(out, t)
		}
	}
	return out
}

// ErrReferenceFailed is returned (wrapped) when the program does not work
// even natively (its test fails, it hangs), so there is nothing to compare
// against.
var ErrReferenceFailed = errors.New("reference run failed")

// errInconsistent stops the search when repeated runs disagree.
type errInconsistent struct{ msg string }

func (e *errInconsistent) Error() string { return e.msg }

// runner makes the runs of a probe: the reference and simulations
// unobserved, and one traced run. Tests substitute it.
type runner interface {
	// run runs the program with the differences of on simulated (none:
	// a native reference) and returns its outcome and, per difference,
	// how many calls met it.
	run(ctx context.Context, ds []*simulate.Difference, on simulate.Set) (*launch.Result, *met, error)
	// observe traces the program once and returns its profile.
	observe(ctx context.Context) (*launch.Result, *profile.Profile, error)
}

// met is what a simulated run met of the differences.
type met struct {
	hits []uint64 // calls that met each difference
	// examples are paths hidden as simulate.OtherPaths.
	examples []string
}

// Probe runs the experiment.
func Probe(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("probe: no command")
	}
	if cfg.Arch() != sysno.Host() {
		return nil, fmt.Errorf("probe: the target is %s but this machine is %s; experiments run natively", cfg.Arch(), sysno.Host())
	}
	return probeWith(ctx, cfg, &execRunner{cfg: cfg})
}

// Arch is the architecture experiments run on.
func (cfg Config) Arch() sysno.Arch {
	if cfg.Target.Arch == "" {
		return sysno.Host()
	}
	return cfg.Target.Arch
}

func probeWith(ctx context.Context, cfg Config, r runner) (*Result, error) {
	start := time.Now()
	if cfg.Repeat < 1 {
		cfg.Repeat = 1
	}
	p := &prober{cfg: cfg, r: r, res: &Result{Differences: []Tried{}, Steps: []Step{}}, known: map[string]judged{}}
	err := p.probe(ctx)
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
	r     runner
	res   *Result
	ref   *launch.Result
	obs   *launch.Result
	ds    []*simulate.Difference
	known map[string]judged // configurations already run, by key
}

type judged struct {
	res  outcome.Result
	out  *launch.Result
	hits []uint64
	met  *met
}

func (p *prober) progress(format string, args ...any) {
	if p.cfg.Progress != nil {
		p.cfg.Progress(fmt.Sprintf(format, args...))
	}
}

func (p *prober) probe(ctx context.Context) error {
	// The reference: unobserved, nothing simulated.
	p.progress("reference run")
	start := time.Now()
	refs, err := p.runN(ctx, nil)
	if err != nil {
		return fmt.Errorf("reference run: %w", err)
	}
	p.ref = refs[0].out
	p.res.Reference = Run{Run: p.ref.Run, Duration: p.ref.Duration}
	if p.cfg.Test != "" && !p.ref.Test.Passed() {
		return fmt.Errorf("%w: the test command failed against the unmodified program (%s)", ErrReferenceFailed, describe(p.ref.Run))
	}
	if p.ref.TimedOut {
		return fmt.Errorf("%w: timed out after %s (raise --timeout, or use --test for servers)", ErrReferenceFailed, p.ref.Duration.Round(time.Millisecond))
	}
	for _, o := range refs[1:] {
		if v := outcome.Compare(p.ref.Run, o.out.Run, p.options(nil, nil)); !v.Verdict.OK() {
			return &errInconsistent{"the unmodified program does not behave the same twice: " + v.Summary()}
		}
	}
	p.step(nil, outcome.Works, len(refs), p.ref, "reference", time.Since(start))
	if p.ref.Exit.Code != 0 && p.cfg.Test == "" {
		p.res.Notes = append(p.res.Notes, fmt.Sprintf("the program ends with %s natively: experiments are compared with that", p.ref.Exit))
	}

	// What the program asks of the kernel, from one traced run.
	p.ds = p.cfg.Differences
	if p.ds == nil {
		p.progress("tracing to find what gVisor does differently")
		start := time.Now()
		obs, prof, err := p.r.observe(ctx)
		if err != nil {
			return fmt.Errorf("traced run: %w", err)
		}
		p.res.Runs++
		p.obs = obs
		p.res.Observed = &Run{Run: obs.Run, Duration: obs.Duration}
		p.step(nil, "", 1, obs, "observe", time.Since(start))
		if v := outcome.Compare(p.ref.Run, obs.Run, p.options(nil, nil)); !v.Verdict.OK() {
			p.res.Notes = append(p.res.Notes, "the program ends differently when traced ("+v.Summary()+"): what it does traced may not be what it does")
		}
		var findings []analyze.Finding
		if p.cfg.Analyze != nil {
			findings = p.cfg.Analyze(prof)
		}
		p.ds = simulate.Differences(prof, findings, p.cfg.Target)
	}
	n := len(p.ds)
	if n == 0 {
		p.res.Outcome = outcome.Result{Verdict: outcome.Works, Evidence: []outcome.Evidence{}}
		p.res.Verdict = analyze.Compatible
		return nil
	}

	// Everything simulated at once.
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	j, err := p.test(ctx, all, "simulation")
	if err != nil {
		return err
	}
	p.res.Outcome = j.res
	p.res.Simulated = &Run{Run: j.out.Run, Duration: j.out.Duration}
	for i, d := range p.ds {
		t := Tried{Difference: d, Hits: j.hits[i], Status: Tolerated}
		if j.hits[i] == 0 {
			t.Status = NotReached
		}
		if d.Path == simulate.OtherPaths && j.met != nil {
			t.Examples = j.met.examples
		}
		p.res.Differences = append(p.res.Differences, t)
	}
	if j.res.Verdict.OK() {
		p.res.Verdict = analyze.Compatible
		if slices.ContainsFunc(p.res.Differences, func(t Tried) bool { return t.Status == Tolerated }) {
			p.res.Verdict = analyze.FallbacksVerified
		}
		return nil
	}

	// Which of the differences the program met does it need? Those it
	// never met cannot matter to this outcome.
	var met []int
	for i := range p.ds {
		if j.hits[i] > 0 {
			met = append(met, i)
		}
	}
	if len(met) == 0 {
		// The outcome changed though no simulated call was made: the
		// filter itself, or a flaky program.
		p.res.Verdict = analyze.AtRisk
		p.res.Notes = append(p.res.Notes, "the program changed its outcome under the simulation without meeting any simulated difference: it may be timing-sensitive (try --repeat)")
		return nil
	}
	found, err := Search(len(met), func(deny []int) (bool, error) {
		idx := make([]int, len(deny))
		for k, d := range deny {
			idx[k] = met[d]
		}
		jj, err := p.test(ctx, idx, "search")
		if err != nil {
			return false, err
		}
		return jj.res.Verdict.OK(), nil
	})
	if err != nil {
		return err
	}
	var titles []string
	for _, r := range found.Required {
		i := met[r]
		t := &p.res.Differences[i]
		t.Status = Required
		var ev []int
		for _, e := range found.Evidence[r] {
			ev = append(ev, met[e])
			t.Denied = append(t.Denied, p.ds[met[e]].Title)
		}
		if jj, ok := p.known[key(ev)]; ok {
			t.Evidence = jj.res.Summary()
		}
		titles = append(titles, d2s(p.ds[i], t.Examples))
	}
	p.res.Verdict = analyze.Incompatible
	p.res.Cause = "it needs " + strings.Join(titles, " and ")
	return nil
}

func d2s(d *simulate.Difference, examples []string) string {
	switch d.Kind {
	case simulate.KindPath:
		if len(examples) > 0 {
			return strings.Join(examples, ", ") + " (absent under gVisor: " + d.Answer() + ")"
		}
		return d.Title + " (absent under gVisor: " + d.Answer() + ")"
	case simulate.KindExec:
		s := "to exec " + d.Title + " (gVisor: " + d.Answer() + ", file capabilities"
		if d.NeedsFlag != "" {
			s += "; works with " + d.NeedsFlag
		}
		return s + ")"
	}
	s := d.Title + " (gVisor: " + d.Answer()
	if d.NeedsFlag != "" {
		s += " unless runsc runs with " + d.NeedsFlag
	}
	return s + ")"
}

// options are the outcome comparison options for a run that was given the
// errors of the differences it met.
func (p *prober) options(on simulate.Set, hits []uint64) outcome.Options {
	opt := outcome.Options{Expect: p.cfg.Expect, CompareOutput: p.cfg.CompareOutput}
	for i, d := range p.ds {
		if on == nil || !on[i] || hits == nil || hits[i] == 0 {
			continue
		}
		if d.Errno != "" && !slices.Contains(opt.Errnos, d.Errno) {
			opt.Errnos = append(opt.Errnos, d.Errno)
		}
		if d.Kind == simulate.KindPath && opt.LostErrno == "" {
			// Output the program no longer prints, with a file gone.
			opt.LostErrno = d.Errno
		}
		if d.Value != nil && d.Kind == simulate.KindValue && d.Syscall != "" {
			opt.Values = append(opt.Values, outcome.Value{Call: d.Syscall, Other: *d.Value, NativeUnknown: true, Stub: true})
		}
	}
	if p.obs != nil {
		opt.Baseline = []outcome.Run{p.obs.Run}
	}
	return opt
}

// test runs the configuration simulating idx (Repeat times, once if
// cached) and judges it against the reference.
func (p *prober) test(ctx context.Context, idx []int, purpose string) (judged, error) {
	k := key(idx)
	if j, ok := p.known[k]; ok {
		return j, nil
	}
	on := simulate.Only(len(p.ds), idx)
	p.progress("%s: simulating %s", purpose, simulate.Describe(p.ds, on))
	start := time.Now()
	outs, err := p.runN(ctx, on)
	if err != nil {
		return judged{}, err
	}
	var first judged
	for n, o := range outs {
		j := judged{res: outcome.Compare(p.ref.Run, o.out.Run, p.options(on, o.met.hits)), out: o.out, hits: o.met.hits, met: o.met}
		if n == 0 {
			first = j
			continue
		}
		if j.res.Verdict.OK() != first.res.Verdict.OK() {
			return judged{}, &errInconsistent{fmt.Sprintf("simulating %s: the runs disagree (first: %s; then: %s)",
				simulate.Describe(p.ds, on), first.res.Summary(), j.res.Summary())}
		}
	}
	p.known[k] = first
	p.step(idx, first.res.Verdict, len(outs), first.out, purpose, time.Since(start))
	return first, nil
}

type ran struct {
	out *launch.Result
	met *met
}

func (p *prober) runN(ctx context.Context, on simulate.Set) ([]ran, error) {
	outs := make([]ran, 0, p.cfg.Repeat)
	for range p.cfg.Repeat {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, m, err := p.r.run(ctx, p.ds, on)
		if err != nil {
			return nil, err
		}
		p.res.Runs++
		outs = append(outs, ran{o, m})
	}
	return outs, nil
}

func (p *prober) step(idx []int, v outcome.Judgement, runs int, o *launch.Result, purpose string, d time.Duration) {
	names := []string{}
	for _, i := range idx {
		names = append(names, p.ds[i].Title)
	}
	p.res.Steps = append(p.res.Steps, Step{Simulated: names, Verdict: string(v), Runs: runs, Exit: o.Exit, Purpose: purpose, Duration: d})
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

// describe summarises an outcome in one line for messages.
func describe(r outcome.Run) string {
	var s string
	switch {
	case r.Test != nil && r.Test.NotReady != "":
		s = "program not ready: " + r.Test.NotReady
	case r.Test != nil:
		s = "test command " + r.Test.Exit.String()
	case r.TimedOut:
		s = "timed out"
	default:
		s = r.Exit.String()
	}
	if tail := lastLine(string(r.Stderr)); tail != "" {
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
