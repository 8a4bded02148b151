package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/diverge"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

func newVerifyCmd(e *env) *cobra.Command {
	var (
		target        targetFlags
		out           outputFlags
		timeout       time.Duration
		test, ready   string
		bundle        string
		compareOutput bool
		maxShown      int
	)
	cmd := &cobra.Command{
		Use:   "verify [flags] -- CMD [ARGS...]",
		Short: "Run a program under real gVisor and natively, compare, and say why they differ",
		Long: `Run a program natively (traced) and under real gVisor (runsc, with its own
syscall trace), compare the two runs, and point at the first syscalls whose
results differ: a syscall gVisor lacks, a /proc file it does not provide, a
socket family it refuses, an ioctl it answers ENOTTY...

The program works under gVisor when it ends as it does natively (exit status;
with --compare-output also stdout; with --test, the test passes). Standard
input is /dev/null. Exit status: 0 works, 3 fails under gVisor, 1 error.

runsc comes from PATH or --runsc, and must be a static build
(` + gvisor.InstallHint + `).`,
		Example: `  gvcheck verify -- python3 -c 'print(1)'
  gvcheck verify -- nmap localhost
  gvcheck verify --ready port:8000 --test 'curl -sf http://127.0.0.1:8000/' -- python3 -m http.server 8000`,
		Args: needsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			flags, err := target.options()
			if err != nil {
				return err
			}
			rdy, err := parseReady(ready, test)
			if err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer cancel()

			runner := &gvisor.Runner{Runsc: target.runsc, Flags: flags, Timeout: timeout, Strace: true}
			if err := runner.Check(ctx); err != nil {
				return withHint(err, "install a static runsc: "+gvisor.InstallHint)
			}
			tg, err := target.resolve(ctx, sysno.Host())
			if err != nil {
				return err
			}

			nat, err := probe.NewRunner(probe.Config{Argv: args, Arch: sysno.Host(), Test: test, Ready: rdy, Timeout: timeout})
			if err != nil {
				return err
			}
			native, err := nat.Run(ctx, nil, true)
			if err != nil {
				return fmt.Errorf("native run: %w", err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			gopt := gvisor.RunOptions{Argv: args, Stdin: bytes.NewReader(nil), Bundle: bundle}
			if test != "" {
				gopt.Test = []string{"sh", "-c", test}
				gopt.Ready = readyCommand(rdy)
			}
			sandboxed, err := runner.Run(ctx, gopt)
			if err != nil && sandboxed == nil {
				return fmt.Errorf("run under gVisor: %w", err)
			}
			var runErr error
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				runErr = err
			}
			if runErr != nil {
				return fmt.Errorf("run under gVisor: %w", runErr)
			}

			v := buildVerify(args, native, sandboxed, tg, compareOutput, maxShown)
			if err := out.writeTo(e.stdout, func(w io.Writer) error { return report.WriteVerify(w, v, out.format) }); err != nil {
				return err
			}
			if !v.Works {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	target.register(fs)
	fs.StringVarP(&out.format, "format", "f", "text", "report format: text, json or markdown")
	fs.StringVarP(&out.file, "output", "o", "", "write the report to this file instead of standard output")
	fs.DurationVar(&timeout, "timeout", 60*time.Second, "time limit of each run")
	fs.StringVar(&test, "test", "", "for servers: a shell command whose success means the program works (run next to it; under gVisor inside the sandbox)")
	fs.StringVar(&ready, "ready", "", "for servers: wait for port:N, file:PATH or delay:D before --test")
	fs.StringVar(&bundle, "bundle", "", "run this OCI bundle with 'runsc run' under gVisor (CMD still runs natively for the comparison)")
	fs.BoolVar(&compareOutput, "compare-output", false, "the program works only if its stdout is also the same")
	fs.IntVar(&maxShown, "max-divergences", 10, "show at most this many divergences")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// readyCommand turns a readiness condition into a command run inside the
// sandbox; a port needs none, since the test is retried until it passes.
func readyCommand(r probe.Ready) []string {
	switch {
	case r.File != "":
		return []string{"test", "-e", r.File}
	case r.Delay > 0:
		return []string{"sleep", fmt.Sprintf("%.3f", r.Delay.Seconds())}
	}
	return nil
}

func buildVerify(argv []string, native probe.Outcome, sb *gvisor.RunResult, tg *target, compareOutput bool, maxShown int) *report.Verify {
	table, tgt := tg.table, tg.report
	v := &report.Verify{
		Schema: report.VerifySchema, Tool: "gvcheck " + Version, Command: argv, Target: tgt,
		GVisor:      report.GVisorRun{Runsc: "runsc", Version: sb.Version, Flags: sb.Flags},
		Divergences: []report.Divergence{}, Unsupported: []report.Unsupported{}, Findings: []analyze.Finding{},
	}
	v.Native = report.RunOutcome{Exit: native.Exit, Duration: native.Duration, TimedOut: native.TimedOut, Calls: len(native.Calls)}
	if native.Test != nil {
		te := native.Test.Exit
		v.Native.Test, v.Native.NotReady = &te, native.Test.NotReady
	}
	v.Sandbox = report.RunOutcome{Exit: sb.Exit, Duration: sb.Duration, Calls: len(sb.Calls), Stderr: lastLines(string(sb.Stderr), 8)}
	if sb.Test != nil {
		te := sb.Test.Exit
		v.Sandbox.Test = &te
	}

	sum := sha256.Sum256(sb.Stdout)
	sameOutput := native.StdoutSum == "" || native.StdoutSum == hex.EncodeToString(sum[:])
	if !sameOutput {
		v.OutputDiff = firstDifference(native.Stdout, string(sb.Stdout))
	}
	switch {
	case native.Test != nil:
		v.Works = sb.Test != nil && sb.Test.Exit.Code == 0 && sb.Test.Exit.Signal == ""
	default:
		v.Works = native.Exit == sb.Exit && !native.TimedOut == !sb.Stopped
	}
	if compareOutput && !sameOutput {
		v.Works = false
	}

	divs := diverge.CompareWith(native.Calls, sb.Calls, diverge.Options{Unsupported: sb.IsUnsupported})
	for i, d := range divs {
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
	for _, u := range sb.Unsupported {
		v.Unsupported = append(v.Unsupported, report.Unsupported{Syscall: u.Name, Key: u.Key, Count: u.Count, Harmless: u.Harmless})
	}
	if native.Profile != nil {
		v.Findings = tg.analyze(native.Profile).Findings
	}
	v.Verdict = analyze.Compatible
	if !v.Works {
		v.Verdict = analyze.Incompatible
		v.Cause = cause(v, native, sb)
	}
	return v
}

// cause names the most likely reason in one sentence.
func cause(v *report.Verify, native probe.Outcome, sb *gvisor.RunResult) string {
	for _, d := range v.Divergences {
		if d.Kind == "extra" || d.Kind == "ok-under-gvisor" {
			continue
		}
		s := d.Summary
		if d.Note != "" {
			s += " (gVisor: " + strings.TrimSuffix(d.Note, ".") + ")"
		}
		return s
	}
	for _, u := range sb.Unsupported {
		if !u.Harmless {
			return fmt.Sprintf("gVisor reported %s as unsupported", u.Name)
		}
	}
	if native.Test != nil && v.Sandbox.Test == nil {
		return "the program never passed its test under gVisor"
	}
	return fmt.Sprintf("the program ended differently (native %s, gVisor %s) but no syscall result differs: compare the outputs",
		exitWords(native.Exit), exitWords(sb.Exit))
}

func exitWords(e profile.Exit) string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}

func callString(c profile.Call) string {
	if c.Name == "" {
		return ""
	}
	arg := c.Path
	if arg == "" {
		arg = c.Key
	}
	if arg == "" && len(c.Text) > 0 {
		arg = c.Text
		if len(arg) > 60 {
			arg = arg[:57] + "..."
		}
	}
	res := fmt.Sprintf("= %d", c.Ret)
	switch {
	case c.NoReturn:
		res = "= ?"
	case c.Errno != "":
		res = "= -1 " + c.Errno
	}
	return fmt.Sprintf("%s(%s) %s", c.Name, arg, res)
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
