//go:build linux

// Package launch runs a program natively the way the runs that decide a
// verdict need it: unobserved (no ptrace), optionally under a seccomp
// filter whose notifications a supervisor answers (a simulation of gVisor),
// and isolated as a sandbox is: its own PID namespace (the program is PID 1
// and the whole tree ends with it), a private copy of the machine's files,
// and without a network other than loopback when the sandbox has none.
//
// The binary must call policy.ShimMain first thing in main (or TestMain).
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/reap"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// Config describes one run.
type Config struct {
	Argv  []string
	Env   []string // nil: this process's environment
	Dir   string   // "": the current directory
	Stdin string   // file for standard input; "": /dev/null
	// Timeout bounds the run (0: DefaultTimeout).
	Timeout time.Duration
	// Isolate runs the program in namespaces of its own, as a sandbox
	// does; without it the program runs in place, in a process group of
	// its own.
	Isolate bool
	// Network "none" gives an isolated run a network namespace with only
	// loopback; anything else keeps the host's network.
	Network string
	// Rootfs, if set, runs the program isolated in a container image's
	// root (isolate.Rootfs) instead of a copy of the host's; Dir is then a
	// path of the image, and Path the executable there.
	Rootfs *isolate.Rootfs
	// Path, if set, is the executable to run (Argv[0] is then only the
	// program's argv[0]), as the program's root sees it.
	Path string
	// Filter is installed before the program starts. With Supervise set it
	// may notify: Supervise is then called with its listener and must
	// answer until stop is set or no task uses the filter.
	Filter    []unix.SockFilter
	Supervise func(listener int, stop *atomic.Bool)
	// OutputLimit is how much of each stream is kept (0: DefaultOutputLimit).
	OutputLimit int
	// Test, for servers: a shell command whose success means the program
	// works, started once Ready holds; the program is then stopped
	// (SIGTERM, and after Grace, SIGKILL). An isolated program's test runs
	// in its mount and network namespaces.
	Test  string
	Ready Ready
	Grace time.Duration
}

// Ready says when a started server can be tested; with several conditions
// set all must hold.
type Ready struct {
	Port  int           // a TCP port on 127.0.0.1 accepts connections
	File  string        // this file exists (as the program sees files)
	Delay time.Duration // this long has passed since the start
}

// Defaults for zero fields of Config.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultGrace       = 2 * time.Second
	DefaultOutputLimit = 4 << 20
)

// Result is one run's outcome.
type Result struct {
	outcome.Run
	Duration time.Duration
}

