package ingest

import (
	"bytes"
	"slices"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// keySpec says which printed arguments decide the key of an
// argument-sensitive syscall, so that keys can be cached by those arguments'
// text: decoding a key costs far more than looking one up, and futex, mmap,
// ioctl and fcntl are among the most frequent calls of a log.
type keySpec struct {
	name string
	args []int // the printed arguments read; nil: the whole text (no cache)
	last int   // the highest of args
}

// maxKeyArg is the highest argument index a key is read from.
const maxKeyArg = 5

func keySpecs(a sysno.Arch, max int) []*keySpec {
	specs := make([]*keySpec, max)
	for _, name := range sysargs.Syscalls() {
		nr, ok := sysno.Number(a, name)
		if !ok || nr >= max {
			continue
		}
		ks := &keySpec{name: sysno.Name(a, nr)}
		// clone prints flags=... among other fields, clone3 a struct:
		// rare calls, decoded from the whole text.
		if spec, ok := sysargs.KeyArgs(name); ok && name != "clone" {
			for _, s := range spec {
				ks.args = append(ks.args, s.Arg)
			}
			if name == "prlimit64" { // setting a limit, or only reading it
				ks.args = append(ks.args, 2)
			}
			ks.last = slices.Max(ks.args)
			if ks.last > maxKeyArg {
				ks.args = nil
			}
		}
		specs[nr] = ks
	}
	return specs
}

type keyEntry struct {
	text    string // the deciding arguments, as cached
	display string
	values  []uint64
}

// keyOf sets r.key from the call's arguments.
func (x *lexer) keyOf(r *rec) {
	if int(r.nr) >= len(x.tables.key) {
		return
	}
	ks := x.tables.key[r.nr]
	if ks == nil {
		return
	}
	if ks.args == nil {
		if d, v, ok := sysargs.KeyFromText(x.arch, ks.name, string(r.args)); ok {
			r.key, r.keyValues = d, v
		}
		return
	}
	var parts [maxKeyArg + 1][]byte
	splitArgs(r.args, parts[:ks.last+1])
	b := append(x.keyBuf[:0], byte(r.nr), byte(r.nr>>8))
	for _, i := range ks.args {
		b = append(append(b, parts[i]...), 0)
	}
	x.keyBuf = b
	// A direct-mapped cache in front of the map, as for names.
	var h uint
	for _, c := range b {
		h = h*31 + uint(c)
	}
	slot := &x.keySlots[h%uint(len(x.keySlots))]
	if slot.text == string(b) && slot.text != "" {
		r.key, r.keyValues = slot.display, slot.values
		return
	}
	e, ok := x.keys[string(b)]
	if !ok {
		if d, v, found := sysargs.KeyFromText(x.arch, ks.name, string(r.args)); found {
			e = keyEntry{display: d, values: v}
		}
		e.text = string(b)
		if len(x.keys) < maxKeyCache {
			x.keys[e.text] = e
		}
	}
	*slot = e
	r.key, r.keyValues = e.display, e.values
}

// maxKeyCache bounds the key cache (distinct key-argument texts).
const maxKeyCache = 1 << 14

// argSpecial: the bytes splitArgs looks at outside quotes.
var argSpecial = func() (t [256]bool) {
	for _, c := range []byte(`"/([{)]},`) {
		t[c] = true
	}
	return t
}()

// splitArgs fills parts with the first len(parts) top-level arguments of
// strace's printed argument list, split as sysargs splits them: at commas
// outside quotes, brackets and comments. Missing arguments stay nil.
func splitArgs(s []byte, parts [][]byte) {
	depth, start, k := 0, 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !inQuote && !argSpecial[c] {
			continue
		}
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
			if j := bytes.Index(s[i+2:], []byte("*/")); j >= 0 {
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
			parts[k] = bytes.TrimSpace(s[start:i])
			k++
			if k == len(parts) {
				return
			}
			start = i + 1
		}
	}
	if k < len(parts) {
		parts[k] = bytes.TrimSpace(s[start:])
	}
}
