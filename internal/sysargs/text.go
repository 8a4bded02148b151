package sysargs

import (
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// KeyFromText returns the same key as KeyFromRegs from strace's printed
// arguments (the text between the call's parentheses), whether strace
// printed them symbolically ("PR_SET_NAME, ...", "AF_INET,
// SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP", "FUTEX_WAIT_PRIVATE"), raw
// ("0x5401"), or both ("0x5401 /* TCGETS */").
func KeyFromText(arch sysno.Arch, name, text string) (display string, values []uint64, ok bool) {
	k, found := keys[name]
	if !found {
		return "", nil, false
	}
	t := textArgs{arch: arch, args: splitArgs(text)}
	return k(arch, t)
}

type textArgs struct {
	arch sysno.Arch
	args []string
}

func (t textArgs) value(i int, c category) (uint64, bool) {
	if i >= len(t.args) {
		return 0, false
	}
	s := t.args[i]
	if c == catXattr {
		return xattrFromText(s)
	}
	if _, v, ok := cutField(s); ok {
		s = v
	}
	return parseExpr(t.arch, s, c)
}

// named finds "name=value" at any depth (clone prints flags=..., clone3
// prints {flags=..., ...}).
func (t textArgs) named(name string, _ int, c category) (uint64, bool) {
	for _, a := range t.args {
		if v, ok := findField(a, name); ok {
			return parseExpr(t.arch, v, c)
		}
	}
	return 0, false
}

func (t textArgs) null(i int) bool {
	if i >= len(t.args) {
		return true
	}
	s := strings.TrimSpace(t.args[i])
	return s == "NULL" || s == "0"
}

func (t textArgs) netlinkProto() (uint64, bool) {
	for _, a := range t.args {
		if v, ok := findField(a, "nlmsg_type"); ok {
			v = strings.TrimSpace(stripComments(v))
			if _, named := tableFor(t.arch, catRTM).byName[v]; named {
				return netlinkProtoRoute, true
			}
			return 0, false
		}
	}
	return 0, false
}

// cutField splits "ident=value".
func cutField(s string) (string, string, bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", "", false
	}
	for _, r := range s[:i] {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	return s[:i], s[i+1:], true
}

// findField finds "name=value" in s, depth first through structures
// ({...}), arrays ([...]) and the values of other fields, so the first
// match is the one strace printed first.
func findField(s, name string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '{' && s[len(s)-1] == '}' || s[0] == '[' && s[len(s)-1] == ']') {
		for _, f := range splitArgs(s[1 : len(s)-1]) {
			if v, ok := findField(f, name); ok {
				return v, true
			}
		}
		return "", false
	}
	if k, v, ok := cutField(s); ok {
		if k == name {
			return v, true
		}
		return findField(v, name)
	}
	return "", false
}

// splitArgs splits at top-level commas, respecting brackets, quotes and
// comments.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(s)
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// stripComments removes /* ... */; with "0x5401 /* TCGETS */" the number
// stays, with "TCGETS /* 0x5401 */" the name does.
func stripComments(s string) string {
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			return strings.TrimSpace(s)
		}
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return strings.TrimSpace(s[:i])
		}
		s = s[:i] + s[i+2+j+2:]
	}
}

// parseExpr evaluates strace's rendering of an integer: numbers, names of
// category c, "A|B|0x10", "htons(ETH_P_ALL)", "_IOC(...)", and "A or B"
// (ambiguous ioctl names).
func parseExpr(arch sysno.Arch, s string, c category) (uint64, bool) {
	s = stripComments(s)
	if s == "" {
		return 0, false
	}
	if alts := strings.Split(s, " or "); len(alts) > 1 {
		for _, a := range alts {
			if v, ok := parseExpr(arch, a, c); ok {
				return v, true
			}
		}
		return 0, false
	}
	var v uint64
	for _, tok := range splitTop(s, '|') {
		x, ok := parseToken(arch, strings.TrimSpace(tok), c)
		if !ok {
			return 0, false
		}
		v |= x
	}
	return v, true
}

