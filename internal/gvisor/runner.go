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
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// ModuleVersion is the gVisor module version gvcheck is built and tested
// against; the install hint names it.
const ModuleVersion = "v0.0.0-20260905035102-160fafc42237"

// InstallHint tells how to get a runsc that works here: a static build, since
// a cgo-linked runsc fails to re-exec itself inside its sandbox.
const InstallHint = "CGO_ENABLED=0 go install gvisor.dev/gvisor/runsc@" + ModuleVersion

// Runner runs programs under runsc.
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

var sandboxRe = regexp.MustCompile(`Create container, cid: ([^,\s]+), rootDir: "([^"]+)"`)

// Run runs one program under runsc and collects its output, exit status and
// gVisor's evidence. A program that fails is not an error; runsc failing to
// run it, or the timeout expiring, is.
func (r *Runner) Run(ctx context.Context, opt RunOptions) (*RunResult, error) {
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
	tmp, err := os.MkdirTemp("", "gvcheck-runsc-")
	if err != nil {
		return nil, fmt.Errorf("runsc temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	logDir := filepath.Join(tmp, "logs")
	stateDir := filepath.Join(tmp, "state")
	for _, d := range []string{logDir, stateDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("runsc temporary directory: %w", err)
		}
	}

	res := &RunResult{Version: version}
	var args []string
	res.Flags, args = r.globalFlags(logDir)
	if opt.Bundle != "" {
		res.sandboxRoot = stateDir
		res.sandboxID = fmt.Sprintf("gvcheck-%d-%d", os.Getpid(), time.Now().UnixNano())
		args = append(args, "--root", stateDir, "run", "--bundle", opt.Bundle, res.sandboxID)
	} else {
		args = append(args, "do", "-quiet")
		if opt.Dir != "" {
			args = append(args, "-cwd", opt.Dir)
		}
		args = append(args, "--")
		args = append(args, opt.Argv...)
	}

	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(p, args...)
	cmd.Dir = opt.Dir
	cmd.Env = opt.Env
	cmd.Stdin = opt.Stdin
	if opt.StdinFile != "" {
		f, err := os.Open(opt.StdinFile)
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	// Buffers, not files: exec then hands runsc pipes, which is how the
	// sandboxed program's output must be read (gVisor does not advance the
	// offset of a file shared with the host).
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Own process group: a terminal's Ctrl-C reaches gvcheck, which then
	// stops the sandbox in order, instead of killing runsc mid-setup.
	// Should gvcheck die without cleaning up, runsc dies with it, and its
	// sandbox with runsc.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start runsc: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var testDone chan struct{} // stays nil (never ready) without a test
	testCtx, cancelTest := context.WithCancel(runCtx)
	defer cancelTest()
	var ready bool
	var test *ExecResult
	if len(opt.Ready) > 0 || len(opt.Test) > 0 {
		testDone = make(chan struct{})
		id, root := res.sandboxID, res.sandboxRoot
		go func() {
			defer close(testDone)
			ready, test = r.serve(testCtx, p, logDir, id, root, res.Flags, opt)
		}()
	}
	var waitErr error
	stopped := false
	select {
	case waitErr = <-done:
	case <-testDone:
		// The test has run: stop the server and keep its evidence.
		res.Stopped = true
		r.stop(p, logDir, res, cmd.Process)
		select {
		case waitErr = <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			waitErr = <-done
		}
	case <-runCtx.Done():
		stopped = true
		r.stop(p, logDir, res, cmd.Process)
		select {
		case waitErr = <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			waitErr = <-done
		}
	}
	res.Duration = time.Since(start)
	cancelTest()
	if testDone != nil {
		<-testDone
	}
	res.Ready, res.Test = ready, test
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	r.findSandbox(logDir, res)
	defer cleanupSandbox(p, res)

	if stopped && ctx.Err() != nil {
		return res, fmt.Errorf("run under runsc: %w", ctx.Err())
	}
	res.Exit = exitOf(waitErr)
	server := len(opt.Ready) > 0 || len(opt.Test) > 0
	if stopped {
		// Out of time: keep the evidence of what the program was doing.
		// For a server that is an answer (never ready, test never passed);
		// otherwise the caller gets it with the error.
		res.Stopped = true
		if err := r.collect(logDir, sysno.Host(), opt, res); err != nil {
			return res, err
		}
		if server {
			return res, nil
		}
		return res, fmt.Errorf("run under runsc: %w after %v", ErrTimedOut, r.Timeout)
	}
	if fatal := runscFatal(logDir); fatal != "" {
		msg := fatal
		if strings.Contains(fatal, "cannot read client sync file") || strings.Contains(res.stderrText(), "cannot read client sync file") {
			return res, fmt.Errorf("runsc cannot start its sandbox (%s): a dynamically linked runsc fails this way; install a static build: %s", msg, InstallHint)
		}
		if refusal(fatal) {
			res.Refused = fatal
			_ = r.collect(logDir, sysno.Host(), opt, res)
			return res, fmt.Errorf("%w: %s", ErrRefused, fatal)
		}
		return res, fmt.Errorf("runsc failed: %s", msg)
	}
	if waitErr != nil && res.Exit.Code < 0 {
		return res, fmt.Errorf("run runsc: %w", waitErr)
	}

	arch := sysno.Host()
	if err := r.collect(logDir, arch, opt, res); err != nil {
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

// stop ends a sandbox that ran out of time: runsc's own kill of every
// process in the container, which lets `runsc do` tear down and clean up.
func (r *Runner) stop(runsc, logDir string, res *RunResult, proc *os.Process) {
	r.findSandbox(logDir, res)
	if res.sandboxID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kill := exec.CommandContext(ctx, runsc, "--root", res.sandboxRoot, "kill", "--all", res.sandboxID, "KILL")
		if kill.Run() == nil {
			return
		}
	}
	// The sandbox is not up yet (or runsc kill failed): interrupt runsc,
	// which forwards the signal and cleans up.
	_ = proc.Signal(syscall.SIGTERM)
}

// findSandbox records the sandbox id and state directory runsc logged.
func (r *Runner) findSandbox(logDir string, res *RunResult) {
	if res.sandboxID != "" && res.sandboxRoot != "" {
		return
	}
	res.sandboxID, res.sandboxRoot = sandboxFromLogs(logDir)
}

// cleanupSandbox removes what runsc leaves when it was killed: the
// container (run mode), its processes and `do`'s state directory with the
// network namespace bind-mounted in it.
func cleanupSandbox(runsc string, res *RunResult) {
	if res.sandboxID == "" || res.sandboxRoot == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := os.Stat(res.sandboxRoot); err != nil {
		return // runsc cleaned up after itself
	}
	_ = exec.CommandContext(ctx, runsc, "--root", res.sandboxRoot, "delete", "-force", res.sandboxID).Run()
	killByRoot(res.sandboxRoot)
	// Both `do` and `run` with --network=none leave a network namespace
	// bind-mounted in the state directory.
	unmountUnder(res.sandboxRoot)
	if strings.Contains(filepath.Base(res.sandboxRoot), "runsc-do") {
		_ = os.RemoveAll(res.sandboxRoot)
	}
}

// killByRoot kills the sandbox and gofer processes of one sandbox, found by
// the state directory on their command line (unique to this run).
func killByRoot(root string) {
	want := []byte("--root=" + root)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, want) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder detaches mounts below dir (runsc do bind-mounts a network
// namespace file there).
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			_ = unix.Unmount(f[4], unix.MNT_DETACH)
		}
	}
}

// refusal reports whether a fatal error of runsc is about the program it
// was to start (its file capabilities, its executable) rather than about
// runsc or the machine: gVisor's loader fails "creating process" then.
func refusal(fatal string) bool {
	return strings.Contains(fatal, "creating process") || strings.Contains(fatal, "failed to update creds")
}

// runscFatal returns runsc's own fatal error, if it logged one.
func runscFatal(logDir string) string {
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, f := range files {
		if strings.HasSuffix(f, ".boot.txt") || strings.HasSuffix(f, ".gofer.txt") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if i := bytes.Index(b, []byte("FATAL ERROR: ")); i >= 0 {
			return firstLine(b[i+len("FATAL ERROR: "):])
		}
	}
	return ""
}

// collect parses the boot log(s) into Unsupported reports, calls and a
// profile.
func (r *Runner) collect(logDir string, arch sysno.Arch, opt RunOptions, res *RunResult) error {
	boots, _ := filepath.Glob(filepath.Join(logDir, "*.boot.txt"))
	prof := profile.New(arch)
	src := profile.Source{Kind: "gvisor", Command: opt.Argv, Coverage: profile.CoverageNames,
		Detail: strings.TrimSpace("runsc " + res.Version + " " + strings.Join(res.Flags, " "))}
	if opt.Bundle != "" {
		src.Name = opt.Bundle
	}
	initExe := ""
	if len(opt.Argv) > 0 {
		initExe = resolveExe(opt.Argv[0], opt.Dir, opt.Env)
	}
	for _, b := range boots {
		f, err := os.Open(b)
		if err != nil {
			return fmt.Errorf("read runsc log: %w", err)
		}
		us, err := ParseDebugLog(f, arch)
		if err == nil && r.Strace {
			if _, err = f.Seek(0, io.SeekStart); err == nil {
				err = parseStrace(f, arch, initExe, func(c *profile.Call) {
					res.Calls = append(res.Calls, *c)
				})
			}
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(b), err)
		}
		res.Unsupported = mergeUnsupported(res.Unsupported, us)
	}
	if len(opt.Ready) > 0 || len(opt.Test) > 0 {
		res.Calls = programCalls(res.Calls)
	}
	res.Unsupported = addENOSYS(res.Unsupported, res.Calls)
	if r.Strace {
		src.Coverage = profile.CoverageFull
		for i := range res.Calls {
			if res.Calls[i].Nr >= 0 {
				prof.Add(&res.Calls[i])
			}
		}
	} else {
		// Without strace only the reports are known: a name list.
		for _, u := range res.Unsupported {
			if u.Nr >= 0 {
				prof.Syscall(u.Nr)
			}
		}
	}
	src.Exit = &res.Exit
	prof.Sources = []profile.Source{src}
	res.Profile = prof
	return nil
}

