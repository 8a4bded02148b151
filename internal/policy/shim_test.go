//go:build linux

package policy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestMain(m *testing.M) {
	if ShimMain() {
		return
	}
	switch {
	case os.Getenv("GVCHECK_POLICY_TEST_CHILD") != "":
		child()
		return
	case os.Getenv("GVCHECK_POLICY_TEST_STARTER") != "":
		starter()
		return
	case os.Getenv("GVCHECK_POLICY_TEST_NOTSHIM") != "":
		// Started as a shim that must refuse: never run the tests again.
		fmt.Println("not-a-shim")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs under the filter: it makes the filtered syscalls and reports
// what they returned, and how the filter was installed.
func child() {
	var out []string
	for _, name := range []string{"perf_event_open", "io_uring_setup", "kexec_load"} {
		nr, _ := sysno.Number(sysno.Host(), name)
		_, _, e := unix.Syscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
		out = append(out, name+"="+unix.ErrnoName(e))
	}
	// prctl is filtered by option: PR_SET_MM fails, PR_GET_NAME works.
	var name [16]byte
	_, _, e := unix.Syscall6(unix.SYS_PRCTL, unix.PR_SET_MM, unix.PR_SET_MM_START_CODE, 0, 0, 0, 0)
	_, _, e2 := unix.Syscall6(unix.SYS_PRCTL, unix.PR_GET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0, 0)
	out = append(out, "prctl(PR_SET_MM)="+unix.ErrnoName(e), fmt.Sprintf("prctl(PR_GET_NAME)=%d", int(e2)))
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "Seccomp:") || strings.HasPrefix(line, "NoNewPrivs:") {
			out = append(out, strings.Join(strings.Fields(line), ""))
		}
	}
	// The shim's socket must not leak (the Go runtime may hold fd 3 for
	// its own cgroup reads).
	sock := false
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(l, "socket:") {
			sock = true
		}
	}
	out = append(out, fmt.Sprintf("socket=%v", sock), "args="+strings.Join(os.Args[1:], ","))
	fmt.Println(strings.Join(out, " "))
	os.Exit(0)
}

