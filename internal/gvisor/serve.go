package gvisor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// pollInterval spaces the attempts of Ready and Test.
const pollInterval = 250 * time.Millisecond

// serve runs opt.Ready until it passes, then opt.Test, inside the sandbox,
// until ctx ends. id and root name the sandbox when known in advance
// (bundle runs); otherwise they are read from runsc's log once it exists.
func (r *Runner) serve(ctx context.Context, runsc, logDir, id, root string, flags []string, opt RunOptions) (ready bool, test *ExecResult) {
	for id == "" {
		id, root = sandboxFromLogs(logDir)
		if id != "" {
			break
		}
		if !sleep(ctx, pollInterval/5) {
			return false, nil
		}
	}
	execIn := func(argv []string) *ExecResult {
		args := []string{"--root", root}
		if slices.Contains(flags, "--rootless") {
			args = append(args, "--rootless")
		}
		args = append(args, "exec")
		if opt.Dir != "" {
			args = append(args, "--cwd", opt.Dir)
		}
		args = append(args, id)
		args = append(args, argv...)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, runsc, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return &ExecResult{Argv: argv, Exit: exitOf(err), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	}
	poll := func(argv []string) (*ExecResult, bool) {
		var last *ExecResult
		for tries := 1; ; tries++ {
			res := execIn(argv)
			if ctx.Err() != nil {
				// Killed by the deadline, not a result of its own.
				if last == nil {
					last = res
				}
				return last, false
			}
			res.Tries = tries
			last = res
			if res.Exit.Code == 0 && res.Exit.Signal == "" {
				return last, true
			}
			if !sleep(ctx, pollInterval) {
				return last, false
			}
		}
	}
	ready = true
	if len(opt.Ready) > 0 {
		if _, ready = poll(opt.Ready); !ready {
			return false, nil
		}
	}
	if len(opt.Test) == 0 {
		return ready, nil
	}
	if len(opt.Ready) > 0 {
		test = execIn(opt.Test)
		test.Tries = 1
		return ready, test
	}
	test, _ = poll(opt.Test)
	return ready, test
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sandboxFromLogs reads the sandbox id and state directory runsc logged.
func sandboxFromLogs(logDir string) (id, root string) {
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".do.txt") && !strings.HasSuffix(f, ".run.txt") && !strings.HasSuffix(f, ".create.txt") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if m := sandboxRe.FindSubmatch(b); m != nil {
			return string(m[1]), string(m[2])
		}
	}
	return sandboxFromProc(logDir)
}

// sandboxFromProc finds the sandbox of a run whose runsc logged too little
// (no --debug): its gofer and sandbox processes carry the run's log
// directory, runsc's state directory (--root=) and, last, the sandbox id.
func sandboxFromProc(logDir string) (id, root string) {
	want := []byte("--debug-log=" + logDir + string(filepath.Separator) + "\x00")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, want) {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 2 || !strings.HasPrefix(filepath.Base(args[0]), "runsc-gofer") {
			continue
		}
		for _, a := range args {
			if r, ok := strings.CutPrefix(a, "--root="); ok {
				root = r
			}
		}
		if root != "" {
			return args[len(args)-1], root
		}
	}
	return "", ""
}

// programCalls keeps the calls of the program's own processes: the first
// process and those it created, not the Ready and Test commands exec'd
// into the sandbox next to it.
func programCalls(calls []profile.Call) []profile.Call {
	if len(calls) == 0 {
		return calls
	}
	mine := map[int]bool{calls[0].Pid: true}
	// A child may log before its parent's clone returns: close the set
	// over all clone results first.
	for changed := true; changed; {
		changed = false
		for _, c := range calls {
			if mine[c.Pid] && c.Errno == "" && c.Ret > 0 && isFork(c.Name) && !mine[int(c.Ret)] {
				mine[int(c.Ret)] = true
				changed = true
			}
		}
	}
	out := calls[:0:0]
	for _, c := range calls {
		if mine[c.Pid] {
			out = append(out, c)
		}
	}
	return out
}

func isFork(name string) bool {
	return name == "clone" || name == "clone3" || name == "fork" || name == "vfork"
}
