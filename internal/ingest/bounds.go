package ingest

import (
	"errors"
	"fmt"
	"io"
)

// What one input may make gvcheck hold is bounded, so that memory stays
// bounded whatever the input (README, "Bounded input"). Past a bound the
// input is refused with an error naming it; nothing is ever cut short
// silently. The bounds are far above what real evidence reaches: no ABI has
// a thousand syscalls, a seccomp profile is kilobytes.
const (
	// maxDoc bounds a JSON input (seccomp profile, saved gvcheck profile),
	// which is decoded whole.
	maxDoc = 16 << 20
	// A YAML stream (SeccompProfile objects) is decoded a document at a
	// time: maxYAMLDoc bounds a document, whose decoding costs about 35
	// times its size, and maxYAMLStream the stream.
	maxYAMLDoc    = 4 << 20
	maxYAMLStream = 64 << 20
	// maxSyscalls bounds the distinct syscall numbers of one input (any
	// number can be named, as syscall_N; no ABI has half as many).
	maxSyscalls = 1024
	// maxKeys bounds the distinct key arguments (syscall and argument) of
	// one log.
	maxKeys = 65536
	// maxExes bounds the distinct executables of one log, and maxExeUses
	// the distinct (syscall, executable) pairs.
	maxExes    = 8192
	maxExeUses = 1 << 18
	// maxLive bounds the processes of one log that are alive at once.
	maxLive = 1 << 18
)

// errTooLarge is returned by a limitReader past its limit.
var errTooLarge = errors.New("too large")

// limitReader reads at most n bytes of r and fails, rather than stopping
// quietly, when r holds more.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n - 1, errTooLarge
	}
	return n, err
}

// readDoc reads a whole JSON or YAML input of at most maxDoc bytes.
func readDoc(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(&limitReader{r: r, n: maxDoc})
	if errors.Is(err, errTooLarge) {
		return nil, docTooLarge(name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

func docTooLarge(name string) error {
	return fmt.Errorf("%s: larger than %d MiB, the most gvcheck reads of a JSON input (seccomp and gvcheck profiles are far smaller)", name, maxDoc>>20)
}

// yamlLimiter passes a YAML stream on, failing past maxYAMLStream bytes or
// once one document (from a "---" line to the next) passes maxYAMLDoc.
type yamlLimiter struct {
	r       io.Reader
	total   int64
	doc     int64
	docs    int // documents started ("---" lines seen), for messages
	line    int // bytes of the current line so far
	prefix  [3]byte
	tooLong string
}

func (l *yamlLimiter) Read(p []byte) (int, error) {
	if l.tooLong != "" {
		return 0, errTooLarge
	}
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		l.total++
		l.doc++
		if l.doc > maxYAMLDoc {
			l.tooLong = fmt.Sprintf("document %d is larger than %d MiB, the most gvcheck decodes of one YAML document (a SeccompProfile is kilobytes)", max(l.docs, 1), maxYAMLDoc>>20)
			return 0, errTooLarge
		}
		if l.line < 3 {
			l.prefix[l.line] = c
		}
		l.line++
		if l.line == 3 && l.prefix == [3]byte{'-', '-', '-'} && l.total > 3 {
			l.doc, l.docs = 3, max(l.docs, 1)+1
		}
		if c == '\n' {
			l.line = 0
		}
	}
	if l.total > maxYAMLStream {
		l.tooLong = fmt.Sprintf("larger than %d MiB, the most gvcheck reads of a YAML stream", maxYAMLStream>>20)
		return 0, errTooLarge
	}
	return n, err
}

func tooManySyscalls(name string) error {
	return fmt.Errorf("%s: more than %d distinct syscalls: not evidence of one architecture's syscalls", name, maxSyscalls)
}
