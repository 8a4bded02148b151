package policy

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/isolate"
)

// The shim is gvcheck re-executed with argv[0] set to shimArg0 and the
// filter in shimEnv; argv[1] is the program's path, argv[2:] its argv. The
// environment variable is removed before the program starts, so the program
// sees exactly the environment it was given.
const (
	shimArg0 = "gvcheck-seccomp-shim"
	shimEnv  = "GVCHECK_SECCOMP_SHIM"
	shimVer  = "1"
)

// Shim describes how the re-exec shim starts a program.
type Shim struct {
	// Filter is installed just before exec; empty installs none.
	Filter []unix.SockFilter
	// Stop makes the shim stop itself (SIGSTOP) before installing the
	// filter, so that a tracer can PTRACE_SEIZE it, then SIGCONT it.
	Stop bool
	// Listener installs the filter with a user-notification listener (for
	// Notify rules). The listener is a close-on-exec descriptor of the
	// shim, which its supervisor takes with pidfd_getfd before answering
	// the shim's first notified call; see FindListener.
	Listener bool
	// SendListener hands the listener to the supervisor instead: the shim
	// sends it over descriptor 3, a Unix socket it inherits, and closes
	// that socket before exec. No ptrace access is needed.
	SendListener bool
	// Isolate, if set, gives the program a private copy of the machine's
	// files before the filter is installed (see package isolate).
	Isolate *isolate.Spec
	// KeepParentDeath keeps the parent-death signal the starter set, so the
	// program dies with gvcheck (runs that only decide a verdict).
	KeepParentDeath bool
}

// ListenerFD is the descriptor over which the shim sends its listener.
const ListenerFD = 3

// EncodeFilter serialises a program as struct sock_filter array bytes.
func EncodeFilter(prog []unix.SockFilter) []byte {
	b := make([]byte, 8*len(prog))
	for i, in := range prog {
		binary.LittleEndian.PutUint16(b[8*i:], in.Code)
		b[8*i+2] = in.Jt
		b[8*i+3] = in.Jf
		binary.LittleEndian.PutUint32(b[8*i+4:], in.K)
	}
	return b
}

// DecodeFilter is the inverse of EncodeFilter.
func DecodeFilter(b []byte) ([]unix.SockFilter, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("filter: %d bytes is not a whole number of instructions", len(b))
	}
	if len(b)/8 > BPFMaxInsns {
		return nil, fmt.Errorf("filter: %d instructions, the kernel allows %d", len(b)/8, BPFMaxInsns)
	}
	prog := make([]unix.SockFilter, len(b)/8)
	for i := range prog {
		prog[i] = unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b[8*i:]),
			Jt:   b[8*i+2],
			Jf:   b[8*i+3],
			K:    binary.LittleEndian.Uint32(b[8*i+4:]),
		}
	}
	return prog, nil
}

// Args returns what to pass to os.StartProcess (or exec.Cmd) to run the
// program at path with argv and environment env through the shim: the
// executable (gvcheck itself), its argv and its environment.
func (s *Shim) Args(path string, argv, env []string) (exe string, args, outEnv []string, err error) {
	if len(argv) == 0 {
		return "", nil, nil, errors.New("shim: empty argv")
	}
	if len(s.Filter) > BPFMaxInsns {
		return "", nil, nil, fmt.Errorf("shim: filter has %d instructions, the kernel allows %d", len(s.Filter), BPFMaxInsns)
	}
	exe, err = os.Executable()
	if err != nil {
		return "", nil, nil, fmt.Errorf("shim: find own executable: %w", err)
	}
	flags := ""
	if s.Stop {
		flags += "s"
	}
	if s.Listener {
		flags += "l"
	}
	if s.SendListener {
		flags += "L"
	}
	if s.KeepParentDeath {
		flags += "k"
	}
	var iso []byte
	if s.Isolate != nil {
		if iso, err = s.Isolate.Encode(); err != nil {
			return "", nil, nil, fmt.Errorf("shim: %w", err)
		}
	}
	spec := shimVer + ":" + flags + ":" + base64.StdEncoding.EncodeToString(EncodeFilter(s.Filter)) + ":" + base64.StdEncoding.EncodeToString(iso)
	args = append([]string{shimArg0, path}, argv...)
	outEnv = make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, shimEnv+"=") {
			outEnv = append(outEnv, kv)
		}
	}
	outEnv = append(outEnv, shimEnv+"="+spec)
	return exe, args, outEnv, nil
}

// Command returns an unstarted command running path with argv under the
// shim, with gvcheck's own environment; set Stdin/Stdout/Stderr/Dir on it.
func (s *Shim) Command(path string, argv []string) (*exec.Cmd, error) {
	exe, args, env, err := s.Args(path, argv, os.Environ())
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{Path: exe, Args: args, Env: env}, nil
}

