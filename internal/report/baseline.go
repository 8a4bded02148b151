package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
)

// BaselineVersion is the version of the baseline file format.
const BaselineVersion = 1

// Baseline lists accepted findings by version-independent key (Key), so
// that a CI gate fails only on new ones, whichever gVisor version judges
// them.
type Baseline struct {
	Version  int             `json:"gvcheck_baseline"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry accepts one finding; with Workload empty, in every
// workload.
type BaselineEntry struct {
	Key      string `json:"key"`
	Workload string `json:"workload,omitempty"`
	// Level and Title say what was accepted, for the people who read the
	// file; matching uses Key and Workload only.
	Level string `json:"level,omitempty"`
	Title string `json:"title,omitempty"`
}

// BaselineSummary is what a report says of the baseline it applied.
type BaselineSummary struct {
	File     string `json:"file"`
	Accepted int    `json:"accepted"`
	New      int    `json:"new"`
	// Gone are entries no finding matched: fixed, or no longer reached.
	Gone []string `json:"gone,omitempty"`
}

// NewBaseline accepts every finding of the workloads.
func NewBaseline(ws []Workload) *Baseline {
	b := &Baseline{Version: BaselineVersion, Findings: []BaselineEntry{}}
	seen := map[BaselineEntry]bool{}
	for _, w := range ws {
		for _, f := range w.Findings {
			e := BaselineEntry{Key: Key(f), Workload: w.Name, Level: f.Level.String(), Title: f.Title()}
			if !seen[e] {
				seen[e] = true
				b.Findings = append(b.Findings, e)
			}
		}
	}
	sort.Slice(b.Findings, func(i, j int) bool {
		a, c := b.Findings[i], b.Findings[j]
		if a.Workload != c.Workload {
			return a.Workload < c.Workload
		}
		return a.Key < c.Key
	})
	return b
}

// ReadBaseline reads a baseline file.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("not a gvcheck baseline: %w", err)
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("baseline version %d, want %d (a file written by --write-baseline)", b.Version, BaselineVersion)
	}
	for i, e := range b.Findings {
		if e.Key == "" {
			return nil, fmt.Errorf("baseline entry %d has no key", i+1)
		}
	}
	return &b, nil
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	return WriteJSONValue(w, b)
}

// Apply marks the findings the baseline accepts and returns the summary.
func (b *Baseline) Apply(file string, ws []Workload) *BaselineSummary {
	used := map[int]bool{}
	s := &BaselineSummary{File: file}
	for wi := range ws {
		w := &ws[wi]
		for fi := range w.Findings {
			f := &w.Findings[fi]
			k := Key(*f)
			for i, e := range b.Findings {
				if e.Key == k && (e.Workload == "" || e.Workload == w.Name) {
					f.Accepted = true
					used[i] = true
				}
			}
			if f.Accepted {
				s.Accepted++
			} else {
				s.New++
			}
		}
	}
	gone := map[string]bool{}
	for i, e := range b.Findings {
		if !used[i] {
			gone[e.Key] = true
		}
	}
	s.Gone = slices.Sorted(maps.Keys(gone))
	return s
}
