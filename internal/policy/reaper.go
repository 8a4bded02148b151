package policy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The reaper is gvcheck re-executed, like the shim, to keep a process tree
// that gvcheck does not trace together and to kill all of it when gvcheck
// ends, however it ends. It is a child subreaper (every orphan of the tree
// is reparented to it, so it can find and wait for all of them), it starts
// the program through the shim, and it reads its socket from gvcheck: a
// kill request, or the end of the socket, which gvcheck's death causes
// too (no parent-death signal, which fires on the death of one thread).
// Then it kills every descendant, repeatedly until none is left, and
// exits. It tells gvcheck the program's pid, the program's exit status,
// and when the last descendant has gone.
//
// Only SIGKILL stops the reaper itself: it ignores the terminal's signals
// (the program, in gvcheck's process group, still gets them) and passes
// SIGTERM and SIGHUP on to the program, so that whoever stops "the child"
// stops the program.
const reaperArg0 = "gvcheck-reaper"

// ReaperSpec is what the reaper runs.
type ReaperSpec struct {
	Shim Spec // Handshake must be false: no tracer is involved
	// Setpgid puts the reaper, hence the program and its descendants, in a
	// process group of its own (a --test command); otherwise they stay in
	// gvcheck's, where the terminal's Ctrl-C reaches them as natively.
	Setpgid bool
}

// Reaped is a running reaper.
type Reaped struct {
	Pid  int // the reaper
	conn *os.File
	rd   *bufio.Reader
}

// ReapEvent is what the reaper reports.
type ReapEvent struct {
	Started int // the program's pid
	// Exited is set with Status when the program itself has ended.
	Exited bool
	Status unix.WaitStatus
	// Empty: the program and every descendant are gone; the reaper exits.
	Empty bool
}

// StartReaper starts a reaper running spec; files are the program's
// descriptors 0, 1 and 2.
func StartReaper(spec *ReaperSpec, dir string, files []*os.File) (*Reaped, error) {
	if spec.Shim.Handshake {
		return nil, errors.New("reaper: the shim of an untraced program takes no handshake")
	}
	if err := spec.Shim.check(); err != nil {
		return nil, err
	}
	var body []byte
	{
		msg, err := spec.Shim.encode()
		if err != nil {
			return nil, err
		}
		body = append([]byte{boolByte(spec.Setpgid)}, msg...)
	}
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	if len(files) != 3 {
		mine.Close()
		return nil, errors.New("reaper: need exactly the program's descriptors 0, 1 and 2")
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{reaperArg0}, &os.ProcAttr{
		Dir:   dir,
		Env:   []string{},
		Files: append(append([]*os.File(nil), files...), theirs),
	})
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("reaper: start: %w", err)
	}
	r := &Reaped{Pid: proc.Pid, conn: mine, rd: bufio.NewReader(mine)}
	_ = proc.Release()
	if _, err := mine.Write(body); err != nil {
		r.Close()
		return nil, fmt.Errorf("reaper: send specification: %w", err)
	}
	return r, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Next returns the reaper's next report; io.EOF once it has gone.
func (r *Reaped) Next() (ReapEvent, error) {
	var b [5]byte
	if _, err := io.ReadFull(r.rd, b[:]); err != nil {
		return ReapEvent{}, io.EOF
	}
	v := binary.LittleEndian.Uint32(b[1:])
	switch b[0] {
	case 'S':
		return ReapEvent{Started: int(v)}, nil
	case 'E':
		return ReapEvent{Exited: true, Status: unix.WaitStatus(v)}, nil
	case 'D':
		return ReapEvent{Empty: true}, nil
	}
	return ReapEvent{}, fmt.Errorf("reaper: unknown report %q", b[0])
}

// Kill asks the reaper to kill the whole tree; Next then reports it empty.
func (r *Reaped) Kill() {
	if r.conn != nil {
		_, _ = r.conn.Write([]byte{'K'})
	}
}

// Close drops the connection, which kills whatever is left of the tree.
func (r *Reaped) Close() {
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// reaperMain is the reaper's side; it never returns.
func reaperMain() {
	fail := func(code int, err error) {
		fmt.Fprintf(os.Stderr, "gvcheck: %v\n", err)
		os.Exit(code)
	}
	if secure() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fail(126, fmt.Errorf("reaper: set no_new_privs: %w", err))
		}
	}
	if err := trustStarter(); err != nil {
		fail(126, fmt.Errorf("the reaper runs only when gvcheck starts it: %w", err))
	}
	// Infrastructure: only SIGKILL stops it. Its dispositions do not reach
	// the program: the shim sets the program's own.
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
		syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2)
	fwd := make(chan os.Signal, 4)
	signal.Notify(fwd, syscall.SIGTERM, syscall.SIGHUP)
	conn := os.NewFile(shimFd, "reaper")
	var flag [1]byte
	if _, err := io.ReadFull(conn, flag[:]); err != nil {
		fail(126, fmt.Errorf("reaper: %w", err))
	}
	spec, err := decodeSpec(conn)
	if err != nil {
		fail(126, fmt.Errorf("reaper: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail(126, fmt.Errorf("reaper: become a subreaper: %w", err))
	}
	if flag[0] == 1 {
		if err := unix.Setpgid(0, 0); err != nil {
			fail(126, fmt.Errorf("reaper: own process group: %w", err))
		}
	}
	var mu sync.Mutex // one report at a time
	report := func(kind byte, v uint32) {
		var b [5]byte
		b[0] = kind
		binary.LittleEndian.PutUint32(b[1:], v)
		mu.Lock()
		_, _ = conn.Write(b[:])
		mu.Unlock()
	}
	sh, err := Start(spec, StartAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if sh == nil {
		fail(126, err)
	}
	prog := sh.Pid
	report('S', uint32(prog))
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
		killTree(os.Getpid())
	}()
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
			killTree(os.Getpid())
			break
		}
		if pid == prog && (ws.Exited() || ws.Signaled()) {
			report('E', uint32(ws))
		}
	}
	report('D', 0)
	os.Exit(0)
}

// killTree kills every descendant of pid, until none is left: a process
// forked meanwhile is reparented to pid (a subreaper) and found next round.
func killTree(pid int) {
	for range 1000 {
		kids := descendants(pid)
		if len(kids) == 0 {
			return
		}
		for _, k := range kids {
			_ = unix.Kill(k, unix.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

// descendants lists the live descendants of pid from /proc (zombies, which
// only wait for their reaper, are left out).
func descendants(pid int) []int {
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
