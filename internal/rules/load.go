package rules

import (
	"sort"
	"sync"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// VersionData is the generated form of one Set: what internal/cmd/genrules
// extracts for one version and architecture, and what NewSet takes.
type VersionData struct {
	Version string
	Arch    sysno.Arch
	Rules   []Rule
	Paths   []Path
	Roots   []string
	Caps    CapDefaults
}

// generatedSet is one version and architecture in zrules.go: indices into
// the pools of distinct rules, paths, capability sets and root lists. The
// tables are statically initialised, so a command pays only for the sets it
// asks for (see README, "Database encoding").
type generatedSet struct {
	version     string
	arch        sysno.Arch
	caps, roots int
	rules       []uint16
	paths       []uint16
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Set{}
)

func load(version string, arch sysno.Arch) *Set {
	loadMu.Lock()
	defer loadMu.Unlock()
	k := version + "/" + string(arch)
	if s, ok := loaded[k]; ok {
		return s
	}
	s := &Set{Version: version, Arch: arch, rules: map[string][]Rule{}, paths: map[string]Path{}}
	for i := range generatedSets {
		if g := &generatedSets[i]; g.version == version && g.arch == arch {
			s = NewSet(g.data())
			break
		}
	}
	loaded[k] = s
	return s
}

// data assembles a set's rules and paths from the pools; rules are copied,
// so that no caller can change the shared tables.
func (g *generatedSet) data() VersionData {
	d := VersionData{Version: g.version, Arch: g.arch, Roots: rootsPool[g.roots], Caps: capsPool[g.caps],
		Rules: make([]Rule, len(g.rules)), Paths: make([]Path, len(g.paths))}
	for i, r := range g.rules {
		d.Rules[i] = rulePool[r]
	}
	for i, p := range g.paths {
		d.Paths[i] = pathPool[p]
	}
	return d
}

// NewSet builds a Set from rules and paths (the generator and tests use it
// on freshly extracted data).
func NewSet(d VersionData) *Set {
	s := &Set{Version: d.Version, Arch: d.Arch, rules: map[string][]Rule{}, paths: make(map[string]Path, len(d.Paths)), roots: d.Roots, caps: d.Caps}
	for _, r := range d.Rules {
		s.rules[r.Syscall] = append(s.rules[r.Syscall], r)
	}
	for _, p := range d.Paths {
		s.paths[p.Path] = p
	}
	for _, rs := range s.rules {
		sort.SliceStable(rs, func(i, j int) bool { return lessValues(rs[i].Values, rs[j].Values) })
	}
	return s
}

func lessValues(a, b []uint64) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
