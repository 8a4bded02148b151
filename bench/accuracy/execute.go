package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// runResult is what one run of a command did.
type runResult struct {
	exit     int // exit status, 128+signal when killed
	timedOut bool
	stdout   string
	stderr   string
	dur      time.Duration
	err      string // the command could not be started
}

// maxOutput bounds what is kept of each stream: checks look at the start
// of the output and no program of the corpus prints more.
const maxOutput = 1 << 20

type capped struct {
	bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// runEnv is the environment of every run: the caller's, with messages in
// the C locale so that the checks' regexes see the same words everywhere.
func runEnv() []string {
	return append(os.Environ(), "LC_ALL=C")
}

// execute runs argv in dir with standard input /dev/null, standard output
// and error read through pipes (a sandboxed program's output must not go
// to a regular file), in its own process group, killed at the timeout.
func execute(ctx context.Context, dir string, argv []string, timeout time.Duration) *runResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = runEnv()
	var stdout, stderr capped
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// SIGTERM first, to the whole group: runsc then tears its sandbox down
	// and servers started by a wrapper stop; SIGKILL after WaitDelay.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := &runResult{dur: time.Since(start), timedOut: ctx.Err() != nil}
	if cmd.Process != nil {
		// Whatever the program left behind in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.exit = 128 + int(ws.Signal())
		} else {
			r.exit = ee.ExitCode()
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// Exited, but a child kept the pipes open: the status is known.
		r.exit = cmd.ProcessState.ExitCode()
	default:
		r.err = fmt.Sprintf("cannot run %s: %v", argv[0], err)
	}
	return r
}

// freshDir makes a new empty directory holding the entry's setup files;
// every run starts from its own.
func freshDir(e *Entry, base string) (string, error) {
	dir, err := os.MkdirTemp(base, "run-"+e.Name+"-")
	if err != nil {
		return "", err
	}
	for name, content := range e.Setup {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// runscArgv is the command line that runs argv under gVisor.
func runscArgv(runsc string, flags, argv []string) []string {
	out := append([]string{runsc}, flags...)
	out = append(out, "do", "-quiet", "--")
	return append(out, argv...)
}

// runEntry runs the entry once, natively or under runsc, untraced, in a
// fresh directory, and judges the run.
func runEntry(ctx context.Context, e *Entry, sandbox bool, runsc, base string) (*runResult, string, error) {
	dir, err := freshDir(e, base)
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	argv := e.argv()
	if sandbox {
		argv = runscArgv(runsc, e.Runsc, argv)
	}
	r := execute(ctx, dir, argv, e.timeout)
	return r, e.judge(r), nil
}
