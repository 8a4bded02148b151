// Package buildinfo says which gvcheck this is: the version and source
// revision the Go toolchain stamped into the binary, or that a release
// build set with -ldflags.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set with -ldflags "-X github.com/gvcheck/gvcheck/internal/buildinfo.version=v1.2.0
// -X github.com/gvcheck/gvcheck/internal/buildinfo.revision=COMMIT" where the
// toolchain cannot stamp them (a source archive, a git worktree: Go only
// recognises a .git directory).
var (
	version  string
	revision string
)

// Info describes the running binary.
type Info struct {
	// Version is the module version (v1.2.0, or a pseudo-version with
	// "+dirty" from a modified checkout), the -ldflags version, or "dev".
	Version  string
	Revision string    // VCS commit, "" when unknown
	Time     time.Time // commit time, zero when unknown
	Modified bool      // built from a checkout with uncommitted changes
	Go       string    // Go toolchain
	Static   bool      // built with CGO_ENABLED=0
}

// Read returns the running binary's build information.
func Read() Info {
	return fromBuildInfo(debug.ReadBuildInfo())
}

func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Version: "dev", Revision: revision, Go: runtime.Version()}
	if ok {
		in.Go = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Revision == "" {
					in.Revision = s.Value
				}
			case "vcs.time":
				in.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				in.Modified = s.Value == "true"
			case "CGO_ENABLED":
				in.Static = s.Value == "0"
			}
		}
	}
	if version != "" {
		in.Version = version
	}
	if in.Modified && !strings.HasSuffix(in.Version, "+dirty") && in.Version != "dev" {
		in.Version += "+dirty"
	}
	return in
}

// Short is the version as reports carry it: the version, and the
// revision's first 12 digits when the version does not already name it.
func (in Info) Short() string {
	v := in.Version
	if in.Revision != "" && !strings.Contains(v, shortRev(in.Revision)) {
		v += " (" + shortRev(in.Revision)
		if in.Modified {
			v += ", modified"
		}
		v += ")"
	}
	return v
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
