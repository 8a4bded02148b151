package probe

import (
	"slices"
	"strings"

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
// threads are aligned on the calls that preceded the denied one in the
// reference (see aligned), and failing that, the fallback is what the
// simulated run did that the reference did not: syscalls it alone made,
// else ones it made as many more times as the reference made the denied
// call, in the same executable.
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
			fb.Failed, fb.Next = aligned(c, calls, ref)
			if len(fb.Next) == 0 {
				fb.Failed, fb.Next = instead(c, calls, ref)
			}
			if len(fb.Next) > 0 {
				fb.Then = fb.Next[0]
			}
		}
		out = append(out, fb)
	}
	return out
}

// contextLen is how many preceding calls of a thread identify the place
// where it made a denied call.
const contextLen = 4

// aligned finds where the simulated run's threads were when they made a
// denied call c: in the reference, each call of c is preceded in its thread
// by some calls (its context); in the simulated run, what a thread of the
// same executable did right after that same context, beyond what the
// reference did after it, is what it did instead of c. It returns how
// often the reference made c and the follow-ups, most frequent first.
func aligned(c Candidate, sim, ref []profile.Call) (int, []string) {
	type place struct{ exe, ctx string }
	follow := func(calls []profile.Call, want func(place) bool, visit func(p place, next *profile.Call)) {
		hist := map[int][]string{}
		for i := range calls {
			x := &calls[i]
			tid := x.Tid
			if tid == 0 {
				tid = x.Pid
			}
			h := hist[tid]
			if len(h) >= contextLen {
				p := place{x.Exe, strings.Join(h[len(h)-contextLen:], " ")}
				if want(p) {
					visit(p, x)
				}
			}
			hist[tid] = append(h, x.Name)
		}
	}
	contexts := map[place]bool{}
	n := 0
	follow(ref, func(place) bool { return true }, func(p place, x *profile.Call) {
		if x.Nr == c.Nr {
			contexts[p] = true
			n++
		}
	})
	if n == 0 || len(contexts) == 0 {
		return 0, nil
	}
	votes := map[string]int{}
	follow(ref, func(p place) bool { return contexts[p] }, func(_ place, x *profile.Call) { votes[x.Name]-- })
	follow(sim, func(p place) bool { return contexts[p] }, func(_ place, x *profile.Call) { votes[x.Name]++ })
	var next []string
	for name, v := range votes {
		if v > 0 && name != c.Syscall {
			next = append(next, name)
		}
	}
	slices.SortFunc(next, func(a, b string) int {
		if votes[a] != votes[b] {
			return votes[b] - votes[a]
		}
		return strings.Compare(a, b)
	})
	if len(next) > maxNext {
		next = next[:maxNext]
	}
	return n, next
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
