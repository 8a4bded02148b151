package gvisor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// runner returns a Runner for the installed runsc. CI installs runsc, so
// there a missing one fails the test; elsewhere it skips.
func runner(t *testing.T) *Runner {
	t.Helper()
	return &Runner{Runsc: testenv.NeedRunsc(t), Timeout: 60 * time.Second, Strace: true}
}

// buildC compiles testdata/prog/NAME.c into a temporary directory.
func buildC(t *testing.T, name string) string {
	t.Helper()
	return testenv.BuildC(t, filepath.Join("testdata", "prog", name+".c"))
}

func TestVersionAndCheck(t *testing.T) {
	r := runner(t)
	ctx := context.Background()
	v, err := r.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v == "" || v == "VERSION_MISSING" {
		t.Errorf("Version = %q, want a release or module version", v)
	}
	if err := r.Check(ctx); err != nil {
		t.Fatalf("Check of installed runsc: %v", err)
	}
}

func TestCheckRejects(t *testing.T) {
	ctx := context.Background()
	missing := &Runner{Runsc: filepath.Join(t.TempDir(), "runsc")}
	err := missing.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("Check(missing) = %v, want an error with the install hint", err)
	}
	// Any dynamically linked executable stands in for a cgo build of runsc.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	if dyn, err := dynamic(sh); err != nil || !dyn {
		t.Skipf("%s is not dynamically linked here", sh)
	}
	err = (&Runner{Runsc: sh}).Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("Check(dynamic) = %v, want a dynamic-linking error with the hint", err)
	}
}

