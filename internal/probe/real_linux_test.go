package probe

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, policy.ShimMain) }

// target points cfg at an embedded gVisor version, as the CLI does.
func target(t *testing.T, cfg *Config, spec string, hasCap func(string) bool) {
	t.Helper()
	v, err := compat.ResolveVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := compat.Load(v, sysno.Host(), "")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := rules.For(v.ID, sysno.Host())
	cfg.SetTarget(tb, set, nil, func(p string) (filecap.Caps, bool) {
		c, ok, err := filecap.Read(p)
		return c, ok && err == nil
	}, hasCap)
}

func run(t *testing.T, cfg Config, spec string) *Result {
	t.Helper()
	if cfg.Analyze == nil {
		target(t, &cfg, spec, nil)
	}
	res, err := Probe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s (%s), %d runs, %s; cause %q", filepath.Base(cfg.Argv[0]), res.Verdict, res.Outcome.Verdict, res.Runs, res.Wall.Round(time.Millisecond), res.Cause)
	for _, s := range res.Steps {
		t.Logf("  %-10s %-8s %v simulated=%v", s.Purpose, s.Verdict, s.Exit, s.Simulated)
	}
	for _, d := range res.Differences {
		t.Logf("  %-11s %s (%d calls)", d.Status, d.Difference, d.Hits)
	}
	return res
}

func status(res *Result, title string) Status {
	for _, d := range res.Differences {
		if d.Title == title {
			return d.Status
		}
	}
	return ""
}

func required(res *Result) []string {
	var out []string
	for _, d := range res.required() {
		out = append(out, d.Title)
	}
	slices.Sort(out)
	return out
}

// prog compiles testdata/prog/NAME.c.
func prog(t *testing.T, name string) string {
	t.Helper()
	return testenv.BuildC(t, filepath.Join("testdata", "prog", name+".c"))
}

// clone3 is unimplemented in gVisor up to release-20230501.0.
const clone3Missing = "release-20230501.0"

func TestClone3Tolerated(t *testing.T) {
	testenv.NeedRoot(t)
	res := run(t, Config{Argv: []string{prog(t, "clone3fb")}}, clone3Missing)
	if res.Verdict != analyze.FallbacksVerified || !res.Works() {
		t.Fatalf("verdict %s, want fallbacks-verified", res.Verdict)
	}
	if st := status(res, "clone3"); st != Tolerated {
		t.Fatalf("clone3 %q, want tolerated", st)
	}
	if res.Simulated == nil || !strings.Contains(string(res.Simulated.Stderr), "via fork") || !strings.Contains(string(res.Reference.Stderr), "via clone3") {
		t.Errorf("reference stderr %q, simulated %q: the simulation did not make clone3 fail", res.Reference.Stderr, res.Simulated.Stderr)
	}
}

func TestIOURingRequired(t *testing.T) {
	testenv.NeedRoot(t)
	// io_uring came to gVisor in release-20221128.0.
	res := run(t, Config{Argv: []string{prog(t, "iouring")}}, "release-20220808.0")
	if res.Verdict != analyze.Incompatible || !slices.Equal(required(res), []string{"io_uring_setup"}) {
		t.Fatalf("verdict %s, required %v; want incompatible, io_uring_setup", res.Verdict, required(res))
	}
	if ev := res.required()[0].Evidence; !strings.Contains(ev, "exited 1") {
		t.Errorf("evidence %q, want the exit", ev)
	}
}

func TestTwoOfFiveRequired(t *testing.T) {
	testenv.NeedRoot(t)
	res := run(t, Config{Argv: []string{prog(t, "fivecalls"), "vmsplice", "fspick"}}, "latest")
	if got := required(res); !slices.Equal(got, []string{"fspick", "vmsplice"}) {
		t.Fatalf("required %v, want fspick, vmsplice", got)
	}
	tolerated := 0
	for _, d := range res.Differences {
		if d.Kind == simulate.KindSyscall && d.Status == Tolerated && d.Title != "rseq" {
			tolerated++
		}
	}
	if tolerated != 3 {
		t.Errorf("%d missing syscalls tolerated, want 3", tolerated)
	}
	// reference + traced + simulation + search, well under one-at-a-time.
	if res.Runs >= 2*5+1 || res.Runs > runBound(5+1, 2)+1 {
		t.Errorf("%d runs", res.Runs)
	}
}

