//go:build linux

// Package procmem reads another process's memory: a tracer's or a
// supervisor's view of the arguments a call points to.
package procmem

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageSize is the unit a read may fail by: a string may end just before an
// unmapped page.
const PageSize = 4096

// Read copies len(b) bytes at addr in tid's memory, with process_vm_readv,
// or PTRACE_PEEKDATA where that is unavailable (the caller must then be
// tid's tracer, and tid stopped).
func Read(tid int, addr uintptr, b []byte) error {
	if addr == 0 || len(b) == 0 {
		return unix.EFAULT
	}
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err == nil && n == len(b) {
		return nil
	}
	if err == nil {
		return unix.EFAULT
	}
	if err != unix.ENOSYS && err != unix.EPERM {
		return err
	}
	return peek(tid, addr, b)
}

func peek(tid int, addr uintptr, b []byte) error {
	var word [8]byte
	for off := 0; off < len(b); {
		a := addr + uintptr(off)
		aligned := a &^ 7
		_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, uintptr(tid), aligned,
			uintptr(unsafe.Pointer(&word[0])), 0, 0)
		if e != 0 {
			return e
		}
		off += copy(b[off:], word[a-aligned:])
	}
	return nil
}

// ErrTooLong is a string with no NUL within the limit.
var ErrTooLong = errors.New("string too long")

// String reads a NUL-terminated string of at most max bytes at addr, page
// by page so that a string ending just before an unmapped page reads. The
// first read is short: most strings are, and a stopped tracee pays for every
// byte.
func String(tid int, addr uintptr, max int) (string, error) {
	var out []byte
	for len(out) < max {
		n := min(PageSize-int(addr%PageSize), max-len(out))
		if out == nil {
			n = min(n, 256)
		}
		buf := make([]byte, n)
		if err := Read(tid, addr, buf); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf...)
		addr += uintptr(n)
	}
	return "", ErrTooLong
}

// upto reads n bytes at addr, or as many as are mapped before the first
// page that is not: the start of a string that may end early. It returns
// nil when nothing could be read.
func upto(tid int, addr uintptr, n int) []byte {
	var out []byte
	for len(out) < n {
		k := min(PageSize-int(addr%PageSize), n-len(out))
		buf := make([]byte, k)
		if Read(tid, addr, buf) != nil {
			break
		}
		out = append(out, buf...)
		addr += uintptr(k)
	}
	return out
}

// Process is a thread's view for a tracer: its memory and its descriptors.
type Process struct{ Tid int }

// Read returns n bytes at addr, fewer where the mapping ends, nil when none
// can be read.
func (p Process) Read(addr uintptr, n int) []byte { return upto(p.Tid, addr, n) }

// NetlinkProtocol returns the protocol of the netlink socket fd, ok false
// for anything else. It borrows the descriptor (pidfd_getfd, Linux 5.6)
// to ask the socket itself: netlink sockets are only listed in
// /proc/net/netlink once bound, and a first send binds them.
func (p Process) NetlinkProtocol(fd int) (uint64, bool) {
	if fd < 0 {
		return 0, false
	}
	pidfd, err := unix.PidfdOpen(p.Tid, 0)
	if err == unix.EINVAL { // not a thread group leader
		if tgid, ok := threadGroup(p.Tid); ok {
			pidfd, err = unix.PidfdOpen(tgid, 0)
		}
	}
	if err != nil {
		return 0, false
	}
	defer unix.Close(pidfd)
	sock, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(sock)
	if dom, err := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_NETLINK {
		return 0, false
	}
	proto, err := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if err != nil {
		return 0, false
	}
	return uint64(proto), true
}

// threadGroup returns the thread group (process) of thread tid.
func threadGroup(tid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
}
