package compat

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// runscDoc is the shape of "runsc help syscalls -format=json":
// {"linux": {"amd64": {"syscalls": {"0": {"name", "support", "note", "urls"}}}}}.
type runscDoc map[string]map[string]struct {
	Syscalls map[string]struct {
		Name    string   `json:"name"`
		Support string   `json:"support"`
		Note    string   `json:"note"`
		URLs    []string `json:"urls"`
	} `json:"syscalls"`
}

// errnoMessages maps the error strings runsc prints in its notes
// (Returns "..."), both gVisor's own (linuxerr) and, for older builds, Go's
// syscall package's, to errno names.
var errnoMessages = map[string]string{
	"operation not permitted":                       "EPERM",
	"no such file or directory":                     "ENOENT",
	"bad file number":                               "EBADF",
	"bad file descriptor":                           "EBADF",
	"try again":                                     "EAGAIN",
	"resource temporarily unavailable":              "EAGAIN",
	"out of memory":                                 "ENOMEM",
	"cannot allocate memory":                        "ENOMEM",
	"permission denied":                             "EACCES",
	"bad address":                                   "EFAULT",
	"device or resource busy":                       "EBUSY",
	"no such device":                                "ENODEV",
	"invalid argument":                              "EINVAL",
	"not a typewriter":                              "ENOTTY",
	"inappropriate ioctl for device":                "ENOTTY",
	"invalid system call number":                    "ENOSYS",
	"function not implemented":                      "ENOSYS",
	"operation not supported on transport endpoint": "EOPNOTSUPP",
	"operation not supported":                       "EOPNOTSUPP",
	"socket operation on non-socket":                "ENOTSOCK",
	"protocol not available":                        "ENOPROTOOPT",
	"protocol not supported":                        "EPROTONOSUPPORT",
	"address family not supported by protocol":      "EAFNOSUPPORT",
	"no data available":                             "ENODATA",
	"read-only file system":                         "EROFS",
}

// The note patterns are compiled on first use, not at every start-up.
var (
	// CapError: Returns "EPERM-message" if the process does not have CAP_X; "ENOSYS-message" otherwise.
	capNoteRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:(.*); )?Returns "([^"]*)" if the process does not have (CAP_[A-Z_]+); "([^"]*)" otherwise\.$`)
	})
	// Error, ErrorWithEvent: Returns "message".
	errNoteRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:(.*); )?Returns "([^"]*)"\.$`) })
)

// ParseRunscTable reads the output of "runsc help syscalls -format=json"
// (or -format=csv) and returns arch's table in the embedded database's terms: notes without
// the "Returns ..." suffix runsc adds, errnos by name, Cap for CapError.
// The table's Version is empty; callers fill it in.
func ParseRunscTable(r io.Reader, arch sysno.Arch) (*Table, error) {
	t, err := parseRunscTable(r, arch)
	if err != nil {
		// Errors quote input (JSON paths, names); keep them on one line.
		return nil, errors.New(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(err.Error()))
	}
	return t, nil
}

func parseRunscTable(r io.Reader, arch sysno.Arch) (*Table, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("runsc syscall table: %w", err)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
	case bytes.HasPrefix(trimmed, []byte("OS,Arch,Num,")):
		return parseRunscCSV(data, arch)
	default:
		return nil, errors.New("runsc syscall table: not the output of runsc help syscalls -format=json or -format=csv")
	}
	var doc runscDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("runsc syscall table: %w", jsonErrorLine(data, err))
	}
	osTables, ok := doc["linux"]
	if !ok {
		return nil, errors.New("runsc syscall table: no \"linux\" section (want the output of runsc help syscalls -format=json)")
	}
	at, ok := osTables[string(arch)]
	if !ok {
		var have []string
		for a := range osTables {
			have = append(have, a)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("runsc syscall table: no %s table (has %s)", arch, strings.Join(have, ", "))
	}
	t := &Table{Arch: arch, entries: make(map[int]Entry, len(at.Syscalls))}
	for key, sc := range at.Syscalls {
		if err := t.addRunsc(key, sc.Name, sc.Support, sc.Note, sc.URLs); err != nil {
			return nil, fmt.Errorf("runsc syscall table: %s: %w", arch, err)
		}
	}
	return t, nil
}

// addRunsc adds one syscall as runsc prints it.
func (t *Table) addRunsc(num, name, support, note string, urls []string) error {
	nr, err := strconv.Atoi(num)
	if err != nil || nr < 0 || nr > 1<<20 {
		return fmt.Errorf("bad syscall number %q", num)
	}
	if _, dup := t.entries[nr]; dup {
		return fmt.Errorf("syscall %d listed twice", nr)
	}
	e := Entry{Number: nr, Name: name, Note: note, URLs: urls, InTable: true}
	if e.Name == "" {
		return fmt.Errorf("syscall %d has no name", nr)
	}
	switch support {
	case "Full Support":
		e.Support = Full
		if e.Note == "Fully Supported." {
			e.Note = ""
		}
	case "Partial Support":
		e.Support = Partial
	case "Unimplemented":
		e.Support = Unimplemented
		e.Note, e.Errno, e.Cap = splitErrorNote(note)
	default:
		return fmt.Errorf("syscall %d (%q): unknown support %q", nr, name, support)
	}
	t.entries[nr] = e
	return nil
}

