package ingest

import (
	"bytes"
	"path"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// recKind is what one strace line is.
type recKind uint8

const (
	recSkip        recKind = iota // not a syscall: a signal, a message, program output
	recCall                       // NAME(ARGS) = RET
	recUnfinished                 // NAME(ARGS <unfinished ...>
	recResumed                    // <... NAME resumed>ARGS) = RET
	recExit                       // +++ exited with N +++, +++ killed by SIG +++
	recPersonality                // [ Process PID=N runs in M mode. ]
	recBinary                     // control characters: not a strace log
)

// rec is one line, lexed. Lexing needs no state but caches, so workers lex
// chunks of a log in parallel and one goroutine applies the records in
// order.
type rec struct {
	kind       recKind
	hasPid     bool // the line named its pid
	unfinished bool // a resumed call that is still not finished
	noRet      bool
	known      bool // recExit: the exit status was parsed
	mode32     bool // recPersonality
	x32        bool
	thread     bool  // a clone that made a thread (CLONE_THREAD)
	pid        int32 // as strace prints it: a thread id
	nr         int32 // -1: not a syscall of the arch
	attached   int32 // strace announced this new process in the line
	exitCode   int32
	ret        int64
	// args is the arguments text (a slice of the input); for a name that
	// is no syscall (nr < 0), the name instead.
	args  []byte
	errno string // for recExit, the signal that killed the process
	path  string // the path argument, if kept or exec'd
	// key is the key argument of an argument-sensitive syscall.
	key       string
	keyValues []uint64
}

// lexer turns lines into records; each parsing goroutine has its own.
type lexer struct {
	arch      sysno.Arch
	tables    *archTables
	names     map[string]int // syscall name -> number, -1 if unknown
	errnos    map[string]string
	paths     map[string]string
	signals   map[string]string
	pathBuf   []byte
	keyBuf    []byte
	keys      map[string]keyEntry
	keySlots  [256]keyEntry
	resuming  bool // lexing the second half of a call
	nameCache [512]struct {
		name string
		nr   int
	}
}

func newLexer(arch sysno.Arch) *lexer {
	return &lexer{arch: arch, tables: tablesFor(arch), names: map[string]int{}, errnos: map[string]string{},
		paths: map[string]string{}, signals: map[string]string{}, keys: map[string]keyEntry{}}
}

func (x *lexer) lex(b []byte, r *rec) {
	*r = rec{nr: -1}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	var l lineInfo
	parseLeader(b, &l)
	r.pid, r.hasPid = int32(l.pid), l.hasID
	rest := b[l.off:]
	if len(rest) == 0 {
		return
	}
	if l.proc {
		x.personality(rest, r)
		return
	}
	switch rest[0] {
	case '<':
		if bytes.HasPrefix(rest, []byte("<... ")) {
			x.resumed(rest, l.nr, r)
		}
		// "<unfinished ...>" alone ends a call line that a message of
		// strace's own cut in two ("vfork(strace: Process 9 attached").
		return
	case '-':
		if bytes.HasPrefix(rest, []byte("--- ")) { // signal delivery, stop
			return
		}
	case '+':
		if bytes.HasPrefix(rest, []byte("+++ ")) {
			x.exit(rest, r)
			return
		}
	case '>': // -k stack frame
		return
	}
	n, h := identHash(rest)
	if n > 0 && n < len(rest) {
		after := n
		if rest[after] == '#' { // personality suffix, e.g. "read#64"
			after++
			after += identLen(rest[after:])
		}
		if after < len(rest) && rest[after] == '(' {
			x.callHashed(rest[:n], h, l.nr, rest[after+1:], r)
			return
		}
	}
	x.other(b, rest, r)
}

// other handles a line that is not a well-formed record: strace's own
// messages, output of the traced program, or a record glued after such
// output (the program wrote to the same terminal without a newline).
func (x *lexer) other(b, rest []byte, r *rec) {
	if bytes.HasPrefix(rest, []byte("strace: ")) {
		if i := bytes.Index(rest, []byte("[ Process PID=")); i >= 0 {
			x.personality(rest[i:], r)
			return
		}
		r.attached = int32(attachedPid(rest))
		return
	}
	for _, c := range b {
		if c == 0 || c < 0x20 && c != '\t' && c != 0x1b || c == 0x7f {
			r.kind = recBinary
			return
		}
	}
	// A record glued to the end of other output.
	if i := bytes.Index(b[1:], []byte("[pid ")); i >= 0 {
		x.lex(b[i+1:], r)
		return
	}
	if i := bytes.Index(b, []byte("+++ exited with ")); i > 0 {
		x.lex(b[i:], r)
		return
	}
	if i := bytes.Index(b, []byte("+++ killed by ")); i > 0 {
		x.lex(b[i:], r)
		return
	}
	if i := bytes.IndexByte(b, '('); i > 0 && (bytes.Contains(b[i:], []byte(" = ")) || bytes.HasSuffix(b, []byte("<unfinished ...>"))) {
		j := i
		for j > 0 && identLen(b[j-1:j]) == 1 {
			j--
		}
		// The longest known syscall name ending at the parenthesis.
		for k := j; k < i; k++ {
			if nr := x.lookup(b[k:i]); nr >= 0 {
				x.call(b[k:i], -1, b[i+1:], r)
				return
			}
		}
	}
}

// attachedPid reads "strace: Process N attached" anywhere in b.
func attachedPid(b []byte) int {
	i := bytes.Index(b, []byte("strace: Process "))
	start, end := i+len("strace: Process "), len(b)-len(" attached")
	// "strace: Process attached" shares its space: no pid between them.
	if i < 0 || !bytes.HasSuffix(b, []byte(" attached")) || start > end {
		return 0
	}
	pid, _ := atoiTrim(b[start:end])
	return pid
}

func (x *lexer) personality(rest []byte, r *rec) {
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
	r.kind = recPersonality
	r.pid, r.hasPid = int32(pid), true
	r.mode32 = bytes.Contains(rest, []byte("32 bit mode"))
	r.x32 = bytes.Contains(rest, []byte("x32 mode"))
}

func (x *lexer) exit(rest []byte, r *rec) {
	r.kind = recExit
	switch {
	case bytes.HasPrefix(rest, []byte("+++ exited with ")):
		v := rest[len("+++ exited with "):]
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		code, _ := atoiTrim(v)
		r.exitCode = int32(code)
		r.known = true
	case bytes.HasPrefix(rest, []byte("+++ killed by ")):
		v := rest[len("+++ killed by "):]
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		sig, ok := x.signals[string(v)]
		if !ok {
			sig = string(v)
			if len(x.signals) < maxNameCache {
				x.signals[sig] = sig
			}
		}
		r.errno = sig
		r.exitCode = 128
		if n := unix.SignalNum(sig); n != 0 {
			r.exitCode = 128 + int32(n)
		}
		r.known = true
	}
}

// identHash is identLen that also hashes the identifier for lookup.
func identHash(b []byte) (int, uint) {
	var h uint
	i := 0
	for ; i < len(b) && identChar[b[i]]; i++ {
		h = h*31 + uint(b[i])
	}
	return i, h
}

func (x *lexer) lookup(name []byte) int {
	_, h := identHash(name)
	return x.lookupHashed(name, h)
}

// lookupHashed finds a syscall number by name; h is identHash's.
func (x *lexer) lookupHashed(name []byte, h uint) int {
	// A direct-mapped cache keyed by a cheap hash spares the map's.
	slot := &x.nameCache[h%uint(len(x.nameCache))]
	if slot.name == string(name) && slot.name != "" {
		return slot.nr
	}
	nr, ok := x.names[string(name)]
	if !ok {
		if nr, ok = sysno.Number(x.arch, string(name)); !ok {
			nr = -1
		}
		if len(x.names) < maxNameCache {
			x.names[string(name)] = nr
		}
	}
	if nr >= 0 {
		// The table's own string: no allocation when two names take turns
		// in a slot. (An alias never hits the slot and takes the map.)
		slot.name, slot.nr = sysno.Name(x.arch, nr), nr
	}
	return nr
}

// resumed lexes "<... NAME resumed>ARGS) = RET".
func (x *lexer) resumed(rest []byte, nrHint int, r *rec) {
	body := rest[len("<... "):]
	i := bytes.Index(body, []byte(" resumed>"))
	if i < 0 {
		return
	}
	name := body[:i]
	if j := bytes.IndexByte(name, '#'); j >= 0 {
		name = name[:j]
	}
	x.resuming = true
	x.call(name, nrHint, body[i+len(" resumed>"):], r)
	x.resuming = false
	if r.kind == recUnfinished {
		r.kind, r.unfinished = recResumed, true
	} else if r.kind == recCall {
		r.kind = recResumed
	}

}

// call lexes a record from its argument list on: args is everything after
// "NAME(" (or after "resumed>") up to the end of the line.
func (x *lexer) call(name []byte, nrHint int, args []byte, r *rec) {
	_, h := identHash(name)
	x.callHashed(name, h, nrHint, args, r)
}

func (x *lexer) callHashed(name []byte, h uint, nrHint int, args []byte, r *rec) {
	nr := x.lookupHashed(name, h)
	if nr < 0 && nrHint >= 0 {
		nr = nrHint
	}
	r.nr = int32(nr)
	if nr < 0 {
		r.kind, r.args = recCall, name
		if bytes.HasSuffix(args, []byte("<unfinished ...>")) {
			r.kind = recUnfinished
		}
		return
	}
	// strace may write its own message into the middle of a call line
	// ("vfork(strace: Process 9 attached"); the call's end follows on the
	// next line as " <unfinished ...>".
	if len(args) > 0 && args[len(args)-1] == 'd' && bytes.HasSuffix(args, []byte(" attached")) {
		if i := bytes.Index(args, []byte("strace: Process ")); i >= 0 {
			r.attached = int32(attachedPid(args[i:]))
			args = append(args[:i:i], "<unfinished ...>"...)
		}
	}
	if len(args) > 0 && args[len(args)-1] == '>' && bytes.HasSuffix(args, []byte("<unfinished ...>")) {
		r.kind = recUnfinished
		r.args = args[:len(args)-len("<unfinished ...>")]
		x.argFacts(r)
		return
	}
	r.kind = recCall
	// Split "ARGS) = RET" at the last " = ".
	eq := lastEq(args)
	a := args
	var ret []byte
	if eq >= 0 {
		ret = args[eq+3:]
		a = args[:eq]
	}
	a = bytes.TrimRight(a, " ")
	r.args = bytes.TrimSuffix(a, []byte(")"))
	if eq < 0 {
		r.noRet = true
	} else {
		x.parseRet(ret, r)
	}
	x.argFacts(r)
}

// argFacts reads what gvcheck needs from the arguments: the path, and
// whether a clone makes a thread.
func (x *lexer) argFacts(r *rec) {
	if x.resuming {
		return // those arguments were in the first half
	}
	x.keyOf(r)
	if int(r.nr) < len(x.tables.fork) && x.tables.fork[r.nr] {
		r.thread = bytes.Contains(r.args, []byte("CLONE_THREAD"))
		return
	}
	x.pathOf(r)
}

// parseRet reads "RET [ERRNO (text)] [<dur>]", "? ERESTARTSYS (...)" or "?".
func (x *lexer) parseRet(b []byte, r *rec) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) == 0 {
		r.noRet = true
		return
	}
	i := 0
	var rv int64
	if b[0] == '?' {
		i = 1
		r.noRet = true
	} else {
		neg := false
		if b[0] == '-' {
			neg = true
			i++
		}
		if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') {
			i += 2
			var v uint64
			for ; i < len(b) && isHex(b[i]); i++ {
				v = v<<4 | uint64(hexVal(b[i]))
			}
			rv = int64(v)
		} else {
			j := i
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				rv = rv*10 + int64(b[i]-'0')
				i++
			}
			if i == j {
				r.noRet = true
				return
			}
		}
		if neg {
			rv = -rv
		}
	}
	r.ret = rv
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i < len(b) && b[i] == 'E' {
		j := i
		for j < len(b) && b[j] != ' ' {
			j++
		}
		r.errno = x.intern(x.errnos, b[i:j])
		if r.noRet { // "? ERESTARTSYS": interrupted, to be restarted
			r.noRet = false
			r.ret = -1
		}
	} else if rv < 0 && bytes.HasPrefix(b[i:], []byte("(errno ")) {
		// -X raw, or an errno strace cannot name
		j := i + len("(errno ")
		if k := bytes.IndexByte(b[j:], ')'); k > 0 {
			x.pathBuf = append(append(x.pathBuf[:0], "errno_"...), b[j:j+k]...)
			r.errno = x.intern(x.errnos, x.pathBuf)
		}
	}
}

