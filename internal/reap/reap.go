// Package reap keeps a process tree together and kills all of it when
// gvcheck ends, however it ends.
//
// The reaper is gvcheck re-executed (like the policy shim, through
// /proc/self/exe, taking its specification over an inherited socket). It
// is a child subreaper, so every orphan of the tree is reparented to it and
// it can find and wait for all of them; it starts the program, and reads
// its socket from gvcheck: a kill request, or the end of the socket, which
// gvcheck's death causes too (not a parent-death signal, which fires when
// one thread of the parent ends). Then it kills every descendant, again
// until none is left, and exits. It reports the program's pid, its exit
// status and the moment the last descendant has gone, and it exits as the
// program did (with its status, or dying of its signal).
//
// Where the kernel allows it (CAP_SYS_ADMIN), it can give the tree a mount
// namespace of its own (propagation private): what the tree mounts (runsc
// bind-mounts the network namespaces of its sandboxes) never shows outside
// and disappears with the tree's last process.
//
// Only SIGKILL stops the reaper itself: it ignores the terminal's signals
// (the program, in gvcheck's process group unless Setpgid, gets them
// directly) and passes SIGTERM and SIGHUP on to the program, so whoever
// stops "the child" stops the program.
package reap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sigstate"
)

// Arg0 is the reaper's argv[0]; ShimMain dispatches on it (see IsReaper).
const Arg0 = "gvcheck-reaper"

const (
	specFd  = 3
	magic   = "gvcheck-reaper/1\n"
	maxSpec = 64 << 20
)

// Spec is what the reaper runs. It travels gob-encoded: a field can be
// added freely, the reaper and its starter being one binary.
type Spec struct {
	Path string
	Argv []string
	Env  []string
	// Handoff, if set, is written to the program's descriptor 3, one end
	// of a socket pair the reaper makes: how the policy shim, started by
	// the reaper, gets its own specification from its parent.
	Handoff []byte
	// Setpgid puts the reaper, hence the program and its descendants, in a
	// process group of its own (a --test command); otherwise they stay in
	// gvcheck's, where the terminal's Ctrl-C reaches them as natively.
	Setpgid bool
	// PrivateMounts gives the tree a mount namespace of its own, where
	// the kernel allows it (Event.Private says whether it did).
	PrivateMounts bool
}

// Event is what the reaper reports.
type Event struct {
	// Started is the program's pid; Private says the tree's mounts are
	// private.
	Started int
	Private bool
	// Exited is set with Status when the program itself has ended.
	Exited bool
	Status unix.WaitStatus
	// Empty: the program and every descendant are gone; the reaper exits.
	Empty bool
}

// Reaper is a running reaper.
type Reaper struct {
	Pid  int // the reaper's own
	conn *os.File
	rd   *bufio.Reader
}

func (s *Spec) encode() ([]byte, error) {
	if s.Path == "" || len(s.Argv) == 0 {
		return nil, errors.New("reaper: no program")
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(s); err != nil {
		return nil, fmt.Errorf("reaper: encode: %w", err)
	}
	msg := append([]byte(magic), binary.LittleEndian.AppendUint32(nil, uint32(body.Len()))...)
	return append(msg, body.Bytes()...), nil
}

func decode(r io.Reader) (*Spec, error) {
	head := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("read specification: %w", err)
	}
	if string(head[:len(magic)]) != magic {
		return nil, errors.New("not a gvcheck reaper specification")
	}
	n := binary.LittleEndian.Uint32(head[len(magic):])
	if n > maxSpec {
		return nil, fmt.Errorf("specification of %d bytes is too large", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read specification: %w", err)
	}
	var s Spec
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode specification: %w", err)
	}
	return &s, nil
}

// SocketPair returns two connected close-on-exec AF_UNIX stream sockets.
func SocketPair() (mine, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "reaper"), os.NewFile(uintptr(fds[1]), "reaper"), nil
}

// Start starts a reaper running spec; files are the program's descriptors
// 0, 1 and 2.
func Start(spec *Spec, dir string, files []*os.File) (*Reaper, error) {
	msg, err := spec.encode()
	if err != nil {
		return nil, err
	}
	if len(files) != 3 {
		return nil, errors.New("reaper: need exactly the program's descriptors 0, 1 and 2")
	}
	mine, theirs, err := SocketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	proc, err := os.StartProcess("/proc/self/exe", []string{Arg0}, &os.ProcAttr{
		Dir:   dir,
		Env:   []string{},
		Files: append(append([]*os.File(nil), files...), theirs),
	})
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("reaper: start: %w", err)
	}
	r := &Reaper{Pid: proc.Pid, conn: mine, rd: bufio.NewReader(mine)}
	_ = proc.Release()
	if _, err := mine.Write(msg); err != nil {
		r.Close()
		return nil, fmt.Errorf("reaper: send specification: %w", err)
	}
	return r, nil
}

