//go:build linux && amd64

package ebpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// Run starts argv and takes a complete inventory of it and every process
// it starts, until all of them have exited, like trace.Run in full mode
// with exact errors; opt.Policy, OnCall and ExactErrors do not apply (see
// Supports). The program is started through the policy shim (without a
// filter), which stops itself until the BPF program knows its thread
// group, so the binary calling Run must call policy.ShimMain first thing in
// main. While it runs, SIGINT and SIGQUIT (which the terminal also sends to
// the program) are ignored by the caller and SIGTERM and SIGHUP are
// forwarded to it. Cancelling ctx kills every traced process.
func Run(ctx context.Context, argv []string, opt trace.Options) (*trace.Result, error) {
	return Preload().Run(ctx, argv, opt)
}

// Preloaded is the BPF program for Run, loading in the background.
type Preloaded struct {
	done chan struct{}
	p    *probe
	err  error
	used bool
}

// Preload starts loading the BPF program Run uses, which takes tens of
// milliseconds, so that it overlaps with what the caller does before
// calling Run on it. Close it if Run is not called.
func Preload() *Preloaded {
	pl := &Preloaded{done: make(chan struct{})}
	go func() {
		pl.p, pl.err = load(config{mode: modeSeeds})
		close(pl.done)
	}()
	return pl
}

// Close releases the program if Run did not take it.
func (pl *Preloaded) Close() {
	if pl == nil || pl.used {
		return
	}
	pl.used = true
	<-pl.done
	closeProbe(pl.p)
}

// Run is Run with the preloaded program; it can be called once.
func (pl *Preloaded) Run(ctx context.Context, argv []string, opt trace.Options) (*trace.Result, error) {
	if pl.used {
		return nil, errors.New("run: the preloaded program was used")
	}
	pl.used = true
	if len(argv) == 0 {
		<-pl.done
		closeProbe(pl.p)
		return nil, errors.New("run: no command")
	}
	if err := supports(opt); err != nil {
		<-pl.done
		closeProbe(pl.p)
		return nil, err
	}
	env := opt.Env
	if env == nil {
		env = os.Environ()
	}
	loaded := pl.done
	path, err := trace.LookPath(argv[0], env, opt.Dir)
	if err != nil {
		<-loaded
		closeProbe(pl.p)
		return nil, err
	}
	// While the program loads, start the command, which stops itself
	// before its exec.

	spec := &policy.Spec{Path: path, Argv: argv, Env: env, Handshake: true, Signals: trace.ProgramSignals(opt)}
	files := []*os.File{or(opt.Stdin, os.Stdin), or(opt.Stdout, os.Stdout), or(opt.Stderr, os.Stderr)}
	// Until it is traced; the shim clears it before its exec.
	sh, err := policy.Start(spec, policy.StartAttr{Dir: opt.Dir, Files: files, Pdeathsig: syscall.SIGKILL})
	if sh == nil {
		<-loaded
		closeProbe(pl.p)
		return nil, fmt.Errorf("run: start %s: %w", argv[0], err)
	}
	pid := sh.Pid
	kill := func() {
		sh.Close()
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = wait4(pid, &ws, 0)
	}
	if err != nil {
		<-loaded
		closeProbe(pl.p)
		kill()
		return nil, fmt.Errorf("run: start %s: %w", argv[0], err)
	}
	// The shim waits before its exec until released.
	var ws unix.WaitStatus
	if _, err := sh.Ready(); err != nil {
		<-loaded
		closeProbe(pl.p)
		_, _ = wait4(pid, &ws, 0)
		return nil, fmt.Errorf("run: %s ended before it could be traced (status %#x)", argv[0], uint32(ws))
	}
	<-loaded
	p := pl.p
	if pl.err != nil {
		kill()
		return nil, pl.err
	}
	defer closeProbe(p)
	if err := p.seed(pid, tsPreexec); err != nil {
		kill()
		return nil, err
	}

	sigs := make(chan os.Signal, 8)
	var watched []os.Signal
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			watched = append(watched, s)
		}
	}
	signal.Notify(sigs, watched...)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGTERM || s == syscall.SIGHUP {
					_ = unix.Kill(pid, s.(syscall.Signal))
				}
			case <-ctx.Done():
				// Wakes the wait below, which kills the rest.
				_ = unix.Kill(pid, unix.SIGKILL)
				return
			case <-stop:
				return
			}
		}
	}()
	go reportProgress(p, opt.Progress, stop)

	if err := sh.Release(); err != nil {
		kill()
		return nil, fmt.Errorf("run: continue %s: %w", argv[0], err)
	}
	if _, err := wait4(pid, &ws, 0); err != nil {
		p.killAll(pid)
		return nil, fmt.Errorf("run: wait: %w", err)
	}
	exit := profile.Exit{Code: ws.ExitStatus()}
	if ws.Signaled() {
		exit = profile.Exit{Code: 128 + int(ws.Signal()), Signal: unix.SignalName(ws.Signal())}
	}
	// Like strace -f, the run lasts until every traced process has exited.
	for delay := time.Millisecond; p.counter(p.objs.Live) > 0 && ctx.Err() == nil; delay = min(2*delay, 100*time.Millisecond) {
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	if ctx.Err() != nil {
		p.killAll(pid) // before the maps that find them close
	}

	prof, l, err := p.profile()
	if err != nil {
		return nil, err
	}
	src := profile.Source{Kind: "trace", Command: argv, Coverage: profile.CoverageFull, Exit: &exit}
	describe(&src, l)
	prof.Sources = append(prof.Sources, src)
	res := &trace.Result{Profile: prof, Exit: exit, Stats: p.stats()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run: %w", ctx.Err())
	}
	return res, nil
}

