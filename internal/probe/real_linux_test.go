package probe

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
)

func TestMain(m *testing.M) {
	// Runs started by the tracer re-execute this test binary as the shim.
	if policy.ShimMain() {
		return
	}
	os.Exit(m.Run())
}

// inCI reports whether a missing feature must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("CI must run these tests as root")
		}
		t.Skip("tracing and runsc need root on this machine")
	}
}

// buildC compiles testdata/prog/NAME.c into a temporary directory.
func buildC(t *testing.T, name string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		if inCI() {
			t.Fatalf("no C compiler in CI: %v", err)
		}
		t.Skip("no C compiler on this machine")
	}
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command(cc, "-O1", "-o", out, filepath.Join("testdata", "prog", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", name, err, b)
	}
	return out
}

// table loads an embedded gVisor table for the host, by release tag.
func table(t *testing.T, spec string) *compat.Table {
	t.Helper()
	v, err := compat.ResolveVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := compat.Load(v, sysno.Host(), "")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func probe(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.Arch == "" {
		cfg.Arch = sysno.Host()
	}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Probe(context.Background(), cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: verdict %s, %d runs, %s; candidates %v", filepath.Base(cfg.Argv[0]), res.Verdict, res.Runs, res.Wall.Round(time.Millisecond), res.Candidates)
	for _, s := range res.Steps {
		t.Logf("  %-22s ok=%-5v exit=%v denied=%v", s.Purpose, s.OK, s.Exit, s.Denied)
	}
	for _, f := range res.Fallbacks {
		t.Logf("  fallback: %s", f)
	}
	return res
}

func requiredNames(res *Result) []string {
	var out []string
	for _, f := range res.Required {
		out = append(out, f.Syscall)
	}
	slices.Sort(out)
	return out
}

// clone3 is unimplemented in gVisor up to release-20230501.0.
const clone3Missing = "release-20230501.0"

func TestClone3FallbackVerified(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "clone3fb")
	res := probe(t, Config{Argv: []string{prog}, Table: table(t, clone3Missing)})
	if res.Verdict != analyze.FallbacksVerified {
		t.Fatalf("verdict %s, want fallbacks-verified", res.Verdict)
	}
	if len(res.Fallbacks) != 1 || res.Fallbacks[0].Syscall != "clone3" || res.Fallbacks[0].Errno != "ENOSYS" {
		t.Fatalf("fallbacks %+v, want clone3 → ENOSYS", res.Fallbacks)
	}
	fb := res.Fallbacks[0]
	if fb.Then != "clone" {
		t.Errorf("fallback %q, want clone3 → ENOSYS, then clone", fb)
	}
	if res.Simulated == nil || !strings.Contains(res.Simulated.Stderr, "via fork") || !strings.Contains(res.Reference.Stderr, "via clone3") {
		t.Errorf("reference stderr %q, simulated %+v: the simulation did not make clone3 fail", res.Reference.Stderr, res.Simulated)
	}
	if res.Runs != 2 {
		t.Errorf("%d runs, want 2 (reference, simulation)", res.Runs)
	}
}

func TestIOURingRequired(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "iouring")
	// io_uring came to gVisor in release-20221128.0.
	res := probe(t, Config{Argv: []string{prog}, Table: table(t, "release-20220808.0")})
	if res.Verdict != analyze.Incompatible || !slices.Equal(requiredNames(res), []string{"io_uring_setup"}) {
		t.Fatalf("verdict %s, required %v; want incompatible, io_uring_setup", res.Verdict, requiredNames(res))
	}
	ev := res.Required[0].Evidence
	if ev.Exit.Code != 1 || !strings.Contains(ev.Stderr, "io_uring_setup: Function not implemented") {
		t.Errorf("evidence %+v, want exit 1 with the program's complaint", ev)
	}
}

func TestTwoOfFiveRequired(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "fivecalls")
	res := probe(t, Config{Argv: []string{prog, "vmsplice", "fspick"}, Table: table(t, "latest")})
	if len(res.Candidates) != 5 {
		t.Fatalf("candidates %v, want the five syscalls gVisor lacks", res.Candidates)
	}
	if got := requiredNames(res); !slices.Equal(got, []string{"fspick", "vmsplice"}) {
		t.Fatalf("required %v, want fspick, vmsplice", got)
	}
	if res.Verdict != analyze.Incompatible || len(res.Fallbacks) != 3 {
		t.Errorf("verdict %s, fallbacks %v", res.Verdict, res.Fallbacks)
	}
	if res.Runs >= 2*5 || res.Runs > runBound(5, 2) {
		t.Errorf("%d runs, want fewer than 2×5 and at most %d", res.Runs, runBound(5, 2))
	}
	for _, f := range res.Required {
		if f.Evidence.Exit.Code != 1 || !strings.Contains(f.Evidence.Stderr, f.Syscall+": Function not implemented") {
			t.Errorf("%s evidence %+v", f.Syscall, f.Evidence)
		}
	}
}