// Next returns the reaper's next report; io.EOF once it has gone.
func (r *Reaper) Next() (Event, error) {
	var b [5]byte
	if _, err := io.ReadFull(r.rd, b[:]); err != nil {
		return Event{}, io.EOF
	}
	v := binary.LittleEndian.Uint32(b[1:])
	switch b[0] {
	case 'S', 'P':
		return Event{Started: int(v), Private: b[0] == 'P'}, nil
	case 'E':
		return Event{Exited: true, Status: unix.WaitStatus(v)}, nil
	case 'D':
		return Event{Empty: true}, nil
	}
	return Event{}, fmt.Errorf("reaper: unknown report %q", b[0])
}

// Kill asks the reaper to kill the whole tree; Next then reports it empty.
func (r *Reaper) Kill() {
	if r.conn != nil {
		_, _ = r.conn.Write([]byte{'K'})
	}
}

// Close drops the connection, which kills whatever is left of the tree.
func (r *Reaper) Close() {
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// Contained is an exec.Cmd made to run under a reaper by Contain.
type Contained struct {
	conn    *os.File
	started int
	private bool
	once    sync.Once
}

// Contain rewrites cmd, not yet started, to run its program under a
// reaper with spec's Setpgid and PrivateMounts (spec's program fields are
// taken from cmd): cmd.Wait then waits for the whole tree, and exits as the
// program did. cmd must have no ExtraFiles; its Pdeathsig is dropped (the
// reaper's socket does better). Call Release once cmd has been waited for,
// or to abandon it: what is left of the tree is killed.
func Contain(cmd *exec.Cmd, spec Spec) (*Contained, error) {
	if len(cmd.ExtraFiles) > 0 {
		return nil, errors.New("reaper: a command with extra descriptors cannot be contained")
	}
	path := cmd.Path
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	spec.Path, spec.Argv, spec.Env = path, cmd.Args, cmd.Env
	if spec.Env == nil {
		spec.Env = os.Environ()
	}
	msg, err := spec.encode()
	if err != nil {
		return nil, err
	}
	mine, theirs, err := SocketPair()
	if err != nil {
		return nil, err
	}
	// The specification fits the socket's buffer: no writer needs to wait
	// for the reaper to start.
	if _, err := mine.Write(msg); err != nil {
		mine.Close()
		theirs.Close()
		return nil, fmt.Errorf("reaper: send specification: %w", err)
	}
	cmd.Path, cmd.Args, cmd.Env = "/proc/self/exe", []string{Arg0}, []string{}
	cmd.ExtraFiles = []*os.File{theirs}
	if cmd.SysProcAttr != nil {
		a := *cmd.SysProcAttr
		a.Pdeathsig = 0
		cmd.SysProcAttr = &a
	}
	return &Contained{conn: mine}, nil
}

// Started returns the program's pid once the reaper has started it, and
// whether the tree's mounts are private; 0 if the reaper is gone.
func (c *Contained) Started() (int, bool) {
	c.once.Do(func() {
		var b [5]byte
		if _, err := io.ReadFull(c.conn, b[:]); err == nil && (b[0] == 'S' || b[0] == 'P') {
			c.started = int(binary.LittleEndian.Uint32(b[1:]))
			c.private = b[0] == 'P'
		}
	})
	return c.started, c.private
}

// Release kills what is left of the tree and lets the reaper go.
func (c *Contained) Release() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// IsReaper reports whether this process was started as a reaper.
func IsReaper() bool { return len(os.Args) == 1 && os.Args[0] == Arg0 }

// Dispatch serves the reaper's role, never returning, if this process was
// started as one, and returns false otherwise. A binary that starts
// reapers calls it (or policy.ShimMain, which does) first thing in main.
func Dispatch() bool {
	if IsReaper() {
		Main()
	}
	return false
}

// Main is the reaper's side; it never returns.
func Main() {
	fail := func(code int, err error) {
		fmt.Fprintf(os.Stderr, "gvcheck: %v\n", err)
		os.Exit(code)
	}
	// The tree is started from this thread, which may be given a mount
	// namespace of its own.
	runtime.LockOSThread()
	if Secure() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fail(126, fmt.Errorf("reaper: set no_new_privs: %w", err))
		}
	}
	if err := TrustStarter(specFd); err != nil {
		fail(126, fmt.Errorf("the reaper runs only when gvcheck starts it: %w", err))
	}
	// Its own dispositions do not reach the program: the program gets its
	// own from the shim, or SIG_DFL for what the reaper catches.
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
		syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	fwd := make(chan os.Signal, 4)
	signal.Notify(fwd, syscall.SIGTERM, syscall.SIGHUP)
	conn := os.NewFile(specFd, "reaper")
	spec, err := decode(conn)
	if err != nil {
		fail(126, fmt.Errorf("reaper: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail(126, fmt.Errorf("reaper: become a subreaper: %w", err))
	}
	if spec.Setpgid {
		if err := unix.Setpgid(0, 0); err != nil {
			fail(126, fmt.Errorf("reaper: own process group: %w", err))
		}
	}
	private := spec.PrivateMounts && privateMounts() == nil
	var mu sync.Mutex // one report at a time
	report := func(kind byte, v uint32) {
		var b [5]byte
		b[0] = kind
		binary.LittleEndian.PutUint32(b[1:], v)
		mu.Lock()
		_, _ = conn.Write(b[:])
		mu.Unlock()
	}
	prog, err := startProgram(spec)
	if err != nil {
		fail(127, err)
	}
	kind := byte('S')
	if private {
		kind = 'P'
	}
	report(kind, uint32(prog))
	go func() {
		for s := range fwd {
			_ = unix.Kill(prog, s.(syscall.Signal))
		}
	}()
	go func() {
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil || b[0] == 'K' {
				break
			}
		}
		KillTree(os.Getpid())
	}()
	var status unix.WaitStatus
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			break
		}
		if err != nil {
			KillTree(os.Getpid())
			break
		}
		if pid == prog && (ws.Exited() || ws.Signaled()) {
			status = ws
			report('E', uint32(ws))
		}
	}
	report('D', 0)
	if status.Signaled() {
		sigstate.Reraise(status.Signal())
		os.Exit(128 + int(status.Signal()))
	}
	os.Exit(status.ExitStatus())
}

