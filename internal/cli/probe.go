package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// probeFlags are the experiment's options, shared by probe and run --probe.
type probeFlags struct {
	test, ready   string
	stdin, caps   string
	expect        string
	timeout       time.Duration
	grace         time.Duration
	repeat        int
	compareOutput bool
	inPlace       bool
}

func (f *probeFlags) register(cmd *cobra.Command, withTimeout bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.test, "test", "", "for servers: a shell command whose success means the program works (run next to it, in its namespaces)")
	fs.StringVar(&f.ready, "ready", "", "for servers: wait for port:N, file:PATH or delay:D (comma-separated) before --test")
	fs.StringVar(&f.stdin, "stdin", "", "file to give the program as standard input (default /dev/null)")
	fs.StringVar(&f.caps, "caps", "", "capabilities the sandboxed program holds, deciding how gVisor fails CapError syscalls: own (default), all, none, docker, or CAP_X,CAP_Y")
	fs.StringVar(&f.expect, "expect", "", "the program works only if its output (stdout and stderr) matches this regular expression")
	if withTimeout {
		fs.DurationVar(&f.timeout, "timeout", probe.DefaultTimeout, "time limit of each run")
	}
	fs.DurationVar(&f.grace, "grace", probe.DefaultGrace, "after --test, time between SIGTERM and SIGKILL")
	fs.IntVar(&f.repeat, "repeat", 1, "run each configuration this many times; disagreement is reported, not guessed")
	fs.BoolVar(&f.compareOutput, "compare-output", false, "the program works only if its stdout is also the same as the reference's")
	fs.BoolVar(&f.inPlace, "in-place", false, "run in the current directory itself instead of private copies (the runs see each other's writes)")
}

// config checks the flags and builds the probe's configuration for tg.
func (f *probeFlags) config(args []string, tg *target) (probe.Config, error) {
	if f.repeat < 1 {
		return probe.Config{}, usagef("--repeat must be at least 1")
	}
	cfg := probe.Config{
		Argv: args, Stdin: f.stdin, Test: f.test, Timeout: f.timeout, Grace: f.grace,
		Repeat: f.repeat, CompareOutput: f.compareOutput, InPlace: f.inPlace,
		Network: networkOf(tg.flags),
	}
	var err error
	if cfg.Ready, err = parseReady(f.ready, f.test); err != nil {
		return cfg, err
	}
	if f.expect != "" {
		if cfg.Expect, err = regexp.Compile(f.expect); err != nil {
			return cfg, usagef("--expect: %v", err)
		}
	}
	hasCap := simulate.OwnCapability
	if f.caps != "" {
		if hasCap, err = simulate.ParseCaps(f.caps); err != nil {
			return cfg, &usageError{fmt.Errorf("--caps: %w", err)}
		}
	}
	if f.stdin != "" {
		if _, err := os.Stat(f.stdin); err != nil {
			return cfg, &usageError{fmt.Errorf("--stdin: %w", err)}
		}
	}
	cfg.SetTarget(tg.table, tg.rules, tg.flags, hostFileCaps, hasCap)
	return cfg, nil
}

// networkOf returns the sandbox's network as its runsc options choose it.
func networkOf(flags []string) string {
	for i, f := range flags {
		name, val, ok := cutFlag(f)
		if name != "network" {
			continue
		}
		if !ok && i+1 < len(flags) {
			val = flags[i+1]
		}
		return val
	}
	return "none"
}

func cutFlag(f string) (name, val string, ok bool) {
	for len(f) > 0 && f[0] == '-' {
		f = f[1:]
	}
	for i := range len(f) {
		if f[i] == '=' {
			return f[:i], f[i+1:], true
		}
	}
	return f, "", false
}

func newProbeCmd(e *env) *cobra.Command {
	var (
		target targetFlags
		out    outputFlags
		pf     probeFlags
		img    imageFlags
	)
	cmd := &cobra.Command{
		Use:   "probe [flags] -- CMD [ARGS...]",
		Short: "Find out by experiment what a program really needs of what gVisor lacks",
		Long: `Run a program natively as the reference, trace it once to learn what it asks
of the kernel, then run it again while everything the target gVisor does
differently is simulated: missing syscalls and refused argument values fail
with gVisor's errno, /proc, /sys and /dev entries gVisor lacks do not exist,
execs it refuses fail, stubs return gVisor's fixed values. If the program
still works, every difference it met is tolerated. If not, adaptive group
testing finds the ones it cannot do without, in far fewer runs than one per
difference.

The program works when it ends as the reference did (with --test, the test
passes; with --expect, the output matches) and prints no new message carrying
an error the simulation gave it ("degraded" otherwise). Runs that decide are
not traced and are isolated as a sandbox is: own PID, mount and network
namespaces over a private copy of the files, so runs share nothing and your
files stay as they were (--in-place to run in them). Standard input is
/dev/null unless --stdin names a file.

With --image, the program is a container image's, run from the image's own
root as Docker would run it (see 'gvcheck verify --help').

` + exitStatusHelp,
		Example: `  gvcheck probe -- ./myapp --selftest
  gvcheck probe --ready port:8000 --test 'curl -sf http://127.0.0.1:8000/' -- python3 -m http.server 8000
  gvcheck probe --image oci:./layout:v1`,
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
				notes = img.implyFlags(&target)
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer cancel()
			tg, err := target.resolve(ctx, sysno.Host())
			if err != nil {
				return err
			}
			cfg, err := pf.config(args, tg)
			if err != nil {
				return err
			}
			if img.used() {
				ir, err := img.prepare(ctx, args)
				if err != nil {
					return err
				}
				defer ir.Close()
				ir.setTarget(tg)
				ir.configure(&cfg, tg, pf.caps)
				args = ir.proc.Argv
			}
			res, err := probe.Probe(ctx, cfg)
			if err != nil {
				if errors.Is(err, probe.ErrReferenceFailed) {
					return withHint(err, "probe compares against a working native run: fix the command, or give --test / --ready for a server")
				}
				return err
			}
			if err := out.writeTo(e.stdout, func(w io.Writer) error {
				p := report.NewProbe("gvcheck "+Version, tg.report, args, res)
				p.Notes = append(p.Notes, notes...)
				return report.WriteProbe(w, p, out.format)
			}); err != nil {
				return err
			}
			if outcomeFails(res.Works(), failOn) {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	target.register(cmd.Flags())
	out.register(cmd.Flags())
	registerFailOn(cmd.Flags(), &out.failOn)
	pf.register(cmd, true)
	img.register(cmd.Flags())
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// parseReady reads --ready, which only makes sense with --test.
func parseReady(ready, test string) (launch.Ready, error) {
	if ready == "" {
		return launch.Ready{}, nil
	}
	if test == "" {
		return launch.Ready{}, usagef("--ready needs --test")
	}
	r, err := launch.ParseReady(ready)
	if err != nil {
		return launch.Ready{}, &usageError{fmt.Errorf("--ready: %w", err)}
	}
	return r, nil
}
