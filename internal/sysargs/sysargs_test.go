package sysargs

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// buildArgcalls compiles testdata/argcalls.c; tests that need it fail when
// CI=true and no C compiler is there.
func buildArgcalls(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		testenv.Missing(t, "no C compiler (cc) on this machine")
	}
	bin := filepath.Join(t.TempDir(), "argcalls")
	out, err := exec.Command(cc, "-O1", "-Wall", "-o", bin, "testdata/argcalls.c").CombinedOutput()
	if err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

// regPos says where each key value sits among the raw arguments, to build
// the registers of the same call for KeyFromRegs.
var regPos = map[string][]int{
	"prctl": {0, 1}, "socket": {0, 1, 2}, "setsockopt": {1, 2}, "ioctl": {1}, "futex": {1},
	"fallocate": {1}, "unshare": {0}, "madvise": {2}, "mmap": {3}, "membarrier": {0},
	"fcntl": {1}, "setrlimit": {0}, "shmctl": {1}, "clone3": {0}, "mremap": {3}, "personality": {0},
	"setxattr": {1}, "removexattr": {1}, "fsetxattr": {1},
}

var (
	straceCall  = regexp.MustCompile(`^(?:\[pid +\d+\] |\d+ +)?([a-z0-9_]+)\((.*)\) += `)
	straceCheck = regexp.MustCompile(`write\(1, "CHECK (\d+) (\w+) ([0-9 ]+)\\n"`)
)

// TestStraceRoundTrip runs argcalls under strace and checks that the key
// decoded from strace's text has exactly the values the program passed, and
// the same values and display as the key decoded from the raw arguments.
func TestStraceRoundTrip(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		testenv.Missing(t, "strace not installed")
	}
	bin := buildArgcalls(t)
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command(strace, "-f", "-o", log, bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type pending struct {
		id     string
		name   string
		values []uint64
	}
	var want *pending
	checked := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := straceCheck.FindStringSubmatch(line); m != nil {
			p := &pending{id: m[1], name: m[2]}
			for _, s := range strings.Fields(m[3]) {
				v, _ := strconv.ParseInt(s, 10, 64)
				p.values = append(p.values, uint64(v))
			}
			want = p
			continue
		}
		m := straceCall.FindStringSubmatch(line)
		if m == nil || want == nil || m[1] != want.name {
			continue
		}
		disp, vals, ok := KeyFromText(sysno.Host(), m[1], m[2])
		if !ok {
			t.Errorf("check %s: KeyFromText(%s, %q) found no key", want.id, m[1], m[2])
		} else if !slices.Equal(vals, want.values) {
			t.Errorf("check %s: KeyFromText(%s, %q) = %s %v, program passed %v", want.id, m[1], m[2], disp, vals, want.values)
		}
		var regs [6]uint64
		for i, pos := range regPos[want.name] {
			if i < len(want.values) {
				regs[pos] = want.values[i]
			}
		}
		if mk, ok := MemoryKeyOf(want.name); ok && mk.Kind == MemoryNetlink && len(want.values) == 3 {
			// What FromTracee makes of it: the protocol plus one, the
			// type, the flags.
			regs = [6]uint64{want.values[0] + 1, want.values[1], 1 | 0x300*want.values[2]}
		}
		rdisp, rvals, rok := KeyFromRegs(sysno.Host(), want.name, regs)
		if rok != ok || rdisp != disp || !slices.Equal(rvals, vals) {
			t.Errorf("check %s: KeyFromRegs = %q %v %v, KeyFromText = %q %v %v", want.id, rdisp, rvals, rok, disp, vals, ok)
		}
		t.Logf("%s(%s) -> %s %v", m[1], m[2], disp, vals)
		checked[want.id] = true
		want = nil
	}
	if len(checked) < 20 {
		t.Errorf("only %d checks found in the strace log", len(checked))
	}
}

