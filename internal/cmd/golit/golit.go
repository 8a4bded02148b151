// Package golit writes the Go literal text of generated tables: the
// generators of internal/compat and internal/rules emit their data as
// statically initialised Go variables rather than as an encoded blob.
package golit

import (
	"fmt"
	"strconv"
	"strings"
)

// Fields writes a struct literal's body from name/value pairs, leaving out
// the pairs whose value is "" (the zero value, written nowhere).
func Fields(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+": "+kv[i+1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// String is a quoted string, or "" for the empty string.
func String(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

// Bool is "true", or "" for false.
func Bool(b bool) string {
	if !b {
		return ""
	}
	return "true"
}

// Strings is a []string literal, or "" for an empty list.
func Strings(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

// Uint64s is a []uint64 literal (hexadecimal from 256 on, where flags and
// ioctl requests read better), or "" for nil. An empty non-nil list is
// written as such, since rules tell the two apart.
func Uint64s(vs []uint64) string {
	if vs == nil {
		return ""
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		if v >= 256 {
			q[i] = fmt.Sprintf("%#x", v)
		} else {
			q[i] = strconv.FormatUint(v, 10)
		}
	}
	return "[]uint64{" + strings.Join(q, ", ") + "}"
}

// Indices writes a []uint16 literal of table indices, perLine to a line,
// each line indented by indent.
func Indices(is []int, indent string, perLine int) (string, error) {
	var b strings.Builder
	b.WriteString("[]uint16{")
	for i, v := range is {
		if v < 0 || v > 0xffff {
			return "", fmt.Errorf("index %d does not fit 16 bits", v)
		}
		if i%perLine == 0 {
			b.WriteString("\n" + indent)
		} else {
			b.WriteString(" ")
		}
		b.WriteString(strconv.Itoa(v) + ",")
	}
	if len(is) > 0 {
		b.WriteString("\n" + indent[:max(0, len(indent)-1)])
	}
	b.WriteString("}")
	return b.String(), nil
}
