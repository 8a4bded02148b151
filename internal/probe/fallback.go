package probe

import (
	"slices"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// maxNext is how many follow-up calls a fallback lists.
const maxNext = 3

// fallbacks says what the program did instead of each denied call, from
// the simulated run's calls and the reference run's (both in completion
// order).
//
// Where the simulated run shows the denied call failing with gVisor's
// errno, the next different syscall of that thread is the fallback (clone
// after clone3, poll after io_uring_setup, ...); other threads' calls in
// between are skipped. A seccomp ERRNO verdict fails the call without a
// tracer stop, though, so usually the denied call is invisible; then the
// fallback is what the simulated run did that the reference did not:
// syscalls it alone made, else ones it made as many more times as the
// reference made the denied call, preferring the same executable.
func fallbacks(denied []Candidate, calls, ref []profile.Call) []Fallback {
	out := make([]Fallback, 0, len(denied))
	for _, c := range denied {
		fb := Fallback{Candidate: c}
		for i := range calls {
			call := &calls[i]
			if call.Nr != c.Nr || call.Errno != c.Errno {
				continue
			}
			fb.Failed++
			for j := i + 1; j < len(calls) && len(fb.Next) < maxNext; j++ {
				n := &calls[j]
				if !sameThread(call, n) || n.Nr == c.Nr {
					continue
				}
				if !slices.Contains(fb.Next, n.Name) {
					fb.Next = append(fb.Next, n.Name)
				}
				if fb.Then == "" {
					fb.Then = n.Name
				}
				break
			}
		}
		if fb.Failed == 0 && ref != nil && calls != nil {
			fb.Failed, fb.Next = instead(c, calls, ref)
			if len(fb.Next) > 0 {
				fb.Then = fb.Next[0]
			}
		}
		out = append(out, fb)
	}
	return out
}

// instead compares call counts of the reference and the simulated run for
// a denied candidate c: how often the reference made c (the simulated run
// failed it as often, if it behaved alike) and the syscalls that replaced it.
func instead(c Candidate, sim, ref []profile.Call) (int, []string) {
	type key struct{ exe, name string }
	refCount, simCount := map[key]int{}, map[key]int{}
	refNames := map[string]bool{}
	exes := map[string]bool{}
	n := 0
	for _, x := range ref {
		refCount[key{x.Exe, x.Name}]++
		refNames[x.Name] = true
		if x.Nr == c.Nr {
			n++
			exes[x.Exe] = true
		}
	}
	if n == 0 {
		return 0, nil
	}
	var order []key
	for _, x := range sim {
		k := key{x.Exe, x.Name}
		if simCount[k] == 0 {
			order = append(order, k)
		}
		simCount[k]++
	}
	var fresh, more []string
	for _, k := range order {
		if k.name == c.Syscall || !exes[k.exe] || slices.Contains(fresh, k.name) || slices.Contains(more, k.name) {
			continue
		}
		switch {
		case !refNames[k.name]:
			fresh = append(fresh, k.name)
		case simCount[k]-refCount[k] == n:
			more = append(more, k.name)
		}
	}
	next := append(fresh, more...)
	if len(next) > maxNext {
		next = next[:maxNext]
	}
	return n, next
}

func sameThread(a, b *profile.Call) bool {
	if a.Tid != 0 || b.Tid != 0 {
		return a.Tid == b.Tid
	}
	return a.Pid == b.Pid
}
