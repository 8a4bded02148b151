//go:build linux

package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// Run starts argv under the tracer and follows it and all its descendants
// until every one has exited. The program is started through the policy
// shim, so the binary calling Run must call policy.ShimMain first thing in
// main. While the program runs, SIGINT and SIGQUIT (which the terminal also
// sends to the program) are ignored by the caller and SIGTERM and SIGHUP are
// forwarded to the program, and SIGCHLD is left undelivered (it would cost
// a signal per stop) unless an Attach runs at the same time. Cancelling ctx
// kills the whole traced tree; so does the end of the calling process
// (PTRACE_O_EXITKILL). Like strace, Run returns when every traced process
// has exited, not only the first.
func Run(ctx context.Context, argv []string, opt Options) (*Result, error) {
	if len(argv) == 0 {
		return nil, errors.New("run: no command")
	}
	env := opt.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(argv[0], env, opt.Dir)
	if err != nil {
		return nil, err
	}
	t, err := newTracer(modeRun, opt)
	if err != nil {
		return nil, err
	}
	filter, err := t.filter()
	if err != nil {
		return nil, err
	}

	var mainPid atomic.Int64
	sigs := make(chan os.Signal, 8)
	var watched []os.Signal
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP} {
		// A signal the caller was started with ignored stays ignored, and
		// the program inherits that, as it would natively.
		if !signal.Ignored(s) {
			watched = append(watched, s)
		}
	}
	signal.Notify(sigs, watched...)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGTERM || s == syscall.SIGHUP {
					if pid := int(mainPid.Load()); pid > 0 {
						_ = unix.Kill(pid, s.(syscall.Signal))
					}
				}
			case <-done:
				return
			}
		}
	}()

	defer quietSIGCHLD()()

	type outcome struct {
		res *Result
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		// ptrace requests must come from the thread that attached.
		runtime.LockOSThread()
		res, err := t.run(ctx, path, argv, env, filter, &mainPid)
		if len(t.threads) == 0 {
			runtime.UnlockOSThread()
		} // else the thread ends with the goroutine and PTRACE_O_EXITKILL kills the rest
		ch <- outcome{res, err}
	}()
	o := <-ch
	return o.res, o.err
}

// forceNoNotify makes tests take the pure ptrace path of full mode.
var forceNoNotify bool

// filter compiles the seccomp program for Run's mode.
func (t *tracer) filter() ([]unix.SockFilter, error) {
	p := t.opt.Policy
	var q policy.Policy
	if p != nil && p.Arch != t.arch {
		return nil, fmt.Errorf("run: policy is for %s, this machine is %s", p.Arch, t.arch)
	}
	if p == nil || t.opt.Full {
		if p != nil {
			if _, err := p.Compile(); err != nil { // the tracer applies it, but it must be valid
				return nil, fmt.Errorf("run: %w", err)
			}
		}
		q = policy.Policy{Arch: t.arch, Default: policy.Trace}
		if !t.opt.ExactErrors && !forceNoNotify && notifySupported() {
			t.useNotify = true
			q.Rules = hotRules(t.arch)
		}
	} else {
		q = *p
	}
	if q.OtherABI == policy.Allow {
		q.OtherABI = policy.Trace // seen, then skipped: gVisor has no such ABI
	}
	f, err := q.Compile()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return f, nil
}

func (t *tracer) full() bool { return t.opt.Policy == nil || t.opt.Full }

