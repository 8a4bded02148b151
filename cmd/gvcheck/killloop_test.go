package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestKillLoop kills gvcheck (SIGKILL, SIGTERM, SIGINT) at random moments of
// run (both backends, fast and full), attach, probe and verify, over
// multi-process programs, and checks after each kill: no process of the run
// left (stopped or not; the program, a tracee, a sandbox, a test command),
// no mount, an attached target still served and untraced; and at the end,
// after one more run of each kind, no temporary directory of a dead gvcheck.
// GVCHECK_KILLS sets the number of kills (CI: 60; the README's figures: 240).
func TestKillLoop(t *testing.T) {
	testenv.NeedRoot(t)
	g := gvcheck(t)
	if b := os.Getenv("GVCHECK_KILLLOOP_BIN"); b != "" {
		g = b // another build, to check that the loop finds what it must
	}
	kills := 60
	if n, err := strconv.Atoi(os.Getenv("GVCHECK_KILLS")); err == nil && n > 0 {
		kills = n
	}
	dir := t.TempDir()
	asan := testenv.BuildC(t, abs(t, "testdata", "corpus", "asan.c"), "-fsanitize=address")
	untraced := testenv.BuildC(t, abs(t, "testdata", "corpus", "untraced.c"))
	py := testenv.NeedTool(t, "python3")
	curl := testenv.NeedTool(t, "curl")
	runsc := ""
	if p, err := exec.LookPath("runsc"); err == nil {
		runsc = p
	} else if testenv.CI() {
		t.Fatal("runsc is not installed (.ci/install installs it)")
	}
	// A long-lived server that attach comes and goes on.
	port := testenv.FreePort(t)
	server := exec.Command(py, "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port))
	server.Dir = dir
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	waitPort(t, port)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	multi := "for i in 1 2 3; do (sleep 0.4; echo $i) & done; " + py +
		` -c 'import threading, time; [threading.Thread(target=time.sleep, args=(0.5,)).start() for _ in range(4)]'; ` +
		untraced + "; wait"
	sanitized := "for i in $(seq 15); do " + asan + " >/dev/null || exit 1; done"
	type scenario struct {
		name   string
		args   func() []string
		within time.Duration // kills land in [0, within)
	}
	scenarios := []scenario{
		{"run", func() []string { return []string{"run", "-o", "/dev/null", "--", "sh", "-c", multi} }, time.Second},
		{"run ptrace", func() []string {
			return []string{"run", "--backend", "ptrace", "-o", "/dev/null", "--", "sh", "-c", multi}
		}, time.Second},
		{"run ptrace --full", func() []string {
			return []string{"run", "--backend", "ptrace", "--full", "-o", "/dev/null", "--", "sh", "-c", multi}
		}, 1500 * time.Millisecond},
		{"run ptrace ASan", func() []string {
			return []string{"run", "--backend", "ptrace", "--full", "-o", "/dev/null", "--", "sh", "-c", sanitized}
		}, 1500 * time.Millisecond},
		{"run ASan", func() []string { return []string{"run", "-o", "/dev/null", "--", "sh", "-c", sanitized} }, time.Second},
		{"attach", func() []string {
			return []string{"attach", "--backend", "ptrace", "-o", "/dev/null", "--duration", "3s", strconv.Itoa(server.Process.Pid)}
		}, 1500 * time.Millisecond},
		{"probe", func() []string {
			p := strconv.Itoa(freePort(t))
			return []string{"probe", "-o", "/dev/null", "--ready", "port:" + p, "--test", curl + " -sf http://127.0.0.1:" + p + "/",
				"--", py, "-m", "http.server", "--bind", "127.0.0.1", p}
		}, 4 * time.Second},
	}
	if runsc != "" {
		scenarios = append(scenarios, scenario{"verify", func() []string {
			return []string{"verify", "-o", "/dev/null", "--", "sh", "-c", "sleep 3; echo hi"}
		}, 3 * time.Second})
	}
	signals := []syscall.Signal{syscall.SIGKILL, syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	survived := map[string]int{}
	if only := os.Getenv("GVCHECK_KILLLOOP_ONLY"); only != "" {
		var keep []scenario
		for _, sc := range scenarios {
			if sc.name == only {
				keep = append(keep, sc)
			}
		}
		scenarios = keep
	}
	created := map[string]bool{} // run directories the loop's gvchecks made
	for i := range kills {
		sc := scenarios[i%len(scenarios)]
		before := runDirs()
		sig := signals[rng.IntN(len(signals))]
		tag := fmt.Sprintf("GVCHECK_KILLLOOP=%d-%d", os.Getpid(), i)
		cmd := exec.Command(g, sc.args()...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), tag)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// A leftover that holds gvcheck's output must not hang the loop: it
		// is found below.
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(sc.within)))
		time.Sleep(delay)
		_ = cmd.Process.Signal(sig)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("kill %d (%s, %v after %v): gvcheck did not end within a minute", i, sc.name, sig, delay)
		}
		what := fmt.Sprintf("kill %d (%s, %v after %v)", i, sc.name, sig, delay.Round(time.Millisecond))
		var mine []string
		for d := range runDirs() {
			if !before[d] && ownedBy(d, cmd.Process.Pid) {
				mine = append(mine, d)
				created[d] = true
			}
		}
		if left := leftovers(tag, mine, 10*time.Second); len(left) > 0 {
			t.Errorf("%s left: %s\n%s", what, strings.Join(left, "; "), lastLines(out.Bytes(), 5))
			for _, l := range left {
				if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
			continue
		}
		clean := true
		if sc.name == "attach" {
			if st := procState(server.Process.Pid); st == 'T' || st == 't' || tracerOf(server.Process.Pid) != 0 {
				t.Errorf("%s: the attached server is left in state %c, traced by %d", what, st, tracerOf(server.Process.Pid))
				clean = false
			}
			if err := testenv.HTTPGet(url); err != nil {
				t.Errorf("%s: the attached server no longer answers: %v", what, err)
				clean = false
			}
		}
		if m := mountsOf(mine); len(m) > 0 {
			t.Errorf("%s: mounts left: %v", what, m)
			clean = false
		}
		if clean {
			survived[sc.name]++
		}
	}
	// One more run of each kind sweeps what the dead ones could not.
	for _, args := range [][]string{{"run", "-o", "/dev/null", "--", "true"}, {"probe", "-o", "/dev/null", "--", "true"}} {
		_ = exec.Command(g, args...).Run()
	}
	if runsc != "" {
		_ = exec.Command(g, "verify", "-o", "/dev/null", "--", "true").Run()
	}
	var dirs []string
	for d := range runDirs() {
		if created[d] {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) > 0 {
		t.Errorf("run directories of killed gvchecks left after the next runs: %v", dirs)
	}
	total := 0
	for _, n := range survived {
		total += n
	}
	t.Logf("kill loop: %d kills, %d left nothing behind: %v", kills, total, survived)
	if p := os.Getenv("GVCHECK_KILLS_REPORT"); p != "" {
		_ = os.WriteFile(p, []byte(fmt.Sprintf("%d kills, %d left nothing behind: %v\n", kills, total, survived)), 0o644)
	}
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on port %d", port)
}

