package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// readNames parses a list of syscall names, one a line: the article's
// `sed -e 's/(.*//' LOG | sort | uniq` output, optionally numbered by nl(1)
// or carrying the pid prefixes of a strace -f log. Lines strace writes that
// are not syscalls ("+++ exited with 0 +++", signals, resumptions) are
// skipped; any other word that is no syscall is an error, to catch typos.
func readNames(r io.Reader, name string, opt Options) (*profile.Profile, error) {
	arch := opt.arch()
	p := profile.New(arch)
	src := profile.Source{Kind: string(FormatNames), Name: name, Coverage: profile.CoverageNames}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		src.Lines++
		raw := bytes.TrimRight(sc.Bytes(), "\r")
		if looksBinary(raw) {
			return nil, fmt.Errorf("%s:%d: binary data, not a name list", name, lineNo)
		}
		b := bytes.TrimSpace(stripNL(raw))
		if len(b) == 0 || b[0] == '#' {
			src.Skipped++
			continue
		}
		var l lineInfo
		parseLeader(b, &l)
		rest := bytes.TrimSpace(b[l.off:])
		if l.proc || len(rest) == 0 || bytes.HasPrefix(rest, []byte("+++ ")) || bytes.HasPrefix(rest, []byte("--- ")) ||
			bytes.HasPrefix(rest, []byte("<... ")) || bytes.HasPrefix(rest, []byte("strace: ")) || rest[0] == '>' {
			src.Skipped++
			continue
		}
		n := identLen(rest)
		word := rest[:n]
		tail := rest[n:]
		if len(tail) > 0 && tail[0] == '#' { // "read#64"
			tail = tail[1+identLen(tail[1:]):]
		}
		if n == 0 || len(bytes.TrimSpace(tail)) != 0 {
			return nil, fmt.Errorf("%s:%d: not a syscall name: %q", name, lineNo, clip(string(rest)))
		}
		nr, ok := sysno.Number(arch, string(word))
		if !ok {
			return nil, fmt.Errorf("%s:%d: unknown syscall %q for %s", name, lineNo, word, arch)
		}
		p.Syscall(nr)
		if len(p.Syscalls) > maxSyscalls {
			return nil, tooManySyscalls(name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if len(p.Syscalls) == 0 {
		return nil, fmt.Errorf("%s: no syscall names found", name)
	}
	src.Detail = fmt.Sprintf("%d names; counts unknown", len(p.Syscalls))
	p.Sources = append(p.Sources, src)
	return p, nil
}