// supports reports whether the eBPF backend can do what opt asks: it
// observes without stopping anything, so it neither applies a policy's
// Errno rules (--simulate) nor reports calls one by one.
func supports(opt trace.Options) error {
	if opt.OnCall != nil {
		return errors.New("ebpf: the eBPF backend counts calls in the kernel and cannot report them one by one")
	}
	if opt.Policy != nil {
		for _, r := range opt.Policy.Rules {
			if r.Action == policy.Errno {
				return errors.New("ebpf: the eBPF backend observes and cannot make syscalls fail as gVisor does (--simulate needs the ptrace backend)")
			}
		}
	}
	return nil
}

// describe fills in how the evidence was taken and what it lacks.
func describe(src *profile.Source, l lost) {
	src.Backend = "ebpf"
	src.Detail = "complete inventory, exact errors"
	if l.total() > 0 {
		src.Coverage = profile.CoverageIncomplete
		src.Lost = l.total()
		src.Detail = "not recorded: " + l.String()
	}
}

// Attach takes an inventory of the running processes pids, all their
// threads and the processes they start, until ctx is done or all of them
// have exited. Nothing is stopped: their threads are adopted as they next
// return from a syscall.
func Attach(ctx context.Context, pids []int, opt trace.Options) (*trace.Result, error) {
	if len(pids) == 0 {
		return nil, errors.New("attach: no process")
	}
	if err := supports(opt); err != nil {
		return nil, err
	}
	tgids := make([]int, 0, len(pids))
	for _, pid := range pids {
		tgid, err := readTgid(pid)
		if err != nil {
			return nil, fmt.Errorf("attach: no process %d", pid)
		}
		// The program would wait for a process that never makes a call.
		if why := trace.Untraceable(tgid); why != "" {
			return nil, fmt.Errorf("attach: %s", why)
		}
		tgids = append(tgids, tgid)
	}
	p, err := load(config{mode: modeSeeds})
	if err != nil {
		return nil, err
	}
	defer closeProbe(p)
	for _, tgid := range tgids {
		if err := p.seed(tgid, 0); err != nil {
			return nil, err
		}
	}
	done := func() bool {
		for _, tgid := range tgids {
			if unix.Kill(tgid, 0) != unix.ESRCH {
				return false
			}
		}
		return p.counter(p.objs.Live) == 0
	}
	names := make([]string, len(pids))
	for i, pid := range pids {
		names[i] = strconv.Itoa(pid)
	}
	return p.watch(ctx, opt, done, profile.Source{Kind: "trace", Name: "pid " + strings.Join(names, ","), Coverage: profile.CoverageFull})
}

// AttachCgroup takes an inventory of every process in cgroup cg and below
// it, including processes started or moved there later, until ctx is done,
// the cgroup is removed, or it empties after having had processes.
func AttachCgroup(ctx context.Context, cg Cgroup, opt trace.Options) (*trace.Result, error) {
	if err := supports(opt); err != nil {
		return nil, err
	}
	p, err := load(config{mode: modeCgroup2, cgroupID: cg.ID, cgroupLevel: uint32(cg.Level)})
	if err != nil {
		return nil, err
	}
	defer closeProbe(p)
	was := false
	done := func() bool {
		if _, err := os.Stat(cg.Path); err != nil {
			return true
		}
		now := populated(cg.Path)
		was = was || now
		return was && !now
	}
	return p.watch(ctx, opt, done, profile.Source{Kind: "trace", Name: cg.Name, Coverage: profile.CoverageFull})
}

// watch records until ctx is done or done reports the traced processes
// gone, then reads the profile.
func (p *probe) watch(ctx context.Context, opt trace.Options, done func() bool, src profile.Source) (*trace.Result, error) {
	stop := make(chan struct{})
	go reportProgress(p, opt.Progress, stop)
	tick := time.NewTicker(100 * time.Millisecond)
	for !done() {
		select {
		case <-ctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	tick.Stop()
	close(stop)
	prof, l, err := p.profile()
	if err != nil {
		return nil, err
	}
	src.Detail = "attach"
	describe(&src, l)
	prof.Sources = append(prof.Sources, src)
	return &trace.Result{Profile: prof, Stats: p.stats()}, nil
}

// killAll kills the traced processes: pid, and every process with a task
// state (found by looking each one up by pidfd).
func (p *probe) killAll(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	for range 3 {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		found := false
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			fd, err := unix.PidfdOpen(n, 0)
			if err != nil {
				continue
			}
			var st gvcheckTaskState
			if p.objs.Tasks.Lookup(uint32(fd), &st) == nil && st.Flags&tsLive != 0 {
				_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
				found = true
			}
			unix.Close(fd)
		}
		if !found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func closeProbe(p *probe) {
	if p != nil {
		_ = p.Close()
	}
}

func reportProgress(p *probe, progress func(trace.Stats), stop <-chan struct{}) {
	if progress == nil {
		return
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		progress(p.stats())
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

// wait4 waits for pid, retrying on EINTR.
func wait4(pid int, ws *unix.WaitStatus, options int) (int, error) {
	for {
		n, err := unix.Wait4(pid, ws, options, nil)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func or(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func readTgid(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Tgid in /proc/%d/status", pid)
}
