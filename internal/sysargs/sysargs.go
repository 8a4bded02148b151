package sysargs

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Values that matter only as flags ORed into a key argument.
const (
	futexPrivateFlag    = 128 // FUTEX_PRIVATE_FLAG
	futexClockRealtime  = 256 // FUTEX_CLOCK_REALTIME
	sockTypeMask        = 0xf // SOCK_TYPE_MASK; the rest is SOCK_CLOEXEC|SOCK_NONBLOCK
	prSetMM             = 35  // PR_SET_MM: its sub-option (arg 2) is part of the key
	afINET, afINET6     = 2, 10
	afNetlink, afPacket = 16, 17
	solSocket           = 1
	personaQuery        = 0xffffffff // personality(0xffffffff) reads the personality
)

// Namespace flags of clone/unshare/setns (include/uapi/linux/sched.h).
const (
	cloneNewTime   = 0x80
	cloneNewNS     = 0x20000
	cloneNewCgroup = 0x2000000
	cloneNewUTS    = 0x4000000
	cloneNewIPC    = 0x8000000
	cloneNewUser   = 0x10000000
	cloneNewPID    = 0x20000000
	cloneNewNet    = 0x40000000
	// CLONE_NEWTIME shares its bit with the exit signal in clone(2), so it
	// only counts for clone3 and unshare.
	cloneNSMask = cloneNewNS | cloneNewCgroup | cloneNewUTS | cloneNewIPC | cloneNewUser | cloneNewPID | cloneNewNet
)

// mmap flags gVisor ignores or rejects (mm semantics differ), plus the
// MAP_SHARED_VALIDATE type; see the rules package for what each means.
const (
	mapTypeMask       = 0x3
	mapSharedValidate = 0x3
	mapInteresting    = 0x40 /* MAP_32BIT on amd64 */ | 0x100 /* GROWSDOWN */ | 0x2000 /* LOCKED */ |
		0x10000 /* NONBLOCK */ | 0x40000 /* HUGETLB */ | 0x80000 /* SYNC */ | 0x100000 /* FIXED_NOREPLACE */ |
		0x4000000 /* UNINITIALIZED */ | 0x3f<<26 /* MAP_HUGE_* size */
)

// memfd_create flags other than MFD_CLOEXEC and MFD_ALLOW_SEALING, which
// every gVisor version accepts, and the MFD_HUGE_* page size, which only
// qualifies MFD_HUGETLB: a plain memfd does not stop the fast filter.
const mfdFlags = m32 &^ (0x1 | 0x2 | 0x3f<<26)

// args abstracts over raw registers and strace's text, so that each
// syscall's key is defined once for both.
type args interface {
	// value is positional argument i, read as a value of category c.
	value(i int, c category) (uint64, bool)
	// named is the field strace prints as "name=..." (clone's flags, the
	// flags of clone3's struct); for registers it is argument i.
	named(name string, i int, c category) (uint64, bool)
	// null reports whether pointer argument i is NULL.
	null(i int) bool
	// netlinkProto is the protocol of the netlink socket a message is
	// sent to: from registers FromTracee filled, or, in strace's text,
	// NETLINK_ROUTE when it names the message type RTM_*.
	netlinkProto() (uint64, bool)
}

type keyFunc func(arch sysno.Arch, a args) (string, []uint64, bool)

func enum(i int, c category) keyFunc {
	return func(arch sysno.Arch, a args) (string, []uint64, bool) {
		v, ok := a.value(i, c)
		if !ok {
			return "", nil, false
		}
		return enumName(arch, c, v), []uint64{v}, true
	}
}

// bits keys on the flags in mask (all when mask is 0); nonzero requires
// at least one of them.
func bits(i int, c category, mask uint64, named string, nonzero bool) keyFunc {
	return func(arch sysno.Arch, a args) (string, []uint64, bool) {
		var v uint64
		var ok bool
		if named != "" {
			v, ok = a.named(named, i, c)
		} else {
			v, ok = a.value(i, c)
		}
		if !ok {
			return "", nil, false
		}
		if mask != 0 {
			v &= mask
		}
		if nonzero && v == 0 {
			return "", nil, false
		}
		return flagsName(arch, c, v), []uint64{v}, true
	}
}

func ipcCmd(i int, c category) keyFunc {
	return func(arch sysno.Arch, a args) (string, []uint64, bool) {
		v, ok := a.value(i, c)
		if !ok {
			return "", nil, false
		}
		v &^= ipc64
		return enumName(arch, c, v), []uint64{v}, true
	}
}

