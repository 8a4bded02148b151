package probe

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/simulate"
)

// ceilLog2 is ⌈log2 n⌉ for n ≥ 1.
func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// runBound is the documented worst case of a whole probe (reference and
// full simulation included, the traced run not): 2 + Σ_{i=1..k}
// (⌈log2(n−i+1)⌉ + 1).
func runBound(n, k int) int {
	b := 2
	for i := 1; i <= k; i++ {
		b += ceilLog2(n-i+1) + 1
	}
	return b
}

// fakeRunner fails exactly when a required difference is simulated (exit
// 1 instead of the reference's 0), like a program with no fallback for
// those; every simulated difference is met.
type fakeRunner struct {
	required map[int]bool
	runs     int
	// needOneOf: the program works if at least one of these is not simulated.
	needOneOf []int
	// flaky: every other run of a configuration that simulates anything fails.
	flaky bool
	// degraded: a required difference makes it print its errno, not fail.
	degraded bool
}

func (f *fakeRunner) run(_ context.Context, ds []*simulate.Difference, on simulate.Set) (*launch.Result, *met, error) {
	f.runs++
	fail := false
	any := false
	hits := make([]uint64, len(ds))
	for i := range ds {
		if i < len(on) && on[i] {
			any = true
			hits[i] = 1
			if f.required[i] {
				fail = true
			}
		}
	}
	if len(f.needOneOf) > 0 {
		all := true
		for _, i := range f.needOneOf {
			all = all && i < len(on) && on[i]
		}
		fail = fail || all
	}
	if f.flaky && any && f.runs%2 == 0 {
		fail = true
	}
	res := &launch.Result{}
	switch {
	case fail && f.degraded:
		res.Stderr = []byte("warning: feature off: Function not implemented\n")
	case fail:
		res.Exit = profile.Exit{Code: 1}
		res.Stderr = []byte("fatal: needed syscall failed\n")
	}
	return res, &met{hits: hits}, nil
}

func (f *fakeRunner) observe(context.Context) (*launch.Result, *profile.Profile, error) {
	panic("the tests give the differences")
}

func differences(n int) []*simulate.Difference {
	ds := make([]*simulate.Difference, n)
	for i := range ds {
		ds[i] = &simulate.Difference{ID: fmt.Sprintf("syscall:sys%d", i), Kind: simulate.KindSyscall, Title: fmt.Sprintf("sys%d", i), Nr: i, Errno: "ENOSYS"}
	}
	return ds
}

