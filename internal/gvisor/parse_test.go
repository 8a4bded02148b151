package gvisor

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

func TestParseStraceLines(t *testing.T) {
	tests := []struct {
		name string
		log  string
		want []profile.Call // compared on the fields set
	}{{
		name: "success with path",
		log: `I1127 10:51:15.850236       1 strace.go:572] [   1:   1] procsched E openat(AT_FDCWD /src, 0x55d3e1048004 /proc/self/status, O_RDONLY|0x0, 0o0)
I1127 10:51:15.850454       1 strace.go:610] [   1:   1] procsched X openat(AT_FDCWD /src, 0x55d3e1048004 /proc/self/status, O_RDONLY|0x0, 0o0) = 3 (0x3) (213.048µs)`,
		want: []profile.Call{{Pid: 1, Tid: 1, Exe: "procsched", Nr: 257, Name: "openat", Ret: 3, Path: "/proc/self/status"}},
	}, {
		name: "errno named",
		log:  `I1127 10:51:15.850692       1 strace.go:610] [   1:   1] procsched X openat(AT_FDCWD /src, 0x55d3e1048016 /proc/self/sched, O_RDONLY|0x0, 0o0) = -1 errno=2 (no such file or directory) (3.044µs)`,
		want: []profile.Call{{Pid: 1, Tid: 1, Nr: 257, Name: "openat", Ret: -1, Errno: "ENOENT", Path: "/proc/self/sched"}},
	}, {
		name: "relative path joined to dirfd",
		log:  `I1127 10:51:15.850692       1 strace.go:610] [   3:   4] a X newfstatat(0x3 /sys/fs, 0x5 cgroup, 0x7f, 0x0) = -1 errno=13 (permission denied) (3µs)`,
		want: []profile.Call{{Pid: 3, Tid: 4, Name: "newfstatat", Ret: -1, Errno: "EACCES", Path: "/sys/fs/cgroup"}},
	}, {
		name: "nested pid namespace prefix",
		log:  `I0101 00:00:00.000000       1 strace.go:601] [   7(   1):   9(   3)] app X getpid() = 1 (0x1) (1µs)`,
		want: []profile.Call{{Pid: 7, Tid: 9, Nr: 39, Name: "getpid", Ret: 1}},
	}, {
		name: "unnamed syscall number",
		log:  `I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X sys_425(0x4, 0x7f) = -1 errno=38 (invalid system call number) (1µs)`,
		want: []profile.Call{{Nr: 425, Name: "io_uring_setup", Ret: -1, Errno: "ENOSYS"}},
	}, {
		name: "string argument with parens, commas and quotes",
		log:  `I0101 00:00:00.000000       1 strace.go:607] [   1:   1] sh X write(0x1 host:[2], 0x7f "a) = 1, \"(b\"\n", 0x9) = 9 (0x9) (2µs)`,
		want: []profile.Call{{Name: "write", Ret: 9}},
	}, {
		name: "older release result form",
		log:  `I0101 00:00:00.000000       1 strace.go:601] [   2:   2] app X close(0x3) = 0x0 (1.1µs)`,
		want: []profile.Call{{Pid: 2, Tid: 2, Name: "close", Ret: 0}},
	}, {
		name: "restart code",
		log:  `I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X wait4(0xffffffffffffffff, 0x0, 0x0, 0x0) = -1 errno=512 (to be restarted) (1s)`,
		want: []profile.Call{{Name: "wait4", Ret: -1, Errno: "ERESTARTSYS"}},
	}, {
		name: "entry without exit is no-return",
		log:  `I0101 00:00:00.000000       1 strace.go:563] [   1:   1] app E exit_group(0x1)`,
		want: []profile.Call{{Name: "exit_group", NoReturn: true, Text: "0x1"}},
	}, {
		name: "other debug lines skipped",
		log: `D1127 10:46:00.605917       1 urpc.go:592] urpc: successfully marshalled 37 bytes.
D1127 10:46:00.606305       1 usertrap_amd64.go:232] [   1:   1] Found the pattern at ip 7eb520825c40:sysno 12`,
		want: nil,
	}, {
		name: "ioctl key",
		log:  `I1127 10:50:56.887657       1 strace.go:607] [   1:   1] mix X ioctl(0x0 host:[1], 0x5401, 0x0) = -1 errno=25 (not a typewriter) (1.102µs)`,
		want: []profile.Call{{Name: "ioctl", Errno: "ENOTTY", Ret: -1, Key: "TCGETS"}},
	}, {
		name: "task line of another file with E-like text",
		log:  `D1127 10:46:00.606305       1 task_exit.go:204] [   1:   1] Transition X from(TaskExitNone)`,
		want: nil,
	}, {
		name: "last line cut short",
		log: `I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X getpid() = 1 (0x1) (1µs)
I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X write(0x1, "abc`,
		want: []profile.Call{{Name: "getpid", Ret: 1}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []profile.Call
			err := ParseStrace(strings.NewReader(tt.log), sysno.AMD64, func(c *profile.Call) { got = append(got, *c) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d calls %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				checkCall(t, got[i], w)
			}
		})
	}
}

// checkCall compares the fields of want that are set.
func checkCall(t *testing.T, got, want profile.Call) {
	t.Helper()
	bad := (want.Pid != 0 && got.Pid != want.Pid) || (want.Tid != 0 && got.Tid != want.Tid) ||
		(want.Exe != "" && got.Exe != want.Exe) || (want.Nr != 0 && got.Nr != want.Nr) ||
		got.Name != want.Name || got.Ret != want.Ret || got.Errno != want.Errno ||
		got.Path != want.Path || got.NoReturn != want.NoReturn ||
		(want.Key != "" && got.Key != want.Key) || (want.Text != "" && got.Text != want.Text)
	if bad {
		t.Errorf("call = %+v\nwant %+v", got, want)
	}
}

func TestParseStraceErrors(t *testing.T) {
	for _, log := range []string{
		`I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X close(0x3) = what`,
		"I0101 00:00:00.000000       1 strace.go:601] [   1:   1] app X write(0x1, \"unterminated\n",
	} {
		err := ParseStrace(strings.NewReader("\n"+strings.TrimSuffix(log, "\n")+"\n"), sysno.AMD64, func(*profile.Call) {})
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseStrace(%q) = %v, want an error naming line 2", log, err)
		}
	}
}

