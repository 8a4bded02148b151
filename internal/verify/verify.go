//go:build linux

// Package verify answers "does it work under gVisor?" with real gVisor:
// it runs a program natively and under runsc from the same starting state,
// judges the outcome, and when the two part, explains why.
//
// The verdict comes from runs that nothing observes: natively without
// ptrace (isolated as the sandbox is: own PID, mount and network
// namespaces over a copy of the files), under runsc without --strace.
// Only when they part (or printed something that reads like an error) do
// two more runs explain it: natively under the tracer, under runsc with
// --strace. Their call streams are aligned and the divergence the outcome
// points at is the cause. If observing changed how either side ended, the
// report says so instead of guessing.
package verify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gvcheck/gvcheck/internal/diverge"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// Explain says when the explaining (observed) runs are made.
type Explain int

const (
	// ExplainAuto: when the program does not work, or printed new lines
	// that read like errors.
	ExplainAuto Explain = iota
	// ExplainAlways: also when it works, to list harmless differences.
	ExplainAlways
	// ExplainNever: the verdict alone.
	ExplainNever
)

// Config describes one verification.
type Config struct {
	Argv  []string
	Dir   string   // "": the current directory
	Env   []string // nil: this process's environment
	Stdin string   // "": /dev/null (for both runs)
	// Timeout bounds each run.
	Timeout time.Duration
	// Runner runs runsc; its Flags shape the sandbox (network, platform).
	Runner *gvisor.Runner
	// Network is the sandbox's network as Runner's flags choose it: the
	// native runs get the same ("none": loopback only; default).
	Network string
	// Bundle runs this OCI bundle under gVisor (`runsc run`) instead of
	// Argv, which still runs natively for the comparison.
	Bundle string
	// Rootfs and Path run a container image's program natively (see
	// launch.Config); Bundle is then its bundle.
	Rootfs *isolate.Rootfs
	Path   string
	// Sandbox, if set, makes the unobserved run under gVisor instead of
	// Runner (docker run --runtime=runsc); explaining runs still use
	// Runner.
	Sandbox func(context.Context) (*gvisor.RunResult, error)
	// Test and Ready check a server (see launch.Config).
	Test  string
	Ready launch.Ready
	// Expect and CompareOutput refine what "works" means.
	Expect        *regexp.Regexp
	CompareOutput bool
	// InPlace runs natively in the user's files rather than an isolated
	// copy (the sandbox always has its overlay).
	InPlace bool
	Explain Explain
	// Unsupported tells whether the target gVisor lacks what a call asks
	// (database rules); it ranks such divergences first.
	Unsupported func(profile.Call) bool
	// Stub tells whether the target gVisor answers a syscall with a stub
	// (nil: none is).
	Stub func(name string) bool
	// Progress, if set, hears what is being run.
	Progress func(string)
}

// Run is one run as the report shows it.
type Run struct {
	outcome.Run
	Duration time.Duration `json:"duration_ns"`
	// Calls is how many syscalls the observed run of this side recorded.
	Calls int `json:"calls"`
}

// Observed is what the explaining runs showed.
type Observed struct {
	Native Run `json:"native"`
	GVisor Run `json:"gvisor"`
	// Agrees: both observed runs ended as their unobserved twins.
	Agrees bool `json:"agrees"`
	// Note says how observing changed an outcome, when it did.
	Note string `json:"note,omitempty"`
}

// Result is the answer.
type Result struct {
	Command []string       `json:"command"`
	Outcome outcome.Result `json:"outcome"`
	Native  Run            `json:"native"`
	GVisor  Run            `json:"gvisor"`
	// RunscVersion and RunscFlags say which gVisor ran it, and how.
	RunscVersion string   `json:"runsc_version"`
	RunscFlags   []string `json:"runsc_flags"`
	// Cause is one sentence naming the most likely reason it does not
	// work; Because says what the choice rests on.
	Cause   string `json:"cause,omitempty"`
	Because string `json:"because,omitempty"`
	// CauseDivergence is the divergence the cause names (index into
	// Divergences), -1 for none.
	CauseDivergence int                        `json:"cause_divergence"`
	Divergences     []diverge.Divergence       `json:"-"`
	Unsupported     []gvisor.UnsupportedReport `json:"-"`
	Observed        *Observed                  `json:"observed,omitempty"`
	// NativeProfile is the observed native run's profile (nil when no
	// explaining run was made), for the static findings.
	NativeProfile *profile.Profile `json:"-"`
	Notes         []string         `json:"notes,omitempty"`
}

