package diverge

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

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
