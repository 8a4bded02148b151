package ingest

import (
	"bytes"
	"strconv"
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
				in = in[4:]
				if k := bytes.IndexByte(in, '<'); k >= 0 { // -Y: "[pid 12<sh>]"
					in = in[:k]
				}
				if pid, ok := atoiTrim(in); ok {
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
			j, v := i, 0
			for j < n && b[j] >= '0' && b[j] <= '9' {
				v = v*10 + int(b[j]-'0')
				j++
			}
			digitsOnly := j
			for j < n && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == ':') {
				j++
			}
			end := j
			if first && digitsOnly == j && j < n && b[j] == '<' {
				// -Y prints the command after the pid: "12<sh> "
				if k := bytes.IndexByte(b[j:min(n, j+80)], '>'); k > 0 {
					end = j + k + 1
				}
			}
			if end >= n || b[end] != ' ' {
				l.off = i
				return
			}
			if first && digitsOnly == j && j-i <= 9 {
				l.pid, l.hasID = v, true
			}
			i = end
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
	for i < len(b) && identChar[b[i]] {
		i++
	}
	return i
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

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	sortStrings(keys)
	return keys
}
