//go:build linux

package trace

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Full mode observes the most frequent syscalls through a seccomp
// user-notification listener instead of ptrace stops. With
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6) the program and gvcheck
// hand the CPU to each other on the same CPU, which makes a round trip
// about ten times cheaper than a ptrace stop, whose two wakeups tend to
// cross CPUs. A notification carries the call's number and arguments but
// not its result: these syscalls are counted, with key arguments, and
// their errors are not observed. Every other syscall still stops in ptrace,
// with its errors sampled.
var hotSyscalls = []string{
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg",
	"futex", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"clock_gettime", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "sched_yield",
	"lseek", "fstat", "close", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
	"rt_sigprocmask", "mmap", "munmap", "mprotect", "brk", "madvise", "getrandom",
}

// notifySupported reports whether the kernel has same-CPU wake-ups for
// user notifications; without them notifications cost as much as stops.
func notifySupported() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	major, rest, _ := strings.Cut(rel, ".")
	minor, _, _ := strings.Cut(rest, ".")
	maj, err1 := strconv.Atoi(major)
	mnr, err2 := strconv.Atoi(strings.TrimRightFunc(minor, func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > 6 || maj == 6 && mnr >= 6
}

func hotRules(a sysno.Arch) []policy.Rule {
	var rules []policy.Rule
	for _, name := range hotSyscalls {
		if nr, ok := sysno.Number(a, name); ok {
			rules = append(rules, policy.Rule{Nr: nr, Action: policy.Notify})
		}
	}
	return rules
}

// takeListener copies the listener descriptor out of the stopped shim (at
// the seccomp stop of its exec, when the filter is installed and the
// close-on-exec listener still open) and starts serving it.
func (t *tracer) takeListener(pid int) {
	n := policy.FindListener(pid)
	if n < 0 {
		return
	}
	fd, err := policy.TakeFd(pid, n)
	if err != nil {
		return
	}
	const setFlags = 0x40082104 // SECCOMP_IOCTL_NOTIF_SET_FLAGS
	_ = unix.IoctlSetInt(fd, setFlags, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	t.listener = fd
	t.notifyDone = make(chan struct{})
	go t.serveNotify(fd)
}

// huntListener takes the listener as soon as the shim has installed its
// filter. Between that and its exec the shim is Go code, which may sleep on
// a futex or call another notified syscall (when the scheduler preempts it,
// say); such a call waits for an answer, so the listener must be served
// from the start, not only from the exec stop.
func (t *tracer) huntListener(shim *process, stop <-chan struct{}) {
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		t.state.Lock()
		done := t.listener >= 0 || !shim.shim
		if !done {
			t.takeListener(shim.pid)
			done = t.listener >= 0
		}
		t.state.Unlock()
		if done {
			return
		}
	}
}

// serveNotify answers notifications until no task uses the filter.
func (t *tracer) serveNotify(fd int) {
	defer close(t.notifyDone)
	defer unix.Close(fd)
	var req [80]byte  // struct seccomp_notif
	var resp [24]byte // struct seccomp_notif_resp
	le := binary.LittleEndian
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfd, 250); err != nil && err != unix.EINTR {
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 || t.traceDone.Load() {
				return
			}
			continue
		}
		clear(req[:])
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			continue // ENOENT: the caller died or was interrupted before we read it
		}
		id := le.Uint64(req[0:])
		tid := int(le.Uint32(req[8:]))
		nr := int(int32(le.Uint32(req[16:])))
		var args [6]uint64
		for i := range args {
			args[i] = le.Uint64(req[32+8*i:])
		}
		errno := t.notified(tid, nr, args)
		clear(resp[:])
		le.PutUint64(resp[0:], id)
		if errno != 0 {
			le.PutUint32(resp[16:], uint32(-int32(errno)))
		} else {
			le.PutUint32(resp[20:], unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE)
		}
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp[0])))
	}
}

// notified records a notified call and returns the errno to fail it with
// (a policy Errno rule), or 0 to let it run.
func (t *tracer) notified(tid, nr int, args [6]uint64) unix.Errno {
	t.state.Lock()
	defer t.state.Unlock()
	th := t.lookupThread(tid)
	if th.proc.shim {
		return 0
	}
	c := t.newCall(th, nr, args)
	c.NoReturn = true
	if t.decide != nil {
		action, e := t.decide(nr, args)
		if action == policy.Errno {
			c.NoReturn, c.Ret, c.Errno = false, -int64(e), sysno.ErrnoName(int64(e))
			t.emit(c, false)
			return e
		}
		t.emit(c, action == policy.Trace)
		return 0
	}
	t.emit(c, false)
	return 0
}
