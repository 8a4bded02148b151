package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/probe"
)

// WriteText renders r for a terminal.
func WriteText(out io.Writer, r *Report, opt Options) error {
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "gvcheck: %s\n", headline(r))
	fmt.Fprintf(bw, "target:   %s\n", targetLine(r.Target))
	if b := r.Baseline; b != nil {
		fmt.Fprintf(bw, "baseline: %s\n", baselineLine(b))
	}
	if len(r.Workloads) > 1 {
		fmt.Fprintln(bw)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKLOAD\tVERDICT\tSEEN\tUNIMPLEMENTED\tPARTIAL\tWORST")
		for _, w := range r.Workloads {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", w.Name, w.Verdict, w.Summary.SyscallsSeen,
				w.Summary.Unimplemented, w.Summary.Partial, worstFinding(w))
		}
		tw.Flush()
	}
	if r.Fleet != nil {
		writeFleetText(bw, r.Fleet)
	}
	if len(r.History) > 0 {
		writeHistoryText(bw, r.History)
	}
	explained := map[string]bool{} // harmless findings already explained
	for _, w := range r.Workloads {
		fmt.Fprintln(bw)
		if len(r.Workloads) > 1 {
			fmt.Fprintf(bw, "== %s: %s\n", w.Name, w.Verdict)
		}
		writeWorkloadText(bw, w, opt, explained)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

func headline(r *Report) string {
	byLevel := map[analyze.Level]int{}
	for _, w := range r.Workloads {
		for _, f := range w.Findings {
			byLevel[f.Level]++
		}
	}
	if len(r.Workloads) == 1 && r.Workloads[0].Experiment != nil {
		e := r.Workloads[0].Experiment
		switch r.Verdict {
		case analyze.FallbacksVerified, analyze.Compatible:
			return fmt.Sprintf("%s: the program works with what gVisor does differently simulated (%s)", r.Verdict, Plural(e.Runs, "run"))
		case analyze.Incompatible:
			if e.Cause != "" {
				return fmt.Sprintf("incompatible (%s under simulated gVisor): %s", e.Outcome, e.Cause)
			}
			return fmt.Sprintf("incompatible: %s under simulated gVisor", e.Outcome)
		}
	}
	switch r.Verdict {
	case analyze.Compatible:
		if n := byLevel[analyze.LevelPartial]; n > 0 {
			return fmt.Sprintf("compatible (%s; see notes)", Plural(n, "partially supported call"))
		}
		return "compatible: everything observed is supported by gVisor"
	case analyze.AtRisk:
		var parts []string
		for _, l := range []struct {
			level       analyze.Level
			one, plural string
		}{
			{analyze.LevelUnimplemented, "unimplemented syscall", "unimplemented syscalls"},
			{analyze.LevelUnsupportedArg, "unsupported argument or path", "unsupported arguments or paths"},
			{analyze.LevelNeedsOption, "call that needs a runsc option", "calls that need a runsc option"},
		} {
			switch n := byLevel[l.level]; {
			case n == 1:
				parts = append(parts, "1 "+l.one)
			case n > 1:
				parts = append(parts, fmt.Sprintf("%d %s", n, l.plural))
			}
		}
		return "at-risk: " + strings.Join(parts, ", ")
	}
	return string(r.Verdict)
}

func worstFinding(w Workload) string {
	if len(w.Findings) == 0 {
		return "-"
	}
	return w.Findings[0].Title()
}

func targetLine(t Target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gVisor %s", t.GVisor)
	var extra []string
	if t.Tag != "" {
		extra = append(extra, t.Tag)
	}
	if !t.Date.IsZero() {
		extra = append(extra, t.Date.Format("2006-01-02"))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	}
	fmt.Fprintf(&b, ", %s", t.Arch)
	if t.Variant != "" {
		fmt.Fprintf(&b, ", table %s", t.Variant)
	}
	if strings.HasPrefix(t.GVisor, "installed") || strings.HasPrefix(t.GVisor, "file:") {
		fmt.Fprintf(&b, " [%s]", t.Source)
	}
	if len(t.RunscFlags) > 0 {
		fmt.Fprintf(&b, ", runsc %s", strings.Join(t.RunscFlags, " "))
	}
	return b.String()
}

func writeWorkloadText(bw *bufio.Writer, w Workload, opt Options, explained map[string]bool) {
	fmt.Fprintf(bw, "evidence: %s\n", evidenceLine(w))
	s := w.Summary
	fmt.Fprintf(bw, "summary:  %s seen, %d fully supported, %d partial, %d unimplemented\n",
		Plural(s.SyscallsSeen, "syscall"), s.FullySupported, s.Partial, s.Unimplemented)
	if e := w.Experiment; e != nil {
		fmt.Fprintf(bw, "experiment: %s with gVisor's differences simulated (%s)\n", e.Outcome, Plural(e.Runs, "run"))
		for _, ev := range e.Evidence {
			fmt.Fprintf(bw, "  %s\n", verdictEvidence(ev))
		}
	}
	shown := shownFindings(w, opt)
	// Partial support is a note, not a risk: without --all it is listed
	// after the risks, one line each, unless an experiment showed the
	// program needs it.
	var partial, risks []analyze.Finding
	for _, f := range shown {
		if f.Level == analyze.LevelPartial && !opt.All && f.Tried != string(probe.Required) {
			partial = append(partial, f)
		} else {
			risks = append(risks, f)
		}
	}
	oneExe := singleExe(shown) && !opt.All
	if len(risks) > 0 {
		shown := risks
		fmt.Fprintln(bw)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		if w.Experiment != nil {
			fmt.Fprintln(tw, "LEVEL\tSYSCALL\tCALLS\tUNDER GVISOR\tEXPERIMENT")
		} else {
			fmt.Fprintln(tw, "LEVEL\tSYSCALL\tCALLS\tUNDER GVISOR")
		}
		for _, f := range shown {
			if w.Experiment != nil {
				tried := f.Tried
				if tried == "" {
					tried = "not simulated" // gVisor's answer is not known well enough to imitate
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Level, f.Title(), calls(f.Count), outcomeShown(f), tried)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Level, f.Title(), calls(f.Count), outcomeShown(f))
		}
		tw.Flush()
		for _, f := range shown {
			details := findingDetails(f)
			if oneExe {
				details = dropCalledBy(details)
			}
			if len(details) == 0 {
				continue
			}
			fmt.Fprintf(bw, "\n%s:\n", f.Title())
			for _, d := range details {
				fmt.Fprintf(bw, "  %s\n", d)
			}
		}
	}
	// What is known harmless (rseq) is explained once per report, not per
	// program.
	if len(partial) > 0 {
		fmt.Fprintf(bw, "\npartially supported (gVisor differs only for some arguments or fields):\n")
		for _, f := range partial {
			line := f.Note
			if args := strings.Join(f.Args, ", "); args != "" {
				line = strings.TrimSpace(line + " (arguments: " + args + ")")
			}
			if f.Harmless {
				if explained[Key(f)] {
					line = "harmless, as above"
				} else {
					line = "harmless: " + line
				}
				explained[Key(f)] = true
			}
			fmt.Fprintf(bw, "  %s (%s): %s\n", f.Title(), callsWord(f.Count), dashEmpty2(line))
		}
	}
	if len(w.Log) > 0 {
		fmt.Fprintf(bw, "\n%s:\n", logSummary(w.Log))
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  VERDICT\tREPORTS\tSYSCALL\tWHY")
		for _, l := range w.Log {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", l.Verdict, l.Count, l.Title(), l.Why)
		}
		tw.Flush()
		// Each source once, with the reports it covers.
		var sources []string
		covers := map[string][]string{}
		for _, l := range w.Log {
			if l.Source == "" {
				continue
			}
			if covers[l.Source] == nil {
				sources = append(sources, l.Source)
			}
			covers[l.Source] = append(covers[l.Source], l.Title())
		}
		for _, s := range sources {
			fmt.Fprintf(bw, "  %s: known from %s\n", strings.Join(covers[s], ", "), s)
		}
	}
	if opt.All && len(w.Rows) > 0 {
		fmt.Fprintln(bw)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SYSCALL\tNR\tSUPPORT\tCALLS\tERRORS")
		for _, row := range w.Rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", row.Syscall, row.Number, row.Support, calls(row.Count), row.Errors)
		}
		tw.Flush()
	}
	if len(w.Notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range w.Notes {
			fmt.Fprintf(bw, "note: %s\n", n)
		}
	}
}

