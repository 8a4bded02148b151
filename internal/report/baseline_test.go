package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestBaselineRoundTrip(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := NewBaseline(r.Workloads).Write(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Findings) != 4 {
		t.Fatalf("%d entries, want one per finding", len(b.Findings))
	}
	fresh := sample()
	s := b.Apply("base.json", fresh.Workloads)
	if s.Accepted != 4 || s.New != 0 || len(s.Gone) != 0 {
		t.Errorf("summary %+v", s)
	}
	for _, w := range fresh.Workloads {
		if w.Fails(0) {
			t.Errorf("%s fails with every finding accepted", w.Name)
		}
	}
	// An entry for another workload accepts nothing here; one without a
	// workload accepts everywhere.
	b.Findings = []BaselineEntry{{Key: "syscall:setns", Workload: "other"}, {Key: "syscall:ioctl"}}
	fresh = sample()
	s = b.Apply("base.json", fresh.Workloads)
	if s.Accepted != 1 || s.New != 3 || strings.Join(s.Gone, ",") != "syscall:setns" {
		t.Errorf("summary %+v", s)
	}
}

func TestReadBaselineErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json": "read\nwrite\n",
		"version":  `{"gvcheck_baseline": 2, "findings": []}`,
		"no key":   `{"gvcheck_baseline": 1, "findings": [{"workload": "a"}]}`,
		"a report": `{"schema": "gvcheck.report/v1"}`,
		"unknown":  `{"gvcheck_baseline": 1, "findings": [], "extra": 1}`,
	} {
		if _, err := ReadBaseline(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