// Run runs the program once and returns how it ended. A program that fails
// is a result, not an error; an error means it could not be run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("launch: no command")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	if cfg.Rootfs != nil {
		cfg.Isolate = true
		if cfg.Dir == "" {
			cfg.Dir = "/"
		}
	}
	dir := cfg.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("launch: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	path := cfg.Path
	if path == "" {
		if path, err = LookPath(cfg.Argv[0], env, dir); err != nil {
			return nil, err
		}
	}
	stdinName := cfg.Stdin
	if stdinName == "" {
		stdinName = os.DevNull
	}
	stdin, err := os.Open(stdinName)
	if err != nil {
		return nil, fmt.Errorf("launch: stdin: %w", err)
	}
	defer stdin.Close()

	spec := &policy.Spec{Path: path, Argv: cfg.Argv, Env: env, Filter: cfg.Filter, KeepParentDeath: true,
		Signals: trace.ProgramSignals(trace.Options{})}
	if cfg.Supervise != nil {
		if len(cfg.Filter) == 0 {
			return nil, errors.New("launch: a supervisor needs a filter")
		}
		spec.SendListener = true
	}
	attr := policy.StartAttr{Dir: startDir(cfg.Isolate, dir), Pdeathsig: syscall.SIGKILL}
	if cfg.Isolate {
		spec.Isolate = &isolate.Spec{Dir: dir, Loopback: cfg.Network == "none", Rootfs: cfg.Rootfs}
		if cfg.Rootfs == nil {
			spec.Isolate.DiskUpper = isolate.Scratch(dir)
		}
		if up := spec.Isolate.DiskUpper; up != "" {
			defer os.RemoveAll(up)
		}
		attr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS
		if cfg.Network == "none" {
			attr.Cloneflags |= unix.CLONE_NEWNET
		}
		if os.Geteuid() != 0 {
			// Without root, a user namespace lends the capabilities to
			// build the others; the program keeps its own uid and gid.
			attr.Cloneflags |= unix.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		}
	} else {
		attr.Setpgid = true
	}
	stdout, outDone, err := capture(cfg.OutputLimit)
	if err != nil {
		return nil, err
	}
	stderr, errDone, err := capture(cfg.OutputLimit)
	if err != nil {
		stdout.Close()
		<-outDone
		return nil, err
	}
	attr.Files = []*os.File{stdin, stdout, stderr}

	// The parent-death signal fires when the thread that started the child
	// ends. Go ends a thread only when a goroutine locked to it returns
	// without unlocking; none here does, and this one keeps its thread to
	// itself until the child is gone.
	type started struct {
		sh  *policy.Started
		err error
	}
	startc := make(chan started, 1)
	waitc := make(chan *exitStatus, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		sh, err := policy.Start(spec, attr)
		startc <- started{sh, err}
		if sh == nil {
			return
		}
		waitc <- wait(sh.Pid)
	}()
	s := <-startc
	stdout.Close()
	stderr.Close()
	if s.sh == nil {
		<-outDone
		<-errDone
		if errors.Is(s.err, unix.EPERM) || errors.Is(s.err, unix.EINVAL) || errors.Is(s.err, unix.ENOSPC) || errors.Is(s.err, unix.EUSERS) {
			return nil, fmt.Errorf("launch: %w: %w", isolate.ErrUnavailable, s.err)
		}
		return nil, fmt.Errorf("launch: start %s: %w", cfg.Argv[0], s.err)
	}
	start := time.Now()
	pid := s.sh.Pid

	var stop atomic.Bool
	var superDone chan struct{}
	if cfg.Supervise != nil {
		superDone = make(chan struct{})
		go func() {
			defer close(superDone)
			fd, err := s.sh.Listener()
			if err != nil {
				return // the shim failed before it sent one: it reports why
			}
			defer unix.Close(fd)
			cfg.Supervise(fd, &stop)
		}()
	}

	kill := func(sig unix.Signal) {
		if cfg.Isolate {
			// PID 1 of its namespace: SIGKILL takes the whole tree.
			_ = unix.Kill(pid, sig)
		} else {
			_ = unix.Kill(-pid, sig)
		}
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	res := &Result{}
	var st *exitStatus
	if cfg.Test != "" {
		ended := make(chan struct{})
		var exited *exitStatus
		go func() { exited = <-waitc; close(ended) }()
		res.Test = TestServer(runCtx, cfg, dir, pid, start, ended)
		select {
		case <-ended:
		default:
			kill(unix.SIGTERM)
			select {
			case <-ended:
			case <-time.After(cfg.Grace):
				kill(unix.SIGKILL)
				<-ended
			}
		}
		st = exited
	} else {
		select {
		case st = <-waitc:
		case <-runCtx.Done():
			kill(unix.SIGKILL)
			st = <-waitc
			res.TimedOut = runCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		}
	}
	res.Duration = time.Since(start)
	if !cfg.Isolate {
		// The program's end ends its run, as a sandbox's end does: what it
		// left running in its group goes too.
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	stop.Store(true)
	if superDone != nil {
		s.sh.Close()
		<-superDone
	}
	out, errOut := <-outDone, <-errDone
	res.Stdout, res.Stderr = out.data, errOut.data
	res.Truncated = out.truncated || errOut.truncated
	res.Exit = exitOf(st)
	if ctx.Err() != nil {
		return res, fmt.Errorf("launch: %w", ctx.Err())
	}
	return res, nil
}

// startDir is where the shim starts: an isolated run enters its directory
// inside its own root.
func startDir(isolated bool, dir string) string {
	if isolated {
		return "/"
	}
	return dir
}

// exitStatus is how a started process ended.
type exitStatus struct{ ws unix.WaitStatus }

// wait reaps process pid.
func wait(pid int) *exitStatus {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			if err != nil {
				return nil
			}
			return &exitStatus{ws}
		}
	}
}

func exitOf(st *exitStatus) profile.Exit {
	switch {
	case st == nil:
		return profile.Exit{Code: -1}
	case st.ws.Signaled():
		return profile.Exit{Code: 128 + int(st.ws.Signal()), Signal: unix.SignalName(st.ws.Signal())}
	}
	return profile.Exit{Code: st.ws.ExitStatus()}
}

// TestServer waits until the program started as pid is ready (cfg.Ready),
// then runs cfg.Test against it. ended is closed when the program exits.
// The caller stops the program afterwards.
func TestServer(ctx context.Context, cfg Config, dir string, pid int, start time.Time, ended <-chan struct{}) *outcome.Test {
	t := &outcome.Test{}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(cfg, pid, start) {
			t.Exit, t.Output = runTest(ctx, cfg, dir, pid)
			return t
		}
		select {
		case <-ended:
			t.NotReady = "the program ended before it was ready"
			return t
		case <-ctx.Done():
			t.NotReady = fmt.Sprintf("not ready after %s", time.Since(start).Round(time.Millisecond))
			return t
		case <-tick.C:
		}
	}
}

