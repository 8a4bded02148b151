// Package diverge compares a program's syscalls natively and under gVisor
// and finds where their outcomes part: the calls that succeeded natively
// but failed under gVisor, failed differently, or touched paths gVisor
// lacks. Those are the likely reasons a program that works on Linux breaks
// on gVisor, including the many reasons that involve no unimplemented
// syscall at all.
package diverge

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
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

// segment is the calls of one process while it ran one program.
type segment struct {
	pid   int
	exe   string
	calls []profile.Call
	exit  string // exit_group/exit argument text, "" if none seen
}

// segments splits a stream by process and program: a process that execs
// starts a new segment. Segments are ordered by their first call.
func segments(calls []profile.Call) []*segment {
	var out []*segment
	cur := map[int]*segment{}
	for _, c := range calls {
		s := cur[c.Pid]
		if s == nil || (c.Exe != "" && c.Exe != s.exe && !(isExec(c.Name) && c.Errno != "")) {
			s = &segment{pid: c.Pid, exe: c.Exe}
			cur[c.Pid] = s
			out = append(out, s)
		}
		s.calls = append(s.calls, c)
		if (c.Name == "exit_group" || c.Name == "exit") && (c.Tid == c.Pid || c.Tid == 0 || c.Name == "exit_group") {
			s.exit = firstArg(c.Text)
		}
	}
	return out
}

// processFailed tells from the exit statuses seen ("" when unknown: the
// evidence may not print exit's argument) whether a process ended worse
// under gVisor.
func processFailed(native, gvisor string) bool {
	switch {
	case native != "" && gvisor != "":
		return native != gvisor
	case gvisor != "":
		return gvisor != "0"
	default:
		// gVisor's process never exited (killed, hung) while the native
		// one did.
		return native != ""
	}
}

func isExec(name string) bool { return name == "execve" || name == "execveat" }

func firstArg(text string) string {
	a, _, _ := strings.Cut(text, ",")
	a = strings.TrimSpace(a)
	if v, err := strconv.ParseInt(a, 0, 64); err == nil {
		return strconv.FormatInt(v&0xff, 10)
	}
	return a
}

// progName reduces an executable path to a name comparable across runs:
// the tracer may see the resolved binary (/usr/bin/python3.11) where gVisor
// prints the path exec'd (/usr/bin/python3).
func progName(exe string) string {
	b := path.Base(exe)
	b = strings.TrimRight(b, "0123456789.-")
	return b
}

// matchSegments pairs each gVisor segment with a native one running the
// same program. Forked processes run in a different order from one run to
// the other, so among segments of the same program the pairs are chosen by
// how alike their calls are, then by order. The result maps gVisor segment
// index to native index, -1 for none.
func matchSegments(ns, gs []*segment) []int {
	type cand struct {
		g, n int
		sim  float64
		dist int
	}
	nsig := make([]map[string]bool, len(ns))
	for i, s := range ns {
		nsig[i] = signature(s)
	}
	var cands []cand
	for gi, g := range gs {
		gsig := signature(g)
		name := progName(g.exe)
		for ni, n := range ns {
			sim := 0.0
			switch {
			case progName(n.exe) == name || (gi == 0 && ni == 0):
				sim = 1 + jaccard(gsig, nsig[ni])
			case len(ns) <= crossNameLimit && len(gs) <= crossNameLimit:
				// The tracer may name a program by its resolved file
				// (/bin/sh -> dash): pair such only when their calls agree.
				if j := jaccard(gsig, nsig[ni]); j >= 0.5 {
					sim = j
				}
			}
			if sim > 0 {
				cands = append(cands, cand{gi, ni, sim, abs(gi - ni)})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.sim, a.sim); c != 0 {
			return c
		}
		return cmp.Compare(a.dist, b.dist)
	})
	out := make([]int, len(gs))
	for i := range out {
		out[i] = -1
	}
	usedN := make([]bool, len(ns))
	for _, c := range cands {
		if out[c.g] < 0 && !usedN[c.n] {
			out[c.g], usedN[c.n] = c.n, true
		}
	}
	return out
}

// crossNameLimit bounds the processes for which differently named
// programs are compared (the comparison is quadratic).
const crossNameLimit = 300

