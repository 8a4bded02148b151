//go:build linux

package trace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/procmem"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

const (
	stopSyscall = int(unix.SIGTRAP) | 0x80 // a syscall stop under PTRACE_O_TRACESYSGOOD

	traceOpts = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
		unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACEEXIT

	// ptrace_syscall_info.op
	infoNone    = 0
	infoEntry   = 1
	infoExit    = 2
	infoSeccomp = 3
)

type mode int

const (
	modeRun mode = iota
	modeAttach
)

// process is one thread group.
type process struct {
	pid     int
	exe     string
	shim    bool // still the policy shim: its syscalls are gvcheck's, not the program's
	threads int
}

// thread is one traced task.
type thread struct {
	tid      int
	proc     *process
	pending  *profile.Call // entered, result not seen yet
	wantExit bool          // resume with PTRACE_SYSCALL to see pending's result
	stopped  bool          // the policy traces pending (Stats.Stopped)
	inCall   bool          // attach without syscall info: entry/exit parity
	restore  func()        // undoes keepTraced's change at the call's exit
	// watch counts the syscall entries still to look at for netlink
	// requests, after the thread opened a NETLINK_ROUTE socket in fast mode
	// (the filter does not stop sends: it cannot tell a netlink socket);
	// watchFd is that socket, once its creation returned: closing it ends
	// the watch.
	watch   int
	watchFd int
	// execPath is the path that matters of the exec in progress (fast
	// mode with --paths), recorded with its exec event.
	execPath string
}

// watchCalls is how many syscalls after opening a NETLINK_ROUTE socket a
// thread is watched for requests to it, unless it closes the socket first:
// programs ask at once (ip, tc, getifaddrs: a few dozen calls from socket to
// close); a daemon that keeps the socket is seen only at its start.
const watchCalls = 512

// sysInfo is what the tracer learns at a syscall stop.
type sysInfo struct {
	op    uint8
	arch  uint32
	nr    uint64
	args  [6]uint64
	rval  int64
	isErr bool
}

// forceRegs makes tests take the register path of kernels without
// PTRACE_GET_SYSCALL_INFO.
var forceRegs bool

type tracer struct {
	mode  mode
	arch  sysno.Arch
	audit uint32
	opt   Options
	// decide is the policy's verdict on a call; nil without a policy.
	decide  func(nr int, args [6]uint64) (policy.Action, unix.Errno)
	threads map[int]*thread
	procs   map[int]*process
	prof    *profile.Profile
	stats   Stats
	start   time.Time
	mainPid int
	exit    profile.Exit
	// mainDone: the main process's own exit status has been read.
	mainDone bool
	gone     map[int]bool // exits seen before the thread was known

	cloneNr, clone3Nr            int // -1 where the architecture lacks them
	sendtoNr, sendmsgNr, closeNr int
	noInfo                       bool // kernel without PTRACE_GET_SYSCALL_INFO (< 5.3): read registers
	infoBuf                      [88]byte
	regBuf                       []byte
	sampled                      map[sampleKey]uint64

	// execEvents: the fast-mode filter lets execve run, or stops it for its
	// path alone, so execs are recorded from PTRACE_EVENT_EXEC.
	execEvents bool
	// pathOnly: the syscalls the fast-mode filter stops for their path
	// alone (policy.TracePaths).
	pathOnly map[int]bool

	// useNotify: full mode observes hotSyscalls through a listener served
	// by another goroutine; state then serialises it with the tracing
	// thread over threads, procs, the profile and OnCall.
	useNotify  bool
	listener   int
	notifyDone chan struct{}
	traceDone  atomic.Bool
	state      sync.Mutex

	mu        sync.Mutex   // guards live and stats, read by other goroutines
	live      map[int]bool // thread group ids, for the canceller goroutine
	cancelled atomic.Bool
}