// IsShim reports whether this process was started as the shim.
func IsShim() bool {
	if len(os.Args) < 3 || os.Args[0] != shimArg0 {
		return false
	}
	_, ok := os.LookupEnv(shimEnv)
	return ok
}

// ShimMain must be called first thing in main (and in TestMain of tests
// that start traced programs). In the shim it installs the filter it was
// given and execs the program, never returning; it exits with status 127
// (126 for a permission problem) and a message on stderr when that fails,
// like a shell. Elsewhere it returns false at once.
func ShimMain() bool {
	if !IsShim() {
		return false
	}
	err := shim()
	code := 127
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		code = 126
	}
	fmt.Fprintf(os.Stderr, "gvcheck: %v\n", err)
	os.Exit(code)
	return true
}

func shim() error {
	// seccomp filters are per thread and the exec must come from the thread
	// that has one (and that the tracer watches).
	runtime.LockOSThread()
	spec := os.Getenv(shimEnv)
	if err := os.Unsetenv(shimEnv); err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	ver, rest, ok := strings.Cut(spec, ":")
	if !ok || ver != shimVer {
		return fmt.Errorf("shim: unsupported protocol %q (gvcheck binary changed while running?)", ver)
	}
	flags, rest, ok := strings.Cut(rest, ":")
	enc, isoEnc, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return errors.New("shim: malformed filter specification")
	}
	var iso *isolate.Spec
	if isoEnc != "" {
		b, err := base64.StdEncoding.DecodeString(isoEnc)
		if err != nil {
			return fmt.Errorf("shim: decode isolation: %w", err)
		}
		if iso, err = isolate.Decode(b); err != nil {
			return fmt.Errorf("shim: %w", err)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return fmt.Errorf("shim: decode filter: %w", err)
	}
	prog, err := DecodeFilter(raw)
	if err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	if strings.Contains(flags, "s") {
		if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
			return fmt.Errorf("shim: stop for tracer: %w", err)
		}
	}
	// The starter may have set a parent-death signal to cover the moment
	// before a tracer holds us; a natively started program has none.
	if !strings.Contains(flags, "k") {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
			return fmt.Errorf("shim: clear parent-death signal: %w", err)
		}
	}
	if iso != nil {
		if err := isolate.Enter(iso); err != nil {
			return fmt.Errorf("shim: %w", err)
		}
	}
	if len(prog) > 0 {
		var err error
		if strings.Contains(flags, "L") {
			err = installAndSend(prog)
		} else if strings.Contains(flags, "l") {
			if err = InstallWithListener(prog); err != nil {
				// No listener here (old kernel, a container's own seccomp
				// policy): let the tracer see those calls as Trace stops.
				err = Install(NotifyToTrace(prog))
			}
		} else {
			err = Install(prog)
		}
		if err != nil {
			return err
		}
	}
	path, argv := os.Args[1], os.Args[2:]
	if err := unix.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

// installAndSend installs prog with a listener and sends the listener over
// ListenerFD. Between the two the thread makes no call but sendmsg and
// close, which no simulation of gVisor fails, so nothing can wait for a
// supervisor that does not have the listener yet.
func installAndSend(prog []unix.SockFilter) error {
	fd, err := installListener(prog)
	if err != nil {
		return err
	}
	err = unix.Sendmsg(ListenerFD, []byte{0}, unix.UnixRights(fd), nil, 0)
	unix.Close(ListenerFD)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("send listener: %w", err)
	}
	return nil
}

// Install installs prog as a seccomp filter on the calling thread. It sets
// no_new_privs only when the kernel requires it (without CAP_SYS_ADMIN), so
// that setuid programs keep working when gvcheck runs as root.
func Install(prog []unix.SockFilter) error {
	_, err := install(prog, 0)
	return err
}

// InstallWithListener is Install with a user-notification listener; the
// listener descriptor stays open (close-on-exec) in the calling process.
// Waits for an answer are killable only, once the supervisor has received
// the notification (where the kernel supports it), so that a signal does
// not make the call restart and be notified twice.
func InstallWithListener(prog []unix.SockFilter) error {
	_, err := installListener(prog)
	return err
}

// installListener is InstallWithListener returning the listener.
func installListener(prog []unix.SockFilter) (int, error) {
	fd, err := install(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if errors.Is(err, unix.EINVAL) { // before Linux 5.19
		fd, err = install(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	}
	return fd, err
}

// install installs prog and returns what seccomp(2) returned: the
// listener's descriptor when flags ask for one.
func install(prog []unix.SockFilter, flags uintptr) (int, error) {
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

// NotifyToTrace returns prog with every SECCOMP_RET_USER_NOTIF verdict
// replaced by SECCOMP_RET_TRACE.
func NotifyToTrace(prog []unix.SockFilter) []unix.SockFilter {
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
