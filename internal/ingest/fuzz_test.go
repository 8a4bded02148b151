package ingest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// fuzzRead parses data as format f and checks the invariants every parse
// must keep: no panic, an error or a usable profile, and one-line errors.
func fuzzRead(t *testing.T, data []byte, f Format) {
	var calls int
	opt := Options{Format: f, Arch: sysno.AMD64, OnCall: func(c *profile.Call) {
		calls++
		if c.Name == "" {
			t.Fatalf("call without a name: %+v", c)
		}
	}}
	p, err := Read(bytes.NewReader(data), "fuzz.log", opt)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		if !strings.HasPrefix(err.Error(), "fuzz.log") {
			t.Fatalf("error does not name the input: %q", err)
		}
		return
	}
	if p == nil || len(p.Sources) == 0 {
		t.Fatalf("no profile and no error")
	}
	for name, s := range p.Syscalls {
		if name != s.Name {
			t.Fatalf("syscall %q keyed as %q", s.Name, name)
		}
	}
	if f == FormatStrace {
		var total uint64
		for _, s := range p.Syscalls {
			total += s.Count
		}
		if total != uint64(calls) {
			t.Fatalf("%d calls counted, %d reported", total, calls)
		}
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := profile.Read(&buf); err != nil {
		t.Fatalf("profile does not round-trip: %v", err)
	}
}

func FuzzStrace(f *testing.F) {
	f.Add([]byte("[pid  1] read(3,  <unfinished ...>\n[pid 2] <... read resumed>\"x\", 1) = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatStrace) })
}

func FuzzSummary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatStraceSummary) })
}

func FuzzNames(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatNames) })
}

func FuzzSeccomp(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatOCISeccomp) })
}

func FuzzSPO(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatSPO) })
}

func FuzzProfile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, FormatProfile) })
}

// FuzzDetect: detection never panics, and whatever it picks parses or fails
// cleanly.
func FuzzDetect(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if got := Detect(data); got != "" {
			fuzzRead(t, data, got)
		}
	})
}
