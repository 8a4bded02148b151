//go:build linux && amd64

package ebpf

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestLoadClose loads and attaches the five programs and closes them:
// nothing of the backend stays open in this process.
func TestLoadClose(t *testing.T) {
	testenv.NeedRoot(t)
	p, err := load(config{mode: modeSeeds})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.links) != 5 {
		t.Errorf("%d programs attached, want 5", len(p.links))
	}
	progs, maps, err := bpfIDs()
	if err != nil || len(progs) < 5 || len(maps) < 10 {
		t.Errorf("while loaded: %d programs, %d maps (%v)", len(progs), len(maps), err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if progs, maps, err := bpfIDs(); err != nil || len(progs)+len(maps) > 0 {
		t.Errorf("after Close this process holds programs %v and maps %v (%v)", progs, maps, err)
	}
}