func TestRunPython(t *testing.T) {
	r := runner(t)
	if _, err := exec.LookPath("python3"); err != nil {
		testenv.Missing(t, "python3 is not installed")
	}
	res, err := r.Run(context.Background(), RunOptions{Argv: []string{"python3", "-c", "print(1)"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit.Code != 0 || string(res.Stdout) != "1\n" {
		t.Fatalf("exit %+v stdout %q stderr %q", res.Exit, res.Stdout, res.Stderr)
	}
	if len(res.Calls) == 0 || res.Profile == nil || len(res.Profile.Syscalls) < 10 {
		t.Fatalf("no call stream: %d calls", len(res.Calls))
	}
	if !slices.Contains(res.Flags, "--network=none") {
		t.Errorf("flags %v lack --network=none", res.Flags)
	}
	for _, u := range res.Unsupported {
		if u.Name == "rseq" && !u.Harmless {
			t.Errorf("rseq report not marked harmless: %+v", u)
		}
		if !u.Harmless {
			t.Logf("unsupported: %+v", u)
		}
	}
	// The stream must show the program writing its output to fd 1.
	var written int64
	for _, c := range res.Calls {
		if c.Name == "write" && strings.HasPrefix(c.Text, "0x1 ") && c.Errno == "" && strings.HasPrefix(filepath.Base(c.Exe), "python") {
			written += c.Ret
		}
	}
	if written != 2 {
		t.Errorf("python3 wrote %d bytes to stdout in the call stream, want 2", written)
	}
	t.Logf("python3 under runsc: %v, %d calls, %d syscalls", res.Duration, len(res.Calls), len(res.Profile.Syscalls))
}

func TestRunIOURing(t *testing.T) {
	r := runner(t)
	prog := buildC(t, "iouring")
	res, err := r.Run(context.Background(), RunOptions{Argv: []string{prog}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit.Code != 2 {
		t.Errorf("exit %+v, want 2 (io_uring_setup failed); stdout %q", res.Exit, res.Stdout)
	}
	i := slices.IndexFunc(res.Calls, func(c profile.Call) bool { return c.Name == "io_uring_setup" })
	if i < 0 {
		t.Fatal("io_uring_setup not in the call stream")
	}
	if c := res.Calls[i]; c.Errno != "ENOSYS" || c.Exe != prog || c.Nr != 425 {
		t.Errorf("io_uring_setup call = %+v, want ENOSYS by %s", c, prog)
	}
	if !slices.ContainsFunc(res.Unsupported, func(u UnsupportedReport) bool { return u.Name == "io_uring_setup" && !u.Harmless }) {
		t.Errorf("Unsupported = %+v, want io_uring_setup", res.Unsupported)
	}
	if s := res.Profile.Syscalls["io_uring_setup"]; s == nil || s.Errors["ENOSYS"] != 1 {
		t.Errorf("profile io_uring_setup = %+v", s)
	}
}

func TestRunProcPath(t *testing.T) {
	r := runner(t)
	prog := buildC(t, "procsched")
	res, err := r.Run(context.Background(), RunOptions{Argv: []string{prog}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit.Code != 1 {
		t.Errorf("exit %+v, want 1; stderr %q", res.Exit, res.Stderr)
	}
	if !bytes.Contains(res.Stderr, []byte("/proc/self/sched")) {
		t.Errorf("stderr %q does not name the path", res.Stderr)
	}
	i := slices.IndexFunc(res.Calls, func(c profile.Call) bool { return c.Path == "/proc/self/sched" })
	if i < 0 {
		t.Fatal("/proc/self/sched not in the call stream")
	}
	if c := res.Calls[i]; c.Errno != "ENOENT" || c.Name != "openat" {
		t.Errorf("call = %+v, want openat ENOENT", c)
	}
	if u := res.Profile.Paths["/proc/self/sched"]; u == nil || u.Errors["ENOENT"] == 0 {
		t.Errorf("profile path = %+v", u)
	}
}

func TestRunTimeoutKillsSandbox(t *testing.T) {
	r := runner(t)
	r.Timeout = 2 * time.Second
	r.Strace = false
	start := time.Now()
	res, err := r.Run(context.Background(), RunOptions{Argv: []string{"sleep", "100"}})
	took := time.Since(start)
	if err == nil {
		t.Fatal("Run of sleep 100 with a 2s timeout returned no error")
	}
	if took > 15*time.Second {
		t.Errorf("Run returned after %v, want promptly after the 2s timeout", took)
	}
	if res == nil || res.sandboxRoot == "" {
		t.Fatalf("sandbox not identified: %+v", res)
	}
	// No process of this sandbox may survive, nor its state directory.
	time.Sleep(200 * time.Millisecond)
	out, _ := exec.Command("pgrep", "-f", res.sandboxRoot).Output()
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("processes of sandbox %s survive: %s", res.sandboxID, out)
	}
	if _, err := os.Stat(res.sandboxRoot); err == nil {
		t.Errorf("state directory %s survives", res.sandboxRoot)
	}
	t.Logf("timeout: returned after %v: %v", took, err)
}

func TestRunCancel(t *testing.T) {
	r := runner(t)
	r.Strace = false
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	res, err := r.Run(ctx, RunOptions{Argv: []string{"sleep", "100"}})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("Run after cancel: %v", err)
	}
	if res != nil && res.sandboxRoot != "" {
		out, _ := exec.Command("pgrep", "-f", res.sandboxRoot).Output()
		if len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("processes survive cancel: %s", out)
		}
	}
}

func TestRunLargeOutputAndStdin(t *testing.T) {
	r := runner(t)
	r.Strace = false
	in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	res, err := r.Run(context.Background(), RunOptions{
		Argv:  []string{"sh", "-c", "cat; echo done >&2; exit 7"},
		Stdin: bytes.NewReader(in),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Stdout, in) {
		t.Errorf("stdout: got %d bytes, want the 1 MiB of stdin", len(res.Stdout))
	}
	if string(res.Stderr) != "done\n" || res.Exit.Code != 7 || res.Exit.Signal != "" {
		t.Errorf("stderr %q exit %+v, want done and 7", res.Stderr, res.Exit)
	}
}

func TestRunSignalAndDir(t *testing.T) {
	r := runner(t)
	dir := t.TempDir()
	res, err := r.Run(context.Background(), RunOptions{
		Argv: []string{"sh", "-c", "pwd; kill -KILL $$"},
		Dir:  dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res.Stdout)) != dir {
		t.Errorf("pwd = %q, want %q", res.Stdout, dir)
	}
	if res.Exit.Code != 137 || res.Exit.Signal != "SIGKILL" {
		t.Errorf("exit %+v, want 137 SIGKILL", res.Exit)
	}
}

func TestRunBundle(t *testing.T) {
	r := runner(t)
	bundle := t.TempDir()
	spec := exec.Command(r.Runsc, "spec", "--bundle", bundle, "--", "/bin/sh", "-c", "echo bundle-ok; exec cat /proc/self/sched")
	if b, err := spec.CombinedOutput(); err != nil {
		t.Fatalf("runsc spec: %v\n%s", err, b)
	}
	// Run over the host root, read-only, without a terminal.
	cfgPath := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["root"] = map[string]any{"path": "/", "readonly": true}
	cfg["process"].(map[string]any)["terminal"] = false
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), RunOptions{Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "bundle-ok\n" || res.Exit.Code != 1 {
		t.Errorf("stdout %q exit %+v, want bundle-ok and 1", res.Stdout, res.Exit)
	}
	if !slices.ContainsFunc(res.Calls, func(c profile.Call) bool { return c.Path == "/proc/self/sched" && c.Errno == "ENOENT" }) {
		t.Error("no failed open of /proc/self/sched in the call stream")
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && bytes.Contains(mi, []byte(res.sandboxRoot)) {
		t.Errorf("mounts under %s survive", res.sandboxRoot)
	}
}

func TestCheckTooOld(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "no go command to build a stand-in runsc")
	}
	fake := filepath.Join(t.TempDir(), "runsc")
	build := exec.Command(goBin, "build", "-o", fake, "./testdata/oldrunsc")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build stand-in: %v\n%s", err, b)
	}
	r := &Runner{Runsc: fake}
	v, err := r.Version(context.Background())
	if err != nil || v != "release-20181201.0" {
		t.Errorf("Version = %q, %v", v, err)
	}
	err = r.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "too old") || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("Check = %v, want too old with the hint", err)
	}
}

func TestRunServer(t *testing.T) {
	r := runner(t)
	r.Timeout = 30 * time.Second
	prog := buildC(t, "server")
	res, err := r.Run(context.Background(), RunOptions{
		Argv:  []string{prog, "8777"},
		Ready: []string{prog, "client", "8777"},
		Test:  []string{prog, "client", "8777"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ready || res.Test == nil || res.Test.Exit.Code != 0 || !res.Stopped {
		t.Fatalf("ready %v test %+v stopped %v; stdout %q stderr %q", res.Ready, res.Test, res.Stopped, res.Stdout, res.Stderr)
	}
	if string(res.Stdout) != "listening\n" {
		t.Errorf("server stdout %q", res.Stdout)
	}
	// The server's own calls are kept, the clients' are not.
	var accepts, connects int
	for _, c := range res.Calls {
		switch c.Name {
		case "accept", "accept4":
			if c.Errno == "" {
				accepts++
			}
		case "connect":
			connects++
		}
	}
	if accepts < 2 || connects != 0 {
		t.Errorf("server accepted %d times, %d client connects kept", accepts, connects)
	}
	t.Logf("server: ready after %d tries, %v in all", res.Test.Tries, res.Duration)

	// A server that never answers: not ready by the deadline, no error.
	r.Timeout = 3 * time.Second
	res, err = r.Run(context.Background(), RunOptions{
		Argv:  []string{"sleep", "100"},
		Ready: []string{prog, "client", "8778"},
		Test:  []string{prog, "client", "8778"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ready || res.Test != nil || !res.Stopped {
		t.Errorf("silent server: ready %v test %+v stopped %v", res.Ready, res.Test, res.Stopped)
	}
}

func TestRunRunscFailure(t *testing.T) {
	r := runner(t)
	r.Flags = []string{"--platform=nonexistent"}
	_, err := r.Run(context.Background(), RunOptions{Argv: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "runsc failed") || !strings.Contains(err.Error(), "unknown platform") {
		t.Errorf("Run with a bad platform: %v, want runsc's own error", err)
	}
	if err := r.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot start a sandbox") {
		t.Errorf("Check with a bad platform: %v", err)
	}
}
