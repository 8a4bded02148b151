package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
	"github.com/gvcheck/gvcheck/internal/trace/ebpf"
)

// traceFlags are shared by run and attach.
type traceFlags struct {
	target   targetFlags
	out      outputFlags
	full     bool
	paths    bool
	simulate bool
	exact    bool
	save     string
	redact   bool
	progress bool
	backend  string
	notes    []string // added to the report
	baseline baselineFlags
}

func (t *traceFlags) register(cmd *cobra.Command, reportDest string) {
	fs := cmd.Flags()
	t.target.register(fs)
	t.out.register(fs, reportDest)
	fs.BoolVar(&t.out.all, "all", false, "list every syscall seen, not only the findings (with --full: the complete inventory)")
	registerFailOn(fs, &t.out.failOn)
	t.baseline.register(fs)
	fs.BoolVar(&t.full, "full", false, "record every syscall, with counts, errors and key arguments, not only those gVisor does not fully support")
	fs.BoolVar(&t.paths, "paths", true, "in fast mode, also stop at every syscall that names a file, to check the /proc, /sys and /dev paths it uses (--full always does)")
	fs.BoolVar(&t.exact, "exact-errors", false, "with --full, wait for the result of every call instead of sampling errors")
	fs.StringVar(&t.save, "save", "", "save the observed profile as JSON, to re-check later with 'gvcheck check FILE --gvisor ...'")
	fs.BoolVar(&t.redact, "redact", false, "leave the program's arguments out of the report and the saved profile (they may hold secrets); its name stays")
	registerBackend(fs, &t.backend)
}

// prepare validates flags and loads the target for the host.
func (t *traceFlags) prepare(ctx context.Context) (*target, analyze.Level, error) {
	if err := t.out.validate(); err != nil {
		return nil, 0, err
	}
	failOn, err := analyze.ParseLevel(t.out.failOn)
	if err != nil {
		return nil, 0, &usageError{fmt.Errorf("--fail-on: %w", err)}
	}
	if t.target.arch != "" {
		a, err := t.target.archFor()
		if err != nil {
			return nil, 0, err
		}
		if a != sysno.Host() {
			return nil, 0, usagef("--arch %s: a live trace is of this machine's architecture (%s); save it with --save and check that against another table", a, sysno.Host())
		}
	}
	tg, err := t.target.resolve(ctx, sysno.Host())
	return tg, failOn, err
}

// finish saves the profile and writes the report; it returns whether the
// findings fail the --fail-on gate.
func (t *traceFlags) finish(w io.Writer, name string, tg *target, failOn analyze.Level, p *profile.Profile, res *analyze.Result, exp *probe.Result) (bool, error) {
	if t.redact {
		p.RedactArgs()
	}
	if t.save != "" {
		if err := writeProfile(t.save, p); err != nil {
			return false, err
		}
	}
	if res == nil {
		res = tg.analyze(p)
	}
	ropt := report.Options{All: t.out.all, FailOn: failOn}
	wl := report.NewWorkload(name, p, res, ropt)
	if exp != nil {
		report.AddExperiment(&wl, exp)
	}
	wl.Notes = append(wl.Notes, t.notes...)
	rep := report.New("gvcheck "+Version, tg.report, []report.Workload{wl})
	if err := t.baseline.apply(rep); err != nil {
		return false, err
	}
	if err := t.out.writeTo(w, func(w io.Writer) error { return report.Write(w, rep, t.out.format, ropt) }); err != nil {
		return false, err
	}
	return gateFails(rep.Workloads[0], failOn), nil
}

func writeProfile(path string, p *profile.Profile) error {
	o := outputFlags{file: path}
	if err := o.writeTo(nil, p.Write); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	return nil
}

func (t *traceFlags) traceOptions(tg *target) (trace.Options, error) {
	table := tg.table
	opt := trace.Options{Full: t.full, ExactErrors: t.exact}
	switch {
	case t.simulate:
		// Unsupported syscalls fail as under gVisor; with --full the rest
		// are still recorded.
		pol, err := simulate.SurfacePolicy(table, analyze.Options{Rules: tg.rules, RunscFlags: tg.flags}, table.Arch, nil)
		if err != nil {
			return opt, err
		}
		opt.Policy = pol
	case !t.full:
		opt.Policy = policy.Observe(table, tg.rules, tg.flags)
		opt.Execs = true
		if t.paths {
			opt.Policy.TracePaths()
		}
	}
	return opt, nil
}

