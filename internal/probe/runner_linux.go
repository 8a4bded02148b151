package probe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// tailSize is how much of each output a run keeps.
const tailSize = 4096

// ExecRunner runs the program natively under gvcheck's tracer, with a
// seccomp filter failing the denied candidates as gVisor would. The binary
// must call policy.ShimMain first thing in main (or TestMain).
type ExecRunner struct {
	cfg Config
}

// NewRunner checks cfg and returns the runner Probe uses for real programs.
func NewRunner(cfg Config) (*ExecRunner, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("probe: no command")
	}
	if cfg.Arch == "" {
		cfg.Arch = sysno.Host()
	}
	if cfg.Arch != sysno.Host() {
		return nil, fmt.Errorf("probe: the target is %s but this machine is %s; experiments run natively", cfg.Arch, sysno.Host())
	}
	if cfg.Stdin == "" {
		cfg.Stdin = os.DevNull
	}
	if _, err := os.Stat(cfg.Stdin); err != nil {
		return nil, fmt.Errorf("probe: stdin: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Test == "" && (cfg.Ready != Ready{}) {
		return nil, errors.New("probe: a readiness condition needs a test command")
	}
	if cfg.Ready.Port < 0 || cfg.Ready.Port > 65535 {
		return nil, fmt.Errorf("probe: ready port %d out of range", cfg.Ready.Port)
	}
	return &ExecRunner{cfg: cfg}, nil
}

// Run runs the program once. observe traces every syscall (full mode) and
// returns them in Outcome.Calls.
func (r *ExecRunner) Run(ctx context.Context, deny []Candidate, observe bool) (Outcome, error) {
	if deny == nil {
		deny = []Candidate{} // nil would mean all of the table's
	}
	pol, err := SimulatePolicy(nil, r.cfg.Arch, deny)
	if err != nil {
		return Outcome{}, err
	}
	stdin, err := os.Open(r.cfg.Stdin)
	if err != nil {
		return Outcome{}, fmt.Errorf("probe: stdin: %w", err)
	}
	defer stdin.Close()
	stdout, outDone, err := capture()
	if err != nil {
		return Outcome{}, err
	}
	stderr, errDone, err := capture()
	if err != nil {
		stdout.Close()
		<-outDone
		return Outcome{}, err
	}

	var (
		mu    sync.Mutex
		calls []profile.Call
	)
	opt := trace.Options{
		Policy: pol, Full: observe,
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Dir: r.cfg.Dir, Env: r.cfg.Env,
	}
	if observe {
		calls = []profile.Call{}
		opt.OnCall = func(c *profile.Call) {
			mu.Lock()
			calls = append(calls, *c)
			mu.Unlock()
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	before := children()
	start := time.Now()
	done := make(chan traced, 1)
	go func() {
		res, err := trace.Run(runCtx, r.cfg.Argv, opt)
		done <- traced{res, err}
	}()

	var o Outcome
	var tr traced
	if r.cfg.Test != "" {
		o.Test, tr = r.test(runCtx, cancel, done, before, start)
	} else {
		tr = <-done
	}
	o.Duration = time.Since(start)
	// The tree has exited: the pipes' only writers are ours.
	stdout.Close()
	stderr.Close()
	out, errOut := <-outDone, <-errDone
	o.Stdout, o.StdoutSum, o.Stderr = out.tail, out.sum, errOut.tail
	mu.Lock()
	o.Calls = calls
	mu.Unlock()

	if tr.res != nil {
		o.Exit = tr.res.Exit
		if observe {
			o.Profile = tr.res.Profile
		}
	}
	if tr.err != nil {
		switch {
		case ctx.Err() != nil:
			return o, ctx.Err()
		case errors.Is(tr.err, context.DeadlineExceeded) || errors.Is(tr.err, context.Canceled):
			// Our own timeout, or the end of a test-mode run: the tree was killed.
			o.TimedOut = errors.Is(runCtx.Err(), context.DeadlineExceeded)
			if tr.res == nil {
				o.Exit = profile.Exit{Code: 128 + int(unix.SIGKILL), Signal: "SIGKILL"}
			}
		default:
			return o, fmt.Errorf("probe: %w", tr.err)
		}
	}
	return o, nil
}

// test waits for the started program to be ready, runs the test command,
// then stops the program: SIGTERM, and after the grace period the tracer
// kills whatever is left of its tree.
func (r *ExecRunner) test(ctx context.Context, cancel context.CancelFunc, done chan traced, before map[int]bool, start time.Time) (*TestOutcome, traced) {
	to := &TestOutcome{}
	var tr traced
	exited := false
	if reason := r.waitReady(ctx, done, start, &tr, &exited); reason != "" {
		to.NotReady = reason
	} else {
		to.Exit, to.Output = r.runTest(ctx)
	}
	if exited {
		return to, tr
	}
	for _, pid := range newChildren(before) {
		_ = unix.Kill(pid, unix.SIGTERM)
	}
	select {
	case tr = <-done:
	case <-time.After(r.cfg.Grace):
		cancel()
		tr = <-done
	}
	return to, tr
}

// traced is what trace.Run returned.
type traced struct {
	res *trace.Result
	err error
}

// waitReady polls the readiness conditions; it returns why the program is
// not ready, or "".
func (r *ExecRunner) waitReady(ctx context.Context, done chan traced, start time.Time, tr *traced, exited *bool) string {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := time.Since(start) >= r.cfg.Ready.Delay
		if ready && r.cfg.Ready.File != "" {
			f := r.cfg.Ready.File
			if !filepath.IsAbs(f) && r.cfg.Dir != "" {
				f = filepath.Join(r.cfg.Dir, f)
			}
			_, err := os.Stat(f)
			ready = err == nil
		}
		if ready && r.cfg.Ready.Port != 0 {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.cfg.Ready.Port)), 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			ready = err == nil
		}
		if ready {
			return ""
		}
		select {
		case *tr = <-done:
			*exited = true
			if tr.res != nil {
				return "the program ended (" + exitString(tr.res.Exit) + ") before it was ready"
			}
			return "the program ended before it was ready"
		case <-ctx.Done():
			return fmt.Sprintf("not ready after %s", time.Since(start).Round(time.Millisecond))
		case <-tick.C:
		}
	}
}

