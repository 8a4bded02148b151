package ingest

import (
	"bytes"
)

// Detect guesses the format of an input from its first bytes (up to 64 KiB
// are looked at). It returns "" when the input is none of the known formats.
func Detect(head []byte) Format {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return ""
	}
	if t[0] == '{' || t[0] == '[' {
		switch {
		case bytes.Contains(t, []byte(`"gvcheck_profile"`)):
			return FormatProfile
		case bytes.Contains(t, []byte(`"kind"`)) && (bytes.Contains(t, []byte(`"SeccompProfile"`)) || bytes.Contains(t, []byte(`security-profiles-operator`))):
			return FormatSPO
		case bytes.Contains(t, []byte(`"defaultAction"`)):
			return FormatOCISeccomp
		}
		// A strace line can start with "[pid 1] ..." or "[  59] ...".
		if t[0] == '{' {
			return ""
		}
	}
	if looksBinary(t) {
		return ""
	}
	if isSPOYAML(t) {
		return FormatSPO
	}
	var traceLines, names, summaryHeader int
	for line := range bytes.Lines(t) {
		line = bytes.TrimRight(line, "\r\n")
		if isSummaryHeader(string(line)) || bytes.HasPrefix(line, []byte("System call usage summary for")) {
			summaryHeader++
			break
		}
		switch classify(line) {
		case lineSyscall:
			traceLines++
		case lineName:
			names++
		}
	}
	switch {
	case summaryHeader > 0 && traceLines == 0:
		return FormatStraceSummary
	case traceLines > 0:
		return FormatStrace
	case names > 0:
		return FormatNames
	}
	return ""
}

func looksBinary(b []byte) bool {
	if len(b) > 4096 {
		b = b[:4096]
	}
	for _, c := range b {
		if c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0x1b) {
			return true
		}
	}
	return false
}

func isSPOYAML(t []byte) bool {
	for line := range bytes.Lines(t) {
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("- ")) {
			line = bytes.TrimSpace(line[2:])
		}
		if bytes.HasPrefix(line, []byte("kind:")) && bytes.Contains(line, []byte("SeccompProfile")) {
			return true
		}
		if bytes.HasPrefix(line, []byte("apiVersion:")) && bytes.Contains(line, []byte("security-profiles-operator")) {
			return true
		}
	}
	return false
}

type lineKind int

const (
	lineOther lineKind = iota
	lineSyscall
	lineName
)

// classify tells a strace syscall line from a bare name (a name-list line)
// for detection only.
func classify(line []byte) lineKind {
	b := stripNL(line)
	b = bytes.TrimLeft(b, " \t")
	if len(b) == 0 || b[0] == '#' {
		return lineOther
	}
	var l lineInfo
	parseLeader(b, &l)
	rest := b[l.off:]
	if bytes.HasPrefix(rest, []byte("<... ")) {
		return lineSyscall
	}
	n := identLen(rest)
	if n == 0 {
		return lineOther
	}
	after := rest[n:]
	if len(after) > 0 && after[0] == '#' { // x32/32-bit personality suffix
		after = after[1+identLen(after[1:]):]
	}
	if len(after) > 0 && after[0] == '(' {
		return lineSyscall
	}
	if len(bytes.TrimSpace(after)) == 0 {
		return lineName
	}
	return lineOther
}

// stripNL drops a nl(1) line number: "    12\tname".
func stripNL(b []byte) []byte {
	t := bytes.TrimLeft(b, " ")
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i < len(t) && t[i] == '\t' {
		return t[i+1:]
	}
	return b
}
