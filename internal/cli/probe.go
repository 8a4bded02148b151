package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// probeReport is the JSON form of a probe.
type probeReport struct {
	Schema string        `json:"schema"`
	Tool   string        `json:"tool"`
	Target report.Target `json:"target"`
	*probe.Result
}

func newProbeCmd(e *env) *cobra.Command {
	var (
		target        targetFlags
		out           outputFlags
		test, ready   string
		stdin, caps   string
		timeout       time.Duration
		grace         time.Duration
		repeat        int
		compareOutput bool
	)
	cmd := &cobra.Command{
		Use:   "probe [flags] -- CMD [ARGS...]",
		Short: "Find out by experiment which missing syscalls a program really needs",
		Long: `Run a program natively once as the reference, then again while every syscall
the target gVisor lacks fails exactly as gVisor fails it (seccomp, with gVisor's
errno). If it still works, its fallbacks are verified and shown; if not, adaptive
group testing finds the smallest set of missing syscalls it cannot do without,
in far fewer runs than one per syscall.

Success means the same exit status as the reference (with --compare-output also
the same stdout; with --test, the test command passes against the running
program). Standard input is /dev/null unless --stdin names a file.
Exit status: 0 works (or its fallbacks do), 3 needs something gVisor lacks, 1 error.`,
		Example: `  gvcheck probe -- ./myapp --selftest
  gvcheck probe --ready port:8000 --test 'curl -sf http://127.0.0.1:8000/' -- python3 -m http.server 8000`,
		Args: needsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			if repeat < 1 {
				return usagef("--repeat must be at least 1")
			}
			cfg := probe.Config{
				Argv: args, Arch: sysno.Host(), Stdin: stdin, Test: test, Timeout: timeout, Grace: grace,
				Repeat: repeat, CompareOutput: compareOutput,
			}
			var err error
			if cfg.Ready, err = parseReady(ready, test); err != nil {
				return err
			}
			if caps != "" {
				if cfg.HasCap, err = probe.ParseCaps(caps); err != nil {
					return &usageError{fmt.Errorf("--caps: %w", err)}
				}
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer cancel()
			tg, err := target.resolve(ctx, sysno.Host())
			if err != nil {
				return err
			}
			cfg.Table = tg.table
			cfg.Analysis = analyze.Options{Rules: tg.rules, RunscFlags: tg.flags}
			tgt := tg.report
			runner, err := probe.NewRunner(cfg)
			if err != nil {
				return err
			}
			res, err := probe.Probe(ctx, cfg, runner)
			if err != nil {
				if errors.Is(err, probe.ErrReferenceFailed) {
					return withHint(err, "probe compares against a working native run: fix the command, or give --test / --ready for a server")
				}
				return err
			}
			if err := out.writeTo(e.stdout, func(w io.Writer) error {
				switch out.format {
				case "json":
					return report.WriteJSONValue(w, probeReport{Schema: "gvcheck.probe/v1", Tool: "gvcheck " + Version, Target: tgt, Result: res})
				case "markdown", "md":
					fmt.Fprintf(w, "## gvcheck probe: %s\n\nTarget: gVisor %s (%s), %s\n\n```\n", res.Verdict, tgt.GVisor, dash(tgt.Tag), tgt.Arch)
					if err := res.WriteText(w); err != nil {
						return err
					}
					_, err := fmt.Fprintln(w, "```")
					return err
				}
				fmt.Fprintf(w, "target:   gVisor %s (%s), %s\n", tgt.GVisor, dash(tgt.Tag), tgt.Arch)
				return res.WriteText(w)
			}); err != nil {
				return err
			}
			if res.Verdict == analyze.Incompatible || res.Verdict == analyze.AtRisk {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	target.register(fs)
	fs.StringVarP(&out.format, "format", "f", "text", "report format: text, json or markdown")
	fs.StringVarP(&out.file, "output", "o", "", "write the report to this file instead of standard output")
	fs.StringVar(&test, "test", "", "for servers: a shell command whose success means the program works")
	fs.StringVar(&ready, "ready", "", "for servers: wait for port:N, file:PATH or delay:D (comma-separated) before --test")
	fs.StringVar(&stdin, "stdin", "", "file to give the program as standard input (default /dev/null)")
	fs.StringVar(&caps, "caps", "", "capabilities the sandboxed program holds, deciding how gVisor fails CapError syscalls: own (default), all, none, docker, or CAP_X,CAP_Y")
	fs.DurationVar(&timeout, "timeout", probe.DefaultTimeout, "time limit of each run")
	fs.DurationVar(&grace, "grace", probe.DefaultGrace, "after --test, time between SIGTERM and SIGKILL")
	fs.IntVar(&repeat, "repeat", 1, "run each configuration this many times; disagreement is reported, not guessed")
	fs.BoolVar(&compareOutput, "compare-output", false, "the program works only if its stdout is also the same as the reference's")
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
