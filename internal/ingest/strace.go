package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

const (
	readBufSize = 1 << 20
	// maxLine bounds the memory one line may take; strace -s with a huge
	// string size can print long lines, but not this long.
	maxLine = 64 << 20
	// maxNameCache bounds the name cache against logs full of junk names.
	maxNameCache = 4096
	// maxUnknown bounds how many unrecognised names are kept for the report.
	maxUnknown = 20
)

// lineInfo is the leader of a strace line: what comes before the syscall.
type lineInfo struct {
	off   int  // where the record (syscall name, "---", "+++", "<...") starts
	pid   int  // from "[pid N]" or a leading "N " (strace -f -o)
	nr    int  // from -n's "[ N]", -1 if absent
	proc  bool // "[ Process PID=N runs in M mode ]"
	hasID bool
}

// parseLeader reads the optional pid, timestamp (-t/-tt/-ttt/-r), -i
// instruction pointer and -n number in front of a record. It never fails: it
// stops at the first thing it does not know.
func parseLeader(b []byte, l *lineInfo) {
	i, n := 0, len(b)
	l.nr = -1
	for i < n && b[i] == ' ' {
		i++
	}
	first := true
	for i < n {
		c := b[i]
		switch {
		case c == '[':
			j := bytes.IndexByte(b[i:min(n, i+64)], ']')
			if j < 0 {
				l.off = i
				return
			}
			in := b[i+1 : i+j]
			switch {
			case bytes.HasPrefix(in, []byte("pid ")):
				if pid, ok := atoiTrim(in[4:]); ok {
					l.pid, l.hasID = pid, true
				}
			case bytes.HasPrefix(in, []byte(" Process PID=")):
				l.proc = true
				l.off = i
				return
			default:
				if nr, ok := atoiTrim(in); ok && len(in) <= 6 {
					l.nr = nr
				} // else -i instruction pointer or --secontext: skip
			}
			i += j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < n && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			digitsOnly := j
			for j < n && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == ':') {
				j++
			}
			if j >= n || b[j] != ' ' {
				l.off = i
				return
			}
			if first && digitsOnly == j {
				l.pid, _ = atoiTrim(b[i:j])
				l.hasID = true
			}
			i = j
		default:
			l.off = i
			return
		}
		first = false
		for i < n && b[i] == ' ' {
			i++
		}
	}
	l.off = i
}

func atoiTrim(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func identLen(b []byte) int {
	i := 0
	for i < len(b) {
		c := b[i]
		if c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' {
			i++
			continue
		}
		break
	}
	return i
}

// pidState is what the parser remembers of one process (thread).
type pidState struct {
	exe     int // index into exes, 0 = unknown
	mode32  bool
	x32     bool
	pending bool // an "<unfinished ...>" call awaits its "resumed" line
	pNr     int
	pName   string
	pArgs   []byte // arguments printed before "<unfinished ...>" (only kept for OnCall/paths)
	exited  bool
	exit    *profile.Exit
	order   int
	child   bool // created by a fork/clone seen in the log
}

type sysAgg struct {
	count  uint64
	errors map[string]uint64
	exes   []uint64 // by exe index
}

type straceParser struct {
	opt       Options
	arch      sysno.Arch
	src       profile.Source
	p         *profile.Profile
	buf       []byte
	names     map[string]int // syscall name -> number, -1 if unknown
	errnos    map[string]string
	paths     map[string]string
	exes      []string
	exeIdx    map[string]int
	agg       map[int]*sysAgg
	small     []*sysAgg // agg for numbers below len(small), to avoid a map lookup
	pids      map[int]*pidState
	lastPid   int
	last      *pidState
	calls     int64
	unknown   map[string]int64
	mode32    int64
	x32       int64
	cur       string // file being parsed, for messages
	pathBuf   []byte
	zeroTaken bool
	nameCache [512]struct {
		name string
		nr   int
	}
	pidCache [256]struct {
		pid int
		st  *pidState
	}
}

