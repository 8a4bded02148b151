// Package analyze judges a Profile against a gVisor syscall table: which
// observed syscalls gVisor does not fully support, how it fails them, and
// the overall verdict.
package analyze

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
)

// Level ranks how much a finding threatens the workload, lowest first.
type Level int

const (
	// LevelPartial: gVisor implements the syscall partially; the arguments seen
	// are not known to be affected.
	LevelPartial Level = iota
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
		return LevelPartial, nil
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

// Finding kinds.
const (
	KindSyscall  = "syscall"  // the syscall as a whole
	KindArgument = "argument" // one key argument of the syscall
	KindPath     = "path"     // a /proc, /sys or /dev path gVisor does not provide
	KindExec     = "exec"     // a program whose file capabilities the sandbox cannot grant
	// Facts of a container image, read from its files (check --image).
	KindSetuid      = "setuid"      // a set-user-ID or set-group-ID program
	KindLibc        = "libc"        // the C library and its version
	KindGo          = "go"          // a Go program and its Go version
	KindInterpreter = "interpreter" // what runs the entrypoint (ELF loader, script interpreter)
	// KindSetting: a container setting (docker run option, Kubernetes
	// field) that changes or breaks under gVisor.
	KindSetting = "setting"
)

// Finding is one syscall, syscall argument or path gVisor does not fully
// support.
type Finding struct {
	Kind    string `json:"kind"`
	Syscall string `json:"syscall"`
	// Arg is the key argument (display form) or the path, for argument and
	// path findings.
	Arg     string         `json:"arg,omitempty"`
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
	// NeedsFlag is the runsc option that makes it work (e.g. "--net-raw").
	NeedsFlag string `json:"needs_flag,omitempty"`
	// Source is where in gVisor the argument rule comes from.
	Source string `json:"source,omitempty"`
	// Tried is what an experiment (probe) showed of the finding:
	// required, tolerated or not-reached; empty when none was made.
	Tried string `json:"tried,omitempty"`
	// Accepted is set when a baseline (--baseline) lists the finding: it
	// is reported but does not count towards the exit status.
	Accepted bool `json:"accepted,omitempty"`
	// Harmless marks findings programs are known to survive (rseq: glibc
	// carries on without it); reports explain them once.
	Harmless bool `json:"harmless,omitempty"`
}

// Title names the finding as people read it: "prctl(PR_SET_MM)".
func (f Finding) Title() string {
	switch f.Kind {
	case KindArgument:
		return f.Syscall + "(" + f.Arg + ")"
	case KindPath, KindExec, KindSetuid, KindLibc, KindGo, KindInterpreter, KindSetting:
		return f.Arg
	}
	return f.Syscall
}

// Options refine analysis beyond the syscall table.
type Options struct {
	// Rules judge key arguments and paths; nil judges syscalls only.
	Rules *rules.Set
	// RunscFlags are the options the sandbox runs with (e.g. --net-raw).
	RunscFlags []string
	// FileCaps returns the file capabilities of an executable the profile
	// names (nil: not checked).
	FileCaps func(path string) (filecap.Caps, bool)
	// SandboxCaps are the capabilities the sandboxed program's bounding
	// set holds (a container's, less what runsc removes); nil means
	// those of `runsc do`.
	SandboxCaps []string
	// Mounts are paths the sandbox's specification mounts (a container's
	// /dev/mqueue, /dev/shm, ...): they and what is below them exist
	// whatever gVisor's own /proc, /sys and /dev hold.
	Mounts []string
}

// Mounted reports whether p is one of opt.Mounts or below one.
func (opt Options) Mounted(p string) bool {
	for _, m := range opt.Mounts {
		if p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}

// harmlessWithoutFlag lists syscall-wide rules whose absence programs are
// known to tolerate: glibc registers rseq at every thread start and carries
// on without it when the kernel says ENOSYS.
var harmlessWithoutFlag = map[string]string{
	"rseq": "glibc carries on without rseq when it fails",
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

// AnalyzeWith judges p against t, and its key arguments and paths against
// opt.Rules.
func AnalyzeWith(p *profile.Profile, t Table, opt Options) *Result {
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
		case compat.Partial:
			res.Summary.Partial++
		case compat.Unimplemented:
			res.Summary.Unimplemented++
		}
		if e.Support == compat.Unimplemented {
			res.Findings = append(res.Findings, newFinding(s, e))
			continue
		}
		argFindings, allJudgedSupported := judgeArgs(s, e, opt)
		res.Findings = append(res.Findings, argFindings...)
		if wide, ok := judgeWide(s, e, opt); ok {
			res.Findings = append(res.Findings, wide)
			continue
		}
		if e.Support == compat.Partial && !allJudgedSupported {
			res.Findings = append(res.Findings, newFinding(s, e))
		}
	}
	res.Findings = append(res.Findings, judgePaths(p, opt)...)
	res.Findings = append(res.Findings, judgeExecs(p, opt)...)
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Level != b.Level {
			return a.Level > b.Level
		}
		if a.Syscall != b.Syscall {
			return a.Syscall < b.Syscall
		}
		return a.Arg < b.Arg
	})
	res.Verdict = Compatible
	if res.Max() >= LevelNeedsOption {
		res.Verdict = AtRisk
	}
	return res
}

