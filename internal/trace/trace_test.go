//go:build linux

package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

var victimDir string

func TestMain(m *testing.M) {
	if policy.ShimMain() {
		return
	}
	if argv := os.Getenv("GVCHECK_TRACE_TEST_TRACER"); argv != "" {
		tracerHelper(strings.Fields(argv))
		return
	}
	dir, err := os.MkdirTemp("", "gvcheck-trace-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	victimDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tracerHelper is a gvcheck stand-in that a test kills with SIGKILL.
func tracerHelper(argv []string) {
	pol := testPolicy()
	if os.Getenv("GVCHECK_TRACE_TEST_UNOBSERVED") != "" {
		pol = errnoPolicy()
	}
	res, err := Run(context.Background(), argv, Options{Policy: pol})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(res.Exit.Code)
}

var (
	buildOnce sync.Map // name -> *buildResult
)

type buildResult struct {
	once sync.Once
	path string
	err  error
}

func build(t *testing.T, name string, f func(out string) *exec.Cmd) string {
	t.Helper()
	v, _ := buildOnce.LoadOrStore(name, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		b.path = filepath.Join(victimDir, name)
		cmd := f(b.path)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func cVictims(t *testing.T) string {
	cc := testenv.NeedTool(t, "cc")
	return build(t, "victims", func(out string) *exec.Cmd {
		return exec.Command(cc, "-O1", "-pthread", "-o", out, "testdata/victims/victims.c")
	})
}

func goThreads(t *testing.T) string {
	gocmd := testenv.NeedTool(t, "go")
	return build(t, "gothreads", func(out string) *exec.Cmd {
		return exec.Command(gocmd, "build", "-o", out, "./testdata/victims/gothreads")
	})
}

// testPolicy stands for a compat-DB policy: everything allowed but a few
// syscalls gVisor lacks, and number 999.
func testPolicy() *policy.Policy {
	p := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow}
	for _, name := range []string{"io_uring_setup", "kexec_load", "set_robust_list"} {
		if n, ok := sysno.Number(sysno.Host(), name); ok {
			p.Rules = append(p.Rules, policy.Rule{Nr: n, Action: policy.Trace})
		}
	}
	p.Rules = append(p.Rules, policy.Rule{Nr: 999, Action: policy.Trace})
	return p
}

type outcome struct {
	stdout []byte
	exit   profile.Exit
}

func runNative(t *testing.T, argv []string) outcome {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "testdata/victims"
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var o outcome
	o.stdout = out.Bytes()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.exit.Code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			o.exit = profile.Exit{Code: 128 + int(st.Signal()), Signal: unix.SignalName(st.Signal())}
		}
	default:
		t.Fatalf("native %v: %v", argv, err)
	}
	return o
}

func runTraced(t *testing.T, argv []string, opt Options) (outcome, *Result) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var errb bytes.Buffer
	ef, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	opt.Stdout, opt.Stderr = f, ef
	opt.Dir = "testdata/victims"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, argv, opt)
	if err != nil {
		t.Fatalf("traced %v: %v", argv, err)
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(ef.Name()); len(b) > 0 {
		errb.Write(b)
		t.Logf("traced stderr: %s", errb.String())
	}
	return outcome{stdout: out, exit: res.Exit}, res
}