func freePort(t *testing.T) int { return testenv.FreePort(t) }

// leftovers waits up to grace for every process of the run to go: those
// carrying its tag in their environment (the program, its children, test
// commands, runsc and its gofer), and those naming one of its run
// directories (runsc's sandbox, whose environment is empty). It returns
// what is still there.
func leftovers(tag string, dirs []string, grace time.Duration) []string {
	var left []string
	for deadline := time.Now().Add(grace); ; time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			ours := bytes.Contains(env, append([]byte(tag), 0))
			for _, d := range dirs {
				ours = ours || bytes.Contains(cmdline, []byte(d))
			}
			if !ours {
				continue
			}
			if st := procState(pid); st == 'Z' || st == 0 {
				continue
			}
			left = append(left, fmt.Sprintf("%d %c %s", pid, procState(pid), strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " ")))
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// ownedBy reports whether run directory d belongs to gvcheck pid: its name
// says so ("gvcheck-runsc-PID.START-"), or names no owner (older builds).
func ownedBy(d string, pid int) bool {
	rest := strings.TrimPrefix(filepath.Base(d), "gvcheck-runsc-")
	owner, _, ok := strings.Cut(rest, ".")
	if !ok {
		return true
	}
	return owner == strconv.Itoa(pid)
}

// runDirs lists gvcheck's run directories in the temporary directory.
func runDirs() map[string]bool {
	ents, _ := os.ReadDir(os.TempDir())
	out := map[string]bool{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "gvcheck-runsc-") {
			out[filepath.Join(os.TempDir(), e.Name())] = true
		}
	}
	return out
}

func procState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

func tracerOf(pid int) int { return statusField(pid, "TracerPid") }

var doRootRe = regexp.MustCompile(`/tmp/runsc-do[0-9]+`)

// mountsOf lists the mounts below the run directories dirs or below the
// runsc do roots their logs name: what these runs mounted (other tests and
// other users of the machine mount too).
func mountsOf(dirs []string) []string {
	roots := slices.Clone(dirs)
	for _, d := range dirs {
		logs, _ := filepath.Glob(filepath.Join(d, "logs", "*"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			for _, m := range doRootRe.FindAll(b, -1) {
				roots = append(roots, string(m))
			}
		}
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, r := range roots {
			if strings.HasPrefix(f[4], r+"/") {
				out = append(out, f[4])
			}
		}
	}
	return out
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