func evidenceLine(w Workload) string {
	var names []string
	for _, s := range w.Sources {
		n := s.Name
		if n == "" && len(s.Command) > 0 {
			n = shellJoin(s.Command)
		}
		if n == "" {
			n = s.Kind
		} else {
			n = fmt.Sprintf("%s (%s)", n, s.Kind)
		}
		names = append(names, n)
	}
	const maxShown = 4
	if len(names) > maxShown {
		names = append(names[:maxShown], fmt.Sprintf("and %d more", len(names)-maxShown))
	}
	line := strings.Join(names, ", ")
	if line == "" {
		line = "none"
	}
	line += "; coverage " + string(w.Coverage)
	if w.Exit != nil {
		if w.Exit.Signal != "" {
			line += fmt.Sprintf("; killed by %s", w.Exit.Signal)
		} else {
			line += fmt.Sprintf("; exit status %d", w.Exit.Code)
		}
	}
	return line
}

// outcome says what the program gets from gVisor.
func outcome(f analyze.Finding) string {
	if f.Harmless {
		return outcomeOf(f) + " (harmless)"
	}
	return outcomeOf(f)
}

func outcomeOf(f analyze.Finding) string {
	if f.NeedsFlag != "" {
		return fmt.Sprintf("%s unless runsc runs with %s", dashEmpty(f.Errno), f.NeedsFlag)
	}
	switch f.Kind {
	case analyze.KindArgument:
		if f.Level == analyze.LevelPartial {
			return "accepted, no effect"
		}
		return f.Errno
	case analyze.KindPath:
		return "ENOENT (not provided)"
	case analyze.KindExec:
		if f.Errno == "" {
			return "runs without its capabilities"
		}
		return f.Errno + " at exec"
	}
	switch f.Support {
	case compat.Partial:
		return "partially supported"
	case compat.Unimplemented:
		if f.Cap != "" {
			return fmt.Sprintf("%s (EPERM without %s)", f.Errno, f.Cap)
		}
		if !f.InTable {
			return f.Errno + " (not in gVisor's table)"
		}
		return f.Errno
	}
	return "supported"
}

