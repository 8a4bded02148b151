package ingest

import (
	"sort"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

type archTables struct {
	key  []*keySpec // by number: argument-sensitive syscalls
	path []uint8    // by number
	exec []bool
	fork []bool
}

var tablesByArch = map[sysno.Arch]*archTables{}

func init() {
	for _, a := range sysno.Arches {
		t := &archTables{}
		max := sysno.Max(a) + 1
		t.path = make([]uint8, max)
		t.exec = make([]bool, max)
		t.fork = make([]bool, max)
		t.key = keySpecs(a, max)
		for _, name := range sysargs.PathSyscalls() {
			pa, _ := sysargs.PathArgOf(name)
			if pa.Path > 1 {
				continue // not handled: only paths among the first two arguments are parsed
			}
			if nr, ok := sysno.Number(a, name); ok && nr < max {
				t.path[nr] = uint8(pa.Path + 1) // 1-based; 0: no path
			}
		}
		for _, name := range []string{"execve", "execveat"} {
			if nr, ok := sysno.Number(a, name); ok {
				t.exec[nr] = true
			}
		}
		for _, name := range []string{"fork", "vfork", "clone", "clone3"} {
			if nr, ok := sysno.Number(a, name); ok {
				t.fork[nr] = true
			}
		}
		tablesByArch[a] = t
	}
}

func tablesFor(a sysno.Arch) *archTables {
	if t := tablesByArch[a]; t != nil {
		return t
	}
	return tablesByArch[sysno.AMD64]
}

func (t *archTables) isExec(nr int) bool {
	return nr >= 0 && nr < len(t.exec) && t.exec[nr]
}

func (t *archTables) isFork(nr int) bool {
	return nr >= 0 && nr < len(t.fork) && t.fork[nr]
}

func sortStrings(s []string) { sort.Strings(s) }
