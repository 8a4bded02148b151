//go:build linux && amd64

package ebpf

import (
	"context"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// TestLostIsIncomplete fills the calls and paths maps: what does not fit
// is counted, and the profile says it is incomplete rather than dropping
// it silently.
func TestLostIsIncomplete(t *testing.T) {
	testenv.NeedRoot(t)
	mapLimits.calls, mapLimits.paths = 8, 2
	defer func() { mapLimits.calls, mapLimits.paths = 0, 0 }()
	victim := buildVictim(t, "victim", "-pthread")
	res, err := Run(context.Background(), []string{victim}, trace.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	src := res.Profile.Sources[0]
	if src.Coverage != profile.CoverageIncomplete || res.Profile.Coverage() != profile.CoverageIncomplete {
		t.Errorf("coverage %s, want incomplete", src.Coverage)
	}
	if src.Lost == 0 || !strings.HasPrefix(src.Detail, "not recorded: ") || !strings.Contains(src.Detail, "calls map was full") || !strings.Contains(src.Detail, "paths") {
		t.Errorf("lost %d, detail %q", src.Lost, src.Detail)
	}
}
