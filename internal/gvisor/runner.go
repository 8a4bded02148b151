// Package gvisor runs programs under real gVisor (runsc) and turns gVisor's
// own evidence, its "Unsupported syscall" reports and its strace output,
// into gvcheck call streams and profiles.
//
// A run is `runsc --network=none --debug --debug-log=DIR/ [--strace] do
// -quiet -- CMD` (or `runsc --root DIR run --bundle B ID`), as root with no
// other flag needed; --rootless is added otherwise. The program's output
// is read through pipes. runsc writes one log per command into DIR; the
// boot log holds both kinds of evidence, in glog text form
// ("I1127 10:50:56.887454 1 strace.go:607] MESSAGE"):
//
//	[   1:   1] comm E name(arg, arg)
//	[   1:   1] comm X name(arg, arg) = 3 (0x3) (27µs)
//	[   1:   1] comm X name(arg, arg) = -1 errno=2 (no such file or directory) (3µs)
//	[   7(   1):   9(   3)] comm X ...   (task in a nested PID namespace)
//	Unsupported syscall prctl(0x23,0x1,0x0,0x0,0x0,0x0). It is likely ...
//
// Arguments print as "0x7f.. /path" for paths, "0x3 /file" or "0x3
// socket:[5]" for fds, symbols for flags, and "sys_NNN" names syscalls
// gVisor has no name for. Older releases printed results as "= 0x3 (27µs)",
// which is accepted too. gVisor logs every execve as returning 0 (it execs
// after the syscall returns); the parser tells a failed exec from what the
// process does next.
package gvisor

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// ModuleVersion is the gVisor module version gvcheck is built and tested
// against; the install hint names it.
const ModuleVersion = "v0.0.0-20260905035102-160fafc42237"

// InstallHint tells how to get a runsc that works here: a static build, since
// a cgo-linked runsc fails to re-exec itself inside its sandbox.
const InstallHint = "CGO_ENABLED=0 go install gvisor.dev/gvisor/runsc@" + ModuleVersion

// Runner runs programs under runsc, which it starts through a reaper
// (package reap): the binary must call reap.Dispatch (or policy.ShimMain)
// first thing in main.
type Runner struct {
	Runsc string // path of runsc; "" looks it up on PATH
	// Flags are extra runsc flags placed before the subcommand. Unless they
	// choose a network, --network=none is added; when not running as root,
	// --rootless is added.
	Flags   []string
	Timeout time.Duration // per run; 0 means none
	Strace  bool          // run with --strace and return the call stream
}

// RunOptions describes one program to run.
type RunOptions struct {
	Argv  []string
	Dir   string   // working directory inside the sandbox ("" = current)
	Env   []string // environment (nil = this process's)
	Stdin io.Reader
	// StdinFile, if set, is opened as standard input instead of Stdin.
	StdinFile string
	Bundle    string // OCI bundle directory: `runsc run` it instead of `runsc do`
	// Ready and Test check a server: commands run inside the sandbox, next
	// to the program (`runsc exec`), so they reach it even with
	// --network=none. Ready is retried until it exits 0; then Test runs
	// once (without Ready, Test is retried until it passes). Once Test has
	// run, the program is stopped. Both are bounded by Runner.Timeout.
	Ready []string
	Test  []string
}

// ExecResult is a command gvcheck ran inside the sandbox.
type ExecResult struct {
	Argv           []string
	Exit           profile.Exit
	Stdout, Stderr []byte
	Tries          int // attempts made
}

// RunResult is what a run under gVisor produced.
type RunResult struct {
	Exit           profile.Exit
	Stdout, Stderr []byte
	// Calls is gVisor's strace of the run, in order of completion (only
	// with Runner.Strace).
	Calls       []profile.Call
	Unsupported []UnsupportedReport
	Profile     *profile.Profile
	Version     string // runsc's version
	// Flags are the runsc flags that shaped the run (network, platform,
	// the caller's); gvcheck's own logging flags are left out.
	Flags    []string
	Duration time.Duration
	// Ready is set when RunOptions.Ready passed; Test is the last attempt
	// of RunOptions.Test; Stopped says gvcheck stopped the program, after
	// its test or at the timeout (Exit then shows the kill).
	Ready   bool
	Test    *ExecResult
	Stopped bool
	// Refused is runsc's reason for not starting the program (see
	// ErrRefused).
	Refused string

	sandboxRoot string // runsc's state directory for this run
	sandboxID   string
}

