package gvisor

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var sandboxRe = regexp.MustCompile(`Create container, cid: ([^,\s]+), rootDir: "([^"]+)"`)

// stop ends a sandbox that ran out of time: runsc's own kill of every
// process in the container, which lets `runsc do` tear down and clean up.
func (r *Runner) stop(runsc, logDir string, res *RunResult, proc *os.Process) {
	r.findSandbox(logDir, res)
	if res.sandboxID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kill := exec.CommandContext(ctx, runsc, "--root", res.sandboxRoot, "kill", "--all", res.sandboxID, "KILL")
		if kill.Run() == nil {
			return
		}
	}
	// The sandbox is not up yet (or runsc kill failed): interrupt runsc,
	// which forwards the signal and cleans up.
	_ = proc.Signal(syscall.SIGTERM)
}

// findSandbox records the sandbox id and state directory runsc logged.
func (r *Runner) findSandbox(logDir string, res *RunResult) {
	if res.sandboxID != "" && res.sandboxRoot != "" {
		return
	}
	res.sandboxID, res.sandboxRoot = sandboxFromLogs(logDir)
}

// cleanupSandbox removes what runsc leaves when it was killed: the
// container (run mode), its processes and `do`'s state directory with the
// network namespace bind-mounted in it.
func cleanupSandbox(runsc string, res *RunResult) {
	if res.sandboxID == "" || res.sandboxRoot == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := os.Stat(res.sandboxRoot); err != nil {
		return // runsc cleaned up after itself
	}
	_ = exec.CommandContext(ctx, runsc, "--root", res.sandboxRoot, "delete", "-force", res.sandboxID).Run()
	killByRoot(res.sandboxRoot)
	// Both `do` and `run` with --network=none leave a network namespace
	// bind-mounted in the state directory.
	unmountUnder(res.sandboxRoot)
	if strings.Contains(filepath.Base(res.sandboxRoot), "runsc-do") {
		_ = os.RemoveAll(res.sandboxRoot)
	}
}

// killByRoot kills the sandbox and gofer processes of one sandbox, found by
// the state directory on their command line (unique to this run).
func killByRoot(root string) {
	want := []byte("--root=" + root)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, want) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder detaches mounts below dir (runsc do bind-mounts a network
// namespace file there).
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			_ = unix.Unmount(f[4], unix.MNT_DETACH)
		}
	}
}

// refusal reports whether a fatal error of runsc is about the program it
// was to start (its file capabilities, its executable) rather than about
// runsc or the machine: gVisor's loader fails "creating process" then.
func refusal(fatal string) bool {
	return strings.Contains(fatal, "creating process") || strings.Contains(fatal, "failed to update creds")
}

// runscFatal returns runsc's own fatal error, if it logged one.
func runscFatal(logDir string) string {
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, f := range files {
		if strings.HasSuffix(f, ".boot.txt") || strings.HasSuffix(f, ".gofer.txt") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if i := bytes.Index(b, []byte("FATAL ERROR: ")); i >= 0 {
			return firstLine(b[i+len("FATAL ERROR: "):])
		}
	}
	return ""
}