func newTracer(m mode, opt Options) (*tracer, error) {
	arch := sysno.Host()
	audit, err := policy.AuditArch(arch)
	if err != nil {
		return nil, err
	}
	t := &tracer{
		mode:     m,
		arch:     arch,
		audit:    audit,
		opt:      opt,
		threads:  map[int]*thread{},
		procs:    map[int]*process{},
		prof:     profile.New(arch),
		live:     map[int]bool{},
		sampled:  map[sampleKey]uint64{},
		gone:     map[int]bool{},
		regBuf:   make([]byte, regSetSize(arch)),
		start:    time.Now(),
		noInfo:   forceRegs,
		listener: -1,
	}
	t.cloneNr, t.clone3Nr = -1, -1
	if n, ok := sysno.Number(arch, "clone"); ok {
		t.cloneNr = n
	}
	if n, ok := sysno.Number(arch, "clone3"); ok {
		t.clone3Nr = n
	}
	t.sendtoNr, t.sendmsgNr, t.closeNr = -1, -1, -1
	if n, ok := sysno.Number(arch, "close"); ok {
		t.closeNr = n
	}
	if n, ok := sysno.Number(arch, "sendto"); ok {
		t.sendtoNr = n
	}
	if n, ok := sysno.Number(arch, "sendmsg"); ok {
		t.sendmsgNr = n
	}
	if p := opt.Policy; p != nil {
		byNr := map[int][]policy.Rule{}
		for _, r := range p.Rules {
			byNr[r.Nr] = append(byNr[r.Nr], r)
		}
		t.decide = func(nr int, args [6]uint64) (policy.Action, unix.Errno) {
		rules:
			for _, r := range byNr[nr] {
				for _, c := range r.Args {
					if !c.Holds(args) {
						continue rules
					}
				}
				return r.Action, r.Errno
			}
			return p.Default, p.DefaultErrno
		}
		t.pathOnly = p.PathOnly
		execve := unixExecve(arch)
		if action, _ := t.decide(execve, [6]uint64{}); opt.Execs && (action != policy.Trace || p.PathOnly[execve]) && !t.full() && m == modeRun {
			t.execEvents = true
		}
	}
	return t, nil
}

