// Package rules holds argument-level compatibility knowledge about gVisor:
// for argument-sensitive syscalls (prctl options, socket families, ioctl
// requests, ...), which argument values each gVisor version supports, the
// errno it answers otherwise, and which runsc flag changes that; plus the
// /proc, /sys and /dev entries it provides. The rules are derived from
// gVisor's source by internal/cmd/genrules and embedded.
package rules

//go:generate go run ../cmd/genrules -o zrules.go

import (
	"fmt"
	pathpkg "path"
	"slices"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Rule is what gVisor does for one key argument value of a syscall.
type Rule struct {
	Syscall string
	// Key is the display form, e.g. "PR_SET_MM" or "AF_PACKET,SOCK_RAW".
	Key string
	// Values is matched as a prefix of a profile key's values (longest
	// match wins); with Bit set, Values[0] is one flag bit instead, and the
	// rule applies when the key's flags include it.
	Values []uint64
	Bit    bool
	// Supported: gVisor implements the value. Otherwise Errno is what the
	// call returns ("" with Ignored: it succeeds but has no effect).
	Supported bool
	Ignored   bool
	Errno     string
	// NeedsFlag is the runsc flag that makes the value work (e.g. "--net-raw").
	NeedsFlag string
	Note      string
	// Source is where the rule comes from: "gVisor file:function", with
	// "(curated)" for rules read by hand rather than derived.
	Source string
}

// AnyKey is the Key of rules about a whole syscall rather than one
// argument value (io_uring_* need --iouring; rseq depends on the platform).
const AnyKey = "(any)"

// Answer is gVisor's answer to one key argument.
type Answer int

const (
	AnswerUnknown     Answer = iota // no rule: the syscall-level entry decides
	AnswerSupported                 // implemented
	AnswerUnsupported               // fails with the rule's errno
	AnswerNeedsFlag                 // works only with the rule's runsc flag
	AnswerIgnored                   // succeeds but has no effect
)

func (v Answer) String() string {
	names := [...]string{"unknown", "supported", "unsupported", "needs-flag", "ignored"}
	if v < 0 || int(v) >= len(names) {
		return fmt.Sprintf("answer(%d)", int(v))
	}
	return names[v]
}

// Path is one entry gVisor provides under /proc, /sys or /dev. Per-process
// entries are written under /proc/[pid]/ (also matching /proc/self/,
// /proc/thread-self/ and /proc/[pid]/task/[tid]/).
type Path struct {
	Path   string
	Dir    bool
	Source string
}

// Set is the rules of one gVisor version for one architecture.
type Set struct {
	Version string // gVisor module version the rules were derived from
	Arch    sysno.Arch
	rules   map[string][]Rule
	paths   map[string]Path
	roots   []string // trees whose contents are known (e.g. "/proc")
	caps    CapDefaults
}

// For returns the rule set of a gVisor version (a compat.Version ID: the
// module version, e.g. v0.0.0-20260905035102-160fafc42237), or of the
// nearest embedded version at or before it. ok is false when no embedded
// version is that old.
func For(version string, arch sysno.Arch) (*Set, bool) {
	vs := Versions()
	i := sort.SearchStrings(vs, version)
	if i < len(vs) && vs[i] == version {
		return load(vs[i], arch), true
	}
	if i == 0 {
		return nil, false
	}
	return load(vs[i-1], arch), true
}

// Versions lists the embedded gVisor versions, oldest first (module
// versions sort by date).
func Versions() []string {
	vs := make([]string, 0, len(generatedSets))
	for _, g := range generatedSets {
		vs = append(vs, g.version)
	}
	sort.Strings(vs)
	return slices.Compact(vs)
}

// Rules returns the rules of a syscall, ordered by key values.
func (s *Set) Rules(syscall string) []Rule {
	return slices.Clone(s.rules[syscall])
}

// HasRules reports whether a syscall has rules, without copying them.
func (s *Set) HasRules(syscall string) bool { return len(s.rules[syscall]) > 0 }

// Syscalls lists the syscalls that have rules.
func (s *Set) Syscalls() []string {
	out := make([]string, 0, len(s.rules))
	for n := range s.rules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Judge applies the rules of syscall to one key (profile ArgUse.Values)
// given the runsc flags of the target. The rule returned is the one that
// decided (nil with Unknown).
func (s *Set) Judge(syscall string, values []uint64, runscFlags []string) (Answer, *Rule) {
	rs := s.rules[syscall]
	if len(rs) == 0 {
		return AnswerUnknown, nil
	}
	if len(values) == 0 {
		// Syscall-wide rules (Key AnyKey: io_uring_*, rseq) apply without a key.
		for i := range rs {
			if rs[i].Values == nil && rs[i].Key == AnyKey {
				return verdictOf(&rs[i], runscFlags), &rs[i]
			}
		}
		return AnswerUnknown, nil
	}
	if rs[0].Bit {
		return judgeBits(rs, values[0], runscFlags)
	}
	var best *Rule
	for i := range rs {
		r := &rs[i]
		if len(r.Values) <= len(values) && slices.Equal(r.Values, values[:len(r.Values)]) {
			if best == nil || len(r.Values) > len(best.Values) {
				best = r
			}
		}
	}
	if best == nil {
		return AnswerUnknown, nil
	}
	return verdictOf(best, runscFlags), best
}

// judgeBits: every rule whose flags the key has applies; the worst verdict
// wins. Flags no rule covers are Unknown.
func judgeBits(rs []Rule, v uint64, runscFlags []string) (Answer, *Rule) {
	rank := map[Answer]int{AnswerSupported: 0, AnswerUnknown: 1, AnswerIgnored: 2, AnswerNeedsFlag: 3, AnswerUnsupported: 4}
	if v == 0 {
		for i := range rs {
			if rs[i].Values[0] == 0 {
				return verdictOf(&rs[i], runscFlags), &rs[i]
			}
		}
		return AnswerUnknown, nil
	}
	verdict, worst := AnswerSupported, (*Rule)(nil)
	covered := uint64(0)
	for i := range rs {
		r := &rs[i]
		f := r.Values[0]
		if f == 0 || v&f != f {
			continue
		}
		covered |= f
		if vb := verdictOf(r, runscFlags); rank[vb] > rank[verdict] || worst == nil && vb == verdict {
			verdict, worst = vb, r
		}
	}
	if covered != v && rank[AnswerUnknown] > rank[verdict] {
		return AnswerUnknown, nil
	}
	return verdict, worst
}

func verdictOf(r *Rule, runscFlags []string) Answer {
	switch {
	case r.NeedsFlag != "":
		if hasFlag(runscFlags, r.NeedsFlag) {
			return AnswerSupported
		}
		return AnswerNeedsFlag
	case r.Supported:
		return AnswerSupported
	case r.Ignored:
		return AnswerIgnored
	}
	return AnswerUnsupported
}

// hasFlag accepts "--net-raw", "--net-raw=true", "-net-raw", and for
// valued flags ("--platform=kvm") also the two-word form "--platform kvm".
func hasFlag(flags []string, want string) bool {
	name, value, valued := strings.Cut(strings.TrimLeft(want, "-"), "=")
	for i, f := range flags {
		f = strings.TrimLeft(f, "-")
		if !valued {
			if f == name || f == name+"=true" {
				return true
			}
			continue
		}
		if f == name+"="+value || f == name && i+1 < len(flags) && flags[i+1] == value {
			return true
		}
	}
	return false
}

// PathProvided reports whether gVisor provides path (absolute, cleaned) and
// a note: which entry matched, or why not. Paths outside the trees the rules
// describe (/proc, /sys, /dev) are reported as provided with note "not
// described".
func (s *Set) PathProvided(path string) (bool, string) {
	// "/proc/1/" names the same entry as "/proc/1".
	path = pathpkg.Clean(path)
	root := ""
	for _, r := range s.roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			root = r
		}
	}
	if root == "" {
		return true, "not described"
	}
	norm := normalizeProc(path)
	if p, ok := s.paths[norm]; ok {
		return true, "provided by " + p.Source
	}
	if dynamicDir(norm) {
		return true, "inside " + norm + " (dynamic contents or a mount point)"
	}
	// Below a provided directory whose contents are dynamic (e.g.
	// /proc/[pid]/fd/3, /sys/devices/system/cpu/cpu0) the parent decides.
	for dir := parent(norm); dir != "/" && dir != ""; dir = parent(dir) {
		if p, ok := s.paths[dir]; ok {
			if p.Dir && dynamicDir(dir) {
				return true, "inside " + dir + " (dynamic contents)"
			}
			return false, fmt.Sprintf("gVisor has no %s (ENOENT); %s exists (%s)", path, dir, p.Source)
		}
	}
	return false, fmt.Sprintf("gVisor has no %s (ENOENT)", path)
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// normalizeProc rewrites /proc/self, /proc/thread-self, /proc/<n> and
// /proc/<n>/task/<n> to /proc/[pid], and /proc/net/x to /proc/[pid]/net/x.
func normalizeProc(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 3 || parts[1] != "proc" {
		return p
	}
	if parts[2] == "net" && len(parts) > 3 { // /proc/net is a symlink to self/net
		parts = append([]string{"", "proc", "[pid]"}, parts[2:]...)
		return strings.Join(parts, "/")
	}
	if parts[2] == "self" || parts[2] == "thread-self" || isNum(parts[2]) {
		parts[2] = "[pid]"
		if len(parts) >= 5 && parts[3] == "task" && isNum(parts[4]) {
			parts = append(parts[:3], parts[5:]...)
		}
	}
	return strings.Join(parts, "/")
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Directories whose entries gVisor generates at run time (per fd, per
// thread, per CPU, per cgroup, per pty) or that are mount points.
var dynamicDirs = []string{"/proc/[pid]/fd", "/proc/[pid]/fdinfo", "/proc/[pid]/task",
	"/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev/pts", "/dev/shm", "/dev/fd"}

func dynamicDir(d string) bool {
	for _, x := range dynamicDirs {
		if d == x || strings.HasPrefix(d, x+"/") {
			return true
		}
	}
	return false
}

// Paths lists the provided entries, sorted.
func (s *Set) Paths() []Path {
	out := make([]Path, 0, len(s.paths))
	for _, p := range s.paths {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ArgCheck tests one raw argument: args[Arg] & Mask == Value.
type ArgCheck struct {
	Arg   int
	Mask  uint64
	Value uint64
}

// ArgCond is one entry of a first-match list for a seccomp filter: when all
// Checks hold, Trace says whether to stop the call (true) or let it run.
// Masks and values may exceed 32 bits only where the argument does; a BPF
// compiler tests the low and high halves separately.
type ArgCond struct {
	Checks []ArgCheck
	Trace  bool
	Rule   *Rule // the rule the condition comes from
}

// CapDefaults are the capabilities a sandboxed process starts with.
type CapDefaults struct {
	Do         []string // with "runsc do": every capability runsc knows
	Spec       []string // with the OCI spec "runsc spec" writes (bounding set)
	NetRawFlag string   // CAP_NET_RAW is removed unless this runsc flag is given
	Source     string
}

// Capabilities returns the capabilities a process in the sandbox has: with
// runsc do (spec false), or with runsc's default OCI spec (spec true; a real
// container's spec, e.g. Docker's, decides instead). Without --net-raw
// CAP_NET_RAW is removed. A program with file capabilities outside this set
// fails to exec with EPERM.
func (s *Set) Capabilities(spec bool, runscFlags []string) []string {
	src := s.caps.Do
	if spec {
		src = s.caps.Spec
	}
	var out []string
	for _, c := range src {
		if c == "CAP_NET_RAW" && s.caps.NetRawFlag != "" && !hasFlag(runscFlags, s.caps.NetRawFlag) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// CapabilitySource says where Capabilities comes from in gVisor's source.
func (s *Set) CapabilitySource() string { return s.caps.Source }
