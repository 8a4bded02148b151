package gvisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// UnsupportedReport is one distinct "UnsupportedReport syscall" report of gVisor.
type UnsupportedReport struct {
	Name string // syscall name (gVisor's "sys_NNN" mapped to ours)
	Nr   int    // syscall number, -1 if unknown
	// Key is the argument gVisor keys the report on, in display form
	// ("PR_SET_MM", "TCGETS", "SOL_SOCKET:0x2"); empty for syscalls
	// reported once whatever their arguments.
	Key    string
	Values []uint64 // raw values of the key arguments
	Args   string   // the six raw arguments as gVisor printed them
	// Harmless marks reports that are expected and do not affect programs
	// (rseq: glibc falls back silently when gVisor's platform lacks it).
	Harmless bool
	Count    int // how many times gVisor reported it (several sandboxes, or logs)
}

// unsupportedRe matches a report: by name, or for a number gVisor's table
// did not name, "UNKNOWN[435/0x1b3]" (older gVisor, e.g. clone3).
var unsupportedRe = regexp.MustCompile(`Unsupported syscall:? (?:([A-Za-z_][A-Za-z0-9_]*)|UNKNOWN\[(\d+)/0x[0-9a-fA-F]+\])\(([^)]*)\)`)

// harmless are unsupported syscalls whose report does not mean breakage.
var harmless = map[string]bool{
	// glibc registers rseq at start and carries on when it is refused.
	"rseq": true,
}

// Matches reports whether c is a call this report is about: same syscall
// and, for reports keyed by an argument, the same argument.
func (u UnsupportedReport) Matches(c profile.Call) bool {
	if c.Name != u.Name {
		return false
	}
	if u.Key == "" || u.Key == c.Key {
		return true
	}
	return len(u.Values) > 0 && slices.Equal(u.Values, c.KeyValues)
}

// ParseDebugLog reads gVisor debug logs (any of runsc's log files; only the
// boot log carries the reports) and returns the distinct unsupported syscalls
// reported, in order of first report, keyed as gVisor keys them.
func ParseDebugLog(r io.Reader, arch sysno.Arch) ([]UnsupportedReport, error) {
	var out []UnsupportedReport
	index := map[string]int{}
	br := bufio.NewReaderSize(r, 1<<16)
	n := 0
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			n++
			if strings.Contains(line, "Unsupported syscall") {
				u, ok, perr := parseUnsupported(line, arch)
				if perr != nil {
					return nil, fmt.Errorf("debug log line %d: %w", n, perr)
				}
				if ok {
					id := u.Name + "\x00" + u.Key
					if i, seen := index[id]; seen {
						out[i].Count++
					} else {
						index[id] = len(out)
						out = append(out, u)
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read debug log: %w", err)
		}
	}
}

func parseUnsupported(line string, arch sysno.Arch) (UnsupportedReport, bool, error) {
	m := unsupportedRe.FindStringSubmatch(line)
	if m == nil {
		// Other messages mention the phrase (e.g. config dumps); only the
		// report has a call after it.
		return UnsupportedReport{}, false, nil
	}
	u := UnsupportedReport{Name: m[1], Nr: -1, Args: m[3], Count: 1}
	if m[2] != "" {
		nr, err := strconv.Atoi(m[2])
		if err != nil {
			return UnsupportedReport{}, false, fmt.Errorf("unsupported syscall number %q: %w", m[2], err)
		}
		u.Name = sysno.Name(arch, nr)
	}
	if nr, ok := sysno.Number(arch, u.Name); ok {
		u.Nr = nr
		u.Name = sysno.Name(arch, nr)
	}
	var vals []uint64
	for _, f := range strings.Split(m[3], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseUint(f, 0, 64)
		if err != nil {
			return UnsupportedReport{}, false, fmt.Errorf("unsupported syscall %s: bad argument %q", u.Name, f)
		}
		vals = append(vals, v)
	}
	u.Key, u.Values = unsupportedKey(arch, u.Name, vals)
	u.Harmless = harmless[u.Name]
	return u, true, nil
}

// unsupportedKey returns the key argument of a reported call, decoded as
// every other call is (package sysargs), so that a report pairs with the
// calls it is about.
func unsupportedKey(arch sysno.Arch, name string, v []uint64) (string, []uint64) {
	if sysargs.NeedsMemory(name) {
		return "", nil // the log has the pointer, not what it points to
	}
	var regs [6]uint64
	copy(regs[:], v)
	d, vals, ok := sysargs.KeyFromRegs(arch, name, regs)
	if !ok {
		return "", nil
	}
	return d, vals
}
