package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/ingest"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// gVisor's own logs as evidence: runsc's debug and boot logs, and the
// "Unsupported syscall NAME(...)" lines people copy from their platform's
// logs, with or without timestamps and prefixes. Each distinct report is
// judged (report.LogLine) besides the analysis of what it names.

const logHead = 64 << 10

// gvisorLog is one log read as evidence.
type gvisorLog struct {
	profile *profile.Profile
	reports []gvisor.UnsupportedReport
}

// openLog returns a reader over an input (gunzipped) and whether it is a
// gVisor log rather than evidence ingest reads.
func openLog(r io.Reader) (*bufio.Reader, bool, error) {
	br := bufio.NewReaderSize(r, logHead)
	head, err := br.Peek(logHead)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, false, err
	}
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, err
		}
		br = bufio.NewReaderSize(zr, logHead)
		if head, err = br.Peek(logHead); err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, false, err
		}
	}
	// A strace log can quote the phrase in a write(); only input that is
	// no other evidence is a gVisor log.
	return br, ingest.Detect(head) == "" && gvisor.IsLog(head), nil
}

// isLogFile reports whether a file is a gVisor log.
func isLogFile(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() {
		return false, nil // ingest reports what is wrong with it
	}
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	_, ok, err := openLog(f)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return ok, nil
}

