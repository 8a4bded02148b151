package outcome

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// line is one printed line, with its normalised form for comparison.
type line struct {
	stream, text, norm string
}

var (
	ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r`)
	// Random temporary names (mktemp's tmp.XXXXXXXXXX, Python's tmpXXXXXXXX).
	tempName = regexp.MustCompile(`\b(?:tmp|temp)[._-]?[A-Za-z0-9_]{6,}\b`)
	// Hexadecimal numbers and digests, then decimal numbers (pids, times,
	// sizes, durations, addresses): what varies from run to run.
	hexNum   = regexp.MustCompile(`\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b`)
	decNum   = regexp.MustCompile(`[0-9]+(?:[.,:][0-9]+)*`)
	spaceRun = regexp.MustCompile(`\s+`)
)

// normalise reduces a line to what should not vary between two runs of a
// deterministic program: numbers, addresses, times and temporary names are
// replaced by placeholders, colours and spacing dropped.
func normalise(s string) string {
	s = ansi.ReplaceAllString(s, "")
	s = tempName.ReplaceAllString(s, "tmp*")
	s = hexNum.ReplaceAllStringFunc(s, func(h string) string {
		if len(h) < 6 && !strings.HasPrefix(strings.ToLower(h), "0x") {
			return h // a word such as "dead" or "be2", not a number
		}
		return "#"
	})
	s = decNum.ReplaceAllString(s, "#")
	return strings.TrimSpace(spaceRun.ReplaceAllString(s, " "))
}

func lines(r Run) []line {
	var out []line
	for _, st := range []struct {
		name string
		b    []byte
	}{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		for t := range strings.Lines(string(st.b)) {
			t = strings.TrimRight(t, "\r\n")
			if n := normalise(t); n != "" {
				out = append(out, line{st.name, t, n})
			}
		}
	}
	return out
}

// newLines returns the lines of run that ref did not print (as many times).
// A line that moved from one stream to the other is not new.
func newLines(ref, run Run) []line {
	count := map[string]int{}
	for _, l := range lines(ref) {
		count[l.norm]++
	}
	var out []line
	for _, l := range lines(run) {
		if count[l.norm] > 0 {
			count[l.norm]--
			continue
		}
		out = append(out, l)
	}
	return out
}

// sameLines reports whether two stdouts hold the same normalised lines,
// in order, apart from volatile ones.
func sameLines(a, b []byte, volatile map[string]bool) bool {
	keep := func(out []byte) []string {
		var s []string
		for _, l := range lines(Run{Stdout: out}) {
			if !volatile[l.stream+"\x00"+l.norm] {
				s = append(s, l.norm)
			}
		}
		return s
	}
	x, y := keep(a), keep(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// phrases are words programs print for an errno besides its strerror text.
var phrases = map[string][]string{
	"ENOSYS":          {"not implemented", "unimplemented", "not supported", "unsupported"},
	"EOPNOTSUPP":      {"not supported", "unsupported"},
	"ENOTSUP":         {"not supported", "unsupported"},
	"EAFNOSUPPORT":    {"not supported", "unsupported"},
	"EPROTONOSUPPORT": {"not supported", "unsupported"},
	"ESOCKTNOSUPPORT": {"not supported", "unsupported"},
	"EPFNOSUPPORT":    {"not supported", "unsupported"},
	"ENOTTY":          {"not supported", "unsupported", "not a tty", "not a terminal"},
	"ENODEV":          {"not supported", "unsupported", "no such device"},
	"EPERM":           {"not permitted", "permission"},
	"EACCES":          {"permission", "access denied"},
	"ENOENT":          {"not found", "does not exist", "doesn't exist", "missing", "cannot open", "can't open", "could not open", "couldn't open", "unable to open"},
}

// errnoIn returns the first of errnos that text names: by its symbol
// (ENOSYS), its number as libraries print it ([Errno 38], errno=38), its
// strerror text, or words programs use for it.
func errnoIn(text string, errnos []string) (string, bool) {
	low := strings.ToLower(text)
	// The most specific evidence first: the symbol, the number, the
	// strerror text; only then words several errnos share.
	for _, e := range errnos {
		if regexp.MustCompile(`\b` + e + `\b`).MatchString(text) {
			return e, true
		}
		if n, ok := sysno.ErrnoValue(e); ok {
			if s := strings.ToLower(syscall.Errno(n).Error()); s != "" && strings.Contains(low, s) {
				return e, true
			}
			if regexp.MustCompile(`(?i)\berrno[\s=:]*` + strconv.Itoa(int(n)) + `\b`).MatchString(text) {
				return e, true
			}
		}
	}
	for _, e := range errnos {
		for _, p := range phrases[e] {
			if strings.Contains(low, p) {
				return e, true
			}
		}
	}
	return "", false
}

var errorWords = regexp.MustCompile(`(?i)\b(?:error|errno|fail(?:ed|ure|s)?|cannot|can't|unable|not supported|unsupported|not implemented|unimplemented|skipp(?:ed|ing)|denied|not permitted|invalid|missing|warning|abort(?:ed|ing)?)\b`)

// errorish reports whether a line reads like an error message.
func errorish(text string) bool { return errorWords.MatchString(text) }

// namedErrno finds an errno a line names by its strerror text or symbol,
// whatever errno it is.
func namedErrno(text string) (string, bool) {
	low := strings.ToLower(text)
	if m := errnoSymbol.FindString(text); m != "" {
		if _, ok := sysno.ErrnoValue(m); ok {
			return m, true
		}
	}
	for e := syscall.Errno(1); e < 134; e++ {
		s := strings.ToLower(e.Error())
		if len(s) > 8 && strings.Contains(low, s) {
			return sysno.ErrnoName(int64(e)), true
		}
	}
	return "", false
}

var errnoSymbol = regexp.MustCompile(`\bE[A-Z0-9]{3,}\b`)

// lostLines returns the reference's stdout lines (normalised) that run did
// not print, volatile ones aside, in order.
func lostLines(ref, run Run, volatile map[string]bool) []string {
	count := map[string]int{}
	for _, l := range lines(Run{Stdout: run.Stdout}) {
		count[l.norm]++
	}
	var out []string
	for _, l := range lines(Run{Stdout: ref.Stdout}) {
		if count[l.norm] > 0 {
			count[l.norm]--
			continue
		}
		if !volatile[l.stream+"\x00"+l.norm] {
			out = append(out, l.text)
		}
	}
	return out
}

var number = regexp.MustCompile(`-?[0-9]+`)

// printedValue finds a stdout line of run that is the reference's line with
// v.Native printed as v.Other.
func printedValue(ref, run []byte, v Value) (string, bool) {
	a, b := strings.Split(string(ref), "\n"), strings.Split(string(run), "\n")
	nat, oth := strconv.FormatInt(v.Native, 10), strconv.FormatInt(v.Other, 10)
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] || normalise(a[i]) != normalise(b[i]) {
			continue
		}
		na, nb := number.FindAllString(a[i], -1), number.FindAllString(b[i], -1)
		if len(na) != len(nb) {
			continue
		}
		diff := 0
		for k := range na {
			if na[k] != nb[k] {
				diff++
			}
		}
		for k := range na {
			if nb[k] == oth && (na[k] == nat && !v.NativeUnknown || v.NativeUnknown && na[k] != oth && diff == 1) {
				return b[i], true
			}
		}
	}
	return "", false
}

// changedLine returns the first stdout line of run that differs from the
// reference's line in the same place, with the reference's line (empty
// when run printed more lines). Places where a baseline run differs from
// the reference, and volatile lines, vary by themselves and are skipped.
func changedLine(ref, run []byte, baseline []Run, volatile map[string]bool) (was, now string, ok bool) {
	a, b := lines(Run{Stdout: ref}), lines(Run{Stdout: run})
	base := make([][]line, len(baseline))
	for k, r := range baseline {
		base[k] = lines(Run{Stdout: r.Stdout})
	}
	varies := func(i int) bool {
		if volatile[a[i].stream+"\x00"+a[i].norm] {
			return true
		}
		for _, c := range base {
			if i >= len(c) || c[i].norm != a[i].norm {
				return true
			}
		}
		return false
	}
	for i := range b {
		if i >= len(a) {
			return "", b[i].text, true
		}
		if a[i].norm != b[i].norm && !varies(i) && !volatile[b[i].stream+"\x00"+b[i].norm] {
			return a[i].text, b[i].text, true
		}
	}
	return "", "", false
}
