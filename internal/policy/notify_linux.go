//go:build linux

package policy

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Notification is one call a filter's Notify action suspended: the caller
// waits until its supervisor answers.
type Notification struct {
	ID   uint64
	Tid  int // calling thread, in the supervisor's PID namespace
	Nr   int
	Arch uint32
	Args [6]uint64
}

// Answer is a supervisor's reply: let the call run (Continue), or fail it
// with Errno, or return Val without running it.
type Answer struct {
	Continue bool
	Errno    unix.Errno
	Val      int64
}

// Serve answers the notifications of listener fd with handle until every
// task using the filter is gone or stop is set. The handler runs on the
// serving goroutine, one call at a time; the caller closes fd.
func Serve(fd int, stop *atomic.Bool, handle func(*Notification) Answer) error {
	var req [80]byte  // struct seccomp_notif
	var resp [24]byte // struct seccomp_notif_resp
	le := binary.LittleEndian
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if stop != nil && stop.Load() {
			return nil
		}
		pfd[0].Revents = 0
		if _, err := unix.Poll(pfd, 100); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return nil
			}
			continue
		}
		clear(req[:])
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			continue // ENOENT: the caller died or was interrupted before we read it
		}
		n := Notification{
			ID:   le.Uint64(req[0:]),
			Tid:  int(le.Uint32(req[8:])),
			Nr:   int(int32(le.Uint32(req[16:]))),
			Arch: le.Uint32(req[20:]),
		}
		for i := range n.Args {
			n.Args[i] = le.Uint64(req[32+8*i:])
		}
		a := handle(&n)
		clear(resp[:])
		le.PutUint64(resp[0:], n.ID)
		switch {
		case a.Errno != 0:
			le.PutUint32(resp[16:], uint32(-int32(a.Errno)))
		case a.Continue:
			le.PutUint32(resp[20:], unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE)
		default:
			le.PutUint64(resp[8:], uint64(a.Val))
		}
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp[0])))
	}
}

// Valid reports whether notification id is still pending: after reading a
// caller's memory, it proves the memory was the caller's.
func Valid(fd int, id uint64) bool {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
	return e == 0
}
