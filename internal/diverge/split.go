package diverge

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

// splitGap is how many native calls in a row gVisor's run must lack for
// the runs to count as having parted.
const splitGap = 16

// split is where two runs of a thread part: the last step both took, and
// the next step each took.
type split struct {
	gs           []profile.Call
	last         int // index in gs of the last common step
	native, next profile.Call
}

// findSplit finds the first matched step after which the native run goes
// on for many calls gVisor's run does not make.
func findSplit(ns, gs []profile.Call, pairs [][2]int) *split {
	if len(pairs) == 0 {
		return nil
	}
	for k, p := range pairs {
		nextI := len(ns)
		if k+1 < len(pairs) {
			nextI = pairs[k+1][0]
		}
		if nextI-p[0]-1 < splitGap {
			continue
		}
		sp := &split{gs: gs, last: p[1]}
		if p[0]+1 < len(ns) {
			sp.native = ns[p[0]+1]
		}
		if p[1]+1 < len(gs) {
			sp.next = gs[p[1]+1]
		}
		return sp
	}
	return nil
}

// dataCalls are calls whose results are data the program decides on.
var dataCalls = map[string]bool{
	"read": true, "pread64": true, "readv": true, "recvmsg": true, "recvfrom": true,
	"ioctl": true, "getsockopt": true, "getdents64": true, "readlink": true,
	"readlinkat": true, "uname": true, "sysinfo": true, "statfs": true, "fstatfs": true,
	"getsockname": true, "getpeername": true, "recvmmsg": true,
}

// sockCalls receive data from a socket.
var sockCalls = map[string]bool{"recvmsg": true, "recvfrom": true, "recvmmsg": true, "read": false}

// splitDivergence explains a split: where the runs parted and which data
// the program read just before, the likely difference.
func splitDivergence(sp *split, g *segment) Divergence {
	last := sp.gs[sp.last]
	// Name sockets by what socket() made them, as it was at each call (fds
	// are reused), so a netlink answer shows as such.
	sockets := map[int64]string{}
	labels := make([]string, sp.last+1)
	for k, c := range sp.gs[:sp.last+1] {
		switch {
		case c.Name == "socket" && c.Errno == "" && c.Key != "":
			sockets[c.Ret] = c.Key
		case sockCalls[c.Name]:
			if v, err := strconv.ParseInt(strings.Fields(c.Text + " x")[0], 0, 64); err == nil && sockets[v] != "" {
				labels[k] = c.Name + "(" + sockets[v] + ")"
			}
		}
	}
	name := func(k int) string {
		if labels[k] != "" {
			return labels[k]
		}
		return describe(sp.gs[k])
	}
	// Answers from sockets and synthesised files first: they are what
	// gVisor implements differently most often.
	var suspects []string
	seen := map[string]bool{}
	for pass := 0; pass < 2; pass++ {
		for k := sp.last; k >= 0 && k > sp.last-60 && len(suspects) < 5; k-- {
			c := sp.gs[k]
			if !dataCalls[c.Name] || isLibrary(argPath(c)) {
				continue
			}
			if first := sockCalls[c.Name] || sysargs.SynthesizedPath(argPath(c)); first != (pass == 0) {
				continue
			}
			if d := name(k); !seen[d] {
				seen[d] = true
				suspects = append(suspects, d)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s took another path under gVisor after %s", progName(g.exe), describe(last))
	if sp.native.Name != "" {
		fmt.Fprintf(&b, ": natively it went on with %s", describe(sp.native))
	}
	if sp.next.Name != "" {
		fmt.Fprintf(&b, ", under gVisor with %s", describe(sp.next))
	} else {
		b.WriteString(", under gVisor it made no further call")
	}
	if g.exit != "" {
		fmt.Fprintf(&b, " and exited %s", g.exit)
	}
	if len(suspects) > 0 {
		fmt.Fprintf(&b, "; no call failed, so data read just before likely differ: %s", strings.Join(suspects, ", "))
	}
	return Divergence{Native: sp.native, GVisor: sp.next, Kind: KindSplit, Summary: b.String(), Pos: sp.last}
}

// isLibrary reports whether p is a shared library, which the dynamic
// loader reads the same way everywhere.
func isLibrary(p string) bool {
	b := path.Base(p)
	return strings.HasSuffix(b, ".so") || strings.Contains(b, ".so.")
}