// TestPathSimulated: a /proc file gVisor lacks is absent in the
// simulation, and the program's need for it is found.
func TestPathSimulated(t *testing.T) {
	testenv.NeedRoot(t)
	res := run(t, Config{Argv: []string{prog(t, "procsched")}}, "latest")
	if got := required(res); !slices.Equal(got, []string{"/proc/[pid]/sched"}) {
		t.Fatalf("required %v, want /proc/[pid]/sched", got)
	}
	if res.Outcome.Verdict != outcome.Fails {
		t.Errorf("outcome %s, want fails", res.Outcome.Verdict)
	}
}

// TestArgumentDegraded: a socket family gVisor refuses, which the program
// reports and carries on without: degraded, and the argument is the cause.
func TestArgumentDegraded(t *testing.T) {
	testenv.NeedRoot(t)
	res := run(t, Config{Argv: []string{prog(t, "netfilter")}}, "latest")
	if res.Works() || res.Outcome.Verdict != outcome.Degraded {
		t.Fatalf("outcome %s, want degraded", res.Outcome.Verdict)
	}
	if got := required(res); len(got) != 1 || !strings.Contains(got[0], "NETLINK_NETFILTER") {
		t.Fatalf("required %v, want the netfilter socket", got)
	}
}

// TestStubValue: gVisor's fixed answer to sched_get_priority_max.
func TestStubValue(t *testing.T) {
	testenv.NeedRoot(t)
	res := run(t, Config{Argv: []string{prog(t, "fifoprio")}}, "latest")
	if got := required(res); !slices.Equal(got, []string{"sched_get_priority_max"}) {
		t.Fatalf("required %v, want sched_get_priority_max", got)
	}
}

// TestTracingProgramRuns: a program that itself uses ptrace works in the
// runs that decide (they are not traced).
func TestTracingProgramRuns(t *testing.T) {
	testenv.NeedRoot(t)
	strace := testenv.NeedTool(t, "strace")
	res := run(t, Config{Argv: []string{strace, "-f", "-o", "/dev/null", "true"}}, "latest")
	if !res.Works() || res.Reference.Exit.Code != 0 {
		t.Fatalf("outcome %s, reference %v: strace must work in unobserved runs", res.Outcome.Verdict, res.Reference.Exit)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "traced") }) {
		t.Errorf("notes %q do not say tracing changed the program", res.Notes)
	}
}

// TestExecCapability: ping's file capability makes its exec fail in the
// sandbox, which the simulation reproduces.
func TestExecCapability(t *testing.T) {
	testenv.NeedRoot(t)
	ping := testenv.NeedTool(t, "ping")
	if c, ok, _ := filecap.Read(ping); !ok || len(c.Permitted) == 0 {
		t.Skip(ping + " has no file capability on this machine (setuid build)")
	}
	res := run(t, Config{Argv: []string{ping, "-c1", "-W1", "127.0.0.1"}}, "latest")
	if got := required(res); len(got) != 1 || !strings.HasSuffix(got[0], "/ping") {
		t.Fatalf("required %v, want the exec of ping", got)
	}
}

