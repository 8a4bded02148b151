package compat_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

const (
	newestID = "v0.0.0-20260905035102-160fafc42237"
	v191224  = "v0.0.0-20191224014503-95108940a01c"
	v200727  = "v0.0.0-20200727050644-5e9c2950a570"
	v211020  = "v0.0.0-20211020211948-f76a604701b6"
	v220121  = "v0.0.0-20220121190119-4f2d380c8b55"
	v220817  = "v0.0.0-20220817001344-846276b3dbc5"
	docsID   = "docs-2020-04-23"
)

func mustVersion(t *testing.T, spec string) compat.Version {
	t.Helper()
	v, err := compat.ResolveVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustLoad(t *testing.T, spec string, a sysno.Arch, variant string) *compat.Table {
	t.Helper()
	tb, err := compat.Load(mustVersion(t, spec), a, variant)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestVersions(t *testing.T) {
	vs := compat.Versions()
	if len(vs) != 28 {
		t.Fatalf("got %d versions, want 28 (27 module versions and %s)", len(vs), docsID)
	}
	for i, v := range vs {
		if v.Date.IsZero() || v.Tag == "" || v.Source == "" {
			t.Errorf("version %s lacks date, tag or source: %+v", v.ID, v)
		}
		if i > 0 && v.Date.Before(vs[i-1].Date) {
			t.Errorf("versions out of order: %s (%s) after %s (%s)", v.ID, v.Date, vs[i-1].ID, vs[i-1].Date)
		}
	}
	if got := compat.Latest().ID; got != newestID {
		t.Errorf("Latest() = %s, want %s", got, newestID)
	}
	// The documentation list sits between the two served versions around it.
	i := slices.IndexFunc(vs, func(v compat.Version) bool { return v.ID == docsID })
	if i < 1 || vs[i-1].ID != v191224 || vs[i+1].ID != v200727 {
		t.Errorf("%s at index %d, want between %s and %s", docsID, i, v191224, v200727)
	}
	if !vs[i].NamesOnly || !slices.Equal(vs[i].Arches(), []sysno.Arch{sysno.AMD64}) {
		t.Errorf("%s: NamesOnly=%t arches=%v, want names-only amd64", docsID, vs[i].NamesOnly, vs[i].Arches())
	}
	if _, err := compat.Load(vs[i], sysno.ARM64, ""); err == nil {
		t.Errorf("%s has an arm64 table; the article lists amd64 only", docsID)
	}
}

// TestTableSizes prints the size of every table and checks the newest
// against gVisor's (about 350 amd64, 295 arm64 entries).
func TestTableSizes(t *testing.T) {
	var b strings.Builder
	for _, v := range compat.Versions() {
		fmt.Fprintf(&b, "%-36s %-19s", v.ID, v.Tag)
		for _, a := range v.Arches() {
			for _, variant := range append([]string{""}, v.Variants...) {
				tb, err := compat.Load(v, a, variant)
				if err != nil {
					t.Fatal(err)
				}
				label := string(a)
				if variant != "" {
					label += variant
				}
				fmt.Fprintf(&b, " %s=%d(%d/%d/%d)", label, tb.Len(), tb.Count(compat.Full), tb.Count(compat.Partial), tb.Count(compat.Unimplemented))
			}
		}
		b.WriteByte('\n')
	}
	t.Logf("table sizes, entries (full/partial/unimplemented):\n%s", b.String())

	amd := mustLoad(t, "latest", sysno.AMD64, "")
	arm := mustLoad(t, "latest", sysno.ARM64, "")
	t.Logf("newest: amd64 %d entries, arm64 %d entries", amd.Len(), arm.Len())
	if n := amd.Len(); n < 340 || n > 370 {
		t.Errorf("newest amd64 table has %d entries, want about 350", n)
	}
	if n := arm.Len(); n < 280 || n > 310 {
		t.Errorf("newest arm64 table has %d entries, want about 295", n)
	}
	for _, tb := range []*compat.Table{amd, arm} {
		es := tb.Entries()
		if len(es) != tb.Len() {
			t.Errorf("%s: Entries() has %d, Len() %d", tb.Arch, len(es), tb.Len())
		}
		for i, e := range es {
			if i > 0 && es[i-1].Number >= e.Number {
				t.Errorf("%s: entries not sorted at %d", tb.Arch, e.Number)
			}
			if !e.InTable || e.Name == "" {
				t.Errorf("%s: bad entry %+v", tb.Arch, e)
			}
			if e.Support == compat.Unimplemented && e.Errno == "" {
				t.Errorf("%s: unimplemented %s without errno", tb.Arch, e.Name)
			}
		}
	}
	// Spot checks against gVisor's source.
	for _, c := range []struct {
		a           sysno.Arch
		name        string
		support     compat.Support
		errno, capn string
	}{
		{sysno.AMD64, "read", compat.Full, "", ""},
		{sysno.AMD64, "perf_event_open", compat.Unimplemented, "ENODEV", ""},
		{sysno.AMD64, "name_to_handle_at", compat.Unimplemented, "EOPNOTSUPP", ""},
		{sysno.AMD64, "swapon", compat.Unimplemented, "ENOSYS", "CAP_SYS_ADMIN"},
		{sysno.AMD64, "add_key", compat.Unimplemented, "EACCES", ""},
		{sysno.AMD64, "sysctl", compat.Unimplemented, "EPERM", ""},
		{sysno.AMD64, "_sysctl", compat.Unimplemented, "EPERM", ""},
		{sysno.ARM64, "newfstatat", compat.Full, "", ""},
		{sysno.AMD64, "ptrace", compat.Partial, "", ""},
	} {
		tb := amd
		if c.a == sysno.ARM64 {
			tb = arm
		}
		e, ok := tb.LookupName(c.name)
		if !ok || e.Support != c.support || e.Errno != c.errno || e.Cap != c.capn {
			t.Errorf("%s %s = %+v (found %t), want %s errno %q cap %q", c.a, c.name, e, ok, c.support, c.errno, c.capn)
		}
	}
}

func TestErrnoFor(t *testing.T) {
	tb := mustLoad(t, "latest", sysno.AMD64, "")
	for _, c := range []struct {
		name       string
		cap, nocap string
	}{
		{"swapon", "ENOSYS", "EPERM"},
		{"perf_event_open", "ENODEV", "ENODEV"},
		{"read", "", ""},
	} {
		e, _ := tb.LookupName(c.name)
		if got := e.ErrnoFor(true); got != c.cap {
			t.Errorf("%s.ErrnoFor(true) = %q, want %q", c.name, got, c.cap)
		}
		if got := e.ErrnoFor(false); got != c.nocap {
			t.Errorf("%s.ErrnoFor(false) = %q, want %q", c.name, got, c.nocap)
		}
	}
}

func TestLookupAbsent(t *testing.T) {
	tb := mustLoad(t, "latest", sysno.AMD64, "")
	for _, nr := range []int{335, 1000, 9999} {
		e := tb.Lookup(nr)
		if e.InTable || e.Support != compat.Unimplemented || e.Errno != "ENOSYS" || e.Number != nr || e.Name != sysno.Name(sysno.AMD64, nr) {
			t.Errorf("Lookup(%d) = %+v, want not-in-table ENOSYS named %s", nr, e, sysno.Name(sysno.AMD64, nr))
		}
	}
	if _, ok := tb.LookupName("no_such_syscall"); ok {
		t.Error("LookupName found no_such_syscall")
	}
	if e, ok := tb.LookupName("syscall_0x3e7"); !ok || e.Number != 999 || e.InTable {
		t.Errorf("LookupName(syscall_0x3e7) = %+v, %t", e, ok)
	}
}

// point is a compact form of a history entry for the assertions below.
func point(e compat.Entry) string {
	s := e.Support.String()
	if e.Errno != "" {
		s += " " + e.Errno
	}
	return s
}

// changes reduces a history to the versions where the default entry's
// support changed.
func changes(t *testing.T, name string, a sysno.Arch) []string {
	t.Helper()
	h, err := compat.History(name, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(compat.Versions())-map[sysno.Arch]int{sysno.AMD64: 0, sysno.ARM64: 1}[a] {
		t.Fatalf("History(%s, %s) has %d points", name, a, len(h))
	}
	var out []string
	last := ""
	for _, p := range h {
		if s := point(p.Entry); s != last {
			out = append(out, p.Version.Date.Format("2006-01-02")+" "+s)
			last = s
		}
	}
	t.Logf("%s %s: %v", name, a, out)
	return out
}

// TestHistory checks the histories "db show" prints against what gVisor's
// source says (read from the module versions by hand).
func TestHistory(t *testing.T) {
	for _, c := range []struct {
		name string
		a    sysno.Arch
		want []string
	}{
		// clone3: in the table as ErrorWithEvent(ENOSYS) until
		// PartiallySupported appears in 2023.
		{"clone3", sysno.AMD64, []string{"2019-12-24 unimplemented ENOSYS", "2023-09-27 partial"}},
		{"clone3", sysno.ARM64, []string{"2019-12-24 unimplemented ENOSYS", "2023-09-27 partial"}},
		// set_robust_list: Error(ENOSYS, "Obsolete.") in 2019; Supported
		// by 2020-07-27 on amd64 but only by 2020-12-04 on arm64.
		{"set_robust_list", sysno.AMD64, []string{"2019-12-24 unimplemented ENOSYS", "2020-07-27 full"}},
		{"set_robust_list", sysno.ARM64, []string{"2019-12-24 unimplemented ENOSYS", "2020-12-04 full"}},
		// io_uring_setup: ENOSYS until the 2022-12 table marks it partial.
		{"io_uring_setup", sysno.AMD64, []string{"2019-12-24 unimplemented ENOSYS", "2022-12-03 partial"}},
		{"io_uring_setup", sysno.ARM64, []string{"2019-12-24 unimplemented ENOSYS", "2022-12-03 partial"}},
	} {
		if got := changes(t, c.name, c.a); !slices.Equal(got, c.want) {
			t.Errorf("history of %s on %s = %q, want %q", c.name, c.a, got, c.want)
		}
	}

	// renameat2 shows the VFS2 variants: implemented only with --vfs2
	// until VFS2 became the default in 2022-01.
	h, err := compat.History("renameat2", sysno.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range h {
		switch p.Version.ID {
		case v200727, v211020:
			if p.Entry.Support != compat.Unimplemented || p.Variants["--vfs2"].Support != compat.Full {
				t.Errorf("renameat2 in %s: %+v", p.Version.ID, p)
			}
		case v220121:
			if p.Entry.Support != compat.Full || p.Variants["--vfs2=false"].Support != compat.Unimplemented {
				t.Errorf("renameat2 in %s: %+v", p.Version.ID, p)
			}
		}
	}
	if _, err := compat.History("no_such_syscall", sysno.AMD64); err == nil {
		t.Error("History of an unknown name succeeded")
	}
}

func TestVariants(t *testing.T) {
	for _, c := range []struct {
		id       string
		variants []string
	}{
		{v191224, nil},
		{v200727, []string{"--vfs2"}},
		{v211020, []string{"--vfs2"}},
		{v220121, []string{"--vfs2=false"}},
		// VFS2 always on: the flag had no effect any more.
		{v220817, nil},
		{newestID, nil},
	} {
		v := mustVersion(t, c.id)
		if !slices.Equal(v.Variants, c.variants) {
			t.Errorf("%s variants = %q, want %q", c.id, v.Variants, c.variants)
		}
		for _, variant := range c.variants {
			tb, err := compat.Load(v, sysno.AMD64, variant)
			if err != nil {
				t.Fatal(err)
			}
			def := mustLoad(t, c.id, sysno.AMD64, "")
			if len(compat.Diff(def, tb)) == 0 {
				t.Errorf("%s %s table equals the default", c.id, variant)
			}
		}
	}
	// The other spelling of the default option names the default table.
	v := mustVersion(t, v200727)
	if tb, err := compat.Load(v, sysno.AMD64, "--vfs2=false"); err != nil || tb.Variant != "" {
		t.Errorf("Load(%s, --vfs2=false) = %v, %v; want the default table", v.ID, tb, err)
	}
	for _, c := range []struct {
		id    string
		flags []string
		want  string
	}{
		{v200727, nil, ""},
		{v200727, []string{"--network=none", "--vfs2"}, "--vfs2"},
		{v200727, []string{"--vfs2=true"}, "--vfs2"},
		{v200727, []string{"--vfs2", "--vfs2=false"}, ""},
		{v220121, []string{"--vfs2=false"}, "--vfs2=false"},
		{v220121, []string{"-vfs2=false"}, "--vfs2=false"},
		{v220121, []string{"--vfs2"}, ""},
		{newestID, []string{"--vfs2=false"}, ""},
	} {
		if got := mustVersion(t, c.id).VariantFor(c.flags); got != c.want {
			t.Errorf("%s VariantFor(%q) = %q, want %q", c.id, c.flags, got, c.want)
		}
	}
	if _, err := compat.Load(v, sysno.AMD64, "--platform=kvm"); err == nil {
		t.Error("Load accepted an unknown variant")
	}
}

func TestResolveVersion(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"latest", newestID},
		{"", newestID},
		{newestID, newestID},
		{"gvisor.dev/gvisor@" + v200727, v200727},
		{"160fafc42237", newestID},
		{"5e9c295", v200727},
		{docsID, docsID},
		// Exact tag: the oldest version containing it, nearest the release.
		{"release-20230920.0", "v0.0.0-20230927004350-cbd86285d259"},
		{"release-20201208.0", "v0.0.0-20201215175918-b0f23fb7e0cf"},
		{"release-20200622.1", v200727},
		{"release-20200323.0", docsID},
		// Tag not embedded: the newest version that does not contain it.
		{"release-20231001.0", "v0.0.0-20230927004350-cbd86285d259"},
		{"release-20240101", "v0.0.0-20230927004350-cbd86285d259"},
		{"release-20990101.0", newestID},
		// Dates: newest version at or before the day.
		{"2023-10-01", "v0.0.0-20230927004350-cbd86285d259"},
		{"2023-09-27", "v0.0.0-20230927004350-cbd86285d259"},
		{"2023-09-26", "v0.0.0-20230504175454-7b0a1988a28f"},
		{"2020-05-01", docsID},
		{"2019-12-24", v191224},
	} {
		v, err := compat.ResolveVersion(c.spec)
		if err != nil {
			t.Errorf("ResolveVersion(%q): %v", c.spec, err)
			continue
		}
		if v.ID != c.want {
			t.Errorf("ResolveVersion(%q) = %s, want %s", c.spec, v.ID, c.want)
		}
	}
	for _, spec := range []string{"release-20100101.0", "2019-01-01", "v1.2.3", "nonsense", "deadbeefcafe", "2023-13-45"} {
		_, err := compat.ResolveVersion(spec)
		if err == nil {
			t.Errorf("ResolveVersion(%q) succeeded", spec)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ResolveVersion(%q) error spans lines: %q", spec, err)
		}
		t.Logf("%s: %v", spec, err)
	}
}

func TestDiff(t *testing.T) {
	old := mustLoad(t, v191224, sysno.AMD64, "")
	cur := mustLoad(t, "latest", sysno.AMD64, "")
	if d := compat.Diff(cur, cur); len(d) != 0 {
		t.Errorf("Diff of a table with itself: %d changes", len(d))
	}
	d := compat.Diff(old, cur)
	byName := map[string]compat.Change{}
	support := 0
	for i, c := range d {
		if i > 0 && d[i-1].Number >= c.Number {
			t.Errorf("changes not sorted at %d", c.Number)
		}
		if c.SupportChanged() {
			support++
		}
		byName[c.Name] = c
	}
	t.Logf("%s -> %s: %d changes, %d of support or errno", old.Version.ID, cur.Version.ID, len(d), support)
	c, ok := byName["set_robust_list"]
	if !ok || c.Old.Support != compat.Unimplemented || c.New.Support != compat.Full || !c.SupportChanged() {
		t.Errorf("set_robust_list change = %+v", c)
	}
	// Numbers only the newer table has (e.g. 435 clone3 was already
	// there; 436+ are new) compare against the implicit ENOSYS entry.
	for _, c := range d {
		if !c.Old.InTable && c.New.InTable && !slices.Contains(c.Fields, "in_table") {
			t.Errorf("change %d lacks in_table field: %+v", c.Number, c)
		}
	}
}

func TestVersionDates(t *testing.T) {
	v := mustVersion(t, newestID)
	want := time.Date(2026, 9, 5, 5, 50, 48, 0, time.UTC)
	if !v.Date.Equal(want) || v.Tag != "release-20260817.0" {
		t.Errorf("newest: date %s tag %s", v.Date, v.Tag)
	}
	if !strings.Contains(v.Source, "pkg/sentry/syscalls/linux/linux64.go") {
		t.Errorf("newest source %q does not name the table file", v.Source)
	}
	if s := mustVersion(t, v200727).Source; !strings.Contains(s, "vfs2/vfs2.go") {
		t.Errorf("2020-07-27 source %q does not name the VFS2 overrides", s)
	}
}

func FuzzResolveVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, spec string) {
		v, err := compat.ResolveVersion(spec)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(spec, "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		if _, err := compat.Load(v, v.Arches()[0], ""); err != nil {
			t.Errorf("ResolveVersion(%q) = %s, which does not load: %v", spec, v.ID, err)
		}
	})
}
