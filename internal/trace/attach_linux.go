//go:build linux

package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// Attach traces the running processes pids (all their threads, and the
// children they create afterwards) with PTRACE_SYSCALL until ctx is done or
// they have all exited, then detaches, leaving them running (or stopped,
// if job control had stopped them) with no signal lost. Options.Policy only
// classifies calls for Stats.Stopped: a filter cannot be installed into a
// running process, so every syscall is recorded.
func Attach(ctx context.Context, pids []int, opt Options) (*Result, error) {
	if len(pids) == 0 {
		return nil, errors.New("attach: no process")
	}
	t, err := newTracer(modeAttach, opt)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		res *Result
		err error
	}
	ch := make(chan outcome, 1)
	goOnChildlessThread(func() {
		res, err := t.attach(ctx, pids)
		if len(t.threads) == 0 {
			runtime.UnlockOSThread()
		} // else the thread ends with the goroutine, which detaches the rest
		ch <- outcome{res, err}
	})
	o := <-ch
	return o.res, o.err
}

func (t *tracer) attach(ctx context.Context, pids []int) (*Result, error) {
	// Stops of tracees signal SIGCHLD to the tracer: waiting without
	// blocking and sleeping on SIGCHLD or ctx lets the tracing thread both
	// follow the tracees and notice cancellation.
	defer loudSIGCHLD()()
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)

	for _, pid := range pids {
		if err := t.seizeProcess(pid); err != nil {
			t.detachAll()
			return nil, err
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	go t.reportProgress(stop)
	var ws unix.WaitStatus
	for {
		ended := false
		for {
			wpid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD|unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err == unix.ECHILD {
				ended = true
				break
			}
			if err != nil {
				t.detachAll()
				return nil, fmt.Errorf("attach: wait: %w", err)
			}
			if wpid == 0 {
				break
			}
			t.handle(wpid, ws)
		}
		// Every tracee gone ends the trace; wait4 would not say so while
		// this thread has children of its own from before it attached.
		if len(t.threads) == 0 {
			ended = true
		}
		if ended || ctx.Err() != nil {
			break
		}
		select {
		case <-chld:
		case <-ctx.Done():
		}
	}
	t.detachAll()
	names := make([]string, len(pids))
	for i, p := range pids {
		names[i] = strconv.Itoa(p)
	}
	t.prof.Sources = append(t.prof.Sources, profile.Source{
		Kind: "trace", Name: "pid " + strings.Join(names, ","), Coverage: profile.CoverageFull, Detail: "attach",
	})
	return &Result{Profile: t.prof, Stats: t.snapshot()}, nil
}

// seizeProcess attaches to every thread of pid, rescanning until no thread
// appears that was created before its creator was attached.
func (t *tracer) seizeProcess(pid int) error {
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("attach: no process %d", pid)
	}
	pid = readTgid(pid) // a thread id stands for its process
	if t.procs[pid] != nil {
		return nil // listed twice
	}
	var p *process
	for round := 0; ; round++ {
		tids, err := listTasks(pid)
		if err != nil {
			return fmt.Errorf("attach: %w", err)
		}
		added := 0
		for _, tid := range tids {
			if t.threads[tid] != nil {
				continue
			}
			if err := seize(tid, traceOpts); err != nil {
				if err == unix.ESRCH {
					continue // exited meanwhile
				}
				return fmt.Errorf("attach to process %d: %w%s", pid, err, refusal(tid, err))
			}
			if p == nil {
				p = t.procs[pid]
				if p == nil {
					p = t.addProcess(pid, readExe(pid), false)
				}
			}
			th := t.addThread(tid, p)
			// Stop it once so that it can be restarted with PTRACE_SYSCALL.
			_ = ptrace(unix.PTRACE_INTERRUPT, th.tid, 0, 0)
			added++
		}
		if added == 0 || round > 100 {
			return nil
		}
	}
}

// detachAll brings every tracee to a ptrace-stop and detaches it there,
// re-injecting a signal it was about to receive.
func (t *tracer) detachAll() {
	for tid, th := range t.threads {
		if err := ptrace(unix.PTRACE_INTERRUPT, tid, 0, 0); err == unix.ESRCH {
			t.threadGone(th)
		}
	}
	var ws unix.WaitStatus
	for len(t.threads) > 0 {
		wpid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil { // ECHILD: nothing left that can report
			break
		}
		th := t.threads[wpid]
		if ws.Exited() || ws.Signaled() {
			if th != nil {
				t.threadGone(th)
			}
			continue
		}
		if !ws.Stopped() {
			continue
		}
		sig := int(ws>>8) & 0xff
		ev := int(ws>>16) & 0xff
		inject := 0
		switch {
		case ev == unix.PTRACE_EVENT_FORK || ev == unix.PTRACE_EVENT_VFORK || ev == unix.PTRACE_EVENT_CLONE:
			// The new child is traced too and will stop; detach it then.
			if child, err := eventMsg(wpid); err == nil && t.threads[int(child)] == nil {
				if th == nil {
					th = t.lookupThread(wpid)
				}
				t.childCreated(th, int(child), ev)
			}
		case ev == 0 && sig != stopSyscall:
			inject = sig // signal-delivery-stop
		}
		_ = ptrace(unix.PTRACE_DETACH, wpid, 0, uintptr(inject))
		if th == nil {
			th = t.threads[wpid]
		}
		if th != nil {
			t.threadGone(th)
		}
	}
}

// tracerOf returns the TracerPid of tid, 0 if none or unknown.
func tracerOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
