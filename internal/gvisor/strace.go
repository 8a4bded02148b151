package gvisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// taskPrefix matches the task prefix gVisor puts before every task log line:
// "[ 4:  4] " in the root PID namespace, "[ 4(  1):  4(  1)] " in a nested
// one (root ids first, then ids in the task's own namespace).
var taskPrefix = regexp.MustCompile(`\[\s*(\d+)(?:\(\s*\d+\))?:\s*(\d+)(?:\(\s*\d+\))?\] `)

// straceEvent matches what follows the task name: " E name(" or " X name(".
var straceEvent = regexp.MustCompile(` ([EX]) ([a-z_][a-z0-9_]*)\(`)

// glogHeader matches the header of gVisor's text log lines and captures the
// source file that logged the line.
var glogHeader = regexp.MustCompile(`^[DIWEF]\d{4} [\d:.]+\s+\d+ ([\w.]+):\d+\] `)

// straceLine is one parsed strace line of gVisor's debug log.
type straceLine struct {
	pid, tid int
	comm     string
	exit     bool     // X line (else E)
	name     string   // as gVisor names it ("sys_NNN" for calls it has no name for)
	args     []string // top-level arguments as printed
	rest     string   // after the closing parenthesis: " = ret ..." on X lines
}

// parseStraceLine parses one line; ok is false for a line that is not a
// strace line (gVisor's debug log mixes them with everything else).
func parseStraceLine(line string) (l straceLine, ok bool) {
	loc := taskPrefix.FindStringSubmatchIndex(line)
	if loc == nil {
		return l, false
	}
	after := line[loc[1]:]
	ev := straceEvent.FindStringSubmatchIndex(after)
	if ev == nil {
		return l, false
	}
	var err error
	if l.pid, err = strconv.Atoi(line[loc[2]:loc[3]]); err != nil {
		return l, false
	}
	if l.tid, err = strconv.Atoi(line[loc[4]:loc[5]]); err != nil {
		return l, false
	}
	l.comm = after[:ev[0]]
	l.exit = after[ev[2]:ev[3]] == "X"
	l.name = after[ev[4]:ev[5]]
	args, rest, ok := splitArgs(after[ev[1]:])
	if !ok {
		return l, false
	}
	l.args, l.rest = args, rest
	return l, true
}

// splitArgs splits s, the text after a call's opening parenthesis, into its
// top-level arguments and the text after the closing parenthesis. Quoted
// strings (Go-escaped by gVisor) and nested brackets may contain commas and
// parentheses.
func splitArgs(s string) (args []string, rest string, ok bool) {
	depth := 0
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= len(s) {
				return nil, "", false
			}
		case '(', '[', '{':
			depth++
		case ']', '}':
			depth--
		case ')':
			if depth == 0 {
				if a := strings.TrimSpace(s[start:i]); a != "" || len(args) > 0 {
					args = append(args, a)
				}
				return args, s[i+1:], true
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return nil, "", false
}

// parseResult parses the result of an X line: " = 3 (0x3) (27µs)" or
// " = -1 errno=2 (no such file or directory) (141µs)". Older releases
// printed "= 0x3 (27µs)" and "= 0x0 errno=2 (...)", which are accepted too.
func parseResult(rest string) (ret int64, errno string, ok bool) {
	rest = strings.TrimSpace(rest)
	v, found := strings.CutPrefix(rest, "= ")
	if !found {
		return 0, "", false
	}
	field, tail, _ := strings.Cut(v, " ")
	ret, ok = parseInt(field)
	if !ok {
		return 0, "", false
	}
	if i := strings.Index(tail, "errno="); i >= 0 {
		num := tail[i+len("errno="):]
		if j := strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			num = num[:j]
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return 0, "", false
		}
		errno = sysno.ErrnoName(int64(n))
		if ret >= 0 {
			ret = -1
		}
	}
	return ret, errno, true
}

// parseInt reads a decimal or 0x-prefixed number; values above MaxInt64 (a
// uintptr printed with %d) wrap as the kernel's register would.
func parseInt(s string) (int64, bool) {
	if strings.HasPrefix(s, "-") {
		n, err := strconv.ParseInt(s, 0, 64)
		return n, err == nil
	}
	n, err := strconv.ParseUint(s, 0, 64)
	return int64(n), err == nil
}

