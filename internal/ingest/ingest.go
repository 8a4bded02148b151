// Package ingest turns evidence files into a profile: strace logs of every
// common shape, strace -c summaries, plain lists of syscall names, gvcheck's
// own saved profiles, OCI/Docker seccomp profiles and Kubernetes Security
// Profiles Operator SeccompProfile objects.
//
// Strace logs are parsed in a single streaming pass with bounded memory: no
// line is kept, buffers are reused and the hot path does not allocate, so a
// multi-gigabyte log costs time, not memory. Chunks of the log are lexed on
// several goroutines and the records applied in order on one, so that
// unfinished/resumed pairs, exec attribution and exits are tracked exactly
// as a sequential reading would.
//
// What each format gives:
//   - strace logs: every call, counted once (an "<unfinished ...>" call and
//     its "<... resumed>" line are one call, its result from the latter),
//     failures by errno, the executable of each process (from execve, and
//     inherited across fork/clone), paths under /proc, /sys and /dev, and
//     the exit of the traced program (Source.Exit). Lines that are not calls
//     (signals, exits, strace's messages, program output) are counted in
//     Source.Skipped. Calls of 32-bit processes and names that are not
//     syscalls of the architecture are left out and named in Source.Detail.
//     Calls that never returned have NoReturn set and count as made.
//   - strace -c summaries: counts; the error column has no errno, so
//     failures are counted under ErrnoUnknown. 32-bit tables are left out.
//   - name lists: names only (Count 0, coverage "names"); a word that is no
//     syscall is an error, to catch typos.
//   - seccomp profiles (OCI/Docker, Security Profiles Operator): the set of
//     syscalls the profile lets run (coverage "permitted"). A profile whose
//     default action allows is every syscall of the architecture minus those
//     denied without conditions; Source.Detail says so.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Format names an evidence format.
type Format string

const (
	FormatAuto          Format = "auto"
	FormatStrace        Format = "strace"
	FormatStraceSummary Format = "strace-summary"
	FormatNames         Format = "names"
	FormatProfile       Format = "profile"
	FormatOCISeccomp    Format = "oci-seccomp"
	FormatSPO           Format = "spo"
)

// Formats lists every format ParseFormat accepts, auto first.
var Formats = []Format{FormatAuto, FormatStrace, FormatStraceSummary, FormatNames, FormatProfile, FormatOCISeccomp, FormatSPO}

// ParseFormat accepts a format name; "" means auto.
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return FormatAuto, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	switch s { // spellings people are likely to type
	case "summary", "strace-c":
		return FormatStraceSummary, nil
	case "list", "name-list":
		return FormatNames, nil
	case "seccomp", "oci", "docker":
		return FormatOCISeccomp, nil
	case "seccompprofile", "k8s":
		return FormatSPO, nil
	case "json", "gvcheck":
		return FormatProfile, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown input format %q (want %s)", s, strings.Join(names, ", "))
}

// ErrnoUnknown is the Errors key for failures whose errno the evidence does
// not name: strace -c counts errors per syscall but not by errno.
const ErrnoUnknown = "unknown"

// Options control parsing.
type Options struct {
	// Format forces a format; "" or FormatAuto detects it per input.
	Format Format
	// Arch is the syscall ABI of the evidence. "" means: the architecture the
	// evidence names (profiles, seccomp profiles), else the host's. Strace
	// logs and name lists do not name one.
	Arch sysno.Arch
	// OnCall, if set, receives every syscall parsed from a strace log, in
	// order. The Call is not reused.
	OnCall func(*profile.Call)
}

// Workload is one named profile of a multi-object input (a Kubernetes list or
// YAML stream of SeccompProfile objects).
type Workload struct {
	Name    string
	Profile *profile.Profile
}

// headSize is how much of an input Detect sees.
const headSize = 64 << 10

// check normalises the architecture ("x86_64" is amd64) and rejects
// unknown ones.
func (o *Options) check() error {
	if o.Arch == "" {
		return nil
	}
	a, err := sysno.ParseArch(string(o.Arch))
	if err != nil {
		return err
	}
	o.Arch = a
	return nil
}

func (o Options) arch() sysno.Arch {
	if o.Arch != "" {
		return o.Arch
	}
	return sysno.Host()
}