var keys = map[string]keyFunc{
	"prctl": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		opt, ok := a.value(0, catPrctl)
		if !ok {
			return "", nil, false
		}
		opt &= 0xffffffff
		if opt == prSetMM {
			if sub, ok := a.value(1, catSetMM); ok {
				sub &= 0xffffffff
				return enumName(arch, catPrctl, opt) + "," + enumName(arch, catSetMM, sub), []uint64{opt, sub}, true
			}
		}
		return enumName(arch, catPrctl, opt), []uint64{opt}, true
	},
	"arch_prctl": enum(0, catArchPrctl),
	"ioctl": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		v, ok := a.value(1, catIoctl)
		if !ok {
			return "", nil, false
		}
		v &= 0xffffffff // the request is an unsigned int
		return enumName(arch, catIoctl, v), []uint64{v}, true
	},
	"socket":     socketKey,
	"socketpair": socketKey,
	"setsockopt": sockoptKey,
	"getsockopt": sockoptKey,
	"futex": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		v, ok := a.value(1, catFutex)
		if !ok {
			return "", nil, false
		}
		v &^= futexPrivateFlag | futexClockRealtime
		v &= 0xffffffff
		return enumName(arch, catFutex, v), []uint64{v}, true
	},
	"madvise":      enum(2, catMadv),
	"fallocate":    bits(1, catFalloc, 0, "", false),
	"clone":        bits(0, catClone, cloneNSMask, "flags", true),
	"clone3":       bits(0, catClone, cloneNSMask|cloneNewTime, "flags", true),
	"unshare":      bits(0, catClone, 0, "", true),
	"setns":        bits(1, catClone, 0, "", false),
	"mremap":       bits(3, catMremap, 0, "", true),
	"memfd_create": bits(1, catMemfd, mfdFlags, "", true),
	"fcntl":        enum(1, catFcntl),
	"membarrier":   enum(0, catMembarrier),
	"shmctl":       ipcCmd(1, catShm),
	"semctl":       ipcCmd(2, catSem),
	"msgctl":       ipcCmd(1, catMsg),
	"keyctl":       enum(0, catKeyctl),
	"setrlimit":    enum(0, catRlimit),
	"prlimit64": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		if a.null(2) { // only setting a limit is argument-sensitive
			return "", nil, false
		}
		return enum(1, catRlimit)(arch, a)
	},
	"personality": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		v, ok := a.value(0, catPersona)
		v &= m32
		if !ok || v == personaQuery {
			return "", nil, false // a query changes nothing
		}
		// The low byte is a personality number, the rest flags.
		d := enumName(arch, catPersona, v&0xff)
		if v&0xff == 0 {
			d = "PER_LINUX"
		}
		if f := v &^ 0xff; f != 0 {
			d += "|" + flagsName(arch, catPersona, f)
		}
		return d, []uint64{v}, true
	},
	"sendto": netlinkMessage, "sendmsg": netlinkMessage,
	"setxattr": xattrName, "lsetxattr": xattrName, "fsetxattr": xattrName,
	"removexattr": xattrName, "lremovexattr": xattrName, "fremovexattr": xattrName,
	"mmap": func(arch sysno.Arch, a args) (string, []uint64, bool) {
		f, ok := a.value(3, catMap)
		if !ok {
			return "", nil, false
		}
		k := f & mapInteresting
		if arch != sysno.AMD64 {
			k &^= 0x40
		}
		if f&mapTypeMask == mapSharedValidate {
			k |= mapSharedValidate
		}
		if k == 0 {
			return "", nil, false
		}
		return flagsName(arch, catMap, k), []uint64{k}, true
	},
}

func socketKey(arch sysno.Arch, a args) (string, []uint64, bool) {
	dom, ok1 := a.value(0, catAF)
	typ, ok2 := a.value(1, catSockType)
	if !ok1 || !ok2 {
		return "", nil, false
	}
	pc := protoCategory(dom)
	proto, ok3 := a.value(2, pc)
	if !ok3 {
		return "", nil, false
	}
	dom &= 0xffffffff
	typ &= sockTypeMask
	proto &= 0xffffffff
	d := enumName(arch, catAF, dom) + "," + enumName(arch, catSockType, typ)
	if proto != 0 {
		d += "," + protoName(arch, dom, proto)
	}
	return d, []uint64{dom, typ, proto}, true
}

func protoCategory(dom uint64) category {
	switch dom {
	case afINET, afINET6:
		return catIPProto
	case afNetlink:
		return catNetlinkProto
	case afPacket:
		return catEthP
	}
	return catIPProto
}

func protoName(arch sysno.Arch, dom, proto uint64) string {
	if dom == afPacket { // the protocol is an ethertype in network byte order
		if n, ok := tableFor(arch, catEthP).byValue[swap16(proto)]; ok && proto <= 0xffff {
			return "htons(" + n + ")"
		}
		return hex(proto)
	}
	if dom == afINET || dom == afINET6 || dom == afNetlink {
		return enumName(arch, protoCategory(dom), proto)
	}
	return hex(proto)
}

func sockoptKey(arch sysno.Arch, a args) (string, []uint64, bool) {
	level, ok := a.value(1, catSOL)
	if !ok {
		return "", nil, false
	}
	level &= 0xffffffff
	oc := optCategory(level)
	opt, ok := a.value(2, oc)
	if !ok {
		return "", nil, false
	}
	opt &= 0xffffffff
	return enumName(arch, catSOL, level) + "," + enumName(arch, oc, opt), []uint64{level, opt}, true
}