// pathOf extracts the path argument of a call as gVisor prints it
// ("0x7f00 /proc/self/sched"), made absolute against the directory gVisor
// prints for the dirfd ("AT_FDCWD /tmp", "0x3 /proc").
func pathOf(name string, args []string) string {
	pa, ok := sysargs.PathArgOf(name)
	if !ok || pa.Path >= len(args) {
		return ""
	}
	p := afterAddr(args[pa.Path])
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") && pa.Dir >= 0 && pa.Dir < len(args) {
		if dir := afterAddr(args[pa.Dir]); strings.HasPrefix(dir, "/") {
			p = path.Join(dir, p)
		}
	}
	return p
}

// afterAddr returns what follows the leading number or symbol of a printed
// argument ("0x7f00 /etc/passwd" -> "/etc/passwd").
func afterAddr(a string) string {
	_, p, found := strings.Cut(a, " ")
	if !found {
		return ""
	}
	// A trailing "..." marks a string gVisor truncated.
	return strings.TrimSpace(p)
}

// pending is an E line waiting for its X line.
type pending struct {
	line straceLine
	n    int // line number
}

// ParseStrace reads gVisor's debug log (the boot log of a run with
// --strace) and calls onCall for each completed syscall, in log order of
// completion. Calls that never complete (exit_group, a thread killed inside
// a call) are reported with NoReturn at the end, in order of entry. Lines
// that are not strace lines are skipped. A malformed strace line is an
// error naming the line.
func ParseStrace(r io.Reader, arch sysno.Arch, onCall func(*profile.Call)) error {
	return parseStrace(r, arch, "", onCall)
}