// Read parses one input. name is used in messages and as Source.Name ("-"
// for stdin).
func Read(r io.Reader, name string, opt Options) (*profile.Profile, error) {
	ws, err := readWorkloads(r, name, opt)
	if err != nil {
		return nil, err
	}
	return mergeWorkloads(ws, name)
}

func mergeWorkloads(ws []Workload, name string) (*profile.Profile, error) {
	if len(ws) == 1 {
		return ws[0].Profile, nil
	}
	p := profile.New(ws[0].Profile.Arch)
	for _, w := range ws {
		if err := p.Merge(w.Profile); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, w.Name, err)
		}
	}
	return p, nil
}

// readWorkloads parses one input that may hold several workloads (a list or
// stream of SeccompProfile objects); other inputs give one workload named
// after the input.
func readWorkloads(r io.Reader, name string, opt Options) ([]Workload, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	in, err := newInput(r, name, opt)
	if err != nil {
		return nil, err
	}
	defer in.close()
	return in.workloads(opt)
}

// input is one input, opened once: its format is sniffed from the
// buffered start of the stream, which the parser then reads on from, so
// that pipes, FIFOs and <(...) work like files.
type input struct {
	name   string
	br     *bufio.Reader
	format Format
	small  bool     // the whole input fits in the sniffed start
	file   *os.File // set for an input opened here
	gz     bool
	closer []io.Closer
}

func (in *input) close() {
	for i := len(in.closer) - 1; i >= 0; i-- {
		in.closer[i].Close()
	}
	in.closer = nil
	if in.file != nil {
		in.file.Close()
		in.file = nil
	}
}

