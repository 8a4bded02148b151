package diverge

import (
	"regexp"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
)

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