func newStraceParser(opt Options, name string) *straceParser {
	arch := opt.arch()
	return &straceParser{
		opt:    opt,
		arch:   arch,
		src:    profile.Source{Kind: string(FormatStrace), Name: name, Coverage: profile.CoverageFull},
		p:      profile.New(arch),
		names:  map[string]int{},
		errnos: map[string]string{},
		paths:  map[string]string{},
		exes:   []string{""},
		exeIdx: map[string]int{"": 0},
		agg:    map[int]*sysAgg{},
		small:  make([]*sysAgg, 1024),
		pids:   map[int]*pidState{},
	}
}

func (s *straceParser) state(pid int) *pidState {
	if s.last != nil && s.lastPid == pid {
		return s.last
	}
	// A direct-mapped cache in front of the map: -f logs interleave a few
	// busy threads, and a map lookup per line shows in profiles.
	c := &s.pidCache[uint(pid)%uint(len(s.pidCache))]
	st := c.st
	if st == nil || c.pid != pid {
		st = s.pids[pid]
		if st == nil {
			if z := s.pids[0]; z != nil && pid != 0 && !s.zeroTaken {
				// strace -f to a terminal omits "[pid N]" until a second
				// process appears; the first new pid that no fork in the
				// log created is the one that was unnamed.
				st = z
				s.zeroTaken = true
			} else {
				st = &pidState{order: len(s.pids)}
			}
			s.pids[pid] = st
		}
		c.pid, c.st = pid, st
	}
	s.last, s.lastPid = st, pid
	return st
}

// lastEq finds the last " = " in b, which separates a call's arguments
// from its result (results and -T durations never contain one).
func lastEq(b []byte) int {
	for i := len(b) - 2; i > 0; i-- {
		if b[i] == '=' && b[i+1] == ' ' && b[i-1] == ' ' {
			return i - 1
		}
	}
	return -1
}

