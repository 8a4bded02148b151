package diverge

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// call builds a call for hand-made streams.
func call(pid int, exe, name, errno string, extra ...string) profile.Call {
	c := profile.Call{Pid: pid, Tid: pid, Exe: exe, Name: name, Errno: errno}
	if errno != "" {
		c.Ret = -1
	}
	for _, e := range extra {
		switch {
		case strings.HasPrefix(e, "/"):
			c.Path = e
		case strings.HasPrefix(e, "tid="):
			c.Tid, _ = strconv.Atoi(e[4:])
		default:
			c.Key = e
		}
	}
	return c
}

func TestCompareHandBuilt(t *testing.T) {
	const app = "/usr/bin/app"
	native := []profile.Call{
		call(100, app, "openat", "", "/proc/self/status"),
		call(100, app, "mmap", ""),
		call(100, app, "rseq", ""),
		call(100, app, "socket", "", "AF_INET,SOCK_STREAM,0"),
		call(100, app, "ioctl", "", "TCGETS"),
		call(100, app, "openat", "", "/proc/self/sched"),
		call(100, app, "read", ""),
		call(100, app, "exit_group", ""),
	}
	native[len(native)-1].Text = "0x0"
	gv := []profile.Call{
		call(1, app, "openat", "", "/proc/self/status"),
		call(1, app, "mmap", ""),
		call(1, app, "mmap", ""), // more mmaps under gVisor: noise
		call(1, app, "rseq", "ENOSYS"),
		call(1, app, "socket", "", "AF_INET,SOCK_STREAM,0"),
		call(1, app, "ioctl", "ENOTTY", "TCGETS"),
		call(1, app, "openat", "ENOENT", "/proc/self/sched"),
		call(1, app, "write", ""), // error message
		call(1, app, "exit_group", ""),
	}
	gv[len(gv)-1].Text = "0x1"
	ds := CompareWith(native, gv, Options{})
	if len(ds) != 2 {
		t.Fatalf("got %d divergences, want 2: %+v", len(ds), ds)
	}
	// Both are in the failing process; the ioctl comes first in it.
	if ds[0].Kind != KindIoctl || ds[0].GVisor.Name != "ioctl" || ds[0].Native.Errno != "" || !ds[0].ProcessFailed {
		t.Errorf("first = %+v, want the ioctl", ds[0])
	}
	if ds[1].Kind != KindMissingPath || ds[1].GVisor.Path != "/proc/self/sched" || !strings.Contains(ds[1].Summary, "/proc/self/sched") {
		t.Errorf("second = %+v, want the missing path", ds[1])
	}
	for i, d := range ds {
		if d.Rank != i+1 || d.Exe != app {
			t.Errorf("divergence %d: rank %d exe %q", i, d.Rank, d.Exe)
		}
	}
}

func TestCompareUnsupportedFirstAndProcesses(t *testing.T) {
	// A shell runs a helper that fails under gVisor; the shell itself
	// only sees its child's status.
	native := []profile.Call{
		call(10, "/bin/sh", "openat", "", "/dev/null"),
		call(10, "/bin/sh", "clone", ""),
		call(11, "/bin/sh", "execve", ""),
		call(11, "/usr/bin/helper", "openat", "", "/sys/kernel/mm/transparent_hugepage/enabled"),
		call(11, "/usr/bin/helper", "io_uring_setup", ""),
		call(11, "/usr/bin/helper", "exit_group", ""),
		call(10, "/bin/sh", "wait4", ""),
		call(10, "/bin/sh", "exit_group", ""),
	}
	gv := []profile.Call{
		call(1, "/bin/sh", "openat", "", "/dev/null"),
		call(1, "/bin/sh", "clone", ""),
		call(2, "/bin/sh", "execve", ""),
		call(2, "/usr/bin/helper", "openat", "ENOENT", "/sys/kernel/mm/transparent_hugepage/enabled"),
		call(2, "/usr/bin/helper", "io_uring_setup", "ENOSYS"),
		call(2, "/usr/bin/helper", "exit_group", ""),
		call(1, "/bin/sh", "wait4", ""),
		call(1, "/bin/sh", "exit_group", ""),
	}
	gv[5].Text, native[5].Text = "0x1", "0x0"
	ds := CompareWith(native, gv, Options{})
	if len(ds) != 2 {
		t.Fatalf("got %+v, want 2 divergences", ds)
	}
	if ds[0].Kind != KindUnsupported || ds[0].GVisor.Name != "io_uring_setup" || ds[0].Exe != "/usr/bin/helper" {
		t.Errorf("first = %+v, want io_uring_setup", ds[0])
	}
	if ds[1].Kind != KindMissingPath {
		t.Errorf("second = %+v, want the missing /sys path", ds[1])
	}
}

