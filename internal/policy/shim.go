package policy

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/reap"
	"github.com/gvcheck/gvcheck/internal/sigstate"
)

// The shim is gvcheck re-executed through /proc/self/exe (so always the very
// binary that is running) with argv[0] set to shimArg0 and no other argument
// and no environment. Everything else, the program's path, argv and
// environment, its filter and signal state, arrives as a Spec on descriptor
// 3, one end of a socket pair whose other end the starting gvcheck holds.
// So:
//   - the program's exec has exactly the argument space it has natively
//     (nothing of gvcheck's rides in its argv or environment);
//   - no argument or environment variable makes gvcheck act as a shim: it
//     acts only on a spec from its parent process running this same
//     executable, over a socket that parent created;
//   - that check is not a security boundary by itself (a user can start
//     gvcheck that way from a program of their own), so where the shim's
//     own exec gained privileges (AT_SECURE: a setuid bit or file
//     capabilities) it sets no_new_privs before anything else. A program it
//     starts can then never hold more privilege than whoever started
//     gvcheck, whatever the spec says.
const (
	shimArg0  = "gvcheck-seccomp-shim"
	shimFd    = 3
	shimMagic = "gvcheck-shim/2\n"
	maxSpec   = 64 << 20 // argv and environment are bounded by ARG_MAX, far below
)

// Spec describes how the shim starts a program. It travels gob-encoded, so
// a field can be added freely: the shim and its starter are one binary.
type Spec struct {
	// Path is executed with Argv and Env, like execve.
	Path string
	Argv []string
	Env  []string
	// Filter is installed just before exec; empty installs none.
	Filter []unix.SockFilter
	// Listener installs the filter with a user-notification listener (for
	// Notify rules). The listener is a close-on-exec descriptor of the
	// shim, which its supervisor takes with pidfd_getfd; see FindListener.
	Listener bool
	// Handshake makes the shim report the thread that will exec and wait
	// until its starter says go (Started.Ready, Started.Release), so that a
	// tracer can seize that thread before anything is filtered or exec'd.
	Handshake bool
	// Signals, if set, are the dispositions and blocked mask the program
	// starts with (those gvcheck itself was started with, normally); nil
	// leaves what the shim inherited.
	Signals *Signals
	// SendListener hands the filter's user-notification listener to the
	// starter (Started.Listener) over the specification's socket instead
	// of leaving it for pidfd_getfd: a supervisor needs no ptrace access.
	SendListener bool
	// Isolate, if set, gives the program a private copy of the machine's
	// files, entered after the handshake and before the filter (package
	// isolate).
	Isolate *isolate.Spec
	// KeepParentDeath keeps the parent-death signal the starter set, so
	// that the program dies with gvcheck (runs that only decide a verdict).
	KeepParentDeath bool
}

// Signals is a signal state for the program.
type Signals struct {
	Ignored sigstate.Set // SIG_IGN; every other signal starts SIG_DFL
	Blocked sigstate.Set
	// KeepMask leaves the mask the shim inherited (its starter's initial
	// mask less the signals the Go runtime unblocks) where Blocked is not
	// known.
	KeepMask bool
}

func (s *Spec) check() error {
	if s.Path == "" || len(s.Argv) == 0 {
		return errors.New("shim: no program")
	}
	if len(s.Filter) > BPFMaxInsns {
		return fmt.Errorf("shim: filter has %d instructions, the kernel allows %d", len(s.Filter), BPFMaxInsns)
	}
	return nil
}

func (s *Spec) encode() ([]byte, error) {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(s); err != nil {
		return nil, fmt.Errorf("shim: encode: %w", err)
	}
	if body.Len() > maxSpec {
		return nil, fmt.Errorf("shim: specification of %d bytes is too large", body.Len())
	}
	msg := make([]byte, 0, len(shimMagic)+4+body.Len())
	msg = append(msg, shimMagic...)
	msg = binary.LittleEndian.AppendUint32(msg, uint32(body.Len()))
	return append(msg, body.Bytes()...), nil
}

func decodeSpec(r io.Reader) (*Spec, error) {
	head := make([]byte, len(shimMagic)+4)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("read specification: %w", err)
	}
	if string(head[:len(shimMagic)]) != shimMagic {
		return nil, errors.New("not a gvcheck shim specification")
	}
	n := binary.LittleEndian.Uint32(head[len(shimMagic):])
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
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// StartAttr is how Start starts the shim.
type StartAttr struct {
	Dir       string     // working directory; "" keeps gvcheck's
	Files     []*os.File // the program's descriptors 0, 1, 2
	Pdeathsig syscall.Signal
	// Cloneflags are namespaces the shim starts in (CLONE_NEWPID,
	// CLONE_NEWNS, ...), with the id mappings of a new user namespace.
	Cloneflags               uintptr
	UidMappings, GidMappings []syscall.SysProcIDMap
	// Setpgid puts the shim (and the program) in a process group of its
	// own, so that a run's whole group can be killed.
	Setpgid bool
}

