package gvisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

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
