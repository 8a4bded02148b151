package rules

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

const newest = "v0.0.0-20260905035102-160fafc42237"

func newestSet(t *testing.T, arch sysno.Arch) *Set {
	t.Helper()
	s, ok := For(newest, arch)
	if !ok || s.Version != newest {
		t.Fatalf("For(%s) = %v %v", newest, s, ok)
	}
	return s
}

func TestVersionsAndFor(t *testing.T) {
	vs := Versions()
	if len(vs) < 3 || vs[len(vs)-1] != newest {
		t.Fatalf("Versions() = %v", vs)
	}
	for _, tc := range []struct {
		ask, want string
		ok        bool
	}{
		{newest, newest, true},
		{"v0.0.0-20240101000000-000000000000", "v0.0.0-20230927004350-cbd86285d259", true},
		{"v0.0.0-20991231000000-000000000000", newest, true},
		{"v0.0.0-20190101000000-000000000000", "", false},
	} {
		s, ok := For(tc.ask, sysno.AMD64)
		if ok != tc.ok || ok && s.Version != tc.want {
			t.Errorf("For(%s) = %v %v, want %s %v", tc.ask, s, ok, tc.want, tc.ok)
		}
	}
	if s, _ := For("v0.0.0-20211020211948-f76a604701b6", sysno.AMD64); s != nil {
		if v, r := s.Judge("rseq", nil, []string{"--platform=kvm"}); v != AnswerUnsupported || r.Errno != "ENOSYS" {
			t.Errorf("2021 rseq on kvm: %v %+v, want unsupported ENOSYS", v, r)
		}
	}
	for _, v := range vs {
		for _, arch := range sysno.Arches {
			s, _ := For(v, arch)
			if len(s.Syscalls()) < 15 || len(s.Paths()) < 100 {
				t.Errorf("%s %s: %d syscalls with rules, %d paths", v, arch, len(s.Syscalls()), len(s.Paths()))
			}
		}
	}
}

