package outcome

import (
	"regexp"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
)

func TestCompare(t *testing.T) {
	ok := profile.Exit{}
	for _, tc := range []struct {
		name     string
		ref, run Run
		opt      Options
		want     Judgement
		evidence string // first evidence, as printed
		suspect  int
	}{
		{
			name: "same", want: Works,
			ref: Run{Stdout: []byte("hello\n")}, run: Run{Stdout: []byte("hello\n")},
		},
		{
			name: "exit differs", want: Fails, evidence: "it exited 1 (natively it exited 0)",
			ref: Run{}, run: Run{Exit: profile.Exit{Code: 1}, Stderr: []byte("boom\n")},
		},
		{
			name: "killed", want: Fails, evidence: "it was killed by SIGSEGV (natively it exited 0)",
			ref: Run{}, run: Run{Exit: profile.Exit{Code: 139, Signal: "SIGSEGV"}},
		},
		{
			name: "hang", want: Fails, evidence: "it did not finish in time (natively it exited 0)",
			ref: Run{}, run: Run{TimedOut: true, Exit: profile.Exit{Code: 137, Signal: "SIGKILL"}},
		},
		{
			name: "refused", want: Fails, evidence: "the program was not started: failed to update creds",
			ref: Run{}, run: Run{Refused: "failed to update creds"},
		},
		{
			name: "strerror of a given errno", want: Degraded, opt: Options{Errnos: []string{"ENOSYS"}},
			evidence: `stdout: "io_uring_setup=-1 Function not implemented" (ENOSYS)`,
			ref:      Run{Stdout: []byte("io_uring_setup=3 \n")},
			run:      Run{Stdout: []byte("io_uring_setup=-1 Function not implemented\n")},
		},
		{
			name: "python errno number", want: Degraded, opt: Options{Errnos: []string{"EAFNOSUPPORT"}},
			evidence: `stderr: "warning: [Errno 97] no SCTP" (EAFNOSUPPORT)`,
			ref:      Run{}, run: Run{Stderr: []byte("warning: [Errno 97] no SCTP\n")},
		},
		{
			name: "errno not given: suspect only", want: Works, suspect: 1, opt: Options{Errnos: []string{"ENOENT"}},
			ref: Run{}, run: Run{Stderr: []byte("stress-ng: info: skipped: 1 (fanotify)\n")},
		},
		{
			name: "stub value printed", want: Degraded, opt: Options{Values: []Value{{Call: "sched_get_priority_max", Native: 99, Other: 0}}},
			evidence: `it printed "max 0" where natively sched_get_priority_max returned 99, here 0`,
			ref:      Run{Stdout: []byte("max 99\n")}, run: Run{Stdout: []byte("max 0\n")},
		},
		{
			name: "stub value decoded", want: Degraded, opt: Options{Values: []Value{{Call: "ioprio_get", Native: 24583, Other: 0, Stub: true}}},
			evidence: `it printed "none: prio 0" where natively it printed "idle", after ioprio_get, a stub, returned 0 (natively 24583)`,
			ref:      Run{Stdout: []byte("idle\n")}, run: Run{Stdout: []byte("none: prio 0\n")},
		},
		{
			name: "value of a call that is no stub, decoded: not evidence", want: Works,
			opt: Options{Values: []Value{{Call: "statfs", Native: 0, Other: 1}}},
			ref: Run{Stdout: []byte("ext2/ext3\n")}, run: Run{Stdout: []byte("overlayfs\n")},
		},
		{
			name: "stub, same output: not evidence", want: Works,
			opt: Options{Values: []Value{{Call: "ioprio_get", Native: 24583, Other: 0, Stub: true}}},
			ref: Run{Stdout: []byte("done\n")}, run: Run{Stdout: []byte("done\n")},
		},
		{
			name: "stub, only volatile lines differ: not evidence", want: Works,
			opt: Options{Values: []Value{{Call: "ioprio_get", Native: 24583, Other: 0, Stub: true}},
				Baseline: []Run{{Stdout: []byte("up since Tuesday\ndone\n")}}},
			ref: Run{Stdout: []byte("up since Monday\ndone\n")}, run: Run{Stdout: []byte("up since Friday\ndone\n")},
		},
		{
			name: "numbers vary", want: Works,
			ref: Run{Stdout: []byte("pid 4711 took 12.5ms at 0x7ffd1234abcd\n")},
			run: Run{Stdout: []byte("pid 1 took 13.75ms at 0x7ffe99990000\n")},
		},
		{
			name: "temporary names vary", want: Works, opt: Options{CompareOutput: true},
			ref: Run{Stdout: []byte("wrote /tmp/tmp.Ab3dEf9hIj\n")},
			run: Run{Stdout: []byte("wrote /tmp/tmp.Zz9yXw8vUt\n")},
		},
		{
			name: "line moved to stderr", want: Works,
			ref: Run{Stdout: []byte("Operation not supported\n")}, run: Run{Stderr: []byte("Operation not supported\n")},
			opt: Options{Errnos: []string{"EOPNOTSUPP"}},
		},
		{
			name: "error also printed natively", want: Works, opt: Options{Errnos: []string{"ENOSYS"}},
			ref: Run{Stderr: []byte("feature: not implemented\n")}, run: Run{Stderr: []byte("feature: not implemented\n")},
		},
		{
			name: "compare output", want: Fails, opt: Options{CompareOutput: true}, evidence: "its standard output differs",
			ref: Run{Stdout: []byte("a\nb\n")}, run: Run{Stdout: []byte("a\n")},
		},
		{
			name: "expect", want: Fails, opt: Options{Expect: regexp.MustCompile(`all \d+ passed`)},
			evidence: `its output does not match "all \\d+ passed"`,
			ref:      Run{Stdout: []byte("all 5 passed\n")}, run: Run{Stdout: []byte("4 of 5 passed\n")},
		},
		{
			name: "test failed", want: Fails, evidence: "its test failed: exited 7: connection refused",
			ref: Run{Exit: profile.Exit{Code: 143, Signal: "SIGTERM"}, Test: &Test{}},
			run: Run{Exit: profile.Exit{Code: 143, Signal: "SIGTERM"}, Test: &Test{Exit: profile.Exit{Code: 7}, Output: "connection refused\n"}},
		},
		{
			name: "test passed, exit differs", want: Works,
			ref: Run{Exit: profile.Exit{Code: 143, Signal: "SIGTERM"}, Test: &Test{}},
			run: Run{Exit: ok, Test: &Test{}},
		},
		{
			name: "baseline variation", want: Works, opt: Options{Errnos: []string{"EPERM"}, Baseline: []Run{{Stdout: []byte("x\nlock: permission busy\n")}}},
			ref: Run{Stdout: []byte("x\n")}, run: Run{Stdout: []byte("x\nlock: permission busy\n")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(tc.ref, tc.run, tc.opt)
			if got.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s (evidence %v, suspect %v)", got.Verdict, tc.want, got.Evidence, got.Suspect)
			}
			if tc.evidence != "" && (len(got.Evidence) == 0 || got.Evidence[0].String() != tc.evidence) {
				t.Errorf("evidence %v, want first %q", got.Evidence, tc.evidence)
			}
			if tc.want == Works && len(got.Evidence) != 0 {
				t.Errorf("works with evidence %v", got.Evidence)
			}
			if len(got.Suspect) != tc.suspect {
				t.Errorf("suspect %v, want %d", got.Suspect, tc.suspect)
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"  took 1.25 s   (0x7f00ab)":              "took # s (#)",
		"\x1b[1;31mERROR\x1b[0m: dead beef":       "ERROR: dead beef",
		"sha256 9f86d081884c7d659a2feaa0c55ad015": "sha# #",
		"Tue Nov 30 00:33:22 UTC 2026":            "Tue Nov # # UTC #",
	} {
		if got := normalise(in); got != want {
			t.Errorf("normalise(%q) = %q, want %q", in, got, want)
		}
	}
}
