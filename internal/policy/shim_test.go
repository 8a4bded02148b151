//go:build linux

package policy

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

func TestMain(m *testing.M) {
	if ShimMain() {
		return
	}
	if os.Getenv("GVCHECK_POLICY_TEST_CHILD") != "" {
		child()
		return
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
	_, env := os.LookupEnv(shimEnv)
	out = append(out, fmt.Sprintf("shimenv=%v", env), "args="+strings.Join(os.Args[1:], ","))
	fmt.Println(strings.Join(out, " "))
	os.Exit(0)
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
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := Shim{Filter: prog}
	cmd, err := s.Command(self, []string{"victim", "a b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(cmd.Env, "GVCHECK_POLICY_TEST_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("shim: %v\n%s", err, stderr.Bytes())
	}
	got := strings.TrimSpace(string(out))
	for _, want := range []string{"perf_event_open=ENODEV", "io_uring_setup=ENOSYS", "kexec_load=ENOSYS",
		"prctl(PR_SET_MM)=ENOSYS", "prctl(PR_GET_NAME)=0", "Seccomp:2", "shimenv=false", "args=a b,c"} {
		if !strings.Contains(got, want) {
			t.Errorf("child reported %q, want %s", got, want)
		}
	}
	// no_new_privs only when the kernel demands it: not as root.
	if os.Geteuid() == 0 && !strings.Contains(got, "NoNewPrivs:0") {
		t.Errorf("child reported %q: no_new_privs set as root", got)
	}
}

func TestShimExecFailure(t *testing.T) {
	s := Shim{}
	cmd, err := s.Command("/nonexistent/program", []string{"program"})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 127 {
		t.Errorf("exit %v, want 127", err)
	}
	if !strings.Contains(stderr.String(), "exec /nonexistent/program") {
		t.Errorf("stderr %q", stderr.String())
	}
}