// TestJudgeNewest checks facts read in gVisor's source (and confirmed
// under runsc by TestRunsc) against the embedded rules.
func TestJudgeNewest(t *testing.T) {
	s := newestSet(t, sysno.AMD64)
	for _, tc := range []struct {
		sys    string
		values []uint64
		flags  []string
		want   Answer
		errno  string
	}{
		{"prctl", []uint64{15}, nil, AnswerSupported, ""},                  // PR_SET_NAME
		{"prctl", []uint64{35, 1}, nil, AnswerUnsupported, "EINVAL"},       // PR_SET_MM, PR_SET_MM_START_CODE
		{"prctl", []uint64{35, 13}, nil, AnswerSupported, ""},              // PR_SET_MM, PR_SET_MM_EXE_FILE
		{"prctl", []uint64{29}, nil, AnswerUnsupported, "EINVAL"},          // PR_SET_TIMERSLACK
		{"prctl", []uint64{0x7777}, nil, AnswerUnsupported, "EINVAL"},      // unknown option: default
		{"arch_prctl", []uint64{0x1001}, nil, AnswerUnsupported, "EINVAL"}, // ARCH_SET_GS
		{"socket", []uint64{2, 1, 6}, nil, AnswerSupported, ""},
		{"socket", []uint64{17, 3, 0x300}, nil, AnswerNeedsFlag, "EPERM"},
		{"socket", []uint64{17, 3, 0x300}, []string{"--net-raw"}, AnswerSupported, ""},
		{"socket", []uint64{2, 3, 1}, nil, AnswerNeedsFlag, "EPERM"},
		{"socket", []uint64{16, 3, 9}, nil, AnswerUnsupported, "EPROTONOSUPPORT"}, // NETLINK_AUDIT
		{"socket", []uint64{16, 3, 0}, nil, AnswerSupported, ""},                  // NETLINK_ROUTE
		{"socket", []uint64{38, 5, 0}, nil, AnswerUnsupported, "EAFNOSUPPORT"},    // AF_ALG
		{"setsockopt", []uint64{1, 2}, nil, AnswerSupported, ""},                  // SO_REUSEADDR
		{"setsockopt", []uint64{1, 50}, nil, AnswerIgnored, ""},                   // SO_ATTACH_BPF
		{"ioctl", []uint64{0x5401}, nil, AnswerSupported, ""},                     // TCGETS
		{"ioctl", []uint64{0x5412}, nil, AnswerUnsupported, "ENOTTY"},             // TIOCSTI
		{"futex", []uint64{6}, nil, AnswerSupported, ""},                          // FUTEX_LOCK_PI
		{"futex", []uint64{11}, nil, AnswerUnsupported, "ENOSYS"},                 // FUTEX_WAIT_REQUEUE_PI
		{"fallocate", []uint64{0}, nil, AnswerSupported, ""},
		{"fallocate", []uint64{3}, nil, AnswerUnsupported, "EOPNOTSUPP"},
		{"unshare", []uint64{0x40000000}, nil, AnswerSupported, ""},         // CLONE_NEWNET
		{"unshare", []uint64{0x2000000}, nil, AnswerUnsupported, "EINVAL"},  // CLONE_NEWCGROUP
		{"unshare", []uint64{0x40000100}, nil, AnswerUnsupported, "EINVAL"}, // CLONE_NEWNET|CLONE_VM
		{"clone3", []uint64{0x80}, nil, AnswerUnsupported, "EINVAL"},        // CLONE_NEWTIME
		{"madvise", []uint64{9}, nil, AnswerUnsupported, "ENOSYS"},          // MADV_REMOVE
		{"madvise", []uint64{100}, nil, AnswerUnsupported, "EPERM"},         // MADV_HWPOISON
		{"mmap", []uint64{3}, nil, AnswerUnsupported, "EINVAL"},             // MAP_SHARED_VALIDATE
		{"mmap", []uint64{0x40000}, nil, AnswerIgnored, ""},                 // MAP_HUGETLB
		{"setrlimit", []uint64{7}, nil, AnswerSupported, ""},                // RLIMIT_NOFILE
		{"setrlimit", []uint64{13}, nil, AnswerUnsupported, "EPERM"},        // RLIMIT_NICE
		{"io_uring_setup", nil, nil, AnswerNeedsFlag, "ENOSYS"},
		{"io_uring_setup", nil, []string{"--iouring=true"}, AnswerSupported, ""},
		{"personality", []uint64{0x40000}, nil, AnswerUnsupported, "EINVAL"}, // ADDR_NO_RANDOMIZE
		{"personality", []uint64{0}, nil, AnswerSupported, ""},
		{"personality", []uint64{0x1000000}, nil, AnswerSupported, ""}, // SHORT_INODE
		{"rseq", nil, nil, AnswerNeedsFlag, "ENOSYS"},
		{"rseq", nil, []string{"--platform", "kvm"}, AnswerSupported, ""},
		{"rseq", nil, []string{"--platform=systrap"}, AnswerNeedsFlag, "ENOSYS"},
		{"read", []uint64{1}, nil, AnswerUnknown, ""},
	} {
		v, r := s.Judge(tc.sys, tc.values, tc.flags)
		errno := ""
		if r != nil {
			errno = r.Errno
		}
		if v != tc.want || (tc.errno != "" && errno != tc.errno) {
			t.Errorf("Judge(%s, %#x, %v) = %v %q (%+v), want %v %q", tc.sys, tc.values, tc.flags, v, errno, r, tc.want, tc.errno)
		}
	}
}

func TestPathProvided(t *testing.T) {
	s := newestSet(t, sysno.AMD64)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/proc/self/maps", true}, {"/proc/1/task/1/status", true}, {"/proc/cpuinfo", true},
		{"/proc/self/fd/3", true}, {"/proc/sys/kernel/hostname", true}, {"/proc/net/tcp", true},
		{"/proc/kcore", false}, {"/proc/sys/kernel/core_pattern", false}, {"/proc/self/attr", false},
		{"/dev/null", true}, {"/dev/pts/0", true}, {"/dev/kmsg", false}, {"/sys/devices/system/cpu", true},
		{"/etc/passwd", true}, {"/sys/kernel/mm/transparent_hugepage/enabled", false}, {"/sys/fs/cgroup", true},
		{"/sys/fs/cgroup/cpu.max", true}, {"/sys/devices/system/cpu/cpu3/online", true}, {"/sys/class/net/eth0", false},
		{"/proc/self/ns/net", true}, {"/dev/mem", false},
		// A trailing slash names the same entry.
		{"/proc/1/", true}, {"/sys/", true}, {"/proc/kcore/", false},
	} {
		got, note := s.PathProvided(tc.path)
		if got != tc.want {
			t.Errorf("PathProvided(%s) = %v (%s), want %v", tc.path, got, note, tc.want)
		}
	}
}

