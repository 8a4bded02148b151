package diverge

import (
	"cmp"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
)

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
