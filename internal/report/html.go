package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// The HTML report is one self-contained page (no external assets, so it
// can be attached to a CI run or mailed): the verdict, a legend, a
// sortable table of every finding, and the details of each workload.

//go:embed html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"mark":     verdictMark,
	"outcome":  outcome,
	"details":  findingDetails,
	"evidence": evidenceLine,
	"target":   targetLine,
	"headline": headline,
	"calls":    calls,
	"verdictEvidence": func(e Evidence) string {
		return verdictEvidence(e)
	},
	"levelRank": func(l analyze.Level) int { return int(l) },
	// seeURL returns the link of a "see: URL" detail line.
	"seeURL": func(s string) string {
		u, ok := strings.CutPrefix(s, "see: ")
		if !ok || strings.ContainsAny(u, " \t") {
			return ""
		}
		return absURL(u)
	},
	"counts":      Counts,
	"anchor":      htmlAnchor,
	"key":         Key,
	"shown":       shownFindings,
	"logSummary":  logSummary,
	"historyLine": historyLine,
	"readyLine":   func(f *Fleet) string { return f.readyLine() },
	"join":        strings.Join,
	"verdictRank": func(v analyze.Verdict) int { return verdictRank[v] },
	"hasFindings": func(ws []Workload) bool {
		for _, w := range ws {
			if len(w.Findings) > 0 {
				return true
			}
		}
		return false
	},
}).Parse(htmlTemplate))

type htmlData struct {
	*Report
	Opt      Options
	Verdicts []legendEntry
	Levels   []legendEntry
}

type legendEntry struct{ Name, Meaning string }

// WriteHTML writes r as one self-contained HTML page.
func WriteHTML(w io.Writer, r *Report, opt Options) error {
	d := htmlData{Report: r, Opt: opt,
		Verdicts: []legendEntry{
			{string(analyze.Compatible), "everything observed is supported by gVisor"},
			{string(analyze.FallbacksVerified), "gVisor lacks something it uses, and an experiment showed the program works without it"},
			{string(analyze.AtRisk), "it uses something gVisor lacks or treats differently; it may fall back (gvcheck probe, verify find out)"},
			{string(analyze.Incompatible), "it was shown to fail (or degrade) under gVisor, simulated or real"},
		},
		Levels: []legendEntry{
			{analyze.LevelUnimplemented.String(), "the syscall fails under gVisor whatever its arguments"},
			{analyze.LevelUnsupportedArg.String(), "the syscall exists, but not for an argument or path seen"},
			{analyze.LevelNeedsOption.String(), "supported only when runsc runs with an option"},
			{analyze.LevelPartial.String(), "partially implemented; the arguments seen are not known to be affected"},
		},
	}
	if err := htmlPage.Execute(w, d); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// htmlAnchor turns a workload name into an element id.
func htmlAnchor(s string) string {
	var b strings.Builder
	b.WriteString("w-")
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "_%x", r)
		}
	}
	return b.String()
}