// parse reads one log. filePid is the pid of a strace -ff per-process file
// (0 otherwise); lines carrying their own pid override it.
func (s *straceParser) parse(r io.Reader, name string, filePid int) error {
	s.cur = name
	if s.buf == nil {
		s.buf = make([]byte, readBufSize)
	}
	buf := s.buf
	start, end := 0, 0
	lineNo := 0
	eof := false
	for {
		for {
			k := bytes.IndexByte(buf[start:end], '\n')
			if k < 0 {
				break
			}
			lineNo++
			if err := s.line(buf[start:start+k], filePid); err != nil {
				return fmt.Errorf("%s:%d: %w", name, lineNo, err)
			}
			start += k + 1
		}
		if eof {
			if start < end {
				lineNo++
				if err := s.line(buf[start:end], filePid); err != nil {
					return fmt.Errorf("%s:%d: %w", name, lineNo, err)
				}
			}
			break
		}
		if start > 0 {
			copy(buf, buf[start:end])
			end -= start
			start = 0
		}
		if end == len(buf) {
			if len(buf) >= maxLine {
				return fmt.Errorf("%s:%d: line longer than %d MiB", name, lineNo+1, maxLine>>20)
			}
			nb := make([]byte, 2*len(buf))
			copy(nb, buf[:end])
			buf = nb
		}
		n, err := r.Read(buf[end:])
		end += n
		if errors.Is(err, io.EOF) {
			eof = true
		} else if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	// Keep the grown buffer only while it is modest.
	if len(buf) <= 4*readBufSize {
		s.buf = buf
	}
	if filePid != 0 {
		// A per-process file that ends inside a call: the process was
		// killed or strace detached.
		if st := s.pids[filePid]; st != nil && st.pending {
			s.flushPending(filePid, st)
		}
	}
	return nil
}

func (s *straceParser) line(b []byte, filePid int) error {
	s.src.Lines++
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	var l lineInfo
	parseLeader(b, &l)
	pid := filePid
	if l.hasID {
		pid = l.pid
	}
	rest := b[l.off:]
	if len(rest) == 0 {
		s.src.Skipped++
		return nil
	}
	if l.proc {
		s.personality(rest)
		s.src.Skipped++
		return nil
	}
	switch rest[0] {
	case '<':
		if bytes.HasPrefix(rest, []byte("<... ")) {
			return s.resumed(pid, rest, l.nr)
		}
		if bytes.HasPrefix(rest, []byte("<unfinished ...>")) {
			// The end of a call line that a message of strace's own cut
			// in two ("vfork(strace: Process 9 attached").
			s.src.Skipped++
			return nil
		}
	case '-':
		if bytes.HasPrefix(rest, []byte("--- ")) { // signal delivery, stop
			s.src.Skipped++
			return nil
		}
	case '+':
		if bytes.HasPrefix(rest, []byte("+++ ")) {
			s.exitLine(pid, rest)
			s.src.Skipped++
			return nil
		}
	case '>': // -k stack frame
		s.src.Skipped++
		return nil
	}
	n := identLen(rest)
	if n > 0 && n < len(rest) {
		name := rest[:n]
		after := n
		if rest[after] == '#' { // personality suffix, e.g. "read#64"
			after++
			after += identLen(rest[after:])
		}
		if after < len(rest) && rest[after] == '(' {
			return s.call(pid, name, l.nr, rest[after+1:], false)
		}
	}
	return s.other(b, rest, filePid)
}

// other handles a line that is not a well-formed record: strace's own
// messages, output of the traced program, or a record glued after such
// output (the program wrote to the same terminal without a newline).
func (s *straceParser) other(b, rest []byte, filePid int) error {
	if bytes.HasPrefix(rest, []byte("strace: ")) {
		if i := bytes.Index(rest, []byte("[ Process PID=")); i >= 0 {
			s.personality(rest[i:])
		}
		s.attached(rest)
		s.src.Skipped++
		return nil
	}
	for _, c := range b {
		if c == 0 || c < 0x20 && c != '\t' && c != 0x1b || c == 0x7f {
			return fmt.Errorf("binary data, not a strace log line")
		}
	}
	// A record glued to the end of other output.
	if i := bytes.Index(b[1:], []byte("[pid ")); i >= 0 {
		return s.line(b[i+1:], filePid)
	}
	if i := bytes.Index(b, []byte("+++ exited with ")); i > 0 {
		return s.line(b[i:], filePid)
	}
	if i := bytes.Index(b, []byte("+++ killed by ")); i > 0 {
		return s.line(b[i:], filePid)
	}
	if i := bytes.IndexByte(b, '('); i > 0 && (bytes.Contains(b[i:], []byte(" = ")) || bytes.HasSuffix(b, []byte("<unfinished ...>"))) {
		j := i
		for j > 0 && identLen(b[j-1:j]) == 1 {
			j--
		}
		// The longest known syscall name ending at the parenthesis.
		for k := j; k < i; k++ {
			if nr := s.lookup(b[k:i]); nr >= 0 {
				return s.call(filePid, b[k:i], -1, b[i+1:], false)
			}
		}
	}
	s.src.Skipped++
	return nil
}

// attached notes a process strace announced ("strace: Process N
// attached"): a child, not the unnamed first process.
func (s *straceParser) attached(b []byte) {
	i := bytes.Index(b, []byte("strace: Process "))
	if i < 0 || !bytes.HasSuffix(b, []byte(" attached")) {
		return
	}
	if pid, ok := atoiTrim(b[i+len("strace: Process ") : len(b)-len(" attached")]); ok && pid != 0 {
		s.child(pid)
	}
}

// child returns the state of a process another process in the log created.
func (s *straceParser) child(pid int) *pidState {
	c := s.pids[pid]
	if c == nil {
		c = &pidState{order: len(s.pids)}
		s.pids[pid] = c
	}
	s.pidCache[uint(pid)%uint(len(s.pidCache))].st = nil
	if s.lastPid == pid {
		s.last = nil
	}
	c.child = true
	return c
}

func (s *straceParser) personality(rest []byte) {
	// "[ Process PID=123 runs in 32 bit mode. ]"
	i := bytes.Index(rest, []byte("PID="))
	if i < 0 {
		return
	}
	j := i + 4
	k := j
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	pid, ok := atoiTrim(rest[j:k])
	if !ok {
		return
	}
	st := s.state(pid)
	st.mode32 = bytes.Contains(rest, []byte("32 bit mode"))
	st.x32 = bytes.Contains(rest, []byte("x32 mode"))
}

func (s *straceParser) exitLine(pid int, rest []byte) {
	st := s.state(pid)
	if st.pending {
		s.flushPending(pid, st)
	}
	switch {
	case bytes.HasPrefix(rest, []byte("+++ exited with ")):
		v := rest[len("+++ exited with "):]
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		code, _ := atoiTrim(v)
		st.exited = true
		st.exit = &profile.Exit{Code: code}
	case bytes.HasPrefix(rest, []byte("+++ killed by ")):
		v := rest[len("+++ killed by "):]
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		sig := string(v)
		e := &profile.Exit{Signal: sig, Code: 128}
		if n := unix.SignalNum(sig); n != 0 {
			e.Code = 128 + int(n)
		}
		st.exited = true
		st.exit = e
	}
}

func (s *straceParser) lookup(name []byte) int {
	// A direct-mapped cache keyed by a cheap hash spares the map's.
	h := uint(len(name))
	for _, c := range name {
		h = h*31 + uint(c)
	}
	slot := &s.nameCache[h%uint(len(s.nameCache))]
	if slot.name == string(name) && slot.name != "" {
		return slot.nr
	}
	nr := s.lookupSlow(name)
	if nr >= 0 {
		slot.name, slot.nr = sysno.Name(s.arch, nr), nr
		if slot.name != string(name) { // an alias: cache the spelling seen
			slot.name = string(name)
		}
	}
	return nr
}

func (s *straceParser) lookupSlow(name []byte) int {
	if nr, ok := s.names[string(name)]; ok {
		return nr
	}
	nr, ok := sysno.Number(s.arch, string(name))
	if !ok {
		nr = -1
	}
	if len(s.names) < maxNameCache {
		s.names[string(name)] = nr
	}
	return nr
}

// resumed handles "<... NAME resumed>ARGS) = RET".
func (s *straceParser) resumed(pid int, rest []byte, nrHint int) error {
	body := rest[len("<... "):]
	i := bytes.Index(body, []byte(" resumed>"))
	if i < 0 {
		s.src.Skipped++
		return nil
	}
	name := body[:i]
	if j := bytes.IndexByte(name, '#'); j >= 0 {
		name = name[:j]
	}
	return s.call(pid, name, nrHint, body[i+len(" resumed>"):], true)
}

func (s *straceParser) flushPending(pid int, st *pidState) {
	st.pending = false
	s.record(pid, st, st.pNr, st.pName, st.pArgs, 0, "", true)
}

// call handles a record from the argument list on: args is everything after
// "NAME(" (or after "resumed>"), up to the end of the line.
func (s *straceParser) call(pid int, name []byte, nrHint int, args []byte, isResumed bool) error {
	st := s.state(pid)
	if st.mode32 {
		// A 32-bit process: its numbers and names are another ABI, which
		// gVisor does not run at all; count, but keep it out of the profile.
		if !isResumed {
			s.mode32++
		}
		return nil
	}
	nr := s.lookup(name)
	if nr < 0 && nrHint >= 0 {
		nr = nrHint
	}
	if nr < 0 {
		if !isResumed {
			s.noteUnknown(name)
		}
		return nil
	}
	if st.x32 && !isResumed {
		s.x32++
	}
	if i := bytes.Index(args, []byte("strace: Process ")); i >= 0 {
		// strace wrote its own message into the middle of the call
		// line; the call's end follows as " <unfinished ...>".
		s.attached(args[i:])
		args = append(args[:i:i], "<unfinished ...>"...)
	}
	if bytes.HasSuffix(args, []byte("<unfinished ...>")) {
		if st.pending { // a call that never resumed (strace lost it)
			s.flushPending(pid, st)
		}
		a := bytes.TrimSuffix(args, []byte("<unfinished ...>"))
		st.pending = true
		st.pNr = nr
		if isResumed {
			// "<... x resumed> <unfinished ...>": still running; the
			// first part's arguments are kept.
			return nil
		}
		st.pName = s.names2str(name, nr)
		st.pArgs = append(st.pArgs[:0], a...)
		return nil
	}
	// Split "ARGS) = RET" at the last " = ".
	eq := lastEq(args)
	var ret []byte
	a := args
	if eq >= 0 {
		ret = args[eq+3:]
		a = bytes.TrimRight(args[:eq], " ")
		a = bytes.TrimSuffix(a, []byte(")"))
	} else {
		a = bytes.TrimRight(a, " ")
		a = bytes.TrimSuffix(a, []byte(")"))
	}
	var full []byte
	if isResumed {
		if st.pending && st.pNr == nr {
			st.pending = false
			if s.opt.OnCall != nil || pathArg(nr, s.arch) != 0 {
				st.pArgs = append(st.pArgs, a...)
				full = st.pArgs
			}
		} else {
			if st.pending {
				s.flushPending(pid, st)
			}
			full = a
		}
	} else {
		if st.pending { // interleaved without strace noticing: keep both
			s.flushPending(pid, st)
		}
		full = a
	}
	rv, errno, noRet := s.parseRet(ret)
	if eq < 0 {
		noRet = true
	}
	s.record(pid, st, nr, "", full, rv, errno, noRet)
	return nil
}

func (s *straceParser) names2str(name []byte, nr int) string {
	return sysno.Name(s.arch, nr)
}

func (s *straceParser) noteUnknown(name []byte) {
	if s.unknown == nil {
		s.unknown = map[string]int64{}
	}
	if _, ok := s.unknown[string(name)]; ok || len(s.unknown) < maxUnknown {
		s.unknown[string(name)]++
	}
}

// parseRet reads "RET [ERRNO (text)] [<dur>]", "? ERESTARTSYS (...)" or "?".
func (s *straceParser) parseRet(b []byte) (rv int64, errno string, noRet bool) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, "", true
	}
	i := 0
	if b[0] == '?' {
		i = 1
		noRet = true
	} else {
		neg := false
		if b[0] == '-' {
			neg = true
			i++
		}
		if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') {
			i += 2
			var v uint64
			for i < len(b) {
				c := b[i]
				switch {
				case c >= '0' && c <= '9':
					v = v<<4 | uint64(c-'0')
				case c >= 'a' && c <= 'f':
					v = v<<4 | uint64(c-'a'+10)
				case c >= 'A' && c <= 'F':
					v = v<<4 | uint64(c-'A'+10)
				default:
					goto done
				}
				i++
			}
		done:
			rv = int64(v)
		} else {
			var v int64
			j := i
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				v = v*10 + int64(b[i]-'0')
				i++
			}
			if i == j {
				return 0, "", true
			}
			rv = v
		}
		if neg {
			rv = -rv
		}
	}
	// Skip an -y fd annotation on the result: "3</etc/passwd>".
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i < len(b) && b[i] == 'E' {
		j := i
		for j < len(b) && b[j] != ' ' {
			j++
		}
		errno = s.errno(b[i:j])
		if noRet { // "? ERESTARTSYS": interrupted, will be restarted
			noRet = false
			rv = -1
		}
	} else if rv < 0 && bytes.HasPrefix(b[i:], []byte("(errno ")) {
		// -X raw or an errno strace cannot name
		j := i + len("(errno ")
		k := bytes.IndexByte(b[j:], ')')
		if k > 0 {
			errno = s.errno(append(append(s.pathBuf[:0], "errno_"...), b[j:j+k]...))
		}
	}
	return rv, errno, noRet
}