func newFinding(s *profile.Syscall, e compat.Entry) Finding {
	f := Finding{
		Kind: KindSyscall, Syscall: s.Name, Number: s.Number, Support: e.Support, Errno: e.Errno, Cap: e.Cap,
		Note: e.Note, URLs: e.URLs, Count: s.Count, Errors: s.Errors, InTable: e.InTable,
	}
	if e.Support == compat.Unimplemented {
		f.Level = LevelUnimplemented
	} else {
		f.Level = LevelPartial
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

// judgeArgs judges each key argument seen against the rules. It also says
// whether every argument seen was judged supported, which clears a
// partially supported syscall.
func judgeArgs(s *profile.Syscall, e compat.Entry, opt Options) ([]Finding, bool) {
	if opt.Rules == nil || len(s.Args) == 0 {
		return nil, false
	}
	var out []Finding
	allSupported := true
	for _, display := range slices.Sorted(maps.Keys(s.Args)) {
		use := s.Args[display]
		v, rule := opt.Rules.Judge(s.Name, use.Values, opt.RunscFlags)
		if v == rules.AnswerUnknown {
			allSupported = false
			continue
		}
		if v == rules.AnswerSupported {
			continue
		}
		f := Finding{
			Kind: KindArgument, Syscall: s.Name, Arg: display, Number: s.Number, Support: e.Support,
			Count: use.Count, Errors: use.Errors, InTable: e.InTable, Errno: rule.Errno, Note: rule.Note, Source: rule.Source,
		}
		switch v {
		case rules.AnswerUnsupported:
			f.Level = LevelUnsupportedArg
		case rules.AnswerNeedsFlag:
			f.Level, f.NeedsFlag = LevelNeedsOption, rule.NeedsFlag
		case rules.AnswerIgnored:
			f.Level = LevelPartial
			f.Note = strings.TrimSpace("accepted but has no effect under gVisor. " + rule.Note)
		}
		f.Exes = sortedKeys(s.Exes)
		out = append(out, f)
	}
	return out, allSupported
}

// judgeWide applies a rule that covers a whole syscall whatever its
// arguments (io_uring needs --iouring, rseq depends on the platform).
func judgeWide(s *profile.Syscall, e compat.Entry, opt Options) (Finding, bool) {
	if opt.Rules == nil {
		return Finding{}, false
	}
	v, rule := opt.Rules.Judge(s.Name, nil, opt.RunscFlags)
	if v != rules.AnswerNeedsFlag && v != rules.AnswerUnsupported {
		return Finding{}, false
	}
	f := newFinding(s, e)
	f.Errno, f.Note, f.Source, f.Level = rule.Errno, rule.Note, rule.Source, LevelUnimplemented
	if v == rules.AnswerNeedsFlag {
		f.Level, f.NeedsFlag = LevelNeedsOption, rule.NeedsFlag
	}
	if why, ok := harmlessWithoutFlag[s.Name]; ok {
		f.Level, f.Harmless = LevelPartial, true
		f.Note = strings.TrimSpace(rule.Note + "; " + why)
	}
	return f, true
}

// judgePaths reports paths under /proc, /sys and /dev that the program
// reached natively but gVisor does not provide.
func judgePaths(p *profile.Profile, opt Options) []Finding {
	if opt.Rules == nil {
		return nil
	}
	var out []Finding
	for _, path := range slices.Sorted(maps.Keys(p.Paths)) {
		use := p.Paths[path]
		if use.Count > 0 && use.Errors["ENOENT"] == use.Count {
			continue // missing natively too: gVisor changes nothing
		}
		ok, why := opt.Rules.PathProvided(path)
		if ok || opt.Mounted(path) {
			continue
		}
		sc := strings.Join(use.Syscalls, ",")
		out = append(out, Finding{
			Kind: KindPath, Syscall: sc, Arg: path, Number: -1, Level: LevelUnsupportedArg,
			Support: compat.Unimplemented, Errno: "ENOENT", Note: why, Count: use.Count, Errors: use.Errors, InTable: true,
		})
	}
	return out
}

func sortedKeys(m map[string]uint64) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// judgeExecs reports executables whose file capabilities gVisor's sandbox
// cannot grant: with the effective bit set, exec fails with EPERM.
func judgeExecs(p *profile.Profile, opt Options) []Finding {
	if opt.Rules == nil || opt.FileCaps == nil {
		return nil
	}
	exes := map[string]uint64{}
	for _, s := range p.Syscalls {
		for exe := range s.Exes {
			exes[exe]++
		}
	}
	held := opt.Rules.Capabilities(false, opt.RunscFlags)
	if opt.SandboxCaps != nil {
		held = opt.SandboxCaps
	}
	var out []Finding
	for _, exe := range slices.Sorted(maps.Keys(exes)) {
		caps, ok := opt.FileCaps(exe)
		if !ok {
			continue
		}
		var missing []string
		for _, c := range caps.Permitted {
			if !slices.Contains(held, c) {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			continue
		}
		f := Finding{
			Kind: KindExec, Syscall: "execve", Arg: exe, Number: -1, Support: compat.Full, InTable: true,
			Source: opt.Rules.CapabilitySource(),
		}
		if caps.Effective {
			f.Level, f.Errno = LevelUnsupportedArg, "EPERM"
			f.Note = "its file capabilities " + strings.Join(missing, ", ") + " are outside the sandbox's set, so exec fails"
		} else {
			f.Level = LevelPartial
			f.Note = "its file capabilities " + strings.Join(missing, ", ") + " are outside the sandbox's set and will not be granted"
		}
		// CAP_NET_RAW alone is granted with --net-raw.
		if len(missing) == 1 && missing[0] == "CAP_NET_RAW" && f.Level > LevelPartial {
			f.Level, f.NeedsFlag = LevelNeedsOption, "--net-raw"
		}
		out = append(out, f)
	}
	return out
}
