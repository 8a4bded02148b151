package probe

import "slices"

// SearchResult is the outcome of Search.
type SearchResult struct {
	// Required are the indexes the program cannot do without, ascending.
	Required []int
	// Evidence maps each required index to the failing denied set that
	// isolated it.
	Evidence map[int][]int
	// Tests is how many configurations were tested.
	Tests int
}

// Search finds a minimal set of candidates 0..n-1 the program needs, given
// that denying all n fails and denying none works. test reports whether
// the program works with the given candidates denied.
//
// It works in rounds, keeping D, a set proven deniable together (the last
// configuration that worked), and U, the undecided candidates in a fixed
// order, with the invariant that denying D ∪ U fails. A round binary-
// searches the shortest failing prefix of U: its last element x is
// required (denying D plus the prefix before x works, adding x fails), the
// prefix before x joins D, x is allowed from then on. Then one check denies
// D plus the rest of U: if the program works, the search is over and that
// run is also the verification that denying everything but the required
// set works; otherwise the rest is the next round's U.
//
// Tests used, for k required of n: Σ_{i=1..k} (⌈log2 m_i⌉ + 1) with
// m_i ≤ n−i+1 the round's undecided count, minus one when the last round
// leaves nothing to check. So at most k·(⌈log2 n⌉+1); with the reference
// and the full simulation, a probe makes at most 2 + k·⌈log2 n⌉ + k runs,
// the last being the verification: for k ≤ 1 exactly the 2 + k·⌈log2 n⌉
// target plus verification, versus 2n for one-at-a-time testing.
//
// Under monotonicity (denying more never helps) each required element is
// necessary given the final deniable set, i.e. the answer is 1-minimal. A
// program that merely needs one of several alternatives gets one of them
// reported, with the others shown deniable.
func Search(n int, test func(deny []int) (bool, error)) (*SearchResult, error) {
	res := &SearchResult{Required: []int{}, Evidence: map[int][]int{}}
	if n == 0 {
		return res, nil
	}
	run := func(deny []int) (bool, error) {
		res.Tests++
		d := slices.Clone(deny)
		slices.Sort(d)
		return test(d)
	}
	var denied []int
	undecided := make([]int, n)
	for i := range undecided {
		undecided[i] = i
	}
	for len(undecided) > 0 {
		// Prefix length lo works (0 is D itself), hi fails (all of U).
		lo, hi := 0, len(undecided)
		failing := append(slices.Clone(denied), undecided...)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			deny := append(slices.Clone(denied), undecided[:mid]...)
			ok, err := run(deny)
			if err != nil {
				return nil, err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
				failing = deny
			}
		}
		x := undecided[hi-1]
		ev := slices.Clone(failing)
		slices.Sort(ev)
		res.Required = append(res.Required, x)
		res.Evidence[x] = ev
		denied = append(denied, undecided[:hi-1]...)
		rest := undecided[hi:]
		if len(rest) == 0 {
			break
		}
		deny := append(slices.Clone(denied), rest...)
		ok, err := run(deny)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		undecided = slices.Clone(rest)
	}
	slices.Sort(res.Required)
	return res, nil
}