// ErrNotFound is returned (wrapped) when there is no runsc to run.
var ErrNotFound = errors.New("runsc not found")

// ErrTimedOut is returned (wrapped, with the result so far) when a program
// that is not a server did not finish in time.
var ErrTimedOut = errors.New("timed out")

// ErrRefused is returned (wrapped, with the result) when runsc would not
// start the program itself (RunResult.Refused says why): a verdict on the
// program, unlike runsc failing to start any sandbox.
var ErrRefused = errors.New("runsc refused to start the program")

func (r *Runner) path() (string, error) {
	if r.Runsc != "" {
		return r.Runsc, nil
	}
	p, err := exec.LookPath("runsc")
	if err != nil {
		return "", fmt.Errorf("%w on PATH (install it: %s): %w", ErrNotFound, InstallHint, err)
	}
	return p, nil
}

// Version returns runsc's version: its release string, or for a build from
// the Go module (which reports VERSION_MISSING) the module version.
func (r *Runner) Version(ctx context.Context) (string, error) {
	p, err := r.path()
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", p, err, firstLine(out))
	}
	v := firstLine(out)
	v = strings.TrimPrefix(v, "runsc version ")
	if v == "" || v == "VERSION_MISSING" {
		if bi, err := buildinfo.ReadFile(p); err == nil && bi.Main.Path == "gvisor.dev/gvisor" {
			return bi.Main.Version, nil
		}
		if v == "" {
			v = "unknown"
		}
	}
	return v, nil
}

// Check verifies that runsc exists, is statically linked, is recent enough
// and can start a sandbox here.
func (r *Runner) Check(ctx context.Context) error {
	p, err := r.path()
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%w: %w (install it: %s)", ErrNotFound, err, InstallHint)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file (install runsc: %s)", p, InstallHint)
	}
	if dyn, err := dynamic(p); err != nil {
		return fmt.Errorf("%s: %w (install runsc: %s)", p, err, InstallHint)
	} else if dyn {
		return fmt.Errorf("%s is dynamically linked and cannot start its sandbox (\"cannot read client sync file\"); install a static build: %s", p, InstallHint)
	}
	if _, err := r.Version(ctx); err != nil {
		return fmt.Errorf("%w (install runsc: %s)", err, InstallHint)
	}
	// `runsc do` arrived in 2019; a runsc without it is too old to run a
	// command line, and predates most of the syscall table gvcheck knows.
	help, _ := exec.CommandContext(ctx, p, "help").CombinedOutput()
	if !regexp.MustCompile(`(?m)^\s+do\s`).Match(help) {
		return fmt.Errorf("%s is too old: it has no \"do\" command (install a current one: %s)", p, InstallHint)
	}
	// Last, start a sandbox: what fails here (no privileges, a kernel
	// without what runsc needs) fails every run.
	smoke := Runner{Runsc: p, Flags: r.Flags, Timeout: 30 * time.Second}
	res, err := smoke.Run(ctx, RunOptions{Argv: []string{"true"}})
	if err != nil {
		return fmt.Errorf("%s cannot start a sandbox: %w", p, err)
	}
	if res.Exit.Code != 0 {
		return fmt.Errorf("%s cannot run a program: `runsc do true` exited %d: %s", p, res.Exit.Code, firstLine(res.Stderr))
	}
	return nil
}

