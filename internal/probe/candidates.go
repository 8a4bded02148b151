package probe

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// CandidatesFromCalls returns what to deny for a program that made calls:
// each distinct syscall that gVisor fails whatever its arguments
// (unimplemented, or available only with a runsc option the target lacks),
// in order of first use, with the errno gVisor returns. Syscalls gVisor
// supports only for some arguments are not denied: that would fail calls
// gVisor accepts.
//
// opt carries the target's argument rules and runsc options, so that a
// syscall available only with an option (io_uring without --iouring) is
// denied too.
func CandidatesFromCalls(calls []profile.Call, t analyze.Table, opt analyze.Options, arch sysno.Arch, hasCap func(string) bool) []Candidate {
	p := profile.New(arch)
	var order []int
	for i := range calls {
		c := &calls[i]
		if _, seen := p.Syscalls[sysno.Name(arch, c.Nr)]; !seen {
			order = append(order, c.Nr)
		}
		p.Add(c)
	}
	byNr := map[int]analyze.Finding{}
	for _, f := range analyze.AnalyzeWith(p, t, opt).Findings {
		if f.Kind == analyze.KindSyscall {
			byNr[f.Number] = f
		}
	}
	out := []Candidate{}
	for _, nr := range order {
		f, ok := byNr[nr]
		if !ok || f.Errno == "" || (f.Level != analyze.LevelUnimplemented && f.Level != analyze.LevelNeedsOption) {
			continue
		}
		out = append(out, Candidate{Syscall: f.Syscall, Nr: nr, Errno: gvisorErrno(f.Errno, f.Cap, hasCap)})
	}
	return out
}

// splitNative separates the candidates whose every call in calls already
// failed with gVisor's errno from the others.
func splitNative(cands []Candidate, calls []profile.Call) (rest, native []Candidate) {
	for _, c := range cands {
		same, seen := true, false
		for i := range calls {
			if calls[i].Nr == c.Nr {
				seen = true
				same = same && calls[i].Errno == c.Errno
			}
		}
		if seen && same {
			native = append(native, c)
		} else {
			rest = append(rest, c)
		}
	}
	if rest == nil {
		rest = []Candidate{}
	}
	return rest, native
}

// Unsupported returns a candidate for every syscall number of arch that
// gVisor's table fails whatever the arguments: unimplemented entries and
// numbers absent from the table. It is the whole "gVisor syscall surface"
// simulation, for runs that were not observed first.
func Unsupported(t analyze.Table, arch sysno.Arch, hasCap func(string) bool) []Candidate {
	out := []Candidate{}
	for _, nr := range sysno.Numbers(arch) {
		e := t.Lookup(nr)
		if e.Support != compat.Unimplemented || e.Errno == "" {
			continue
		}
		name := e.Name
		if name == "" {
			name = sysno.Name(arch, nr)
		}
		held := e.Cap == "" || (hasCap != nil && hasCap(e.Cap)) || (hasCap == nil && OwnCapability(e.Cap))
		out = append(out, Candidate{Syscall: name, Nr: nr, Errno: e.ErrnoFor(held)})
	}
	return out
}

// Surface is Unsupported plus the syscalls that the target's rules fail
// whatever their arguments without a runsc option (io_uring_* without
// --iouring, rseq on a platform without it): the whole syscall surface of
// gVisor as started with opt.RunscFlags.
func Surface(t analyze.Table, opt analyze.Options, arch sysno.Arch, hasCap func(string) bool) []Candidate {
	out := Unsupported(t, arch, hasCap)
	if opt.Rules == nil {
		return out
	}
	for _, nr := range sysno.Numbers(arch) {
		if t.Lookup(nr).Support == compat.Unimplemented {
			continue // already in
		}
		name := sysno.Name(arch, nr)
		v, rule := opt.Rules.Judge(name, nil, opt.RunscFlags)
		if (v == rules.Unsupported || v == rules.NeedsFlag) && rule.Errno != "" {
			out = append(out, Candidate{Syscall: name, Nr: nr, Errno: rule.Errno})
		}
	}
	return out
}

// gvisorErrno is how gVisor fails a call: CapError entries return EPERM
// when the caller lacks the capability and errno (ENOSYS) when it holds it.
// `runsc do` run as root gives the sandboxed program every capability
// except CAP_NET_RAW (without --net-raw), so by default the probe asks
// what this process holds; a target started with fewer capabilities
// (e.g. Docker's default set) should pass its own hasCap.
func gvisorErrno(errno, capName string, hasCap func(string) bool) string {
	if capName == "" {
		return errno
	}
	if hasCap == nil {
		hasCap = OwnCapability
	}
	if !hasCap(capName) {
		return "EPERM"
	}
	return errno
}

// CapabilityNumber returns the bit number of a capability name, with or
// without its CAP_ prefix, in any case.
func CapabilityNumber(name string) (int, bool) {
	return filecap.Number(name)
}

// OwnCapability reports whether this process's effective set holds the
// capability; unknown names and unreadable status count as not held.
func OwnCapability(name string) bool {
	bit, ok := CapabilityNumber(name)
	if !ok {
		return false
	}
	eff, ok := ownEffective()
	return ok && eff&(1<<bit) != 0
}

func ownEffective() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// DockerCaps is the capability set Docker and containerd grant a container
// by default; none of gVisor's CapError syscalls is in it, so each fails
// with EPERM there. Use CapSet(DockerCaps) as Config.HasCap for such targets.
var DockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// CapSet returns a hasCap function for an explicit list of capability
// names (as a target's runtime would grant them).
func CapSet(names []string) func(string) bool {
	var bits []int
	for _, n := range names {
		if b, ok := CapabilityNumber(n); ok {
			bits = append(bits, b)
		}
	}
	return func(name string) bool {
		b, ok := CapabilityNumber(name)
		return ok && slices.Contains(bits, b)
	}
}

// ParseCaps reads a --caps value, the capabilities the sandboxed program
// will hold, which decide how gVisor fails CapError syscalls: "own" (those
// of this process, as `runsc do` run by the same user gives), "all",
// "none", "docker" (Docker's default set), or a comma-separated list of
// names such as CAP_SYS_ADMIN,SYS_PTRACE.
func ParseCaps(spec string) (func(string) bool, error) {
	switch strings.TrimSpace(spec) {
	case "", "own":
		return OwnCapability, nil
	case "all":
		return func(name string) bool { _, ok := CapabilityNumber(name); return ok }, nil
	case "none":
		return CapSet(nil), nil
	case "docker", "default":
		return CapSet(DockerCaps), nil
	}
	var names []string
	for _, n := range strings.Split(spec, ",") {
		n = strings.TrimSpace(n)
		if _, ok := CapabilityNumber(n); !ok {
			return nil, fmt.Errorf("unknown capability %q (want names such as CAP_SYS_ADMIN, or own, all, none, docker)", n)
		}
		names = append(names, n)
	}
	return CapSet(names), nil
}
