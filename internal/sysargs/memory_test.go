package sysargs

import (
	"encoding/binary"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// fakeTracee is a process of a few mappings and sockets.
type fakeTracee struct {
	mem     map[uintptr][]byte // start address → bytes
	sockets map[int][2]uint64  // fd → family, protocol
}

func (f fakeTracee) Read(addr uintptr, n int) []byte {
	for start, b := range f.mem {
		if addr >= start && addr < start+uintptr(len(b)) {
			b = b[addr-start:]
			return b[:min(n, len(b))]
		}
	}
	return nil
}

func (f fakeTracee) NetlinkProtocol(fd int) (uint64, bool) {
	s, ok := f.sockets[fd]
	return s[1], ok && s[0] == afNetlink
}

// TestFromTracee reads keys the way a tracer does: clone3's flags as a
// u64, an attribute's name as the start of a string, whole or cut, and
// nothing from a NULL or unreadable pointer.
func TestFromTracee(t *testing.T) {
	flags := make([]byte, 8)
	binary.LittleEndian.PutUint64(flags, 0x20000000) // CLONE_NEWPID
	one := func(b []byte) fakeTracee { return fakeTracee{mem: map[uintptr][]byte{0x1000: b}} }
	for _, tc := range []struct {
		name    string
		ptr     uint64
		t       fakeTracee
		display string
	}{
		{"clone3", 0x1000, one(flags), "CLONE_NEWPID"},
		{"clone3", 0x1000, one(flags[:4]), ""}, // a short read is no value
		{"setxattr", 0x1000, one([]byte("security.capability\x00")), "security.capability"},
		{"fsetxattr", 0x1000, one([]byte("security.capability-and-then-some\x00")), "security.*"}, // cut at 24 bytes
		{"removexattr", 0x1000, one([]byte("user.x\x00garbage")), "user.*"},
		{"lsetxattr", 0x1000, one([]byte("sec")), ""},
		{"setxattr", 0, one([]byte("user.x\x00")), ""},
		{"setxattr", 0x2000, one([]byte("user.x\x00")), ""}, // unreadable
	} {
		var args [6]uint64
		mk, ok := MemoryKeyOf(tc.name)
		if !ok {
			t.Fatalf("%s has no memory key", tc.name)
		}
		args[mk.Arg] = tc.ptr
		d, _, ok := KeyFromRegs(sysno.AMD64, tc.name, FromTracee(tc.name, args, tc.t))
		if d != tc.display || ok != (tc.display != "") {
			t.Errorf("%s at %#x: key %q %v, want %q", tc.name, tc.ptr, d, ok, tc.display)
		}
	}
	if _, ok := MemoryKeyOf("ioctl"); ok {
		t.Error("ioctl's key is in registers")
	}
}

// nlmsg is a netlink message header followed by a one-byte family.
func nlmsg(length uint32, typ, flags uint16) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b, length)
	binary.LittleEndian.PutUint16(b[4:], typ)
	binary.LittleEndian.PutUint16(b[6:], flags)
	return b
}

// TestNetlinkFromTracee keys requests to netlink sockets, sent with
// sendto's buffer or sendmsg's first iovec, and nothing else: other
// sockets, other protocols, control messages, headers that do not fit.
func TestNetlinkFromTracee(t *testing.T) {
	const buf, msghdr, iov = 0x1000, 0x2000, 0x3000
	mh := make([]byte, 56)
	binary.LittleEndian.PutUint64(mh[16:], iov)
	binary.LittleEndian.PutUint64(mh[24:], 1)
	iovec := make([]byte, 16)
	binary.LittleEndian.PutUint64(iovec, buf)
	binary.LittleEndian.PutUint64(iovec[8:], 20)
	sockets := map[int][2]uint64{3: {16, 0}, 4: {16, 15}, 5: {2, 6}}
	tracee := func(msg []byte) fakeTracee {
		return fakeTracee{mem: map[uintptr][]byte{buf: msg, msghdr: mh, iov: iovec}, sockets: sockets}
	}
	const request, dump = 0x1, 0x301
	for _, tc := range []struct {
		call    string
		fd      uint64
		msg     []byte
		display string
	}{
		{"sendto", 3, nlmsg(20, 0x22, dump), "NETLINK_ROUTE,RTM_GETRULE,NLM_F_DUMP"},
		{"sendmsg", 3, nlmsg(20, 0x22, dump), "NETLINK_ROUTE,RTM_GETRULE,NLM_F_DUMP"},
		{"sendto", 3, nlmsg(20, 0x12, request), "NETLINK_ROUTE,RTM_GETLINK"},
		{"sendto", 3, nlmsg(20, 0x10, 0x501), "NETLINK_ROUTE,RTM_NEWLINK"}, // NLM_F_REPLACE is not a dump for NEW
		{"sendto", 4, nlmsg(20, 0x22, dump), ""},                           // NETLINK_KOBJECT_UEVENT
		{"sendto", 5, nlmsg(20, 0x22, dump), ""},                           // a TCP socket
		{"sendto", 9, nlmsg(20, 0x22, dump), ""},                           // not a socket
		{"sendto", 3, nlmsg(20, 0x2, request), ""},                         // NLMSG_ERROR: a control message
		{"sendto", 3, nlmsg(64, 0x22, dump), ""},                           // longer than what is sent
		{"sendto", 3, []byte("GET / HTTP/1.1\r\n\r\n"), ""},
	} {
		var args [6]uint64
		args[0], args[1], args[2] = tc.fd, buf, 20
		if tc.call == "sendmsg" {
			args[1], args[2] = msghdr, 0
		}
		d, vals, ok := KeyFromRegs(sysno.AMD64, tc.call, FromTracee(tc.call, args, tracee(tc.msg)))
		if d != tc.display || ok != (tc.display != "") {
			t.Errorf("%s(%d, %x): key %q %v %v, want %q", tc.call, tc.fd, tc.msg[:8], d, vals, ok, tc.display)
		}
	}
}
