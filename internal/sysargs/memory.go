package sysargs

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// MemoryKey says where the key of a syscall lives when it is not (only) in
// registers: clone3's flags in struct clone_args, the name of an extended
// attribute, the first message a netlink socket is sent. A tracer gives
// FromTracee its view of the calling process; FromTracee puts what the key
// needs in the registers KeyFromRegs reads.
type MemoryKey struct {
	Kind MemoryKind
	Arg  int // the register that points to it
	Size int // bytes to read there (MemoryU64, MemoryString)
}

// MemoryKind is how a key is found in the process.
type MemoryKind int

const (
	// MemoryU64: the little-endian u64 Arg points to.
	MemoryU64 MemoryKind = iota + 1
	// MemoryString: the first Size bytes of the string Arg points to.
	MemoryString
	// MemoryNetlink: the header of the first netlink message a sendto (its
	// buffer) or sendmsg (its first iovec) sends, when the socket is a
	// netlink socket. The registers become the socket's protocol plus one,
	// the message type and its flags; 0 in the first when there is no
	// netlink message.
	MemoryNetlink
)

// xattrNameBytes is how much of an attribute's name decides its key: enough
// for "security.capability" and its NUL.
const xattrNameBytes = 24

var memoryKeys = map[string]MemoryKey{
	"clone3": {Kind: MemoryU64, Arg: 0, Size: 8},
	// The calls that write an extended attribute; gVisor refuses some
	// namespaces (security.*) that Linux accepts.
	"setxattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes}, "lsetxattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes},
	"fsetxattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes}, "removexattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes},
	"lremovexattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes}, "fremovexattr": {Kind: MemoryString, Arg: 1, Size: xattrNameBytes},
	// Requests to a netlink socket: gVisor answers only some route
	// messages.
	"sendto": {Kind: MemoryNetlink, Arg: 1}, "sendmsg": {Kind: MemoryNetlink, Arg: 1},
}

// MemoryKeyOf reports where the key of name lives in the process; ok is
// false when it lives in registers or name has no key.
func MemoryKeyOf(name string) (MemoryKey, bool) {
	mk, ok := memoryKeys[name]
	return mk, ok
}

// NeedsMemory reports whether the key of name is read from the process.
func NeedsMemory(name string) bool {
	_, ok := memoryKeys[name]
	return ok
}

// Tracee is what a tracer can look up in the process that makes a call.
type Tracee interface {
	// Read returns n bytes at addr, fewer where the mapping ends, nil when
	// nothing can be read.
	Read(addr uintptr, n int) []byte
	// NetlinkProtocol returns the protocol of the netlink socket fd, ok
	// false when fd is not one (or cannot be looked at).
	NetlinkProtocol(fd int) (protocol uint64, ok bool)
}

// FromTracee returns the registers KeyFromRegs reads for a call of name
// with arguments args: args itself, or, for a key in the process (see
// MemoryKeyOf), args with what the key needs read from t.
func FromTracee(name string, args [6]uint64, t Tracee) [6]uint64 {
	mk, ok := memoryKeys[name]
	if !ok {
		return args
	}
	if mk.Kind == MemoryNetlink {
		return netlinkRegs(name, args, t)
	}
	var b []byte
	if args[mk.Arg] != 0 {
		b = t.Read(uintptr(args[mk.Arg]), mk.Size)
	}
	if mk.Kind == MemoryU64 && len(b) < mk.Size {
		b = nil
	}
	args[mk.Arg] = FromMemory(name, b)
	return args
}

// FromMemory turns the bytes read for name's MemoryU64 or MemoryString key
// (nil when they could not be read) into the value KeyFromRegs expects in
// the key's register.
func FromMemory(name string, b []byte) uint64 {
	mk, ok := memoryKeys[name]
	if !ok || b == nil {
		return 0
	}
	switch mk.Kind {
	case MemoryU64:
		var v [8]byte
		copy(v[:], b)
		return binary.LittleEndian.Uint64(v[:])
	case MemoryString:
		s, complete := b, false
		if i := bytes.IndexByte(b, 0); i >= 0 {
			s, complete = b[:i], true
		}
		_, v, _ := xattrKey(string(s), complete)
		return v
	}
	return 0
}

// Extended attribute namespaces, the key of the calls that write one. 0 is
// a name in no namespace Linux knows (it refuses those too).
const (
	xattrUser uint64 = 1 + iota
	xattrTrusted
	xattrSecurity
	xattrSystem
	xattrSecurityCapability // security.capability, file capabilities, which gVisor may accept apart
)

var xattrNamespaces = []struct {
	prefix  string
	value   uint64
	display string
}{
	{"user.", xattrUser, "user.*"},
	{"trusted.", xattrTrusted, "trusted.*"},
	{"security.", xattrSecurity, "security.*"},
	{"system.", xattrSystem, "system.*"},
}

const securityCapability = "security.capability"