// privateMounts gives this thread a mount namespace of its own, with
// private propagation (unshare(CLONE_NEWNS) is per thread in a threaded
// process; the tree is forked from this thread).
func privateMounts() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return err
	}
	return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
}

// startProgram starts the program, handing it its descriptor 3 if asked.
func startProgram(spec *Spec) (int, error) {
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	var mine *os.File
	if spec.Handoff != nil {
		var theirs *os.File
		var err error
		if mine, theirs, err = SocketPair(); err != nil {
			return 0, err
		}
		defer theirs.Close()
		files = append(files, theirs)
	}
	proc, err := os.StartProcess(spec.Path, spec.Argv, &os.ProcAttr{Env: spec.Env, Files: files})
	if err != nil {
		if mine != nil {
			mine.Close()
		}
		return 0, fmt.Errorf("reaper: start %s: %w", spec.Argv[0], err)
	}
	pid := proc.Pid
	_ = proc.Release()
	if mine != nil {
		go func() {
			_, _ = mine.Write(spec.Handoff)
			mine.Close()
		}()
	}
	return pid, nil
}

// KillTree kills every descendant of pid, until none is left: one forked
// meanwhile is reparented to pid (a subreaper) and found the next round.
func KillTree(pid int) {
	for range 1000 {
		kids := Descendants(pid)
		if len(kids) == 0 {
			return
		}
		for _, k := range kids {
			_ = unix.Kill(k, unix.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

// Descendants lists the live descendants of pid from /proc (zombies, which
// only wait to be collected, are left out).
func Descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for q, n := parent[p], 0; q > 1 && n < 4096; q, n = parent[q], n+1 {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// TrustStarter checks that descriptor fd is an AF_UNIX stream socket that
// the parent process created, and that the parent runs this same
// executable; it makes the descriptor close-on-exec.
func TrustStarter(fd int) error {
	if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_UNIX {
		return fmt.Errorf("descriptor %d is not gvcheck's socket", fd)
	}
	if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
		return fmt.Errorf("descriptor %d is not gvcheck's socket", fd)
	}
	unix.CloseOnExec(fd)
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	ppid := unix.Getppid()
	if err != nil || int(cred.Pid) != ppid {
		return errors.New("the socket is not the parent process's")
	}
	var self, parent unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		return fmt.Errorf("own executable: %w", err)
	}
	if err := unix.Stat("/proc/"+strconv.Itoa(ppid)+"/exe", &parent); err != nil {
		// A gvcheck that gained privileges from its exec cannot look at its
		// privileged parent; no_new_privs is set already (see Secure), so
		// it can give away nothing its user does not have.
		return nil
	}
	if self.Dev != parent.Dev || self.Ino != parent.Ino {
		return errors.New("the parent process is not gvcheck")
	}
	return nil
}

// Secure reports AT_SECURE: this exec gained privileges (setuid, setgid,
// file capabilities). gvcheck's helpers then set no_new_privs first.
func Secure() bool {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return true // assume the worst
	}
	const atSecure = 23
	for i := 0; i+16 <= len(b); i += 16 {
		k, v := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if k == 0 {
			break
		}
		if k == atSecure {
			return v != 0
		}
	}
	return false
}
