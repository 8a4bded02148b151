package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// Fleet summarises a report of several workloads: how many are ready for
// gVisor, and which findings block the most of them.
type Fleet struct {
	Workloads int            `json:"workloads"`
	Ready     int            `json:"ready"`
	ByVerdict map[string]int `json:"by_verdict"`
	Blockers  []Blocker      `json:"blockers"`
	// Skipped are files of a fleet directory in no format check reads.
	Skipped []string `json:"skipped,omitempty"`
}

// Blocker is one finding (by key) that fails workloads.
type Blocker struct {
	Key         string `json:"key"`
	Title       string `json:"title"`
	Level       string `json:"level"`
	UnderGVisor string `json:"under_gvisor"`
	Workloads   int    `json:"workloads"`
	// Examples name some of the workloads it blocks.
	Examples []string `json:"examples"`
}

// maxBlockers is how many blockers a fleet summary lists.
const maxBlockers = 10

// NewFleet summarises ws: a workload is ready when compatible or its
// fallbacks are verified; a blocker is a finding that counts at failOn
// in a workload that fails.
func NewFleet(ws []Workload, failOn analyze.Level) *Fleet {
	f := &Fleet{Workloads: len(ws), ByVerdict: map[string]int{}, Blockers: []Blocker{}}
	type acc struct {
		b     Blocker
		level analyze.Level
	}
	blockers := map[string]*acc{}
	for _, w := range ws {
		f.ByVerdict[string(w.Verdict)]++
		if w.Verdict == analyze.Compatible || w.Verdict == analyze.FallbacksVerified {
			f.Ready++
		}
		if !w.Fails(failOn) {
			continue
		}
		seen := map[string]bool{}
		for _, fd := range w.Findings {
			if !Counts(fd, failOn) && fd.Tried != "required" {
				continue
			}
			k := Key(fd)
			if seen[k] {
				continue
			}
			seen[k] = true
			a := blockers[k]
			if a == nil {
				a = &acc{b: Blocker{Key: k, Title: fd.Title(), Level: fd.Level.String(), UnderGVisor: outcome(fd)}, level: fd.Level}
				blockers[k] = a
			}
			a.b.Workloads++
			if len(a.b.Examples) < maxExamples {
				a.b.Examples = append(a.b.Examples, w.Name)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(blockers)) {
		f.Blockers = append(f.Blockers, blockers[k].b)
	}
	sort.SliceStable(f.Blockers, func(i, j int) bool {
		a, b := f.Blockers[i], f.Blockers[j]
		if a.Workloads != b.Workloads {
			return a.Workloads > b.Workloads
		}
		return blockers[a.Key].level > blockers[b.Key].level
	})
	if len(f.Blockers) > maxBlockers {
		f.Blockers = f.Blockers[:maxBlockers]
	}
	return f
}

// readyLine says how many workloads are ready, and the others by verdict.
func (f *Fleet) readyLine() string {
	var others []string
	for _, v := range []analyze.Verdict{analyze.AtRisk, analyze.Incompatible} {
		if n := f.ByVerdict[string(v)]; n > 0 {
			others = append(others, fmt.Sprintf("%d %s", n, v))
		}
	}
	s := fmt.Sprintf("%d of %d workloads ready for gVisor (compatible or fallbacks verified)", f.Ready, f.Workloads)
	if len(others) > 0 {
		s += "; " + strings.Join(others, ", ")
	}
	return s
}

func writeFleetText(w io.Writer, f *Fleet) {
	fmt.Fprintf(w, "\nready:    %s\n", f.readyLine())
	if len(f.Blockers) > 0 {
		fmt.Fprintln(w, "what blocks the most workloads:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  WORKLOADS\tLEVEL\tFINDING\tUNDER GVISOR\tFOR EXAMPLE")
		for _, b := range f.Blockers {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", b.Workloads, b.Level, b.Title, b.UnderGVisor, strings.Join(b.Examples, ", "))
		}
		tw.Flush()
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(w, "skipped:  %s of no format check reads: %s\n", Plural(len(f.Skipped), "file"), strings.Join(f.Skipped, ", "))
	}
}

func writeFleetMarkdown(w io.Writer, f *Fleet) {
	fmt.Fprintf(w, "\n**Ready:** %s\n", f.readyLine())
	if len(f.Blockers) > 0 {
		fmt.Fprintf(w, "\nWhat blocks the most workloads:\n\n| Workloads | Level | Finding | Under gVisor | For example |\n|---:|---|---|---|---|\n")
		for _, b := range f.Blockers {
			fmt.Fprintf(w, "| %d | %s | `%s` | %s | %s |\n", b.Workloads, b.Level, mdCell(b.Title), mdCell(b.UnderGVisor), mdCell(strings.Join(b.Examples, ", ")))
		}
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped %s of no format check reads: %s\n", Plural(len(f.Skipped), "file"), mdCell(strings.Join(f.Skipped, ", ")))
	}
}