func probeFake(t testing.TB, n int, f *fakeRunner, repeat int) *Result {
	t.Helper()
	res, err := probeWith(context.Background(), Config{Argv: []string{"x"}, Differences: differences(n), Repeat: repeat}, f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func requiredIdx(res *Result) []int {
	var out []int
	for i, d := range res.Differences {
		if d.Status == Required {
			out = append(out, i)
		}
	}
	return out
}

// requiredSets gives, for n and k, the required sets to try: the edges
// (first, last, adjacent at either end) and a few seeded random ones.
func requiredSets(n, k int) [][]int {
	if k == 0 {
		return [][]int{{}}
	}
	var sets [][]int
	first, last := make([]int, k), make([]int, k)
	for i := range k {
		first[i] = i
		last[i] = n - 1 - i
	}
	sets = append(sets, first, last)
	r := rand.New(rand.NewPCG(uint64(n), uint64(k)))
	for range 6 {
		sets = append(sets, r.Perm(n)[:k])
	}
	return sets
}

func TestSearchFindsRequired(t *testing.T) {
	worstRatio := 0.0
	for n := 5; n <= 64; n++ {
		for k := 0; k <= 3; k++ {
			for _, req := range requiredSets(n, k) {
				name := fmt.Sprintf("n=%d/k=%d/%v", n, k, req)
				f := &fakeRunner{required: map[int]bool{}}
				for _, nr := range req {
					f.required[nr] = true
				}
				res := probeFake(t, n, f, 1)
				got := requiredIdx(res)
				want := slices.Sorted(slices.Values(req))
				if !slices.Equal(got, want) {
					t.Errorf("%s: required %v, want %v", name, got, want)
				}
				if res.Runs != f.runs {
					t.Errorf("%s: result says %d runs, runner saw %d", name, res.Runs, f.runs)
				}
				if b := runBound(n, k); res.Runs > b {
					t.Errorf("%s: %d runs, bound %d", name, res.Runs, b)
				}
				if closed := 2 + k*(ceilLog2(n)+1); runBound(n, k) > closed {
					t.Errorf("%s: bound %d above closed form %d", name, runBound(n, k), closed)
				}
				wantVerdict := analyze.FallbacksVerified
				if k > 0 {
					wantVerdict = analyze.Incompatible
				}
				if res.Verdict != wantVerdict {
					t.Errorf("%s: verdict %s, want %s", name, res.Verdict, wantVerdict)
				}
				if tol := n - len(got); tol != n-k {
					t.Errorf("%s: %d tolerated, want %d", name, tol, n-k)
				}
				// The answer is verified: some run denied everything else and worked.
				if k > 0 && !verified(res, n-k) {
					t.Errorf("%s: no successful run denied all %d non-required candidates; steps %+v", name, n-k, res.Steps)
				}
				for _, r := range res.required() {
					if !strings.Contains(r.Evidence, "exited 1") || !slices.Contains(r.Denied, r.Title) {
						t.Errorf("%s: %s evidence %q denied %v", name, r.Title, r.Evidence, r.Denied)
					}
				}
				if k > 0 {
					worstRatio = max(worstRatio, float64(res.Runs)/float64(2*n))
				}
			}
		}
	}
	t.Logf("worst runs / 2n for k ≥ 1: %.2f", worstRatio)
}

func verified(res *Result, want int) bool {
	for _, s := range res.Steps {
		if s.Verdict == string(outcome.Works) && len(s.Simulated) == want {
			return true
		}
	}
	return false
}

func TestSearchAlternatives(t *testing.T) {
	// The program needs one of 2 and 5; denying both fails. One is
	// reported, and denying all the others works.
	f := &fakeRunner{needOneOf: []int{2, 5}}
	res := probeFake(t, 8, f, 1)
	if got := requiredIdx(res); len(got) != 1 || (got[0] != 2 && got[0] != 5) {
		t.Fatalf("required %v, want one of 2, 5", got)
	}
	if !verified(res, 7) {
		t.Errorf("answer not verified: %+v", res.Steps)
	}
}

func TestProbeTolerated(t *testing.T) {
	res := probeFake(t, 3, &fakeRunner{}, 1)
	if res.Verdict != analyze.FallbacksVerified || res.Runs != 2 || !res.Works() {
		t.Fatalf("verdict %s after %d runs, want fallbacks-verified after 2", res.Verdict, res.Runs)
	}
	for _, d := range res.Differences {
		if d.Status != Tolerated || d.Hits != 1 {
			t.Errorf("%s: %s after %d hits, want tolerated", d.Title, d.Status, d.Hits)
		}
	}
}

// TestProbeDegraded: a program that says a feature failed with the errno
// it was given, and exits 0, does not work; the search finds the cause.
func TestProbeDegraded(t *testing.T) {
	res := probeFake(t, 6, &fakeRunner{required: map[int]bool{4: true}, degraded: true}, 1)
	if res.Works() || res.Outcome.Verdict != outcome.Degraded {
		t.Fatalf("outcome %s, want degraded", res.Outcome.Verdict)
	}
	if got := requiredIdx(res); !slices.Equal(got, []int{4}) || !strings.Contains(res.Cause, "sys4") {
		t.Fatalf("required %v, cause %q", got, res.Cause)
	}
	if ev := res.Outcome.Evidence; len(ev) == 0 || ev[0].Errno != "ENOSYS" {
		t.Errorf("evidence %+v, want the message with ENOSYS", ev)
	}
}

func TestProbeNoCandidates(t *testing.T) {
	res := probeFake(t, 0, &fakeRunner{}, 1)
	if res.Verdict != analyze.Compatible || res.Runs != 1 || !res.Works() {
		t.Fatalf("verdict %s after %d runs, want compatible after 1", res.Verdict, res.Runs)
	}
}

func TestProbeRepeatInconsistent(t *testing.T) {
	res := probeFake(t, 4, &fakeRunner{flaky: true}, 3)
	if !res.Inconsistent || res.Verdict != analyze.AtRisk || res.Works() {
		t.Fatalf("inconsistent=%v verdict=%s, want inconsistent at-risk", res.Inconsistent, res.Verdict)
	}
	if !strings.Contains(res.Inconsistency, "the runs disagree") {
		t.Errorf("inconsistency %q does not say the runs disagree", res.Inconsistency)
	}
	// A steady program repeated gives the same answer with 3× the runs.
	res = probeFake(t, 4, &fakeRunner{required: map[int]bool{2: true}}, 3)
	if got := requiredIdx(res); res.Inconsistent || !slices.Equal(got, []int{2}) || res.Runs%3 != 0 {
		t.Fatalf("repeat 3: %+v", res)
	}
}

// BenchmarkSearchRuns prints the runs a probe needs for n candidates with k
// required, worst over the required sets tried, against the 2n of testing
// one syscall at a time (with and without it).
func BenchmarkSearchRuns(b *testing.B) {
	for range b.N {
		for _, n := range []int{5, 8, 16, 32, 64} {
			for k := 0; k <= 3; k++ {
				worst := 0
				for _, req := range requiredSets(n, k) {
					f := &fakeRunner{required: map[int]bool{}}
					for _, nr := range req {
						f.required[nr] = true
					}
					worst = max(worst, probeFake(b, n, f, 1).Runs)
				}
				b.Logf("n=%2d k=%d: worst %2d runs (bound %2d, one-at-a-time 2n = %3d)", n, k, worst, runBound(n, k), 2*n)
			}
		}
	}
}
