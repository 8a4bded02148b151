package compat

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

//go:generate go run ../cmd/gencompat -o .

// DataFile is the embedded database's path relative to this package.
const DataFile = "data/db.json.gz"

//go:embed data/db.json.gz
var embedded []byte

// FormatVersion is the version of the data file's layout.
const FormatVersion = 1

// Database is the layout of the embedded data file: entries are stored
// once and tables refer to them by index, and identical tables are stored
// once, which keeps 28 versions of two architectures small.
type Database struct {
	Format   int         `json:"format"`
	Versions []DBVersion `json:"versions"`
	Tables   [][]int     `json:"tables"`
	Entries  []Entry     `json:"entries"`
}

// DBVersion is a version and, per arch and variant ("" = default), the
// index of its table in Database.Tables.
type DBVersion struct {
	Version
	Tables map[sysno.Arch]map[string]int `json:"tables"`
}

// Builder accumulates tables into a Database, deduplicating as it goes.
type Builder struct {
	db      Database
	entries map[string]int
	tables  map[string]int
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{db: Database{Format: FormatVersion}, entries: map[string]int{}, tables: map[string]int{}}
}

// Add records a version with its tables (per arch, per variant, entries
// in table order).
func (b *Builder) Add(v Version, tables map[sysno.Arch]map[string][]Entry) error {
	dv := DBVersion{Version: v, Tables: map[sysno.Arch]map[string]int{}}
	for _, a := range sysno.Arches {
		vars, ok := tables[a]
		if !ok {
			continue
		}
		if _, ok := vars[""]; !ok {
			return fmt.Errorf("version %s: %s has no default table", v.ID, a)
		}
		dv.Tables[a] = map[string]int{}
		names := make([]string, 0, len(vars))
		for name := range vars {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			idx, err := b.table(vars[name])
			if err != nil {
				return fmt.Errorf("version %s %s: %w", v.ID, a, err)
			}
			dv.Tables[a][name] = idx
		}
	}
	if len(dv.Tables) == 0 {
		return fmt.Errorf("version %s: no tables", v.ID)
	}
	b.db.Versions = append(b.db.Versions, dv)
	return nil
}

func (b *Builder) table(es []Entry) (int, error) {
	idx := make([]int, 0, len(es))
	seen := map[int]bool{}
	for _, e := range es {
		if seen[e.Number] {
			return 0, fmt.Errorf("syscall %d twice", e.Number)
		}
		seen[e.Number] = true
		e.InTable = true
		key, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		i, ok := b.entries[string(key)]
		if !ok {
			i = len(b.db.Entries)
			b.db.Entries = append(b.db.Entries, e)
			b.entries[string(key)] = i
		}
		idx = append(idx, i)
	}
	sort.Slice(idx, func(i, j int) bool { return b.db.Entries[idx[i]].Number < b.db.Entries[idx[j]].Number })
	key := fmt.Sprint(idx)
	i, ok := b.tables[key]
	if !ok {
		i = len(b.db.Tables)
		b.db.Tables = append(b.db.Tables, idx)
		b.tables[key] = i
	}
	return i, nil
}

// Encode writes the database as gzip-compressed JSON, versions sorted
// oldest first. The output depends only on the content: the gzip header
// carries no name and no time.
func (b *Builder) Encode(w io.Writer) error {
	db := b.db
	sort.SliceStable(db.Versions, func(i, j int) bool { return db.Versions[i].Date.Before(db.Versions[j].Date) })
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	if err := enc.Encode(&db); err != nil {
		return fmt.Errorf("encode database: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("encode database: %w", err)
	}
	return nil
}

// Decode reads a database written by Encode.
func Decode(r io.Reader) (*Database, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("decode database: %w", err)
	}
	var db Database
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("decode database: %w", err)
	}
	if db.Format != FormatVersion {
		return nil, fmt.Errorf("decode database: format %d, want %d", db.Format, FormatVersion)
	}
	for _, v := range db.Versions {
		for a, vars := range v.Tables {
			for name, i := range vars {
				if i < 0 || i >= len(db.Tables) {
					return nil, fmt.Errorf("decode database: version %s %s %q: table %d out of range", v.ID, a, name, i)
				}
			}
		}
	}
	for ti, t := range db.Tables {
		for _, i := range t {
			if i < 0 || i >= len(db.Entries) {
				return nil, fmt.Errorf("decode database: table %d: entry %d out of range", ti, i)
			}
		}
	}
	return &db, nil
}

var (
	loadOnce sync.Once
	loaded   *Database
	loadErr  error
)

// embeddedDB decodes the embedded data once.
func embeddedDB() (*Database, error) {
	loadOnce.Do(func() {
		loaded, loadErr = Decode(bytes.NewReader(embedded))
		if loadErr != nil {
			loadErr = fmt.Errorf("embedded gVisor database: %w", loadErr)
		}
	})
	return loaded, loadErr
}

func mustDB() *Database {
	db, err := embeddedDB()
	if err != nil {
		// The data is generated and checked by tests; a broken binary
		// cannot answer anything.
		panic(err)
	}
	return db
}

// Versions returns the embedded versions, oldest first.
func Versions() []Version {
	db := mustDB()
	out := make([]Version, len(db.Versions))
	for i, v := range db.Versions {
		out[i] = v.Version
	}
	return out
}

// Latest returns the newest embedded version.
func Latest() Version {
	vs := Versions()
	return vs[len(vs)-1]
}

// Arches lists the architectures a version has tables for.
func (v Version) Arches() []sysno.Arch {
	db := mustDB()
	for _, dv := range db.Versions {
		if dv.ID == v.ID {
			var out []sysno.Arch
			for _, a := range sysno.Arches {
				if _, ok := dv.Tables[a]; ok {
					out = append(out, a)
				}
			}
			return out
		}
	}
	return nil
}

// Load returns a version's table for an architecture. variant "" is the
// table of runsc's default options; other values are the runsc options in
// v.Variants (e.g. "--vfs2").
func Load(v Version, arch sysno.Arch, variant string) (*Table, error) {
	db, err := embeddedDB()
	if err != nil {
		return nil, err
	}
	for _, dv := range db.Versions {
		if dv.ID != v.ID {
			continue
		}
		vars, ok := dv.Tables[arch]
		if !ok {
			return nil, fmt.Errorf("gVisor version %s has no %s table", v.ID, arch)
		}
		variant = normalizeVariant(variant, dv.Version)
		idx, ok := vars[variant]
		if !ok {
			if len(dv.Variants) == 0 {
				return nil, fmt.Errorf("gVisor version %s has no runsc option variant %q (it has one table per arch)", v.ID, variant)
			}
			return nil, fmt.Errorf("gVisor version %s has no runsc option variant %q (want \"\" or one of %q)", v.ID, variant, dv.Variants)
		}
		t := &Table{Version: dv.Version, Arch: arch, Variant: variant, entries: map[int]Entry{}}
		for _, i := range db.Tables[idx] {
			e := db.Entries[i]
			e.URLs = append([]string(nil), e.URLs...)
			t.entries[e.Number] = e
		}
		return t, nil
	}
	return nil, fmt.Errorf("gVisor version %q is not embedded", v.ID)
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