func (x *lexer) intern(m map[string]string, b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(m) < 1<<16 {
		m[s] = s
	}
	return s
}

// pathOf sets r.path from the path argument of calls that have one, when
// it is under /proc, /sys or /dev, or is exec'd (it names the process).
func (x *lexer) pathOf(r *rec) {
	if r.nr < 0 || int(r.nr) >= len(x.tables.path) {
		return
	}
	k := int(x.tables.path[r.nr])
	if k == 0 {
		return
	}
	exec := x.tables.exec[r.nr]
	args := r.args
	q := bytes.IndexByte(args, '"')
	if q < 0 {
		return
	}
	raw, ok := cString(args[q:])
	if !ok || len(raw) == 0 { // "": AT_EMPTY_PATH, an operation on the fd
		return
	}
	if !exec && raw[0] == '/' && !hasKeptPrefix(raw) && bytes.IndexByte(raw[:min(len(raw), 6)], '\\') < 0 {
		return // the common case: an absolute path elsewhere, not escaped
	}
	var dir []byte
	if k == 2 && raw[0] != '/' {
		// "AT_FDCWD</cwd>, " or "3</proc/self>, " (-yy may nest "<char 1:3>")
		dir = fdPath(args[:q])
		if len(dir) == 0 || dir[0] != '/' {
			return
		}
	}
	x.pathBuf = x.pathBuf[:0]
	if dir != nil {
		x.pathBuf = append(append(x.pathBuf, dir...), '/')
	}
	x.pathBuf = unescapeC(x.pathBuf, raw)
	pb := x.pathBuf
	if dir != nil {
		pb = []byte(path.Clean(string(pb)))
	}
	if !hasKeptPrefix(pb) && !(exec && dir == nil && pb[0] == '/') {
		return
	}
	r.path = x.intern(x.paths, pb)
}

// identChar: the bytes of a syscall name.
var identChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
	}
	return t
}()

func hasKeptPrefix(b []byte) bool {
	return bytes.HasPrefix(b, []byte("/proc")) || bytes.HasPrefix(b, []byte("/sys")) || bytes.HasPrefix(b, []byte("/dev"))
}
