package rules

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// VersionData is the generated form of one Set (internal/cmd/genrules
// writes a []VersionData literal into zrules.go).
type VersionData struct {
	Version string
	Arch    sysno.Arch
	Rules   []Rule
	Paths   []Path
	Roots   []string
	Caps    CapDefaults
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Set{}

	decodeOnce sync.Once
	generated  []VersionData
)

// decode unpacks the embedded data; it was written by genrules and is
// checked by the tests, so failure is a build defect.
func decode() {
	zr, err := gzip.NewReader(bytes.NewReader(generatedGz))
	if err != nil {
		panic(fmt.Sprintf("rules: embedded data: %v", err))
	}
	if err := json.NewDecoder(zr).Decode(&generated); err != nil {
		panic(fmt.Sprintf("rules: embedded data: %v", err))
	}
}

func load(version string, arch sysno.Arch) *Set {
	decodeOnce.Do(decode)
	loadMu.Lock()
	defer loadMu.Unlock()
	k := version + "/" + string(arch)
	if s, ok := loaded[k]; ok {
		return s
	}
	s := &Set{Version: version, Arch: arch, rules: map[string][]Rule{}, paths: map[string]Path{}}
	for i := range generated {
		g := &generated[i]
		if g.Version != version || g.Arch != arch {
			continue
		}
		s = NewSet(*g)
	}
	loaded[k] = s
	return s
}

// NewSet builds a Set from rules and paths (the generator and tests use it
// on freshly extracted data).
func NewSet(d VersionData) *Set {
	s := &Set{Version: d.Version, Arch: d.Arch, rules: map[string][]Rule{}, paths: map[string]Path{}, roots: d.Roots, caps: d.Caps}
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