// Works reports whether the verdict is that the program works.
func (r *Result) Works() bool { return r.Outcome.Verdict.OK() }

// Verify runs the program both ways and judges it.
func Verify(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("verify: no command")
	}
	if cfg.Runner == nil {
		return nil, errors.New("verify: no runsc")
	}
	res := &Result{Command: cfg.Argv, CauseDivergence: -1}
	progress := func(s string) {
		if cfg.Progress != nil {
			cfg.Progress(s)
		}
	}
	network := cfg.Network
	if network == "" {
		network = "none"
	}

	// The verdict: both runs unobserved, side by side (they share nothing).
	progress("running natively and under gVisor")
	var (
		wg          sync.WaitGroup
		nat         *launch.Result
		natErr      error
		gv          *gvisor.RunResult
		gvErr       error
		unobserved  = *cfg.Runner
		gvStart     time.Time
		gvDurRecord time.Duration
	)
	unobserved.Strace = false
	unobserved.Timeout = cfg.Timeout
	wg.Add(2)
	go func() {
		defer wg.Done()
		nat, natErr = launch.Run(ctx, cfg.launchConfig(network))
	}()
	go func() {
		defer wg.Done()
		gvStart = time.Now()
		if cfg.Sandbox != nil {
			gv, gvErr = cfg.Sandbox(ctx)
		} else {
			gv, gvErr = unobserved.Run(ctx, cfg.gvisorOptions())
		}
		gvDurRecord = time.Since(gvStart)
	}()
	wg.Wait()
	if natErr != nil {
		return nil, fmt.Errorf("native run: %w", natErr)
	}
	gvRun, err := sandboxRun(gv, gvErr, gvDurRecord)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Native = Run{Run: nat.Run, Duration: nat.Duration}
	res.GVisor = gvRun
	res.RunscVersion, res.RunscFlags = gv.Version, gv.Flags
	res.Unsupported = gv.Unsupported
	opt := outcome.Options{Expect: cfg.Expect, CompareOutput: cfg.CompareOutput}
	res.Outcome = outcome.Compare(res.Native.Run, res.GVisor.Run, opt)
	if nat.Exit.Code != 0 && cfg.Test == "" {
		res.Notes = append(res.Notes, fmt.Sprintf("the program ends with %s natively too: the verdict compares with that", nat.Exit))
	}

	// Explain when it does not work, and when the output leaves a doubt:
	// lines that read like errors, lines missing, numbers that changed (a
	// stub's answer printed).
	o := res.Outcome
	explain := cfg.Explain == ExplainAlways ||
		cfg.Explain == ExplainAuto && (!res.Works() || len(o.Suspect) > 0 || o.LostLines > 0 || o.RawDiffers)
	if !explain {
		return res, nil
	}
	if err := explainRuns(ctx, cfg, network, res, opt, progress); err != nil {
		return nil, err
	}
	return res, nil
}

