package gvisor

import (
	"fmt"
	"strconv"
	"strings"
)

// Key arguments of argument-sensitive syscalls, as gVisor keys its
// "Unsupported syscall" reports (runsc/boot/compat.go): prctl and arch_prctl
// by option, ioctl/fcntl/futex/epoll_ctl/shmctl/fallocate by their second
// argument, get/setsockopt by level and name, semctl by command; socket by
// family, type and protocol.

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
	0x59616d61: "PR_SET_PTRACER", 0x41555856: "PR_SET_VMA",
}

var archPrctlNames = map[uint64]string{
	0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
	0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID",
	0x1021: "ARCH_GET_XCOMP_SUPP", 0x1022: "ARCH_GET_XCOMP_PERM", 0x1023: "ARCH_REQ_XCOMP_PERM",
	0x2001: "ARCH_MAP_VDSO_X32", 0x2002: "ARCH_MAP_VDSO_32", 0x2003: "ARCH_MAP_VDSO_64",
	0x4001: "ARCH_GET_UNTAG_MASK", 0x4002: "ARCH_ENABLE_TAGGED_ADDR", 0x4003: "ARCH_GET_MAX_TAG_BITS",
	0x4004: "ARCH_FORCE_TAGGED_SVA", 0x5001: "ARCH_SHSTK_ENABLE", 0x5002: "ARCH_SHSTK_DISABLE",
	0x5003: "ARCH_SHSTK_LOCK", 0x5004: "ARCH_SHSTK_UNLOCK", 0x5005: "ARCH_SHSTK_STATUS",
}

var ioctlNames = map[uint64]string{
	0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF", 0x540b: "TCFLSH",
	0x540e: "TIOCSCTTY", 0x540f: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5413: "TIOCGWINSZ",
	0x5414: "TIOCSWINSZ", 0x541b: "FIONREAD", 0x5421: "FIONBIO", 0x5422: "TIOCNOTTY",
	0x5429: "TIOCGSID", 0x5450: "FIONCLEX", 0x5451: "FIOCLEX", 0x5452: "FIOASYNC",
	0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK", 0x5441: "TIOCGPTPEER",
	0x8912: "SIOCGIFCONF", 0x8913: "SIOCGIFFLAGS", 0x8915: "SIOCGIFADDR", 0x8921: "SIOCGIFMTU",
	0x8927: "SIOCGIFHWADDR", 0x8933: "SIOCGIFINDEX", 0x8910: "SIOCGIFNAME",
	0x8914: "SIOCSIFFLAGS", 0x8916: "SIOCSIFADDR", 0x8919: "SIOCGIFBRDADDR", 0x891b: "SIOCGIFNETMASK",
	0x8922: "SIOCSIFMTU", 0x8924: "SIOCSIFHWADDR", 0x8942: "SIOCGIFPFLAGS", 0x8946: "SIOCETHTOOL",
	0x89f0: "SIOCGIFTUNNEL", 0x5412: "TIOCSTI", 0x540a: "TCXONC", 0x5409: "TCSBRK",
	0x80086601: "FS_IOC_GETFLAGS", 0x40086602: "FS_IOC_SETFLAGS", 0x9408: "BTRFS_IOC_CLONE",
	0x40049409: "FICLONE", 0xc020660b: "FS_IOC_FIEMAP",
}

var sockLevelNames = map[uint64]string{
	0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6",
	58: "SOL_ICMPV6", 255: "SOL_RAW", 263: "SOL_PACKET", 270: "SOL_NETLINK",
}

var afValues = map[string]uint64{
	"AF_UNSPEC": 0, "AF_UNIX": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4, "AF_APPLETALK": 5,
	"AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9, "AF_INET6": 10, "AF_ROSE": 11,
	"AF_DECnet": 12, "AF_NETBEUI": 13, "AF_SECURITY": 14, "AF_KEY": 15, "AF_NETLINK": 16,
	"AF_PACKET": 17, "AF_ASH": 18, "AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21, "AF_SNA": 22,
	"AF_IRDA": 23, "AF_PPPOX": 24, "AF_WANPIPE": 25, "AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28,
	"AF_CAN": 29, "AF_TIPC": 30, "AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34,
	"AF_PHONET": 35, "AF_IEEE802154": 36, "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39, "AF_VSOCK": 40,
	"AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43, "AF_XDP": 44, "AF_MCTP": 45,
}

var sockTypeValues = map[string]uint64{
	"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5,
	"SOCK_DCCP": 6, "SOCK_PACKET": 10,
}

// keyOf returns the display form and raw values of a call's key argument,
// from the arguments as gVisor's strace prints them.
func keyOf(name string, args []string) (string, []uint64) {
	arg := func(i int) (uint64, bool) {
		if i >= len(args) {
			return 0, false
		}
		return parseNum(args[i])
	}
	switch name {
	case "prctl":
		if v, ok := arg(0); ok {
			return named(prctlNames, v), []uint64{v}
		}
	case "arch_prctl":
		if v, ok := arg(0); ok {
			return named(archPrctlNames, v), []uint64{v}
		}
	case "ioctl":
		if v, ok := arg(1); ok {
			v &= 0xffffffff // the kernel compares the request as an int
			return named(ioctlNames, v), []uint64{v}
		}
	case "fcntl", "epoll_ctl", "shmctl", "fallocate":
		if v, ok := arg(1); ok {
			return fmt.Sprintf("%#x", v), []uint64{v}
		}
	case "futex":
		// gVisor prints futex ops symbolically ("FUTEX_WAIT|FUTEX_PRIVATE_FLAG").
		if len(args) > 1 {
			op := strings.TrimSuffix(strings.ReplaceAll(args[1], "|FUTEX_PRIVATE_FLAG", ""), "|FUTEX_CLOCK_REALTIME")
			return op, nil
		}
	case "semctl":
		if v, ok := arg(2); ok {
			return fmt.Sprintf("%#x", v), []uint64{v}
		}
	case "getsockopt", "setsockopt":
		if len(args) > 2 {
			lv, lok := parseNumOrName(args[1], sockLevelNames)
			nm, nok := parseNum(args[2])
			if lok && nok {
				return named(sockLevelNames, lv) + ":" + args[2], []uint64{lv, nm}
			}
			return args[1] + ":" + args[2], nil
		}
	case "socket", "socketpair":
		if len(args) > 2 {
			fam := args[0]
			typ, _, _ := strings.Cut(args[1], "|")
			var vals []uint64
			if f, ok := afValues[fam]; ok {
				vals = append(vals, f)
				if t, ok := sockTypeValues[typ]; ok {
					vals = append(vals, t)
				}
			}
			return fam + "," + typ + "," + args[2], vals
		}
	}
	return "", nil
}

func named(names map[uint64]string, v uint64) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("%#x", v)
}

// parseNum reads a printed number ("0x5401", "21", "0x3 /dev/tty").
func parseNum(s string) (uint64, bool) {
	s, _, _ = strings.Cut(s, " ")
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		if n, err2 := strconv.ParseInt(s, 0, 64); err2 == nil {
			return uint64(n), true
		}
		return 0, false
	}
	return v, true
}

// parseNumOrName reads a number or a symbolic name from names.
func parseNumOrName(s string, names map[uint64]string) (uint64, bool) {
	if v, ok := parseNum(s); ok {
		return v, true
	}
	for v, n := range names {
		if n == s {
			return v, true
		}
	}
	return 0, false
}
