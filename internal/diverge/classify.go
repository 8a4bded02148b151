package diverge

import (
	"fmt"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

// extras reports the failing calls of a gVisor process with no native
// counterpart.
func extras(g *segment, proc int, unsup func(profile.Call) bool) []Divergence {
	var out []Divergence
	for _, calls := range threads(g) {
		for j, c := range calls {
			if d, ok := extra(c, unsup); ok {
				d.Exe, d.Proc, d.Pos = g.exe, proc, j
				out = append(out, d)
			}
		}
	}
	return out
}

func extra(g profile.Call, unsup func(profile.Call) bool) (Divergence, bool) {
	if g.Errno == "" {
		return Divergence{}, false
	}
	// A gVisor-only miss of an ordinary file is the program taking another
	// path (error messages, fallbacks); both runs see the same host files.
	if p := argPath(g); g.Errno == "ENOENT" && p != "" && !sysargs.SynthesizedPath(p) {
		return Divergence{}, false
	}
	d := Divergence{GVisor: g, Kind: KindExtra}
	if g.Errno == "ENOSYS" || unsup(g) {
		d.Kind = KindUnsupported
	}
	d.Summary = fmt.Sprintf("%s failed under gVisor with %s; the native run made no such call", describe(g), g.Errno)
	if d.Kind == KindUnsupported {
		d.Summary = fmt.Sprintf("%s is not supported by gVisor (%s); the native run made no such call", describe(g), g.Errno)
	}
	return d, true
}

// fixedResult are calls whose return value is a fact of the system, the
// same from run to run: where gVisor returns another, it is a stub.
var fixedResult = map[string]bool{
	"sched_get_priority_max": true, "sched_get_priority_min": true, "sched_getscheduler": true,
	"getpriority": true, "ioprio_get": true, "personality": true,
}

// listing are the calls that read a directory's entries.
var listing = map[string]bool{"getdents64": true, "getdents": true}

// outcome compares one aligned pair of calls.
func outcome(n, g profile.Call, unsup func(profile.Call) bool) (Divergence, bool) {
	if n.Errno == g.Errno {
		if p := argPath(g); n.Errno == "" && listing[n.Name] && g.Ret < n.Ret && !n.NoReturn && !g.NoReturn && sysargs.SynthesizedPath(p) {
			d := Divergence{Native: n, GVisor: g, Kind: KindListing}
			d.Summary = fmt.Sprintf("listing %s gave %d bytes of entries under gVisor but %d natively: gVisor provides fewer entries there", p, g.Ret, n.Ret)
			return d, true
		}
		if n.Errno == "" && fixedResult[n.Name] && n.Ret != g.Ret && !n.NoReturn && !g.NoReturn {
			d := Divergence{Native: n, GVisor: g, Kind: KindValue}
			d.Summary = fmt.Sprintf("%s returned %d under gVisor but %d natively", describe(g), g.Ret, n.Ret)
			return d, true
		}
		return Divergence{}, false
	}
	d := Divergence{Native: n, GVisor: g}
	switch {
	case g.Errno == "":
		d.Kind = KindSucceeded
		d.Summary = fmt.Sprintf("%s failed natively with %s but succeeded under gVisor", describe(g), n.Errno)
		return d, true
	case g.Errno == "ENOSYS" || unsup(g):
		d.Kind = KindUnsupported
	case g.Name == "socket" || g.Name == "socketpair":
		if g.Errno == "EAFNOSUPPORT" || g.Errno == "EPROTONOSUPPORT" || g.Errno == "ESOCKTNOSUPPORT" || g.Errno == "EINVAL" || g.Errno == "EPERM" || g.Errno == "EACCES" {
			d.Kind = KindSocketFamily
		}
	case g.Name == "ioctl" && (g.Errno == "ENOTTY" || g.Errno == "EINVAL" || g.Errno == "EOPNOTSUPP"):
		d.Kind = KindIoctl
	case g.Errno == "ENOENT" && sysargs.SynthesizedPath(argPath(g)) && (n.Errno == "" || n.Errno == "EACCES" || n.Errno == "EPERM"):
		d.Kind = KindMissingPath
	}
	if d.Kind == "" {
		if n.Errno == "" {
			d.Kind = KindFailed
		} else {
			d.Kind = KindErrno
		}
	}
	d.Summary = summary(d)
	return d, true
}

func summary(d Divergence) string {
	n, g := d.Native, d.GVisor
	nat := "succeeded natively"
	if n.Errno != "" {
		nat = "failed natively with " + n.Errno
	}
	switch d.Kind {
	case KindUnsupported:
		return fmt.Sprintf("%s is not supported by gVisor (%s) but %s", describe(g), g.Errno, nat)
	case KindMissingPath:
		return fmt.Sprintf("%s does not exist under gVisor: %s failed with ENOENT but %s", argPath(g), g.Name, nat)
	case KindSocketFamily:
		return fmt.Sprintf("gVisor refuses %s with %s but it %s", describe(g), g.Errno, nat)
	case KindIoctl:
		return fmt.Sprintf("gVisor does not support %s (%s) but it %s", describe(g), g.Errno, nat)
	}
	return fmt.Sprintf("%s failed under gVisor with %s but %s", describe(g), g.Errno, nat)
}

// describe names a call with its telling argument: "openat(/proc/self/sched)",
// "ioctl(TCGETS)", "socket(AF_BLUETOOTH,...)".
func describe(c profile.Call) string {
	if c.Key != "" {
		return c.Name + "(" + c.Key + ")"
	}
	if p := argPath(c); p != "" {
		return c.Name + "(" + p + ")"
	}
	return c.Name
}