// parseStrace is ParseStrace knowing the path of the first program, which
// gVisor starts without an execve the log would show.
func parseStrace(r io.Reader, arch sysno.Arch, initExe string, onCall func(*profile.Call)) error {
	st := newStraceState(arch)
	st.initExe = initExe
	br := bufio.NewReaderSize(r, 1<<16)
	n := 0
	for {
		raw, err := br.ReadString('\n')
		if raw != "" {
			n++
			perr := st.line(strings.TrimRight(raw, "\r\n"), n, onCall)
			// A last line without its newline was cut short (sandbox
			// killed mid-write): drop it rather than fail the log.
			if perr != nil && !(errors.Is(err, io.EOF) && !strings.HasSuffix(raw, "\n")) {
				return perr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read strace log: %w", err)
		}
	}
	st.flush(onCall)
	return nil
}

// straceState follows processes through the log: which program each runs
// (exec), and calls entered but not yet finished.
type straceState struct {
	arch sysno.Arch
	// exe is the program each thread group runs, from execve and fork.
	exe map[int]string
	// open holds entered calls by tid, in entry order.
	open    map[int]pending
	order   []int  // tids with an open call, in entry order
	initExe string // program of the first process seen
	seen    bool
	// execs holds, by pid, an execve whose outcome is not known yet.
	execs map[int]*pendingExec
}

// pendingExec is an execve gVisor logged as returning 0: gVisor performs
// the exec after the syscall returns, so its strace prints "= 0" even for
// an exec that fails (each miss of a PATH search, say). What the process
// does next tells which it was.
type pendingExec struct {
	call *profile.Call
	path string
	comm string
	tid  int
}

func newStraceState(arch sysno.Arch) *straceState {
	return &straceState{arch: arch, exe: map[int]string{}, open: map[int]pending{}, execs: map[int]*pendingExec{}}
}

func (st *straceState) line(s string, n int, onCall func(*profile.Call)) error {
	if !strings.Contains(s, "] ") {
		return nil
	}
	// Other task-prefixed debug lines come from other files.
	if m := glogHeader.FindStringSubmatch(s); m != nil && m[1] != "strace.go" {
		return nil
	}
	l, ok := parseStraceLine(s)
	if !ok {
		// A task line carrying an E/X marker that does not parse is
		// corrupt; anything else is other debug output.
		if strings.Contains(s, "strace.go:") {
			return fmt.Errorf("strace log line %d: malformed syscall line", n)
		}
		return nil
	}
	if !st.seen {
		st.seen = true
		if st.initExe != "" {
			st.exe[l.pid] = st.initExe
		}
	}
	if pe := st.execs[l.pid]; pe != nil && (l.tid == pe.tid || l.tid == l.pid) {
		st.settleExec(l, pe, onCall)
	}
	if !l.exit {
		if _, dup := st.open[l.tid]; !dup {
			st.order = append(st.order, l.tid)
		}
		st.open[l.tid] = pending{l, n}
		return nil
	}
	// Entry args carry input paths; exit args may add outputs. Prefer the
	// exit line, which gVisor prints with the same arguments.
	if e, had := st.open[l.tid]; had {
		delete(st.open, l.tid)
		st.dropOrder(l.tid)
		// Input buffers (what write sends) are printed on entry only; the
		// exit line shows them as "...".
		if e.line.name == l.name && len(e.line.args) == len(l.args) {
			for i, a := range l.args {
				if a == "..." {
					l.args[i] = e.line.args[i]
				}
			}
		}
	}
	ret, errno, ok := parseResult(l.rest)
	if !ok {
		return fmt.Errorf("strace log line %d: cannot parse result of %s: %q", n, l.name, truncate(l.rest, 60))
	}
	c := st.call(l)
	c.Ret, c.Errno = ret, errno
	if isExec(c.Name) && c.Errno == "" {
		st.execs[l.pid] = &pendingExec{call: c, path: pathOf(c.Name, l.args), comm: l.comm, tid: l.tid}
		return nil
	}
	st.track(l, c)
	onCall(c)
	return nil
}

func isExec(name string) bool { return name == "execve" || name == "execveat" }

// settleExec decides a pending exec from l, the next line of its process:
// after a successful exec the task has the new program's name and does not
// immediately exec again.
func (st *straceState) settleExec(l straceLine, pe *pendingExec, onCall func(*profile.Call)) {
	delete(st.execs, l.pid)
	c := pe.call
	base := path.Base(pe.path)
	if len(base) > 15 { // TASK_COMM_LEN - 1
		base = base[:15]
	}
	ok := !isExec(l.name) && (l.comm != pe.comm || l.comm == base)
	if ok {
		if pe.path != "" {
			st.exe[l.pid] = pe.path
			c.Exe = pe.path
		}
	} else {
		// Most failed execs are misses of a PATH search; gVisor's log does
		// not say which error it was.
		c.Ret, c.Errno = -1, "ENOENT"
	}
	onCall(c)
}

func (st *straceState) dropOrder(tid int) {
	for i, t := range st.order {
		if t == tid {
			st.order = append(st.order[:i], st.order[i+1:]...)
			return
		}
	}
}

func (st *straceState) call(l straceLine) *profile.Call {
	nr, ok := sysno.Number(st.arch, l.name)
	if !ok {
		nr = -1
	}
	name := l.name
	if ok {
		name = sysno.Name(st.arch, nr)
	}
	c := &profile.Call{Pid: l.pid, Tid: l.tid, Nr: nr, Name: name, Text: strings.Join(l.args, ", ")}
	c.Exe = st.exe[l.pid]
	if c.Exe == "" {
		c.Exe = l.comm
	}
	c.Path = pathOf(name, l.args)
	if d, v, ok := sysargs.KeyFromText(st.arch, name, c.Text); ok {
		c.Key, c.KeyValues = d, v
	}
	return c
}

// track follows exec and fork so each call is attributed to its program.
func (st *straceState) track(l straceLine, c *profile.Call) {
	if c.Errno != "" {
		return
	}
	switch c.Name {
	case "clone", "clone3", "fork", "vfork":
		if c.Ret > 0 {
			child := int(c.Ret)
			if _, ok := st.exe[child]; !ok && !isThreadClone(l.args) {
				st.exe[child] = st.exe[l.pid]
			}
		}
	}
}

// isThreadClone reports whether clone's printed flags create a thread (same
// thread group) rather than a process.
func isThreadClone(args []string) bool {
	return len(args) > 0 && strings.Contains(args[0], "CLONE_THREAD")
}

// flush reports calls that never completed, and execs nothing followed
// (taken as successful).
func (st *straceState) flush(onCall func(*profile.Call)) {
	pids := make([]int, 0, len(st.execs))
	for pid := range st.execs {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		pe := st.execs[pid]
		if pe.path != "" {
			pe.call.Exe = pe.path
		}
		onCall(pe.call)
	}
	st.execs = map[int]*pendingExec{}
	for _, tid := range st.order {
		p := st.open[tid]
		c := st.call(p.line)
		c.NoReturn = true
		onCall(c)
	}
	st.order, st.open = nil, map[int]pending{}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