func TestKeyFromText(t *testing.T) {
	for _, tc := range []struct {
		arch       sysno.Arch
		name, text string
		display    string
		values     []uint64
	}{
		{sysno.AMD64, "prctl", "PR_SET_NAME, \"x\"", "PR_SET_NAME", []uint64{15}},
		{sysno.AMD64, "prctl", "0xf, 0x7ffd", "PR_SET_NAME", []uint64{15}},
		{sysno.AMD64, "prctl", "PR_SET_MM, PR_SET_MM_EXE_FILE, 3", "PR_SET_MM,PR_SET_MM_EXE_FILE", []uint64{35, 13}},
		{sysno.AMD64, "ioctl", "3, TCGETS, {c_iflag=ICRNL, ...}", "TCGETS", []uint64{0x5401}},
		{sysno.AMD64, "ioctl", "3, 0x5401 /* TCGETS */, 0x7ffc", "TCGETS", []uint64{0x5401}},
		{sysno.AMD64, "ioctl", "3, FIONREAD, [0]", "FIONREAD", []uint64{0x541b}},
		{sysno.AMD64, "ioctl", "3, _IOC(_IOC_READ, 0x54, 0x30, 0x4), 0x1", "TIOCGPTN", []uint64{0x80045430}},
		{sysno.AMD64, "socket", "AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_UDP", "AF_INET6,SOCK_DGRAM,IPPROTO_UDP", []uint64{10, 2, 17}},
		{sysno.AMD64, "socket", "AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)", "AF_PACKET,SOCK_RAW,htons(ETH_P_ALL)", []uint64{17, 3, 0x300}},
		{sysno.AMD64, "socket", "AF_UNIX, SOCK_STREAM, 0", "AF_UNIX,SOCK_STREAM", []uint64{1, 1, 0}},
		{sysno.AMD64, "setsockopt", "3, SOL_TCP, TCP_NODELAY, [1], 4", "SOL_TCP,TCP_NODELAY", []uint64{6, 1}},
		{sysno.AMD64, "getsockopt", "3, SOL_SOCKET, SO_PEERCRED, {...}, [12]", "SOL_SOCKET,SO_PEERCRED", []uint64{1, 17}},
		{sysno.AMD64, "futex", "0x7f, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, FUTEX_BITSET_MATCH_ANY", "FUTEX_WAIT_BITSET", []uint64{9}},
		{sysno.AMD64, "futex", "0x7f, 0x86, 0", "FUTEX_LOCK_PI", []uint64{6}},
		{sysno.AMD64, "clone", "child_stack=NULL, flags=CLONE_NEWNET|CLONE_NEWNS|SIGCHLD", "CLONE_NEWNS|CLONE_NEWNET", []uint64{0x40020000}},
		{sysno.ARM64, "clone3", "{flags=CLONE_NEWPID|CLONE_NEWUSER, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88", "CLONE_NEWUSER|CLONE_NEWPID", []uint64{0x30000000}},
		{sysno.AMD64, "fallocate", "3, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 4096", "FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE", []uint64{3}},
		{sysno.AMD64, "shmctl", "0, IPC_64|IPC_RMID, NULL", "IPC_RMID", []uint64{0}},
		{sysno.AMD64, "prlimit64", "0, RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=4096}, NULL", "RLIMIT_NOFILE", []uint64{7}},
		{sysno.AMD64, "mmap", "NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB, -1, 0", "MAP_HUGETLB", []uint64{0x40000}},
		{sysno.AMD64, "arch_prctl", "ARCH_SET_GS, 0x1000", "ARCH_SET_GS", []uint64{0x1001}},
		{sysno.AMD64, "personality", "PER_LINUX|ADDR_NO_RANDOMIZE", "PER_LINUX|ADDR_NO_RANDOMIZE", []uint64{0x40000}},
		{sysno.AMD64, "personality", "0x8", "PER_LINUX32", []uint64{8}},
		{sysno.AMD64, "membarrier", "MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0", "MEMBARRIER_CMD_PRIVATE_EXPEDITED", []uint64{8}},
		{sysno.AMD64, "setxattr", `"f", "security.selinux", "x", 1, 0`, "security.*", []uint64{3}},
		{sysno.AMD64, "lsetxattr", `"/a,b", "user.k,|x", "v", 1, XATTR_CREATE`, "user.*", []uint64{1}},
		{sysno.AMD64, "fsetxattr", `3, "security.capability", "\1\0\0\2", 20, 0`, "security.capability", []uint64{5}},
		{sysno.AMD64, "fsetxattr", `3, "security.capability"..., "", 20, 0`, "security.*", []uint64{3}},
		{sysno.AMD64, "removexattr", `"f", "trusted.overlay.opaque"`, "trusted.*", []uint64{2}},
		{sysno.AMD64, "fremovexattr", `3, "system.posix_acl_access"`, "system.*", []uint64{4}},
		{sysno.AMD64, "setxattr", `0x7ffd1000 /tmp/f, 0x7ffd2000 security.k, 0x7ffd3000, 0x3, 0x0`, "security.*", []uint64{3}},
		{sysno.AMD64, "sendto", `3, [{nlmsg_len=28, nlmsg_type=RTM_GETRULE, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1796004523, nlmsg_pid=0}, {family=AF_INET, dst_len=0, src_len=0, tos=0, table=RT_TABLE_UNSPEC, action=FR_ACT_UNSPEC, flags=0}], 28, 0, NULL, 0`, "NETLINK_ROUTE,RTM_GETRULE,NLM_F_DUMP", []uint64{0, 0x22, 1}},
		{sysno.AMD64, "sendmsg", `3, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12, msg_iov=[{iov_base=[{nlmsg_len=36, nlmsg_type=RTM_GETQDISC, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1796004524, nlmsg_pid=0}, {tcm_family=AF_UNSPEC, tcm_ifindex=0, tcm_handle=0, tcm_parent=0, tcm_info=0}], iov_len=36}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0`, "NETLINK_ROUTE,RTM_GETQDISC,NLM_F_DUMP", []uint64{0, 0x26, 1}},
		{sysno.AMD64, "sendto", `3, [{nlmsg_len=20, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=1, nlmsg_pid=0}, {ifi_family=AF_UNSPEC, ...}], 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12`, "NETLINK_ROUTE,RTM_GETLINK", []uint64{0, 0x12, 0}},
	} {
		d, v, ok := KeyFromText(tc.arch, tc.name, tc.text)
		if !ok || d != tc.display || !slices.Equal(v, tc.values) {
			t.Errorf("KeyFromText(%s, %s, %q) = %q %#x %v, want %q %#x", tc.arch, tc.name, tc.text, d, v, ok, tc.display, tc.values)
		}
	}
	// Calls whose key is uninteresting or absent.
	for _, tc := range []struct{ name, text string }{
		{"clone", "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f"},
		{"prlimit64", "0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"},
		{"mmap", "NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"},
		{"read", "3, \"\", 10"},
		{"prctl", ""},
		{"ioctl", "3, NOT_A_REQUEST, 0"},
		{"personality", "0xffffffff"},
		{"setxattr", `"f", "nonamespace", "v", 1, 0`},
		{"sendto", `3, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL, NULL, 0`},
		{"sendto", `3, [{nlmsg_len=20, nlmsg_type=0x10 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=0, nlmsg_pid=0}], 20, 0, NULL, 0`},
		{"sendmsg", `3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0`},
		{"setxattr", `"f", NULL, "v", 1, 0`},
		{"setxattr", `"f", 0x7ffd, "v", 1, 0`},
		{"setxattr", `0x7ffd1000 /tmp/f, 0x7ffd2000 (error decoding path: bad address), 0x0, 0x3, 0x0`},
	} {
		if d, v, ok := KeyFromText(sysno.AMD64, tc.name, tc.text); ok {
			t.Errorf("KeyFromText(%s, %q) = %q %v, want no key", tc.name, tc.text, d, v)
		}
	}
}

