package compat_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// sameEntries reports the differences between a table parsed from runsc
// and an embedded one.
func sameEntries(t *testing.T, label string, got, want *compat.Table) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("%s: %d entries, embedded %d", label, got.Len(), want.Len())
	}
	for _, c := range compat.Diff(want, got) {
		t.Errorf("%s: %d %s differs in %v: runsc %+v, embedded %+v", label, c.Number, c.Name, c.Fields, c.New, c.Old)
	}
}

// TestParseRunscTableFile parses the committed output of the 2026-09-05
// runsc build (the newest embedded version) and expects exactly the
// embedded table: same entries, support, errnos, caps, notes and URLs.
func TestParseRunscTableFile(t *testing.T) {
	data, err := os.ReadFile("testdata/runsc-help-syscalls.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range sysno.Arches {
		got, err := compat.ParseRunscTable(bytes.NewReader(data), a)
		if err != nil {
			t.Fatal(err)
		}
		sameEntries(t, "testdata "+string(a), got, mustLoad(t, "latest", a, ""))
		m := compat.Matching(got)
		if len(m) == 0 || m[len(m)-1].Version.ID != newestID {
			t.Errorf("%s: Matching = %v, want it to end with %s", a, m, newestID)
		}
	}
	// The CSV output says the same.
	csvData, err := os.ReadFile("testdata/runsc-help-syscalls.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range sysno.Arches {
		got, err := compat.ParseRunscTable(bytes.NewReader(csvData), a)
		if err != nil {
			t.Fatal(err)
		}
		sameEntries(t, "testdata csv "+string(a), got, mustLoad(t, "latest", a, ""))
	}
	tb, err := compat.ReadRunscTableFile("testdata/runsc-help-syscalls.json", sysno.ARM64)
	if err != nil || tb.Len() != mustLoad(t, "latest", sysno.ARM64, "").Len() || tb.Version.ID == "" {
		t.Errorf("ReadRunscTableFile: %v, %v", tb, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"linux\": {\n    \"amd64\": x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := compat.ReadRunscTableFile(bad, sysno.AMD64); err == nil || !strings.Contains(err.Error(), bad+": runsc syscall table: line 3: invalid character 'x'") {
		t.Errorf("bad file error: %v", err)
	}
}

// TestInstalledRunsc runs the installed runsc (the 2026-09-05 build) and
// compares its own table with the embedded newest version.
func TestInstalledRunsc(t *testing.T) {
	path, err := exec.LookPath("runsc")
	if err != nil {
		testenv.Missingf(t, "runsc not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range sysno.Arches {
		got, err := compat.InstalledTable(ctx, path, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version.ID != "installed" || !strings.Contains(got.Version.Source, "runsc") {
			t.Errorf("installed version = %+v", got.Version)
		}
		t.Logf("%s: %s, %d entries", a, got.Version.Source, got.Len())
		// Support levels must agree; full equality is checked on the
		// committed output above, as CI may install a newer build.
		want := mustLoad(t, "latest", a, "")
		for _, e := range want.Entries() {
			if g := got.Lookup(e.Number); g.Support != e.Support || g.Errno != e.Errno {
				t.Errorf("%s %d %s: runsc says %s %s, embedded newest %s %s", a, e.Number, e.Name, g.Support, g.Errno, e.Support, e.Errno)
			}
		}
	}
	if _, err := compat.InstalledTable(ctx, "/bin/false", sysno.AMD64); err == nil {
		t.Error("InstalledTable(/bin/false) succeeded")
	}
}

func TestParseRunscTableErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"linux":{"amd64":{"syscalls":{"0":{"name":`, "unexpected end"},
		{"{\n\"linux\": {\n\"amd64\": [}}", "line 3"},
		{`{"linux":{"arm64":{"syscalls":{}}}}`, "no amd64 table (has arm64)"},
		{`{"darwin":{}}`, `no "linux" section`},
		{`{"linux":{"amd64":{"syscalls":{"1":{"name":"write","support":"Maybe"}}}}}`, `unknown support "Maybe"`},
		{`{"linux":{"amd64":{"syscalls":{"-1":{"name":"write","support":"Full Support"}}}}}`, `bad syscall number "-1"`},
		{`{"linux":{"amd64":{"syscalls":{"1":{"support":"Full Support"}}}}}`, `has no name`},
		{"{\n\"linux\": 3}", "line 2"},
		{"OS,Arch,Num,Name,Support,Note\nlinux,amd64,0,read,Full Support\n", "record on line 2: wrong number of fields"},
		{"OS,Arch,Num,Name,Support,Note\nlinux,amd64,0,read,Full Support,x\nlinux,amd64,0,read,Full Support,x\n", "line 3: syscall 0 listed twice"},
		{"OS,Arch,Num,Name,Support,Note\nlinux,arm64,0,read,Full Support,x\n", "no amd64 table (has arm64)"},
		{"read\nwrite\n", "not the output of runsc help syscalls"},
	} {
		_, err := compat.ParseRunscTable(strings.NewReader(c.in), sysno.AMD64)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseRunscTable(%q) error = %v, want one line containing %q", c.in, err, c.want)
		}
	}
}

func TestParseRunscTableNotes(t *testing.T) {
	in := `{"linux":{"amd64":{"syscalls":{
"167":{"name":"swapon","support":"Unimplemented","note":"Returns \"operation not permitted\" if the process does not have CAP_SYS_ADMIN; \"invalid system call number\" otherwise."},
"298":{"name":"perf_event_open","support":"Unimplemented","note":"No support for perf counters; Returns \"no such device\"."},
"68":{"name":"msgget","support":"Unimplemented","note":"Returns \"function not implemented\".","urls":["gvisor.dev/issue/135"]},
"0":{"name":"read","support":"Full Support","note":"Fully Supported."}}}}}`
	tb, err := compat.ParseRunscTable(strings.NewReader(in), sysno.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []compat.Entry{
		{Number: 167, Name: "swapon", Support: compat.Unimplemented, Errno: "ENOSYS", Cap: "CAP_SYS_ADMIN", InTable: true},
		{Number: 298, Name: "perf_event_open", Support: compat.Unimplemented, Errno: "ENODEV", Note: "No support for perf counters", InTable: true},
		// Older builds print Go's message for ENOSYS.
		{Number: 68, Name: "msgget", Support: compat.Unimplemented, Errno: "ENOSYS", URLs: []string{"gvisor.dev/issue/135"}, InTable: true},
		{Number: 0, Name: "read", Support: compat.Full, InTable: true},
	} {
		got := tb.Lookup(want.Number)
		if got.Name != want.Name || got.Support != want.Support || got.Errno != want.Errno || got.Cap != want.Cap || got.Note != want.Note || !slices.Equal(got.URLs, want.URLs) {
			t.Errorf("entry %d = %+v, want %+v", want.Number, got, want)
		}
	}
}

func FuzzParseRunscTable(f *testing.F) {
	data, err := os.ReadFile("testdata/runsc-help-syscalls.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	if csvData, err := os.ReadFile("testdata/runsc-help-syscalls.csv"); err == nil {
		f.Add(csvData)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, a := range sysno.Arches {
			tb, err := compat.ParseRunscTable(bytes.NewReader(in), a)
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("multi-line error: %q", err)
				}
				continue
			}
			for _, e := range tb.Entries() {
				if e.Name == "" || !e.InTable || tb.Lookup(e.Number).Number != e.Number {
					t.Errorf("bad entry %+v", e)
				}
			}
		}
	})
}
