// Package simulate makes a native run see gVisor's differences from Linux:
// the syscalls it lacks fail with its errno, the argument values it refuses
// (a prctl option, a socket family, an ioctl) fail as it fails them, the
// /proc, /sys and /dev entries it does not provide do not exist, an exec of
// a program whose file capabilities the sandbox cannot grant fails, and
// calls gVisor answers with a fixed value return that value. Each such
// Difference can be switched on or off on its own, so that an experiment
// can tell which of them a program cannot do without.
//
// A seccomp filter suspends only the calls a switched-on difference may
// concern (by number and, where the kernel can check them, argument
// values); a supervisor holding the filter's user-notification listener
// reads what it must (the path, the key argument), answers as gVisor would
// or lets the call run, and counts which differences the program met. No
// ptrace is involved: programs that trace, or that the tracer would
// disturb, run as they do natively.
package simulate

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Kinds of difference.
const (
	KindSyscall  = "syscall"  // a syscall fails whatever its arguments
	KindArgument = "argument" // a syscall fails for one key argument
	KindPath     = "path"     // a /proc, /sys or /dev path does not exist
	KindExec     = "exec"     // an exec fails (file capabilities)
	KindValue    = "value"    // a call returns a fixed value instead of running
)

// Difference is one way gVisor answers differently from Linux that a native
// run can be made to see.
type Difference struct {
	// ID names the difference stably: its kind and title.
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"` // "io_uring_setup", "prctl(PR_SET_MM)", "/proc/self/sched"
	// Syscall and Nr, for syscall, argument and value differences.
	Syscall string `json:"syscall,omitempty"`
	Nr      int    `json:"-"`
	// Values are the key argument's values (argument and value kinds).
	Values []uint64 `json:"-"`
	// Path is the path (normalised: /proc/[pid]/...) or executable.
	Path string `json:"path,omitempty"`
	// Errno is gVisor's answer, or with Value set, what the call returns.
	Errno string `json:"errno,omitempty"`
	Value *int64 `json:"value,omitempty"`
	// Finding is the static finding the difference comes from.
	Level analyze.Level `json:"level"`
	Note  string        `json:"note,omitempty"`
	// NeedsFlag is the runsc option that removes the difference.
	NeedsFlag string `json:"needs_flag,omitempty"`

	errno unix.Errno
	conds []policy.ArgCond // what the filter can check of the arguments
}

// Answer describes what the simulated call returns.
func (d *Difference) Answer() string {
	if d.Value != nil {
		return fmt.Sprintf("returns %d", *d.Value)
	}
	return d.Errno
}

func (d *Difference) String() string { return d.Title + " → " + d.Answer() }

// stub is a call gVisor answers with a fixed value, read from its source.
type stub struct {
	syscall string
	value   int64
	source  string
}

// stubs are the calls gVisor answers with a fixed value whatever the host
// would say.
var stubs = []stub{
	// SchedGetPriorityMax/Min return onlyPriority (0) for every policy:
	// real-time priorities do not exist in the sandbox.
	{"sched_get_priority_max", 0, "pkg/sentry/syscalls/linux/sys_sched.go:SchedGetPriorityMax"},
	{"sched_get_priority_min", 0, "pkg/sentry/syscalls/linux/sys_sched.go:SchedGetPriorityMin"},
}

// FixedAnswers lists the calls of p that gVisor answers with a fixed value
// whatever the host says: no finding's level marks them risky, yet a
// program may depend on the value.
func FixedAnswers(p *profile.Profile) []string {
	var out []string
	for _, st := range stubs {
		if p.Syscalls[st.syscall] != nil {
			out = append(out, st.syscall)
		}
	}
	return out
}

// Target is what the differences are derived from: the static analysis of
// the program's observed profile against the target gVisor.
type Target struct {
	Arch sysno.Arch
	// HasCap decides how gVisor fails CapError syscalls (nil: this
	// process's capabilities, as `runsc do` run by the same user gives).
	HasCap func(capName string) bool
	// Provided says whether gVisor provides a /proc, /sys or /dev path
	// (nil: only the paths the findings name are absent). A missing path
	// is simulated from its highest missing ancestor down, so that a
	// directory gVisor lacks is absent whatever the program looks for in
	// it (a loop device of another number, another pid).
	Provided func(path string) bool
}