func (s *straceParser) errno(b []byte) string {
	if e, ok := s.errnos[string(b)]; ok {
		return e
	}
	e := string(b)
	if len(s.errnos) < maxNameCache {
		s.errnos[e] = e
	}
	return e
}

func (s *straceParser) aggFor(nr int) *sysAgg {
	if nr >= 0 && nr < len(s.small) {
		a := s.small[nr]
		if a == nil {
			a = &sysAgg{}
			s.small[nr] = a
			s.agg[nr] = a
		}
		return a
	}
	a := s.agg[nr]
	if a == nil {
		a = &sysAgg{}
		s.agg[nr] = a
	}
	return a
}

// record counts one completed call.
func (s *straceParser) record(pid int, st *pidState, nr int, name string, args []byte, rv int64, errno string, noRet bool) {
	s.calls++
	a := s.aggFor(nr)
	a.count++
	if errno != "" {
		if a.errors == nil {
			a.errors = map[string]uint64{}
		}
		a.errors[errno]++
	}
	var path string
	if k := pathArg(nr, s.arch); k != 0 && args != nil {
		exec := isExec(nr, s.arch)
		path = s.path(args, k, exec)
		if path != "" && !noRet && errno == "" && exec {
			st.exe = s.exeID(path)
		}
	}
	if k := isFork(nr, s.arch); k && rv > 0 && errno == "" {
		c := s.child(int(rv))
		if c.exe == 0 {
			c.exe = st.exe
		}
	}
	if st.exe != 0 {
		if len(a.exes) <= st.exe {
			a.exes = append(a.exes, make([]uint64, st.exe+1-len(a.exes))...)
		}
		a.exes[st.exe]++
	}
	if path != "" && keepPath(path) {
		s.p.RecordPath(path, sysno.Name(s.arch, nr), 1, errno)
	}
	if s.opt.OnCall != nil {
		if name == "" {
			name = sysno.Name(s.arch, nr)
		}
		c := &profile.Call{Pid: pid, Tid: pid, Exe: s.exes[st.exe], Nr: nr, Name: name,
			Ret: rv, Errno: errno, NoReturn: noRet, Text: string(args)}
		if keepPath(path) {
			c.Path = path
		}
		s.opt.OnCall(c)
	}
}

