package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130013417-1473c322e72c+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1473c322e72c271b14f7606c3bee64c9dad6f9a5"},
			{Key: "vcs.time", Value: "2026-11-30T01:34:17Z"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "CGO_ENABLED", Value: "0"},
		}}
	for _, c := range []struct {
		name  string
		bi    *debug.BuildInfo
		ok    bool
		short string
	}{
		{"checkout", stamped, true, "v0.0.0-20261130013417-1473c322e72c+dirty"},
		{"module", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, true, "v1.2.0"},
		{"no vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
		{"unreadable", nil, false, "dev"},
		{"revision only", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123456789"}}}, true, "dev (abcdef012345)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := fromBuildInfo(c.bi, c.ok)
			if got := in.Short(); got != c.short {
				t.Errorf("Short() = %q, want %q", got, c.short)
			}
		})
	}
	in := fromBuildInfo(stamped, true)
	if !in.Modified || !in.Static || in.Time.IsZero() || in.Revision == "" {
		t.Errorf("settings not read: %+v", in)
	}
}

func TestLdflagsOverride(t *testing.T) {
	version, revision = "v3.0.0", "feedface"
	defer func() { version, revision = "", "" }()
	in := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "other"}}}, true)
	if in.Version != "v3.0.0" || in.Revision != "feedface" {
		t.Errorf("got %q %q, want the -ldflags values", in.Version, in.Revision)
	}
}
