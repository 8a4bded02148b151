package gvisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gvcheck/gvcheck/internal/reap"
)

// What a run under runsc leaves must go even when gvcheck is killed
// (SIGKILL, no deferred cleanup):
//   - runsc runs under a reaper (package reap): when gvcheck ends, however
//     it ends, the reaper kills runsc, its sandbox and gofer; and runsc runs
//     in a mount namespace of its own where the kernel allows it, so the
//     network namespaces it bind-mounts vanish with it;
//   - the run's directory (logs, state) is named after gvcheck's pid and
//     start time, and the next run removes those of gvcheck processes that
//     no longer exist (Sweep), with whatever they still hold: processes
//     started with them, mounts below them, and the `runsc do` state roots
//     their logs name (runsc picks those itself, in the temporary
//     directory);
//   - commands gvcheck runs next to a program (a --test) run under a reaper
//     too, in a process group of their own (Contain).

// runDirPrefix starts the name of a run's directory; runDir adds the pid
// and start time of the gvcheck that owns it.
const runDirPrefix = "gvcheck-runsc-"

var runDirRe = regexp.MustCompile(`^` + runDirPrefix + `(\d+)\.(\d+)-`)

// runDir makes a run's private directory, named for Sweep.
func runDir() (string, error) {
	return os.MkdirTemp("", fmt.Sprintf("%s%d.%d-", runDirPrefix, os.Getpid(), startTime(os.Getpid())))
}

// startTime is pid's start time in clock ticks since boot (0 if gone):
// with the pid it names a process for good, pids being reused.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// Sweep removes what runs of gvcheck processes that no longer exist left
// in the temporary directory: their sandbox processes, the mounts below
// their directories and runsc's roots, and the directories. runsc is used
// to delete their containers where it is given. It returns the directories
// it removed. Runs call it before they start.
func Sweep(runsc string) []string {
	tmp := os.TempDir()
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		m := runDirRe.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		start, _ := strconv.ParseUint(m[2], 10, 64)
		if pid > 0 && startTime(pid) == start {
			continue // its gvcheck is alive
		}
		dir := filepath.Join(tmp, e.Name())
		sweepRun(runsc, dir)
		removed = append(removed, dir)
	}
	return removed
}

// doRootRe finds the state roots `runsc do` made for itself (os.MkdirTemp
// "runsc-do*" in the temporary directory), wherever the logs name them:
// runsc logs them as rootDir and as --root= of its sandbox and gofer.
var doRootRe = regexp.MustCompile(`/runsc-do[0-9]+\b`)

// sweepRun cleans one dead run's directory.
func sweepRun(runsc, dir string) {
	roots := []string{filepath.Join(dir, "state")}
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
	tmp := filepath.Clean(os.TempDir())
	seen := map[string]bool{}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, m := range doRootRe.FindAll(b, -1) {
			if r := tmp + string(m); !seen[r] {
				seen[r] = true
				roots = append(roots, r)
			}
		}
	}
	killMentioning(append([]string{dir}, roots...))
	for _, r := range roots {
		if runsc != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			for _, id := range containers(r) {
				_ = exec.CommandContext(ctx, runsc, "--root", r, "delete", "-force", id).Run()
			}
			cancel()
		}
		unmountUnder(r)
	}
	unmountUnder(dir)
	for _, r := range roots[1:] {
		_ = os.RemoveAll(r)
	}
	_ = os.RemoveAll(dir)
}

// containers lists the container ids runsc keeps state for in root
// ("SANDBOX_sandbox:CONTAINER.state").
func containers(root string) []string {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".state")
		if !ok {
			continue
		}
		if _, id, found := strings.Cut(name, "_sandbox:"); found {
			name = id
		}
		ids = append(ids, name)
	}
	return ids
}

// killMentioning kills the processes whose command line names one of dirs
// (runsc, its sandbox and gofer carry --root= and --debug-log=).
func killMentioning(dirs []string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, d := range dirs {
			if bytes.Contains(b, []byte(d+"/")) || bytes.Contains(b, append([]byte(d), 0)) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

// Contain makes cmd (not yet started) run under a reaper in a process
// group of its own: it and everything it starts are killed when gvcheck
// ends, however gvcheck ends, and cmd.Wait waits for all of them. For the
// commands a run starts next to the program (a --test, runsc exec). Call
// the returned func once cmd has been waited for (or was not started).
func Contain(cmd *exec.Cmd) (release func(), err error) {
	c, err := reap.Contain(cmd, reap.Spec{Setpgid: true})
	if err != nil {
		return nil, err
	}
	return c.Release, nil
}

// containRunsc makes runsc run under a reaper, in gvcheck's process group's
// stead a group of its own (as the runner wants: a terminal's Ctrl-C goes to
// gvcheck, which stops the sandbox in order), with mounts of its own.
func containRunsc(cmd *exec.Cmd) (release func(), err error) {
	c, err := reap.Contain(cmd, reap.Spec{Setpgid: true, PrivateMounts: os.Geteuid() == 0})
	if err != nil {
		return nil, err
	}
	return c.Release, nil
}
