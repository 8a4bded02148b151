package trace

import (
	"fmt"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Key arguments: the arguments gVisor's support depends on, and that its
// runsc reports unsupported calls by (runsc/boot/compat.go). The display
// form uses the kernel's constant names where a table has them and hex
// otherwise; values are the raw numbers rules match on.

// keyKind is how one syscall's key argument is decoded.
type keyKind int

const (
	keyNone keyKind = iota
	keyIoctl
	keyPrctl
	keySocket
	keySockopt
	keyCloneFlags  // flags in args[0]
	keyClone3      // flags in the struct at args[0]
	keyFutex       // op in args[1]
	keyMadvise     // advice in args[2]
	keyFcntl       // cmd in args[1]
	keyArchPrctl   // code in args[0]
	keyMmap        // flags in args[3]
	keyUnshareFlag // flags in args[0]
)

var keyKinds = map[string]keyKind{
	"ioctl":      keyIoctl,
	"prctl":      keyPrctl,
	"socket":     keySocket,
	"socketpair": keySocket,
	"setsockopt": keySockopt,
	"getsockopt": keySockopt,
	"clone":      keyCloneFlags,
	"clone3":     keyClone3,
	"unshare":    keyUnshareFlag,
	"futex":      keyFutex,
	"madvise":    keyMadvise,
	"fcntl":      keyFcntl,
	"arch_prctl": keyArchPrctl,
	"mmap":       keyMmap,
}

// KeyArg returns the display form and raw values of the key argument of
// syscall name called with args, or ok=false when the syscall has none.
// For clone3 pass the flags read from the clone_args struct as args[0].
func KeyArg(arch sysno.Arch, name string, args [6]uint64) (key string, values []uint64, ok bool) {
	switch keyKinds[name] {
	case keyIoctl:
		req := args[1] & 0xffffffff
		return lookup(ioctlNames, req), []uint64{req}, true
	case keyPrctl:
		op := args[0] & 0xffffffff
		return lookup(prctlNames, op), []uint64{op}, true
	case keySocket:
		dom, typ, proto := args[0]&0xffffffff, args[1]&0xf, args[2]&0xffffffff
		return lookup(afNames, dom) + "," + lookup(sockTypeNames, typ) + "," + protoName(dom, proto),
			[]uint64{dom, typ, proto}, true
	case keySockopt:
		level, opt := args[1]&0xffffffff, args[2]&0xffffffff
		return levelName(level) + "," + optName(level, opt), []uint64{level, opt}, true
	case keyCloneFlags, keyClone3, keyUnshareFlag:
		f := args[0]
		if keyKinds[name] != keyClone3 {
			f &= 0xffffffff
		}
		return flagNames(cloneFlags, f&^0xff) + exitSignal(keyKinds[name], f), []uint64{f}, true
	case keyFutex:
		op := args[1] & 0x7f // without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME
		return lookup(futexNames, op), []uint64{op}, true
	case keyMadvise:
		adv := args[2] & 0xffffffff
		return lookup(madviseNames, adv), []uint64{adv}, true
	case keyFcntl:
		cmd := args[1] & 0xffffffff
		return lookup(fcntlNames, cmd), []uint64{cmd}, true
	case keyArchPrctl:
		if arch != sysno.AMD64 {
			return "", nil, false
		}
		code := args[0] & 0xffffffff
		return lookup(archPrctlNames, code), []uint64{code}, true
	case keyMmap:
		f := args[3] & 0xffffffff
		return flagNames(mmapFlags, f), []uint64{f}, true
	}
	return "", nil, false
}

func lookup(t map[uint64]string, v uint64) string {
	if s, ok := t[v]; ok {
		return s
	}
	return fmt.Sprintf("%#x", v)
}

type flagName struct {
	bit  uint64
	name string
}

func flagNames(t []flagName, v uint64) string {
	var parts []string
	for _, f := range t {
		if v&f.bit == f.bit && f.bit != 0 {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}

// exitSignal shows clone's termination signal (low byte), as strace does.
func exitSignal(k keyKind, f uint64) string {
	if k != keyCloneFlags || f&0xff == 0 {
		return ""
	}
	if s, ok := signalNames[f&0xff]; ok {
		return "|" + s
	}
	return fmt.Sprintf("|%#x", f&0xff)
}

func protoName(dom, proto uint64) string {
	switch dom {
	case 2, 10: // AF_INET, AF_INET6
		return lookup(ipProtoNames, proto)
	case 16: // AF_NETLINK
		return lookup(netlinkNames, proto)
	}
	return fmt.Sprint(proto)
}

func levelName(l uint64) string {
	if l == 1 {
		return "SOL_SOCKET"
	}
	if s, ok := solNames[l]; ok {
		return s
	}
	return lookup(ipProtoNames, l)
}

func optName(level, opt uint64) string {
	switch level {
	case 1:
		return lookup(soNames, opt)
	case 6:
		return lookup(tcpNames, opt)
	case 0:
		return lookup(ipNames, opt)
	case 41:
		return lookup(ipv6Names, opt)
	}
	return fmt.Sprintf("%#x", opt)
}

var signalNames = map[uint64]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 9: "SIGKILL", 10: "SIGUSR1", 12: "SIGUSR2",
	14: "SIGALRM", 15: "SIGTERM", 17: "SIGCHLD",
}

var cloneFlags = []flagName{
	{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
	{0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
	{0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"}, {0x80000, "CLONE_SETTLS"},
	{0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"}, {0x400000, "CLONE_DETACHED"},
	{0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
	{0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
	{0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"},
	{0x80, "CLONE_NEWTIME"}, {0x100000000, "CLONE_CLEAR_SIGHAND"}, {0x200000000, "CLONE_INTO_CGROUP"},
}

var mmapFlags = []flagName{
	// MAP_SHARED_VALIDATE is both type bits: tested first so it is not
	// shown as MAP_SHARED|MAP_PRIVATE.
	{0x03, "MAP_SHARED_VALIDATE"}, {0x01, "MAP_SHARED"}, {0x02, "MAP_PRIVATE"}, {0x10, "MAP_FIXED"},
	{0x20, "MAP_ANONYMOUS"}, {0x100, "MAP_GROWSDOWN"}, {0x800, "MAP_DENYWRITE"}, {0x1000, "MAP_EXECUTABLE"},
	{0x2000, "MAP_LOCKED"}, {0x4000, "MAP_NORESERVE"}, {0x8000, "MAP_POPULATE"}, {0x10000, "MAP_NONBLOCK"},
	{0x20000, "MAP_STACK"}, {0x40000, "MAP_HUGETLB"}, {0x80000, "MAP_SYNC"}, {0x100000, "MAP_FIXED_NOREPLACE"},
	{0x40, "MAP_32BIT"},
}

var ioctlNames = map[uint64]string{
	0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF", 0x5409: "TCSBRK",
	0x540a: "TCXONC", 0x540b: "TCFLSH", 0x540c: "TIOCEXCL", 0x540d: "TIOCNXCL", 0x540e: "TIOCSCTTY",
	0x540f: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5411: "TIOCOUTQ", 0x5412: "TIOCSTI", 0x5413: "TIOCGWINSZ",
	0x5414: "TIOCSWINSZ", 0x5415: "TIOCMGET", 0x5416: "TIOCMBIS", 0x5417: "TIOCMBIC", 0x5418: "TIOCMSET",
	0x541b: "FIONREAD", 0x541c: "TIOCLINUX", 0x541d: "TIOCCONS", 0x5420: "TIOCPKT", 0x5421: "FIONBIO",
	0x5422: "TIOCNOTTY", 0x5423: "TIOCSETD", 0x5424: "TIOCGETD", 0x5429: "TIOCGSID", 0x5437: "TIOCVHANGUP",
	0x5450: "FIONCLEX", 0x5451: "FIOCLEX", 0x5452: "FIOASYNC", 0x5460: "FIOQSIZE",
	0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK", 0x80045432: "TIOCGDEV", 0x80045440: "TIOCGPTPEER",
	0x5441: "TIOCGPTPEER", 0x802c542a: "TCGETS2", 0x402c542b: "TCSETS2",
	0x8910: "SIOCGIFNAME", 0x8912: "SIOCGIFCONF", 0x8913: "SIOCGIFFLAGS", 0x8914: "SIOCSIFFLAGS",
	0x8915: "SIOCGIFADDR", 0x8916: "SIOCSIFADDR", 0x8919: "SIOCGIFBRDADDR", 0x891b: "SIOCGIFNETMASK",
	0x8921: "SIOCGIFMTU", 0x8927: "SIOCGIFHWADDR", 0x8933: "SIOCGIFINDEX", 0x8942: "SIOCGIFTXQLEN",
	0x8946: "SIOCETHTOOL", 0x8906: "SIOCGSTAMP", 0x890b: "SIOCADDRT", 0x890c: "SIOCDELRT",
	0x80081272: "BLKGETSIZE64", 0x1260: "BLKGETSIZE", 0x80086601: "FS_IOC_GETFLAGS",
	0x40086602: "FS_IOC_SETFLAGS", 0x40049409: "FICLONE", 0x4020940d: "FICLONERANGE",
	0xc020660b: "FS_IOC_FIEMAP",
	0xc0189436: "BTRFS_IOC_TREE_SEARCH", 0x4b3a: "KDSETMODE", 0x4b3b: "KDGETMODE", 0x5600: "VT_OPENQRY",
	0x5603: "VT_GETSTATE", 0xae00: "KVM_GET_API_VERSION", 0xae01: "KVM_CREATE_VM",
	0x4004ae86: "KVM_CHECK_EXTENSION", 0x40045436: "TIOCSIG",
}

var prctlNames = map[uint64]string{
	1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE", 4: "PR_SET_DUMPABLE",
	5: "PR_GET_UNALIGN", 6: "PR_SET_UNALIGN", 7: "PR_GET_KEEPCAPS", 8: "PR_SET_KEEPCAPS",
	9: "PR_GET_FPEMU", 10: "PR_SET_FPEMU", 11: "PR_GET_FPEXC", 12: "PR_SET_FPEXC",
	13: "PR_GET_TIMING", 14: "PR_SET_TIMING", 15: "PR_SET_NAME", 16: "PR_GET_NAME",
	19: "PR_GET_ENDIAN", 20: "PR_SET_ENDIAN", 21: "PR_GET_SECCOMP", 22: "PR_SET_SECCOMP",
	23: "PR_CAPBSET_READ", 24: "PR_CAPBSET_DROP", 25: "PR_GET_TSC", 26: "PR_SET_TSC",
	27: "PR_GET_SECUREBITS", 28: "PR_SET_SECUREBITS", 29: "PR_SET_TIMERSLACK", 30: "PR_GET_TIMERSLACK",
	31: "PR_TASK_PERF_EVENTS_DISABLE", 32: "PR_TASK_PERF_EVENTS_ENABLE", 33: "PR_MCE_KILL",
	34: "PR_MCE_KILL_GET", 35: "PR_SET_MM", 36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER",
	38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS", 40: "PR_GET_TID_ADDRESS",
	41: "PR_SET_THP_DISABLE", 42: "PR_GET_THP_DISABLE", 43: "PR_MPX_ENABLE_MANAGEMENT",
	44: "PR_MPX_DISABLE_MANAGEMENT", 45: "PR_SET_FP_MODE", 46: "PR_GET_FP_MODE", 47: "PR_CAP_AMBIENT",
	50: "PR_SVE_SET_VL", 51: "PR_SVE_GET_VL", 52: "PR_GET_SPECULATION_CTRL", 53: "PR_SET_SPECULATION_CTRL",
	54: "PR_PAC_RESET_KEYS", 55: "PR_SET_TAGGED_ADDR_CTRL", 56: "PR_GET_TAGGED_ADDR_CTRL",
	57: "PR_SET_IO_FLUSHER", 58: "PR_GET_IO_FLUSHER", 59: "PR_SET_SYSCALL_USER_DISPATCH",
	60: "PR_PAC_SET_ENABLED_KEYS", 61: "PR_PAC_GET_ENABLED_KEYS", 62: "PR_SCHED_CORE",
	63: "PR_SME_SET_VL", 64: "PR_SME_GET_VL", 65: "PR_SET_MDWE", 66: "PR_GET_MDWE",
	0x59616d61: "PR_SET_PTRACER", 0x53564d41: "PR_SET_VMA",
}

var afNames = map[uint64]string{
	0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
	9: "AF_X25", 10: "AF_INET6", 15: "AF_KEY", 16: "AF_NETLINK", 17: "AF_PACKET", 29: "AF_CAN",
	31: "AF_BLUETOOTH", 38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP", 45: "AF_MCTP",
}

var sockTypeNames = map[uint64]string{
	1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
	6: "SOCK_DCCP", 10: "SOCK_PACKET",
}

var ipProtoNames = map[uint64]string{
	0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP",
	17: "IPPROTO_UDP", 41: "IPPROTO_IPV6", 47: "IPPROTO_GRE", 58: "IPPROTO_ICMPV6",
	132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE", 255: "IPPROTO_RAW", 262: "IPPROTO_MPTCP",
}

var netlinkNames = map[uint64]string{
	0: "NETLINK_ROUTE", 2: "NETLINK_USERSOCK", 4: "NETLINK_SOCK_DIAG", 6: "NETLINK_XFRM",
	7: "NETLINK_SELINUX", 9: "NETLINK_AUDIT", 12: "NETLINK_NETFILTER", 15: "NETLINK_KOBJECT_UEVENT",
	16: "NETLINK_GENERIC",
}

var solNames = map[uint64]string{
	0: "SOL_IP", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6", 58: "SOL_ICMPV6", 255: "SOL_RAW",
	263: "SOL_PACKET", 270: "SOL_NETLINK", 274: "SOL_ALG", 282: "SOL_TLS",
}

var soNames = map[uint64]string{
	1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE", 6: "SO_BROADCAST",
	7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE", 10: "SO_OOBINLINE", 11: "SO_NO_CHECK",
	12: "SO_PRIORITY", 13: "SO_LINGER", 14: "SO_BSDCOMPAT", 15: "SO_REUSEPORT", 16: "SO_PASSCRED",
	17: "SO_PEERCRED", 18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT", 20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD",
	25: "SO_BINDTODEVICE", 26: "SO_ATTACH_FILTER", 27: "SO_DETACH_FILTER", 28: "SO_PEERNAME",
	29: "SO_TIMESTAMP_OLD", 30: "SO_ACCEPTCONN", 31: "SO_PEERSEC", 32: "SO_SNDBUFFORCE",
	33: "SO_RCVBUFFORCE", 34: "SO_PASSSEC", 35: "SO_TIMESTAMPNS_OLD", 36: "SO_MARK",
	37: "SO_TIMESTAMPING_OLD", 38: "SO_PROTOCOL", 39: "SO_DOMAIN", 40: "SO_RXQ_OVFL",
	41: "SO_WIFI_STATUS", 42: "SO_PEEK_OFF", 43: "SO_NOFCS", 44: "SO_LOCK_FILTER",
	46: "SO_BUSY_POLL", 47: "SO_MAX_PACING_RATE", 48: "SO_BPF_EXTENSIONS", 49: "SO_INCOMING_CPU",
	50: "SO_ATTACH_BPF", 51: "SO_ATTACH_REUSEPORT_CBPF", 52: "SO_ATTACH_REUSEPORT_EBPF",
	53: "SO_CNX_ADVICE", 55: "SO_MEMINFO", 56: "SO_INCOMING_NAPI_ID", 57: "SO_COOKIE",
	59: "SO_PEERGROUPS", 60: "SO_ZEROCOPY", 61: "SO_TXTIME", 62: "SO_BINDTOIFINDEX",
	66: "SO_RCVTIMEO_NEW", 67: "SO_SNDTIMEO_NEW", 76: "SO_PEERPIDFD",
}

var tcpNames = map[uint64]string{
	1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE", 5: "TCP_KEEPINTVL",
	6: "TCP_KEEPCNT", 7: "TCP_SYNCNT", 8: "TCP_LINGER2", 9: "TCP_DEFER_ACCEPT", 10: "TCP_WINDOW_CLAMP",
	11: "TCP_INFO", 12: "TCP_QUICKACK", 13: "TCP_CONGESTION", 14: "TCP_MD5SIG", 18: "TCP_USER_TIMEOUT",
	19: "TCP_REPAIR", 23: "TCP_FASTOPEN", 25: "TCP_NOTSENT_LOWAT", 30: "TCP_FASTOPEN_CONNECT",
	31: "TCP_ULP", 35: "TCP_ZEROCOPY_RECEIVE", 36: "TCP_INQ",
}

var ipNames = map[uint64]string{
	1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 4: "IP_OPTIONS", 6: "IP_RECVOPTS", 7: "IP_RETOPTS",
	8: "IP_PKTINFO", 10: "IP_MTU_DISCOVER", 11: "IP_RECVERR", 12: "IP_RECVTTL", 13: "IP_RECVTOS",
	14: "IP_MTU", 15: "IP_FREEBIND", 19: "IP_TRANSPARENT", 32: "IP_MULTICAST_IF", 33: "IP_MULTICAST_TTL",
	34: "IP_MULTICAST_LOOP", 35: "IP_ADD_MEMBERSHIP", 36: "IP_DROP_MEMBERSHIP", 49: "IP_MULTICAST_ALL",
	80: "SO_ORIGINAL_DST",
}

var ipv6Names = map[uint64]string{
	16: "IPV6_UNICAST_HOPS", 17: "IPV6_MULTICAST_IF", 18: "IPV6_MULTICAST_HOPS", 19: "IPV6_MULTICAST_LOOP",
	20: "IPV6_ADD_MEMBERSHIP", 21: "IPV6_DROP_MEMBERSHIP", 23: "IPV6_MTU_DISCOVER", 24: "IPV6_MTU",
	25: "IPV6_RECVERR", 26: "IPV6_V6ONLY", 49: "IPV6_RECVPKTINFO", 50: "IPV6_PKTINFO", 67: "IPV6_TCLASS",
}

var futexNames = map[uint64]string{
	0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE", 4: "FUTEX_CMP_REQUEUE",
	5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI", 7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI",
	9: "FUTEX_WAIT_BITSET", 10: "FUTEX_WAKE_BITSET", 11: "FUTEX_WAIT_REQUEUE_PI",
	12: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2",
}

var madviseNames = map[uint64]string{
	0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED", 4: "MADV_DONTNEED",
	8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK", 11: "MADV_DOFORK", 12: "MADV_MERGEABLE",
	13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP",
	17: "MADV_DODUMP", 18: "MADV_WIPEONFORK", 19: "MADV_KEEPONFORK", 20: "MADV_COLD",
	21: "MADV_PAGEOUT", 22: "MADV_POPULATE_READ", 23: "MADV_POPULATE_WRITE",
	24: "MADV_DONTNEED_LOCKED", 25: "MADV_COLLAPSE", 100: "MADV_HWPOISON", 101: "MADV_SOFT_OFFLINE",
}

var fcntlNames = map[uint64]string{
	0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK", 6: "F_SETLK",
	7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG", 15: "F_SETOWN_EX",
	16: "F_GETOWN_EX", 17: "F_GETOWNER_UIDS", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW",
	1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY", 1030: "F_DUPFD_CLOEXEC",
	1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS", 1034: "F_GET_SEALS",
	1035: "F_GET_RW_HINT", 1036: "F_SET_RW_HINT", 1037: "F_GET_FILE_RW_HINT", 1038: "F_SET_FILE_RW_HINT",
}

var archPrctlNames = map[uint64]string{
	0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
	0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID", 0x1021: "ARCH_GET_XCOMP_SUPP",
	0x1022: "ARCH_GET_XCOMP_PERM", 0x1023: "ARCH_REQ_XCOMP_PERM", 0x1024: "ARCH_GET_XCOMP_GUEST_PERM",
	0x1025: "ARCH_REQ_XCOMP_GUEST_PERM", 0x1031: "ARCH_XCOMP_TILECFG", 0x1032: "ARCH_XCOMP_TILEDATA",
	0x2001: "ARCH_MAP_VDSO_X32", 0x2002: "ARCH_MAP_VDSO_32", 0x2003: "ARCH_MAP_VDSO_64",
	0x4001: "ARCH_GET_UNTAG_MASK", 0x4002: "ARCH_ENABLE_TAGGED_ADDR", 0x4003: "ARCH_GET_MAX_TAG_BITS",
	0x4004: "ARCH_FORCE_TAGGED_SVA", 0x5001: "ARCH_SHSTK_ENABLE", 0x5002: "ARCH_SHSTK_DISABLE",
	0x5003: "ARCH_SHSTK_LOCK", 0x5004: "ARCH_SHSTK_UNLOCK", 0x5005: "ARCH_SHSTK_STATUS",
}

// pathSyscalls maps syscalls with a path argument to its index. The tracer
// keeps paths under /proc, /sys and /dev, the trees gVisor synthesises.
var pathSyscalls = map[string]int{
	"open": 0, "openat": 1, "openat2": 1, "stat": 0, "lstat": 0, "newfstatat": 1, "statx": 1,
	"access": 0, "faccessat": 1, "faccessat2": 1, "readlink": 0, "readlinkat": 1,
	"execve": 0, "execveat": 1, "creat": 0,
}

func interestingPath(p string) bool {
	for _, pre := range []string{"/proc", "/sys", "/dev"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}