func (t *tracer) run(ctx context.Context, path string, argv, env []string, filter []unix.SockFilter, mainPid *atomic.Int64) (*Result, error) {
	shim := policy.Shim{Filter: filter, Stop: true, Listener: t.useNotify}
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	dir := t.opt.Dir
	if t.opt.Isolate {
		abs, err := filepath.Abs(or2(dir, "."))
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		shim.Isolate = &isolate.Spec{Dir: abs, Loopback: t.opt.Network == "none", DiskUpper: isolate.Scratch(abs)}
		if up := shim.Isolate.DiskUpper; up != "" {
			defer os.RemoveAll(up)
		}
		sys.Cloneflags = unix.CLONE_NEWNS
		if t.opt.Network == "none" {
			sys.Cloneflags |= unix.CLONE_NEWNET
		}
		dir = "/"
	}
	exe, args, shimEnv, err := shim.Args(path, argv, env)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	files := []*os.File{or(t.opt.Stdin, os.Stdin), or(t.opt.Stdout, os.Stdout), or(t.opt.Stderr, os.Stderr)}
	proc, err := os.StartProcess(exe, args, &os.ProcAttr{
		Dir:   dir,
		Env:   shimEnv,
		Files: files,
		// Pdeathsig: until the tracer holds the child (then
		// PTRACE_O_EXITKILL does).
		Sys: sys,
	})
	if err != nil {
		return nil, fmt.Errorf("run: start %s: %w", argv[0], err)
	}
	pid := proc.Pid
	_ = proc.Release()
	t.mainPid = pid

	// The shim stops itself; seize all its threads while it is stopped.
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, unix.WSTOPPED|unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return nil, fmt.Errorf("run: wait for %s to start: %w", argv[0], err)
	}
	if !ws.Stopped() {
		return nil, fmt.Errorf("run: %s ended before it could be traced (status %#x)", argv[0], uint32(ws))
	}
	tids, err := listTasks(pid)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return nil, fmt.Errorf("run: %w", err)
	}
	p := t.addProcess(pid, exe, true)
	for _, tid := range tids {
		if err := seize(tid, traceOpts|unix.PTRACE_O_EXITKILL|unix.PTRACE_O_TRACESECCOMP); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
			return nil, fmt.Errorf("run: trace %s: %w%s", argv[0], err, permissionHint(err))
		}
		t.addThread(tid, p)
	}
	mainPid.Store(int64(pid))
	if err := unix.Kill(pid, unix.SIGCONT); err != nil {
		return nil, fmt.Errorf("run: continue %s: %w", argv[0], err)
	}
	if t.opt.Started != nil {
		t.opt.Started(pid)
	}

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			t.cancelled.Store(true)
			t.killAll()
		case <-stop:
		}
	}()
	go t.reportProgress(stop)
	if t.useNotify {
		go t.huntListener(p, stop)
	}

	for {
		wpid, err := wait(&ws)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			break
		}
		if err != nil {
			t.killAll()
			return nil, fmt.Errorf("run: wait: %w", err)
		}
		t.state.Lock()
		t.handle(wpid, ws)
		t.state.Unlock()
	}
	t.traceDone.Store(true)
	if t.notifyDone != nil {
		<-t.notifyDone
	}
	t.threads = map[int]*thread{}

	src := profile.Source{Kind: "trace", Command: argv, Coverage: profile.CoverageFiltered, Detail: "fast mode"}
	if t.full() {
		src.Coverage, src.Detail = profile.CoverageFull, "full mode, errors sampled"
		if t.listener >= 0 {
			src.Detail = "full mode, errors sampled (not observed for " + strings.Join(hotSyscalls, ", ") + ")"
		}
		if t.opt.ExactErrors {
			src.Detail = "full mode, exact errors"
		}
	}
	exit := t.exit
	src.Exit = &exit
	t.prof.Sources = append(t.prof.Sources, src)
	res := &Result{Profile: t.prof, Exit: t.exit, Stats: t.snapshot()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run: %w", ctx.Err())
	}
	return res, nil
}

func or2(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func or(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

// lookPath resolves name like execvp, with PATH from env and relative
// paths against dir.
func lookPath(name string, env []string, dir string) (string, error) {
	check := func(p string) error {
		full := p
		if dir != "" && !filepath.IsAbs(p) {
			full = filepath.Join(dir, p)
		}
		fi, err := os.Stat(full)
		if err != nil {
			return err
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: %w", p, unix.EACCES)
		}
		return nil
	}
	if strings.Contains(name, "/") {
		if err := check(name); err != nil {
			return "", fmt.Errorf("run: %w", err)
		}
		return name, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if check(p) == nil {
			if !filepath.IsAbs(p) && dir == "" {
				if abs, err := filepath.Abs(p); err == nil {
					p = abs
				}
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("run: %s: command not found", name)
}

// permissionHint explains how to get the right to trace.
func permissionHint(err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	hint := " (run gvcheck as root or give it CAP_SYS_PTRACE"
	if b, e := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); e == nil {
		if s := strings.TrimSpace(string(b)); s != "0" {
			hint += fmt.Sprintf(", or allow tracing other processes with `sysctl kernel.yama.ptrace_scope=0` (now %s; 3 forbids tracing until reboot)", s)
		}
	}
	return hint + "; inside a container, the runtime's seccomp profile or missing CAP_SYS_PTRACE can also forbid ptrace)"
}

// wait is wait4(-1) for tracees of this thread. It must be a scheduler-
// aware syscall: a goroutine blocked in a raw syscall never reaches a safe
// point, so a garbage collection started elsewhere would wait for the next
// tracee event, and a tracee waiting on this process (a pipe it writes to,
// a notification) would then never produce one.
func wait(ws *unix.WaitStatus) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)),
		unix.WALL|unix.WNOTHREAD, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
