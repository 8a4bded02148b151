// Package profile holds what a program was seen to do: the syscalls it made,
// how often, how they failed, their key arguments and the paths it touched.
// A Profile is the common currency between evidence (tracer, logs, seccomp
// profiles) and analysis, and is saved as versioned JSON so that one trace
// can be re-judged against any gVisor version later.
package profile

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// SchemaVersion is the version of the saved JSON form.
const SchemaVersion = 1

// Coverage says how much of a program's syscall activity evidence records.
type Coverage string

const (
	// CoverageFull: every syscall made was recorded and counted.
	CoverageFull Coverage = "full"
	// CoverageFiltered: only syscalls the seccomp filter stopped were recorded
	// (those gVisor does not fully support); the rest ran unobserved.
	CoverageFiltered Coverage = "filtered"
	// CoverageNames: the set of names is complete but counts are unknown.
	CoverageNames Coverage = "names"
	// CoveragePermitted: what a seccomp profile allows, not what ran.
	CoveragePermitted Coverage = "permitted"
	// CoverageIncomplete: a complete trace lost some events (Source.Lost):
	// counts are lower bounds and a syscall, argument or path may be missing.
	CoverageIncomplete Coverage = "incomplete"
	// CoverageStatic: nothing ran; the findings are facts read from files
	// (a container image, a Kubernetes manifest).
	CoverageStatic Coverage = "static"
)

// Source records one piece of evidence merged into a profile.
type Source struct {
	Kind     string   `json:"kind"`              // e.g. "strace", "strace-summary", "names", "oci-seccomp", "trace"
	Name     string   `json:"name,omitempty"`    // file name, or "-" for stdin
	Command  []string `json:"command,omitempty"` // traced command line
	Coverage Coverage `json:"coverage"`          // how complete the evidence is
	Detail   string   `json:"detail,omitempty"`  // free-form, e.g. tracer mode or workload name
	Backend  string   `json:"backend,omitempty"` // tracer backend of a trace: "ptrace" or "ebpf"
	Why      string   `json:"why,omitempty"`     // why that backend was used
	Lost     uint64   `json:"lost,omitempty"`    // events a trace could not record (coverage incomplete)
	Exit     *Exit    `json:"exit,omitempty"`    // how a traced program ended
	Lines    int64    `json:"lines,omitempty"`   // lines read from a log
	Skipped  int64    `json:"skipped,omitempty"` // log lines that were not syscalls (signals, exits, ...)
}

// Exit is how a traced program ended.
type Exit struct {
	Code   int    `json:"code"`             // exit status, or 128+signal
	Signal string `json:"signal,omitempty"` // set when killed by a signal
}

// Profile is the observed syscall behaviour of one workload.
type Profile struct {
	Schema   int                 `json:"gvcheck_profile"`
	Arch     sysno.Arch          `json:"arch"`
	Sources  []Source            `json:"sources"`
	Syscalls map[string]*Syscall `json:"syscalls"`
	Paths    map[string]*PathUse `json:"paths,omitempty"`
}

// Syscall is what was seen of one syscall.
type Syscall struct {
	Name   string `json:"name"`
	Number int    `json:"number"`
	// Count is how many calls were seen; 0 when the evidence has no counts.
	Count  uint64             `json:"count"`
	Errors map[string]uint64  `json:"errors,omitempty"` // errno name -> count
	Args   map[string]*ArgUse `json:"args,omitempty"`   // key argument (display form) -> use
	Exes   map[string]uint64  `json:"exes,omitempty"`   // executable path -> calls
}

// ArgUse is one distinct key argument of an argument-sensitive syscall, e.g.
// prctl's option or socket's (domain, type, protocol). Values are the raw
// numbers rules match on; the map key is their display form, derived from the
// values, so the tracer and the log parser agree on it.
type ArgUse struct {
	Values []uint64          `json:"values"`
	Count  uint64            `json:"count"`
	Errors map[string]uint64 `json:"errors,omitempty"`
}

// PathUse is one path under /proc, /sys or /dev that the program touched.
type PathUse struct {
	Count    uint64            `json:"count"`
	Errors   map[string]uint64 `json:"errors,omitempty"`
	Syscalls []string          `json:"syscalls,omitempty"`
}

// New returns an empty profile for arch.
func New(arch sysno.Arch) *Profile {
	return &Profile{Schema: SchemaVersion, Arch: arch, Syscalls: map[string]*Syscall{}}
}

// Syscall returns the entry for syscall number nr, creating it.
func (p *Profile) Syscall(nr int) *Syscall {
	name := sysno.Name(p.Arch, nr)
	s := p.Syscalls[name]
	if s == nil {
		s = &Syscall{Name: name, Number: nr}
		p.Syscalls[name] = s
	}
	return s
}

// SyscallByName returns the entry for a syscall name (aliases and numeric
// spellings accepted), creating it; ok is false for a name that is no
// syscall of the profile's architecture.
func (p *Profile) SyscallByName(name string) (s *Syscall, ok bool) {
	nr, ok := sysno.Number(p.Arch, name)
	if !ok {
		return nil, false
	}
	return p.Syscall(nr), true
}

// Record adds n calls with the given errno ("" for success).
func (s *Syscall) Record(n uint64, errno string) {
	s.Count += n
	if errno != "" {
		if s.Errors == nil {
			s.Errors = map[string]uint64{}
		}
		s.Errors[errno] += n
	}
}

// RecordArg adds n calls with key argument display/values and errno.
func (s *Syscall) RecordArg(display string, values []uint64, n uint64, errno string) {
	if s.Args == nil {
		s.Args = map[string]*ArgUse{}
	}
	a := s.Args[display]
	if a == nil {
		a = &ArgUse{Values: slices.Clone(values)}
		s.Args[display] = a
	}
	a.Count += n
	if errno != "" {
		if a.Errors == nil {
			a.Errors = map[string]uint64{}
		}
		a.Errors[errno] += n
	}
}