// Differences turns the findings of a profile's analysis into differences
// to simulate, in a stable order. Findings that name no answer (a partial
// syscall without a known errno) are left out: there is nothing to
// simulate.
func Differences(p *profile.Profile, findings []analyze.Finding, t Target) []*Difference {
	var out []*Difference
	seen := map[string]bool{}
	byID := map[string]*Difference{}
	add := func(d *Difference) {
		d.ID = d.Kind + ":" + d.Title
		if d.Kind == KindPath {
			d.ID = d.Kind + ":" + d.Path
		}
		if seen[d.ID] {
			if prev := byID[d.ID]; prev != nil && d.Title != prev.Title {
				prev.Title = prev.Path + "/..." // the directory, and what it held
			}
			return
		}
		if d.Value == nil {
			e, ok := sysno.ErrnoValue(d.Errno)
			if !ok {
				return
			}
			d.errno = e
		}
		seen[d.ID] = true
		byID[d.ID] = d
		out = append(out, d)
	}
	for _, f := range findings {
		switch f.Kind {
		case analyze.KindSyscall:
			if f.Errno == "" {
				continue
			}
			add(&Difference{Kind: KindSyscall, Title: f.Syscall, Syscall: f.Syscall, Nr: f.Number,
				Errno: gvisorErrno(f.Errno, f.Cap, t.HasCap), Level: f.Level, Note: f.Note, NeedsFlag: f.NeedsFlag})
		case analyze.KindArgument:
			s := p.Syscalls[f.Syscall]
			if s == nil || s.Args[f.Arg] == nil {
				continue
			}
			d := &Difference{Kind: KindArgument, Title: f.Title(), Syscall: f.Syscall, Nr: f.Number,
				Values: s.Args[f.Arg].Values, Errno: f.Errno, Level: f.Level, Note: f.Note, NeedsFlag: f.NeedsFlag}
			if f.Errno == "" {
				// Accepted but without effect: it succeeds without running.
				zero := int64(0)
				d.Kind, d.Value = KindValue, &zero
			}
			d.conds = keyConds(f.Syscall, d.Values)
			add(d)
		case analyze.KindPath:
			if f.Errno == "" {
				continue
			}
			root := missingRoot(NormalPath(f.Arg), t.Provided)
			title := root
			if root != NormalPath(f.Arg) {
				title = root + "/..."
			}
			add(&Difference{Kind: KindPath, Title: title, Path: root, Errno: f.Errno, Level: f.Level, Note: f.Note})
		case analyze.KindExec:
			if f.Errno == "" {
				continue
			}
			add(&Difference{Kind: KindExec, Title: f.Arg, Path: f.Arg, Errno: f.Errno, Level: f.Level, Note: f.Note, NeedsFlag: f.NeedsFlag})
		}
	}
	// Paths the reference never touched may be touched in a simulated run
	// (the program takes another path once something is missing, or names
	// another pid): gVisor lacks those too.
	if t.Provided != nil && slices.ContainsFunc(out, func(d *Difference) bool { return d.Kind == KindPath }) {
		add(&Difference{Kind: KindPath, Title: OtherPaths, Path: OtherPaths, Errno: "ENOENT", Level: analyze.LevelUnsupportedArg,
			Note: "the /proc, /sys and /dev entries gVisor does not provide that the reference run did not touch"})
	}
	for _, st := range stubs {
		s := p.Syscalls[st.syscall]
		if s == nil {
			continue
		}
		v := st.value
		add(&Difference{Kind: KindValue, Title: st.syscall, Syscall: st.syscall, Nr: s.Number, Value: &v,
			Level: analyze.LevelPartial, Note: "gVisor returns a fixed value (" + st.source + ")"})
	}
	return out
}

// OtherPaths is the path difference that covers every path gVisor lacks
// outside the ones the reference run touched.
const OtherPaths = "(other missing /proc, /sys, /dev paths)"

// keyConds are the filter conditions that select calls with key values
// vals, where the key comes from registers.
func keyConds(name string, vals []uint64) []policy.ArgCond {
	specs, ok := sysargs.KeyArgs(name)
	if !ok || len(vals) == 0 || len(vals) > len(specs) {
		return nil
	}
	var conds []policy.ArgCond
	for i, v := range vals {
		conds = append(conds, policy.ArgCond{Arg: specs[i].Arg, Op: policy.MaskedEq, Mask: specs[i].Mask, Value: v & specs[i].Mask})
	}
	return conds
}

