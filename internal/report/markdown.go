package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// WriteMarkdown renders r for a pull request comment.
func WriteMarkdown(out io.Writer, r *Report, opt Options) error {
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "## gvcheck: %s %s\n\n", verdictMark(r.Verdict), headline(r))
	fmt.Fprintf(bw, "Target: %s\n", targetLine(r.Target))
	if b := r.Baseline; b != nil {
		fmt.Fprintf(bw, "\nBaseline: %s\n", mdCell(baselineLine(b)))
	}
	if len(r.History) > 0 {
		fmt.Fprintf(bw, "\nHistory: %s\n\n| Date | Release tag | Version | Verdict | Unimplemented | Findings | Worst |\n|---|---|---|---|---:|---:|---|\n", historyLine(r.History))
		for _, h := range r.History {
			v := string(h.Verdict)
			if h.FirstCompatible {
				v = "**" + v + "** (from here on)"
			}
			fmt.Fprintf(bw, "| %s | %s | `%s` | %s %s | %d | %d | %s |\n", h.Date.Format("2006-01-02"), dashOr(h.Tag), h.GVisor,
				verdictMark(h.Verdict), v, h.Unimplemented, h.Findings, mdCode(dashOr(h.Worst)))
		}
	}
	if len(r.Workloads) > 1 {
		fmt.Fprintf(bw, "\n| Workload | Verdict | Seen | Unimplemented | Partial | Worst |\n|---|---|---:|---:|---:|---|\n")
		for _, w := range r.Workloads {
			fmt.Fprintf(bw, "| %s | %s %s | %d | %d | %d | %s |\n", mdCell(w.Name), verdictMark(w.Verdict), w.Verdict,
				w.Summary.SyscallsSeen, w.Summary.Unimplemented, w.Summary.Partial, mdCode(worstFinding(w)))
		}
	}
	if r.Fleet != nil {
		writeFleetMarkdown(bw, r.Fleet)
	}
	for _, w := range r.Workloads {
		if len(r.Workloads) > 1 {
			fmt.Fprintf(bw, "\n### %s: %s\n", mdCell(w.Name), w.Verdict)
		}
		fmt.Fprintf(bw, "\nEvidence: %s  \n", mdCell(evidenceLine(w)))
		s := w.Summary
		fmt.Fprintf(bw, "Summary: %s seen, %d fully supported, %d partial, %d unimplemented\n",
			Plural(s.SyscallsSeen, "syscall"), s.FullySupported, s.Partial, s.Unimplemented)
		if shown := shownFindings(w, opt); len(shown) > 0 {
			fmt.Fprintf(bw, "\n| Level | Syscall | Calls | Under gVisor | Note |\n|---|---|---:|---|---|\n")
			for _, f := range shown {
				note := f.Note
				for _, u := range f.URLs {
					note = strings.TrimSpace(note + " " + u)
				}
				if len(f.Args) > 0 {
					note = strings.TrimSpace(note + " (arguments: " + strings.Join(f.Args, ", ") + ")")
				}
				fmt.Fprintf(bw, "| %s | `%s` | %s | %s | %s |\n", f.Level, f.Title(), calls(f.Count), mdCell(outcomeShown(f)), mdCell(note))
			}
		}
		if opt.All && len(w.Rows) > 0 {
			fmt.Fprintf(bw, "\n<details><summary>All %s</summary>\n\n| Syscall | Nr | Support | Calls | Errors |\n|---|---:|---|---:|---:|\n",
				Plural(len(w.Rows), "syscall"))
			for _, row := range w.Rows {
				fmt.Fprintf(bw, "| `%s` | %d | %s | %s | %d |\n", row.Syscall, row.Number, row.Support, calls(row.Count), row.Errors)
			}
			fmt.Fprintf(bw, "\n</details>\n")
		}
		if len(w.Log) > 0 {
			fmt.Fprintf(bw, "\n%s:\n\n| Verdict | Reports | Syscall | Why | Known from |\n|---|---:|---|---|---|\n", logSummary(w.Log))
			for _, l := range w.Log {
				fmt.Fprintf(bw, "| %s | %d | `%s` | %s | %s |\n", l.Verdict, l.Count, l.Title(), mdCell(l.Why), mdCell(l.Source))
			}
		}
		if len(w.Notes) > 0 {
			fmt.Fprintln(bw)
			for _, n := range w.Notes {
				fmt.Fprintf(bw, "> %s\n", n)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

func verdictMark(v analyze.Verdict) string {
	switch v {
	case analyze.Compatible, analyze.FallbacksVerified:
		return "✅"
	case analyze.AtRisk:
		return "⚠️"
	}
	return "❌"
}

func mdCode(s string) string {
	if s == "-" {
		return s
	}
	return "`" + s + "`"
}

// mdCell keeps a value inside one table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