// TestRunSameAsNative runs real programs natively and under both modes and
// requires the same exit status and the same stdout bytes.
func TestRunSameAsNative(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	cases := []struct {
		name string
		argv func(t *testing.T) []string
	}{
		{"go-threads", func(t *testing.T) []string { return []string{goThreads(t)} }},
		{"python-multiprocessing", func(t *testing.T) []string { return []string{testenv.NeedTool(t, "python3"), "mp.py"} }},
		{"jvm", func(t *testing.T) []string { return []string{testenv.NeedTool(t, "java"), "Threads.java"} }},
		{"nodejs", func(t *testing.T) []string { return []string{testenv.NeedTool(t, "node"), "workers.js"} }},
		{"shell-pipeline", func(t *testing.T) []string {
			return []string{sh, "-c", `(echo a; echo b; echo c) | (read x; exec sort -r); echo $(echo sub | tr a-z A-Z); (exit 4) || echo $?; exec /bin/echo done`}
		}},
		{"shell-kills-itself", func(t *testing.T) []string { return []string{sh, "-c", `echo before; kill -TERM $$; echo after`} }},
		{"raise", func(t *testing.T) []string { return []string{cVictims(t), "raise"} }},
		{"stop-and-continue", func(t *testing.T) []string {
			return []string{sh, "-c", `(sleep 0.3; kill -CONT $$) & kill -STOP $$; echo resumed; wait; echo end`}
		}},
		{"exec-from-thread", func(t *testing.T) []string { return []string{cVictims(t), "threadexec"} }},
		{"exec-after-leader-exit", func(t *testing.T) []string { return []string{cVictims(t), "leaderexit"} }},
		{"vfork", func(t *testing.T) []string { return []string{cVictims(t), "vfork"} }},
		{"clone3", func(t *testing.T) []string { return []string{cVictims(t), "clone3"} }},
		{"execveat", func(t *testing.T) []string { return []string{cVictims(t), "execveat"} }},
		{"signal-handler", func(t *testing.T) []string { return []string{cVictims(t), "handler"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			argv := c.argv(t)
			native := runNative(t, argv)
			for _, full := range []bool{false, true} {
				opt := Options{Policy: testPolicy(), Full: full}
				got, res := runTraced(t, argv, opt)
				mode := map[bool]string{false: "fast", true: "full"}[full]
				if got.exit != native.exit {
					t.Errorf("%s mode: exit %+v, native %+v", mode, got.exit, native.exit)
				}
				if !bytes.Equal(got.stdout, native.stdout) {
					t.Errorf("%s mode: stdout\n%q\nnative\n%q", mode, got.stdout, native.stdout)
				}
				if full && res.Syscalls == 0 {
					t.Errorf("full mode recorded no syscalls")
				}
			}
		})
	}
}

func TestFastModeRecordsUnsupported(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	var calls []*profile.Call
	_, res := runTraced(t, []string{prog, "gvisor"}, Options{Policy: testPolicy(), OnCall: func(c *profile.Call) { calls = append(calls, c) }})
	names := res.Profile.Names()
	for _, want := range []string{"io_uring_setup", "kexec_load", sysno.UnknownName(999)} {
		if !slices.Contains(names, want) {
			t.Errorf("fast mode profile %v lacks %s", names, want)
		}
	}
	for _, allowed := range []string{"write", "read", "mmap", "execve", "exit_group"} {
		if slices.Contains(names, allowed) {
			t.Errorf("fast mode recorded %s, which the policy allows", allowed)
		}
	}
	if res.Stopped != res.Syscalls || res.Syscalls != uint64(len(calls)) {
		t.Errorf("stats %+v, %d calls seen", res.Stats, len(calls))
	}
	s := res.Profile.Syscalls[sysno.UnknownName(999)]
	if s == nil || s.Errors["ENOSYS"] != 1 || s.Exes[prog] != 1 {
		t.Errorf("syscall 999: %+v, want one ENOSYS by %s", s, prog)
	}
	if src := res.Profile.Sources; len(src) != 1 || src[0].Coverage != profile.CoverageFiltered {
		t.Errorf("sources %+v", src)
	}
}

// TestFastModeExecs: with Execs, fast mode records each successful exec as
// an execve of the program started, and no stop for the failed ones of a
// PATH search.
func TestFastModeExecs(t *testing.T) {
	testenv.NeedRoot(t)
	sh, err := filepath.EvalSymlinks(testenv.NeedTool(t, "sh"))
	if err != nil {
		t.Fatal(err)
	}
	echo, err := filepath.EvalSymlinks(testenv.NeedTool(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := `PATH=` + dir + `/a:` + dir + `/b:$PATH; exec echo hi`
	got, res := runTraced(t, []string{sh, "-c", script}, Options{Policy: testPolicy(), Execs: true})
	if string(got.stdout) != "hi\n" || got.exit.Code != 0 {
		t.Fatalf("stdout %q, exit %+v", got.stdout, got.exit)
	}
	e := res.Profile.Syscalls["execve"]
	if e == nil || e.Count != 2 || e.Exes[sh] != 1 || e.Exes[echo] != 1 || len(e.Errors) != 0 {
		t.Errorf("execve: %+v, want one exec each of %s and %s, and none of the failed ones", e, sh, echo)
	}
	if res.Syscalls-res.Stopped != 2 {
		t.Errorf("stats %+v: want 2 calls recorded without a stop (the execs)", res.Stats)
	}
}

// TestFastModePathsOnly: with TracePaths (run's --paths) fast mode stops
// every call that names a file but records only those whose path gVisor
// synthesises (/proc, /sys, /dev), with their results, and an exec's path
// with the exec it led to.
func TestFastModePathsOnly(t *testing.T) {
	testenv.NeedRoot(t)
	sh, err := filepath.EvalSymlinks(testenv.NeedTool(t, "sh"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.NeedTool(t, "cat")
	p := testPolicy()
	p.TracePaths()
	script := `cat /proc/self/status /etc/hostname >/dev/null; cat /proc/no-such-entry 2>/dev/null; exec /proc/self/exe -c 'echo hi'`
	got, res := runTraced(t, []string{sh, "-c", script}, Options{Policy: p, Execs: true})
	if string(got.stdout) != "hi\n" || got.exit.Code != 0 {
		t.Fatalf("stdout %q, exit %+v", got.stdout, got.exit)
	}
	paths := res.Profile.Paths
	if u := paths["/proc/self/status"]; u == nil || len(u.Errors) != 0 {
		t.Errorf("/proc/self/status: %+v", u)
	}
	if u := paths["/proc/no-such-entry"]; u == nil || u.Errors["ENOENT"] != 1 {
		t.Errorf("/proc/no-such-entry: %+v, want its ENOENT", u)
	}
	if u := paths["/proc/self/exe"]; u == nil || !slices.Equal(u.Syscalls, []string{"execve"}) {
		t.Errorf("/proc/self/exe: %+v, want the exec", u)
	}
	// Only the opens of those paths are recorded: not /etc/hostname's, nor
	// the loader's of libraries.
	var opens uint64
	for _, u := range paths {
		if slices.Contains(u.Syscalls, "openat") {
			opens += u.Count
		}
	}
	if o := res.Profile.Syscalls["openat"]; o == nil || o.Count != opens {
		t.Errorf("openat: %+v, want the %d opens of /proc and /dev paths", o, opens)
	}
	// The shim's exec of sh, two of cat, the exec through /proc/self/exe.
	if e := res.Profile.Syscalls["execve"]; e == nil || e.Count != 4 || e.Exes[sh] != 2 {
		t.Errorf("execve: %+v", e)
	}
}

// straceNames runs strace -f on argv and returns the syscall names it saw.
func straceNames(t *testing.T, argv []string) []string {
	strace := testenv.NeedTool(t, "strace")
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command(strace, append([]string{"-f", "-o", log}, argv...)...)
	cmd.Dir = "testdata/victims"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		f := strings.TrimSpace(line)
		if i := strings.IndexByte(f, ' '); i > 0 {
			if _, err := strconv.Atoi(f[:i]); err == nil {
				f = strings.TrimSpace(f[i:])
			}
		}
		if strings.HasPrefix(f, "<... ") {
			f = strings.TrimPrefix(f, "<... ")
			set[strings.Fields(f)[0]] = true
			continue
		}
		if i := strings.IndexByte(f, '('); i > 0 && !strings.HasPrefix(f, "---") && !strings.HasPrefix(f, "+++") {
			set[f[:i]] = true
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
}

func TestFullModeMatchesStrace(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	argv := []string{prog, "small"}
	want := straceNames(t, argv)
	_, res := runTraced(t, argv, Options{})
	got := res.Profile.Names()
	if !slices.Equal(got, want) {
		t.Errorf("syscall sets differ\ngvcheck: %v\nstrace:  %v", got, want)
	}
	p := res.Profile
	if a := p.Syscalls["prctl"]; a == nil || a.Args["PR_SET_NAME"] == nil {
		t.Errorf("prctl key argument not recorded: %+v", a)
	}
	if a := p.Syscalls["socket"]; a == nil || len(a.Args) != 1 {
		t.Errorf("socket key argument not recorded: %+v", a)
	}
	for _, path := range []string{"/proc/self/status", "/dev/null", "/sys", "/sys/kernel", "/proc/self/stat"} {
		if p.Paths[path] == nil {
			t.Errorf("path %s not recorded: %v", path, p.Paths)
		}
	}
	if a := p.Syscalls["access"]; a == nil || a.Errors["ENOENT"] == 0 {
		t.Errorf("access ENOENT not recorded: %+v", a)
	}
	if res.Processes != 2 {
		t.Errorf("processes = %d, want 2", res.Processes)
	}
}

func procState(pid int) (byte, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, false
	}
	return b[i+2], true
}

// gone waits for pid to disappear or become a zombie.
func gone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, ok := procState(pid)
		if !ok || st == 'Z' || st == 'X' {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestRunCancelKillsTree(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	pids := map[int]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, []string{sh, "-c", "sleep 100 & sleep 100; wait"}, Options{
		OnCall: func(c *profile.Call) { pids[c.Pid] = true },
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancellation took %v", time.Since(start))
	}
	if res == nil || res.Exit.Signal != "SIGKILL" {
		t.Errorf("result %+v, want killed", res)
	}
	if len(pids) < 2 {
		t.Errorf("saw processes %v, want the shell and its children", pids)
	}
	for pid := range pids {
		if !gone(pid, 5*time.Second) {
			t.Errorf("process %d survived cancellation", pid)
		}
	}
}

// TestKilledTracerLeavesNothing SIGKILLs a tracing process mid-run: the
// traced tree must die with it (PTRACE_O_EXITKILL), not stay stopped.
func TestKilledTracerLeavesNothing(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	pidfile := filepath.Join(t.TempDir(), "pids")
	script := "sleep 100 & echo $! > " + pidfile + ".tmp; echo $$ >> " + pidfile + ".tmp; mv " + pidfile + ".tmp " + pidfile + "; wait"
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(t.TempDir(), "victim.sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(self)
	helper.Env = append(os.Environ(), "GVCHECK_TRACE_TEST_TRACER="+sh+" "+scriptFile)
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	deadline := time.Now().Add(20 * time.Second)
	for len(pids) < 2 && time.Now().Before(deadline) {
		b, err := os.ReadFile(pidfile)
		if err == nil {
			pids = pids[:0]
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil {
					pids = append(pids, n)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(pids) < 2 {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("victim did not start (pids %v)", pids)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	for _, pid := range pids {
		if !gone(pid, 5*time.Second) {
			st, _ := procState(pid)
			t.Errorf("traced process %d survived its tracer (state %c)", pid, st)
		}
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), nil, Options{}); err == nil {
		t.Error("empty argv: no error")
	}
	_, err := Run(context.Background(), []string{"gvcheck-no-such-command"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing command: %v", err)
	}
	bad := &policy.Policy{Arch: sysno.ARM64}
	if sysno.Host() == sysno.ARM64 {
		bad.Arch = sysno.AMD64
	}
	if _, err := Run(context.Background(), []string{"/bin/true"}, Options{Policy: bad}); err == nil {
		t.Error("foreign policy: no error")
	}
}

// TestRegisterFallback traces with registers (the path for kernels before
// 5.3) and requires the same profile as with PTRACE_GET_SYSCALL_INFO: it
// checks the amd64/arm64 register layout against the kernel's own view.
func TestRegisterFallback(t *testing.T) {
	testenv.NeedRoot(t)
	argv := []string{cVictims(t), "small"}
	opt := Options{ExactErrors: true}
	_, info := runTraced(t, argv, opt)
	forceRegs = true
	defer func() { forceRegs = false }()
	_, regs := runTraced(t, argv, opt)
	a, b := info.Profile, regs.Profile
	if !slices.Equal(a.Names(), b.Names()) {
		t.Fatalf("names differ:\ninfo %v\nregs %v", a.Names(), b.Names())
	}
	for name, sa := range a.Syscalls {
		sb := b.Syscalls[name]
		ja, _ := json.Marshal(sa)
		jb, _ := json.Marshal(sb)
		if string(ja) != string(jb) {
			t.Errorf("%s: info %s, regs %s", name, ja, jb)
		}
	}
	ja, _ := json.Marshal(a.Paths)
	jb, _ := json.Marshal(b.Paths)
	if string(ja) != string(jb) {
		t.Errorf("paths: info %s, regs %s", ja, jb)
	}
}

// TestErrnoRules runs a policy that simulates missing syscalls: the program
// sees the same errnos whether the kernel applies them (fast mode) or the
// tracer does (full mode, which also records the failed calls).
func TestErrnoRules(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	io, _ := sysno.Number(sysno.Host(), "io_uring_setup")
	p := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow, Rules: []policy.Rule{
		{Nr: io, Action: policy.Errno, Errno: unix.ENOSYS},
		{Nr: 999, Action: policy.Errno, Errno: unix.ENODEV},
	}}
	const want = "io_uring_setup=-1/38 kexec_load=-1 syscall999=-1/19\n"
	for _, full := range []bool{false, true} {
		got, res := runTraced(t, []string{prog, "gvisor"}, Options{Policy: p, Full: full})
		if string(got.stdout) != want {
			t.Errorf("full=%v: program printed %q, want %q", full, got.stdout, want)
		}
		s := res.Profile.Syscalls
		if !full {
			if len(s) != 0 {
				t.Errorf("fast mode recorded %v", res.Profile.Names())
			}
			continue
		}
		if a := s["io_uring_setup"]; a == nil || a.Errors["ENOSYS"] != 1 {
			t.Errorf("io_uring_setup: %+v", a)
		}
		if a := s[sysno.UnknownName(999)]; a == nil || a.Errors["ENODEV"] != 1 {
			t.Errorf("syscall 999: %+v", a)
		}
		if a := s["write"]; a == nil {
			t.Errorf("full mode did not record write")
		}
	}
}

// TestSignalsToTracer: SIGTERM sent to gvcheck reaches the program; SIGINT
// (which a terminal sends to the program as well) is ignored by gvcheck.
func TestSignalsToTracer(t *testing.T) {
	testenv.NeedRoot(t)
	sh := testenv.NeedTool(t, "sh")
	var (
		mu    sync.Mutex
		stats []Stats
	)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = unix.Kill(os.Getpid(), unix.SIGINT)
		time.Sleep(200 * time.Millisecond)
		_ = unix.Kill(os.Getpid(), unix.SIGTERM)
	}()
	got, res := runTraced(t, []string{sh, "-c", `trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.05; done`},
		Options{Policy: testPolicy(), Progress: func(s Stats) { mu.Lock(); stats = append(stats, s); mu.Unlock() }})
	mu.Lock()
	defer mu.Unlock()
	if len(stats) == 0 {
		t.Error("no progress reported in half a second")
	}
	if got.exit.Code != 5 || string(got.stdout) != "ready\ngot TERM\n" {
		t.Errorf("exit %+v, stdout %q; want 5 and the TERM trap's output", got.exit, got.stdout)
	}
	if res.Processes < 2 {
		t.Errorf("processes %d", res.Processes)
	}
	for i := 1; i < len(stats); i++ {
		if stats[i].Elapsed < stats[i-1].Elapsed || stats[i].Processes < stats[i-1].Processes {
			t.Errorf("progress went backwards: %+v then %+v", stats[i-1], stats[i])
		}
	}
}

// TestArgumentRules: a rule on prctl's option stops only that option in
// fast mode, and in full mode the tracer applies a conditional Errno rule.
func TestArgumentRules(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	prctl, _ := sysno.Number(sysno.Host(), "prctl")
	setName := []policy.ArgCond{{Arg: 0, Op: policy.MaskedEq, Mask: 0xffffffff, Value: unix.PR_SET_NAME}}
	trace := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow, Rules: []policy.Rule{
		{Nr: prctl, Args: setName, Action: policy.Trace},
	}}
	_, res := runTraced(t, []string{prog, "small"}, Options{Policy: trace})
	if names := res.Profile.Names(); !slices.Equal(names, []string{"prctl"}) || res.Stopped != 1 {
		t.Errorf("fast mode with a prctl option rule recorded %v (stopped %d)", names, res.Stopped)
	}
	deny := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow, Rules: []policy.Rule{
		{Nr: prctl, Args: setName, Action: policy.Errno, Errno: unix.EPERM},
	}}
	got, res := runTraced(t, []string{prog, "small"}, Options{Policy: deny, Full: true})
	if string(got.stdout) != "child status 3\n" {
		t.Errorf("stdout %q", got.stdout)
	}
	if a := res.Profile.Syscalls["prctl"]; a == nil || a.Errors["EPERM"] != 1 {
		t.Errorf("prctl under an Errno rule: %+v", a)
	}
	if res.Stopped != 0 {
		t.Errorf("stopped %d, want 0 (the policy traces nothing)", res.Stopped)
	}
}

// TestFastModeNetlinkWatch: the fast filter does not stop sends (it cannot
// tell a netlink socket), but it stops the creation of a NETLINK_ROUTE
// socket, after which the tracer watches the thread and records the
// request it sends, keyed by message type, and nothing else.
func TestFastModeNetlinkWatch(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	v := compat.Latest()
	set, ok := rules.For(v.ID, sysno.Host())
	if !ok {
		t.Fatal("no rules for the newest version")
	}
	tab, err := compat.Load(v, sysno.Host(), "")
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Observe(tab, set, nil)
	got, res := runTraced(t, []string{prog, "netlink"}, Options{Policy: p})
	if string(got.stdout) != "sent\n" {
		t.Errorf("stdout %q", got.stdout)
	}
	s := res.Profile.Syscalls["sendto"]
	if s == nil || s.Count != 1 || s.Args["NETLINK_ROUTE,RTM_GETRULE,NLM_F_DUMP"] == nil {
		t.Fatalf("sendto: %+v, want the one netlink request", s)
	}
	if res.Stopped > 10 {
		t.Errorf("%d stops: the plain sends stopped", res.Stopped)
	}
}

// TestExecAttribution: calls are attributed to the executable that made
// them, across an exec from a non-leader thread after the leader exited.
func TestExecAttribution(t *testing.T) {
	testenv.NeedRoot(t)
	prog := cVictims(t)
	echo, err := filepath.EvalSymlinks("/bin/echo")
	if err != nil {
		t.Skipf("no /bin/echo: %v", err)
	}
	_, res := runTraced(t, []string{prog, "leaderexit"}, Options{})
	p := res.Profile
	if w := p.Syscalls["write"]; w == nil || w.Exes[echo] == 0 || w.Exes[prog] != 0 {
		t.Errorf("write attributed to %v, want %s only", w.Exes, echo)
	}
	if e := p.Syscalls["execve"]; e == nil || e.Count != 2 {
		t.Errorf("execve: %+v, want the shim's and the thread's", e)
	}
	found := false
	for _, name := range []string{"clone", "clone3"} {
		if s := p.Syscalls[name]; s != nil && s.Exes[prog] > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("thread creation not attributed to %s", prog)
	}
	if res.Processes != 1 {
		t.Errorf("processes = %d, want 1", res.Processes)
	}
}

// TestNotifyMatchesPtrace: full mode's user-notification path (for the
// most frequent syscalls) counts the same calls as the pure ptrace path.
func TestNotifyMatchesPtrace(t *testing.T) {
	testenv.NeedRoot(t)
	if !notifySupported() {
		t.Skip("kernel before 6.6: no same-CPU wake-ups for seccomp notifications, full mode uses ptrace only")
	}
	argv := []string{cVictims(t), "small"}
	_, fast := runTraced(t, argv, Options{})
	forceNoNotify = true
	_, slow := runTraced(t, argv, Options{})
	forceNoNotify = false
	if !strings.Contains(fast.Profile.Sources[0].Detail, "not observed for read") {
		t.Errorf("notify path not used: %q", fast.Profile.Sources[0].Detail)
	}
	a, b := fast.Profile, slow.Profile
	if !slices.Equal(a.Names(), b.Names()) {
		t.Fatalf("names differ:\nnotify %v\nptrace %v", a.Names(), b.Names())
	}
	for name, sa := range a.Syscalls {
		if sb := b.Syscalls[name]; sa.Count != sb.Count {
			t.Errorf("%s: %d calls with notifications, %d with ptrace", name, sa.Count, sb.Count)
		}
	}
	if fast.Syscalls != slow.Syscalls {
		t.Errorf("syscalls %d vs %d", fast.Syscalls, slow.Syscalls)
	}
}

// TestNotifyErrno: an Errno rule on a syscall full mode observes through
// notifications fails the call with the rule's errno and records it.
func TestNotifyErrno(t *testing.T) {
	testenv.NeedRoot(t)
	if !notifySupported() {
		t.Skip("kernel before 6.6: full mode uses ptrace only")
	}
	py := testenv.NeedTool(t, "python3")
	nr, _ := sysno.Number(sysno.Host(), "getrandom")
	p := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow, Rules: []policy.Rule{{Nr: nr, Action: policy.Errno, Errno: unix.EPERM}}}
	script := "import os\ntry:\n    os.getrandom(4)\n    print('ok')\nexcept OSError as e:\n    print(e.errno)\n"
	got, res := runTraced(t, []string{py, "-S", "-c", script}, Options{Policy: p, Full: true})
	if string(got.stdout) != "1\n" {
		t.Errorf("program printed %q, want EPERM (1)", got.stdout)
	}
	if s := res.Profile.Syscalls["getrandom"]; s == nil || s.Errors["EPERM"] == 0 {
		t.Errorf("getrandom: %+v", s)
	}
}
