package extract

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// ctorSrc has the shape of gVisor's pkg/sentry/syscalls/syscalls.go: the
// extractor reads parameter names and support levels from it.
const ctorSrc = `package syscalls

func Supported(name string, fn kernel.SyscallFn) kernel.Syscall {
	return kernel.Syscall{Name: name, Fn: fn, SupportLevel: kernel.SupportFull}
}
func SupportedPoint(name string, fn kernel.SyscallFn, cb kernel.SyscallToProto) kernel.Syscall {
	sys := Supported(name, fn)
	return sys
}
func PartiallySupported(name string, fn kernel.SyscallFn, note string, urls []string) kernel.Syscall {
	return kernel.Syscall{Name: name, SupportLevel: kernel.SupportPartial, Note: note, URLs: urls}
}
func Error(name string, err error, note string, urls []string) kernel.Syscall {
	return kernel.Syscall{Name: name, SupportLevel: kernel.SupportUnimplemented}
}
func CapError(name string, c linux.Capability, note string, urls []string) kernel.Syscall {
	return kernel.Syscall{Name: name, SupportLevel: kernel.SupportUnimplemented}
}
`

const tableSrc = `package linux

var AMD64 = &kernel.SyscallTable{
	OS: abi.Linux,
	Table: map[uintptr]kernel.Syscall{
		0:   syscalls.SupportedPoint("read", Read, PointRead),
		101: syscalls.PartiallySupported("ptrace", Ptrace, "Options " + "X not supported.", []string{"gvisor.dev/issue/1"}),
		167: syscalls.CapError("swapon", linux.CAP_SYS_ADMIN, "", nil),
		298: syscalls.Error("perf_event_open", syserror.ENOTSUP, "No perf.", nil),
		316: syscalls.Error("renameat2", linuxerr.ENOSYS, "", nil),
	},
}

var ARM64 = &kernel.SyscallTable{
	Table: map[uintptr]kernel.Syscall{
		63: syscalls.Supported("read", Read),
	},
}
`

const overrideSrc = `package vfs2

func Override() {
	s := linux.AMD64
	s.Table[316] = syscalls.Supported("renameat2", Renameat2)
	delete(s.Table, 298)
	s = linux.ARM64
	s.Table[276] = syscalls.Supported("renameat2", Renameat2)
}
`

func tree(table, override, flagDefault, loader string) fstest.MapFS {
	m := fstest.MapFS{
		"pkg/sentry/syscalls/syscalls.go":      {Data: []byte(ctorSrc)},
		"pkg/sentry/syscalls/linux/linux64.go": {Data: []byte(table)},
	}
	if override != "" {
		m["pkg/sentry/syscalls/linux/vfs2/vfs2.go"] = &fstest.MapFile{Data: []byte(override)}
		m["runsc/config/flags.go"] = &fstest.MapFile{Data: []byte(`package config
func RegisterFlags(flagSet *flag.FlagSet) {
	flagSet.Bool("vfs2", ` + flagDefault + `, "enables VFSv2.")
}
`)}
		m["runsc/boot/loader.go"] = &fstest.MapFile{Data: []byte("package boot\nfunc New(args Args) {\n" + loader + "\n}\n")}
	}
	return m
}