func mergeUnsupported(a, b []UnsupportedReport) []UnsupportedReport {
	for _, u := range b {
		i := slices.IndexFunc(a, func(x UnsupportedReport) bool { return x.Name == u.Name && x.Key == u.Key })
		if i >= 0 {
			a[i].Count += u.Count
		} else {
			a = append(a, u)
		}
	}
	return a
}

// addENOSYS adds the calls gVisor answered ENOSYS to the reports: gVisor
// refuses some syscalls (io_uring without --iouring, ...) without emitting
// an "Unsupported syscall" event, yet to the program they are unsupported.
func addENOSYS(us []UnsupportedReport, calls []profile.Call) []UnsupportedReport {
	for _, c := range calls {
		if c.Errno != "ENOSYS" {
			continue
		}
		i := slices.IndexFunc(us, func(u UnsupportedReport) bool { return u.Name == c.Name && (u.Key == c.Key || u.Key == "") })
		if i >= 0 {
			continue
		}
		us = append(us, UnsupportedReport{Name: c.Name, Nr: c.Nr, Key: c.Key, Values: slices.Clone(c.KeyValues), Args: c.Text, Harmless: harmless[c.Name], Count: 1})
	}
	return us
}

// resolveExe finds argv0 as `runsc do` will (PATH of the program's
// environment), so the first process is named by its path like exec'd ones.
func resolveExe(argv0, dir string, env []string) string {
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) && dir != "" {
			return filepath.Join(dir, argv0)
		}
		if abs, err := filepath.Abs(argv0); err == nil && dir == "" {
			return abs
		}
		return argv0
	}
	pathEnv := os.Getenv("PATH")
	if env != nil {
		pathEnv = ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				pathEnv = v
			}
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		p := filepath.Join(d, argv0)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return argv0
}