// evalConds runs a first-match condition list on raw arguments.
func evalConds(conds []ArgCond, all bool, args [6]uint64) bool {
	for _, c := range conds {
		match := true
		for _, k := range c.Checks {
			if args[k.Arg]&k.Mask != k.Value {
				match = false
			}
		}
		if match {
			return c.Trace
		}
	}
	return all
}

// TestTraceConditionsAgreeWithJudge: the seccomp conditions stop exactly
// the calls Judge does not call supported.
func TestTraceConditionsAgreeWithJudge(t *testing.T) {
	s := newestSet(t, sysno.AMD64)
	calls := []struct {
		sys  string
		args [6]uint64
	}{
		{"prctl", [6]uint64{15}}, {"prctl", [6]uint64{35, 1}}, {"prctl", [6]uint64{35, 13}},
		{"prctl", [6]uint64{0x7777}}, {"prctl", [6]uint64{4, 0}}, {"prctl", [6]uint64{1<<32 | 15}},
		{"socket", [6]uint64{2, 1 | 0x80000, 6}}, {"socket", [6]uint64{17, 3, 0x300}}, {"socket", [6]uint64{16, 3, 9}},
		{"socket", [6]uint64{16, 2, 0}}, {"socket", [6]uint64{38, 5, 0}}, {"socket", [6]uint64{2, 3, 1}},
		{"setsockopt", [6]uint64{3, 1, 50}}, {"setsockopt", [6]uint64{3, 1, 2}}, {"setsockopt", [6]uint64{3, 6, 1}},
		{"ioctl", [6]uint64{0, 0x5401}}, {"ioctl", [6]uint64{0, 0x5412}}, {"ioctl", [6]uint64{0, 0xdead}},
		{"futex", [6]uint64{0, 6 | 128}}, {"futex", [6]uint64{0, 11 | 128}}, {"futex", [6]uint64{0, 9 | 256}},
		{"fallocate", [6]uint64{3, 0}}, {"fallocate", [6]uint64{3, 3}},
		{"unshare", [6]uint64{0x40000000}}, {"unshare", [6]uint64{0x2000000}}, {"unshare", [6]uint64{0x100}},
		{"clone", [6]uint64{0x40000000 | 17}}, {"mmap", [6]uint64{0, 4096, 3, 0x22}}, {"mmap", [6]uint64{0, 4096, 3, 0x23}},
		{"madvise", [6]uint64{0, 4096, 4}}, {"madvise", [6]uint64{0, 4096, 9}},
	}
	for _, c := range calls {
		conds, all := s.TraceConditions(c.sys, nil)
		stop := evalConds(conds, all, c.args)
		_, vals, ok := sysargs.KeyFromRegs(sysno.AMD64, c.sys, c.args)
		want := false
		if ok {
			v, _ := s.Judge(c.sys, vals, nil)
			want = v != AnswerSupported
		}
		if c.sys == "socket" && NetlinkRouteSocket.Holds(c.args) {
			want = true // for the tracer to watch the requests that follow
		}
		if stop != want {
			t.Errorf("%s%#x: filter stops=%v, Judge says stop=%v (key %#x)", c.sys, c.args, stop, want, vals)
		}
	}
	if conds, all := s.TraceConditions("clone3", nil); conds != nil || !all {
		t.Errorf("clone3: want every call stopped (flags are in memory), got %v %v", conds, all)
	}
	for _, send := range []string{"sendto", "sendmsg"} {
		if conds, all := s.TraceConditions(send, nil); conds != nil || all {
			t.Errorf("%s: want no call stopped (the tracer watches after a NETLINK_ROUTE socket), got %v %v", send, conds, all)
		}
	}
}

func TestCapabilities(t *testing.T) {
	s := newestSet(t, sysno.AMD64)
	has := func(l []string, c string) bool {
		for _, x := range l {
			if x == c {
				return true
			}
		}
		return false
	}
	do := s.Capabilities(false, nil)
	if !has(do, "CAP_SYS_ADMIN") || has(do, "CAP_NET_RAW") || len(do) < 38 {
		t.Errorf("runsc do capabilities = %v", do)
	}
	if !has(s.Capabilities(false, []string{"--net-raw"}), "CAP_NET_RAW") {
		t.Errorf("--net-raw does not grant CAP_NET_RAW")
	}
	if spec := s.Capabilities(true, nil); !has(spec, "CAP_KILL") || has(spec, "CAP_SYS_ADMIN") {
		t.Errorf("runsc spec capabilities = %v", spec)
	}
	if s.CapabilitySource() == "" {
		t.Error("no capability source")
	}
}
