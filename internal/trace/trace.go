// Package trace observes the syscalls of a program and its whole process
// tree with ptrace, natively and without strace. Run starts a program under
// a seccomp filter installed by the policy shim: in fast mode only the
// syscalls the policy marks Trace stop the program (the rest run at native
// speed); in full mode every syscall stops once (PTRACE_EVENT_SECCOMP), and
// once more at its exit while its errors are sampled, except the most
// frequent ones, which on Linux 6.6+ are observed through a seccomp
// user-notification listener at a fraction of the cost (counted, with key
// arguments, but without their results). Attach traces running processes
// with PTRACE_SYSCALL, since a filter cannot be put into another process.
package trace

import (
	"os"
	"time"

	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// Options configure Run and Attach.
type Options struct {
	// Policy decides which syscalls stop the program (fast mode); nil
	// traces every syscall (full mode). Errno rules stay in force in both
	// modes, which lets the policy simulate gVisor's missing syscalls. A
	// policy with only Allow and Errno decisions (and Full unset) observes
	// nothing: Run then attaches no tracer at all, and the program may trace
	// and be traced as natively (the Result has an empty profile).
	Policy *policy.Policy
	// Full records every syscall even with a Policy, with key arguments
	// decoded; the tracer then applies the policy's Errno rules itself so
	// that the failed calls are recorded too.
	Full bool
	// ExactErrors waits for the result of every syscall in full mode.
	// Otherwise results (hence errors) are sampled: the first 64 calls of
	// each syscall and key argument, then one in 16, and every call with a
	// recorded path; the others, and those observed through notifications,
	// are recorded with NoReturn set.
	ExactErrors bool
	// Execs records, in fast mode, every exec that the policy lets run
	// unstopped, from its exec event, as an execve of the program started:
	// which programs ran (and so whose file capabilities matter) without a
	// stop for every execve, failed ones included.
	Execs bool
	// The program's stdio; nil means gvcheck's own, so that the program
	// owns the terminal.
	Stdin, Stdout, Stderr *os.File
	// Dir and Env of the program; empty means gvcheck's own.
	Dir string
	Env []string
	// Isolate runs the program as launch runs unobserved ones: PID 1 of a
	// PID namespace of its own, over a private copy of the machine's files
	// (package isolate), and with Network "none" in a network namespace
	// with only loopback.
	Isolate bool
	Network string
	// Rootfs, if set, runs the program isolated in a container image's
	// root (isolate.Rootfs; Isolate is implied), Dir being a path of the
	// image; Path, if set, is the executable (argv[0] is then only the
	// program's argv[0]), as the program's root sees it.
	Rootfs *isolate.Rootfs
	Path   string
	// Started, if set, is called with the program's pid (as gvcheck sees
	// it) once it runs under the tracer.
	Started func(pid int)
	// Signals are the program's initial signal dispositions and mask; nil
	// means those gvcheck was started with, as the program would inherit
	// them from the shell (see package sigstate).
	Signals *policy.Signals
	// OnCall is called with every observed syscall, in order per thread,
	// from the tracing goroutines, never concurrently.
	OnCall func(*profile.Call)
	// Progress, if set, is called a few times a second with live figures,
	// from a goroutine of its own.
	Progress func(Stats)
}

// Stats are live and final figures of a trace.
type Stats struct {
	Processes int           // processes seen (thread groups)
	Syscalls  uint64        // syscalls recorded
	Stopped   uint64        // recorded syscalls the policy traces (fast-mode findings); 0 without a policy
	Elapsed   time.Duration // since the trace started
}

// Result is the outcome of a trace.
type Result struct {
	Profile *profile.Profile
	// Exit is how the program ended (Run); zero for Attach.
	Exit profile.Exit
	Stats
}