// exitOf converts runsc's exit into the program's: `runsc do` and `runsc
// run` exit with the program's status, or 128+signal.
func exitOf(err error) profile.Exit {
	if err == nil {
		return profile.Exit{}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return profile.Exit{Code: 128 + int(ws.Signal()), Signal: unix.SignalName(ws.Signal())}
		}
		return profile.Exit{Code: ee.ExitCode()}
	}
	return profile.Exit{Code: -1}
}

// fixSignal names the signal of a program that runsc reports as 128+N when
// the program did not itself exit with that status.
func fixSignal(res *RunResult) {
	c := res.Exit.Code
	if res.Exit.Signal != "" || c <= 128 || c > 128+64 {
		return
	}
	for i := len(res.Calls) - 1; i >= 0; i-- {
		call := res.Calls[i]
		if (call.Name == "exit_group" || call.Name == "exit") && call.Pid == res.initPid() {
			arg, _, _ := strings.Cut(call.Text, ",")
			if v, err := strconv.ParseInt(strings.TrimSpace(arg), 0, 64); err == nil && int(v&0xff) == c {
				return
			}
			break
		}
	}
	if !res.hasCalls() {
		return // without strace, 128+N may be a plain exit status
	}
	res.Exit.Signal = unix.SignalName(syscall.Signal(c - 128))
}

func (res *RunResult) hasCalls() bool { return len(res.Calls) > 0 }

func (res *RunResult) initPid() int {
	if len(res.Calls) > 0 {
		return res.Calls[0].Pid
	}
	return 1
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
