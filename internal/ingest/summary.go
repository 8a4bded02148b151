package ingest

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// readSummary parses strace -c/-C/-w tables:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 28.57    0.000040          40         1           execve
//	...
//	100.00    0.000140           4        31         3 total
//
// Columns are found from the header (strace -U/--summary-columns can
// reorder them); the dashed rule gives their extent, since the errors column
// is blank for calls that never failed. Tables of 32-bit personalities
// ("System call usage summary for 32 bit mode:") are left out: those are
// another ABI, which gVisor does not run. The error count has no errno; it
// is recorded under ErrnoUnknown.
func readSummary(r io.Reader, name string, opt Options) (*profile.Profile, error) {
	arch := opt.arch()
	p := profile.New(arch)
	src := profile.Source{Kind: string(FormatStraceSummary), Name: name, Coverage: profile.CoverageFull}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		lineNo              int
		cols                []string // header column names
		spans               [][2]int // extents from the dashed rule
		inTable, skipTable  bool
		tables, rows        int
		skipped32, unknownN int
		unknown             []string
	)
	for sc.Scan() {
		lineNo++
		src.Lines++
		line := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "System call usage summary for"):
			skipTable = strings.Contains(t, "32 bit")
			inTable = false
			src.Skipped++
			continue
		case isSummaryHeader(t):
			cols = strings.Fields(strings.ReplaceAll(t, "% time", "%time"))
			spans = nil
			inTable = true
			tables++
			src.Skipped++
			continue
		}
		if !inTable {
			if t != "" && looksBinary([]byte(line)) {
				return nil, fmt.Errorf("%s:%d: binary data, not a strace -c summary", name, lineNo)
			}
			src.Skipped++
			continue
		}
		if t == "" {
			inTable = false
			src.Skipped++
			continue
		}
		if strings.HasPrefix(t, "---") {
			if spans == nil {
				spans = dashSpans(line)
			}
			src.Skipped++
			continue
		}
		fields := rowFields(line, spans, cols)
		if len(fields) != len(cols) {
			return nil, fmt.Errorf("%s:%d: not a summary row: %q", name, lineNo, clip(t))
		}
		var sysName string
		var calls, errs uint64
		for i, c := range cols {
			f := fields[i]
			switch c {
			case "syscall":
				sysName = f
			case "calls":
				n, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad calls count %q", name, lineNo, clip(f))
				}
				calls = n
			case "errors":
				if f == "" {
					continue
				}
				n, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad errors count %q", name, lineNo, clip(f))
				}
				errs = n
			}
		}
		if sysName == "" {
			return nil, fmt.Errorf("%s:%d: summary row without a syscall name", name, lineNo)
		}
		if sysName == "total" {
			inTable = false
			continue
		}
		rows++
		if skipTable {
			skipped32++
			continue
		}
		nr, ok := sysno.Number(arch, sysName)
		if !ok {
			unknownN++
			if len(unknown) < maxUnknown {
				unknown = append(unknown, sysName)
			}
			continue
		}
		s := p.Syscall(nr)
		if len(p.Syscalls) > maxSyscalls {
			return nil, tooManySyscalls(name)
		}
		s.Record(calls, "")
		if errs > 0 {
			if s.Errors == nil {
				s.Errors = map[string]uint64{}
			}
			s.Errors[ErrnoUnknown] += errs
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if tables == 0 {
		return nil, fmt.Errorf("%s: no strace -c summary table found", name)
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: the strace -c summary has no rows", name)
	}
	var notes []string
	if skipped32 > 0 {
		notes = append(notes, fmt.Sprintf("%d syscalls of 32-bit mode left out", skipped32))
	}
	if unknownN > 0 {
		notes = append(notes, fmt.Sprintf("names not syscalls of %s left out: %s", arch, strings.Join(unknown, ", ")))
	}
	notes = append(notes, "errors have no errno in a summary: counted as "+strconv.Quote(ErrnoUnknown))
	notes = append(notes, "strace -c leaves out calls that never return (exit_group)")
	src.Detail = strings.Join(notes, "; ")
	p.Sources = append(p.Sources, src)
	return p, nil
}

func dashSpans(line string) [][2]int {
	var spans [][2]int
	for i := 0; i < len(line); {
		if line[i] != '-' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] == '-' {
			j++
		}
		spans = append(spans, [2]int{i, j})
		i = j
	}
	return spans
}

// rowFields cuts a row by the rule's spans when the row fits them, else by
// whitespace (then a blank errors column shows as a missing field).
func rowFields(line string, spans [][2]int, cols []string) []string {
	ncols := len(cols)
	if len(spans) == ncols {
		out := make([]string, ncols)
		ok := true
		for i, sp := range spans {
			lo, hi := sp[0], sp[1]
			if i == ncols-1 {
				hi = len(line)
			}
			if lo > len(line) {
				ok = false
				break
			}
			hi = min(hi, len(line))
			// A field must not spill over its rule (strace's own layout).
			if i < ncols-1 && hi < len(line) && line[hi] != ' ' {
				ok = false
				break
			}
			out[i] = strings.TrimSpace(line[lo:hi])
		}
		if ok {
			return out
		}
	}
	f := strings.Fields(line)
	if len(f) == ncols-1 {
		// The only column strace leaves blank is errors: put it back.
		for i, c := range cols {
			if c == "errors" {
				f = append(f[:i], append([]string{""}, f[i:]...)...)
				break
			}
		}
	}
	return f
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// isSummaryHeader matches the column header of a strace -c table, whatever
// columns -U chose: it names both "calls" and "syscall".
func isSummaryHeader(t string) bool {
	if !strings.Contains(t, "calls") || !strings.Contains(t, "syscall") {
		return false
	}
	var calls, sys bool
	for _, f := range strings.Fields(t) {
		calls = calls || f == "calls"
		sys = sys || f == "syscall"
	}
	return calls && sys
}