// explainRuns makes the observed runs, aligns their calls, rejudges the
// outcome with the errors gVisor gave, and picks the cause.
func explainRuns(ctx context.Context, cfg Config, network string, res *Result, opt outcome.Options, progress func(string)) error {
	progress("explaining: tracing natively and running under gVisor with --strace")
	var (
		wg    sync.WaitGroup
		nat   *observedNative
		nErr  error
		gv    *gvisor.RunResult
		gvErr error
		gvDur time.Duration
	)
	observed := *cfg.Runner
	observed.Strace = true
	observed.Timeout = cfg.Timeout
	wg.Add(2)
	go func() {
		defer wg.Done()
		nat, nErr = observeNative(ctx, cfg, network)
	}()
	go func() {
		defer wg.Done()
		start := time.Now()
		gv, gvErr = observed.Run(ctx, cfg.gvisorOptions())
		gvDur = time.Since(start)
	}()
	wg.Wait()
	if nErr != nil {
		return fmt.Errorf("observed native run: %w", nErr)
	}
	gvRun, err := sandboxRun(gv, gvErr, gvDur)
	if err != nil {
		return fmt.Errorf("observed run under gVisor: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	obs := &Observed{GVisor: gvRun, Native: nat.run}
	obs.GVisor.Calls = len(gv.Calls)
	res.NativeProfile = nat.profile
	nCalls := nat.calls
	res.Observed = obs
	res.Native.Calls, res.GVisor.Calls = obs.Native.Calls, obs.GVisor.Calls
	res.Unsupported = mergeUnsupported(res.Unsupported, gv.Unsupported)

	// Did observing change either side's ending?
	nSame := sameEnding(res.Native.Run, obs.Native.Run)
	gSame := sameEnding(res.GVisor.Run, obs.GVisor.Run)
	obs.Agrees = nSame && gSame
	switch {
	case !nSame && !gSame:
		obs.Note = fmt.Sprintf("observing changed how both runs ended (native %s, traced %s; gVisor %s, with --strace %s): the explanation may not be the cause",
			ending(res.Native.Run), ending(obs.Native.Run), ending(res.GVisor.Run), ending(obs.GVisor.Run))
	case !nSame:
		obs.Note = fmt.Sprintf("the program ends differently when traced natively (%s, unobserved %s): it is sensitive to ptrace or timing, so the explanation may not be the cause",
			ending(obs.Native.Run), ending(res.Native.Run))
	case !gSame:
		obs.Note = fmt.Sprintf("the program ends differently under gVisor with --strace (%s, without %s): a race or a timing dependence, so the explanation may not be the cause",
			ending(obs.GVisor.Run), ending(res.GVisor.Run))
	}
	if obs.Note != "" {
		res.Notes = append(res.Notes, obs.Note)
	}

	unsup := func(c profile.Call) bool {
		if gv.IsUnsupported(c) {
			return true
		}
		return cfg.Unsupported != nil && cfg.Unsupported(c)
	}
	res.Divergences = diverge.CompareWith(nCalls, gv.Calls, diverge.Options{Unsupported: unsup})

	// Rejudge with the errors gVisor gave where Linux did not: a new line
	// naming one of them is evidence of lost function.
	opt.Errnos = divergentErrnos(res.Divergences, res.Unsupported)
	opt.Baseline = []outcome.Run{obs.Native.Run}
	opt.LostErrno = missingErrno(res.Divergences)
	opt.Values = valueChanges(res.Divergences, cfg.Stub)
	res.Outcome = outcome.Compare(res.Native.Run, res.GVisor.Run, opt)
	if !res.Works() {
		chooseCause(res, gv.Calls, nCalls, unsup)
		causeFirst(res)
	}
	return nil
}

// observedNative is the traced native run.
type observedNative struct {
	run     Run
	calls   []profile.Call
	profile *profile.Profile
}

// observeNative runs the program under the tracer (full mode, exact
// errors, every path), set up as the unobserved run was.
func observeNative(ctx context.Context, cfg Config, network string) (*observedNative, error) {
	o, err := launch.Observe(ctx, cfg.launchConfig(network), trace.Options{Full: true, ExactErrors: true}, true)
	if err != nil {
		return nil, err
	}
	return &observedNative{run: Run{Run: o.Run, Duration: o.Duration, Calls: len(o.Calls)}, calls: o.Calls, profile: o.Profile}, nil
}

func (cfg Config) launchConfig(network string) launch.Config {
	return launch.Config{
		Argv: cfg.Argv, Env: cfg.Env, Dir: cfg.Dir, Stdin: cfg.Stdin, Timeout: cfg.Timeout,
		Isolate: !cfg.InPlace, Network: network, Test: cfg.Test, Ready: cfg.Ready, Rootfs: cfg.Rootfs, Path: cfg.Path,
	}
}

func (cfg Config) gvisorOptions() gvisor.RunOptions {
	opt := gvisor.RunOptions{Argv: cfg.Argv, Dir: cfg.Dir, Env: cfg.Env, Bundle: cfg.Bundle, StdinFile: cfg.Stdin}
	if cfg.Test != "" {
		opt.Test = []string{"sh", "-c", cfg.Test}
		opt.Ready = readyCommand(cfg.Ready)
	}
	return opt
}

// readyCommand turns a readiness condition into a command run inside the
// sandbox; a port needs none, since the test is retried until it passes.
func readyCommand(r launch.Ready) []string {
	var conds []string
	if r.File != "" {
		conds = append(conds, "test -e '"+strings.ReplaceAll(r.File, "'", `'\''`)+"'")
	}
	if r.Delay > 0 {
		conds = append(conds, fmt.Sprintf("sleep %.3f", r.Delay.Seconds()))
	}
	if len(conds) == 0 {
		return nil
	}
	return []string{"sh", "-c", strings.Join(conds, " && ")}
}

// sandboxRun turns runsc's result into a run to judge: a refusal to start
// the program and a hang are outcomes, anything else runsc could not do is
// an error.
func sandboxRun(gv *gvisor.RunResult, err error, d time.Duration) (Run, error) {
	switch {
	case err == nil:
	case errors.Is(err, gvisor.ErrRefused) && gv != nil:
		return Run{Run: outcome.Run{Refused: gv.Refused, Exit: gv.Exit, Stdout: gv.Stdout, Stderr: gv.Stderr}, Duration: d}, nil
	case errors.Is(err, gvisor.ErrTimedOut) && gv != nil:
		return Run{Run: outcome.Run{TimedOut: true, Exit: gv.Exit, Stdout: gv.Stdout, Stderr: gv.Stderr}, Duration: d}, nil
	default:
		return Run{}, fmt.Errorf("run under gVisor: %w", err)
	}
	r := Run{Run: outcome.Run{Exit: gv.Exit, Stdout: gv.Stdout, Stderr: gv.Stderr}, Duration: gv.Duration}
	if gv.Stopped && gv.Test == nil && !gv.Ready {
		r.TimedOut = true
	}
	if gv.Test != nil || gv.Ready {
		r.Test = &outcome.Test{}
		switch {
		case gv.Test != nil:
			r.Test.Exit = gv.Test.Exit
			r.Test.Output = string(gv.Test.Stdout) + string(gv.Test.Stderr)
		default:
			r.Test.NotReady = "never ready"
		}
	}
	return r, nil
}

func sameEnding(a, b outcome.Run) bool {
	if a.Test != nil || b.Test != nil {
		// A server is stopped by us: its test decides, not its exit.
		return a.Test.Passed() == b.Test.Passed() && a.TimedOut == b.TimedOut
	}
	return a.Exit.Code == b.Exit.Code && a.TimedOut == b.TimedOut && (a.Refused == "") == (b.Refused == "") &&
		a.Test.Passed() == b.Test.Passed()
}

func ending(r outcome.Run) string {
	switch {
	case r.Refused != "":
		return "refused"
	case r.TimedOut:
		return "timed out"
	case r.Test != nil && !r.Test.Passed():
		return "test failed"
	}
	return r.Exit.String()
}

// divergentErrnos are the errors gVisor gave where Linux did not.
func divergentErrnos(ds []diverge.Divergence, us []gvisor.UnsupportedReport) []string {
	var out []string
	add := func(e string) {
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, d := range ds {
		if d.Kind != diverge.KindSucceeded && d.GVisor.Errno != d.Native.Errno {
			add(d.GVisor.Errno)
		}
	}
	for _, u := range us {
		if !u.Harmless {
			add("ENOSYS")
		}
	}
	return out
}

// causeFirst moves the divergence the cause names to the top of the list:
// the list reads "most likely cause first".
func causeFirst(res *Result) {
	i := res.CauseDivergence
	if i <= 0 || i >= len(res.Divergences) {
		return
	}
	d := res.Divergences[i]
	copy(res.Divergences[1:i+1], res.Divergences[:i])
	res.Divergences[0] = d
	for k := range res.Divergences {
		res.Divergences[k].Rank = k + 1
	}
	res.CauseDivergence = 0
}

// missingErrno is the errno of the most telling divergence that takes
// something away (a missing path, an unsupported call, ioctl or socket
// family), which explains output the program no longer prints.
func missingErrno(ds []diverge.Divergence) string {
	for _, d := range ds {
		switch d.Kind {
		case diverge.KindMissingPath, diverge.KindUnsupported, diverge.KindIoctl, diverge.KindSocketFamily:
			if d.GVisor.Errno != "" {
				return d.GVisor.Errno
			}
		case diverge.KindListing:
			// The entries it did not list do not exist there.
			return "ENOENT"
		}
	}
	return ""
}

// valueChanges are the calls that returned another value under gVisor,
// marked where gVisor documents the call as a stub.
func valueChanges(ds []diverge.Divergence, stub func(string) bool) []outcome.Value {
	var out []outcome.Value
	for _, d := range ds {
		if d.Kind == diverge.KindValue {
			out = append(out, outcome.Value{Call: d.GVisor.Name, Native: d.Native.Ret, Other: d.GVisor.Ret,
				Stub: stub != nil && stub(d.GVisor.Name)})
		}
	}
	return out
}

func mergeUnsupported(a, b []gvisor.UnsupportedReport) []gvisor.UnsupportedReport {
	for _, u := range b {
		if !slices.ContainsFunc(a, func(x gvisor.UnsupportedReport) bool { return x.Name == u.Name && x.Key == u.Key }) {
			a = append(a, u)
		}
	}
	return a
}
