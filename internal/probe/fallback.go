package probe

import (
	"slices"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// maxNext is how many follow-up calls a fallback lists.
const maxNext = 3

// fallbacks reads, from an observed run's calls (in completion order), what
// each thread did right after a denied call failed with gVisor's errno: the
// next different syscall of that thread is usually the fallback (clone
// after clone3, poll after io_uring_setup, ...). Calls on other threads
// are skipped, which is why a thread's own order matters, not the global one.
func fallbacks(denied []Candidate, calls []profile.Call) []Fallback {
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
		out = append(out, fb)
	}
	return out
}

func sameThread(a, b *profile.Call) bool {
	if a.Tid != 0 || b.Tid != 0 {
		return a.Tid == b.Tid
	}
	return a.Pid == b.Pid
}
