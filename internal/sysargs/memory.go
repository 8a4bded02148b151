package sysargs

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// MemoryKey says where the key of a syscall lives when it is not in a
// register but in the memory one points to: clone3's flags in struct
// clone_args, the name of an extended attribute. A tracer reads Size bytes
// at args[Arg] (a string stops at its NUL), hands them to FromMemory, and
// puts the result in args[Arg] before calling KeyFromRegs.
type MemoryKey struct {
	Arg    int
	Size   int
	String bool
}

// xattrNameBytes is how much of an attribute's name decides its key: enough
// for "security.capability" and its NUL.
const xattrNameBytes = 24

var memoryKeys = map[string]MemoryKey{
	"clone3": {Arg: 0, Size: 8},
	// The calls that write an extended attribute; gVisor refuses some
	// namespaces (security.*) that Linux accepts.
	"setxattr": {Arg: 1, Size: xattrNameBytes, String: true}, "lsetxattr": {Arg: 1, Size: xattrNameBytes, String: true},
	"fsetxattr": {Arg: 1, Size: xattrNameBytes, String: true}, "removexattr": {Arg: 1, Size: xattrNameBytes, String: true},
	"lremovexattr": {Arg: 1, Size: xattrNameBytes, String: true}, "fremovexattr": {Arg: 1, Size: xattrNameBytes, String: true},
}

// MemoryKeyOf reports where the key of name lives in memory; ok is false
// when it lives in registers or name has no key.
func MemoryKeyOf(name string) (MemoryKey, bool) {
	mk, ok := memoryKeys[name]
	return mk, ok
}

// NeedsMemory reports whether the key of name lives in tracee memory.
func NeedsMemory(name string) bool {
	_, ok := memoryKeys[name]
	return ok
}

// FromMemory turns the bytes read for name's memory key (nil when they could
// not be read) into the value KeyFromRegs expects in the key's register.
func FromMemory(name string, b []byte) uint64 {
	mk, ok := memoryKeys[name]
	if !ok || b == nil {
		return 0
	}
	if !mk.String {
		var v [8]byte
		copy(v[:], b)
		return binary.LittleEndian.Uint64(v[:])
	}
	s, complete := b, false
	if i := bytes.IndexByte(b, 0); i >= 0 {
		s, complete = b[:i], true
	}
	_, v, _ := xattrKey(string(s), complete)
	return v
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

// WithMemory returns args with name's memory key, if it has one, read
// through read (n bytes at addr, fewer where memory ends, nil when
// unreadable) and put in its
// register, ready for KeyFromRegs.
func WithMemory(name string, args [6]uint64, read func(addr uintptr, n int) []byte) [6]uint64 {
	mk, ok := memoryKeys[name]
	if !ok {
		return args
	}
	var b []byte
	if args[mk.Arg] != 0 {
		b = read(uintptr(args[mk.Arg]), mk.Size)
	}
	if !mk.String && len(b) < mk.Size {
		b = nil
	}
	args[mk.Arg] = FromMemory(name, b)
	return args
}
