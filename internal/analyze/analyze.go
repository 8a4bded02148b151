// Package analyze judges a Profile against a gVisor syscall table: which
// observed syscalls gVisor does not fully support, how it fails them, and
// the overall verdict.
package analyze

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// Level ranks how much a finding threatens the workload, lowest first.
type Level int

const (
	// LevelInfo: gVisor implements the syscall partially; the arguments seen
	// are not known to be affected.
	LevelInfo Level = iota
	// LevelNeedsOption: supported only when runsc is started with an option.
	LevelNeedsOption
	// LevelUnsupportedArg: the syscall exists but not for an argument seen.
	LevelUnsupportedArg
	// LevelUnimplemented: the syscall fails under gVisor whatever its arguments.
	LevelUnimplemented
)

var levelNames = []string{"partial", "needs-option", "unsupported-argument", "unimplemented"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// ParseLevel reads a level name as --fail-on takes it; "never" gives a level
// above every finding.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if s == n {
			return Level(i), nil
		}
	}
	switch s {
	case "info":
		return LevelInfo, nil
	case "unsupported-arg", "argument":
		return LevelUnsupportedArg, nil
	case "never", "none":
		return LevelUnimplemented + 1, nil
	}
	return 0, fmt.Errorf("unknown level %q (want partial, needs-option, unsupported-argument, unimplemented or never)", s)
}

// MarshalText writes the level by name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Verdict is the overall answer.
type Verdict string

const (
	// Compatible: every observed syscall is fully supported (partial ones may
	// carry notes).
	Compatible Verdict = "compatible"
	// FallbacksVerified: unsupported syscalls were used, but an experiment
	// showed the program works without them.
	FallbacksVerified Verdict = "fallbacks-verified"
	// AtRisk: the program uses something gVisor lacks; it may still fall back.
	AtRisk Verdict = "at-risk"
	// Incompatible: the program was shown to fail.
	Incompatible Verdict = "incompatible"
)

// Table is what analysis needs of a gVisor table.
type Table interface {
	Lookup(nr int) compat.Entry
}

// Finding is one syscall (or syscall argument) gVisor does not fully support.
type Finding struct {
	Syscall string         `json:"syscall"`
	Number  int            `json:"number"`
	Level   Level          `json:"level"`
	Support compat.Support `json:"support"`
	// Errno is what gVisor returns instead ("" for partial support).
	Errno string `json:"errno,omitempty"`
	// Cap: without this capability gVisor returns EPERM instead of Errno.
	Cap   string   `json:"cap,omitempty"`
	Note  string   `json:"note,omitempty"`
	URLs  []string `json:"urls,omitempty"`
	Count uint64   `json:"count"`
	// Errors are the failures seen in the evidence itself, by errno.
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Args are the distinct key arguments seen, by display form.
	Args []string `json:"args,omitempty"`
	// Exes are the executables that made the calls.
	Exes []string `json:"exes,omitempty"`
	// InTable is false when gVisor's table has no entry for the number.
	InTable bool `json:"in_table"`
}

// Row is one observed syscall with its support, for --all listings.
type Row struct {
	Syscall string         `json:"syscall"`
	Number  int            `json:"number"`
	Support compat.Support `json:"support"`
	Count   uint64         `json:"count"`
	Errors  uint64         `json:"errors,omitempty"`
}

// Summary counts the observation.
type Summary struct {
	SyscallsSeen   int    `json:"syscalls_seen"`
	FullySupported int    `json:"fully_supported"`
	Partial        int    `json:"partial"`
	Unimplemented  int    `json:"unimplemented"`
	Calls          uint64 `json:"calls"`
}

// Result is the analysis of one profile against one table.
type Result struct {
	Verdict  Verdict   `json:"verdict"`
	Summary  Summary   `json:"summary"`
	Findings []Finding `json:"findings"`
	Rows     []Row     `json:"rows"`
}

// Analyze judges p against t.
func Analyze(p *profile.Profile, t Table) *Result {
	res := &Result{Findings: []Finding{}}
	for _, name := range p.Names() {
		s := p.Syscalls[name]
		e := t.Lookup(s.Number)
		res.Summary.SyscallsSeen++
		res.Summary.Calls += s.Count
		var errs uint64
		for _, n := range s.Errors {
			errs += n
		}
		res.Rows = append(res.Rows, Row{Syscall: s.Name, Number: s.Number, Support: e.Support, Count: s.Count, Errors: errs})
		switch e.Support {
		case compat.Full:
			res.Summary.FullySupported++
			continue
		case compat.Partial:
			res.Summary.Partial++
		case compat.Unimplemented:
			res.Summary.Unimplemented++
		}
		res.Findings = append(res.Findings, newFinding(s, e))
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Level != b.Level {
			return a.Level > b.Level
		}
		return a.Syscall < b.Syscall
	})
	res.Verdict = Compatible
	if res.Max() >= LevelUnsupportedArg {
		res.Verdict = AtRisk
	}
	return res
}

func newFinding(s *profile.Syscall, e compat.Entry) Finding {
	f := Finding{
		Syscall: s.Name, Number: s.Number, Support: e.Support, Errno: e.Errno, Cap: e.Cap,
		Note: e.Note, URLs: e.URLs, Count: s.Count, Errors: s.Errors, InTable: e.InTable,
	}
	if e.Support == compat.Unimplemented {
		f.Level = LevelUnimplemented
	} else {
		f.Level = LevelInfo
	}
	for display := range s.Args {
		f.Args = append(f.Args, display)
	}
	slices.Sort(f.Args)
	for exe := range s.Exes {
		f.Exes = append(f.Exes, exe)
	}
	slices.Sort(f.Exes)
	return f
}

// Max returns the highest finding level, or -1 with no findings.
func (r *Result) Max() Level {
	max := Level(-1)
	for _, f := range r.Findings {
		if f.Level > max {
			max = f.Level
		}
	}
	return max
}

// Fails reports whether any finding is at or above level.
func (r *Result) Fails(level Level) bool {
	return len(r.Findings) > 0 && r.Max() >= level
}