// runTest runs the test command in its own process group, so that a
// timeout kills all of it.
func (r *ExecRunner) runTest(ctx context.Context) (profile.Exit, string) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", r.cfg.Test)
	cmd.Dir, cmd.Env = r.cfg.Dir, r.cfg.Env
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the test left behind in its group goes too.
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return profile.Exit{}, out.String()
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return profile.Exit{Code: 128 + int(ws.Signal()), Signal: unix.SignalName(ws.Signal())}, out.String()
		}
		return profile.Exit{Code: ee.ExitCode()}, out.String()
	default:
		return profile.Exit{Code: 127}, out.String() + err.Error()
	}
}

// children returns the pids whose parent is this process.
func children() map[int]bool {
	out := map[int]bool{}
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid(pid) == self {
			out[pid] = true
		}
	}
	return out
}

func newChildren(before map[int]bool) []int {
	var out []int
	for pid := range children() {
		if !before[pid] {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// ppid reads a process's parent from /proc/PID/stat (after the command,
// which may contain spaces and parentheses).
func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// tail keeps the last tailSize bytes written, and a digest of all of them.
type tail struct {
	mu  sync.Mutex
	buf []byte
	h   hash.Hash
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		t.h = sha256.New()
	}
	t.h.Write(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = slices.Clone(t.buf[len(t.buf)-tailSize:])
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) sum() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		t.h = sha256.New()
	}
	return hex.EncodeToString(t.h.Sum(nil))
}

type captured struct{ tail, sum string }

// capture returns the write end of a pipe for the program, and a channel
// delivering what was written once every writer has closed it.
func capture() (*os.File, chan captured, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("probe: %w", err)
	}
	ch := make(chan captured, 1)
	go func() {
		var t tail
		_, _ = io.Copy(&t, rd)
		rd.Close()
		ch <- captured{t.String(), t.sum()}
	}()
	return wr, ch, nil
}
