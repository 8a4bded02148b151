package analyze

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// newestTarget is the newest embedded gVisor with its argument rules.
func newestTarget(t *testing.T) (*compat.Table, *rules.Set) {
	t.Helper()
	v := compat.Latest()
	table, err := compat.Load(v, sysno.AMD64, "")
	if err != nil {
		t.Fatal(err)
	}
	set, ok := rules.For(v.ID, sysno.AMD64)
	if !ok {
		t.Fatalf("no rules for %s", v.ID)
	}
	return table, set
}

// call records one call whose arguments strace printed as text.
func call(t *testing.T, p *profile.Profile, name, text string) {
	t.Helper()
	nr, _ := sysno.Number(p.Arch, name)
	c := &profile.Call{Nr: nr, Name: name, Text: text}
	display, values, ok := sysargs.KeyFromText(p.Arch, name, text)
	if !ok {
		t.Fatalf("no key in %s(%s)", name, text)
	}
	c.Key, c.KeyValues = display, values
	p.Add(c)
}

func findingFor(res *Result, title string) *Finding {
	for i := range res.Findings {
		if res.Findings[i].Title() == title {
			return &res.Findings[i]
		}
	}
	return nil
}

func TestArgumentRules(t *testing.T) {
	table, set := newestTarget(t)
	p := profile.New(sysno.AMD64)
	call(t, p, "prctl", "PR_SET_NAME, \"worker\"")
	call(t, p, "prctl", "PR_SET_MM, PR_SET_MM_START_CODE, 0x1000, 0, 0")
	call(t, p, "socket", "AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)")
	call(t, p, "socket", "AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP")
	call(t, p, "futex", "0x7f0000000000, FUTEX_WAKE_PRIVATE, 1")
	p.RecordPath("/proc/self/sched", "openat", 1, "")
	p.RecordPath("/proc/self/status", "openat", 1, "")
	p.RecordPath("/proc/nonexistent-natively", "openat", 2, "ENOENT")

	res := AnalyzeWith(p, table, Options{Rules: set})
	if f := findingFor(res, "prctl(PR_SET_MM,PR_SET_MM_START_CODE)"); f == nil || f.Level != LevelUnsupportedArg || f.Errno == "" || f.Source == "" {
		t.Errorf("prctl(PR_SET_MM) finding: %+v\nall: %+v", f, res.Findings)
	}
	if f := findingFor(res, "prctl(PR_SET_NAME)"); f != nil {
		t.Errorf("supported PR_SET_NAME reported: %+v", f)
	}
	packet := findingFor(res, "socket(AF_PACKET,SOCK_RAW,htons(ETH_P_ALL))")
	if packet == nil || packet.Level != LevelNeedsOption || packet.NeedsFlag != "--net-raw" {
		t.Errorf("AF_PACKET finding: %+v\nall: %+v", packet, res.Findings)
	}
	if f := findingFor(res, "socket(AF_INET,SOCK_STREAM,IPPROTO_TCP)"); f != nil {
		t.Errorf("TCP socket reported: %+v", f)
	}
	if f := findingFor(res, "futex"); f != nil {
		t.Errorf("futex with only supported ops reported as partial: %+v", f)
	}
	if f := findingFor(res, "/proc/self/sched"); f == nil || f.Kind != KindPath || f.Errno != "ENOENT" {
		t.Errorf("/proc/self/sched finding: %+v", f)
	}
	if f := findingFor(res, "/proc/self/status"); f != nil {
		t.Errorf("provided path reported: %+v", f)
	}
	if f := findingFor(res, "/proc/nonexistent-natively"); f != nil {
		t.Errorf("a path missing natively too was reported: %+v", f)
	}
	if res.Verdict != AtRisk {
		t.Errorf("verdict %s", res.Verdict)
	}

	// With --net-raw the packet socket is fine.
	res = AnalyzeWith(p, table, Options{Rules: set, RunscFlags: []string{"--net-raw"}})
	if f := findingFor(res, "socket(AF_PACKET,SOCK_RAW,htons(ETH_P_ALL))"); f != nil {
		t.Errorf("AF_PACKET reported despite --net-raw: %+v", f)
	}
}

func TestSyscallWideRules(t *testing.T) {
	table, set := newestTarget(t)
	p := profile.New(sysno.AMD64)
	for _, name := range []string{"io_uring_setup", "rseq"} {
		s, _ := p.SyscallByName(name)
		s.Record(1, "")
	}
	res := AnalyzeWith(p, table, Options{Rules: set})
	uring := findingFor(res, "io_uring_setup")
	if uring == nil || uring.Level != LevelNeedsOption || uring.NeedsFlag != "--iouring" || uring.Errno != "ENOSYS" {
		t.Errorf("io_uring_setup finding: %+v", uring)
	}
	if f := findingFor(res, "rseq"); f == nil || f.Level != LevelPartial {
		t.Errorf("rseq must be informational (glibc falls back): %+v", f)
	}
	res = AnalyzeWith(p, table, Options{Rules: set, RunscFlags: []string{"--iouring"}})
	if f := findingFor(res, "io_uring_setup"); f != nil && f.Level >= LevelNeedsOption {
		t.Errorf("io_uring_setup still needs an option with --iouring: %+v", f)
	}
}