// Started is a running shim.
type Started struct {
	Pid  int
	conn *os.File
}

// Start starts the shim for spec. With spec.Handshake the caller must then
// call Ready and Release (or Close to abandon it).
func Start(spec *Spec, attr StartAttr) (*Started, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	msg, err := spec.encode()
	if err != nil {
		return nil, err
	}
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	files := append(slices.Clone(attr.Files), theirs)
	if len(files) != shimFd+1 {
		mine.Close()
		return nil, errors.New("shim: need exactly the program's descriptors 0, 1 and 2")
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{shimArg0}, &os.ProcAttr{
		Dir:   attr.Dir,
		Env:   []string{},
		Files: files,
		Sys: &syscall.SysProcAttr{Pdeathsig: attr.Pdeathsig, Cloneflags: attr.Cloneflags,
			UidMappings: attr.UidMappings, GidMappings: attr.GidMappings, Setpgid: attr.Setpgid},
	})
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("shim: start: %w", err)
	}
	s := &Started{Pid: proc.Pid, conn: mine}
	_ = proc.Release()
	theirs.Close()
	if _, err := mine.Write(msg); err != nil {
		// The shim died at once; its exit status tells why.
		mine.Close()
		return s, fmt.Errorf("shim: send specification: %w", err)
	}
	if !spec.Handshake && !spec.SendListener {
		mine.Close()
		s.conn = nil
	}
	return s, nil
}

// Listener receives the listener a shim started with SendListener sends
// once it has installed its filter; an error means the shim ended first
// (its exit status says why).
func (s *Started) Listener() (int, error) {
	if s.conn == nil {
		return -1, errors.New("shim: no listener to receive")
	}
	defer s.Close()
	var b [5]byte
	if _, err := io.ReadFull(s.conn, b[:]); err != nil || b[0] != 'L' {
		return -1, fmt.Errorf("shim: no listener received: %v", err)
	}
	fd, err := TakeFd(s.Pid, int(binary.LittleEndian.Uint32(b[1:])))
	if err != nil {
		return -1, fmt.Errorf("shim: take listener: %w", err)
	}
	if _, err := s.conn.Write([]byte{'K'}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("shim: take listener: %w", err)
	}
	return fd, nil
}

// TakeFd duplicates descriptor fd of process pid into this process
// (pidfd_getfd, Linux 5.6), close-on-exec.
func TakeFd(pid, fd int) (int, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	nfd, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_getfd %d/%d: %w", pid, fd, err)
	}
	return nfd, nil
}

func socketPair() (mine, theirs *os.File, err error) {
	mine, theirs, err = reap.SocketPair()
	if err != nil {
		return nil, nil, fmt.Errorf("shim: %w", err)
	}
	return mine, theirs, nil
}

// Handoff returns how to start the shim for spec (which must take no
// handshake) from another process, such as a reaper (package reap): the
// executable, its argv, and the specification to give it on its
// descriptor 3, which must be a socket its parent made.
func (s *Spec) Handoff() (path string, argv []string, msg []byte, err error) {
	if s.Handshake {
		return "", nil, nil, errors.New("shim: a handed-off shim takes no handshake")
	}
	if err := s.check(); err != nil {
		return "", nil, nil, err
	}
	msg, err = s.encode()
	return "/proc/self/exe", []string{shimArg0}, msg, err
}

// Ready waits until the shim reports the thread that will exec the program
// and returns its id. That thread then waits for Release; nothing is
// filtered or exec'd before. An error means the shim ended (its exit
// status says why).
func (s *Started) Ready() (int, error) {
	if s.conn == nil {
		return 0, errors.New("shim: no handshake")
	}
	var b [5]byte
	if _, err := io.ReadFull(s.conn, b[:]); err != nil || b[0] != 'R' {
		return 0, fmt.Errorf("shim ended before it was ready")
	}
	return int(binary.LittleEndian.Uint32(b[1:])), nil
}

// Release lets the shim go on: install the filter and exec.
func (s *Started) Release() error {
	if s.conn == nil {
		return errors.New("shim: no handshake")
	}
	_, err := s.conn.Write([]byte{'G'})
	s.Close()
	if err != nil {
		return fmt.Errorf("shim: release: %w", err)
	}
	return nil
}

