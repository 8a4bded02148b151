package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// ceilLog2 is ⌈log2 n⌉ for n ≥ 1.
func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// runBound is the documented worst case of a whole probe (reference and
// full simulation included): 2 + Σ_{i=1..k} (⌈log2(n−i+1)⌉ + 1).
func runBound(n, k int) int {
	b := 2
	for i := 1; i <= k; i++ {
		b += ceilLog2(n-i+1) + 1
	}
	return b
}

// fakeRunner fails exactly when a required candidate is denied (exit 1
// instead of the reference's 0), like a program with no fallback for those.
type fakeRunner struct {
	required map[int]bool
	runs     int
	// needOneOf: the program works if at least one of these is allowed.
	needOneOf []int
	// flaky: every other run of a configuration that denies anything fails.
	flaky bool
}

func (f *fakeRunner) Run(_ context.Context, deny []Candidate, observe bool) (Outcome, error) {
	f.runs++
	fail := false
	denied := map[int]bool{}
	for _, c := range deny {
		denied[c.Nr] = true
		if f.required[c.Nr] {
			fail = true
		}
	}
	if len(f.needOneOf) > 0 {
		all := true
		for _, nr := range f.needOneOf {
			all = all && denied[nr]
		}
		fail = fail || all
	}
	if f.flaky && len(deny) > 0 && f.runs%2 == 0 {
		fail = true
	}
	var o Outcome
	if fail {
		o.Exit = profile.Exit{Code: 1}
		o.Stderr = "fatal: needed syscall failed\n"
	}
	if observe {
		for _, c := range deny {
			o.Calls = append(o.Calls,
				profile.Call{Pid: 7, Tid: 7, Nr: c.Nr, Name: c.Syscall, Ret: -38, Errno: c.Errno},
				profile.Call{Pid: 7, Tid: 8, Nr: 1, Name: "write"},
				profile.Call{Pid: 7, Tid: 7, Nr: 1000 + c.Nr, Name: "alt_" + c.Syscall})
		}
	}
	return o, nil
}

func candidates(n int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{Syscall: fmt.Sprintf("sys%d", i), Nr: i, Errno: "ENOSYS"}
	}
	return cs
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
				res, err := Probe(context.Background(), Config{Candidates: candidates(n)}, f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var got []int
				for _, r := range res.Required {
					got = append(got, r.Nr)
				}
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
				if len(res.Fallbacks) != n-k {
					t.Errorf("%s: %d fallbacks, want %d", name, len(res.Fallbacks), n-k)
				}
				// The answer is verified: some run denied everything else and worked.
				if k > 0 && !verified(res, n-k) {
					t.Errorf("%s: no successful run denied all %d non-required candidates; steps %+v", name, n-k, res.Steps)
				}
				for _, r := range res.Required {
					if r.Evidence.Exit.Code != 1 || !slices.Contains(r.Denied, r.Syscall) {
						t.Errorf("%s: %s evidence exit %v denied %v", name, r.Syscall, r.Evidence.Exit, r.Denied)
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
		if s.OK && len(s.Denied) == want {
			return true
		}
	}
	return false
}

func TestSearchAlternatives(t *testing.T) {
	// The program needs one of 2 and 5; denying both fails. One is
	// reported, and denying all the others works.
	f := &fakeRunner{needOneOf: []int{2, 5}}
	res, err := Probe(context.Background(), Config{Candidates: candidates(8)}, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Required) != 1 || (res.Required[0].Nr != 2 && res.Required[0].Nr != 5) {
		t.Fatalf("required %+v, want one of sys2, sys5", res.Required)
	}
	if !verified(res, 7) {
		t.Errorf("answer not verified: %+v", res.Steps)
	}
}

func TestProbeFallbacksShown(t *testing.T) {
	f := &fakeRunner{}
	res, err := Probe(context.Background(), Config{Candidates: candidates(3)}, f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != analyze.FallbacksVerified || res.Runs != 2 {
		t.Fatalf("verdict %s after %d runs, want fallbacks-verified after 2", res.Verdict, res.Runs)
	}
	for _, fb := range res.Fallbacks {
		// The other thread's write in between is not the fallback.
		if fb.Failed != 1 || fb.Then != "alt_"+fb.Syscall {
			t.Errorf("fallback %+v, want one failure then alt_%s", fb, fb.Syscall)
		}
		if want := fb.Syscall + " → ENOSYS, then alt_" + fb.Syscall; fb.String() != want {
			t.Errorf("String() = %q, want %q", fb.String(), want)
		}
	}
}

func TestProbeNoCandidates(t *testing.T) {
	f := &fakeRunner{}
	res, err := Probe(context.Background(), Config{Candidates: []Candidate{}}, f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != analyze.Compatible || res.Runs != 1 {
		t.Fatalf("verdict %s after %d runs, want compatible after 1", res.Verdict, res.Runs)
	}
}

func TestProbeRepeatInconsistent(t *testing.T) {
	f := &fakeRunner{flaky: true}
	res, err := Probe(context.Background(), Config{Candidates: candidates(4), Repeat: 3}, f)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Inconsistent || res.Verdict != analyze.AtRisk {
		t.Fatalf("inconsistent=%v verdict=%s, want inconsistent at-risk", res.Inconsistent, res.Verdict)
	}
	if !strings.Contains(res.Inconsistency, "1 of 3 runs worked") && !strings.Contains(res.Inconsistency, "2 of 3 runs worked") {
		t.Errorf("inconsistency %q does not say how many runs worked", res.Inconsistency)
	}
	// A steady program repeated gives the same answer with 3× the runs.
	g := &fakeRunner{required: map[int]bool{2: true}}
	res, err = Probe(context.Background(), Config{Candidates: candidates(4), Repeat: 3}, g)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inconsistent || len(res.Required) != 1 || res.Required[0].Nr != 2 || res.Runs%3 != 0 {
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
					res, err := Probe(context.Background(), Config{Candidates: candidates(n)}, f)
					if err != nil {
						b.Fatal(err)
					}
					worst = max(worst, res.Runs)
				}
				b.Logf("n=%2d k=%d: worst %2d runs (bound %2d, one-at-a-time 2n = %3d)", n, k, worst, runBound(n, k), 2*n)
			}
		}
	}
}