// optCategory maps a socket option level to its option names.
func optCategory(level uint64) category {
	switch level {
	case solSocket:
		return catSO
	case 0:
		return catIP
	case 6:
		return catTCP
	case 17:
		return catUDP
	case 41:
		return catIPv6
	case 58, 255: // SOL_ICMPV6, SOL_RAW
		return catICMPv6
	case 263:
		return catPacket
	case 270:
		return catNetlinkOpt
	}
	return numCategories // no names: numbers only
}

// Syscalls lists the syscalls with a key argument.
func Syscalls() []string {
	out := make([]string, 0, len(keys))
	for n := range keys {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Sensitive reports whether name has a key argument.
func Sensitive(name string) bool {
	_, ok := keys[name]
	return ok
}

// KeyFromRegs returns the key of an argument-sensitive syscall from its raw
// arguments: a display form ("PR_SET_MM,PR_SET_MM_START_CODE",
// "AF_PACKET,SOCK_RAW", "SOL_SOCKET,SO_ATTACH_BPF") and the values it stands
// for. ok is false for syscalls without a key, or calls whose key is
// uninteresting (clone without namespace flags, mmap with ordinary flags).
func KeyFromRegs(arch sysno.Arch, name string, a [6]uint64) (display string, values []uint64, ok bool) {
	k, found := keys[name]
	if !found {
		return "", nil, false
	}
	return k(arch, regs(a))
}

type regs [6]uint64

func (r regs) value(i int, _ category) (uint64, bool) { return r[i], true }
func (r regs) named(_ string, i int, _ category) (uint64, bool) {
	return r[i], true
}
func (r regs) null(i int) bool { return r[i] == 0 }
func (r regs) netlinkProto() (uint64, bool) {
	if r[0] == 0 {
		return 0, false
	}
	return r[0] - 1, true
}

func enumName(arch sysno.Arch, c category, v uint64) string {
	if c < numCategories {
		if n, ok := tableFor(arch, c).byValue[v]; ok {
			return n
		}
	}
	return hex(v)
}

func flagsName(arch sysno.Arch, c category, v uint64) string {
	if v == 0 {
		return "0"
	}
	t := tableFor(arch, c)
	var parts []string
	rest := v
	for _, f := range t.flags {
		if rest&f.value != 0 {
			parts = append(parts, f.name)
			rest &^= f.value
		}
	}
	if rest != 0 {
		parts = append(parts, hex(rest))
	}
	return strings.Join(parts, "|")
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func swap16(v uint64) uint64 { return (v&0xff)<<8 | (v>>8)&0xff }

// Value returns the value of a Linux constant name used in key arguments
// (any family: "PR_SET_MM", "TIOCSTI", "SO_ATTACH_BPF", "FUTEX_LOCK_PI").
func Value(arch sysno.Arch, name string) (uint64, bool) {
	t := tablesFor(arch)
	if t == nil {
		return 0, false
	}
	for c := range t {
		if v, ok := t[c].byName[name]; ok {
			return v, true
		}
	}
	v, ok := parseOnly[name]
	return v, ok
}

// ArgSpec says where one key value comes from among the raw arguments:
// value = args[Arg] & Mask. It lets a seccomp filter test the same values.
type ArgSpec struct {
	Arg  int
	Mask uint64
}

const m32 = 0xffffffff

var keyArgs = map[string][]ArgSpec{
	"prctl": {{0, m32}, {1, m32}}, "arch_prctl": {{0, m32}}, "ioctl": {{1, m32}},
	"socket": {{0, m32}, {1, sockTypeMask}, {2, m32}}, "socketpair": {{0, m32}, {1, sockTypeMask}, {2, m32}},
	"setsockopt": {{1, m32}, {2, m32}}, "getsockopt": {{1, m32}, {2, m32}},
	"futex": {{1, m32 &^ (futexPrivateFlag | futexClockRealtime)}}, "madvise": {{2, m32}},
	"fallocate": {{1, m32}}, "clone": {{0, cloneNSMask}}, "unshare": {{0, m32}}, "setns": {{1, m32}},
	"mremap": {{3, m32}}, "memfd_create": {{1, mfdFlags}}, "fcntl": {{1, m32}}, "membarrier": {{0, m32}},
	"shmctl": {{1, m32 &^ ipc64}}, "semctl": {{2, m32 &^ ipc64}}, "msgctl": {{1, m32 &^ ipc64}},
	"keyctl": {{0, m32}}, "setrlimit": {{0, m32}}, "prlimit64": {{1, m32}},
	"mmap": {{3, mapInteresting | mapTypeMask}}, "personality": {{0, m32}},
}

// KeyArgs returns where the key values of name come from in registers; ok
// is false when they come from memory (MemoryKeyOf) or name has no key.
func KeyArgs(name string) ([]ArgSpec, bool) {
	s, ok := keyArgs[name]
	return s, ok
}
