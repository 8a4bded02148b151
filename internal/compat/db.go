package compat

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

//go:generate go run ../cmd/gencompat -o .

// generatedVersion is one version in zdata.go; date is in Unix seconds.
// The tables are statically initialised Go data (see README, "Database
// encoding"): loading a table reads only its own entries.
type generatedVersion struct {
	id, tag, source string
	date            int64
	namesOnly       bool
	variants        []string
	tables          []generatedTable
}

// generatedTable names a version's table for an arch and variant ("" =
// default) by its index in tablePool.
type generatedTable struct {
	arch    sysno.Arch
	variant string
	table   int
}

var versionsOnce = sync.OnceValue(func() []Version {
	out := make([]Version, len(generatedVersions))
	for i, g := range generatedVersions {
		out[i] = Version{ID: g.id, Date: time.Unix(g.date, 0).UTC(), Tag: g.tag, Source: g.source,
			NamesOnly: g.namesOnly, Variants: slices.Clone(g.variants)}
	}
	return out
})

// Versions returns the embedded versions, oldest first.
func Versions() []Version {
	return slices.Clone(versionsOnce())
}

// Latest returns the newest embedded version.
func Latest() Version {
	vs := versionsOnce()
	return vs[len(vs)-1]
}

// findVersion returns the generated version with this ID and its index.
func findVersion(id string) (*generatedVersion, int) {
	for i := range generatedVersions {
		if generatedVersions[i].id == id {
			return &generatedVersions[i], i
		}
	}
	return nil, -1
}

// Arches lists the architectures a version has tables for.
func (v Version) Arches() []sysno.Arch {
	g, _ := findVersion(v.ID)
	if g == nil {
		return nil
	}
	var out []sysno.Arch
	for _, a := range sysno.Arches {
		if slices.ContainsFunc(g.tables, func(t generatedTable) bool { return t.arch == a }) {
			out = append(out, a)
		}
	}
	return out
}

// Load returns a version's table for an architecture. variant "" is the
// table of runsc's default options; other values are the runsc options in
// v.Variants (e.g. "--vfs2").
func Load(v Version, arch sysno.Arch, variant string) (*Table, error) {
	g, gi := findVersion(v.ID)
	if g == nil {
		return nil, fmt.Errorf("gVisor version %q is not embedded", v.ID)
	}
	version := versionsOnce()[gi]
	if !slices.ContainsFunc(g.tables, func(t generatedTable) bool { return t.arch == arch }) {
		return nil, fmt.Errorf("gVisor version %s has no %s table", v.ID, arch)
	}
	variant = normalizeVariant(variant, version)
	i := slices.IndexFunc(g.tables, func(t generatedTable) bool { return t.arch == arch && t.variant == variant })
	if i < 0 {
		if len(g.variants) == 0 {
			return nil, fmt.Errorf("gVisor version %s has no runsc option variant %q (it has one table per arch)", v.ID, variant)
		}
		return nil, fmt.Errorf("gVisor version %s has no runsc option variant %q (want \"\" or one of %q)", v.ID, variant, g.variants)
	}
	idx := tablePool[g.tables[i].table]
	t := &Table{Version: version, Arch: arch, Variant: variant, entries: make(map[int]Entry, len(idx))}
	t.Version.Variants = slices.Clone(version.Variants)
	for _, i := range idx {
		e := entryPool[i]
		e.URLs = slices.Clone(e.URLs)
		t.entries[e.Number] = e
	}
	return t, nil
}

// VariantFor returns the table variant that a list of runsc options
// selects in this version ("" for the default table), accepting the usual
// spellings of boolean flags ("--vfs2", "--vfs2=true", "-vfs2=false").
func (v Version) VariantFor(runscFlags []string) string {
	variant := ""
	for _, f := range runscFlags {
		n := normalizeVariant(f, v)
		if slices.Contains(v.Variants, n) {
			variant = n
		} else if n == "" && variantFlag(f) {
			// The spelling of the default: a later flag overrides an
			// earlier one, as in runsc.
			variant = ""
		}
	}
	return variant
}

// variantFlag reports whether f is one of the flags that select variants.
func variantFlag(f string) bool {
	f = strings.TrimLeft(f, "-")
	return f == "vfs2" || strings.HasPrefix(f, "vfs2=")
}

// normalizeVariant maps spellings of the default options to "": e.g.
// "--vfs2=true" where VFS2 was the default, "--vfs2=false" where it was not.
func normalizeVariant(variant string, v Version) string {
	switch variant {
	case "--vfs2=true", "-vfs2", "-vfs2=true", "--vfs2=1", "-vfs2=1":
		variant = "--vfs2"
	case "-vfs2=false", "--vfs2=0", "-vfs2=0":
		variant = "--vfs2=false"
	}
	for _, have := range v.Variants {
		if have == variant {
			return variant
		}
	}
	isVFS2 := func(s string) bool { return s == "--vfs2" || s == "--vfs2=false" }
	if isVFS2(variant) && len(v.Variants) == 1 && isVFS2(v.Variants[0]) {
		// The other spelling names the default table.
		return ""
	}
	return variant
}

// NewTable builds a table from entries, e.g. for tests or other sources;
// entries are marked InTable.
func NewTable(v Version, arch sysno.Arch, variant string, entries []Entry) *Table {
	t := &Table{Version: v, Arch: arch, Variant: variant, entries: make(map[int]Entry, len(entries))}
	for _, e := range entries {
		e.InTable = true
		t.entries[e.Number] = e
	}
	return t
}

// Lookup returns gVisor's treatment of syscall nr. Numbers absent from the
// table are handled by gVisor's Missing function: unimplemented, ENOSYS.
func (t *Table) Lookup(nr int) Entry {
	if e, ok := t.entries[nr]; ok {
		return e
	}
	return Entry{Number: nr, Name: sysno.Name(t.Arch, nr), Support: Unimplemented, Errno: "ENOSYS"}
}

// LookupName finds a syscall by name: gVisor's own name in the table, or
// any name or alias sysno knows for the table's arch. ok is false for a
// name that neither knows.
func (t *Table) LookupName(name string) (Entry, bool) {
	for _, e := range t.Entries() {
		if e.Name == name {
			return e, true
		}
	}
	nr, ok := sysno.Number(t.Arch, name)
	if !ok {
		return Entry{}, false
	}
	return t.Lookup(nr), true
}

// Entries returns the entries in gVisor's table, sorted by number.
func (t *Table) Entries() []Entry {
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Len is the number of entries in gVisor's table.
func (t *Table) Len() int { return len(t.entries) }

// Count returns how many in-table entries have support s.
func (t *Table) Count(s Support) int {
	n := 0
	for _, e := range t.entries {
		if e.Support == s {
			n++
		}
	}
	return n
}

// ErrnoFor is the errno an unimplemented entry returns to a task that has
// (hasCap) or lacks the entry's capability: CapError entries fail with
// EPERM without it, Errno with it; other entries always with Errno. It is
// "" for implemented entries.
func (e Entry) ErrnoFor(hasCap bool) string {
	if e.Support != Unimplemented {
		return ""
	}
	if e.Cap != "" && !hasCap {
		return "EPERM"
	}
	return e.Errno
}