func TestCompareOutput(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "clone3fb")
	// stdout is the same either way; stderr says which way the child came.
	res := probe(t, Config{Argv: []string{prog}, Table: table(t, clone3Missing), CompareOutput: true})
	if res.Verdict != analyze.FallbacksVerified {
		t.Fatalf("verdict %s, want fallbacks-verified", res.Verdict)
	}
	if res.Reference.StdoutSum != res.Simulated.StdoutSum || res.Reference.Stdout != "child started\n" {
		t.Errorf("stdout %q vs %q", res.Reference.Stdout, res.Simulated.Stdout)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// leftovers lists processes whose command line contains all the markers.
func leftovers(markers ...string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && !slices.ContainsFunc(markers, func(m string) bool { return !strings.Contains(string(b), m) }) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

func TestServerProbe(t *testing.T) {
	needRoot(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed on this machine")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed on this machine")
	}
	port := strconv.Itoa(freePort(t))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := probe(t, Config{
		Argv: []string{py, "-m", "http.server", "--bind", "127.0.0.1", port},
		Dir:  dir,
		// The server's threads start with clone3, which this gVisor lacks.
		Table:   table(t, clone3Missing),
		Test:    curl + " -sf http://127.0.0.1:" + port + "/index.html",
		Ready:   Ready{Port: mustAtoi(port)},
		Timeout: 30 * time.Second,
	})
	if res.Verdict != analyze.FallbacksVerified || len(res.Fallbacks) != 1 || res.Fallbacks[0].Then != "clone" {
		t.Errorf("verdict %s, fallbacks %v; want fallbacks-verified, clone3 → ENOSYS, then clone", res.Verdict, res.Fallbacks)
	}
	if res.Reference.Test == nil || !strings.Contains(res.Reference.Test.Output, "hello") {
		t.Errorf("reference test %+v did not fetch the page", res.Reference.Test)
	}
	if left := leftovers("http.server", port); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	if kids := children(); len(kids) > 0 {
		t.Errorf("children left behind: %v", kids)
	}
}

func TestServerNeedsMissingSyscall(t *testing.T) {
	needRoot(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed on this machine")
	}
	kcmp := buildC(t, "kcmp")
	port := strconv.Itoa(freePort(t))
	// The server starts only if kcmp works: under the simulation it never
	// listens, and the probe must say kcmp is what it needs.
	res := probe(t, Config{
		Argv:    []string{"/bin/sh", "-c", kcmp + " && exec " + py + " -m http.server --bind 127.0.0.1 " + port},
		Dir:     t.TempDir(),
		Table:   table(t, "latest"),
		Test:    pythonConnect(py, port),
		Ready:   Ready{Port: mustAtoi(port)},
		Timeout: 20 * time.Second,
	})
	if res.Verdict != analyze.Incompatible || !slices.Equal(requiredNames(res), []string{"kcmp"}) {
		t.Fatalf("verdict %s, required %v; want incompatible, kcmp", res.Verdict, requiredNames(res))
	}
	if ev := res.Required[0].Evidence.Test; ev == nil || !strings.Contains(ev.NotReady, "before it was ready") {
		t.Errorf("evidence %+v, want the server never ready", ev)
	}
	if left := leftovers("http.server", port); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// pythonConnect is a shell command that connects to the port.
func pythonConnect(py, port string) string {
	return py + " -c 'import socket; socket.create_connection((\"127.0.0.1\", " + port + ")).close()'"
}

func TestServerNotReady(t *testing.T) {
	needRoot(t)
	// A "server" that exits at once never becomes ready: the probe says so.
	cfg := Config{Argv: []string{"/bin/sh", "-c", "exit 3"}, Arch: sysno.Host(), Candidates: []Candidate{}, Test: "true", Ready: Ready{Port: freePort(t)}}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Probe(context.Background(), cfg, r)
	if err == nil || !strings.Contains(err.Error(), "before it was ready") {
		t.Fatalf("err %v, want the reference run to fail as not ready", err)
	}
}

func TestTimeoutKillsTree(t *testing.T) {
	needRoot(t)
	// Unusual durations mark the sleeps as this test's.
	marker := "37.4" + strconv.Itoa(os.Getpid()%1000)
	cfg := Config{Argv: []string{"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker}, Arch: sysno.Host(), Timeout: 300 * time.Millisecond}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	o, err := r.Run(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !o.TimedOut || time.Since(start) > 10*time.Second {
		t.Errorf("outcome %+v after %s, want a timeout", o, time.Since(start))
	}
	if left := leftovers(marker); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// BenchmarkProbeTwoOfFive measures a whole real probe: the program needing
// two of five missing syscalls, reference and search included.
func BenchmarkProbeTwoOfFive(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("tracing needs root on this machine")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Skip("no C compiler on this machine")
	}
	prog := filepath.Join(b.TempDir(), "fivecalls")
	if out, err := exec.Command(cc, "-O1", "-o", prog, filepath.Join("testdata", "prog", "fivecalls.c")).CombinedOutput(); err != nil {
		b.Fatalf("cc: %v\n%s", err, out)
	}
	v, err := compat.ResolveVersion("latest")
	if err != nil {
		b.Fatal(err)
	}
	tb, err := compat.Load(v, sysno.Host(), "")
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Argv: []string{prog, "vmsplice", "fspick"}, Table: tb, Arch: sysno.Host()}
	r, err := NewRunner(cfg)
	if err != nil {
		b.Fatal(err)
	}
	runs := 0
	for b.Loop() {
		res, err := Probe(context.Background(), cfg, r)
		if err != nil {
			b.Fatal(err)
		}
		runs = res.Runs
	}
	b.ReportMetric(float64(runs), "runs/probe")
}

// TestSimulatePolicyRun is `gvcheck run --simulate`: one traced run under
// the policy for the whole table.
func TestSimulatePolicyRun(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "fivecalls")
	tb := table(t, "latest")
	pol, err := SimulatePolicy(tb, sysno.Host(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{{nil, 0}, {[]string{"vmsplice"}, 1}} {
		res, err := trace.Run(context.Background(), append([]string{prog}, c.args...), trace.Options{Policy: pol, Stdout: devNull(t), Stderr: devNull(t)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Exit.Code != c.code {
			t.Errorf("fivecalls %v under the simulation: exit %v, want %d", c.args, res.Exit, c.code)
		}
	}
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestCapErrorFollowsCapabilities(t *testing.T) {
	needRoot(t)
	prog := buildC(t, "kcmp")
	for _, c := range []struct {
		name   string
		hasCap func(string) bool
		errno  string
		msg    string
	}{
		{"runsc do as root", nil, "ENOSYS", "Function not implemented"},
		{"docker default caps", CapSet(DockerCaps), "EPERM", "Operation not permitted"},
	} {
		res := probe(t, Config{Argv: []string{prog}, Table: table(t, "latest"), HasCap: c.hasCap})
		if len(res.Required) != 1 || res.Required[0].Syscall != "kcmp" || res.Required[0].Errno != c.errno {
			t.Fatalf("%s: required %+v, want kcmp → %s", c.name, res.Required, c.errno)
		}
		if !strings.Contains(res.Required[0].Evidence.Stderr, c.msg) {
			t.Errorf("%s: evidence stderr %q, want %q", c.name, res.Required[0].Evidence.Stderr, c.msg)
		}
	}
}

func TestRunEnvironment(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "input")
	if err := os.WriteFile(in, []byte("from stdin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Argv: []string{"/bin/sh", "-c", `pwd; echo "$PROBE_VAR"; cat; echo oops >&2; exit 4`},
		Dir: dir, Env: []string{"PROBE_VAR=x1", "PATH=/usr/bin:/bin"}, Stdin: in, Arch: sysno.Host()}
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, err := r.Run(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + "\nx1\nfrom stdin\n"; o.Stdout != want || o.Stderr != "oops\n" || o.Exit.Code != 4 {
		t.Errorf("outcome %+v, want stdout %q, stderr oops, exit 4", o, want)
	}
	// Without a stdin file the program reads /dev/null, not the terminal.
	cfg.Stdin = ""
	r, err = NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o, err = r.Run(context.Background(), nil, false); err != nil || o.Stdout != dir+"\nx1\n" {
		t.Errorf("outcome %+v, %v; want empty stdin", o, err)
	}
	if _, err := NewRunner(Config{Argv: []string{"true"}, Stdin: filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing stdin file accepted")
	}
}

func TestNativelyFailingNeedsNoExperiment(t *testing.T) {
	needRoot(t)
	if sysno.Host() != sysno.AMD64 {
		t.Skip("tuxcall and vserver exist only on amd64")
	}
	prog := buildC(t, "nativeenosys")
	res := probe(t, Config{Argv: []string{prog}, Table: table(t, "latest")})
	if len(res.Candidates) != 1 || res.Candidates[0].Syscall != "vmsplice" {
		t.Fatalf("candidates %v, want only vmsplice (the others fail natively too)", res.Candidates)
	}
	var native []string
	for _, f := range res.Fallbacks {
		if f.Native {
			native = append(native, f.Syscall)
		}
	}
	slices.Sort(native)
	if res.Verdict != analyze.FallbacksVerified || !slices.Equal(native, []string{"tuxcall", "vserver"}) || res.Runs != 2 {
		t.Errorf("verdict %s after %d runs, native %v; want fallbacks-verified after 2, tuxcall and vserver native", res.Verdict, res.Runs, native)
	}
}