func ptrace(req, tid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func seize(tid int, opts int) error {
	return ptrace(unix.PTRACE_SEIZE, tid, 0, uintptr(opts))
}

func eventMsg(tid int) (uint64, error) {
	var msg uint64
	err := ptrace(unix.PTRACE_GETEVENTMSG, tid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

// resume restarts a thread from a ptrace-stop, delivering sig.
func (t *tracer) resume(th *thread, sig int) {
	req := unix.PTRACE_CONT
	if t.mode == modeAttach || th.wantExit || th.watch > 0 {
		req = unix.PTRACE_SYSCALL
	}
	// ESRCH: the thread was killed meanwhile; wait reports it.
	_ = ptrace(req, th.tid, 0, uintptr(sig))
}

func (t *tracer) syscallInfo(tid int) (sysInfo, error) {
	var si sysInfo
	if !t.noInfo {
		b := &t.infoBuf
		_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
			uintptr(len(b)), uintptr(unsafe.Pointer(&b[0])), 0, 0)
		if e == 0 {
			le := binary.LittleEndian
			si.op = b[0]
			si.arch = le.Uint32(b[4:])
			switch si.op {
			case infoEntry, infoSeccomp:
				si.nr = le.Uint64(b[24:])
				for i := range si.args {
					si.args[i] = le.Uint64(b[32+8*i:])
				}
			case infoExit:
				si.rval = int64(le.Uint64(b[24:]))
				si.isErr = b[32] != 0
			}
			return si, nil
		}
		if e != unix.EIO && e != unix.EINVAL {
			return si, e
		}
		t.noInfo = true
	}
	regs, err := t.regs(tid)
	if err != nil {
		return si, err
	}
	si.arch = t.audit
	si.nr, si.args = regs.Nr, regs.Args
	si.rval = int64(regs.Ret)
	si.isErr = si.rval < 0 && si.rval >= -4095
	return si, nil
}

func (t *tracer) regs(tid int) (Regs, error) {
	iov := unix.Iovec{Base: &t.regBuf[0]}
	iov.SetLen(len(t.regBuf))
	if err := ptrace(unix.PTRACE_GETREGSET, tid, unix.NT_PRSTATUS, uintptr(unsafe.Pointer(&iov))); err != nil {
		return Regs{}, fmt.Errorf("read registers of %d: %w", tid, err)
	}
	return DecodeRegs(t.arch, t.regBuf[:iov.Len])
}

// addProcess registers a thread group.
func (t *tracer) addProcess(pid int, exe string, shim bool) *process {
	p := &process{pid: pid, exe: exe, shim: shim}
	t.procs[pid] = p
	t.mu.Lock()
	t.stats.Processes++
	t.live[pid] = true
	t.mu.Unlock()
	return p
}

func (t *tracer) addThread(tid int, p *process) *thread {
	th := &thread{tid: tid, proc: p}
	t.threads[tid] = th
	p.threads++
	if t.cancelled.Load() && t.mode == modeRun {
		_ = unix.Kill(p.pid, unix.SIGKILL)
	}
	return th
}

// lookupThread returns the thread for tid, creating it (and its process)
// when it shows up before its creator's clone event.
func (t *tracer) lookupThread(tid int) *thread {
	if th := t.threads[tid]; th != nil {
		return th
	}
	tgid := readTgid(tid)
	p := t.procs[tgid]
	if p == nil {
		p = t.addProcess(tgid, readExe(tgid), false)
	}
	return t.addThread(tid, p)
}

// childCreated handles a fork/vfork/clone event of parent.
func (t *tracer) childCreated(parent *thread, child int, ev int) {
	if t.threads[child] != nil {
		return
	}
	if t.gone[child] {
		delete(t.gone, child)
		return
	}
	if ev == unix.PTRACE_EVENT_CLONE {
		t.lookupThread(child) // thread or process: /proc knows
		return
	}
	p := t.procs[child]
	if p == nil {
		p = t.addProcess(child, parent.proc.exe, parent.proc.shim)
	}
	t.addThread(child, p)
}

func (t *tracer) threadGone(th *thread) {
	if th.pending != nil {
		th.pending.NoReturn = true
		t.emit(th.pending, th.stopped)
		th.pending = nil
	}
	delete(t.threads, th.tid)
	p := th.proc
	p.threads--
	if p.threads <= 0 && t.procs[p.pid] == p {
		delete(t.procs, p.pid)
		t.mu.Lock()
		delete(t.live, p.pid)
		t.mu.Unlock()
	}
}

// execed handles PTRACE_EVENT_EXEC at tid. An exec from a non-leader thread
// reports with the leader's tid; the message holds the former tid.
func (t *tracer) execed(tid int) *thread {
	cur := t.threads[tid]
	if former, err := eventMsg(tid); err == nil && int(former) != tid {
		if ex := t.threads[int(former)]; ex != nil {
			if cur != nil && cur.pending != nil {
				cur.pending.NoReturn = true
				t.emit(cur.pending, cur.stopped)
			}
			delete(t.threads, int(former))
			ex.tid = tid
			t.threads[tid] = ex
			cur = ex
		}
	}
	if cur == nil {
		cur = t.lookupThread(tid)
	}
	p := cur.proc
	// Every other thread of the process is gone; some never report it.
	for otid, o := range t.threads {
		if o.proc == p && otid != tid {
			if o.pending != nil {
				o.pending.NoReturn = true
				t.emit(o.pending, o.stopped)
			}
			delete(t.threads, otid)
		}
	}
	p.threads = 1
	p.exe = readExe(tid)
	p.shim = false
	if t.execEvents {
		// The filter let the exec run unstopped (or stopped it for its path
		// alone): record it from the event, as the program it started
		// (whose file capabilities matter).
		t.emit(&profile.Call{Pid: p.pid, Tid: tid, Nr: unixExecve(t.arch), Name: "execve", Exe: p.exe, Path: cur.execPath}, false)
		cur.execPath = ""
	}
	return cur
}

func (t *tracer) newCall(th *thread, nr int, args [6]uint64) *profile.Call {
	c := &profile.Call{Pid: th.proc.pid, Tid: th.tid, Nr: nr, Name: sysno.Name(t.arch, nr)}
	if !th.proc.shim {
		c.Exe = th.proc.exe
	}
	args = sysargs.FromTracee(c.Name, args, procmem.Process{Tid: th.tid})
	if key, vals, ok := sysargs.KeyFromRegs(t.arch, c.Name, args); ok {
		c.Key, c.KeyValues = key, vals
	}
	if pa, ok := sysargs.PathArgOf(c.Name); ok {
		if p, err := procmem.String(th.tid, uintptr(args[pa.Path]), 4096); err == nil && p != "" {
			if !strings.HasPrefix(p, "/") {
				p = absPath(th.tid, p, pa.Dir >= 0, int32(args[max(pa.Dir, 0)]))
			}
			c.Path = p
		}
	}
	return c
}

// emit records a completed call; stopped says the policy traces it.
func (t *tracer) emit(c *profile.Call, stopped bool) {
	if c.Exe == "" {
		if p := t.procs[c.Pid]; p != nil && !p.shim {
			c.Exe = p.exe
		}
	}
	t.prof.Add(c)
	t.mu.Lock()
	t.stats.Syscalls++
	if stopped {
		t.stats.Stopped++
	}
	t.mu.Unlock()
	if t.opt.OnCall != nil {
		t.opt.OnCall(c)
	}
}

func (t *tracer) finish(th *thread, si sysInfo) {
	c := th.pending
	c.Ret = si.rval
	if si.isErr {
		c.Errno = sysno.ErrnoName(-si.rval)
	}
	if th.watch > 0 && th.watchFd < 0 && c.Name == "socket" {
		if si.isErr {
			th.watch = 0
		} else {
			th.watchFd = int(si.rval)
		}
	}
	t.emit(c, th.stopped)
}

func noReturn(name string) bool { return name == "exit" || name == "exit_group" }

// entered handles a syscall entry (a seccomp stop, or an entry stop when
// attached).
func (t *tracer) entered(th *thread, si sysInfo) {
	if si.op == infoEntry && t.mode == modeRun {
		t.watched(th, si)
		return
	}
	if th.pending != nil { // the previous call's result was never seen
		th.pending.NoReturn = true
		t.emit(th.pending, th.stopped)
		th.pending = nil
	}
	th.wantExit = false
	if si.arch != t.audit {
		return // another ABI (i386): numbers would be misnamed
	}
	nr := int(si.nr)
	if th.proc.shim && nr != unixExecve(t.arch) && nr != unixExecveat(t.arch) {
		return
	}
	if th.proc.shim && t.useNotify && t.listener < 0 {
		t.takeListener(th.proc.pid)
	}
	guarded := t.mode == modeRun && (nr == t.cloneNr || nr == t.clone3Nr) && !th.proc.shim
	if guarded && t.keepTraced(th, nr, si.args) && th.restore != nil {
		th.wantExit = true // to undo the change at the exit
	}
	if guarded && !t.full() && t.decide != nil {
		// In fast mode the filter stopped this call for the guard alone:
		// unless the policy itself traces or fails it, it is not recorded.
		if action, e := t.decide(nr, si.args); action == policy.Errno {
			_ = t.skip(th.tid, e)
			return
		} else if action != policy.Trace {
			return
		}
	}
	c := t.newCall(th, nr, si.args)
	if c.Name == "socket" && !t.full() && !t.noInfo && rules.NetlinkRouteSocket.Holds(si.args) {
		th.watch, th.watchFd = watchCalls, -1
	}
	if t.pathOnly[nr] && !t.full() && t.mode == modeRun {
		// Stopped for its path alone (--paths): the policy lets the call run
		// unobserved otherwise, so it is recorded only for a path that
		// matters, and an exec's path waits for the exec event.
		telling := sysargs.SynthesizedPath(c.Path)
		if t.execEvents && (nr == unixExecve(t.arch) || nr == unixExecveat(t.arch)) {
			th.execPath = ""
			if telling {
				th.execPath = c.Path
			}
			return
		}
		if !telling {
			return
		}
	}
	th.stopped = false
	if t.decide != nil {
		action, e := t.decide(nr, si.args)
		th.stopped = action == policy.Trace
		// In full mode the filter traces everything and the tracer applies
		// Errno rules itself, so that the failed calls are recorded (the
		// kernel's SECCOMP_RET_ERRNO would hide them).
		if action == policy.Errno && t.mode == modeRun && t.full() {
			if err := t.skip(th.tid, e); err == nil {
				c.Ret, c.Errno = -int64(e), sysno.ErrnoName(int64(e))
				t.emit(c, false)
				return
			}
		}
	}
	if noReturn(c.Name) {
		c.NoReturn = true
		t.emit(c, th.stopped)
		return
	}
	if t.mode == modeRun && !t.wantResult(c) {
		c.NoReturn = true
		t.emit(c, th.stopped)
		return
	}
	th.pending = c
	th.wantExit = true
}

// watched looks at a syscall entry of a watched thread (see thread.watch):
// a send that carries a netlink request is recorded with its result, as if
// the filter had stopped it.
func (t *tracer) watched(th *thread, si sysInfo) {
	if th.watch > 0 {
		th.watch--
	}
	if si.arch != t.audit || th.pending != nil {
		return
	}
	nr := int(si.nr)
	if nr == t.closeNr && th.watchFd >= 0 && int(int32(si.args[0])) == th.watchFd {
		th.watch = 0
		return
	}
	if nr != t.sendtoNr && nr != t.sendmsgNr {
		return
	}
	c := t.newCall(th, nr, si.args)
	if !strings.HasPrefix(c.Key, "NETLINK_") {
		return
	}
	th.pending, th.wantExit, th.stopped = c, true, true
}

// skip makes the syscall at tid's seccomp stop fail with e without running,
// as SECCOMP_RET_ERRNO would.
func (t *tracer) skip(tid int, e unix.Errno) error {
	iov := unix.Iovec{Base: &t.regBuf[0]}
	iov.SetLen(len(t.regBuf))
	if err := ptrace(unix.PTRACE_GETREGSET, tid, unix.NT_PRSTATUS, uintptr(unsafe.Pointer(&iov))); err != nil {
		return err
	}
	setSkip(t.arch, t.regBuf[:iov.Len], -int64(e))
	if t.arch == sysno.ARM64 {
		nr := int32(-1)
		niov := unix.Iovec{Base: (*byte)(unsafe.Pointer(&nr))}
		niov.SetLen(4)
		const ntARMSystemCall = 0x404
		if err := ptrace(unix.PTRACE_SETREGSET, tid, ntARMSystemCall, uintptr(unsafe.Pointer(&niov))); err != nil {
			return err
		}
	}
	return ptrace(unix.PTRACE_SETREGSET, tid, unix.NT_PRSTATUS, uintptr(unsafe.Pointer(&iov)))
}

// Errors are sampled in full mode: a syscall's result costs a second stop,
// so only the first sampleFirst calls of each syscall (and key argument),
// then one in sampleEvery, and calls with a recorded path wait for it.
const (
	sampleFirst = 64
	sampleEvery = 16
)

type sampleKey struct {
	nr  int
	key string
}

func (t *tracer) wantResult(c *profile.Call) bool {
	if !t.full() || t.opt.ExactErrors || c.Path != "" {
		return true
	}
	k := sampleKey{c.Nr, c.Key}
	n := t.sampled[k]
	t.sampled[k] = n + 1
	return n < sampleFirst || n%sampleEvery == 0
}

func unixExecve(a sysno.Arch) int {
	n, _ := sysno.Number(a, "execve")
	return n
}

func unixExecveat(a sysno.Arch) int {
	n, _ := sysno.Number(a, "execveat")
	return n
}

func isStopSignal(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return true
	}
	return false
}

// handle processes one wait status.
func (t *tracer) handle(wpid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		if th := t.threads[wpid]; th != nil {
			t.threadGone(th)
		} else if wpid != t.mainPid {
			// A child killed before its creator's fork event was handled
			// (or a child of this thread that is not a tracee): its event
			// must not bring it back.
			t.gone[wpid] = true
		}
		if wpid == t.mainPid {
			t.mainDone = true
			if ws.Exited() {
				t.exit = profile.Exit{Code: ws.ExitStatus()}
			} else {
				t.exit = profile.Exit{Code: 128 + int(ws.Signal()), Signal: unix.SignalName(ws.Signal())}
			}
		}
		return
	}
	if !ws.Stopped() {
		return
	}
	th := t.lookupThread(wpid)
	sig := int(ws>>8) & 0xff
	ev := int(ws>>16) & 0xff
	switch {
	case sig == stopSyscall:
		t.syscallStop(th)
	case ev == unix.PTRACE_EVENT_SECCOMP:
		if si, err := t.syscallInfo(th.tid); err == nil {
			t.entered(th, si)
		}
		t.resume(th, 0)
	case ev == unix.PTRACE_EVENT_FORK || ev == unix.PTRACE_EVENT_VFORK || ev == unix.PTRACE_EVENT_CLONE:
		if child, err := eventMsg(th.tid); err == nil {
			t.childCreated(th, int(child), ev)
		}
		t.resume(th, 0)
	case ev == unix.PTRACE_EVENT_EXEC:
		th = t.execed(wpid)
		t.resume(th, 0)
	case ev == unix.PTRACE_EVENT_STOP:
		if isStopSignal(sig) {
			// A group-stop: stay stopped like natively, but let the tracer
			// hear of SIGCONT (or of a later PTRACE_INTERRUPT).
			_ = ptrace(unix.PTRACE_LISTEN, th.tid, 0, 0)
			return
		}
		t.resume(th, 0)
	case ev == 0:
		// A signal-delivery-stop: deliver it as it would be natively.
		t.resume(th, sig)
	default: // PTRACE_EVENT_EXIT, VFORK_DONE
		t.resume(th, 0)
	}
}

