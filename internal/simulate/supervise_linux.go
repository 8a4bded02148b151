//go:build linux

package simulate

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/procmem"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Supervisor answers a simulation's notifications as gVisor would, for the
// differences switched on, and counts which of them the program met.
type Supervisor struct {
	arch  sysno.Arch
	audit uint32
	ds    []*Difference
	hits  []atomic.Uint64
	byNr  map[int][]int  // syscall, argument and value differences by number
	paths map[string]int // path differences by normalised path
	execs map[string]int // exec differences by executable
	pathA map[int]sysargs.PathArg
	exec  map[int]bool
	// provided judges a path no difference names; other is the index of
	// the OtherPaths difference when it is on.
	provided   func(string) bool
	other      int
	known      map[string]bool // every path difference's path, on or off
	getdentsNr int             // getdents64's number, when listings are filtered
	lists      listings
	// examples are the first paths the OtherPaths difference hid.
	exMu     sync.Mutex
	examples []string
}

// Examples returns the first paths hidden as OtherPaths.
func (s *Supervisor) Examples() []string {
	s.exMu.Lock()
	defer s.exMu.Unlock()
	return slices.Clone(s.examples)
}

func (s *Supervisor) otherHit(p string) {
	s.hits[s.other].Add(1)
	s.exMu.Lock()
	defer s.exMu.Unlock()
	if len(s.examples) < 5 && !slices.Contains(s.examples, p) {
		s.examples = append(s.examples, p)
	}
}

// NewSupervisor prepares the answers for the differences of on. provided
// judges paths no difference names (nil: only those are absent).
func NewSupervisor(arch sysno.Arch, ds []*Difference, on Set, provided func(string) bool) *Supervisor {
	s := &Supervisor{arch: arch, ds: ds, hits: make([]atomic.Uint64, len(ds)), provided: provided, other: -1, getdentsNr: -1,
		byNr: map[int][]int{}, paths: map[string]int{}, execs: map[string]int{},
		pathA: map[int]sysargs.PathArg{}, exec: map[int]bool{}}
	s.audit, _ = policy.AuditArch(arch)
	for i, d := range ds {
		if !on[i] {
			continue
		}
		switch d.Kind {
		case KindSyscall, KindArgument, KindValue:
			s.byNr[d.Nr] = append(s.byNr[d.Nr], i)
		case KindPath:
			if d.Path == OtherPaths {
				s.other = i
			} else {
				s.paths[d.Path] = i
			}
		case KindExec:
			s.execs[d.Path] = i
		}
	}
	s.known = map[string]bool{}
	for _, d := range ds {
		if d.Kind == KindPath {
			s.known[d.Path] = true
		}
	}
	if len(s.paths) > 0 || s.other >= 0 {
		s.getdentsNr, _ = sysno.Number(arch, "getdents64")
		for _, name := range sysargs.PathSyscalls() {
			if nr, ok := sysno.Number(arch, name); ok {
				if pa, ok := sysargs.PathArgOf(name); ok {
					s.pathA[nr] = pa
				}
			}
		}
	}
	if len(s.execs) > 0 {
		for _, name := range []string{"execve", "execveat"} {
			if nr, ok := sysno.Number(arch, name); ok {
				s.exec[nr] = true
				if pa, ok := sysargs.PathArgOf(name); ok {
					s.pathA[nr] = pa
				}
			}
		}
	}
	return s
}

// Hits returns how many calls met each difference.
func (s *Supervisor) Hits() []uint64 {
	out := make([]uint64, len(s.hits))
	for i := range s.hits {
		out[i] = s.hits[i].Load()
	}
	return out
}

// Serve answers the notifications of listener fd until the program is gone
// or stop is set.
func (s *Supervisor) Serve(fd int, stop *atomic.Bool) {
	_ = policy.Serve(fd, stop, func(n *policy.Notification) policy.Answer {
		return s.answer(fd, n)
	})
}