// missingRoot returns the highest ancestor of p (or p) that gVisor does
// not provide, below the trees' roots (/proc, /sys, /dev themselves exist).
func missingRoot(p string, provided func(string) bool) string {
	if provided == nil {
		return p
	}
	root := p
	for dir := path.Dir(p); strings.Count(dir, "/") >= 2; dir = path.Dir(dir) {
		if provided(denormal(dir)) {
			break
		}
		root = dir
	}
	return root
}

// denormal turns a normalised path back into one the rules can judge.
func denormal(p string) string {
	p = strings.Replace(p, "/proc/[pid]/task/[tid]", "/proc/1/task/1", 1)
	return strings.Replace(p, "/proc/[pid]", "/proc/1", 1)
}

var procPid = regexp.MustCompile(`^/proc/(?:self|thread-self|[0-9]+)(/task/(?:[0-9]+))?(/|$)`)

// NormalPath names a path the way differences do: /proc/[pid] for any
// process's directory (self, thread-self, a number), /proc/[pid]/task/[tid]
// for a thread's, no trailing slash.
func NormalPath(p string) string {
	p = path.Clean(p)
	if m := procPid.FindStringSubmatchIndex(p); m != nil {
		rest := p[m[1]:]
		pre := "/proc/[pid]"
		if m[2] >= 0 {
			pre += "/task/[tid]"
		}
		if rest == "" {
			return pre
		}
		return pre + "/" + rest
	}
	return p
}

// Set is a choice of differences to switch on, by index into the list.
type Set []bool

// Only switches on the differences at idx.
func Only(n int, idx []int) Set {
	s := make(Set, n)
	for _, i := range idx {
		s[i] = true
	}
	return s
}

// Policy is the seccomp policy of a simulation with the differences of on
// switched on: each call they may concern notifies the supervisor; every
// other call runs.
func Policy(arch sysno.Arch, ds []*Difference, on Set) *policy.Policy {
	p := &policy.Policy{Arch: arch, Default: policy.Allow}
	whole := map[int]bool{} // numbers every call of which notifies
	conds := map[int][][]policy.ArgCond{}
	var order []int
	note := func(nr int) {
		if !slices.Contains(order, nr) {
			order = append(order, nr)
		}
	}
	number := func(name string) (int, bool) { return sysno.Number(arch, name) }
	for i, d := range ds {
		if !on[i] {
			continue
		}
		switch d.Kind {
		case KindSyscall:
			whole[d.Nr] = true
			note(d.Nr)
		case KindArgument, KindValue:
			note(d.Nr)
			if d.conds == nil {
				whole[d.Nr] = true
			} else {
				conds[d.Nr] = append(conds[d.Nr], d.conds)
			}
		case KindPath:
			// Listings of synthesised directories are answered too.
			for _, name := range append(sysargs.PathSyscalls(), "getdents64") {
				if nr, ok := number(name); ok {
					whole[nr] = true
					note(nr)
				}
			}
		case KindExec:
			for _, name := range []string{"execve", "execveat"} {
				if nr, ok := number(name); ok {
					whole[nr] = true
					note(nr)
				}
			}
		}
	}
	slices.Sort(order)
	for _, nr := range order {
		if whole[nr] {
			p.Rules = append(p.Rules, policy.Rule{Nr: nr, Action: policy.Notify})
			continue
		}
		for _, c := range conds[nr] {
			p.Rules = append(p.Rules, policy.Rule{Nr: nr, Args: c, Action: policy.Notify})
		}
	}
	return p
}

// Describe lists the differences switched on, for messages.
func Describe(ds []*Difference, on Set) string {
	var names []string
	for i, d := range ds {
		if on[i] {
			names = append(names, d.Title)
		}
	}
	return strings.Join(names, ", ")
}

// Covers reports whether the difference simulates finding f.
func (d *Difference) Covers(f analyze.Finding) bool {
	switch f.Kind {
	case analyze.KindSyscall:
		// A stub's fixed value is a difference of the whole syscall.
		return (d.Kind == KindSyscall || d.Kind == KindValue && d.Values == nil) && d.Syscall == f.Syscall
	case analyze.KindArgument:
		return (d.Kind == KindArgument || d.Kind == KindValue) && d.Title == f.Title()
	case analyze.KindPath:
		if d.Kind != KindPath || d.Path == OtherPaths {
			return false
		}
		p := NormalPath(f.Arg)
		return p == d.Path || strings.HasPrefix(p, d.Path+"/")
	case analyze.KindExec:
		return d.Kind == KindExec && d.Path == f.Arg
	}
	return false
}