// openInput opens path once.
func openInput(path string, opt Options) (*input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in, err := newInput(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.file = f
	return in, nil
}

// park frees the buffer of an input that is a regular file, which rewind
// reads again from its start through the same descriptor; other inputs
// (pipes, FIFOs) keep what they have buffered.
func (in *input) park() {
	if in.file == nil {
		return
	}
	if fi, err := in.file.Stat(); err != nil || !fi.Mode().IsRegular() {
		return
	}
	for i := len(in.closer) - 1; i >= 0; i-- {
		in.closer[i].Close()
	}
	in.closer = nil
	in.br = nil
}

// rewind makes a parked input readable again from its start.
func (in *input) rewind() error {
	if in.br != nil {
		return nil
	}
	if _, err := in.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	in.br = bufio.NewReaderSize(in.file, headSize)
	if in.gz {
		zr, err := gzip.NewReader(in.br)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		in.closer = append(in.closer, zr)
		in.br = bufio.NewReaderSize(zr, headSize)
	}
	return nil
}

func newInput(r io.Reader, name string, opt Options) (*input, error) {
	in := &input{name: name, br: bufio.NewReaderSize(r, headSize)}
	magic, err := in.br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) { // a gzip'd log
		zr, err := gzip.NewReader(in.br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.gz = true
		in.closer = append(in.closer, zr)
		in.br = bufio.NewReaderSize(zr, headSize)
	}
	head, eof, err := sniff(in.br)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	in.small = eof
	in.format = opt.Format
	if in.format == "" || in.format == FormatAuto {
		in.format = Detect(head)
		if in.format == "" {
			in.close()
			if len(bytes.TrimSpace(head)) == 0 {
				return nil, fmt.Errorf("%s: empty input", name)
			}
			return nil, fmt.Errorf("%s: unrecognised input: not a strace log, strace -c summary, name list, gvcheck profile or seccomp profile (use --input-format to force one)", name)
		}
	}
	return in, nil
}

// sniffLines is how many lines of a stream sniff needs to recognise a
// strace log before headSize bytes have come.
const sniffLines = 16

// sniff returns the start of the stream for Detect, and whether it is the
// whole stream. It waits for headSize bytes or the end of the stream, but
// a strace log is recognised from its first lines, so that a log still
// being written (strace -o FIFO) is read as it comes.
func sniff(br *bufio.Reader) ([]byte, bool, error) {
	checked := 0 // newlines already looked at
	for n := 1; ; {
		b, err := br.Peek(n)
		if err == io.EOF {
			return b, true, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, false, err
		}
		b, _ = br.Peek(br.Buffered())
		if len(b) >= headSize {
			return b[:headSize], false, nil
		}
		if nl := bytes.Count(b, []byte{'\n'}); nl > checked && checked < sniffLines {
			checked = nl
			end, k := 0, 0
			for ; k < sniffLines && end < len(b); k++ {
				i := bytes.IndexByte(b[end:], '\n')
				if i < 0 {
					break
				}
				end += i + 1
			}
			if Detect(b[:end]) == FormatStrace {
				return b, false, nil
			}
		}
		n = len(b) + 1
	}
}

// workloads parses the input by its format.
func (in *input) workloads(opt Options) ([]Workload, error) {
	name, br := in.name, in.br
	one := func(p *profile.Profile, err error) ([]Workload, error) {
		if err != nil {
			return nil, err
		}
		return []Workload{{Name: name, Profile: p}}, nil
	}
	switch in.format {
	case FormatStrace:
		s := newStraceParser(opt, name)
		// An input that fits in the head is too small to share out.
		s.smallIn = in.small
		if err := s.parse(br, name, 0); err != nil {
			return nil, err
		}
		return one(s.finish())
	case FormatStraceSummary:
		return one(readSummary(br, name, opt))
	case FormatNames:
		return one(readNames(br, name, opt))
	case FormatProfile:
		data, err := readDoc(br, name)
		if err != nil {
			return nil, err
		}
		p, err := profile.Read(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(p.Syscalls) > maxSyscalls {
			return nil, tooManySyscalls(name)
		}
		if opt.Arch != "" && p.Arch != opt.Arch {
			return nil, fmt.Errorf("%s: profile is for %s, not %s", name, p.Arch, opt.Arch)
		}
		for i := range p.Sources {
			if p.Sources[i].Name == "" {
				p.Sources[i].Name = name
			}
		}
		if len(p.Sources) == 0 { // every profile says where it came from
			p.Sources = []profile.Source{{Kind: string(FormatProfile), Name: name, Coverage: profile.CoverageFull, Detail: "saved profile naming no source"}}
		}
		return one(p, nil)
	case FormatOCISeccomp:
		return one(readOCI(br, name, opt))
	case FormatSPO:
		return readSPO(br, name, opt)
	}
	return nil, fmt.Errorf("%s: unknown input format %q", name, in.format)
}

// ReadFiles parses files and directories and merges them into one profile.
// A directory is the output of strace -ff: every regular file in it is a
// per-process log, its pid the numeric suffix of its name. Files named
// BASE.PID with the same BASE (strace -ff -o BASE) are parsed together too,
// so that one process tree gives one source. "-" reads standard input.
func ReadFiles(paths []string, opt Options) (*profile.Profile, error) {
	ws, err := ReadFilesWorkloads(paths, opt)
	if err != nil {
		return nil, err
	}
	merged := ws[0].Profile
	for _, w := range ws[1:] {
		if err := merged.Merge(w.Profile); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	return merged, nil
}

// ReadFilesWorkloads is ReadFiles without the merge: one workload per input
// (a file, a directory or group of strace -ff files, stdin), and one per
// object of a SeccompProfile list or stream, for reports with a row per
// workload.
func ReadFilesWorkloads(paths []string, opt Options) ([]Workload, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no input files")
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	type arg struct {
		name  string
		group []string // per-pid files parsed as one strace session
		dir   bool
	}
	var inputs []arg
	groups := map[string]int{} // BASE -> index in inputs
	for _, path := range paths {
		if path == "-" {
			inputs = append(inputs, arg{name: "-"})
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			files, err := dirFiles(path)
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: directory holds no files", path)
			}
			inputs = append(inputs, arg{name: path, group: files, dir: true})
			continue
		}
		if base, _, ok := pidSuffix(path); ok {
			if i, seen := groups[base]; seen {
				inputs[i].group = append(inputs[i].group, path)
				continue
			}
			groups[base] = len(inputs)
			inputs = append(inputs, arg{name: path, group: []string{path}})
			continue
		}
		inputs = append(inputs, arg{name: path})
	}
	// Every input is opened once. Evidence that names its architecture
	// (profiles) is parsed first, in order, and the first that names one
	// decides it for logs that do not.
	opened := make([]*input, len(inputs))
	defer func() {
		for _, x := range opened {
			if x != nil {
				x.close()
			}
		}
	}()
	parsed := make([][]Workload, len(inputs))
	for i, in := range inputs {
		if in.group != nil {
			continue
		}
		var x *input
		var err error
		if in.name == "-" {
			x, err = newInput(os.Stdin, "-", opt)
		} else {
			x, err = openInput(in.name, opt)
		}
		if err != nil {
			return nil, err
		}
		opened[i] = x
		if !selfDescribing(x.format) {
			x.park()
			continue
		}
		ws, err := x.workloads(opt)
		if err != nil {
			return nil, err
		}
		parsed[i] = ws
		x.close()
		if opt.Arch == "" {
			opt.Arch = namedArch(ws)
		}
	}
	var ws []Workload
	for i, in := range inputs {
		switch {
		case parsed[i] != nil:
			ws = append(ws, parsed[i]...)
		case in.group != nil:
			name := in.name
			if !in.dir && len(in.group) > 1 {
				name, _, _ = pidSuffix(in.name)
			}
			p, err := readGroup(name, in.group, in.dir || len(in.group) > 1, opt)
			if err != nil {
				return nil, err
			}
			ws = append(ws, Workload{Name: name, Profile: p})
		default:
			x := opened[i]
			if err := x.rewind(); err != nil {
				return nil, err
			}
			w, err := x.workloads(opt)
			x.close()
			if err != nil {
				return nil, err
			}
			ws = append(ws, w...)
		}
	}
	return ws, nil
}

func selfDescribing(f Format) bool {
	return f == FormatProfile || f == FormatOCISeccomp || f == FormatSPO
}

// namedArch returns the architecture parsed profiles name, or "" where the
// evidence named none (the host's was assumed).
func namedArch(ws []Workload) sysno.Arch {
	if len(ws) == 0 {
		return ""
	}
	for _, src := range ws[0].Profile.Sources {
		if strings.Contains(src.Detail, "architecture not named") {
			return ""
		}
	}
	return ws[0].Profile.Arch
}

// readGroup parses per-pid strace files as one session; files of another
// format found among them are read on their own and merged. Each file is
// opened once.
func readGroup(name string, files []string, several bool, opt Options) (*profile.Profile, error) {
	s := newStraceParser(opt, name)
	var others []*profile.Profile
	n := 0
	for _, path := range files {
		in, err := openInput(path, opt)
		if err != nil {
			return nil, err
		}
		if in.format != FormatStrace {
			ws, err := in.workloads(opt)
			in.close()
			if err != nil {
				return nil, err
			}
			p, err := mergeWorkloads(ws, path)
			if err != nil {
				return nil, err
			}
			others = append(others, p)
			continue
		}
		_, pid, _ := pidSuffix(path)
		if fi, err := in.file.Stat(); err == nil && fi.Mode().IsRegular() {
			// Sharing out chunks pays only for logs of several chunks.
			s.smallIn = fi.Size() < headSize
			s.oneChunk = fi.Size() < 4*int64(chunkSize)
		} else {
			s.smallIn, s.oneChunk = in.small, false
		}
		err = s.parse(in.br, path, pid)
		in.close()
		if err != nil {
			return nil, err
		}
		n++
	}
	var p *profile.Profile
	if n > 0 {
		if several {
			s.src.Detail = joinDetail(fmt.Sprintf("%d per-process files", n), s.src.Detail)
		}
		var err error
		if p, err = s.finish(); err != nil {
			return nil, err
		}
	}
	for _, q := range others {
		if p == nil {
			p = q
			continue
		}
		if err := p.Merge(q); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return p, nil
}

func dirFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	// Numeric order of pids reads more naturally than lexical.
	sort.SliceStable(files, func(i, j int) bool {
		bi, pi, oki := pidSuffix(files[i])
		bj, pj, okj := pidSuffix(files[j])
		if oki && okj && bi == bj {
			return pi < pj
		}
		return files[i] < files[j]
	})
	return files, nil
}

// pidSuffix splits strace -ff's "BASE.PID".
func pidSuffix(path string) (base string, pid int, ok bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 || i == len(path)-1 || strings.ContainsRune(path[i:], filepath.Separator) {
		return "", 0, false
	}
	n, err := strconv.Atoi(path[i+1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return path[:i], n, true
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