// parseRunscCSV reads -format=csv output: a header and rows of OS, Arch,
// Num, Name, Support, Note per arch, the URLs appended to the note as
// "\nSee: URL" lines.
func parseRunscCSV(data []byte, arch sysno.Arch) (*Table, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 6
	t := &Table{Arch: arch, entries: map[int]Entry{}}
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("runsc syscall table: %w", err)
		}
		if rec[0] == "OS" && rec[1] == "Arch" {
			continue
		}
		if rec[0] != "linux" {
			continue
		}
		seen[rec[1]] = true
		if rec[1] != string(arch) {
			continue
		}
		note, urls := rec[5], []string(nil)
		parts := strings.Split(note, "\nSee: ")
		if len(parts) > 1 {
			note, urls = parts[0], parts[1:]
		}
		if err := t.addRunsc(rec[2], rec[3], rec[4], note, urls); err != nil {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("runsc syscall table: line %d: %w", line, err)
		}
	}
	if !seen[string(arch)] {
		var have []string
		for a := range seen {
			have = append(have, a)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("runsc syscall table: no %s table (has %s)", arch, strings.Join(have, ", "))
	}
	return t, nil
}

// splitErrorNote undoes what gVisor's Error and CapError constructors do to
// a note: note + "; Returns ...".
func splitErrorNote(note string) (rest, errno, capName string) {
	if m := capNoteRE().FindStringSubmatch(note); m != nil {
		// With the capability the call fails with the second error.
		return m[1], errnoMessages[m[4]], m[3]
	}
	if m := errNoteRE().FindStringSubmatch(note); m != nil {
		return m[1], errnoMessages[m[2]], ""
	}
	return note, "", ""
}

// jsonErrorLine adds the line number to a JSON syntax error.
func jsonErrorLine(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %w", line, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line := 1 + bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// ReadRunscTableFile reads a file saved from "runsc help syscalls
// -format=json"; errors name the file. The Version is "file:PATH".
func ReadRunscTableFile(path string, arch sysno.Arch) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseRunscTable(f, arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Version = Version{ID: "file:" + path, Source: path + ": output of runsc help syscalls -format=json"}
	return t, nil
}

// Match names an embedded table: a version and a variant ("" = default).
type Match struct {
	Version Version
	Variant string
}

// String is the version ID, followed by the variant if any.
func (m Match) String() string {
	if m.Variant == "" {
		return m.Version.ID
	}
	return m.Version.ID + " " + m.Variant
}

// Matching returns the embedded tables for t's arch, oldest first, that have
// exactly t's entries, e.g. to name the release an installed runsc
// corresponds to.
func Matching(t *Table) []Match {
	var out []Match
	for _, v := range Versions() {
		for _, variant := range append([]string{""}, v.Variants...) {
			e, err := Load(v, t.Arch, variant)
			if err != nil {
				continue
			}
			if e.Len() == t.Len() && len(Diff(e, t)) == 0 {
				out = append(out, Match{Version: e.Version, Variant: e.Variant})
			}
		}
	}
	return out
}

// InstalledTable runs an installed runsc ("runsc help syscalls
// -format=json") and returns its table for arch. The Version is "installed"
// and its Source records the binary and "runsc --version".
func InstalledTable(ctx context.Context, runscPath string, arch sysno.Arch) (*Table, error) {
	if runscPath == "" {
		runscPath = "runsc"
	}
	path, err := exec.LookPath(runscPath)
	if err != nil {
		return nil, fmt.Errorf("installed runsc: %w", err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "help", "syscalls", "-format=json")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("installed runsc: %s help syscalls: %w: %s", path, err, firstLine(stderr.String()))
	}
	t, err := ParseRunscTable(&out, arch)
	if err != nil {
		return nil, fmt.Errorf("installed runsc %s: %w", path, err)
	}
	ver, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("installed runsc: %s --version: %w", path, err)
	}
	version := strings.Join(strings.Fields(string(ver)), " ")
	if strings.Contains(version, "VERSION_MISSING") {
		// A runsc built with go install has no release version; its build
		// information names the gVisor module it was built from.
		if bi, err := buildinfo.ReadFile(path); err == nil {
			for _, d := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
				if d.Path == "gvisor.dev/gvisor" && d.Version != "" && d.Version != "(devel)" {
					version = "gvisor.dev/gvisor " + d.Version
				}
			}
		}
	}
	t.Version = Version{ID: "installed", Source: path + ": " + version}
	if m := regexp.MustCompile(`release-\d{8}\.\d+`).FindString(string(ver)); m != "" {
		t.Version.Tag = m
	}
	// Name the embedded versions with the same table: it tells a user
	// which release an unlabelled build corresponds to.
	if m := Matching(t); len(m) > 0 {
		first, last := m[0], m[len(m)-1]
		if first.Version.ID == last.Version.ID {
			t.Version.Source += "; same table as embedded " + last.String()
		} else {
			t.Version.Source += fmt.Sprintf("; same table as %d embedded versions, %s to %s", len(m), first, last)
		}
	}
	return t, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
