package compat

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The patterns are compiled on first use, not at every start-up.
var (
	tagRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^release-(\d{8})(?:\.(\d{1,3}))?$`) })
	dateRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`) })
	commitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{7,40}$`) })
)

// ResolveVersion finds an embedded version from a user's spec:
//
//   - "latest" (or "newest"): the newest embedded version;
//   - a version ID: a gvisor.dev/gvisor module version
//     ("v0.0.0-20230927004350-cbd86285d259") or "docs-2020-04-23";
//   - a commit: the module version's 12-hex suffix (or a prefix of it of
//     at least 7 digits, if unique);
//   - a release tag "release-YYYYMMDD.N": the oldest embedded version whose
//     nearest release tag is exactly that one (the closest to the release);
//     otherwise the newest version whose nearest tag is older, i.e. the
//     newest embedded version that does not contain that release. A tag
//     without ".N" means ".0";
//   - a date "YYYY-MM-DD": the newest embedded version dated at or before
//     the end of that day (UTC), docs-2020-04-23 included.
func ResolveVersion(spec string) (Version, error) {
	spec = strings.TrimSpace(spec)
	vs := Versions()
	if spec == "" || spec == "latest" || spec == "newest" {
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.ID == spec || "gvisor.dev/gvisor@"+v.ID == spec {
			return v, nil
		}
	}
	if m := tagRE().FindStringSubmatch(spec); m != nil {
		want := tagKey(m[1], m[2])
		for _, v := range vs {
			if k, ok := parseTag(v.Tag); ok && k == want {
				return v, nil
			}
		}
		var best *Version
		for i, v := range vs {
			if k, ok := parseTag(v.Tag); ok && k < want {
				if best == nil || v.Date.After(best.Date) {
					best = &vs[i]
				}
			}
		}
		if best == nil {
			return Version{}, fmt.Errorf("gVisor release %s is older than every embedded version (oldest: %s, %s)", spec, vs[0].ID, vs[0].Tag)
		}
		return *best, nil
	}
	if dateRE().MatchString(spec) {
		day, err := time.Parse("2006-01-02", spec)
		if err != nil {
			return Version{}, fmt.Errorf("bad date %q: %w", spec, err)
		}
		end := day.Add(24 * time.Hour)
		var best *Version
		for i, v := range vs {
			if v.Date.Before(end) && (best == nil || !v.Date.Before(best.Date)) {
				best = &vs[i]
			}
		}
		if best == nil {
			return Version{}, fmt.Errorf("no embedded gVisor version at or before %s (oldest: %s)", spec, vs[0].Date.Format("2006-01-02"))
		}
		return *best, nil
	}
	if commitRE().MatchString(spec) {
		var found []Version
		for _, v := range vs {
			if c := commitOf(v.ID); c != "" && (strings.HasPrefix(c, spec) || strings.HasPrefix(spec, c)) {
				found = append(found, v)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return Version{}, fmt.Errorf("commit %q matches %d embedded gVisor versions; give more digits", spec, len(found))
		}
	}
	return Version{}, fmt.Errorf("unknown gVisor version %q: name one as \"latest\", a release tag (release-20230920.0), a date (2023-10-01), a module version (%s), its commit (%s) or docs-2020-04-23; \"gvcheck db versions\" lists them",
		spec, vs[len(vs)-1].ID, commitOf(vs[len(vs)-1].ID))
}

// commitOf returns the commit hash suffix of a pseudo-version.
func commitOf(id string) string {
	i := strings.LastIndexByte(id, '-')
	if !strings.HasPrefix(id, "v") || i < 0 {
		return ""
	}
	return id[i+1:]
}

// parseTag turns "release-20230920.0" into a sortable key.
func parseTag(tag string) (int64, bool) {
	m := tagRE().FindStringSubmatch(tag)
	if m == nil {
		return 0, false
	}
	return tagKey(m[1], m[2]), true
}

func tagKey(date, n string) int64 {
	d, _ := strconv.ParseInt(date, 10, 64)
	k, _ := strconv.ParseInt(n, 10, 64)
	return d*1000 + k
}
