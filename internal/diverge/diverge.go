// Package diverge compares a program's syscalls natively and under gVisor
// and finds where their outcomes part: the calls that succeeded natively
// but failed under gVisor, failed differently, or touched paths gVisor
// lacks. Those are the likely reasons a program that works on Linux breaks
// on gVisor, including the many reasons that involve no unimplemented
// syscall at all.
package diverge

import (
	"github.com/gvcheck/gvcheck/internal/profile"
)

// Kinds of divergence, most telling first.
const (
	// KindUnsupported: gVisor answered ENOSYS (or its unimplemented errno)
	// where Linux did not.
	KindUnsupported = "unsupported"
	// KindMissingPath: a /proc, /sys or /dev path that exists natively is
	// absent under gVisor.
	KindMissingPath = "missing-path"
	// KindSocketFamily: gVisor refused a socket family, type or protocol.
	KindSocketFamily = "socket-family"
	// KindIoctl: gVisor answered an ioctl with ENOTTY (or EINVAL) that
	// Linux served.
	KindIoctl = "ioctl-unsupported"
	// KindFailed: succeeded natively, failed under gVisor.
	KindFailed = "failed-under-gvisor"
	// KindErrno: failed on both, with different errors.
	KindErrno = "errno-differs"
	// KindValue: succeeded on both, but a call whose result is a fixed
	// fact of the system returned another value (gVisor's stubs:
	// sched_get_priority_max(SCHED_FIFO) is 0 there, 99 on Linux).
	KindValue = "value-differs"
	// KindListing: a directory gVisor synthesises listed fewer entries
	// (getdents returned less) than on Linux.
	KindListing = "listing-shorter"
	// KindSplit: no call failed differently, but the process took another
	// path under gVisor: the calls just before returned different data
	// (a netlink answer, a /proc file's contents).
	KindSplit = "control-flow"
	// KindExtra: a failing call only gVisor's run made (often a fallback
	// after an earlier divergence).
	KindExtra = "extra"
	// KindSucceeded: failed natively, succeeded under gVisor; rarely a
	// cause, listed last.
	KindSucceeded = "ok-under-gvisor"
)

var kindOrder = map[string]int{
	KindUnsupported: 0, KindMissingPath: 1, KindSocketFamily: 1, KindIoctl: 1,
	KindFailed: 2, KindErrno: 3, KindValue: 3, KindListing: 3, KindSplit: 4, KindExtra: 5, KindSucceeded: 6,
}

// Divergence is one call whose outcome differs between the two runs.
type Divergence struct {
	Rank int    // 1 = most likely cause
	Exe  string // program that made the call
	// Native and GVisor are the call as each run made it; the zero Call on
	// the side that did not make it.
	Native, GVisor profile.Call
	Kind           string
	Summary        string // one sentence
	Count          int    // how many times this same divergence occurred
	// ProcessFailed is set when the process that made the call ended
	// differently under gVisor (other exit status, or no exit).
	ProcessFailed bool

	// Proc numbers the gVisor process (and program) the call belongs to,
	// in order of first call; Pos is the call's position in it (threads
	// one after the other, the first thread first).
	Proc, Pos int
}

// Options refine a comparison with what else is known.
type Options struct {
	// Unsupported tells whether gVisor does not support a call (as its
	// "Unsupported syscall" reports or the compatibility database say).
	// A failure of such a call ranks as unsupported whatever its errno
	// (gVisor answers some unsupported calls ENODEV, EOPNOTSUPP, EINVAL).
	Unsupported func(profile.Call) bool
}

// CompareWith is Compare with options.
func CompareWith(native, gvisor []profile.Call, opt Options) []Divergence {
	unsup := opt.Unsupported
	if unsup == nil {
		unsup = func(profile.Call) bool { return false }
	}
	ns, gs := segments(native), segments(gvisor)
	var out []Divergence
	for gi, pair := range matchSegments(ns, gs) {
		g := gs[gi]
		if pair < 0 {
			out = append(out, extras(g, gi, unsup)...)
			continue
		}
		out = append(out, compareSegment(ns[pair], g, gi, unsup)...)
	}
	return rank(out)
}
