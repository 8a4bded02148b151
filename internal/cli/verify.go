package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/container"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/verify"
)

func newVerifyCmd(e *env) *cobra.Command {
	var (
		target        targetFlags
		out           outputFlags
		timeout       time.Duration
		test, ready   string
		bundle        string
		expect        string
		explain       string
		compareOutput bool
		inPlace       bool
		maxShown      int
		img           imageFlags
		via           string
	)
	cmd := &cobra.Command{
		Use:   "verify [flags] -- CMD [ARGS...]",
		Short: "Run a program under real gVisor and natively, compare, and say why they differ",
		Long: `Run a program natively and under real gVisor (runsc), from the same starting
state, and judge: it works under gVisor when it ends as it does natively
(exit status, no hang; with --test, the test passes; with --expect, the
output matches) and prints no new message carrying an error gVisor gave it.
A program that ends the same way but says that something failed is
"degraded", which counts as not working.

The verdict comes from runs that nothing observes: natively without ptrace,
isolated as the sandbox is (own PID, mount and network namespaces, over a
private copy of the files, so the runs share nothing and your files stay as
they were), and under runsc without --strace. When they part, two more runs
explain why: natively under the tracer and under runsc --strace; the calls
are aligned and the cause is the divergence the outcome points at. If
tracing changed how a run ended, the report says so.

Standard input is /dev/null.

With --image, the program is a container image's (its entrypoint and cmd,
arguments after -- replacing the cmd, its environment, working directory
and user), and both sides run it as Docker would: natively from the
image's own root (its layers read-only under a private overlay, /proc,
/sys, a minimal /dev, /etc/hosts and the like mounted, Docker's capability
set, the image's user and groups), and under gVisor with 'runsc run' on an
OCI bundle generated from the image with Docker's default specification.
--cap-add, --cap-drop, --privileged, --read-only, --network and --user
change both sides as 'docker run' would; --cap-add NET_RAW and --network
host also give runsc the options they need (--net-raw, --network=host).
With --via docker, the verdict's run under gVisor is 'docker run
--runtime=runsc' of the Engine's image (docker:NAME), as users run it; runs
that explain a failure still use gvcheck's bundle, whose runsc logs every
call. The Engine needs runsc registered as a runtime: ` + container.RegisterHint + `.

runsc comes from PATH or --runsc, and must be a static build
(` + gvisor.InstallHint + `).

` + exitStatusHelp,
		Example: `  gvcheck verify -- python3 -c 'print(1)'
  gvcheck verify -- nmap localhost
  gvcheck verify --ready port:8000 --test 'curl -sf http://127.0.0.1:8000/' -- python3 -m http.server 8000
  gvcheck verify --image docker:myapp:latest
  gvcheck verify --image archive:app.tar --cap-add NET_RAW -- ping -c1 127.0.0.1`,
		Args: commandOrImage(&img),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			if err := experimentFormat(&out); err != nil {
				return err
			}
			failOn, err := parseFailOn(out.failOn)
			if err != nil {
				return err
			}
			if err := img.check(cmd); err != nil {
				return err
			}
			var notes []string
			if img.used() {
				if bundle != "" {
					return usagef("--bundle and --image both name what runs under gVisor: give one")
				}
				notes = img.implyFlags(&target)
			}
			switch via {
			case "runsc":
			case "docker":
				if !img.used() || container.ImageName(img.ref) == "" {
					return usagef("--via docker runs an image of the Docker Engine: give --image docker:NAME")
				}
				if test != "" {
					return usagef("--via docker cannot test a server (--test): the test runs inside gvcheck's own sandbox")
				}
			default:
				return usagef("--via: want runsc or docker, not %q", via)
			}
			flags, err := target.options()
			if err != nil {
				return err
			}
			rdy, err := parseReady(ready, test)
			if err != nil {
				return err
			}
			var re *regexp.Regexp
			if expect != "" {
				if re, err = regexp.Compile(expect); err != nil {
					return usagef("--expect: %v", err)
				}
			}
			mode, err := parseExplain(explain)
			if err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer cancel()

			runner := &gvisor.Runner{Runsc: target.runsc, Flags: flags, Timeout: timeout}
			if err := runner.Check(ctx); err != nil {
				return withHint(err, "install a static runsc: "+gvisor.InstallHint)
			}
			tg, err := target.resolve(ctx, sysno.Host())
			if err != nil {
				return err
			}
			vc := verify.Config{
				Argv: args, Timeout: timeout, Runner: runner, Network: networkOf(flags), Bundle: bundle,
				Test: test, Ready: rdy, Expect: re, CompareOutput: compareOutput,
				InPlace: inPlace, Explain: mode, Unsupported: tg.unsupportedCall, Stub: tg.stubCall,
			}
			if img.used() {
				ir, err := img.prepare(ctx, args)
				if err != nil {
					return err
				}
				defer ir.Close()
				ir.setTarget(tg)
				container.CleanStale() // bundles a killed gvcheck left mounted
				b, err := container.NewBundle(ir.im, ir.proc, ir.settings)
				if err != nil {
					return err
				}
				defer b.Close()
				vc.Argv, vc.Env, vc.Dir, vc.Rootfs, vc.Path, vc.Bundle = ir.proc.Argv, ir.proc.Env, ir.proc.Dir, ir.rootfs, ir.proc.Path, b.Dir
				vc.InPlace = false
				if via == "docker" {
					if _, _, err := container.Runtime(ctx, "runsc"); err != nil {
						return withHint(err, container.RegisterHint)
					}
					dr := container.DockerRun{Image: container.ImageName(img.ref), Args: args, Settings: ir.settings, Timeout: timeout}
					vc.Sandbox = dr.Run
					notes = append(notes, "the verdict's run under gVisor was docker run --runtime=runsc "+dr.Image)
				}
			}
			res, err := verify.Verify(ctx, vc)
			if err != nil {
				return err
			}
			v := buildVerify(res, tg, target.runscPath(), maxShown)
			v.Notes = append(v.Notes, notes...)
			if err := out.writeTo(e.stdout, func(w io.Writer) error { return report.WriteVerify(w, v, out.format) }); err != nil {
				return err
			}
			if outcomeFails(v.Works, failOn) {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	target.register(fs)
	out.register(fs)
	registerFailOn(fs, &out.failOn)
	fs.DurationVar(&timeout, "timeout", 60*time.Second, "time limit of each run")
	fs.StringVar(&test, "test", "", "for servers: a shell command whose success means the program works (run next to it, in its namespaces; under gVisor inside the sandbox)")
	fs.StringVar(&ready, "ready", "", "for servers: wait for port:N, file:PATH or delay:D before --test")
	fs.StringVar(&expect, "expect", "", "the program works only if its output (stdout and stderr) matches this regular expression")
	fs.StringVar(&bundle, "bundle", "", "run this OCI bundle with 'runsc run' under gVisor (CMD still runs natively for the comparison)")
	fs.StringVar(&explain, "explain", "auto", "when to trace both sides to explain the verdict: auto (when it does not work), always, never")
	fs.BoolVar(&compareOutput, "compare-output", false, "the program works only if its stdout is also the same")
	fs.BoolVar(&inPlace, "in-place", false, "run natively in the current directory itself instead of a private copy (the program's writes stay)")
	fs.IntVar(&maxShown, "max-divergences", 10, "show at most this many divergences")
	img.register(fs)
	fs.StringVar(&via, "via", "runsc", "with --image: run the gVisor side with runsc run on gvcheck's bundle (runsc), or with docker run --runtime=runsc (docker; --image docker:NAME)")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func parseExplain(s string) (verify.Explain, error) {
	switch s {
	case "auto", "":
		return verify.ExplainAuto, nil
	case "always":
		return verify.ExplainAlways, nil
	case "never":
		return verify.ExplainNever, nil
	}
	return 0, usagef("--explain: want auto, always or never, not %q", s)
}

func buildVerify(res *verify.Result, tg *target, runsc string, maxShown int) *report.Verify {
	table := tg.table
	v := &report.Verify{
		Schema: report.VerifySchema, Tool: "gvcheck " + Version, Command: res.Command, Target: tg.report,
		GVisor:      report.GVisorRun{Runsc: runsc, Version: res.RunscVersion, Flags: res.RunscFlags},
		Divergences: []report.Divergence{}, Unsupported: []report.GVisorReport{}, Findings: []analyze.Finding{},
		Works: res.Works(), Outcome: string(res.Outcome.Verdict), Evidence: []report.Evidence{},
		Cause: res.Cause, Because: res.Because, Notes: res.Notes,
	}
	for _, ev := range res.Outcome.Evidence {
		v.Evidence = append(v.Evidence, report.Evidence{Kind: ev.Kind, Text: ev.Text, Stream: ev.Stream, Errno: ev.Errno})
	}
	v.Native = runOutcome(res.Native)
	v.Sandbox = runOutcome(res.GVisor)
	if !v.Works {
		v.Sandbox.Stderr = lastLines(string(res.GVisor.Stderr), 8)
	}
	if res.Outcome.OutputDiffers {
		v.OutputDiff = firstDifference(string(res.Native.Stdout), string(res.GVisor.Stdout))
	}
	if o := res.Observed; o != nil {
		v.Observed = &report.ObservedRuns{Native: runOutcome(o.Native), GVisor: runOutcome(o.GVisor), Agrees: o.Agrees, Note: o.Note}
	}
	for i, d := range res.Divergences {
		if i == maxShown {
			break
		}
		rd := report.Divergence{
			Rank: d.Rank, Kind: d.Kind, Summary: d.Summary, Exe: d.Exe, Count: d.Count, ProcessFailed: d.ProcessFailed,
			Native: callString(d.Native), GVisor: callString(d.GVisor), Syscall: firstNonEmpty(d.GVisor.Name, d.Native.Name),
		}
		if nr, ok := sysno.Number(table.Arch, rd.Syscall); ok {
			if en := table.Lookup(nr); en.Support != compat.Full {
				rd.Note, rd.URLs = en.Note, en.URLs
			}
		}
		v.Divergences = append(v.Divergences, rd)
	}
	if i := res.CauseDivergence; i >= 0 && i < len(v.Divergences) && v.Divergences[i].Note != "" {
		v.Cause += " (gVisor: " + strings.TrimSuffix(v.Divergences[i].Note, ".") + ")"
	}
	for _, u := range res.Unsupported {
		v.Unsupported = append(v.Unsupported, report.GVisorReport{Syscall: u.Name, Key: u.Key, Count: u.Count, Harmless: u.Harmless})
	}
	if res.NativeProfile != nil {
		v.Findings = tg.analyze(res.NativeProfile).Findings
	}
	if res.GVisor.Refused != "" {
		// The static analysis knows why an exec is refused (file
		// capabilities beyond the sandbox's).
		why := res.GVisor.Refused
		if _, after, ok := strings.Cut(why, "creating process: "); ok {
			why = after
		}
		v.Cause = "runsc refused to start the program: " + why
		for _, f := range v.Findings {
			if f.Kind == analyze.KindExec {
				v.Cause = fmt.Sprintf("runsc refused to start %s: %s (runsc: %s)", f.Arg, f.Note, why)
				if f.NeedsFlag != "" {
					v.Cause += "; it starts with " + f.NeedsFlag
				}
				break
			}
		}
	}
	v.Verdict = analyze.Compatible
	if !v.Works {
		v.Verdict = analyze.Incompatible
	}
	return v
}

func runOutcome(r verify.Run) report.RunOutcome {
	ro := report.RunOutcome{Exit: r.Exit, Duration: r.Duration, TimedOut: r.TimedOut, Refused: r.Refused, Calls: r.Calls}
	if r.Test != nil {
		te := r.Test.Exit
		ro.Test, ro.NotReady = &te, r.Test.NotReady
	}
	return ro
}

func callString(c profile.Call) string {
	if c.Name == "" {
		return ""
	}
	var args []string
	if c.Key != "" {
		args = append(args, c.Key)
	}
	if c.Path != "" {
		args = append(args, c.Path)
	}
	if len(args) == 0 && len(c.Text) > 0 {
		arg := c.Text
		if len(arg) > 60 {
			arg = arg[:57] + "..."
		}
		args = append(args, arg)
	}
	res := fmt.Sprintf("= %d", c.Ret)
	switch {
	case c.NoReturn:
		res = "= ?"
	case c.Errno != "":
		res = "= -1 " + c.Errno
	}
	return fmt.Sprintf("%s(%s) %s", c.Name, strings.Join(args, ", "), res)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// firstDifference shows the first line where two outputs differ.
func firstDifference(native, gv string) string {
	a, b := strings.Split(native, "\n"), strings.Split(gv, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			return fmt.Sprintf("line %d:\n- native: %q\n+ gVisor: %q", i+1, la, lb)
		}
	}
	return "outputs differ in length"
}