// TestTablesBothArches checks names whose values x/sys/unix keeps per
// architecture resolve on both.
func TestTablesBothArches(t *testing.T) {
	for _, arch := range sysno.Arches {
		for _, tc := range []struct {
			c    category
			name string
			v    uint64
		}{
			{catIoctl, "TIOCSTI", 0x5412}, {catSO, "SO_ATTACH_BPF", 50}, {catSOL, "SOL_SOCKET", 1},
			{catRlimit, "RLIMIT_NPROC", 6}, {catMap, "MAP_HUGETLB", 0x40000}, {catPrctl, "PR_SET_MM", 35},
			{catPrctl, "PR_SET_PTRACER", 0x59616d61}, {catAF, "AF_UNIX", 1}, {catNetlinkProto, "NETLINK_AUDIT", 9},
			{catMadv, "MADV_HWPOISON", 100}, {catFcntl, "F_SETPIPE_SZ", 1031}, {catKeyctl, "KEYCTL_READ", 11},
		} {
			tab := tableFor(arch, tc.c)
			if v, ok := tab.byName[tc.name]; !ok || v != tc.v {
				t.Errorf("%s: %s = %#x %v, want %#x", arch, tc.name, v, ok, tc.v)
			}
			if n := tab.byValue[tc.v]; n != tc.name {
				t.Errorf("%s: value %#x displays as %s, want %s", arch, tc.v, n, tc.name)
			}
		}
	}
}

func FuzzKeyFromText(f *testing.F) {
	for _, s := range []string{
		"PR_SET_NAME, \"x\"", "AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP", "3, TCGETS, {c_iflag=0}",
		"3, 0x5401 /* TCGETS */", "child_stack=NULL, flags=CLONE_NEWNET|SIGCHLD", "{flags=CLONE_VM, ...}, 88",
		"3, _IOC(_IOC_READ|_IOC_WRITE, 'T', 0x1, 0x8), 0", "AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)",
		"0x1, FUTEX_WAIT_PRIVATE, 0, NULL", "SNDCTL_TMR_TIMEBASE or TCGETS", "\"a,b\", (", "/* unterminated",
		`"f", "security.k"..., "v", 1, 0`, `0x1 /f, 0x2 user.k, 0x0`, `"f", "\x`,
	} {
		f.Add("ioctl", s)
		f.Add("socket", s)
	}
	names := Syscalls()
	f.Fuzz(func(t *testing.T, name, text string) {
		for _, n := range append(names, name) {
			d, v, ok := KeyFromText(sysno.AMD64, n, text)
			if ok && (d == "" || len(v) == 0) {
				t.Fatalf("KeyFromText(%s, %q) = %q %v with ok", n, text, d, v)
			}
		}
	})
}