func TestExtractSynthetic(t *testing.T) {
	res, err := extractFS(tree(tableSrc, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	amd := res.Tables[sysno.AMD64][""]
	want := []compat.Entry{
		{Number: 0, Name: "read", Support: compat.Full, InTable: true},
		{Number: 101, Name: "ptrace", Support: compat.Partial, Note: "Options X not supported.", URLs: []string{"gvisor.dev/issue/1"}, InTable: true},
		{Number: 167, Name: "swapon", Support: compat.Unimplemented, Errno: "ENOSYS", Cap: "CAP_SYS_ADMIN", InTable: true},
		{Number: 298, Name: "perf_event_open", Support: compat.Unimplemented, Errno: "EOPNOTSUPP", Note: "No perf.", InTable: true},
		{Number: 316, Name: "renameat2", Support: compat.Unimplemented, Errno: "ENOSYS", InTable: true},
	}
	if len(amd) != len(want) {
		t.Fatalf("got %d amd64 entries, want %d: %+v", len(amd), len(want), amd)
	}
	for i := range want {
		g, w := amd[i], want[i]
		if g.Number != w.Number || g.Name != w.Name || g.Support != w.Support || g.Errno != w.Errno || g.Cap != w.Cap || g.Note != w.Note || !slices.Equal(g.URLs, w.URLs) {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
	if len(res.Version.Variants) != 0 || len(res.Tables[sysno.ARM64][""]) != 1 {
		t.Errorf("variants %v, arm64 %v", res.Version.Variants, res.Tables[sysno.ARM64])
	}

	for _, c := range []struct {
		def, loader string
		variant     string // "" when the overrides are always applied
		defaultVFS2 bool
	}{
		{"false", "if args.Conf.VFS2 {\n vfs2.Override()\n}", "--vfs2", false},
		{"true", "if args.Conf.VFS2 {\n vfs2.Override()\n}", "--vfs2=false", true},
		{"true", "vfs2.Override()", "", true},
	} {
		res, err := extractFS(tree(tableSrc, overrideSrc, c.def, c.loader))
		if err != nil {
			t.Fatal(err)
		}
		if c.variant == "" && len(res.Version.Variants) != 0 || c.variant != "" && !slices.Equal(res.Version.Variants, []string{c.variant}) {
			t.Errorf("default %s, loader %q: variants %v, want %q", c.def, c.loader, res.Version.Variants, c.variant)
		}
		vfs2 := res.Tables[sysno.AMD64][""]
		if !c.defaultVFS2 {
			vfs2 = res.Tables[sysno.AMD64][c.variant]
		}
		got := map[int]compat.Entry{}
		for _, e := range vfs2 {
			got[e.Number] = e
		}
		if got[316].Support != compat.Full || len(vfs2) != 4 {
			t.Errorf("default %s: VFS2 amd64 table %+v", c.def, vfs2)
		}
		if arm := res.Tables[sysno.ARM64]; c.defaultVFS2 && len(arm[""]) != 2 {
			t.Errorf("default %s: arm64 %+v", c.def, arm)
		}
	}
}

// TestExtractPerArchOverride covers the 2020-01..2020-05 layout: one
// override file per arch with "table[N] = ...".
func TestExtractPerArchOverride(t *testing.T) {
	m := tree(tableSrc, overrideSrc, "false", "if args.Conf.VFS2 {\n vfs2.Override()\n}")
	delete(m, "pkg/sentry/syscalls/linux/vfs2/vfs2.go")
	m["pkg/sentry/syscalls/linux/vfs2/linux64_override_amd64.go"] = &fstest.MapFile{Data: []byte(`package vfs2
func Override(table map[uintptr]kernel.Syscall) {
	table[316] = syscalls.Supported("renameat2", Renameat2)
}
`)}
	res, err := extractFS(m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Version.Variants, []string{"--vfs2"}) {
		t.Fatalf("variants %v", res.Version.Variants)
	}
	for _, c := range []struct {
		variant string
		want    compat.Support
	}{{"", compat.Unimplemented}, {"--vfs2", compat.Full}} {
		var got compat.Support = -1
		for _, e := range res.Tables[sysno.AMD64][c.variant] {
			if e.Number == 316 {
				got = e.Support
			}
		}
		if got != c.want {
			t.Errorf("renameat2 in %q table: %v, want %v", c.variant, got, c.want)
		}
	}
	if !strings.Contains(res.Version.Source, "linux64_override_amd64.go") {
		t.Errorf("source %q", res.Version.Source)
	}
}

func TestExtractErrors(t *testing.T) {
	for _, c := range []struct{ table, want string }{
		{"package linux\n", "no AMD64 syscall table"},
		{"package linux\nvar AMD64 = &kernel.SyscallTable{Table: map[uintptr]kernel.Syscall{\n0: syscalls.Nope(\"read\"),\n}}\n", "linux64.go:3: syscall 0: unknown constructor \"Nope\""},
		{"package linux\nvar AMD64 = &kernel.SyscallTable{Table: map[uintptr]kernel.Syscall{\n0: syscalls.Supported(name, Read),\n}}\n", "linux64.go:3: not a string constant"},
		{"package linux\nvar AMD64 = &kernel.SyscallTable{Table: map[uintptr]kernel.Syscall{\n0: syscalls.Error(\"x\", errors.New(\"x\"), \"\", nil),\n}}\n", "not a package.EXXX errno"},
		{"package linux\nvar AMD64 = &kernel.SyscallTable{Table: map[uintptr]kernel.Syscall{\nN: syscalls.Supported(\"read\", Read),\n}}\n", "not an integer literal"},
		{"package linux\nvar AMD64 = &kernel.SyscallTable{Table: map[uintptr]kernel.Syscall{\n0: syscalls.Supported(\"read\", Read),\n0: syscalls.Supported(\"read\", Read),\n}}\n", "listed twice"},
		{"package linux\nvar AMD64 = {", "parse pkg/sentry/syscalls/linux/linux64.go"},
	} {
		_, err := extractFS(tree(c.table, "", "", ""))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("table %q: error %v, want %q", c.table, err, c.want)
		}
	}
	// Overrides without a vfs2 flag cannot be placed.
	m := tree(tableSrc, overrideSrc, "false", "vfs2.Override()")
	delete(m, "runsc/config/flags.go")
	if _, err := extractFS(m); err == nil || !strings.Contains(err.Error(), "no vfs2 flag") {
		t.Errorf("missing flag: %v", err)
	}
}

func TestDocs(t *testing.T) {
	res, err := Docs()
	if err != nil {
		t.Fatal(err)
	}
	es := res.Tables[sysno.AMD64][""]
	n := 0
	for _, e := range es {
		if e.Support == compat.Unimplemented {
			n++
		}
	}
	if len(es) != 347 || n != 96 || len(DocsNames()) != 96 {
		t.Errorf("docs: %d entries, %d unimplemented, %d names; the article says 96 of 347", len(es), n, len(DocsNames()))
	}
}

func TestSources(t *testing.T) {
	if len(Sources) != 27 {
		t.Errorf("%d sources, want 27", len(Sources))
	}
	for i, s := range Sources {
		d, err := s.Date()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			prev, _ := Sources[i-1].Date()
			if !d.After(prev) {
				t.Errorf("sources out of order at %s", s.Module)
			}
		}
		if !strings.HasPrefix(s.Tag, "release-") || !strings.HasPrefix(s.Module, "v0.0.0-") {
			t.Errorf("bad source %+v", s)
		}
	}
	if len(goSum) != 8 {
		t.Errorf("%d go.sum lines, want 8 (4 versions)", len(goSum))
	}
}

// FuzzExtract feeds arbitrary table and override files to the extractor.
func FuzzExtract(f *testing.F) {
	f.Add([]byte(tableSrc), []byte(overrideSrc))
	f.Fuzz(func(t *testing.T, table, override []byte) {
		res, err := extractFS(tree(string(table), string(override), "false", "if c {\nvfs2.Override()\n}"))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		for a, vars := range res.Tables {
			for v, es := range vars {
				for i, e := range es {
					if e.Name == "" || (i > 0 && es[i-1].Number >= e.Number) {
						t.Errorf("%s %q: bad entry %d %+v", a, v, i, e)
					}
				}
			}
		}
	})
}

func TestMatchesModule(t *testing.T) {
	for _, c := range []struct {
		patterns string
		want     bool
	}{
		{"", false},
		{"gvisor.dev", true},
		{"*.dev", true},
		{"example.com/*,gvisor.dev/gvisor", true},
		{"gvisor.dev/other", false},
		{"example.com", false},
		{"gvisor.dev/gvisor/pkg", false},
	} {
		if got := matchesModule(c.patterns, Module); got != c.want {
			t.Errorf("matchesModule(%q) = %t, want %t", c.patterns, got, c.want)
		}
	}
}