// ready checks the readiness conditions, inside the program's namespaces.
func ready(cfg Config, pid int, start time.Time) bool {
	if time.Since(start) < cfg.Ready.Delay {
		return false
	}
	if f := cfg.Ready.File; f != "" {
		if cfg.Isolate {
			// The program's root, seen through /proc.
			f = filepath.Join("/proc", strconv.Itoa(pid), "root", f)
		}
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	if port := cfg.Ready.Port; port != 0 {
		if !portOpen(port, pid, cfg.Isolate && cfg.Network == "none") {
			return false
		}
	}
	return true
}

// portOpen reports whether a TCP port of 127.0.0.1 accepts connections,
// in the network namespace of process pid when inNS.
func portOpen(port, pid int, inNS bool) bool {
	if !inNS {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	fd, err := socketIn(pid)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if errors.Is(err, unix.EINPROGRESS) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, _ := unix.Poll(pfd, 200); n != 1 {
			return false
		}
		soErr, gerr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		return gerr == nil && soErr == 0
	}
	return err == nil
}

// socketIn makes a non-blocking TCP socket in the network namespace of pid:
// a socket belongs to the namespace it was made in, so the thread enters
// that namespace only to make it, then returns to its own.
func socketIn(pid int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(self)
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	if err := unix.Setns(pidfd, unix.CLONE_NEWNET); err != nil {
		return -1, err
	}
	fd, sockErr := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread cannot go back: let it end with the goroutine rather
		// than serve others in the wrong namespace. It started no child.
		if sockErr == nil {
			unix.Close(fd)
		}
		runtime.LockOSThread()
		return -1, err
	}
	return fd, sockErr
}

// runTest runs the test command in its own process group, killed with
// gvcheck, in the program's namespaces when it is isolated.
func runTest(ctx context.Context, cfg Config, dir string, pid int) (profile.Exit, string) {
	spec := &policy.Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", cfg.Test}, Env: envOr(cfg.Env), KeepParentDeath: true}
	attr := policy.StartAttr{Dir: dir, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if cfg.Isolate {
		spec.Isolate = &isolate.Spec{Dir: dir, Join: pid}
		attr.Dir = "/"
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return profile.Exit{Code: 127}, err.Error()
	}
	defer devnull.Close()
	out, done, err := capture(8192)
	if err != nil {
		return profile.Exit{Code: 127}, err.Error()
	}
	attr.Files = []*os.File{devnull, out, out}
	type result struct {
		st  *exitStatus
		err error
	}
	resc := make(chan result, 1)
	go func() {
		// Under a reaper: the test and all it starts are killed when it
		// ends, or when gvcheck ends however it ends.
		exe, argv, msg, err := spec.Handoff()
		if err != nil {
			out.Close()
			resc <- result{nil, err}
			return
		}
		rp, err := reap.Start(&reap.Spec{Path: exe, Argv: argv, Env: []string{}, Handoff: msg, Setpgid: true}, attr.Dir, attr.Files)
		out.Close()
		if err != nil {
			resc <- result{nil, err}
			return
		}
		stop := context.AfterFunc(ctx, rp.Kill)
		var st *exitStatus
		for {
			ev, err := rp.Next()
			if err != nil || ev.Empty {
				break
			}
			if ev.Exited {
				st = &exitStatus{ev.Status}
				// Whatever the test left behind goes too.
				rp.Kill()
			}
		}
		stop()
		rp.Close()
		wait(rp.Pid)
		resc <- result{st, nil}
	}()
	r := <-resc
	c := <-done
	if r.st == nil {
		msg := "cannot start the test"
		if r.err != nil {
			msg = r.err.Error()
		}
		return profile.Exit{Code: 127}, string(c.data) + msg
	}
	return exitOf(r.st), lastBytes(c.data, 8192)
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func envOr(env []string) []string {
	if env == nil {
		return os.Environ()
	}
	return env
}

// LookPath resolves name like execvp, with PATH from env and relative
// paths against dir.
func LookPath(name string, env []string, dir string) (string, error) {
	if filepath.Base(name) != name {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := cutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("launch: %s: %w", name, exec.ErrNotFound)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

type captured struct {
	data      []byte
	truncated bool
}

// capture returns the write end of a pipe for the program, and a channel
// delivering up to limit bytes of what was written, once every writer has
// closed it. The rest is read and dropped, so the program never blocks.
func capture(limit int) (*os.File, chan captured, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("launch: %w", err)
	}
	ch := make(chan captured, 1)
	go func() {
		var c captured
		buf := make([]byte, 64*1024)
		for {
			n, err := rd.Read(buf)
			if n > 0 {
				room := limit - len(c.data)
				if n > room {
					c.truncated = true
					n = max(room, 0)
				}
				c.data = append(c.data, buf[:n]...)
			}
			if err != nil {
				if err != io.EOF {
					c.truncated = true
				}
				break
			}
		}
		rd.Close()
		ch <- c
	}()
	return wr, ch, nil
}