// Close abandons the handshake: a shim waiting for Release then exits.
func (s *Started) Close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// Command returns an unstarted command that runs spec through the shim
// without a handshake, for tests and callers that need no tracer; set
// Stdin/Stdout/Stderr/Dir on it. The specification is written from a
// goroutine; close ExtraFiles[0] after the command has started.
func (s *Spec) Command() (*exec.Cmd, error) {
	if s.Handshake {
		return nil, errors.New("shim: Command cannot do a handshake; use Start")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	msg, err := s.encode()
	if err != nil {
		return nil, err
	}
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	go func() {
		_, _ = mine.Write(msg)
		mine.Close()
	}()
	return &exec.Cmd{Path: "/proc/self/exe", Args: []string{shimArg0}, Env: []string{}, ExtraFiles: []*os.File{theirs}}, nil
}

// ShimMain must be called first thing in main (and in TestMain of tests
// that start traced programs). In the shim it installs the filter it was
// given and execs the program, never returning; when that fails it exits
// like a shell: 127 when the program does not exist, 126 when it cannot be
// executed, with a message on stderr. Elsewhere it returns false at once.
//
// It serves the reaper's role (package reap) the same way.
func ShimMain() bool {
	reap.Dispatch()
	if len(os.Args) != 1 || os.Args[0] != shimArg0 {
		return false
	}
	code, err := shim()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvcheck: %v\n", err)
	}
	os.Exit(code)
	return true
}

func shim() (int, error) {
	// seccomp filters are per thread and the exec must come from the thread
	// that has one (and that the tracer holds).
	runtime.LockOSThread()
	if reap.Secure() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return 126, fmt.Errorf("shim: set no_new_privs: %w", err)
		}
	}
	if err := reap.TrustStarter(shimFd); err != nil {
		return 126, fmt.Errorf("the seccomp shim runs only when gvcheck starts it: %w", err)
	}
	conn := os.NewFile(shimFd, "shim")
	spec, err := decodeSpec(conn)
	if err != nil {
		return 126, fmt.Errorf("shim: %w", err)
	}
	if spec.Handshake {
		var b [5]byte
		b[0] = 'R'
		binary.LittleEndian.PutUint32(b[1:], uint32(unix.Gettid()))
		if _, err := conn.Write(b[:]); err != nil {
			return 127, fmt.Errorf("shim: handshake: %w", err)
		}
		if _, err := io.ReadFull(conn, b[:1]); err != nil || b[0] != 'G' {
			// gvcheck gave up on the program (and says why) or died.
			return 127, nil
		}
	}
	if !spec.SendListener {
		conn.Close()
	}
	// Steps that need the tracer's hold and must precede the filter go
	// here, before the signal state is set.

	// The starter may have set a parent-death signal to cover the moment
	// before a tracer holds us; a natively started program has none.
	if !spec.KeepParentDeath {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
			return 126, fmt.Errorf("shim: clear parent-death signal: %w", err)
		}
	}
	if spec.Isolate != nil {
		if err := isolate.Enter(spec.Isolate); err != nil {
			return 126, fmt.Errorf("shim: %w", err)
		}
	}
	if s := spec.Signals; s != nil {
		if err := applySignals(s); err != nil {
			return 126, fmt.Errorf("shim: signals: %w", err)
		}
	}
	if len(spec.Filter) > 0 {
		var err error
		switch {
		case spec.SendListener:
			err = installAndSend(spec.Filter, conn)
			conn.Close()
		case spec.Listener:
			if err = installWithListener(spec.Filter); err != nil {
				// No listener here (old kernel, a container's own seccomp
				// policy): let the tracer see those calls as Trace stops.
				err = Install(notifyToTrace(spec.Filter))
			}
		default:
			err = Install(spec.Filter)
		}
		if err != nil {
			return 126, err
		}
	} else if spec.SendListener {
		conn.Close()
	}
	err = unix.Exec(spec.Path, spec.Argv, spec.Env)
	if errors.Is(err, unix.ENOEXEC) {
		// A file the kernel cannot execute (a script without "#!") is run
		// by the shell, as execvp, env and shells do.
		argv := append([]string{"/bin/sh", spec.Path}, spec.Argv[1:]...)
		if e := unix.Exec("/bin/sh", argv, spec.Env); !errors.Is(e, unix.ENOENT) {
			err = e
		}
	}
	code := 126
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		code = 127
	}
	return code, fmt.Errorf("exec %s: %w", spec.Path, err)
}