func TestWriteText(t *testing.T) {
	f := &fakeRunner{required: map[int]bool{1: true}}
	res, err := Probe(context.Background(), Config{Candidates: candidates(4)}, f)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		fmt.Sprintf("probe: incompatible (%d runs, ", res.Runs),
		"required (the program fails when they fail):\n    sys1 → ENOSYS: exit status 1, stderr: fatal: needed syscall failed\n",
		"has fallback",
		"    sys3 → ENOSYS\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestUnsupportedAndPolicy(t *testing.T) {
	tb := compatLatest(t)
	none := Unsupported(tb, tb.Arch, CapSet(nil))
	all := Unsupported(tb, tb.Arch, func(string) bool { return true })
	byName := func(cs []Candidate) map[string]string {
		m := map[string]string{}
		for _, c := range cs {
			m[c.Syscall] = c.Errno
		}
		return m
	}
	n, a := byName(none), byName(all)
	// CapError: EPERM without the capability, gVisor's errno with it.
	if n["swapon"] != "EPERM" || a["swapon"] != "ENOSYS" {
		t.Errorf("swapon: %q without caps, %q with", n["swapon"], a["swapon"])
	}
	if n["perf_event_open"] != "ENODEV" || a["vmsplice"] != "ENOSYS" {
		t.Errorf("perf_event_open %q, vmsplice %q", n["perf_event_open"], a["vmsplice"])
	}
	for _, partial := range []string{"read", "clone3", "futex", "io_uring_setup"} {
		if _, ok := a[partial]; ok {
			t.Errorf("%s is denied, but gVisor implements it at least in part", partial)
		}
	}
	pol, err := SimulatePolicy(tb, tb.Arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Compile(); err != nil {
		t.Fatalf("policy does not compile: %v", err)
	}
	if len(pol.Rules) != len(all) && len(pol.Rules) != len(none) {
		t.Errorf("%d rules for %d unsupported syscalls", len(pol.Rules), len(all))
	}
	if _, err := SimulatePolicy(tb, tb.Arch, []Candidate{{Syscall: "x", Nr: 1, Errno: "ENOPE"}}); err == nil {
		t.Error("unknown errno accepted")
	}
}

func compatLatest(t *testing.T) *compat.Table {
	t.Helper()
	v, err := compat.ResolveVersion("latest")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := compat.Load(v, sysno.AMD64, "")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestFallbackAlignment(t *testing.T) {
	seq := func(tid int, names ...string) []profile.Call {
		var out []profile.Call
		for _, n := range names {
			nr := 1
			if n == "clone3" {
				nr = 435
			}
			out = append(out, profile.Call{Pid: 1, Tid: tid, Exe: "/app", Nr: nr, Name: n})
		}
		return out
	}
	// The same context (a b c d) also precedes "e" elsewhere in both runs:
	// only what changed after it counts. Thread 2's calls interleave.
	ref := append(seq(1, "a", "b", "c", "d", "clone3", "x", "a", "b", "c", "d", "e"), seq(2, "p", "q")...)
	sim := append(seq(2, "p"), append(seq(1, "a", "b", "c", "d", "clone", "x", "a", "b", "c", "d", "e"), seq(2, "q")...)...)
	fb := fallbacks([]Candidate{{Syscall: "clone3", Nr: 435, Errno: "ENOSYS"}}, sim, ref)
	if len(fb) != 1 || fb[0].Then != "clone" || fb[0].Failed != 1 || !slices.Equal(fb[0].Next, []string{"clone"}) {
		t.Fatalf("fallbacks %+v, want clone3 → ENOSYS, then clone", fb)
	}
	// Without a matching context, call counts decide: a syscall only the
	// simulated run made.
	fb = fallbacks([]Candidate{{Syscall: "clone3", Nr: 435, Errno: "ENOSYS"}}, seq(1, "z", "fork"), seq(1, "clone3", "y"))
	if fb[0].Then != "z" || !slices.Equal(fb[0].Next, []string{"z", "fork"}) {
		t.Fatalf("fallbacks %+v, want z then fork, which only the simulation made", fb)
	}
}

func TestResultJSON(t *testing.T) {
	f := &fakeRunner{required: map[int]bool{0: true}}
	res, err := Probe(context.Background(), Config{Candidates: candidates(3)}, f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Verdict  string
		Runs     int
		Required []struct {
			Syscall  string
			Errno    string
			Evidence struct{ Exit profile.Exit }
		}
		Fallbacks []struct{ Syscall string }
		Steps     []struct{ Purpose string }
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != "incompatible" || back.Runs != res.Runs || len(back.Required) != 1 || back.Required[0].Syscall != "sys0" ||
		back.Required[0].Errno != "ENOSYS" || back.Required[0].Evidence.Exit.Code != 1 || len(back.Fallbacks) != 2 || back.Steps[0].Purpose != "reference" {
		t.Errorf("JSON %s", b)
	}
}