// RecordExe attributes n calls to an executable.
func (s *Syscall) RecordExe(exe string, n uint64) {
	if exe == "" {
		return
	}
	if s.Exes == nil {
		s.Exes = map[string]uint64{}
	}
	s.Exes[exe] += n
}

// RecordPath adds n uses of path by syscall name with errno.
func (p *Profile) RecordPath(path, syscall string, n uint64, errno string) {
	if p.Paths == nil {
		p.Paths = map[string]*PathUse{}
	}
	u := p.Paths[path]
	if u == nil {
		u = &PathUse{}
		p.Paths[path] = u
	}
	u.Count += n
	if errno != "" {
		if u.Errors == nil {
			u.Errors = map[string]uint64{}
		}
		u.Errors[errno] += n
	}
	if syscall == "" {
		return
	}
	if i, found := slices.BinarySearch(u.Syscalls, syscall); !found {
		u.Syscalls = slices.Insert(u.Syscalls, i, syscall)
	}
}

// Names returns the syscall names in the profile, sorted.
func (p *Profile) Names() []string {
	return slices.Sorted(maps.Keys(p.Syscalls))
}

// Coverage is the weakest coverage among the sources: a merged profile is
// only as complete as its least complete part.
func (p *Profile) Coverage() Coverage {
	rank := map[Coverage]int{CoverageFull: 0, CoverageNames: 1, CoverageIncomplete: 2, CoverageFiltered: 3, CoveragePermitted: 4, CoverageStatic: 5}
	worst := CoverageFull
	for _, s := range p.Sources {
		if rank[s.Coverage] > rank[worst] {
			worst = s.Coverage
		}
	}
	return worst
}

// Merge adds q's observations to p. Both must be of the same architecture.
func (p *Profile) Merge(q *Profile) error {
	if p.Arch != q.Arch {
		return fmt.Errorf("cannot merge %s evidence into a %s profile", q.Arch, p.Arch)
	}
	p.Sources = append(p.Sources, q.Sources...)
	for _, qs := range q.Syscalls {
		ps := p.Syscall(qs.Number)
		ps.Count += qs.Count
		addCounts(&ps.Errors, qs.Errors)
		addCounts(&ps.Exes, qs.Exes)
		for display, qa := range qs.Args {
			ps.RecordArg(display, qa.Values, qa.Count, "")
			addCounts(&ps.Args[display].Errors, qa.Errors)
		}
	}
	for path, qu := range q.Paths {
		for _, sc := range qu.Syscalls {
			p.RecordPath(path, sc, 0, "")
		}
		pu := p.Paths[path]
		if pu == nil { // a path with no syscalls recorded
			p.RecordPath(path, "", 0, "")
			pu = p.Paths[path]
		}
		pu.Count += qu.Count
		addCounts(&pu.Errors, qu.Errors)
	}
	return nil
}

func addCounts(dst *map[string]uint64, src map[string]uint64) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = make(map[string]uint64, len(src))
	}
	for k, v := range src {
		(*dst)[k] += v
	}
}

// Write saves p as indented JSON.
func (p *Profile) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

// Read loads a saved profile and checks it is well-formed.
func Read(r io.Reader) (*Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Profile) validate() error {
	if p.Schema == 0 {
		return fmt.Errorf("not a gvcheck profile: no gvcheck_profile version")
	}
	if p.Schema > SchemaVersion {
		return fmt.Errorf("profile version %d is newer than this gvcheck understands (%d)", p.Schema, SchemaVersion)
	}
	arch, err := sysno.ParseArch(string(p.Arch))
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	p.Arch = arch
	if p.Syscalls == nil {
		p.Syscalls = map[string]*Syscall{}
	}
	// Re-key by canonical name so hand-edited or foreign profiles merge cleanly.
	fixed := make(map[string]*Syscall, len(p.Syscalls))
	for key, s := range p.Syscalls {
		if s == nil {
			return fmt.Errorf("profile: syscall %q has no data", key)
		}
		nr, ok := sysno.Number(p.Arch, s.Name)
		if !ok {
			nr, ok = sysno.Number(p.Arch, key)
		}
		if !ok {
			return fmt.Errorf("profile: unknown syscall %q", key)
		}
		s.Number = nr
		s.Name = sysno.Name(p.Arch, nr)
		for display, a := range s.Args {
			if a == nil {
				return fmt.Errorf("profile: syscall %s argument %q has no data", s.Name, display)
			}
		}
		if prev := fixed[s.Name]; prev != nil {
			return fmt.Errorf("profile: syscall %s listed twice", s.Name)
		}
		fixed[s.Name] = s
	}
	p.Syscalls = fixed
	for path, u := range p.Paths {
		if u == nil {
			return fmt.Errorf("profile: path %q has no data", path)
		}
		sort.Strings(u.Syscalls)
	}
	return nil
}

// String says how the program ended: "exit 0", "killed by SIGSEGV".
func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return "exit " + strconv.Itoa(e.Code)
}

// Redacted stands for a command-line argument left out of a profile.
const Redacted = "REDACTED"

// RedactArgs replaces the arguments of every recorded command line (not
// the program's name) with Redacted, for a profile to be kept or shared
// without the secrets command lines carry (--password=...).
func (p *Profile) RedactArgs() {
	for i := range p.Sources {
		c := p.Sources[i].Command
		for j := 1; j < len(c); j++ {
			c[j] = Redacted
		}
	}
}
