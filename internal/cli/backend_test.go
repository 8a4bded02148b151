package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
	"github.com/gvcheck/gvcheck/internal/trace/ebpf"
)

func traced() (*trace.Result, error) {
	p := profile.New(sysno.Host())
	p.Sources = []profile.Source{{Kind: "trace", Coverage: profile.CoverageFull}}
	return &trace.Result{Profile: p}, nil
}

// TestBackendFallback: auto falls back to ptrace when the BPF program
// cannot be loaded, and says so; an explicit --backend ebpf does not.
func TestBackendFallback(t *testing.T) {
	unavailable := func() (*trace.Result, error) {
		return nil, fmt.Errorf("%w: the kernel rejected the program", ebpf.ErrUnavailable)
	}
	res, err := backend{name: "ebpf", auto: true, why: "auto: ..."}.trace(unavailable, traced)
	if err != nil {
		t.Fatal(err)
	}
	src := res.Profile.Sources[0]
	if src.Backend != "ptrace" || !strings.Contains(src.Why, "auto: the eBPF backend is unavailable: the kernel rejected the program") {
		t.Errorf("fallback recorded as %q: %q", src.Backend, src.Why)
	}
	if _, err := (backend{name: "ebpf", why: "chosen with --backend ebpf"}).trace(unavailable, traced); !errors.Is(err, ebpf.ErrUnavailable) {
		t.Errorf("--backend ebpf fell back: %v", err)
	}
	other := func() (*trace.Result, error) { return nil, errors.New("run: ./x: command not found") }
	if _, err := (backend{name: "ebpf", auto: true}).trace(other, traced); err == nil {
		t.Error("an error of the program, not of the backend, fell back to ptrace")
	}
	res, err = backend{name: "ebpf", auto: true, why: "auto: fine"}.trace(traced, unavailable)
	if err != nil || res.Profile.Sources[0].Backend != "ebpf" || res.Profile.Sources[0].Why != "auto: fine" {
		t.Errorf("ebpf result %+v, %v", res.Profile.Sources, err)
	}
}

func TestChooseBackend(t *testing.T) {
	cases := []struct {
		flag     string
		simulate bool
		need     string
		want     string // backend name, or an error's text
	}{
		{"ptrace", false, "", "ptrace"},
		{"auto", true, "", "ptrace"},
		{"ptrace", false, "--cgroup", "--cgroup needs the ebpf backend"},
		{"ebpf", true, "", "--simulate makes syscalls fail"},
		{"bpf", false, "", `unknown backend "bpf"`},
	}
	for _, c := range cases {
		b, err := chooseBackend(c.flag, c.simulate, c.need)
		got := b.name
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("chooseBackend(%q, %v, %q) = %q, want %q", c.flag, c.simulate, c.need, got, c.want)
		}
	}
	// auto without --simulate: ebpf exactly when the machine allows it.
	b, err := chooseBackend("auto", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, cerr := ebpf.Check(); (cerr == nil) != (b.name == "ebpf") || !strings.HasPrefix(b.why, "auto: ") {
		t.Errorf("auto chose %+v; ebpf.Check: %v", b, cerr)
	}
}