// readLog parses a gVisor log into a profile of what it reports.
func readLog(r io.Reader, name string, arch sysno.Arch) (*gvisorLog, error) {
	if arch == "" {
		arch = sysno.Host()
	}
	reports, err := gvisor.ParseDebugLog(r, arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := profile.New(arch)
	total := 0
	for _, u := range reports {
		total += u.Count
		s, ok := p.SyscallByName(u.Name)
		if !ok {
			continue // a number unknown on this architecture
		}
		s.Record(uint64(u.Count), "")
		if u.Key != "" {
			s.RecordArg(u.Key, u.Values, uint64(u.Count), "")
		}
	}
	p.Sources = []profile.Source{{Kind: "gvisor-log", Name: name, Coverage: profile.CoverageNames,
		Detail: fmt.Sprintf("%s of unsupported syscalls, %d distinct", report.Plural(total, "report"), len(reports))}}
	return &gvisorLog{profile: p, reports: reports}, nil
}

// judgeLog judges each distinct report: known harmless (cited), handled
// by the target gVisor (the log came from an older one), or worth a look.
func judgeLog(reports []gvisor.UnsupportedReport, tg *target) []report.LogLine {
	// The same report in several logs is one line, counted.
	var distinct []gvisor.UnsupportedReport
	index := map[string]int{}
	for _, u := range reports {
		id := u.Name + "\x00" + u.Key
		if i, ok := index[id]; ok {
			distinct[i].Count += u.Count
			continue
		}
		index[id] = len(distinct)
		distinct = append(distinct, u)
	}
	name := "gVisor " + tg.report.GVisor
	var out []report.LogLine
	for _, u := range distinct {
		l := report.LogLine{Syscall: u.Name, Key: u.Key, Count: u.Count,
			Example: report.TrimExample(fmt.Sprintf("Unsupported syscall %s(%s)", u.Name, u.Args))}
		k, known := gvisor.Classify(u)
		now, how := tg.handles(u)
		switch {
		case known && k.Harmless:
			l.Verdict, l.Why, l.Source = report.LogHarmless, k.Why, k.Source
		case now:
			l.Verdict = report.LogSupportedNow
			l.Why = name + " " + how + ": the log comes from an older gVisor"
		default:
			l.Verdict = report.LogNeedsALook
			l.Why = name + " " + how + "; not known to be harmless: check whether the program copes"
			if known {
				l.Why, l.Source = k.Why, k.Source
			}
		}
		out = append(out, l)
	}
	return out
}

// handles says whether the target implements what a report is about,
// and how.
func (t *target) handles(u gvisor.UnsupportedReport) (bool, string) {
	if u.Nr < 0 {
		return false, "does not know this syscall"
	}
	en := t.table.Lookup(u.Nr)
	if en.Support == compat.Unimplemented {
		return false, "returns " + entryErrno(en)
	}
	if u.Key != "" && t.rules != nil {
		ans, rule := t.rules.Judge(u.Name, u.Values, t.flags)
		switch ans {
		case rules.AnswerSupported:
			return true, "supports " + u.Key
		case rules.AnswerIgnored:
			return true, "accepts " + u.Key + " without effect"
		case rules.AnswerNeedsFlag:
			return false, fmt.Sprintf("returns %s for %s unless runsc runs with %s", dash(rule.Errno), u.Key, rule.NeedsFlag)
		case rules.AnswerUnsupported:
			return false, fmt.Sprintf("returns %s for %s", dash(rule.Errno), u.Key)
		}
		return false, "has no rule for " + u.Key + " (" + u.Name + " is " + en.Support.String() + ")"
	}
	if en.Support == compat.Partial {
		return true, "implements it partially (" + strings.TrimSuffix(en.Note, ".") + ")"
	}
	return true, "implements it"
}

// readWorkloads reads the evidence: gVisor logs here, the rest through
// ingest (readEvidence). Without separate, everything is one workload.
func readWorkloads(stdin io.Reader, args []string, opt ingest.Options, separate bool) ([]namedProfile, error) {
	var logs []namedProfile
	var rest []string
	for _, a := range args {
		if a == "-" {
			if len(args) > 1 {
				rest = append(rest, a) // read by ingest among the others
				continue
			}
			br, ok, err := openLog(stdin)
			if err != nil {
				return nil, fmt.Errorf("-: %w", err)
			}
			if !ok {
				stdin = br
				rest = append(rest, a)
				continue
			}
			l, err := readLog(br, "-", opt.Arch)
			if err != nil {
				return nil, err
			}
			logs = append(logs, namedProfile{Name: "-", Profile: l.profile, Logs: l.reports})
			continue
		}
		ok, err := isLogFile(a)
		if err != nil {
			return nil, err
		}
		if !ok {
			rest = append(rest, a)
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return nil, err
		}
		br, _, err := openLog(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		l, err := readLog(br, a, opt.Arch)
		f.Close()
		if err != nil {
			return nil, err
		}
		logs = append(logs, namedProfile{Name: a, Profile: l.profile, Logs: l.reports})
	}
	var out []namedProfile
	if len(rest) > 0 {
		ws, err := readEvidence(stdin, rest, opt, separate)
		if err != nil {
			return nil, err
		}
		out = ws
	}
	if separate || len(logs) == 0 {
		return append(out, logs...), nil
	}
	// One workload: the logs' reports join the other evidence.
	merged := out
	if len(merged) == 0 {
		merged = []namedProfile{logs[0]}
		logs = logs[1:]
	}
	m := &merged[0]
	for _, l := range logs {
		if err := m.Profile.Merge(l.Profile); err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		m.Logs = append(m.Logs, l.Logs...)
	}
	if len(args) > 1 {
		m.Name = fmt.Sprintf("%s and %d more", args[0], len(args)-1)
	}
	return merged, nil
}

// markLogVerdict makes a workload whose log holds a report worth a look at
// least at-risk: the program met something gVisor lacked.
func markLogVerdict(w *report.Workload) {
	// A log lists only what gVisor did not support: the note on names-only
	// evidence does not apply.
	notes := w.Notes[:0]
	for _, n := range w.Notes {
		if !strings.HasPrefix(n, "the evidence lists names only") {
			notes = append(notes, n)
		}
	}
	w.Notes = notes
	for _, l := range w.Log {
		if l.Verdict == report.LogNeedsALook && w.Verdict == analyze.Compatible {
			w.Verdict = analyze.AtRisk
			w.Notes = append(w.Notes, "gVisor reported calls it did not support that are not known to be harmless: see the log section")
			return
		}
	}
}