func TestCompareOutputAndIsolation(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	// Every run starts from the same files and leaves none behind.
	res := run(t, Config{Argv: []string{"/bin/sh", "-c", "mkdir out && echo made > out/f && cat out/f"}, Dir: dir, CompareOutput: true}, "latest")
	if !res.Works() || string(res.Reference.Stdout) != "made\n" {
		t.Fatalf("outcome %s, stdout %q", res.Outcome.Verdict, res.Reference.Stdout)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the runs left %d entries in the directory", len(ents))
	}
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

// pythonGet is a shell command that fetches a page from the port.
func pythonGet(port, page string) string {
	return `python3 -c 'import urllib.request as u; print(u.urlopen("http://127.0.0.1:` + port + `/` + page + `", timeout=2).read().decode())'`
}

func TestServerProbe(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "python3")
	port := strconv.Itoa(testenv.FreePort(t))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{
		Argv: []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", port},
		Dir:  dir,
		// The server's threads start with clone3, which this gVisor lacks.
		Test:    pythonGet(port, "index.html"),
		Ready:   launch.Ready{Port: mustAtoi(port)},
		Timeout: 30 * time.Second,
	}, clone3Missing)
	if !res.Works() {
		t.Errorf("outcome %s, want works", res.Outcome.Verdict)
	}
	if res.Reference.Test == nil || !strings.Contains(res.Reference.Test.Output, "hello") {
		t.Errorf("reference test %+v did not fetch the page", res.Reference.Test)
	}
	if left := leftovers("http.server", port); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestServerNeedsMissingSyscall(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "python3")
	kcmp := prog(t, "kcmp")
	port := strconv.Itoa(testenv.FreePort(t))
	// The server starts only if kcmp works: under the simulation it never
	// listens, and the probe must say kcmp is what it needs.
	res := run(t, Config{
		Argv:    []string{"/bin/sh", "-c", kcmp + " && exec python3 -m http.server --bind 127.0.0.1 " + port},
		Dir:     t.TempDir(),
		Test:    pythonGet(port, ""),
		Ready:   launch.Ready{Port: mustAtoi(port)},
		Timeout: 20 * time.Second,
	}, "latest")
	if res.Verdict != analyze.Incompatible || !slices.Equal(required(res), []string{"kcmp"}) {
		t.Fatalf("verdict %s, required %v; want incompatible, kcmp", res.Verdict, required(res))
	}
	if ev := res.required()[0].Evidence; !strings.Contains(ev, "before it was ready") {
		t.Errorf("evidence %q, want the server never ready", ev)
	}
	if left := leftovers("http.server", port); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestServerNotReady(t *testing.T) {
	testenv.NeedRoot(t)
	// A "server" that exits at once never becomes ready: the probe says so.
	cfg := Config{Argv: []string{"/bin/sh", "-c", "exit 3"}, Differences: []*simulate.Difference{}, Test: "true", Ready: launch.Ready{Port: testenv.FreePort(t)}}
	_, err := Probe(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "before it was ready") {
		t.Fatalf("err %v, want the reference run to fail as not ready", err)
	}
}

func TestTimeoutIsReferenceFailure(t *testing.T) {
	testenv.NeedRoot(t)
	// Unusual durations mark the sleeps as this test's.
	marker := "37.4" + strconv.Itoa(os.Getpid()%1000)
	start := time.Now()
	_, err := Probe(context.Background(), Config{Argv: []string{"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker}, Timeout: 300 * time.Millisecond, Differences: []*simulate.Difference{}})
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 10*time.Second {
		t.Errorf("err %v after %s, want a timeout", err, time.Since(start))
	}
	time.Sleep(50 * time.Millisecond)
	if left := leftovers(marker); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestCapErrorFollowsCapabilities(t *testing.T) {
	testenv.NeedRoot(t)
	prog := prog(t, "kcmp")
	for _, c := range []struct {
		name   string
		hasCap func(string) bool
		errno  string
	}{
		{"runsc do as root", nil, "ENOSYS"},
		{"docker default caps", simulate.CapSet(simulate.DockerCaps), "EPERM"},
	} {
		cfg := Config{Argv: []string{prog}}
		target(t, &cfg, "latest", c.hasCap)
		res := run(t, cfg, "")
		req := res.required()
		if len(req) != 1 || req[0].Title != "kcmp" || req[0].Errno != c.errno {
			t.Fatalf("%s: required %+v, want kcmp → %s", c.name, req, c.errno)
		}
	}
}

func TestRunEnvironment(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "input")
	if err := os.WriteFile(in, []byte("from stdin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Argv: []string{"/bin/sh", "-c", `pwd; echo "$PROBE_VAR"; cat; echo oops >&2; exit 4`},
		Dir: dir, Env: []string{"PROBE_VAR=x1", "PATH=/usr/bin:/bin"}, Stdin: in, Differences: []*simulate.Difference{}}
	res, err := Probe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Reference
	if want := dir + "\nx1\nfrom stdin\n"; string(o.Stdout) != want || string(o.Stderr) != "oops\n" || o.Exit.Code != 4 {
		t.Errorf("outcome %+v, want stdout %q, stderr oops, exit 4", o, want)
	}
}
