package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	oc "github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/simulate"
)

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run go test -update):\n%s", file, got)
	}
}

func sampleTarget() Target {
	return sample().Target
}

// sampleProbe is a probe that found io_uring required and rseq tolerated.
func sampleProbe() *Probe {
	ref := probe.Run{Run: oc.Run{Exit: profile.Exit{Code: 0}}, Duration: 12 * time.Millisecond}
	sim := probe.Run{Run: oc.Run{Exit: profile.Exit{Code: 1}}, Duration: 11 * time.Millisecond}
	res := &probe.Result{
		Outcome: oc.Result{Verdict: oc.Fails, Evidence: []oc.Evidence{
			{Kind: "exit", Text: "exit status 1, natively 0"},
			{Kind: "message", Text: "io_uring_setup: Function not implemented", Stream: "stderr", Errno: "ENOSYS"},
		}},
		Verdict: analyze.Incompatible,
		Differences: []probe.Tried{
			{Difference: &simulate.Difference{ID: "syscall:io_uring_setup", Kind: "syscall", Title: "io_uring_setup", Syscall: "io_uring_setup",
				Errno: "ENOSYS", Level: analyze.LevelNeedsOption, NeedsFlag: "--iouring"},
				Status: probe.Required, Hits: 1, Evidence: "fails: exit status 1", Denied: []string{"io_uring_setup"}},
			{Difference: &simulate.Difference{ID: "syscall:rseq", Kind: "syscall", Title: "rseq", Syscall: "rseq", Errno: "ENOSYS", Level: analyze.LevelPartial},
				Status: probe.Tolerated, Hits: 1},
		},
		Cause:     "it needs io_uring_setup (gVisor: ENOSYS unless runsc runs with --iouring)",
		Reference: ref, Simulated: &sim,
		Steps: []probe.Step{
			{Simulated: nil, Verdict: "works", Runs: 1, Exit: profile.Exit{Code: 0}, Purpose: "reference", Duration: 12 * time.Millisecond},
			{Simulated: []string{"io_uring_setup", "rseq"}, Verdict: "fails", Runs: 1, Exit: profile.Exit{Code: 1}, Purpose: "simulation", Duration: 11 * time.Millisecond},
			{Simulated: []string{"io_uring_setup"}, Verdict: "fails", Runs: 1, Exit: profile.Exit{Code: 1}, Purpose: "search", Duration: 11 * time.Millisecond},
		},
		Runs: 3, Wall: 40 * time.Millisecond,
	}
	return NewProbe("gvcheck test", sampleTarget(), []string{"./uring"}, res)
}

// sampleVerify is a verify run that found ping refused by runsc.
func sampleVerify() *Verify {
	return &Verify{
		Schema: VerifySchema, Tool: "gvcheck test", Command: []string{"ping", "-c1", "127.0.0.1"}, Target: sampleTarget(),
		Verdict: analyze.Incompatible, Works: false, Outcome: "fails",
		Evidence: []Evidence{{Kind: "refused", Text: "runsc refused to start the program"}},
		Cause:    "runsc refused to start /usr/bin/ping: its file capabilities CAP_NET_RAW are outside the sandbox's set, so exec fails; it starts with --net-raw",
		GVisor:   GVisorRun{Runsc: "runsc", Version: "release-20260817.0", Flags: []string{"--network=none"}},
		Native:   RunOutcome{Exit: profile.Exit{Code: 0}, Duration: 5 * time.Millisecond, Calls: 0},
		Sandbox:  RunOutcome{Exit: profile.Exit{Code: 128}, Duration: 300 * time.Millisecond, Refused: "creating process: operation not permitted"},
		Divergences: []Divergence{{Rank: 1, Kind: "errno", Summary: "execve fails with EPERM under gVisor", Syscall: "execve",
			Native: "execve(/usr/bin/ping) = 0", GVisor: "execve(/usr/bin/ping) = -1 EPERM", Count: 1, ProcessFailed: true}},
		Unsupported: []GVisorReport{{Syscall: "rseq", Count: 1, Harmless: true}},
		Findings: []analyze.Finding{{Kind: analyze.KindExec, Syscall: "execve", Arg: "/usr/bin/ping", Number: -1,
			Level: analyze.LevelNeedsOption, Errno: "EPERM", NeedsFlag: "--net-raw", InTable: true}},
	}
}

func TestGoldenExperiments(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		if err := WriteProbe(&buf, sampleProbe(), format); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "probe."+format, buf.Bytes())
		buf.Reset()
		if err := WriteVerify(&buf, sampleVerify(), format); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "verify."+format, buf.Bytes())
	}
}