// applySignals sets every catchable signal to SIG_IGN or SIG_DFL, then the
// mask; the Go runtime's handlers are never the program's (exec resets a
// caught signal to SIG_DFL anyway).
func applySignals(s *Signals) error {
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
			continue
		}
		if err := sigstate.SetAction(sig, s.Ignored.Has(sig)); err != nil && err != unix.EINVAL {
			return fmt.Errorf("%v: %w", sig, err)
		}
	}
	if s.KeepMask {
		return nil
	}
	return sigstate.SetMask(s.Blocked)
}

// Install installs prog as a seccomp filter on the calling thread. It sets
// no_new_privs only when the kernel requires it (without CAP_SYS_ADMIN), so
// that setuid programs keep working when gvcheck runs as root.
func Install(prog []unix.SockFilter) error {
	return install(prog, 0)
}

// installWithListener is Install with a user-notification listener; the
// listener descriptor stays open (close-on-exec) in the calling process.
// Waits for an answer are killable only, once the supervisor has received
// the notification (where the kernel supports it), so that a signal does
// not make the call restart and be notified twice.
func installWithListener(prog []unix.SockFilter) error {
	_, err := installListener(prog)
	return err
}

// installListener is InstallWithListener returning the listener.
func installListener(prog []unix.SockFilter) (int, error) {
	fd, err := installFd(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if errors.Is(err, unix.EINVAL) { // before Linux 5.19
		fd, err = installFd(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	}
	return fd, err
}

// installAndSend installs prog with a listener and hands it to the starter
// over conn by its number, which the starter takes with pidfd_getfd:
// passing the descriptor itself takes sendmsg, and a simulation may hand
// sendmsg to the supervisor that is waiting for this very listener.
// Between installing and closing it the thread only writes, reads and
// closes, which no simulation of gVisor fails.
func installAndSend(prog []unix.SockFilter, conn *os.File) error {
	fd, err := installListener(prog)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var b [5]byte
	b[0] = 'L'
	binary.LittleEndian.PutUint32(b[1:], uint32(fd))
	c := int(conn.Fd())
	if _, err := unix.Write(c, b[:]); err != nil {
		return fmt.Errorf("send listener: %w", err)
	}
	// Keep it open until the starter has its copy.
	if n, err := unix.Read(c, b[:1]); err != nil || n != 1 || b[0] != 'K' {
		return fmt.Errorf("send listener: the starter did not take it (%v)", err)
	}
	return nil
}

func install(prog []unix.SockFilter, flags uintptr) error {
	_, err := installFd(prog, flags)
	return err
}

// installFd installs prog and returns what seccomp(2) returned: the
// listener's descriptor when flags ask for one.
func installFd(prog []unix.SockFilter, flags uintptr) (int, error) {
	if len(prog) == 0 {
		return -1, errors.New("install filter: empty program")
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, err := seccompSetFilter(&fprog, flags)
	if err == unix.EACCES {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("install filter: set no_new_privs: %w", err)
		}
		fd, err = seccompSetFilter(&fprog, flags)
	}
	runtime.KeepAlive(prog)
	if err != nil {
		return -1, fmt.Errorf("install filter: %w", err)
	}
	return fd, nil
}

// seccompSetFilter installs the filter with SECCOMP_FILTER_FLAG_SPEC_ALLOW:
// by default the kernel turns on speculative-store-bypass mitigation for
// any task with a filter, which slows the program down and makes it behave
// unlike its native self. Kernels before 4.17 lack the flag (EINVAL).
func seccompSetFilter(fprog *unix.SockFprog, flags uintptr) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		flags|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, uintptr(unsafe.Pointer(fprog)))
	if e == unix.EINVAL {
		r, _, e = unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(fprog)))
	}
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// notifyToTrace returns prog with every SECCOMP_RET_USER_NOTIF verdict
// replaced by SECCOMP_RET_TRACE.
func notifyToTrace(prog []unix.SockFilter) []unix.SockFilter {
	out := slices.Clone(prog)
	for i, in := range out {
		if in.Code == bpfRET|bpfK && in.K&unix.SECCOMP_RET_ACTION_FULL == unix.SECCOMP_RET_USER_NOTIF {
			out[i].K = unix.SECCOMP_RET_TRACE
		}
	}
	return out
}

// FindListener returns the number of pid's seccomp user-notification
// listener descriptor, or -1 if it has none (yet).
func FindListener(pid int) int {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == "anon_inode:seccomp notify" {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				return n
			}
		}
	}
	return -1
}
