package compat

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// TestGeneratedTables checks the structure the generator promises: every
// index in range, tables in strictly ascending syscall order, a default
// table per architecture, one table per listed variant, versions oldest
// first.
func TestGeneratedTables(t *testing.T) {
	for ti, idx := range tablePool {
		last := -1
		for _, i := range idx {
			if int(i) >= len(entryPool) {
				t.Fatalf("table %d: entry %d out of range", ti, i)
			}
			e := entryPool[i]
			if e.Number <= last || !e.InTable {
				t.Errorf("table %d: entry %d (%d %s) out of order or not in table", ti, i, e.Number, e.Name)
			}
			last = e.Number
		}
	}
	for vi, g := range generatedVersions {
		if vi > 0 && g.date < generatedVersions[vi-1].date {
			t.Errorf("%s is older than the version before it", g.id)
		}
		seen := map[sysno.Arch]int{}
		for _, tb := range g.tables {
			if tb.table < 0 || tb.table >= len(tablePool) {
				t.Fatalf("%s %s %q: table %d out of range", g.id, tb.arch, tb.variant, tb.table)
			}
			if tb.variant == "" {
				seen[tb.arch]++
			}
		}
		for a, n := range seen {
			if n != 1 {
				t.Errorf("%s %s: %d default tables", g.id, a, n)
			}
		}
		if len(g.tables) != len(seen)*(1+len(g.variants)) {
			t.Errorf("%s: %d tables for %d arches and variants %q", g.id, len(g.tables), len(seen), g.variants)
		}
	}
}

// TestLoadDoesNotShareEntries: a caller changing a table's URLs must not
// change the embedded data.
func TestLoadDoesNotShareEntries(t *testing.T) {
	v := Latest()
	t1, err := Load(v, sysno.AMD64, "")
	if err != nil {
		t.Fatal(err)
	}
	for nr, e := range t1.entries {
		if len(e.URLs) > 0 {
			orig := e.URLs[0]
			e.URLs[0] = "changed"
			t2, _ := Load(v, sysno.AMD64, "")
			if got := t2.Lookup(nr).URLs[0]; got != orig {
				t.Fatalf("embedded URL changed to %q", got)
			}
			return
		}
	}
	t.Fatal("no entry with URLs in the newest table")
}