func TestCompareThreadsAndRetries(t *testing.T) {
	const app = "/app"
	native := []profile.Call{
		call(5, app, "openat", "", "/proc/cpuinfo"),
		call(5, app, "clone", ""),
		call(6, app, "openat", "", "/proc/self/stat", "tid=6"),
		call(5, app, "read", "EAGAIN"),
		call(5, app, "read", ""),
		call(5, app, "socket", "", "AF_NETLINK,SOCK_RAW,NETLINK_ROUTE"),
	}
	native[2].Pid = 5
	// Under gVisor the thread runs first, and no EAGAIN retry happens.
	gv := []profile.Call{
		call(1, app, "openat", "", "/proc/cpuinfo"),
		call(1, app, "clone", ""),
		call(1, app, "openat", "", "/proc/self/stat", "tid=2"),
		call(1, app, "read", ""),
		call(1, app, "socket", "EPROTONOSUPPORT", "AF_NETLINK,SOCK_RAW,NETLINK_ROUTE"),
		call(1, app, "socket", "EAFNOSUPPORT", "AF_BLUETOOTH,SOCK_STREAM,0"),
	}
	ds := CompareWith(native, gv, Options{})
	if len(ds) != 2 {
		t.Fatalf("got %+v, want 2", ds)
	}
	if ds[0].Kind != KindSocketFamily || ds[0].Native.Name != "socket" {
		t.Errorf("first = %+v, want the netlink socket", ds[0])
	}
	if ds[1].Kind != KindExtra || ds[1].GVisor.Key != "AF_BLUETOOTH,SOCK_STREAM,0" || ds[1].Native.Name != "" {
		t.Errorf("second = %+v, want the extra bluetooth socket", ds[1])
	}
}

func TestCompareIdentical(t *testing.T) {
	s := []profile.Call{call(1, "/a", "openat", "", "/proc/self/maps"), call(1, "/a", "read", ""), call(1, "/a", "openat", "ENOENT", "/etc/nope")}
	if ds := CompareWith(s, s, Options{}); len(ds) != 0 {
		t.Errorf("identical streams diverge: %+v", ds)
	}
	if ds := CompareWith(nil, nil, Options{}); len(ds) != 0 {
		t.Errorf("empty streams diverge: %+v", ds)
	}
}