func (s *straceParser) exeID(path string) int {
	if id, ok := s.exeIdx[path]; ok {
		return id
	}
	id := len(s.exes)
	s.exes = append(s.exes, path)
	s.exeIdx[path] = id
	return id
}

func keepPath(p string) bool {
	return under(p, "/proc") || under(p, "/sys") || under(p, "/dev")
}

func under(p, dir string) bool {
	return strings.HasPrefix(p, dir) && (len(p) == len(dir) || p[len(dir)] == '/')
}

// path extracts the path argument (the k-th, 1-based) from the arguments
// text. For the *at calls, a relative path is joined to the directory that
// strace -y printed for the dirfd. Only paths gvcheck keeps (execve's always,
// for process attribution) are turned into strings.
func (s *straceParser) path(args []byte, k int, exec bool) string {
	q := bytes.IndexByte(args, '"')
	if q < 0 {
		return ""
	}
	raw, ok := cString(args[q:])
	if !ok {
		return ""
	}
	if len(raw) == 0 {
		return "" // AT_EMPTY_PATH: an operation on the fd, not a lookup
	}
	var dir []byte
	if k == 2 && raw[0] != '/' {
		// "AT_FDCWD</cwd>, " or "3</proc/self>, " (-yy may nest "<char 1:3>")
		dir = fdPath(args[:q])
		if len(dir) == 0 || dir[0] != '/' {
			return ""
		}
	}
	s.pathBuf = s.pathBuf[:0]
	if dir != nil {
		s.pathBuf = append(s.pathBuf, dir...)
		if len(raw) > 0 {
			s.pathBuf = append(s.pathBuf, '/')
		}
	}
	s.pathBuf = unescapeC(s.pathBuf, raw)
	pb := s.pathBuf
	if dir != nil {
		pb = []byte(path.Clean(string(pb)))
	}
	if !(bytes.HasPrefix(pb, []byte("/proc")) || bytes.HasPrefix(pb, []byte("/sys")) || bytes.HasPrefix(pb, []byte("/dev"))) {
		if !exec || dir != nil || len(pb) == 0 || pb[0] != '/' {
			return ""
		}
		// Not kept, but execve's path names the process.
	}
	if p, ok := s.paths[string(pb)]; ok {
		return p
	}
	p := string(pb)
	if len(s.paths) < 1<<16 {
		s.paths[p] = p
	}
	return p
}