func (t *tracer) syscallStop(th *thread) {
	si, err := t.syscallInfo(th.tid)
	if err != nil {
		t.resume(th, 0)
		return
	}
	if t.noInfo {
		// Registers alone do not say entry or exit: seccomp stops are
		// entries, so a syscall stop in Run is an exit; when attached,
		// stops alternate.
		if t.mode == modeAttach && !th.inCall {
			si.op = infoEntry
		} else {
			si.op = infoExit
		}
		th.inCall = si.op == infoEntry
	}
	switch si.op {
	case infoEntry:
		t.entered(th, si)
	case infoExit:
		if th.restore != nil {
			th.restore()
			th.restore = nil
		}
		if th.pending != nil {
			t.finish(th, si)
			th.pending = nil
		}
		th.wantExit = false
	}
	t.resume(th, 0)
}

// reportProgress calls Options.Progress a few times a second until stop is
// closed; the tracing thread may be blocked in wait4 for long stretches.
func (t *tracer) reportProgress(stop <-chan struct{}) {
	if t.opt.Progress == nil {
		return
	}
	t.opt.Progress(t.snapshot())
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.opt.Progress(t.snapshot())
		case <-stop:
			return
		}
	}
}

func (t *tracer) snapshot() Stats {
	t.mu.Lock()
	s := t.stats
	t.mu.Unlock()
	s.Elapsed = time.Since(t.start)
	return s
}

// killAll sends SIGKILL to every traced process (Run's cancellation).
func (t *tracer) killAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid := range t.live {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// absPath resolves a relative path argument against the directory file
// descriptor of an *at call or the working directory, as the kernel will.
func absPath(tid int, p string, at bool, dirfd int32) string {
	link := "/proc/" + strconv.Itoa(tid) + "/cwd"
	if at && dirfd != unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(int(dirfd))
	}
	base, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(base, "/") {
		return p
	}
	return filepath.Join(base, p)
}

func readTgid(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	if i := bytes.Index(b, []byte("\nTgid:")); i >= 0 {
		line := b[i+6:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(line))); err == nil {
			return n
		}
	}
	return tid
}

func readExe(pid int) string {
	s, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return s
}

// listTasks returns the thread ids of pid.
func listTasks(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no process %d", pid)
		}
		return nil, err
	}
	var tids []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, n)
		}
	}
	return tids, nil
}