// TestCompareCaptured compares real captures of testdata/procsched.c: strace
// natively, runsc --strace under gVisor.
func TestCompareCaptured(t *testing.T) {
	native := readStrace(t, "../gvisor/testdata/procsched.native.strace")
	f, err := os.Open("../gvisor/testdata/procsched.boot.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gv []profile.Call
	if err := gvisor.ParseStrace(f, sysno.AMD64, func(c *profile.Call) { gv = append(gv, *c) }); err != nil {
		t.Fatal(err)
	}
	checkProcSched(t, CompareWith(native, gv, Options{}))
}

func checkProcSched(t *testing.T, ds []Divergence) {
	t.Helper()
	if len(ds) == 0 {
		t.Fatal("no divergence found")
	}
	for _, d := range ds {
		t.Logf("%d %s %s", d.Rank, d.Kind, d.Summary)
	}
	d := ds[0]
	if d.Kind != KindMissingPath || d.GVisor.Path != "/proc/self/sched" || d.Native.Errno != "" || !strings.Contains(d.Summary, "/proc/self/sched") {
		t.Errorf("first divergence = %+v, want /proc/self/sched missing", d)
	}
}

// liveRun runs the C program testdata/prog/NAME.c natively under strace and
// under runsc and returns both call streams and gVisor's result.
func liveRun(t *testing.T, name string) (native []profile.Call, res *gvisor.RunResult, nativeErr error) {
	t.Helper()
	runsc := testenv.NeedRunsc(t)
	straceBin := testenv.NeedTool(t, "strace")
	prog := testenv.BuildC(t, "../gvisor/testdata/prog/"+name+".c")
	dir := t.TempDir()
	logf := filepath.Join(dir, "native.strace")
	nativeErr = exec.Command(straceBin, "-f", "-o", logf, prog).Run()
	r := &gvisor.Runner{Runsc: runsc, Strace: true, Timeout: time.Minute}
	var err error
	res, err = r.Run(context.Background(), gvisor.RunOptions{Argv: []string{prog}})
	if err != nil {
		t.Fatal(err)
	}
	return readStrace(t, logf), res, nativeErr
}

// TestCompareLive runs testdata/procsched.c natively under strace and under
// runsc, and finds the missing /proc file.
func TestCompareLive(t *testing.T) {
	native, res, nerr := liveRun(t, "procsched")
	if nerr != nil {
		t.Fatalf("native run failed: %v", nerr)
	}
	if res.Exit.Code != 1 {
		t.Fatalf("under gVisor: exit %+v, want 1", res.Exit)
	}
	checkProcSched(t, CompareWith(native, res.Calls, Options{}))
}

// TestCompareLiveIOURing finds io_uring_setup as the cause of a program
// that needs io_uring.
func TestCompareLiveIOURing(t *testing.T) {
	native, res, nerr := liveRun(t, "iouring")
	if nerr != nil {
		// Hosts may disable io_uring (sysctl, container seccomp).
		t.Skipf("io_uring is not available natively on this machine: %v", nerr)
	}
	ds := CompareWith(native, res.Calls, Options{})
	if len(ds) == 0 {
		t.Fatal("no divergence")
	}
	for _, d := range ds {
		t.Logf("%d %s %s", d.Rank, d.Kind, d.Summary)
	}
	if d := ds[0]; d.Kind != KindUnsupported || d.GVisor.Name != "io_uring_setup" || d.GVisor.Errno != "ENOSYS" || !strings.Contains(d.Summary, "io_uring_setup") {
		t.Errorf("first divergence = %+v, want io_uring_setup ENOSYS", d)
	}
}

// readStrace is a minimal parser of `strace -f -o` logs, enough for these
// tests (the real one lives elsewhere).
func readStrace(t *testing.T, name string) []profile.Call {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lineRe := regexp.MustCompile(`^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+|\?)(?:\s+(E[A-Z0-9]+))?`)
	pathRe := regexp.MustCompile(`"(/[^"]*)"`)
	exe := map[int]string{}
	pending := map[int]string{}
	var calls []profile.Call
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pidStr, rest, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			t.Fatalf("%s: bad line %q", name, line)
		}
		if strings.HasSuffix(rest, "<unfinished ...>") {
			pending[pid] = strings.TrimSuffix(rest, "<unfinished ...>")
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(rest), "<... ") {
			_, after, _ := strings.Cut(rest, "resumed>")
			line = pidStr + " " + pending[pid] + after
		}
		m := lineRe.FindStringSubmatch(line)
		if m == nil {
			continue // signals, exits
		}
		nr, _ := sysno.Number(sysno.AMD64, m[2])
		c := profile.Call{Pid: pid, Tid: pid, Name: m[2], Nr: nr, Errno: m[5], Text: m[3], Exe: exe[pid]}
		c.Ret, _ = strconv.ParseInt(m[4], 0, 64)
		if p := pathRe.FindStringSubmatch(m[3]); p != nil {
			c.Path = p[1]
			if c.Name == "execve" && c.Errno == "" {
				exe[pid] = p[1]
				c.Exe = p[1]
			}
		}
		if (c.Name == "clone" || c.Name == "fork" || c.Name == "vfork" || c.Name == "clone3") && c.Ret > 0 {
			exe[int(c.Ret)] = exe[pid]
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestCompareControlFlowSplit(t *testing.T) {
	// Both runs query routes over netlink; gVisor's answer lacks what the
	// program needs, so it gives up without any call failing.
	common := func(pid int) []profile.Call {
		return []profile.Call{
			call(pid, "/usr/bin/scan", "socket", "", "AF_NETLINK,SOCK_RAW,NETLINK_ROUTE"),
			call(pid, "/usr/bin/scan", "sendmsg", ""),
			call(pid, "/usr/bin/scan", "recvmsg", ""),
			call(pid, "/usr/bin/scan", "openat", "", "/proc/net/dev"),
			call(pid, "/usr/bin/scan", "read", ""),
		}
	}
	native := common(40)
	for k := 0; k < 30; k++ {
		native = append(native, call(40, "/usr/bin/scan", "connect", "ECONNREFUSED"))
	}
	native = append(native, call(40, "/usr/bin/scan", "write", ""), call(40, "/usr/bin/scan", "exit_group", ""))
	native[len(native)-1].Text = "0"
	gv := append(common(1), call(1, "/usr/bin/scan", "write", ""), call(1, "/usr/bin/scan", "exit_group", ""))
	gv[len(gv)-1].Text = "0x1"
	ds := CompareWith(native, gv, Options{})
	if len(ds) != 1 {
		t.Fatalf("got %+v, want one control-flow divergence", ds)
	}
	d := ds[0]
	if d.Kind != KindSplit || d.Native.Name != "connect" || d.GVisor.Name != "write" || !d.ProcessFailed {
		t.Errorf("divergence = %+v", d)
	}
	for _, want := range []string{"after read", "recvmsg", "exited 1"} {
		if !strings.Contains(d.Summary, want) {
			t.Errorf("summary %q lacks %q", d.Summary, want)
		}
	}
}

func TestCompareResolvedProgramNames(t *testing.T) {
	// The tracer names programs by their resolved files; gVisor by the
	// path exec'd. Processes still pair by what they do.
	native := []profile.Call{
		call(1, "/usr/bin/dash", "openat", "", "/proc/self/status"),
		call(1, "/usr/bin/dash", "clone", ""),
		call(2, "/usr/bin/dash", "openat", "", "/dev/shm"),
		call(2, "/usr/bin/dash", "ioctl", "", "TCGETS"),
		call(2, "/usr/bin/dash", "openat", "", "/sys/fs/cgroup/cpu.max"),
	}
	gv := []profile.Call{
		call(1, "/bin/sh", "openat", "", "/proc/self/status"),
		call(1, "/bin/sh", "clone", ""),
		call(2, "/bin/sh", "openat", "", "/dev/shm"),
		call(2, "/bin/sh", "ioctl", "", "TCGETS"),
		call(2, "/bin/sh", "openat", "ENOENT", "/sys/fs/cgroup/cpu.max"),
	}
	ds := CompareWith(native, gv, Options{})
	if len(ds) != 1 || ds[0].Kind != KindMissingPath || ds[0].GVisor.Path != "/sys/fs/cgroup/cpu.max" {
		t.Fatalf("got %+v, want the missing cgroup file", ds)
	}
}

func TestCompareWithUnsupported(t *testing.T) {
	const app = "/app"
	native := []profile.Call{
		call(1, app, "openat", "", "/dev/null"),
		call(1, app, "perf_event_open", ""),
		call(1, app, "fallocate", ""),
	}
	gv := []profile.Call{
		call(1, app, "openat", "", "/dev/null"),
		call(1, app, "perf_event_open", "ENODEV"),
		call(1, app, "fallocate", "EOPNOTSUPP"),
	}
	plain := CompareWith(native, gv, Options{})
	if len(plain) != 2 || plain[0].Kind != KindFailed {
		t.Fatalf("without options: %+v", plain)
	}
	ds := CompareWith(native, gv, Options{Unsupported: func(c profile.Call) bool { return c.Name == "fallocate" }})
	if len(ds) != 2 || ds[0].GVisor.Name != "fallocate" || ds[0].Kind != KindUnsupported || !strings.Contains(ds[0].Summary, "EOPNOTSUPP") {
		t.Errorf("with options: %+v", ds)
	}
}

func TestProcessFailed(t *testing.T) {
	for _, tt := range []struct {
		native, gvisor string
		want           bool
	}{
		{"0", "0", false}, {"0", "1", true}, {"", "0", false}, {"", "3", true},
		{"0", "", true}, {"", "", false},
	} {
		if got := processFailed(tt.native, tt.gvisor); got != tt.want {
			t.Errorf("processFailed(%q, %q) = %v", tt.native, tt.gvisor, got)
		}
	}
}

// TestCompareLiveControlFlow finds where a program that parses a /proc
// file gVisor fills differently gives up, though no call fails.
func TestCompareLiveControlFlow(t *testing.T) {
	native, res, nerr := liveRun(t, "procfield")
	if nerr != nil {
		t.Skipf("natively the program fails too on this machine: %v", nerr)
	}
	if res.Exit.Code != 4 {
		t.Fatalf("under gVisor: exit %+v, want 4 (gVisor gained Cpus_allowed_list?)", res.Exit)
	}
	ds := CompareWith(native, res.Calls, Options{})
	if len(ds) == 0 {
		t.Fatal("no divergence")
	}
	for _, d := range ds {
		t.Logf("%d %s %s", d.Rank, d.Kind, d.Summary)
	}
	d := ds[0]
	if d.Kind != KindSplit || d.Native.Name != "access" || !strings.Contains(d.Summary, "/proc/") || !strings.Contains(d.Summary, "exited 4") {
		t.Errorf("first divergence = %+v, want the control-flow split after reading /proc/self/status", d)
	}
}
