//go:build linux

package procmem

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestReadString reads strings of this process: short, longer than the
// first read, across a page boundary, ending just before an unmapped page,
// and too long.
func TestReadString(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 3*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[2*PageSize:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	pid := unix.Getpid()
	put := func(off int, s string) uintptr {
		copy(mem[off:], s)
		if off+len(s) < 2*PageSize {
			mem[off+len(s)] = 0
		}
		return base + uintptr(off)
	}
	for _, tc := range []struct {
		off int
		s   string
	}{
		{0, "/proc/self/maps"},
		{100, "/" + strings.Repeat("a", 600)},
		{PageSize - 10, "/" + strings.Repeat("b", 300)},
		{2*PageSize - 20, strings.Repeat("c", 19)},
	} {
		got, err := String(pid, put(tc.off, tc.s), 4096)
		if err != nil || got != tc.s {
			t.Errorf("at %d: %q, %v; want %q", tc.off, got, err, tc.s)
		}
	}
	clear(mem[:2*PageSize])
	if _, err := String(pid, put(0, strings.Repeat("d", 5000)), 4096); err == nil {
		t.Error("a 5000-byte string read with a 4096-byte limit")
	}
	copy(mem[2*PageSize-4:], "eeee")
	if _, err := String(pid, base+2*PageSize-4, 4096); err == nil {
		t.Error("a string running into an unmapped page read without error")
	}
}

// TestUpto reads the start of strings: whole when mapped, cut where the
// mapping ends, nothing from an unmapped address.
func TestUpto(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[PageSize:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	pid := unix.Getpid()
	copy(mem, "security.selinux\x00")
	if got := upto(pid, base, 24); len(got) != 24 || string(got[:17]) != "security.selinux\x00" {
		t.Errorf("mapped: %q", got)
	}
	copy(mem[PageSize-5:], "user\x00")
	if got := upto(pid, base+PageSize-5, 24); string(got) != "user\x00" {
		t.Errorf("before an unmapped page: %q", got)
	}
	if got := upto(pid, base+PageSize, 24); got != nil {
		t.Errorf("unmapped: %q", got)
	}
}

// TestNetlinkProtocol finds this process's own sockets: a NETLINK_ROUTE
// socket and a NETLINK_KOBJECT_UEVENT one by protocol, a TCP socket and a
// pipe as none.
func TestNetlinkProtocol(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := Process{Tid: unix.Gettid()} // often not the thread group leader
	for _, tc := range []struct {
		domain, typ, proto int
		netlink            bool
	}{
		{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE, true},
		{unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_KOBJECT_UEVENT, true},
		{unix.AF_INET, unix.SOCK_STREAM, 0, false},
	} {
		fd, err := unix.Socket(tc.domain, tc.typ|unix.SOCK_CLOEXEC, tc.proto)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.NetlinkProtocol(fd)
		unix.Close(fd)
		if ok != tc.netlink || ok && got != uint64(tc.proto) {
			t.Errorf("socket(%d, %d, %d): protocol %d %v", tc.domain, tc.typ, tc.proto, got, ok)
		}
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, ok := p.NetlinkProtocol(fds[0]); ok {
		t.Error("a pipe is a netlink socket")
	}
	if _, ok := p.NetlinkProtocol(-1); ok {
		t.Error("fd -1 is a netlink socket")
	}
}