func findingDetails(f analyze.Finding) []string {
	var d []string
	if f.Note != "" {
		d = append(d, "gVisor: "+f.Note)
	}
	for _, u := range f.URLs {
		d = append(d, "see: "+u)
	}
	if f.NeedsFlag != "" {
		d = append(d, "allowed with "+f.NeedsFlag)
	}
	if f.Source != "" {
		d = append(d, "rule from gVisor's "+f.Source)
	}
	switch {
	case len(f.Args) > 0 && f.Kind == analyze.KindPath:
		d = append(d, "paths: "+strings.Join(f.Args, ", "))
	case len(f.Args) > 0:
		d = append(d, "arguments: "+strings.Join(f.Args, ", "))
	}
	if len(f.Errors) > 0 {
		var errs []string
		for errno, n := range f.Errors {
			errs = append(errs, fmt.Sprintf("%s×%d", errno, n))
		}
		slices.Sort(errs)
		d = append(d, "errors in the evidence: "+strings.Join(errs, ", "))
	}
	if len(f.Exes) > 0 {
		d = append(d, "called by: "+strings.Join(f.Exes, ", "))
	}
	return d
}

func calls(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// Plural writes "1 word" or "n words".
func Plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func dashEmpty(s string) string {
	if s == "" {
		return "fails"
	}
	return s
}

// shellJoin writes a command line as a shell would need it typed.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// singleExe reports whether every finding was made by the same one
// program: the evidence line already names it.
func singleExe(fs []analyze.Finding) bool {
	exe := ""
	for _, f := range fs {
		for _, e := range f.Exes {
			if exe != "" && e != exe {
				return false
			}
			exe = e
		}
	}
	return true
}

func dropCalledBy(ds []string) []string {
	out := ds[:0:0]
	for _, d := range ds {
		if !strings.HasPrefix(d, "called by: ") {
			out = append(out, d)
		}
	}
	return out
}

func dashEmpty2(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func callsWord(n uint64) string {
	if n == 0 {
		return "calls unknown"
	}
	return Plural(int(n), "call")
}

// outcomeShown is outcome with the baseline's mark.
func outcomeShown(f analyze.Finding) string {
	if f.Accepted {
		return outcome(f) + " [accepted]"
	}
	return outcome(f)
}

func baselineLine(b *BaselineSummary) string {
	s := fmt.Sprintf("%s: %d accepted, %d new", b.File, b.Accepted, b.New)
	if len(b.Gone) > 0 {
		s += fmt.Sprintf("; %d no longer found (%s)", len(b.Gone), strings.Join(b.Gone, ", "))
	}
	return s
}

func writeHistoryText(bw *bufio.Writer, rows []HistoryRow) {
	fmt.Fprintf(bw, "\nhistory:  %s\n", historyLine(rows))
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tRELEASE TAG\tVERSION\tVERDICT\tUNIMPLEMENTED\tFINDINGS\tWORST")
	for _, h := range rows {
		mark := ""
		if h.FirstCompatible {
			mark = "  <- compatible from here on"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s%s\n", h.Date.Format("2006-01-02"), dashOr(h.Tag), h.GVisor, h.Verdict,
			h.Unimplemented, h.Findings, dashOr(h.Worst), mark)
	}
	tw.Flush()
}

// historyLine names the first version from which the evidence stays
// compatible.
func historyLine(rows []HistoryRow) string {
	for _, h := range rows {
		if h.FirstCompatible {
			tag := ""
			if h.Tag != "" {
				tag = ", " + h.Tag
			}
			return fmt.Sprintf("compatible from gVisor %s (%s%s) on, in %s embedded versions", h.GVisor, h.Date.Format("2006-01-02"), tag, countFrom(rows, h))
		}
	}
	return fmt.Sprintf("not compatible in the newest of %s embedded versions", fmt.Sprint(len(rows)))
}

func countFrom(rows []HistoryRow, first HistoryRow) string {
	n := 0
	seen := false
	for _, h := range rows {
		if h.GVisor == first.GVisor {
			seen = true
		}
		if seen {
			n++
		}
	}
	return fmt.Sprintf("%d of %d", n, len(rows))
}

func dashOr(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
