//go:build linux

package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sigstate"
	"github.com/gvcheck/gvcheck/internal/sysno"
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
	if opt.Rootfs != nil {
		opt.Isolate = true
		if opt.Dir == "" {
			opt.Dir = "/"
		}
	}
	path := opt.Path
	if path == "" {
		var err error
		if path, err = LookPath(argv[0], env, opt.Dir); err != nil {
			return nil, err
		}
	}
	if !observes(opt) {
		if opt.Policy.Arch != sysno.Host() {
			return nil, fmt.Errorf("run: policy is for %s, this machine is %s", opt.Policy.Arch, sysno.Host())
		}
		return runUnobserved(ctx, path, argv, env, opt)
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
	// ptrace requests must come from the thread that attached.
	goOnChildlessThread(func() {
		res, err := t.run(ctx, path, argv, env, filter, &mainPid)
		if len(t.threads) == 0 {
			runtime.UnlockOSThread()
		} // else the thread ends with the goroutine and PTRACE_O_EXITKILL kills the rest
		ch <- outcome{res, err}
	})
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
		q = guardRules(*p)
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
	spec := &policy.Spec{Path: path, Argv: argv, Env: env, Filter: filter, Listener: t.useNotify, Handshake: true,
		Signals: ProgramSignals(t.opt)}
	files := []*os.File{or(t.opt.Stdin, os.Stdin), or(t.opt.Stdout, os.Stdout), or(t.opt.Stderr, os.Stderr)}
	// Until the tracer holds the child (then PTRACE_O_EXITKILL does).
	attr := policy.StartAttr{Dir: t.opt.Dir, Files: files, Pdeathsig: syscall.SIGKILL}
	if t.opt.Isolate {
		dir, err := filepath.Abs(or2(t.opt.Dir, "."))
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		spec.Isolate = &isolate.Spec{Dir: dir, Loopback: t.opt.Network == "none", Rootfs: t.opt.Rootfs}
		if t.opt.Rootfs == nil {
			spec.Isolate.DiskUpper = isolate.Scratch(dir)
		}
		if up := spec.Isolate.DiskUpper; up != "" {
			defer os.RemoveAll(up)
		}
		attr.Dir = "/"
		attr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS
		if t.opt.Network == "none" {
			attr.Cloneflags |= unix.CLONE_NEWNET
		}
	}
	sh, err := policy.Start(spec, attr)
	if sh == nil {
		return nil, fmt.Errorf("run: start %s: %w", argv[0], err)
	}
	pid := sh.Pid
	t.mainPid = pid
	fail := func(err error) (*Result, error) {
		sh.Close()
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			if _, e := unix.Wait4(pid, &ws, 0, nil); e != unix.EINTR {
				break
			}
		}
		return nil, err
	}
	if err != nil {
		return fail(fmt.Errorf("run: start %s: %w", argv[0], err))
	}
	// The shim names the thread that will exec and waits: seize it before
	// it goes on, so that nothing is filtered or exec'd untraced.
	tid, err := sh.Ready()
	if err == nil && t.opt.Isolate {
		// The shim names its thread in its own PID namespace.
		tid, err = hostTid(pid, tid)
	}
	if err != nil {
		var ws unix.WaitStatus
		for {
			if _, e := unix.Wait4(pid, &ws, 0, nil); e != unix.EINTR {
				break
			}
		}
		sh.Close()
		if ws.Exited() && ws.ExitStatus() != 0 {
			return nil, fmt.Errorf("run: %s could not be started (status %d)", argv[0], ws.ExitStatus())
		}
		return nil, fmt.Errorf("run: %s ended before it could be traced (status %#x)", argv[0], uint32(ws))
	}
	p := t.addProcess(pid, "", true)
	if err := seize(tid, traceOpts|unix.PTRACE_O_EXITKILL|unix.PTRACE_O_TRACESECCOMP); err != nil {
		return fail(fmt.Errorf("run: trace %s: %w%s", argv[0], err, refusal(tid, err)))
	}
	t.addThread(tid, p)
	mainPid.Store(int64(pid))
	if err := sh.Release(); err != nil {
		return fail(fmt.Errorf("run: %w", err))
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

	// Until every tracee has gone: wait4(-1) also waits for children this
	// thread forked before it became the tracer, which must neither keep
	// the trace going nor end it.
	var ws unix.WaitStatus
	for {
		t.state.Lock()
		done := len(t.threads) == 0 && t.mainDone
		t.state.Unlock()
		if done {
			break
		}
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

// ProgramSignals is the signal state a program started with opt begins
// with: opt.Signals, or else the one gvcheck itself started with, which the
// program would have inherited from the shell.
func ProgramSignals(opt Options) *policy.Signals {
	if opt.Signals != nil {
		return opt.Signals
	}
	st := sigstate.Inherited()
	return &policy.Signals{Ignored: st.Ignored, Blocked: st.Blocked, KeepMask: !st.Exact}
}

// hostTid finds the thread of process pid that is nsTid in the process's
// own PID namespace (the NSpid line of its status).
func hostTid(pid, nsTid int) (int, error) {
	tids, err := listTasks(pid)
	if err != nil {
		return 0, err
	}
	for _, tid := range tids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if f, ok := strings.CutPrefix(line, "NSpid:"); ok {
				ids := strings.Fields(f)
				if len(ids) > 1 && ids[len(ids)-1] == strconv.Itoa(nsTid) {
					return tid, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("thread %d of process %d not found", nsTid, pid)
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

// StartError is why Run could not start a program, with the status a shell
// gives for it: 127 when there is no such command, 126 when it cannot be
// executed.
type StartError struct {
	Status int
	Msg    string
}

func (e *StartError) Error() string { return "run: " + e.Msg }

// LookPath resolves name like execvp, with PATH from env and relative
// paths against dir: a name with a slash is used as is; otherwise the first
// executable file of that name in PATH, and if there is none but a file
// that cannot be executed, that failure (a shell's 126, not 127).
func LookPath(name string, env []string, dir string) (string, error) {
	check := func(p string) error {
		full := p
		if dir != "" && !filepath.IsAbs(p) {
			full = filepath.Join(dir, p)
		}
		fi, err := os.Stat(full)
		if err != nil {
			msg := "no such file or directory"
			if !errors.Is(err, os.ErrNotExist) {
				msg = unwrapAll(err).Error()
			}
			return &StartError{127, p + ": " + msg}
		}
		if fi.IsDir() {
			return &StartError{126, p + ": is a directory"}
		}
		if unix.Access(full, unix.X_OK) != nil {
			return &StartError{126, p + ": permission denied"}
		}
		return nil
	}
	if name == "" {
		return "", &StartError{127, "empty command name"}
	}
	if strings.Contains(name, "/") {
		if err := check(name); err != nil {
			return "", err
		}
		return name, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		err := check(p)
		if err == nil {
			if !filepath.IsAbs(p) && dir == "" {
				if abs, err := filepath.Abs(p); err == nil {
					p = abs
				}
			}
			return p, nil
		}
		if se, ok := err.(*StartError); ok && se.Status == 126 && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &StartError{127, name + ": command not found"}
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Untraceable says why process tid makes no system calls to record, whatever
// the backend: it has exited, or it is a kernel thread; "" when it may.
func Untraceable(tid int) string {
	state, flags := taskStat(tid)
	const pfKthread = 0x00200000
	switch {
	case state == 'Z' || state == 'X':
		return fmt.Sprintf("process %d has exited (a zombie until its parent collects its status): there is nothing left to trace", tid)
	case flags&pfKthread != 0:
		return fmt.Sprintf("process %d is a kernel thread, which runs no program", tid)
	}
	return ""
}

// refusal explains why PTRACE_SEIZE of tid failed with err: what about the
// target makes tracing it impossible (then no privilege helps), else how to
// get the right to trace.
func refusal(tid int, err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	if why := Untraceable(tid); why != "" {
		return ": " + why
	}
	if tracer := tracerOf(tid); tracer != 0 {
		return fmt.Sprintf(": it is already traced by process %d (%s); a process has one tracer at a time, so gvcheck cannot trace under strace, a debugger or another gvcheck (the ebpf backend can)", tracer, readComm(tracer))
	}
	if os.Geteuid() == 0 {
		hint := " (gvcheck runs as root, so something else forbids ptrace here"
		if b, e := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); e == nil && strings.TrimSpace(string(b)) == "3" {
			hint += ": Yama's ptrace_scope is 3, which forbids tracing until reboot"
		} else {
			hint += ": a security module (SELinux, AppArmor, lockdown) or, inside a container, the runtime's seccomp profile"
		}
		return hint + ")"
	}
	hint := " (run gvcheck as root or give it CAP_SYS_PTRACE"
	if b, e := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); e == nil {
		if s := strings.TrimSpace(string(b)); s != "0" {
			hint += fmt.Sprintf(", or allow tracing other processes with `sysctl kernel.yama.ptrace_scope=0` (now %s; 3 forbids tracing until reboot)", s)
		}
	}
	return hint + "; inside a container, the runtime's seccomp profile or missing CAP_SYS_PTRACE can also forbid ptrace)"
}

// taskStat returns tid's state letter and flags from /proc/TID/stat.
func taskStat(tid int) (byte, uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		return 0, 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 7 {
		return 0, 0
	}
	flags, _ := strconv.ParseUint(f[6], 10, 64)
	return f[0][0], flags
}

func readComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
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