// starter stands for gvcheck in a test that runs it as another user: it
// starts a program through the shim and passes on its output.
func starter() {
	spec := Spec{Path: "/bin/grep", Argv: []string{"grep", "NoNewPrivs", "/proc/self/status"}}
	cmd, err := spec.Command()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShimInstallsErrnoFilter starts a real program through the shim with
// an ERRNO filter, as probe does, and sees the filter's errnos.
func TestShimInstallsErrnoFilter(t *testing.T) {
	arch := sysno.Host()
	num := func(name string) int {
		n, ok := sysno.Number(arch, name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		return n
	}
	p := &Policy{Arch: arch, Default: Allow, Rules: []Rule{
		{Nr: num("perf_event_open"), Action: Errno, Errno: unix.ENODEV},
		{Nr: num("io_uring_setup"), Action: Errno, Errno: unix.ENOSYS},
		{Nr: num("kexec_load"), Action: Trace}, // no tracer: ENOSYS
		{Nr: num("prctl"), Args: []ArgCond{{Arg: 0, Op: MaskedEq, Mask: 0xffffffff, Value: unix.PR_SET_MM}}, Action: Errno, Errno: unix.ENOSYS},
	}}
	prog, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	s := Spec{Path: self(t), Argv: []string{"victim", "a b", "c"}, Env: append(os.Environ(), "GVCHECK_POLICY_TEST_CHILD=1"), Filter: prog}
	cmd, err := s.Command()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	cmd.ExtraFiles[0].Close()
	if err != nil {
		t.Fatalf("shim: %v\n%s", err, stderr.Bytes())
	}
	got := strings.TrimSpace(string(out))
	for _, want := range []string{"perf_event_open=ENODEV", "io_uring_setup=ENOSYS", "kexec_load=ENOSYS",
		"prctl(PR_SET_MM)=ENOSYS", "prctl(PR_GET_NAME)=0", "Seccomp:2", "socket=false", "args=a b,c"} {
		if !strings.Contains(got, want) {
			t.Errorf("child reported %q, want %s", got, want)
		}
	}
	// no_new_privs only when the kernel demands it: not as root.
	if os.Geteuid() == 0 && !strings.Contains(got, "NoNewPrivs:0") {
		t.Errorf("child reported %q: no_new_privs set as root", got)
	}
}

// runSpec runs spec through the shim and returns its exit status, stdout
// and stderr.
func runSpec(t *testing.T, s Spec) (int, string, string) {
	t.Helper()
	cmd, err := s.Command()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	cmd.ExtraFiles[0].Close()
	if cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestShimExecLikeAShell: 127 for a missing program, 126 for one that
// cannot be executed, and a file without "#!" run by /bin/sh.
func TestShimExecLikeAShell(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\necho no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("echo \"script $0 $1 $2\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path       string
		code       int
		out, inErr string
	}{
		{path: "/nonexistent/program", code: 127, inErr: "exec /nonexistent/program"},
		{path: noexec, code: 126, inErr: "permission denied"},
		{path: dir, code: 126, inErr: "permission denied"},
		{path: script, code: 0, out: "script " + script + " a b\n"},
	} {
		code, out, errOut := runSpec(t, Spec{Path: tc.path, Argv: []string{"prog", "a", "b"}, Env: os.Environ()})
		if code != tc.code || out != tc.out || !strings.Contains(errOut, tc.inErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q", tc.path, code, out, errOut, tc.code, tc.out, tc.inErr)
		}
	}
}

// TestShimOnlyForGvcheck: neither the old trigger (argv[0] and an
// environment variable) nor a descriptor from another program makes the
// shim act.
func TestShimOnlyForGvcheck(t *testing.T) {
	exe := self(t)
	// argv[0] and the environment variable of old.
	cmd := exec.Command(exe)
	cmd.Args = []string{shimArg0, "/bin/echo", "echo", "pwned"}
	cmd.Env = append(os.Environ(), "GVCHECK_SECCOMP_SHIM=1::", "GVCHECK_POLICY_TEST_NOTSHIM=1")
	out, _ := cmd.CombinedOutput()
	if strings.TrimSpace(string(out)) != "not-a-shim" {
		t.Errorf("old trigger: %q", out)
	}
	// argv[0] alone, no descriptor.
	cmd = exec.Command(exe)
	cmd.Args = []string{shimArg0}
	cmd.Env = append(os.Environ(), "GVCHECK_POLICY_TEST_NOTSHIM=1")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 126 || !strings.Contains(string(out), "runs only when gvcheck starts it") {
		t.Errorf("shim without a descriptor: %v, exit %d, %q", err, code, out)
	}
	// A well-formed specification on a socket from another program.
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not installed (.ci/install installs it)")
	}
	spec := Spec{Path: "/bin/echo", Argv: []string{"echo", "pwned"}}
	msg, err := spec.encode()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "spec")
	if err := os.WriteFile(f, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	prog := `
import os, socket, sys
a, b = socket.socketpair()
a.sendall(open(sys.argv[2], "rb").read())
pid = os.fork()
if pid == 0:
    os.dup2(b.fileno(), 3)
    os.execv(sys.argv[1], ["` + shimArg0 + `"])
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`
	cmd = exec.Command(py, "-c", prog, exe, f)
	cmd.Env = append(os.Environ(), "GVCHECK_POLICY_TEST_NOTSHIM=1")
	out, _ = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 126 || strings.Contains(string(out), "pwned") || !strings.Contains(string(out), "not gvcheck") {
		t.Errorf("shim started by another program: exit %d, %q", code, out)
	}
}

// TestShimPrivilegedSetsNoNewPrivs: a gvcheck with a file capability run
// by an unprivileged user (the shim's exec then has AT_SECURE) starts
// programs with no_new_privs, so that they can never gain more privilege
// (through a setuid binary) than the user has.
func TestShimPrivilegedSetsNoNewPrivs(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root to set a file capability and switch users; CI runs as root")
	}
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		testenv.Missing(t, "setcap (libcap2-bin) is not installed (.ci/install installs it)")
	}
	dir, err := os.MkdirTemp("", "gvcheck-shim-cap")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gvcheck")
	src, err := os.Open(self(t))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	nobody := func() (int, string) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"GVCHECK_POLICY_TEST_STARTER=1"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), strings.Join(strings.Fields(string(out)), "")
	}
	if code, out := nobody(); code != 0 || out != "NoNewPrivs:0" {
		t.Fatalf("without a file capability: exit %d, %q", code, out)
	}
	if out, err := exec.Command(setcap, "cap_sys_admin+ep", bin).CombinedOutput(); err != nil {
		testenv.Missingf(t, "setcap does not work here: %v: %s", err, out)
	}
	if code, out := nobody(); code != 0 || out != "NoNewPrivs:1" {
		t.Errorf("with cap_sys_admin as nobody: exit %d, %q; want no_new_privs set", code, out)
	}
}

// TestShimWaitsForRelease: with a handshake the shim names its exec thread
// and does nothing more, no filter and no exec, until released; abandoned,
// it exits without running the program.
func TestShimWaitsForRelease(t *testing.T) {
	prog, err := (&Policy{Arch: sysno.Host(), Default: Allow}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, release := range []bool{true, false} {
		spec := &Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 7"}, Filter: prog, Handshake: true}
		devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := Start(spec, StartAttr{Files: []*os.File{devnull, devnull, devnull}})
		devnull.Close()
		if err != nil {
			t.Fatal(err)
		}
		tid, err := sh.Ready()
		if err != nil {
			t.Fatal(err)
		}
		if tgid := readStatus(t, tid, "Tgid"); tgid != fmt.Sprint(sh.Pid) {
			t.Errorf("exec thread %d belongs to %s, not the shim %d", tid, tgid, sh.Pid)
		}
		for range 5 { // it stays put
			if sc := readStatus(t, sh.Pid, "Seccomp"); sc != "0" {
				t.Fatalf("filter installed before release: Seccomp %s", sc)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if release {
			err = sh.Release()
		} else {
			sh.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(sh.Pid, &ws, 0, nil); err != nil {
			t.Fatal(err)
		}
		want := 7
		if !release {
			want = 127
		}
		if ws.ExitStatus() != want {
			t.Errorf("release=%v: exit %d, want %d", release, ws.ExitStatus(), want)
		}
	}
}

func readStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