// fdPath returns the path strace -y printed for the first fd in b:
// "3</proc/self>" gives "/proc/self"; -yy's inner "<char 1:3>" is dropped.
func fdPath(b []byte) []byte {
	lt := bytes.IndexByte(b, '<')
	if lt < 0 {
		return nil
	}
	depth := 0
	for i := lt; i < len(b); i++ {
		switch b[i] {
		case '<':
			depth++
			if depth == 2 {
				return b[lt+1 : i]
			}
		case '>':
			depth--
			if depth == 0 {
				return b[lt+1 : i]
			}
		}
	}
	return nil
}

// cString returns the body of the quoted string at the start of b, still
// escaped.
func cString(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[1:i], true
		}
	}
	return nil, false
}

// unescapeC decodes strace's C escapes (\n, \", \\, \xHH, octal).
func unescapeC(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			dst = append(dst, c)
			continue
		}
		i++
		switch e := b[i]; e {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'v':
			dst = append(dst, '\v')
		case 'f':
			dst = append(dst, '\f')
		case 'x':
			v, j := 0, i+1
			for ; j < len(b) && j < i+3 && isHex(b[j]); j++ {
				v = v<<4 | hexVal(b[j])
			}
			if j == i+1 {
				dst = append(dst, '\\', 'x')
				continue
			}
			dst = append(dst, byte(v))
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := 0, i
			for ; j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7'; j++ {
				v = v<<3 | int(b[j]-'0')
			}
			dst = append(dst, byte(v))
			i = j - 1
		default:
			dst = append(dst, e)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// finish turns the aggregate into the profile.