// signature is the set of steps a segment took (call and path or key).
func signature(s *segment) map[string]bool {
	sig := map[string]bool{}
	for _, c := range s.calls {
		if relevant(c) {
			sig[c.Name+"\x00"+argPath(c)+"\x00"+c.Key] = true
		}
	}
	return sig
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// noise are syscalls whose outcome or count depends on timing, memory
// layout or the platform rather than on what the program needs.
var noise = map[string]bool{
	"rseq": true, "membarrier": true, "mmap": true, "munmap": true, "mprotect": true,
	"mremap": true, "brk": true, "madvise": true, "futex": true, "sched_yield": true,
	"clock_gettime": true, "gettimeofday": true, "time": true, "nanosleep": true,
	"clock_nanosleep": true, "restart_syscall": true, "getpid": true, "gettid": true,
	"getppid": true, "rt_sigreturn": true, "sigaltstack": true, "rt_sigprocmask": true,
	"rt_sigaction": true, "epoll_wait": true, "epoll_pwait": true, "epoll_pwait2": true,
	"poll": true, "ppoll": true, "select": true, "pselect6": true, "sched_getaffinity": true,
	"set_robust_list": false, "getrandom": true, "exit": true, "exit_group": true,
	"close": true, "wait4": true, "waitid": true, "sched_getparam": true, "getrusage": true,
}

// transient are errors that say "try again", not "cannot".
var transient = map[string]bool{
	"EAGAIN": true, "EINTR": true, "ERESTARTSYS": true, "ERESTARTNOINTR": true,
	"ERESTARTNOHAND": true, "ERESTART_RESTARTBLOCK": true, "ETIMEDOUT": true, "EINPROGRESS": true,
}

func relevant(c profile.Call) bool {
	return !noise[c.Name] && !transient[c.Errno] && !c.NoReturn
}

// threads splits a segment's relevant calls by thread, threads numbered in
// order of first appearance, so thread interleaving does not disturb the
// alignment.
func threads(s *segment) [][]profile.Call {
	idx := map[int]int{}
	var out [][]profile.Call
	for _, c := range s.calls {
		if !relevant(c) {
			continue
		}
		tid := c.Tid
		if tid == 0 {
			tid = c.Pid
		}
		i, ok := idx[tid]
		if !ok {
			i = len(out)
			idx[tid] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

var quotedPath = regexp.MustCompile(`"(/[^"]*)"`)
var addrPath = regexp.MustCompile(`0x[0-9a-f]+ (/[^,\s]*)`)

// argPath returns a path argument for alignment: Path when captured, else
// one recovered from the printed arguments (strace quotes paths, gVisor
// prints them after the pointer).
func argPath(c profile.Call) string {
	if c.Path != "" {
		return c.Path
	}
	// The dirfd of *at calls comes first; gVisor prints it with its path.
	text := c.Text
	if strings.HasSuffix(c.Name, "at") || strings.HasSuffix(c.Name, "at2") || c.Name == "statx" {
		if _, rest, ok := strings.Cut(text, ", "); ok {
			text = rest
		}
	}
	// Whichever form comes first is the path argument; later quoted
	// strings are argv or data.
	q := quotedPath.FindStringSubmatchIndex(text)
	a := addrPath.FindStringSubmatchIndex(text)
	switch {
	case q != nil && (a == nil || q[0] < a[0]):
		return text[q[2]:q[3]]
	case a != nil:
		return text[a[2]:a[3]]
	}
	return ""
}

// same reports whether two calls are the same step of the program: same
// syscall, and same path and key where both sides know them.
func same(a, b profile.Call, ap, bp string) bool {
	if a.Name != b.Name {
		return false
	}
	if !samePath(ap, bp) {
		return false
	}
	if a.Key != "" && b.Key != "" && a.Key != b.Key {
		return false
	}
	return true
}

// samePath compares path arguments where both sides know them. A relative
// path may have been resolved on one side only (the tracer knows the
// process's directory; gVisor's strace prints it only for *at calls).
func samePath(a, b string) bool {
	switch {
	case a == "" || b == "" || a == b:
		return true
	case !strings.HasPrefix(a, "/") && strings.HasPrefix(b, "/"):
		return strings.HasSuffix(b, "/"+strings.TrimPrefix(a, "./"))
	case strings.HasPrefix(a, "/") && !strings.HasPrefix(b, "/"):
		return strings.HasSuffix(a, "/"+strings.TrimPrefix(b, "./"))
	}
	return false
}

// window bounds how far alignment looks ahead for a matching call.
const window = 64

func compareSegment(n, g *segment, proc int, unsup func(profile.Call) bool) []Divergence {
	failed := processFailed(n.exit, g.exit)
	nt, gt := threads(n), threads(g)
	var out []Divergence
	pos := 0
	for ti, gcalls := range gt {
		var ncalls []profile.Call
		if ti < len(nt) {
			ncalls = nt[ti]
		}
		ds, sp := alignThread(ncalls, gcalls, unsup)
		if failed && ti == 0 && sp != nil {
			ds = append(ds, splitDivergence(sp, g))
		}
		for _, d := range ds {
			d.Exe, d.ProcessFailed, d.Proc = g.exe, failed, proc
			d.Pos += pos
			out = append(out, d)
		}
		pos += len(gcalls)
	}
	return out
}

// alignThread walks both call lists, pairing equal steps and skipping the
// fewest calls on either side when they differ (retries, fallbacks, calls
// one kernel needs and the other does not).
func alignThread(ns, gs []profile.Call, unsup func(profile.Call) bool) ([]Divergence, *split) {
	np := make([]string, len(ns))
	for i, c := range ns {
		np[i] = argPath(c)
	}
	gp := make([]string, len(gs))
	for i, c := range gs {
		gp[i] = argPath(c)
	}
	byName := map[string][]int{} // native indexes by syscall, ascending
	for i, c := range ns {
		byName[c.Name] = append(byName[c.Name], i)
	}
	var out []Divergence
	var pairs [][2]int // matched (native, gVisor) indexes
	i, j := 0, 0
	for j < len(gs) {
		if i < len(ns) && same(ns[i], gs[j], np[i], gp[j]) {
			if d, ok := outcome(ns[i], gs[j], unsup); ok {
				d.Pos = j
				out = append(out, d)
			}
			pairs = append(pairs, [2]int{i, j})
			i++
			j++
			continue
		}
		// Find the nearest pair (a, b) ahead with a+b minimal, looking
		// only at native calls of the same name.
		bestA, bestB := -1, -1
		for b := 0; b <= window && j+b < len(gs); b++ {
			if bestA >= 0 && b >= bestA+bestB {
				break
			}
			pos := byName[gs[j+b].Name]
			for k := sort.SearchInts(pos, i); k < len(pos); k++ {
				a := pos[k] - i
				if a > window || (bestA >= 0 && a+b >= bestA+bestB) {
					break
				}
				if (a > 0 || b > 0) && same(ns[pos[k]], gs[j+b], np[pos[k]], gp[j+b]) {
					bestA, bestB = a, b
					break
				}
			}
		}
		if bestA < 0 {
			// Nothing ahead matches: the gVisor call is unmatched.
			if d, ok := extra(gs[j], unsup); ok {
				d.Pos = j
				out = append(out, d)
			}
			j++
			continue
		}
		for b := 0; b < bestB; b++ {
			if d, ok := extra(gs[j+b], unsup); ok {
				d.Pos = j + b
				out = append(out, d)
			}
		}
		i += bestA
		j += bestB
	}
	return out, findSplit(ns, gs, pairs)
}

// splitGap is how many native calls in a row gVisor's run must lack for
// the runs to count as having parted.
const splitGap = 16

// split is where two runs of a thread part: the last step both took, and
// the next step each took.
type split struct {
	gs           []profile.Call
	last         int // index in gs of the last common step
	native, next profile.Call
}

// findSplit finds the first matched step after which the native run goes
// on for many calls gVisor's run does not make.
func findSplit(ns, gs []profile.Call, pairs [][2]int) *split {
	if len(pairs) == 0 {
		return nil
	}
	for k, p := range pairs {
		nextI := len(ns)
		if k+1 < len(pairs) {
			nextI = pairs[k+1][0]
		}
		if nextI-p[0]-1 < splitGap {
			continue
		}
		sp := &split{gs: gs, last: p[1]}
		if p[0]+1 < len(ns) {
			sp.native = ns[p[0]+1]
		}
		if p[1]+1 < len(gs) {
			sp.next = gs[p[1]+1]
		}
		return sp
	}
	return nil
}

// dataCalls are calls whose results are data the program decides on.
var dataCalls = map[string]bool{
	"read": true, "pread64": true, "readv": true, "recvmsg": true, "recvfrom": true,
	"ioctl": true, "getsockopt": true, "getdents64": true, "readlink": true,
	"readlinkat": true, "uname": true, "sysinfo": true, "statfs": true, "fstatfs": true,
	"getsockname": true, "getpeername": true, "recvmmsg": true,
}

// sockCalls receive data from a socket.
var sockCalls = map[string]bool{"recvmsg": true, "recvfrom": true, "recvmmsg": true, "read": false}

// splitDivergence explains a split: where the runs parted and which data
// the program read just before, the likely difference.
func splitDivergence(sp *split, g *segment) Divergence {
	last := sp.gs[sp.last]
	// Name sockets by what socket() made them, as it was at each call (fds
	// are reused), so a netlink answer shows as such.
	sockets := map[int64]string{}
	labels := make([]string, sp.last+1)
	for k, c := range sp.gs[:sp.last+1] {
		switch {
		case c.Name == "socket" && c.Errno == "" && c.Key != "":
			sockets[c.Ret] = c.Key
		case sockCalls[c.Name]:
			if v, err := strconv.ParseInt(strings.Fields(c.Text + " x")[0], 0, 64); err == nil && sockets[v] != "" {
				labels[k] = c.Name + "(" + sockets[v] + ")"
			}
		}
	}
	name := func(k int) string {
		if labels[k] != "" {
			return labels[k]
		}
		return describe(sp.gs[k])
	}
	// Answers from sockets and synthesised files first: they are what
	// gVisor implements differently most often.
	var suspects []string
	seen := map[string]bool{}
	for pass := 0; pass < 2; pass++ {
		for k := sp.last; k >= 0 && k > sp.last-60 && len(suspects) < 5; k-- {
			c := sp.gs[k]
			if !dataCalls[c.Name] || isLibrary(argPath(c)) {
				continue
			}
			if first := sockCalls[c.Name] || sysargs.SynthesizedPath(argPath(c)); first != (pass == 0) {
				continue
			}
			if d := name(k); !seen[d] {
				seen[d] = true
				suspects = append(suspects, d)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s took another path under gVisor after %s", progName(g.exe), describe(last))
	if sp.native.Name != "" {
		fmt.Fprintf(&b, ": natively it went on with %s", describe(sp.native))
	}
	if sp.next.Name != "" {
		fmt.Fprintf(&b, ", under gVisor with %s", describe(sp.next))
	} else {
		b.WriteString(", under gVisor it made no further call")
	}
	if g.exit != "" {
		fmt.Fprintf(&b, " and exited %s", g.exit)
	}
	if len(suspects) > 0 {
		fmt.Fprintf(&b, "; no call failed, so data read just before likely differ: %s", strings.Join(suspects, ", "))
	}
	return Divergence{Native: sp.native, GVisor: sp.next, Kind: KindSplit, Summary: b.String(), Pos: sp.last}
}

// extras reports the failing calls of a gVisor process with no native
// counterpart.
func extras(g *segment, proc int, unsup func(profile.Call) bool) []Divergence {
	var out []Divergence
	for _, calls := range threads(g) {
		for j, c := range calls {
			if d, ok := extra(c, unsup); ok {
				d.Exe, d.Proc, d.Pos = g.exe, proc, j
				out = append(out, d)
			}
		}
	}
	return out
}

func extra(g profile.Call, unsup func(profile.Call) bool) (Divergence, bool) {
	if g.Errno == "" {
		return Divergence{}, false
	}
	// A gVisor-only miss of an ordinary file is the program taking another
	// path (error messages, fallbacks); both runs see the same host files.
	if p := argPath(g); g.Errno == "ENOENT" && p != "" && !sysargs.SynthesizedPath(p) {
		return Divergence{}, false
	}
	d := Divergence{GVisor: g, Kind: KindExtra}
	if g.Errno == "ENOSYS" || unsup(g) {
		d.Kind = KindUnsupported
	}
	d.Summary = fmt.Sprintf("%s failed under gVisor with %s; the native run made no such call", describe(g), g.Errno)
	if d.Kind == KindUnsupported {
		d.Summary = fmt.Sprintf("%s is not supported by gVisor (%s); the native run made no such call", describe(g), g.Errno)
	}
	return d, true
}

// fixedResult are calls whose return value is a fact of the system, the
// same from run to run: where gVisor returns another, it is a stub.
var fixedResult = map[string]bool{
	"sched_get_priority_max": true, "sched_get_priority_min": true, "sched_getscheduler": true,
	"getpriority": true, "ioprio_get": true, "personality": true,
}

// listing are the calls that read a directory's entries.
var listing = map[string]bool{"getdents64": true, "getdents": true}

// outcome compares one aligned pair of calls.
func outcome(n, g profile.Call, unsup func(profile.Call) bool) (Divergence, bool) {
	if n.Errno == g.Errno {
		if p := argPath(g); n.Errno == "" && listing[n.Name] && g.Ret < n.Ret && !n.NoReturn && !g.NoReturn && sysargs.SynthesizedPath(p) {
			d := Divergence{Native: n, GVisor: g, Kind: KindListing}
			d.Summary = fmt.Sprintf("listing %s gave %d bytes of entries under gVisor but %d natively: gVisor provides fewer entries there", p, g.Ret, n.Ret)
			return d, true
		}
		if n.Errno == "" && fixedResult[n.Name] && n.Ret != g.Ret && !n.NoReturn && !g.NoReturn {
			d := Divergence{Native: n, GVisor: g, Kind: KindValue}
			d.Summary = fmt.Sprintf("%s returned %d under gVisor but %d natively", describe(g), g.Ret, n.Ret)
			return d, true
		}
		return Divergence{}, false
	}
	d := Divergence{Native: n, GVisor: g}
	switch {
	case g.Errno == "":
		d.Kind = KindSucceeded
		d.Summary = fmt.Sprintf("%s failed natively with %s but succeeded under gVisor", describe(g), n.Errno)
		return d, true
	case g.Errno == "ENOSYS" || unsup(g):
		d.Kind = KindUnsupported
	case g.Name == "socket" || g.Name == "socketpair":
		if g.Errno == "EAFNOSUPPORT" || g.Errno == "EPROTONOSUPPORT" || g.Errno == "ESOCKTNOSUPPORT" || g.Errno == "EINVAL" || g.Errno == "EPERM" || g.Errno == "EACCES" {
			d.Kind = KindSocketFamily
		}
	case g.Name == "ioctl" && (g.Errno == "ENOTTY" || g.Errno == "EINVAL" || g.Errno == "EOPNOTSUPP"):
		d.Kind = KindIoctl
	case g.Errno == "ENOENT" && sysargs.SynthesizedPath(argPath(g)) && (n.Errno == "" || n.Errno == "EACCES" || n.Errno == "EPERM"):
		d.Kind = KindMissingPath
	}
	if d.Kind == "" {
		if n.Errno == "" {
			d.Kind = KindFailed
		} else {
			d.Kind = KindErrno
		}
	}
	d.Summary = summary(d)
	return d, true
}

func summary(d Divergence) string {
	n, g := d.Native, d.GVisor
	nat := "succeeded natively"
	if n.Errno != "" {
		nat = "failed natively with " + n.Errno
	}
	switch d.Kind {
	case KindUnsupported:
		return fmt.Sprintf("%s is not supported by gVisor (%s) but %s", describe(g), g.Errno, nat)
	case KindMissingPath:
		return fmt.Sprintf("%s does not exist under gVisor: %s failed with ENOENT but %s", argPath(g), g.Name, nat)
	case KindSocketFamily:
		return fmt.Sprintf("gVisor refuses %s with %s but it %s", describe(g), g.Errno, nat)
	case KindIoctl:
		return fmt.Sprintf("gVisor does not support %s (%s) but it %s", describe(g), g.Errno, nat)
	}
	return fmt.Sprintf("%s failed under gVisor with %s but %s", describe(g), g.Errno, nat)
}

// describe names a call with its telling argument: "openat(/proc/self/sched)",
// "ioctl(TCGETS)", "socket(AF_BLUETOOTH,...)".
func describe(c profile.Call) string {
	if c.Key != "" {
		return c.Name + "(" + c.Key + ")"
	}
	if p := argPath(c); p != "" {
		return c.Name + "(" + p + ")"
	}
	return c.Name
}

// isLibrary reports whether p is a shared library, which the dynamic
// loader reads the same way everywhere.
func isLibrary(p string) bool {
	b := path.Base(p)
	return strings.HasSuffix(b, ".so") || strings.Contains(b, ".so.")
}

// rank orders divergences, merges repeats and numbers them: calls in
// processes that ended differently first, then by kind (unsupported first),
// then earliest in the process.
func rank(ds []Divergence) []Divergence {
	var out []Divergence
	seen := map[string]int{}
	for _, d := range ds {
		c := d.GVisor
		if c.Name == "" {
			c = d.Native
		}
		id := strings.Join([]string{progName(d.Exe), d.Kind, c.Name, describe(c), d.Native.Errno, d.GVisor.Errno}, "\x00")
		if i, ok := seen[id]; ok {
			out[i].Count++
			continue
		}
		seen[id] = len(out)
		d.Count = 1
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b Divergence) int {
		if a.ProcessFailed != b.ProcessFailed {
			if a.ProcessFailed {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Proc, b.Proc); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos, b.Pos)
	})
	for i := range out {
		out[i].Rank = i + 1
		if out[i].Count > 1 {
			out[i].Summary += fmt.Sprintf(" (%d times)", out[i].Count)
		}
	}
	return out
}
