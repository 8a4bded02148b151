package rules

import (
	"slices"
	"testing"
)

// TestGeneratedTables checks the structure the generator promises: every
// index in range, versions oldest first and listed in SourceVersions, and
// one set per version and architecture.
func TestGeneratedTables(t *testing.T) {
	seen := map[string]bool{}
	for i, g := range generatedSets {
		if i > 0 && g.version < generatedSets[i-1].version {
			t.Errorf("%s %s comes after a newer version", g.version, g.arch)
		}
		if k := g.version + "/" + string(g.arch); seen[k] {
			t.Errorf("%s twice", k)
		} else {
			seen[k] = true
		}
		if !slices.Contains(SourceVersions, g.version) {
			t.Errorf("%s not in SourceVersions", g.version)
		}
		if g.caps < 0 || g.caps >= len(capsPool) || g.roots < 0 || g.roots >= len(rootsPool) {
			t.Fatalf("%s %s: caps %d or roots %d out of range", g.version, g.arch, g.caps, g.roots)
		}
		for _, r := range g.rules {
			if int(r) >= len(rulePool) {
				t.Fatalf("%s %s: rule %d out of range", g.version, g.arch, r)
			}
		}
		for _, p := range g.paths {
			if int(p) >= len(pathPool) {
				t.Fatalf("%s %s: path %d out of range", g.version, g.arch, p)
			}
		}
	}
	if !slices.Equal(Versions(), SourceVersions) {
		t.Errorf("Versions() = %v, generated from %v", Versions(), SourceVersions)
	}
}

// TestSetsDoNotShareRules: a caller changing a rule must not change the
// embedded data.
func TestSetsDoNotShareRules(t *testing.T) {
	s := load(SourceVersions[0], "amd64")
	_, r := s.Judge("arch_prctl", []uint64{0x1001}, nil)
	if r == nil {
		t.Fatal("no arch_prctl(ARCH_SET_GS) rule")
	}
	r.Errno = "changed"
	for _, p := range rulePool {
		if p.Errno == "changed" {
			t.Fatal("the rule pool changed")
		}
	}
}