func (s *Supervisor) answer(fd int, n *policy.Notification) policy.Answer {
	cont := policy.Answer{Continue: true}
	if n.Arch != s.audit {
		return cont
	}
	if n.Nr == s.getdentsNr {
		if a, ok := s.listDir(fd, n); ok {
			return a
		}
		return cont
	}
	name := sysno.Name(s.arch, n.Nr)
	for _, i := range s.byNr[n.Nr] {
		d := s.ds[i]
		if d.Kind != KindSyscall && !s.keyMatches(d, name, n) {
			continue
		}
		if !policy.Valid(fd, n.ID) {
			return cont
		}
		s.hits[i].Add(1)
		return answerOf(d)
	}
	pa, ok := s.pathA[n.Nr]
	if !ok {
		return cont
	}
	p, ok := readPath(n, pa)
	if !ok || !policy.Valid(fd, n.ID) {
		return cont
	}
	if s.exec[n.Nr] {
		if i, ok := s.execs[resolveExe(p)]; ok {
			s.hits[i].Add(1)
			return answerOf(s.ds[i])
		}
		if i, ok := s.execs[p]; ok {
			s.hits[i].Add(1)
			return answerOf(s.ds[i])
		}
	}
	norm := NormalPath(p)
	if i, ok := s.pathDifference(norm); ok {
		s.hits[i].Add(1)
		return answerOf(s.ds[i])
	}
	// A path the reference never touched: absent if gVisor lacks it and
	// no difference switched off covers it.
	if s.other >= 0 && s.provided != nil && sysargs.SynthesizedPath(p) && !s.coveredOff(norm) && !s.provided(denormal(norm)) {
		s.otherHit(norm)
		return answerOf(s.ds[s.other])
	}
	return cont
}

// pathDifference finds the path difference covering p: p itself or an
// ancestor.
func (s *Supervisor) pathDifference(p string) (int, bool) {
	for q := p; strings.Count(q, "/") >= 2 || q == p; q = path.Dir(q) {
		if i, ok := s.paths[q]; ok {
			return i, true
		}
		if q == "/" {
			break
		}
	}
	return 0, false
}

// coveredOff reports whether a path difference that is switched off covers
// p: the experiment wants that path present.
func (s *Supervisor) coveredOff(p string) bool {
	for q := p; q != "/" && q != "."; q = path.Dir(q) {
		if s.known[q] {
			_, on := s.paths[q]
			return !on
		}
	}
	return false
}

func answerOf(d *Difference) policy.Answer {
	if d.Value != nil {
		return policy.Answer{Val: *d.Value}
	}
	return policy.Answer{Errno: d.errno}
}

// keyMatches reports whether the call has the difference's key values.
func (s *Supervisor) keyMatches(d *Difference, name string, n *policy.Notification) bool {
	if d.Values == nil {
		return true // a stub for every call of the syscall
	}
	if d.conds != nil {
		for _, c := range d.conds {
			if !c.Holds(n.Args) {
				return false
			}
		}
		return true
	}
	args := sysargs.FromTracee(name, n.Args, procmem.Process{Tid: n.Tid})
	_, vals, ok := sysargs.KeyFromRegs(s.arch, name, args)
	return ok && len(vals) >= len(d.Values) && slices.Equal(vals[:len(d.Values)], d.Values)
}

// readPath reads the path argument of a call and makes it absolute.
func readPath(n *policy.Notification, pa sysargs.PathArg) (string, bool) {
	p, err := procmem.String(n.Tid, uintptr(n.Args[pa.Path]), 4096)
	if err != nil || p == "" {
		return "", false
	}
	if path.IsAbs(p) {
		return path.Clean(p), true
	}
	dir := "cwd"
	if pa.Dir >= 0 && int32(n.Args[pa.Dir]) != unix.AT_FDCWD {
		dir = "fd/" + strconv.Itoa(int(int32(n.Args[pa.Dir])))
	}
	base, err := readlink("/proc/" + strconv.Itoa(n.Tid) + "/" + dir)
	if err != nil || !path.IsAbs(base) {
		return "", false
	}
	return path.Join(base, p), true
}

func readlink(p string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlink(p, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// resolveExe resolves an executable's symbolic links as the host sees them
// (a run's files are an overlay of the host's).
func resolveExe(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