// xattrKey classifies an attribute name; complete says the whole name is
// there (a name cut at the bytes read is only known by its prefix).
func xattrKey(name string, complete bool) (string, uint64, bool) {
	if complete && name == securityCapability {
		return securityCapability, xattrSecurityCapability, true
	}
	for _, ns := range xattrNamespaces {
		if strings.HasPrefix(name, ns.prefix) {
			return ns.display, ns.value, true
		}
	}
	return "", 0, false
}

// XattrKey returns the key of the calls that write the extended attribute
// name ("security.selinux" → "security.*"); the rules name theirs with it.
func XattrKey(name string) (display string, values []uint64, ok bool) {
	d, v, ok := xattrKey(name, true)
	if !ok {
		return "", nil, false
	}
	return d, []uint64{v}, true
}

func xattrDisplay(v uint64) (string, bool) {
	if v == xattrSecurityCapability {
		return securityCapability, true
	}
	for _, ns := range xattrNamespaces {
		if ns.value == v {
			return ns.display, true
		}
	}
	return "", false
}

// xattrName keys the calls that write an attribute by its name's namespace:
// from registers the tracer has put FromMemory's value in place of the
// pointer; from strace's text the name is the quoted string.
func xattrName(_ sysno.Arch, a args) (string, []uint64, bool) {
	v, ok := a.value(1, catXattr)
	if !ok {
		return "", nil, false
	}
	d, ok := xattrDisplay(v)
	if !ok {
		return "", nil, false
	}
	return d, []uint64{v}, true
}

// Netlink message headers (include/uapi/linux/netlink.h).
const (
	nlmsgHdrLen  = 16
	nlmsgMinType = 0x10 // types below are control messages (NLMSG_NOOP, NLMSG_ERROR, ...)
	nlmFDump     = 0x300
)

// netlinkRegs reads the header of the first netlink message a sendto or
// sendmsg sends. The socket is only looked at when the bytes read as a
// plausible request, so that ordinary sends cost one small read.
func netlinkRegs(name string, args [6]uint64, t Tracee) [6]uint64 {
	fd := int(int32(args[0]))
	addr, size := args[1], args[2]
	if name == "sendmsg" {
		// struct msghdr: msg_iov at 16, msg_iovlen at 24; struct iovec:
		// iov_base, iov_len.
		mh := t.Read(uintptr(args[1]), 32)
		if len(mh) < 32 || binary.LittleEndian.Uint64(mh[24:]) == 0 {
			return noNetlink(args)
		}
		iov := t.Read(uintptr(binary.LittleEndian.Uint64(mh[16:])), 16)
		if len(iov) < 16 {
			return noNetlink(args)
		}
		addr, size = binary.LittleEndian.Uint64(iov), binary.LittleEndian.Uint64(iov[8:])
	}
	if addr == 0 || size < nlmsgHdrLen {
		return noNetlink(args)
	}
	h := t.Read(uintptr(addr), nlmsgHdrLen)
	if len(h) < nlmsgHdrLen {
		return noNetlink(args)
	}
	length := uint64(binary.LittleEndian.Uint32(h))
	typ := uint64(binary.LittleEndian.Uint16(h[4:]))
	flags := uint64(binary.LittleEndian.Uint16(h[6:]))
	if length < nlmsgHdrLen || length > size || typ < nlmsgMinType {
		return noNetlink(args)
	}
	proto, ok := t.NetlinkProtocol(fd)
	if !ok {
		return noNetlink(args)
	}
	args[0], args[1], args[2] = proto+1, typ, flags
	return args
}

func noNetlink(args [6]uint64) [6]uint64 {
	args[0], args[1], args[2] = 0, 0, 0
	return args
}

// netlinkProtoRoute is NETLINK_ROUTE, the only protocol whose messages are
// keyed: gVisor answers some of its message types and refuses the rest.
const netlinkProtoRoute = 0

// netlinkMessage keys a request to a NETLINK_ROUTE socket by its message
// type and, for the GET types, whether it asks for a dump (Linux and gVisor
// answer dumps and single requests apart): "NETLINK_ROUTE,RTM_GETRULE,
// NLM_F_DUMP" with values {0, 0x22, 1}.
func netlinkMessage(arch sysno.Arch, a args) (string, []uint64, bool) {
	proto, ok := a.netlinkProto()
	if !ok || proto != netlinkProtoRoute {
		return "", nil, false
	}
	typ, ok1 := a.named("nlmsg_type", 1, catRTM)
	flags, ok2 := a.named("nlmsg_flags", 2, catNLMFlags)
	if !ok1 || !ok2 || typ < nlmsgMinType || typ > 0xffff {
		return "", nil, false
	}
	d := "NETLINK_ROUTE," + enumName(arch, catRTM, typ)
	var dump uint64
	if typ%4 == 2 && flags&nlmFDump != 0 { // a GET type: rtnetlink's RTNL_KIND_GET
		d += ",NLM_F_DUMP"
		dump = 1
	}
	return d, []uint64{netlinkProtoRoute, typ, dump}, true
}