func newRunCmd(e *env) *cobra.Command {
	var (
		f         traceFlags
		pf        probeFlags
		img       imageFlags
		probeMode string
	)
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run a program, trace its whole process tree, and report",
		Long: `Run a program natively, trace it and every process it starts, and report what
of its syscall use gVisor does not support.

Where the kernel has BTF and gvcheck may load BPF programs (root, or CAP_BPF
and CAP_PERFMON), an eBPF program takes a complete inventory without stopping
anything: every syscall, with counts, errors, key arguments and paths, and
the program runs as it would untraced (--full, --paths and --exact-errors are
implied). Otherwise, or with --backend ptrace, a seccomp filter compiled from
the target's table lets every syscall gVisor fully supports run at native
speed; only the others stop the program to be recorded, and --full records
every syscall. The report says which backend was used and why.

The findings are risks: a program may fall back, or never need what it
touched. So when the run shows something gVisor does differently (a finding
at needs-option or above), gvcheck re-runs the program, isolated (its own
copy of the files, no network but loopback, standard input /dev/null), once
as it is and then with those differences simulated as gVisor answers them
(see 'gvcheck probe'): each finding is then required, tolerated or not
reached, and the verdict is the experiment's. --probe=never keeps to the
trace; --probe=always experiments even without risky findings. For servers,
give --test (and --ready).

The program keeps its terminal, standard streams and signals. The report
goes to standard error, or to --output.

With --image, the program is a container image's (its entrypoint and cmd,
arguments after -- replacing the cmd, with its environment, working
directory and user), run from the image's own root filesystem as Docker
would run it (see 'gvcheck verify --help'), traced with the ptrace backend.

` + exitStatusHelp + runExitHelp,
		Example: `  gvcheck run -- ./myapp --serve
  gvcheck run --full --all -o report.md -f markdown -- make test
  gvcheck run --save app.json -- ./myapp && gvcheck check --gvisor 2023-01-01 app.json
  gvcheck run --image docker:myapp:latest
  gvcheck run --image oci:./layout:v1 -- /bin/sh -c 'ls /proc'`,
		Args: commandOrImage(&img),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := img.check(cmd); err != nil {
				return err
			}
			if img.used() {
				if f.backend == "ebpf" {
					return usagef("--image: the program runs in the image's root, which only the ptrace backend sets up")
				}
				f.backend = "ptrace"
				f.notes = append(f.notes, img.implyFlags(&f.target)...)
			}
			be, err := chooseBackend(f.backend, f.simulate, "")
			if err != nil {
				return err
			}
			if img.used() {
				be.why = "an image's program runs in the image's root, which the ptrace backend sets up"
			}
			// Loading the BPF program overlaps with preparing the target.
			pre := be.preload()
			defer pre.Close()
			tg, failOn, err := f.prepare(ctx)
			if err != nil {
				return err
			}
			var ir *imageRun
			name := ""
			if img.used() {
				if ir, err = img.prepare(ctx, args); err != nil {
					return err
				}
				defer ir.Close()
				ir.setTarget(tg)
				args, name = ir.proc.Argv, ir.name()
			}
			opt, err := f.traceOptions(tg)
			if err != nil {
				return err
			}
			if ir != nil {
				opt.Rootfs, opt.Path, opt.Env, opt.Dir = ir.rootfs, ir.proc.Path, ir.proc.Env, ir.proc.Dir
				opt.Network = networkOf(tg.flags)
			} else {
				name = args[0]
			}
			stop := func() {}
			if f.progress {
				opt.Progress, stop = statusLine(e.stderr)
			}
			res, err := runTrace(ctx, be, pre, args, opt)
			stop()
			if err != nil {
				return startError(err)
			}
			if f.simulate {
				// Calls failed by the filter never stop the program, so there
				// is nothing to report beyond the program's own outcome.
				fmt.Fprintf(e.stderr, "gvcheck: %s ran under gVisor %s's simulated syscall surface (%s failed as gVisor fails them): %s\n",
					report.Escape(args[0]), tg.report.GVisor, report.Plural(simulate.Surface(opt.Policy), "syscall"), res.Exit)
				return programExit(res.Exit)
			}
			var exp *probe.Result
			analysis := tg.analyze(res.Profile)
			if why := probeWanted(probeMode, analysis, res); why == "" {
				cfg, err := pf.config(args, tg)
				if err != nil {
					return err
				}
				if ir != nil {
					ir.configure(&cfg, tg, pf.caps)
				}
				cfg.Differences = simulate.Differences(res.Profile, analysis.Findings, cfg.Target)
				if f.progress && isTerminal(e.stderr) {
					cfg.Progress = func(s string) { fmt.Fprintf(e.stderr, "\r\033[Kgvcheck: %s", s) }
					defer fmt.Fprint(e.stderr, "\r\033[K")
				}
				exp, err = probe.Probe(ctx, cfg)
				if err != nil && !errors.Is(err, probe.ErrReferenceFailed) {
					return err
				}
				if err != nil {
					f.notes = append(f.notes, "no experiment: "+err.Error())
				}
			} else if probeMode != "never" && analysis.Max() >= analyze.LevelNeedsOption {
				f.notes = append(f.notes, "no experiment: "+why)
			}
			failed, err := f.finish(e.stderr, name, tg, failOn, res.Profile, analysis, exp)
			if err != nil {
				return err
			}
			if res.Exit.Code != 0 {
				return programExit(res.Exit)
			}
			if failed {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	f.register(cmd, "standard error")
	pf.register(cmd, true)
	img.register(cmd.Flags())
	cmd.Flags().StringVar(&probeMode, "probe", "auto", "experiment after the trace (re-run with gVisor's differences simulated): auto (when there are risky findings), always (also plain --probe), never")
	cmd.Flags().Lookup("probe").NoOptDefVal = "always"
	cmd.Flags().BoolVar(&f.simulate, "simulate", false, "simulate gVisor's syscall surface: every syscall gVisor does not support fails with gVisor's errno (see also 'gvcheck probe')")
	cmd.Flags().BoolVar(&f.progress, "progress", false, "show a live status line on standard error (only when it is a terminal)")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newAttachCmd(e *env) *cobra.Command {
	var f traceFlags
	var duration time.Duration
	var cgroupPath, container string
	cmd := &cobra.Command{
		Use:   "attach [flags] PID... | --cgroup PATH | --container ID",
		Short: "Trace running processes, a cgroup or a container, and report",
		Long: `Trace running processes, all their threads and the children they start, until
--duration passes, they exit, or Ctrl-C; then detach cleanly, leaving them
running, and report. A live status line is shown when standard error is a
terminal.

--cgroup PATH (a cgroup v2 directory, or its path in the hierarchy as
/proc/PID/cgroup shows it) and --container ID (a Docker or containerd
container's id, or a Docker container's name) trace everything running in
that cgroup, including processes started there later, with the ebpf backend.

A filter cannot be put into a running process, so attach records every
syscall, as --full does.

` + exitStatusHelp,
		Example: `  gvcheck attach --duration 30s $(pidof myserver)
  gvcheck attach --container web --duration 1m
  gvcheck attach --cgroup /sys/fs/cgroup/system.slice/nginx.service`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case cgroupPath != "" && container != "":
				return usagef("attach: give --cgroup or --container, not both")
			case (cgroupPath != "" || container != "") && len(args) > 0:
				return usagef("attach: give process ids or --cgroup/--container, not both")
			case len(args) == 0 && cgroupPath == "" && container == "":
				return usagef("attach needs at least one PID, --cgroup PATH or --container ID")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var pids []int
			for _, a := range args {
				pid, err := strconv.Atoi(a)
				if err != nil || pid <= 0 {
					return usagef("attach: %q is not a process id", a)
				}
				pids = append(pids, pid)
			}
			need := ""
			switch {
			case cgroupPath != "":
				need = "--cgroup"
			case container != "":
				need = "--container"
			}
			be, err := chooseBackend(f.backend, false, need)
			if err != nil {
				return err
			}
			f.full = true
			tg, failOn, err := f.prepare(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer cancel()
			name := "pid " + strings.Join(args, ",")
			var cg ebpf.Cgroup
			switch {
			case cgroupPath != "":
				cg, err = ebpf.ResolveCgroup(cgroupPath)
			case container != "":
				cg, err = ebpf.ResolveContainer(ctx, container)
			}
			if err != nil {
				return err
			}
			if need != "" {
				name = cg.Name
			}
			if duration > 0 {
				var c2 context.CancelFunc
				ctx, c2 = context.WithTimeout(ctx, duration)
				defer c2()
			}
			opt, err := f.traceOptions(tg)
			if err != nil {
				return err
			}
			stop := func() {}
			if isTerminal(e.stderr) {
				opt.Progress, stop = statusLine(e.stderr)
			}
			res, err := be.trace(func() (*trace.Result, error) {
				if need != "" {
					return ebpf.AttachCgroup(ctx, cg, opt)
				}
				return ebpf.Attach(ctx, pids, opt)
			}, func() (*trace.Result, error) { return trace.Attach(ctx, pids, opt) })
			stop()
			if err != nil {
				return err // the tracer's error says why it may not attach (trace.refusal)
			}
			failed, err := f.finish(e.stdout, name, tg, failOn, res.Profile, nil, nil)
			if err != nil {
				return err
			}
			if failed {
				return &exitError{ExitFindings}
			}
			return nil
		},
	}
	f.register(cmd, "standard output")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop tracing and detach after this long (e.g. 30s); default: until Ctrl-C or exit")
	cmd.Flags().StringVar(&cgroupPath, "cgroup", "", "trace every process in this cgroup v2 and below it, including later ones (ebpf backend)")
	cmd.Flags().StringVar(&container, "container", "", "trace every process of this Docker or containerd container, by id or Docker name (ebpf backend)")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// statusLine returns a Progress callback that redraws one line on w when w
// is a terminal (and does nothing otherwise), and a func that clears it.
func statusLine(w io.Writer) (func(trace.Stats), func()) {
	if !isTerminal(w) {
		return nil, func() {}
	}
	drawn := false
	update := func(s trace.Stats) {
		fmt.Fprintf(w, "\r\033[Kgvcheck: %d processes, %d syscalls recorded, %d stops for gVisor findings, %s",
			s.Processes, s.Syscalls, s.Stopped, s.Elapsed.Truncate(time.Second))
		drawn = true
	}
	clear := func() {
		if drawn {
			fmt.Fprint(w, "\r\033[K")
		}
	}
	return update, clear
}

// startError gives a program that could not be started a shell's status:
// 127 when it does not exist, 126 when it cannot be executed.
func startError(err error) error {
	var se *trace.StartError
	if errors.As(err, &se) {
		return &statusError{err, se.Status}
	}
	return err
}

// programExit is gvcheck run's own exit for the traced program's: its
// status, or death by the same signal.
func programExit(e profile.Exit) error {
	if e.Code == 0 && e.Signal == "" {
		return nil
	}
	if e.Signal != "" {
		if sig := unix.SignalNum(e.Signal); sig != 0 {
			return &signalExit{sig}
		}
	}
	return &exitError{e.Code}
}

// probeWanted says why no experiment is made after a run, or "" to make
// one.
func probeWanted(mode string, a *analyze.Result, res *trace.Result) string {
	switch mode {
	case "never", "false":
		return "--probe=never"
	case "always", "true":
	case "auto", "":
		if a.Max() < analyze.LevelNeedsOption && len(simulate.FixedAnswers(res.Profile)) == 0 {
			return "nothing risky was found"
		}
		// A long job run again, twice or more, is a decision for the user.
		if res.Elapsed > autoProbeLimit {
			return fmt.Sprintf("the program ran for %s; give --probe=always to experiment anyway", res.Elapsed.Round(time.Second))
		}
	}
	if res.Exit.Signal == "SIGINT" || res.Exit.Signal == "SIGTERM" || res.Exit.Signal == "SIGHUP" {
		return "the program was interrupted"
	}
	return ""
}

// autoProbeLimit is the longest traced run --probe=auto repeats.
const autoProbeLimit = 2 * time.Minute
