package report

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reports quote what programs, logs and profiles said: paths, arguments,
// executable and workload names, which anyone may have chosen. In a
// terminal, a control character among them can move the cursor, recolour
// or clear the screen, or, as a newline, forge a line of the report. Text
// and Markdown are therefore rendered from a copy of the data in which
// every control character, Unicode direction override and invalid UTF-8
// byte is written as an escape (\x1b, \n, \u202e, \xff); JSON and the
// other machine formats escape them by their own rules and keep the data
// exact.

// Escape returns s with every character a terminal could act on, or that
// could forge a line, written as a Go-style escape.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func clean(s string) bool {
	for _, r := range s { // an invalid byte reads as utf8.RuneError
		if r == utf8.RuneError || unsafeRune(r) {
			return false
		}
	}
	return true
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Safe returns a deep copy of v (a report, or a probe or verify result)
// with every string escaped as Escape does, map keys included. Values of
// types with unexported fields (time.Time) are kept as they are.
func Safe[T any](v T) T {
	out := safeValue(reflect.ValueOf(&v).Elem())
	return out.Interface().(T)
}

func safeValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		n := reflect.New(v.Type()).Elem()
		n.SetString(Escape(v.String()))
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(safeValue(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(safeValue(v.Index(i)))
		}
		return n
	case reflect.Array:
		n := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			n.Index(i).Set(safeValue(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(safeValue(it.Key()), safeValue(it.Value()))
		}
		return n
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				return v
			}
		}
		n := reflect.New(t).Elem()
		for i := range t.NumField() {
			n.Field(i).Set(safeValue(v.Field(i)))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(safeValue(v.Elem()))
		return n
	}
	return v
}
