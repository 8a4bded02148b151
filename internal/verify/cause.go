//go:build linux

package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/diverge"
	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// chooseCause names the most likely reason the program does not work, in
// this order of evidence:
//
//  1. gVisor would not start it (runsc's own reason);
//  2. an errno the program's own message names: the divergence that gave
//     that errno, last before the message was written;
//  3. the process whose ending differs: its last divergence before its
//     behaviour parted from the native run's;
//  4. any divergence, most telling kind first; then gVisor's reports.
func chooseCause(res *Result, gvCalls, nativeCalls []profile.Call, unsupported func(profile.Call) bool) {
	ds := res.Divergences
	pick := func(i int, because string) {
		res.CauseDivergence = i
		res.Cause = ds[i].Summary
		res.Because = because
	}
	if res.GVisor.Refused != "" {
		res.Cause = "runsc refused to start the program: " + res.GVisor.Refused
		res.Because = "gVisor never ran the program"
		return
	}
	for _, ev := range res.Outcome.Evidence {
		if call, ok := strings.CutPrefix(ev.Errno, "value:"); ok {
			for i, d := range ds {
				if d.Kind == diverge.KindValue && d.GVisor.Name == call {
					pick(i, "the program printed gVisor's answer: "+ev.Text)
					return
				}
			}
			continue
		}
		if ev.Errno == "" {
			continue
		}
		if i := byErrno(ds, ev, gvCalls); i >= 0 {
			pick(i, fmt.Sprintf("the program printed %q, and this call is where gVisor gave it %s", trim(ev.Text, 120), ev.Errno))
			return
		}
	}
	// An error the program names that no call returned came in data: a
	// netlink answer (NLMSG_ERROR) or a file's contents.
	for _, ev := range append(slices.Clone(res.Outcome.Evidence), res.Outcome.Suspect...) {
		if ev.Errno == "" || strings.HasPrefix(ev.Errno, "value:") || slices.ContainsFunc(ds, func(d diverge.Divergence) bool { return d.GVisor.Errno == ev.Errno }) {
			continue
		}
		if src := dataSource(gvCalls, ev.Text); src != "" {
			if req := unansweredRequest(nativeCalls, unsupported); req != "" {
				// gVisor's log shows the request's bytes, not its type;
				// the native trace decodes the same request.
				src = req + ", a netlink request gVisor does not answer"
			}
			res.Cause = fmt.Sprintf("the program's error (%s) came from gVisor's answer to %s, not from a call: it printed %q", ev.Errno, src, trim(ev.Text, 100))
			res.Because = "the error came in data the program read, not as a call's result"
			return
		}
	}
	if i := lastBeforeParting(ds); i >= 0 {
		pick(i, "the last difference in the process that ended differently, before its behaviour parted from the native run's")
		return
	}
	for i, d := range ds {
		if significant(d) {
			pick(i, "the most telling difference between the runs")
			return
		}
	}
	for i, d := range ds {
		if d.Kind == diverge.KindSplit {
			pick(i, "where the runs part; no call failed differently before")
			return
		}
	}
	for _, u := range res.Unsupported {
		if !u.Harmless {
			name := u.Name
			if u.Key != "" {
				name += "(" + u.Key + ")"
			}
			res.Cause = "gVisor reported " + name + " as unsupported"
			res.Because = "gVisor's own report; no call result differs"
			return
		}
	}
	switch {
	case res.GVisor.TimedOut:
		res.Cause = "the program did not finish under gVisor, and no call failed differently before"
	case res.Outcome.Verdict == outcome.Fails:
		res.Cause = fmt.Sprintf("the program ended differently (native %s, gVisor %s) but no syscall result differs: compare the outputs",
			ending(res.Native.Run), ending(res.GVisor.Run))
	default:
		res.Cause = "the program's output differs, but no syscall result does"
	}
	res.Because = "no divergence explains it"
}

// significant divergences can be causes: a call that failed (or returned
// another value) under gVisor.
func significant(d diverge.Divergence) bool {
	return d.Kind != diverge.KindSucceeded && d.Kind != diverge.KindSplit
}

// byErrno finds the divergence that gave the errno a message names: among
// those with that errno, the last one before the message was written (in
// the process that wrote it, when the write is found), else the first.
func byErrno(ds []diverge.Divergence, ev outcome.Evidence, calls []profile.Call) int {
	writer, at := findWrite(calls, ev.Text)
	best, bestAt := -1, -1
	for i, d := range ds {
		if !significant(d) || d.GVisor.Errno != ev.Errno {
			continue
		}
		if best < 0 {
			best = i
		}
		if writer == 0 {
			continue
		}
		j := lastIndex(calls, d.GVisor, at)
		if j >= 0 && calls[j].Pid == writer && j > bestAt {
			best, bestAt = i, j
		}
	}
	if bestAt < 0 && writer != 0 {
		// Not in the writer's process: the last one before the write.
		for i, d := range ds {
			if !significant(d) || d.GVisor.Errno != ev.Errno {
				continue
			}
			if j := lastIndex(calls, d.GVisor, at); j > bestAt {
				best, bestAt = i, j
			}
		}
	}
	return best
}

