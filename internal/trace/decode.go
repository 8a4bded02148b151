package trace

import "github.com/gvcheck/gvcheck/internal/sysargs"

// Key arguments are decoded by package sysargs, shared with the strace log
// parser so that both produce the same profile keys.

// interestingPath: the tracer keeps paths under /proc, /sys and /dev, the
// trees gVisor synthesises.
func interestingPath(p string) bool { return sysargs.SynthesizedPath(p) }
