package profile

import "github.com/gvcheck/gvcheck/internal/sysargs"

// Call is one completed syscall as a tracer or a log saw it. Streams of
// calls feed both a Profile (via Add) and verify's native-vs-gVisor
// comparison, which needs order and results, not just counts.
type Call struct {
	Pid  int    // thread group id as the evidence numbers it (0 if unknown)
	Tid  int    // thread id (0 if unknown)
	Exe  string // executable path of the process, if known
	Nr   int    // syscall number
	Name string // syscall name
	// Ret is the return value; Errno is set ("ENOENT") when the call failed.
	Ret   int64
	Errno string
	// NoReturn is set when the result is unknown (process exited inside the
	// call, or the evidence stops at entry).
	NoReturn bool
	// Key is the display form of the key argument of an argument-sensitive
	// syscall (e.g. "PR_SET_MM"), KeyValues its raw values; empty otherwise.
	Key       string
	KeyValues []uint64
	// Path is the file path argument, when the call has one (opened,
	// stat'ed, exec'd) and it was captured; a profile keeps only those
	// gVisor synthesises (sysargs.SynthesizedPath).
	Path string
	// Text is the call's arguments as printed, where the evidence had text.
	Text string
}

// Add records c in p.
func (p *Profile) Add(c *Call) {
	s := p.Syscall(c.Nr)
	s.Record(1, c.Errno)
	s.RecordExe(c.Exe, 1)
	if c.Key != "" {
		s.RecordArg(c.Key, c.KeyValues, 1, c.Errno)
	}
	if c.Path != "" && sysargs.SynthesizedPath(c.Path) {
		p.RecordPath(c.Path, s.Name, 1, c.Errno)
	}
}