func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseOnly are names strace prints inside key arguments that are not part
// of any key's own family.
var parseOnly = map[string]uint64{
	"SOCK_CLOEXEC": 0x80000, "SOCK_NONBLOCK": 0x800,
	"IPC_64":             ipc64,
	"FUTEX_PRIVATE_FLAG": futexPrivateFlag, "FUTEX_CLOCK_REALTIME": futexClockRealtime,
}

func parseToken(arch sysno.Arch, s string, c category) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	if s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		return parseNumber(s)
	}
	if s == "NULL" {
		return 0, true
	}
	if inner, ok := call(s, "htons"); ok {
		v, ok := parseExpr(arch, inner, catEthP)
		return swap16(v), ok && v <= 0xffff
	}
	if inner, ok := call(s, "_IOC"); ok {
		return parseIOC(inner)
	}
	if c < numCategories {
		if v, ok := tableFor(arch, c).byName[s]; ok {
			return v, true
		}
	}
	if v, ok := parseOnly[s]; ok {
		return v, true
	}
	switch c {
	case catFutex: // FUTEX_WAIT_PRIVATE = FUTEX_WAIT|FUTEX_PRIVATE_FLAG
		if base, ok := strings.CutSuffix(s, "_PRIVATE"); ok {
			if v, ok := tableFor(arch, catFutex).byName[base]; ok {
				return v | futexPrivateFlag, true
			}
		}
	case catSOL: // strace prints some levels as IPPROTO_* names
		if v, ok := tableFor(arch, catIPProto).byName[s]; ok {
			return v, true
		}
	case catClone: // clone's flags carry the exit signal
		if v, ok := tableFor(arch, catSignal).byName[s]; ok {
			return v, true
		}
	}
	return 0, false
}

func parseNumber(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 0, 64)
		return uint64(v), err == nil
	}
	v, err := strconv.ParseUint(s, 0, 64)
	return v, err == nil
}

func call(s, fn string) (string, bool) {
	if strings.HasPrefix(s, fn+"(") && strings.HasSuffix(s, ")") {
		return s[len(fn)+1 : len(s)-1], true
	}
	return "", false
}

// parseIOC evaluates strace's _IOC(dir, type, nr, size) for requests it has
// no name for.
func parseIOC(inner string) (uint64, bool) {
	parts := splitArgs(inner)
	if len(parts) != 4 {
		return 0, false
	}
	var dir uint64
	for _, d := range strings.Split(parts[0], "|") {
		switch strings.TrimSpace(d) {
		case "_IOC_NONE":
		case "_IOC_WRITE":
			dir |= 1
		case "_IOC_READ":
			dir |= 2
		default:
			v, ok := parseNumber(strings.TrimSpace(d))
			if !ok {
				return 0, false
			}
			dir |= v
		}
	}
	var f [3]uint64
	for i, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if len(p) == 3 && p[0] == '\'' && p[2] == '\'' {
			f[i] = uint64(p[1])
			continue
		}
		v, ok := parseNumber(p)
		if !ok {
			return 0, false
		}
		f[i] = v
	}
	typ, nr, size := f[0], f[1], f[2]
	if dir > 3 || typ > 0xff || nr > 0xff || size > 0x3fff {
		return 0, false
	}
	return dir<<30 | size<<16 | typ<<8 | nr, true
}

// xattrFromText classifies an attribute name strace printed as a quoted
// string (marked "..." after the quote when cut short), or gVisor's strace
// as its address and the name unquoted ("0x7ffd1234 security.k").
func xattrFromText(s string) (uint64, bool) {
	rest, cut := strings.CutSuffix(strings.TrimSpace(s), "...")
	if addr, name, ok := strings.Cut(rest, " "); ok && strings.HasPrefix(addr, "0x") && !strings.HasPrefix(name, "(") {
		_, v, ok := xattrKey(name, true)
		return v, ok
	}
	if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return 0, false
	}
	name, err := strconv.Unquote(rest)
	if err != nil {
		name = rest[1 : len(rest)-1] // an escape Go does not read; the prefix is what counts
	}
	_, v, ok := xattrKey(name, !cut)
	return v, ok
}
