package sysargs

import (
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

type nameValue struct {
	name  string
	value uint64
}

// category names one family of argument values (prctl options, socket
// families, ...). Categories are resolved per architecture, because
// golang.org/x/sys/unix keeps some values per GOARCH.
type category int

const (
	catPrctl category = iota
	catArchPrctl
	catIoctl
	catAF
	catSockType
	catIPProto
	catNetlinkProto
	catEthP
	catSOL
	catSO
	catIP
	catIPv6
	catTCP
	catUDP
	catPacket
	catNetlinkOpt
	catICMPv6
	catFutex
	catMadv
	catFalloc
	catClone
	catSignal
	catMap
	catMremap
	catFcntl
	catMembarrier
	catIPC
	catShm
	catSem
	catMsg
	catKeyctl
	catRlimit
	catSetMM
	catPersona
	catRTM
	catNLMFlags
	catMemfd
	numCategories
)

// catXattr is an extended attribute's name, a string, not a constant.
const catXattr = numCategories + 1

// selector picks a category's constants out of x/sys/unix by prefix, with
// exclusions for the sub-value constants that share the prefix (PR_SET_MM_*
// are arguments of PR_SET_MM, not prctl options), and a preference order for
// aliases sharing a value. extra are names x/sys lacks, cited from the Linux
// uapi headers.
type selector struct {
	prefix  string
	exclude string // a regular expression, compiled when the tables are built
	max     uint64 // values above max are not of this family (0: no limit)
	min     uint64
	prefer  []string
	extra   []nameValue
	bits    bool // values are OR-ed flags
}

// selectors keep their exclusions as patterns: compiling them at start-up
// would cost every command, and every shim, which never names an argument.
var selectors = [numCategories]selector{
	catPrctl: {prefix: "PR_", max: 0x7fffffff,
		exclude: `^PR_(SET_MM_|CAP_AMBIENT_|SPEC_|FP_MODE_|MCE_KILL_[A-FH-Z]|MCE_KILL_GET_|TSC_|UNALIGN_|ENDIAN_|FPEMU_|FPEXC_|TIMING_|SVE_VL_|SVE_SET_VL_ONEXEC|SME_VL_|SME_SET_VL_ONEXEC|SCHED_CORE_|MTE_|PAC_AP|PAC_GA|TAGGED_ADDR_ENABLE|SET_PTRACER_ANY|SET_VMA_ANON_NAME|SYS_DISPATCH_|MDWE_|RISCV_|PPC_|FP_EXC_|RSEQ_SLICE_EXT_|RSEQ_SLICE_EXTENSION_|THP_DISABLE_|PMLEN_|SHADOW_STACK_|CFI_|FUTEX_HASH_|TIMER_CREATE_|GET_MEMORY_MERGE_)|^PR_(SET|GET)_.*_(ON|OFF|ENABLE|DISABLE|MASK|SHIFT|ONEXEC|INHERIT)$`,
		prefer:  []string{"PR_MCE_KILL", "PR_MCE_KILL_GET"}},
	// arch/x86/include/uapi/asm/prctl.h (x/sys/unix has none of these).
	catArchPrctl: {extra: []nameValue{
		{"ARCH_SET_GS", 0x1001}, {"ARCH_SET_FS", 0x1002}, {"ARCH_GET_FS", 0x1003}, {"ARCH_GET_GS", 0x1004},
		{"ARCH_GET_CPUID", 0x1011}, {"ARCH_SET_CPUID", 0x1012},
		{"ARCH_GET_XCOMP_SUPP", 0x1021}, {"ARCH_GET_XCOMP_PERM", 0x1022}, {"ARCH_REQ_XCOMP_PERM", 0x1023},
		{"ARCH_GET_XCOMP_GUEST_PERM", 0x1024}, {"ARCH_REQ_XCOMP_GUEST_PERM", 0x1025},
		{"ARCH_XCOMP_TILECFG", 17}, {"ARCH_XCOMP_TILEDATA", 18},
		{"ARCH_MAP_VDSO_X32", 0x2001}, {"ARCH_MAP_VDSO_32", 0x2002}, {"ARCH_MAP_VDSO_64", 0x2003},
		{"ARCH_GET_UNTAG_MASK", 0x4001}, {"ARCH_ENABLE_TAGGED_ADDR", 0x4002},
		{"ARCH_GET_MAX_TAG_BITS", 0x4003}, {"ARCH_FORCE_TAGGED_SVA", 0x4004},
		{"ARCH_SHSTK_ENABLE", 0x5001}, {"ARCH_SHSTK_DISABLE", 0x5002}, {"ARCH_SHSTK_LOCK", 0x5003},
		{"ARCH_SHSTK_UNLOCK", 0x5004}, {"ARCH_SHSTK_STATUS", 0x5005},
	}},
	catIoctl: {prefix: "", min: 0x5400,
		exclude: `^(SIOCPROTOPRIVATE|SIOCDEVPRIVATE|TCP_|TCSA|TCOO|TCIO|TCIF|TCOF|TUN_|RTC_(AF|PF|UF|IRQF|MAX)|BLKPG_|TIOCPKT_|TIOCM_|TIOCSER_|FS_IOC_.*_ENCRYPTION_.*_SIZE$)`,
		prefer: []string{"FIONREAD", "TCGETS", "TCSETS", "TIOCOUTQ", "FS_IOC_GETFLAGS", "FS_IOC_SETFLAGS",
			"FS_IOC_GETVERSION", "FS_IOC_SETVERSION", "SIOCGSTAMP", "SIOCGSTAMPNS", "TIOCGPTPEER"},
		// include/uapi/asm-generic/ioctls.h; x/sys/unix names FIONREAD TIOCINQ.
		extra: []nameValue{{"FIONREAD", 0x541b}, {"FIONBIO", 0x5421}, {"FIONCLEX", 0x5450},
			{"FIOCLEX", 0x5451}, {"FIOASYNC", 0x5452}, {"FIOQSIZE", 0x5460}, {"TIOCSERGETLSR", 0x5459},
			{"FIGETBSZ", 0x2}, {"FIBMAP", 0x1},
			// include/uapi/linux/fs.h: _IOWR('f', 11, struct fiemap), not in x/sys/unix.
			{"FS_IOC_FIEMAP", 0xc020660b}}},
	catAF: {prefix: "AF_", exclude: `^AF_MAX$`,
		prefer: []string{"AF_UNIX", "AF_NETLINK"}},
	catSockType: {prefix: "SOCK_", max: 10,
		exclude: `^SOCK_(BUF_LOCK_MASK|IOC_TYPE|RCVBUF_LOCK|SNDBUF_LOCK|TXREHASH_.*|CLOEXEC|NONBLOCK)$`},
	catIPProto: {prefix: "IPPROTO_", max: 0x106, exclude: `^IPPROTO_MAX$`,
		prefer: []string{"IPPROTO_IP"}},
	// include/uapi/linux/netlink.h protocol numbers (x/sys mixes them with socket options).
	catNetlinkProto: {prefix: "NETLINK_", max: 22,
		exclude: `^NETLINK_(ADD_MEMBERSHIP|DROP_MEMBERSHIP|PKTINFO|BROADCAST_ERROR|NO_ENOBUFS|RX_RING|TX_RING|LISTEN_ALL_NSID|LIST_MEMBERSHIPS|CAP_ACK|EXT_ACK|GET_STRICT_CHK|UNCONNECTED|CONNECTED|INET_DIAG)$`,
		prefer:  []string{"NETLINK_ROUTE", "NETLINK_SOCK_DIAG"}},
	catEthP:   {prefix: "ETH_P_"},
	catSOL:    {prefix: "SOL_", prefer: []string{"SOL_IP", "SOL_SOCKET"}, extra: []nameValue{{"SOL_UDP", 17}}},
	catSO:     {prefix: "SO_", max: 0x1000, prefer: []string{"SO_ATTACH_FILTER", "SO_DETACH_FILTER", "SO_TIMESTAMP_OLD", "SO_TIMESTAMPNS_OLD", "SO_TIMESTAMPING_OLD", "SO_RCVTIMEO_OLD", "SO_SNDTIMEO_OLD", "SO_PEERSEC"}, exclude: `^SO_(EE_|VM_|.*_MASK$|TIMESTAMP$|TIMESTAMPNS$|TIMESTAMPING$|RCVTIMEO$|SNDTIMEO$)`, extra: []nameValue{{"SO_TIMESTAMP", 29}, {"SO_TIMESTAMPNS", 35}, {"SO_TIMESTAMPING", 37}, {"SO_RCVTIMEO", 20}, {"SO_SNDTIMEO", 21}}},
	catIP:     {prefix: "IP_", max: 100, exclude: `^IP_(PMTUDISC_|DEFAULT_|MAX_|MF$|DF$|RF$|OFFMASK|MAXPACKET|MSS|OPTIONS$|UNICAST_IF_|BIND_ADDRESS_NO_PORT_)`, prefer: []string{"IP_TOS", "IP_OPTIONS"}, extra: append([]nameValue{{"IP_OPTIONS", 4}}, mcastOptions...)},
	catIPv6:   {prefix: "IPV6_", max: 100, exclude: `^IPV6_(PMTUDISC_|PREFER_SRC_|RTHDR_LOOSE|RTHDR_STRICT|RTHDR_TYPE_0|ADDR_PREFERENCES_)`, prefer: []string{"IPV6_ADD_MEMBERSHIP", "IPV6_DROP_MEMBERSHIP", "IPV6_RECVPKTINFO", "IPV6_RECVHOPLIMIT"}, extra: mcastOptions},
	catTCP:    {prefix: "TCP_", max: 100, exclude: `^TCP_(ACCECN_|MD5SIG_|MSS_|REPAIR_ON|REPAIR_OFF|REPAIR_OFF_NO_WP|QUEUE|NO_QUEUE|SEND_QUEUE|RECV_QUEUE|CM_INQ|COOKIE_|FASTOPEN_KEY_|S_DATA_|AO_|MAXWIN|MAX_WINSHIFT|MAXSEG)`, prefer: []string{"TCP_INQ"}, extra: []nameValue{{"TCP_MAXSEG", 2}}},
	catUDP:    {prefix: "UDP_", max: 200, exclude: `^UDP_ENCAP_`},
	catPacket: {prefix: "PACKET_", max: 100, exclude: `^PACKET_(HOST|BROADCAST|MULTICAST|OTHERHOST|OUTGOING|LOOPBACK|USER|KERNEL|FASTROUTE|MR_|FANOUT_)`},
	catNetlinkOpt: {extra: []nameValue{ // include/uapi/linux/netlink.h socket options
		{"NETLINK_ADD_MEMBERSHIP", 1}, {"NETLINK_DROP_MEMBERSHIP", 2}, {"NETLINK_PKTINFO", 3},
		{"NETLINK_BROADCAST_ERROR", 4}, {"NETLINK_NO_ENOBUFS", 5}, {"NETLINK_RX_RING", 6},
		{"NETLINK_TX_RING", 7}, {"NETLINK_LISTEN_ALL_NSID", 8}, {"NETLINK_LIST_MEMBERSHIPS", 9},
		{"NETLINK_CAP_ACK", 10}, {"NETLINK_EXT_ACK", 11}, {"NETLINK_GET_STRICT_CHK", 12}}},
	catICMPv6: {extra: []nameValue{{"ICMPV6_FILTER", 1}}},
	// include/uapi/linux/futex.h (x/sys/unix has none of these).
	catFutex: {extra: []nameValue{
		{"FUTEX_WAIT", 0}, {"FUTEX_WAKE", 1}, {"FUTEX_FD", 2}, {"FUTEX_REQUEUE", 3}, {"FUTEX_CMP_REQUEUE", 4},
		{"FUTEX_WAKE_OP", 5}, {"FUTEX_LOCK_PI", 6}, {"FUTEX_UNLOCK_PI", 7}, {"FUTEX_TRYLOCK_PI", 8},
		{"FUTEX_WAIT_BITSET", 9}, {"FUTEX_WAKE_BITSET", 10}, {"FUTEX_WAIT_REQUEUE_PI", 11},
		{"FUTEX_CMP_REQUEUE_PI", 12}, {"FUTEX_LOCK_PI2", 13}}},
	catMadv:   {prefix: "MADV_", prefer: []string{"MADV_NORMAL"}},
	catFalloc: {prefix: "FALLOC_FL_", bits: true, prefer: []string{"FALLOC_FL_ALLOCATE_RANGE"}},
	catClone: {prefix: "CLONE_", bits: true, exclude: `^CLONE_ARGS_`,
		prefer: []string{"CLONE_NEWTIME"}},
	catSignal: {prefix: "SIG", max: 64, exclude: `^SIG(STKSZ|EV_|_)`,
		prefer: []string{"SIGIOT", "SIGIO", "SIGCHLD", "SIGSYS"}},
	catMap: {prefix: "MAP_", bits: true, exclude: `^MAP_(TYPE|HUGE_SHIFT|HUGE_MASK|FILE)$`,
		prefer: []string{"MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE", "MAP_ANONYMOUS"}},
	catMremap: {prefix: "MREMAP_", bits: true},
	catFcntl: {prefix: "F_", max: 2048,
		exclude: `^F_(OK|ULOCK|LOCK|TLOCK|TEST|RDLCK|WRLCK|UNLCK|EXLCK|SHLCK|SEAL_|OWNER_|LINUX_SPECIFIC_BASE|RDLCK|GETLK64|SETLK64|SETLKW64)`},
	// include/uapi/linux/membarrier.h.
	catMembarrier: {extra: []nameValue{
		{"MEMBARRIER_CMD_QUERY", 0}, {"MEMBARRIER_CMD_GLOBAL", 1}, {"MEMBARRIER_CMD_GLOBAL_EXPEDITED", 2},
		{"MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED", 4}, {"MEMBARRIER_CMD_PRIVATE_EXPEDITED", 8},
		{"MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED", 16}, {"MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE", 32},
		{"MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE", 64}, {"MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ", 128},
		{"MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ", 256}, {"MEMBARRIER_CMD_GET_REGISTRATIONS", 512}}},
	// include/uapi/linux/ipc.h, shm.h, sem.h, msg.h.
	catIPC: {extra: ipcCommon},
	catShm: {extra: append([]nameValue{{"SHM_LOCK", 11}, {"SHM_UNLOCK", 12}, {"SHM_STAT", 13}, {"SHM_INFO", 14}, {"SHM_STAT_ANY", 15}}, ipcCommon...)},
	catSem: {extra: append([]nameValue{{"GETPID", 11}, {"GETVAL", 12}, {"GETALL", 13}, {"GETNCNT", 14}, {"GETZCNT", 15},
		{"SETVAL", 16}, {"SETALL", 17}, {"SEM_STAT", 18}, {"SEM_INFO", 19}, {"SEM_STAT_ANY", 20}}, ipcCommon...)},
	catMsg:    {extra: append([]nameValue{{"MSG_STAT", 11}, {"MSG_INFO", 12}, {"MSG_STAT_ANY", 13}}, ipcCommon...)},
	catKeyctl: {prefix: "KEYCTL_", exclude: `^KEYCTL_(CAPS|SUPPORTS_|MOVE_EXCL)`},
	catRlimit: {prefix: "RLIMIT_", max: 64},
	catSetMM:  {prefix: "PR_SET_MM_", max: 64},
	// include/uapi/linux/rtnetlink.h message types and netlink.h flags.
	catRTM:      {prefix: "RTM_", max: 0xff, exclude: `^RTM_(F_|BASE$|MAX$|NR_)`},
	catNLMFlags: {prefix: "NLM_F_", bits: true, prefer: []string{"NLM_F_ROOT", "NLM_F_MATCH", "NLM_F_DUMP"}},
	// include/uapi/linux/memfd.h; MFD_HUGE_* are page sizes in the high bits.
	catMemfd: {prefix: "MFD_", bits: true, exclude: `^MFD_HUGE_`},
	// include/uapi/linux/personality.h (x/sys/unix has none of these).
	catPersona: {bits: true, extra: []nameValue{
		{"PER_LINUX", 0}, {"PER_LINUX32", 0x8}, {"PER_SVR4", 0x4000001}, {"PER_BSD", 0x6}, {"PER_HPUX", 0x10},
		{"UNAME26", 0x20000}, {"ADDR_NO_RANDOMIZE", 0x40000}, {"FDPIC_FUNCPTRS", 0x80000},
		{"MMAP_PAGE_ZERO", 0x100000}, {"ADDR_COMPAT_LAYOUT", 0x200000}, {"READ_IMPLIES_EXEC", 0x400000},
		{"ADDR_LIMIT_32BIT", 0x800000}, {"SHORT_INODE", 0x1000000}, {"WHOLE_SECONDS", 0x2000000},
		{"STICKY_TIMEOUTS", 0x4000000}, {"ADDR_LIMIT_3GB", 0x8000000}}},
}

var ipcCommon = []nameValue{{"IPC_RMID", 0}, {"IPC_SET", 1}, {"IPC_STAT", 2}, {"IPC_INFO", 3}}

// ipc64 is IPC_64, which glibc ORs into the *ctl commands.
const ipc64 = 0x100

type table struct {
	byName  map[string]uint64
	byValue map[uint64]string
	flags   []nameValue // single-bit names, for OR-ed display (bits categories)
}

// Tables are built per architecture on first use (about 1 ms each).
var tablesByArch = map[sysno.Arch]func() *[numCategories]table{
	sysno.AMD64: sync.OnceValue(func() *[numCategories]table { return buildTables(constAMD64) }),
	sysno.ARM64: sync.OnceValue(func() *[numCategories]table { return buildTables(constARM64) }),
}

// tablesFor returns an architecture's tables, or nil for an unknown one.
func tablesFor(arch sysno.Arch) *[numCategories]table {
	if f, ok := tablesByArch[arch]; ok {
		return f()
	}
	return nil
}

func tableFor(arch sysno.Arch, c category) *table {
	t := tablesFor(arch)
	if t == nil {
		t = tablesFor(sysno.AMD64)
	}
	return &t[c]
}

func buildTables(archConsts []nameValue) *[numCategories]table {
	all := append(append([]nameValue{}, constCommon...), archConsts...)
	ioctl := regexp.MustCompile(ioctlName)
	var ts [numCategories]table
	for c := range ts {
		ts[c] = build(selectors[c], all, ioctl)
	}
	return &ts
}

func build(s selector, all []nameValue, ioctlName *regexp.Regexp) table {
	t := table{byName: map[string]uint64{}, byValue: map[uint64]string{}}
	var cands []nameValue
	var exclude *regexp.Regexp
	if s.exclude != "" {
		exclude = regexp.MustCompile(s.exclude)
	}
	if s.prefix != "" || s.min != 0 {
		for _, nv := range all {
			if !strings.HasPrefix(nv.name, s.prefix) || (exclude != nil && exclude.MatchString(nv.name)) {
				continue
			}
			if (s.max != 0 && nv.value > s.max) || nv.value < s.min {
				continue
			}
			if s.prefix == "" && !ioctlName.MatchString(nv.name) {
				continue
			}
			cands = append(cands, nv)
		}
	}
	cands = append(cands, s.extra...)
	rank := func(name string) int {
		for i, p := range s.prefer {
			if p == name {
				return i
			}
		}
		return len(s.prefer)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ri, rj := rank(cands[i].name), rank(cands[j].name)
		if ri != rj {
			return ri < rj
		}
		return cands[i].name < cands[j].name
	})
	for _, nv := range cands {
		if _, dup := t.byName[nv.name]; !dup {
			t.byName[nv.name] = nv.value
		}
		if _, dup := t.byValue[nv.value]; !dup {
			t.byValue[nv.value] = nv.name
		}
	}
	if s.bits {
		for v, n := range t.byValue {
			if v != 0 && v&(v-1) == 0 {
				t.flags = append(t.flags, nameValue{n, v})
			}
		}
		sort.Slice(t.flags, func(i, j int) bool { return t.flags[i].value < t.flags[j].value })
	}
	return t
}

// ioctlName matches the ioctl request families (the catIoctl selector has no
// prefix of its own).
const ioctlName = `^(TC[A-Z]|TIOC|FIO|FIC|FIB|FIG|SIOC|FS_IOC|BLK|NS_GET|PERF_EVENT_IOC|RND|TUN[A-Z]|FICLONE|FIDEDUPE|LOOP_|SECCOMP_IOCTL|UFFDIO|RTC_|PTP_|WDIOC|HIDIOC)`

// mcastOptions are the protocol-independent multicast options of
// include/uapi/linux/in.h, valid at SOL_IP and SOL_IPV6.
var mcastOptions = []nameValue{
	{"MCAST_JOIN_GROUP", 42}, {"MCAST_BLOCK_SOURCE", 43}, {"MCAST_UNBLOCK_SOURCE", 44},
	{"MCAST_LEAVE_GROUP", 45}, {"MCAST_JOIN_SOURCE_GROUP", 46}, {"MCAST_LEAVE_SOURCE_GROUP", 47},
	{"MCAST_MSFILTER", 48},
}
