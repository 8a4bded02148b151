package cli

import (
	"context"
	"slices"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
)

// allVersions is --gvisor's value for a history: the evidence judged
// against every embedded version.
const allVersions = "all"

// history judges one piece of evidence against every embedded gVisor
// version (with the same runsc options) and marks the first version from
// which it stays compatible up to the newest.
func history(ctx context.Context, tf targetFlags, p *profile.Profile, failOn analyze.Level) ([]report.HistoryRow, error) {
	var rows []report.HistoryRow
	for _, v := range compat.Versions() {
		if !slices.Contains(v.Arches(), p.Arch) {
			continue // e.g. the 2020 documentation lists amd64 only
		}
		t := tf
		t.gvisor = v.ID
		tg, err := t.resolve(ctx, p.Arch)
		if err != nil {
			return nil, err
		}
		res := tg.analyze(p)
		row := report.HistoryRow{GVisor: v.ID, Tag: v.Tag, Date: v.Date, Verdict: res.Verdict,
			Unimplemented: res.Summary.Unimplemented}
		for _, f := range res.Findings {
			if report.Counts(f, failOn) {
				row.Findings++
			}
		}
		if len(res.Findings) > 0 && res.Findings[0].Level > analyze.LevelPartial {
			row.Worst = res.Findings[0].Title()
		}
		rows = append(rows, row)
	}
	// The first version of the run of compatible ones that reaches the
	// newest: earlier compatible versions followed by a regression do not
	// count.
	first := -1
	for i := len(rows) - 1; i >= 0 && rows[i].Verdict == analyze.Compatible; i-- {
		first = i
	}
	if first >= 0 {
		rows[first].FirstCompatible = true
	}
	return rows, nil
}