func (s *straceParser) finish() (*profile.Profile, error) {
	for pid, st := range s.pids {
		if st.pending {
			s.flushPending(pid, st)
		}
	}
	if s.calls == 0 {
		if s.mode32 > 0 {
			return nil, fmt.Errorf("%s: only 32-bit syscalls (%d), which gVisor does not run", s.src.Name, s.mode32)
		}
		if len(s.unknown) > 0 {
			return nil, fmt.Errorf("%s: no syscall of %s found (unknown names: %s)", s.src.Name, s.arch, strings.Join(sortedKeys(s.unknown), ", "))
		}
		return nil, fmt.Errorf("%s: no strace syscall lines found", s.src.Name)
	}
	for nr, a := range s.agg {
		sc := s.p.Syscall(nr)
		sc.Count += a.count
		for e, n := range a.errors {
			if sc.Errors == nil {
				sc.Errors = map[string]uint64{}
			}
			sc.Errors[e] += n
		}
		for id, n := range a.exes {
			if n > 0 {
				sc.RecordExe(s.exes[id], n)
			}
		}
	}
	// The traced program's exit is that of the first process that no other
	// process in the log created.
	root, best := 0, -1
	for pid, st := range s.pids {
		if !st.child && st.exit != nil && (best < 0 || st.order < best) {
			root, best = pid, st.order
		}
	}
	if best >= 0 {
		s.src.Exit = s.pids[root].exit
	}
	var notes []string
	if s.mode32 > 0 {
		notes = append(notes, fmt.Sprintf("%d calls of 32-bit processes left out", s.mode32))
	}
	if s.x32 > 0 {
		notes = append(notes, fmt.Sprintf("%d calls made in x32 mode", s.x32))
	}
	if len(s.unknown) > 0 {
		notes = append(notes, fmt.Sprintf("names not syscalls of %s left out: %s", s.arch, strings.Join(sortedKeys(s.unknown), ", ")))
	}
	s.src.Detail = joinDetail(s.src.Detail, strings.Join(notes, "; "))
	s.p.Sources = append(s.p.Sources, s.src)
	return s.p, nil
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	sortStrings(keys)
	return keys
}
