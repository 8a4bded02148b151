package compat

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Change is a syscall number whose entry differs between two tables.
type Change struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Old    Entry  `json:"old"`
	New    Entry  `json:"new"`
	// Fields names what differs: "support", "errno", "cap", "note",
	// "urls", "name", "in_table".
	Fields []string `json:"fields"`
}

// SupportChanged reports whether the support level or errno changed, the
// differences that alter what a program sees.
func (c Change) SupportChanged() bool {
	return slices.Contains(c.Fields, "support") || slices.Contains(c.Fields, "errno") || slices.Contains(c.Fields, "cap")
}

// Diff lists the syscall numbers, in either table, whose entries differ
// from a to b, sorted by number. Numbers absent from a table compare as
// their Lookup result (unimplemented, ENOSYS, not in table).
func Diff(a, b *Table) []Change {
	nums := map[int]bool{}
	for n := range a.entries {
		nums[n] = true
	}
	for n := range b.entries {
		nums[n] = true
	}
	var out []Change
	for n := range nums {
		old, cur := a.Lookup(n), b.Lookup(n)
		fields := diffFields(old, cur)
		if len(fields) == 0 {
			continue
		}
		name := cur.Name
		if !cur.InTable {
			name = old.Name
		}
		out = append(out, Change{Number: n, Name: name, Old: old, New: cur, Fields: fields})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func diffFields(a, b Entry) []string {
	var f []string
	if a.Support != b.Support {
		f = append(f, "support")
	}
	if a.Errno != b.Errno {
		f = append(f, "errno")
	}
	if a.Cap != b.Cap {
		f = append(f, "cap")
	}
	if a.Note != b.Note {
		f = append(f, "note")
	}
	if !slices.Equal(a.URLs, b.URLs) {
		f = append(f, "urls")
	}
	if a.Name != b.Name {
		f = append(f, "name")
	}
	if a.InTable != b.InTable {
		f = append(f, "in_table")
	}
	return f
}

// HistoryPoint is a syscall's entry in one embedded version.
type HistoryPoint struct {
	Version Version `json:"version"`
	// Entry is the entry in the version's default table.
	Entry Entry `json:"entry"`
	// Variants holds the entry in the tables other runsc options select
	// (e.g. "--vfs2"), only where it differs from Entry.
	Variants map[string]Entry `json:"variants,omitempty"`
}

// History returns a syscall's entry in every embedded version that has a
// table for arch, oldest first. name is any name or alias sysno knows, or
// gVisor's name for it.
func History(name string, arch sysno.Arch) ([]HistoryPoint, error) {
	nr, ok := sysno.Number(arch, name)
	if !ok {
		nr = -1
		// gVisor's own spelling, e.g. "sysctl".
		if t, err := Load(Latest(), arch, ""); err == nil {
			if e, ok := t.LookupName(name); ok {
				nr = e.Number
			}
		}
		if nr < 0 {
			return nil, fmt.Errorf("unknown %s syscall %q", arch, name)
		}
	}
	var out []HistoryPoint
	for _, v := range Versions() {
		if !slices.Contains(v.Arches(), arch) {
			continue
		}
		t, err := Load(v, arch, "")
		if err != nil {
			return nil, err
		}
		p := HistoryPoint{Version: v, Entry: t.Lookup(nr)}
		for _, variant := range v.Variants {
			vt, err := Load(v, arch, variant)
			if err != nil {
				return nil, err
			}
			if e := vt.Lookup(nr); len(diffFields(p.Entry, e)) > 0 {
				if p.Variants == nil {
					p.Variants = map[string]Entry{}
				}
				p.Variants[variant] = e
			}
		}
		out = append(out, p)
	}
	return out, nil
}