// findWrite returns the process that wrote a line, and where in calls.
func findWrite(calls []profile.Call, text string) (pid, at int) {
	key := strings.TrimSpace(text)
	if len(key) > 24 {
		key = key[:24]
	}
	if key == "" {
		return 0, len(calls)
	}
	for i, c := range calls {
		switch c.Name {
		case "write", "writev", "pwrite64", "sendto", "sendmsg":
			if strings.Contains(c.Text, key) || strings.Contains(unescape(c.Text), key) {
				return c.Pid, i
			}
		}
	}
	return 0, len(calls)
}

// unescape undoes the escaping of strings in gVisor's strace (\n, \", \t).
func unescape(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\t`, "\t", `\\`, `\`).Replace(s)
}

// lastIndex finds call c in calls before position at.
func lastIndex(calls []profile.Call, c profile.Call, at int) int {
	for j := min(at, len(calls)) - 1; j >= 0; j-- {
		k := calls[j]
		if k.Pid == c.Pid && k.Tid == c.Tid && k.Name == c.Name && k.Errno == c.Errno && k.Key == c.Key && k.Path == c.Path {
			return j
		}
	}
	return -1
}

// lastBeforeParting finds, in the innermost process that ended
// differently, the last significant divergence at or before the point where
// its behaviour parted from the native run's (its end, when no parting was
// seen); calls of the kinds that name a missing feature win over failures
// that follow from them.
func lastBeforeParting(ds []diverge.Divergence) int {
	procs := map[int]bool{}
	for _, d := range ds {
		if d.ProcessFailed && significant(d) {
			procs[d.Proc] = true
		}
	}
	if len(procs) == 0 {
		return -1
	}
	// A child's failure usually makes its parents fail too (sh -c PROG):
	// the innermost is the last to start.
	keys := make([]int, 0, len(procs))
	for p := range procs {
		keys = append(keys, p)
	}
	proc := slices.Max(keys)
	limit := -1
	for _, d := range ds {
		if d.Proc == proc && d.Kind == diverge.KindSplit {
			limit = d.Pos
		}
	}
	// Calls that name a missing feature first, then other failures, then
	// what only gVisor's run did and failures on a descriptor an earlier
	// failure left invalid (EBADF): consequences, not causes.
	pass := func(d diverge.Divergence) int {
		switch {
		case d.Kind == diverge.KindExtra || d.GVisor.Errno == "EBADF":
			return 2
		case d.Kind == diverge.KindFailed || d.Kind == diverge.KindErrno:
			return 1
		}
		return 0
	}
	best := -1
	for p := range 3 {
		for i, d := range ds {
			if d.Proc != proc || !d.ProcessFailed || !significant(d) || (limit >= 0 && d.Pos > limit) || pass(d) != p {
				continue
			}
			if best < 0 || d.Pos > ds[best].Pos {
				best = i
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// unansweredRequest names the first netlink request of the native run that
// the target's rules say gVisor answers with an error: "sendto(NETLINK_ROUTE,
// RTM_GETRULE,NLM_F_DUMP)".
func unansweredRequest(calls []profile.Call, unsupported func(profile.Call) bool) string {
	if unsupported == nil {
		return ""
	}
	for _, c := range calls {
		if (c.Name == "sendto" || c.Name == "sendmsg") && strings.HasPrefix(c.Key, "NETLINK_") && unsupported(c) {
			return c.Name + "(" + c.Key + ")"
		}
	}
	return ""
}

// dataSource names what a process read last, before it wrote text, from a
// netlink socket (by protocol) or a synthesised file: where an error
// carried in data came from. "" when the write or the read is not found.
func dataSource(calls []profile.Call, text string) string {
	pid, at := findWrite(calls, text)
	if pid == 0 {
		return ""
	}
	sockets := map[int64]string{}
	fdOf := func(c profile.Call) (int64, bool) {
		a, _, _ := strings.Cut(c.Text, ",")
		a, _, _ = strings.Cut(strings.TrimSpace(a), " ")
		v, err := strconv.ParseInt(a, 0, 64)
		return v, err == nil
	}
	last := ""
	for _, c := range calls[:at] {
		if c.Pid != pid {
			continue
		}
		switch {
		case c.Name == "socket" && c.Errno == "" && strings.HasPrefix(c.Key, "AF_NETLINK"):
			sockets[c.Ret] = c.Key
		case (c.Name == "recvmsg" || c.Name == "recvfrom") && c.Errno == "":
			if fd, ok := fdOf(c); ok && sockets[fd] != "" {
				// "AF_NETLINK,SOCK_RAW,NETLINK_AUDIT"; protocol 0 is not shown.
				proto := "NETLINK_ROUTE"
				if parts := strings.Split(sockets[fd], ","); len(parts) > 2 {
					proto = parts[2]
				}
				last = "a " + proto + " request (netlink)"
			}
		}
	}
	return last
}
