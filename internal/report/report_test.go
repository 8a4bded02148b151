package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeTable map[string]compat.Entry

func (f fakeTable) Lookup(nr int) compat.Entry {
	if e, ok := f[sysno.Name(sysno.AMD64, nr)]; ok {
		e.Number = nr
		return e
	}
	return compat.Entry{Number: nr, Support: compat.Full, InTable: true}
}

func sample() *Report {
	table := fakeTable{
		"set_robust_list": {Support: compat.Unimplemented, Errno: "ENOSYS", InTable: true},
		"ioctl":           {Support: compat.Partial, Note: "Only a few ioctls are implemented for backing devices and file systems.", InTable: true},
		"setns":           {Support: compat.Unimplemented, Errno: "ENOSYS", Cap: "CAP_SYS_ADMIN", InTable: true, URLs: []string{"https://example.invalid/issue/1"}},
		"syscall_0x3e7":   {Support: compat.Unimplemented, Errno: "ENOSYS"},
	}
	p := profile.New(sysno.AMD64)
	p.Sources = []profile.Source{{Kind: "strace", Name: "app.log", Coverage: profile.CoverageFull, Exit: &profile.Exit{Code: 0}}}
	for _, c := range []struct {
		name  string
		n     uint64
		errno string
	}{{"read", 100, ""}, {"set_robust_list", 3, ""}, {"ioctl", 5, "ENOTTY"}, {"setns", 1, "EPERM"}, {"syscall_0x3e7", 1, "ENOSYS"}} {
		s, _ := p.SyscallByName(c.name)
		s.Record(c.n, c.errno)
		s.RecordExe("/usr/bin/app", c.n)
	}
	s, _ := p.SyscallByName("ioctl")
	s.RecordArg("TCGETS", []uint64{0x5401}, 5, "ENOTTY")
	w1 := NewWorkload("app.log", p, analyze.AnalyzeWith(p, table, analyze.Options{}), Options{All: true})

	q := profile.New(sysno.AMD64)
	q.Sources = []profile.Source{{Kind: "names", Name: "syscalls_nmap", Coverage: profile.CoverageNames}}
	for _, n := range []string{"read", "write"} {
		s, _ := q.SyscallByName(n)
		s.Record(0, "")
	}
	w2 := NewWorkload("syscalls_nmap", q, analyze.AnalyzeWith(q, table, analyze.Options{}), Options{All: true})
	target := Target{GVisor: "v0.0.0-20260905035102-160fafc42237", Tag: "release-20260817.0",
		Date: time.Date(2026, 9, 5, 5, 50, 48, 0, time.UTC), Arch: "amd64", Source: "gvisor.dev/gvisor"}
	return New("gvcheck test", target, []Workload{w1, w2})
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		format, file string
		opt          Options
	}{
		{"text", "report.txt", Options{}},
		{"text", "report-all.txt", Options{All: true}},
		{"markdown", "report.md", Options{All: true}},
		{"json", "report.json", Options{}},
		{"sarif", "report.sarif", Options{FailOn: analyze.LevelNeedsOption}},
		{"html", "report.html", Options{FailOn: analyze.LevelNeedsOption}},
		{"junit", "report.junit.xml", Options{FailOn: analyze.LevelNeedsOption}},
	} {
		t.Run(c.file, func(t *testing.T) {
			r := sample()
			if !c.opt.All {
				for i := range r.Workloads {
					r.Workloads[i].Rows = nil
				}
			}
			var buf bytes.Buffer
			if err := Write(&buf, r, c.format, c.opt); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from golden (run go test -update):\n%s", c.file, buf.String())
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := writeJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != Schema || back.Verdict != analyze.AtRisk || len(back.Workloads) != 2 {
		t.Fatalf("round trip: %+v", back)
	}
	f := back.Workloads[0].Findings[0]
	if f.Level != analyze.LevelUnimplemented || f.Support != compat.Unimplemented {
		t.Errorf("levels did not survive JSON: %+v", f)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, sample(), "yaml", Options{}); err == nil {
		t.Error("unknown format accepted")
	}
}