// dynamic reports whether the ELF file at p asks for a dynamic loader.
func dynamic(p string) (bool, error) {
	f, err := elf.Open(p)
	if err != nil {
		return false, fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// globalFlags returns the runsc flags for a run that matter to the result
// (network, rootless, the caller's), and all flags including gvcheck's own
// logging ones.
func (r *Runner) globalFlags(logDir string) (visible, all []string) {
	flags := slices.Clone(r.Flags)
	hasNet := slices.ContainsFunc(flags, func(f string) bool {
		return strings.HasPrefix(strings.TrimLeft(f, "-"), "network")
	})
	if !hasNet {
		flags = append([]string{"--network=none"}, flags...)
	}
	// As root runsc needs nothing more; otherwise it must build its
	// sandbox in a user namespace (cgroups are then skipped too).
	if os.Geteuid() != 0 && !slices.ContainsFunc(flags, func(f string) bool {
		return strings.HasPrefix(strings.TrimLeft(f, "-"), "rootless") || strings.HasPrefix(strings.TrimLeft(f, "-"), "TESTONLY-unsafe-nonroot")
	}) {
		flags = append(flags, "--rootless")
	}
	// Without --debug the boot log still carries gVisor's "Unsupported
	// syscall" reports (logged at info level), at no cost to the program.
	all = append(slices.Clone(flags), "--debug-log="+logDir+string(filepath.Separator))
	if r.Strace {
		all = append(all, "--debug", "--strace")
	}
	return flags, all
}

// Run runs one program under runsc and collects its output, exit status and
// gVisor's evidence. A program that fails is not an error; runsc failing to
// run it, or the timeout expiring, is.
func (r *Runner) Run(ctx context.Context, opt RunOptions) (*RunResult, error) {
	s, err := r.prepare(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(s.tmp)
	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	cmd, closeStdin, err := s.command(opt)
	if err != nil {
		return nil, err
	}
	defer closeStdin()
	release, err := containRunsc(cmd)
	if err != nil {
		return nil, err
	}
	defer release()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start runsc: %w", err)
	}
	waitErr, stopped := r.await(runCtx, s, cmd, opt)
	s.res.Duration = time.Since(start)
	s.res.Stdout, s.res.Stderr = s.stdout.Bytes(), s.stderr.Bytes()
	r.findSandbox(s.logDir, s.res)
	defer cleanupSandbox(s.runsc, s.res)
	if stopped && ctx.Err() != nil {
		return s.res, fmt.Errorf("run under runsc: %w", ctx.Err())
	}
	return r.finish(s, opt, waitErr, stopped)
}

// session is one run's runsc invocation: its private directory (logs and
// state), the arguments, the output and the result being built.
type session struct {
	runsc          string
	tmp, logDir    string
	args           []string
	stdout, stderr bytes.Buffer
	res            *RunResult
}

// prepare finds runsc, makes the run's private directory and the command
// line: `runsc do` for a command, `runsc run` for a bundle.
func (r *Runner) prepare(ctx context.Context, opt RunOptions) (*session, error) {
	p, err := r.path()
	if err != nil {
		return nil, err
	}
	if opt.Bundle == "" && len(opt.Argv) == 0 {
		return nil, errors.New("nothing to run: empty command")
	}
	version, err := r.Version(ctx)
	if err != nil {
		return nil, err
	}
	Sweep(p) // what killed runs left
	tmp, err := runDir()
	if err != nil {
		return nil, fmt.Errorf("runsc temporary directory: %w", err)
	}
	s := &session{runsc: p, tmp: tmp, logDir: filepath.Join(tmp, "logs"), res: &RunResult{Version: version}}
	stateDir := filepath.Join(tmp, "state")
	for _, d := range []string{s.logDir, stateDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("runsc temporary directory: %w", err)
		}
	}
	s.res.Flags, s.args = r.globalFlags(s.logDir)
	if opt.Bundle != "" {
		s.res.sandboxRoot = stateDir
		s.res.sandboxID = fmt.Sprintf("gvcheck-%d-%d", os.Getpid(), time.Now().UnixNano())
		s.args = append(s.args, "--root", stateDir, "run", "--bundle", opt.Bundle, s.res.sandboxID)
		return s, nil
	}
	s.args = append(s.args, "do", "-quiet")
	if opt.Dir != "" {
		s.args = append(s.args, "-cwd", opt.Dir)
	}
	s.args = append(append(s.args, "--"), opt.Argv...)
	return s, nil
}

// command is runsc's command for the session, and a func that closes the
// standard input file it opened.
func (s *session) command(opt RunOptions) (*exec.Cmd, func(), error) {
	cmd := exec.Command(s.runsc, s.args...)
	if opt.Bundle == "" {
		// A bundle's process names its directory in the bundle's root.
		cmd.Dir = opt.Dir
	}
	cmd.Env = opt.Env
	cmd.Stdin = opt.Stdin
	closeStdin := func() {}
	if opt.StdinFile != "" {
		f, err := os.Open(opt.StdinFile)
		if err != nil {
			return nil, nil, fmt.Errorf("stdin: %w", err)
		}
		cmd.Stdin = f
		closeStdin = func() { f.Close() }
	}
	// Buffers, not files: exec then hands runsc pipes, which is how the
	// sandboxed program's output must be read (gVisor does not advance the
	// offset of a file shared with the host).
	cmd.Stdout, cmd.Stderr = &s.stdout, &s.stderr
	// Own process group: a terminal's Ctrl-C reaches gvcheck, which then
	// stops the sandbox in order, instead of killing runsc mid-setup.
	// Should gvcheck die without cleaning up, runsc dies with it, and its
	// sandbox with runsc.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, closeStdin, nil
}

// await waits for runsc to end, running a server's readiness check and
// test next to it and stopping it afterwards, or at the deadline (stopped).
func (r *Runner) await(runCtx context.Context, s *session, cmd *exec.Cmd, opt RunOptions) (waitErr error, stopped bool) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var testDone chan struct{} // stays nil (never ready) without a test
	testCtx, cancelTest := context.WithCancel(runCtx)
	defer cancelTest()
	var ready bool
	var test *ExecResult
	if len(opt.Ready) > 0 || len(opt.Test) > 0 {
		testDone = make(chan struct{})
		id, root := s.res.sandboxID, s.res.sandboxRoot
		go func() {
			defer close(testDone)
			ready, test = r.serve(testCtx, s.runsc, s.logDir, id, root, s.res.Flags, opt)
		}()
	}
	stopAndWait := func() error {
		r.stop(s.runsc, s.logDir, s.res, cmd.Process)
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return <-done
		}
	}
	select {
	case waitErr = <-done:
	case <-testDone:
		// The test has run: stop the server and keep its evidence.
		s.res.Stopped = true
		waitErr = stopAndWait()
	case <-runCtx.Done():
		stopped = true
		waitErr = stopAndWait()
	}
	cancelTest()
	if testDone != nil {
		<-testDone
	}
	s.res.Ready, s.res.Test = ready, test
	return waitErr, stopped
}

