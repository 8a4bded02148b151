//go:build linux

package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/reap"
)

// observes reports whether a run with opt must watch the program: a policy
// that only lets calls run or fails them (probe's experiments, --simulate)
// needs nobody to answer for it, so the program runs untraced. Nothing then
// stands between it and the kernel but its filter: it may trace, be traced
// and debug as natively (a sanitizer's leak checker attaches to its own
// threads, which no ptrace-based observer allows).
func observes(opt Options) bool {
	p := opt.Policy
	if p == nil || opt.Full {
		return true
	}
	if p.Default == policy.Trace || p.Default == policy.Notify || p.OtherABI == policy.Trace || p.OtherABI == policy.Notify {
		return true
	}
	for _, r := range p.Rules {
		if r.Action == policy.Trace || r.Action == policy.Notify {
			return true
		}
	}
	return false
}

// runUnobserved runs the program under its filter without a tracer, through
// a reaper (package reap) that keeps its whole tree together:
// the run lasts until every descendant has exited, cancelling ctx kills
// them all, and so does gvcheck's own end, even by SIGKILL.
func runUnobserved(ctx context.Context, path string, argv, env []string, opt Options) (*Result, error) {
	start := time.Now()
	filter, err := opt.Policy.Compile()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	shim := &policy.Spec{Path: path, Argv: argv, Env: env, Filter: filter, Signals: ProgramSignals(opt)}
	exe, shimArgv, handoff, err := shim.Handoff()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	files := []*os.File{or(opt.Stdin, os.Stdin), or(opt.Stdout, os.Stdout), or(opt.Stderr, os.Stderr)}
	r, err := reap.Start(&reap.Spec{Path: exe, Argv: shimArgv, Env: []string{}, Handoff: handoff}, opt.Dir, files)
	if err != nil {
		return nil, fmt.Errorf("run: start %s: %w", argv[0], err)
	}
	defer func() {
		r.Close()
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(r.Pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
	}()

	events := make(chan reap.Event, 4)
	go func() {
		defer close(events)
		for {
			ev, err := r.Next()
			if err != nil {
				return
			}
			events <- ev
		}
	}()

	// As in a traced run: the terminal's SIGINT and SIGQUIT reach the
	// program by themselves; SIGTERM and SIGHUP sent to gvcheck are passed on.
	sigs := make(chan os.Signal, 8)
	var watched []os.Signal
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			watched = append(watched, s)
		}
	}
	signal.Notify(sigs, watched...)
	defer signal.Stop(sigs)

	prog := 0
	exit := profile.Exit{Code: -1}
	exited, cancelled := false, false
	done := ctx.Done()
loop:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				break loop // the reaper is gone: so is the tree
			}
			switch {
			case ev.Started != 0:
				prog = ev.Started
			case ev.Exited:
				exited = true
				if ws := ev.Status; ws.Signaled() {
					exit = profile.Exit{Code: 128 + int(ws.Signal()), Signal: unix.SignalName(ws.Signal())}
				} else {
					exit = profile.Exit{Code: ws.ExitStatus()}
				}
			case ev.Empty:
				break loop
			}
		case s := <-sigs:
			if prog > 0 && (s == syscall.SIGTERM || s == syscall.SIGHUP) {
				_ = unix.Kill(prog, s.(syscall.Signal))
			}
		case <-done:
			cancelled = true
			r.Kill()
			done = nil
		}
	}
	if !exited {
		if !cancelled && ctx.Err() == nil {
			return nil, errors.New("run: the program's reaper ended before the program")
		}
		exit = profile.Exit{Code: 128 + int(unix.SIGKILL), Signal: "SIGKILL"}
	}
	t, err := newTracer(modeRun, opt)
	if err != nil {
		return nil, err
	}
	src := profile.Source{Kind: "trace", Command: argv, Coverage: profile.CoverageFiltered,
		Detail: "not observed: the policy only lets calls run or fails them", Exit: &exit}
	t.prof.Sources = append(t.prof.Sources, src)
	res := &Result{Profile: t.prof, Exit: exit, Stats: Stats{Elapsed: time.Since(start)}}
	if cancelled || ctx.Err() != nil {
		return res, fmt.Errorf("run: %w", context.Cause(ctx))
	}
	return res, nil
}