// TestParseStraceCaptured checks a real capture of testdata/prog/mix.c
// under runsc (environment and home paths scrubbed).
func TestParseStraceCaptured(t *testing.T) {
	f, err := os.Open("testdata/mix.boot.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []profile.Call
	if err := parseStrace(f, sysno.AMD64, "/tmp/mix", func(c *profile.Call) { calls = append(calls, *c) }); err != nil {
		t.Fatal(err)
	}
	find := func(name string) profile.Call {
		t.Helper()
		i := slices.IndexFunc(calls, func(c profile.Call) bool { return c.Name == name })
		if i < 0 {
			t.Fatalf("no %s call", name)
		}
		return calls[i]
	}
	checkCall(t, find("prctl"), profile.Call{Pid: 1, Tid: 1, Exe: "/tmp/mix", Name: "prctl", Ret: -1, Errno: "EINVAL", Key: "PR_SET_MM,PR_SET_MM_START_CODE"})
	checkCall(t, find("ioctl"), profile.Call{Exe: "/tmp/mix", Name: "ioctl", Ret: -1, Errno: "ENOTTY", Key: "0x1234"})
	checkCall(t, find("kexec_load"), profile.Call{Pid: 1, Tid: 2, Exe: "/tmp/mix", Name: "kexec_load", Ret: -1, Errno: "ENOSYS"})
	bt := slices.IndexFunc(calls, func(c profile.Call) bool { return c.Name == "socket" && strings.HasPrefix(c.Key, "AF_BLUETOOTH") })
	if bt < 0 || calls[bt].Errno != "EAFNOSUPPORT" || !slices.Equal(calls[bt].KeyValues, []uint64{31, 1, 0}) {
		t.Errorf("bluetooth socket call missing or wrong: %+v", calls[max(bt, 0)])
	}
	// The forked child execs /bin/true; its calls after exec belong to it.
	ex := slices.IndexFunc(calls, func(c profile.Call) bool { return c.Name == "execve" })
	if ex < 0 || calls[ex].Exe != "/bin/true" || calls[ex].Pid != 3 {
		t.Fatalf("execve = %+v", calls[max(ex, 0)])
	}
	for _, c := range calls[ex+1:] {
		if c.Pid == 3 && c.Exe != "/bin/true" {
			t.Errorf("call after exec attributed to %q: %+v", c.Exe, c)
			break
		}
	}
	if last := calls[len(calls)-1]; last.Name != "exit_group" {
		t.Errorf("last call %+v, want exit_group", last)
	}
}

func TestParseDebugLogCaptured(t *testing.T) {
	f, err := os.Open("testdata/mix.boot.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	us, err := ParseDebugLog(f, sysno.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	want := []UnsupportedReport{
		{Name: "rseq", Nr: 334, Harmless: true, Count: 1},
		{Name: "prctl", Nr: 157, Key: "PR_SET_MM,PR_SET_MM_START_CODE", Count: 1},
		{Name: "setsockopt", Nr: 54, Key: "SOL_SOCKET,0x7fff", Count: 1},
		{Name: "kexec_load", Nr: 246, Count: 1},
	}
	if len(us) != len(want) {
		t.Fatalf("got %+v, want %d reports", us, len(want))
	}
	for i, w := range want {
		u := us[i]
		if u.Name != w.Name || u.Nr != w.Nr || u.Key != w.Key || u.Harmless != w.Harmless || u.Count != w.Count {
			t.Errorf("report %d = %+v, want %+v", i, us[i], w)
		}
	}
	if !slices.Equal(us[2].Values, []uint64{1, 0x7fff}) {
		t.Errorf("setsockopt key values = %v", us[2].Values)
	}
	// Reports match calls by name and key argument.
	if !us[1].Matches(profile.Call{Name: "prctl", Key: "PR_SET_MM,PR_SET_MM_START_CODE"}) || us[1].Matches(profile.Call{Name: "prctl", Key: "PR_SET_NAME"}) {
		t.Error("prctl report matches the wrong calls")
	}
	if !us[2].Matches(profile.Call{Name: "setsockopt", Key: "SOL_SOCKET:SO_X", KeyValues: []uint64{1, 0x7fff}}) {
		t.Error("setsockopt report does not match by values")
	}
}

func TestParseDebugLogDedup(t *testing.T) {
	log := `I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall prctl(0x23,0x1,0x0,0x0,0x0,0x0). It is likely that you can safely ignore this message.
I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall prctl(0x23,0x2,0x0,0x0,0x0,0x0). It is likely that you can safely ignore this message.
I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall prctl(0x59616d61,0x2,0x0,0x0,0x0,0x0). It is likely that you can safely ignore this message.
W0101 00:00:00.000000       1 compat.go:120] Unsupported syscall: sys_425(0x4,0x0,0x0,0x0,0x0,0x0)
I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall ioctl(0x3,0x5401,0x0,0x0,0x0,0x0). It is likely...
I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall ioctl(0x4,0xffffffff00005401,0x0,0x0,0x0,0x0). It is likely...
`
	us, err := ParseDebugLog(strings.NewReader(log), sysno.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.Name+"/"+u.Key+"/"+string(rune('0'+u.Count)))
	}
	// Keys are those of every other call (package sysargs): PR_SET_MM
	// with its sub-option, finer than runsc's own report keys.
	want := []string{"prctl/PR_SET_MM,PR_SET_MM_START_CODE/1", "prctl/PR_SET_MM,PR_SET_MM_END_CODE/1", "prctl/PR_SET_PTRACER/1", "io_uring_setup//1", "ioctl/TCGETS/2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	_, err = ParseDebugLog(strings.NewReader("\n\nUnsupported syscall prctl(0x23,zz)\n"), sysno.AMD64)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad argument: %v, want an error naming line 3", err)
	}
}

func FuzzStrace(f *testing.F) {
	for _, name := range []string{"testdata/mix.boot.log", "testdata/procsched.boot.log"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[:40] {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, log string) {
		_ = ParseStrace(strings.NewReader(log), sysno.AMD64, func(c *profile.Call) {
			if c.Name == "" {
				t.Fatalf("call without a name from %q", log)
			}
		})
	})
}

func FuzzDebugLog(f *testing.F) {
	f.Add("I1127 10:50:56.887454       1 compat.go:120] Unsupported syscall prctl(0x23,0x1,0x0,0x0,0x0,0x0). It is likely")
	f.Add("Unsupported syscall sys_999(0x1)")
	f.Add("Unsupported syscall setsockopt(0x3,0x1,0x7fff,0x7eccd61b2624,0x4,0x7ecc976386d0).")
	f.Fuzz(func(t *testing.T, log string) {
		us, err := ParseDebugLog(strings.NewReader(log), sysno.AMD64)
		if err != nil {
			return
		}
		for _, u := range us {
			if u.Name == "" || u.Count < 1 {
				t.Fatalf("bad report %+v from %q", u, log)
			}
		}
	})
}