// finish reads what the run left: a timeout's evidence, runsc's own
// failure or refusal to start the program, else gVisor's logs.
func (r *Runner) finish(s *session, opt RunOptions, waitErr error, stopped bool) (*RunResult, error) {
	res := s.res
	res.Exit = exitOf(waitErr)
	server := len(opt.Ready) > 0 || len(opt.Test) > 0
	if stopped {
		// Out of time: keep the evidence of what the program was doing.
		// For a server that is an answer (never ready, test never passed);
		// otherwise the caller gets it with the error.
		res.Stopped = true
		if err := r.collect(s.logDir, sysno.Host(), opt, res); err != nil {
			return res, err
		}
		if server {
			return res, nil
		}
		return res, fmt.Errorf("run under runsc: %w after %v", ErrTimedOut, r.Timeout)
	}
	if fatal := runscFatal(s.logDir); fatal != "" {
		if strings.Contains(fatal, "cannot read client sync file") || strings.Contains(res.stderrText(), "cannot read client sync file") {
			return res, fmt.Errorf("runsc cannot start its sandbox (%s): a dynamically linked runsc fails this way; install a static build: %s", fatal, InstallHint)
		}
		if refusal(fatal) {
			res.Refused = fatal
			_ = r.collect(s.logDir, sysno.Host(), opt, res)
			return res, fmt.Errorf("%w: %s", ErrRefused, fatal)
		}
		return res, fmt.Errorf("runsc failed: %s", fatal)
	}
	if waitErr != nil && res.Exit.Code < 0 {
		return res, fmt.Errorf("run runsc: %w", waitErr)
	}
	if err := r.collect(s.logDir, sysno.Host(), opt, res); err != nil {
		return res, err
	}
	fixSignal(res)
	return res, nil
}

// IsUnsupported reports whether gVisor reported c's syscall (with c's key
// argument, for keyed reports) as unsupported in this run, harmless
// reports aside. It suits diverge.Options.Unsupported.
func (res *RunResult) IsUnsupported(c profile.Call) bool {
	for _, u := range res.Unsupported {
		if !u.Harmless && u.Matches(c) {
			return true
		}
	}
	return false
}

func (res *RunResult) stderrText() string { return string(res.Stderr) }

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
