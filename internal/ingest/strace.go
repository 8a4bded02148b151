package ingest

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

const (
	// maxLine bounds the memory one line may take; strace -s with a huge
	// string size can print long lines, but not this long.
	maxLine = 64 << 20
	// maxNameCache bounds caches against logs full of junk names.
	maxNameCache = 4096
	// maxUnknown bounds how many unrecognised names are kept for the report.
	maxUnknown = 20
	// maxPaths bounds the distinct paths a profile keeps, so that memory
	// does not grow with the log (/proc/PID/... paths of many processes).
	maxPaths = 10000
)

// pidState is what the parser remembers of one process (thread).
type pidState struct {
	exe     int       // index into exes, 0 = unknown
	pid     int       // its id (0 until a line names it, see state)
	leader  *pidState // the thread group leader, for a thread; nil for a leader
	mode32  bool
	x32     bool
	pending bool // an "<unfinished ...>" call awaits its "resumed" line
	pNr     int
	pPath   string
	pThread bool
	pKey    string
	pVals   []uint64
	pArgs   []byte // arguments printed before "<unfinished ...>" (kept for OnCall only)
	exit    *profile.Exit
	order   int
	child   bool // created by a fork/clone (or announced attach) seen in the log
}

type sysAgg struct {
	count  uint64
	errors map[string]uint64
	exes   []uint64 // by exe index
	args   map[string]*profile.ArgUse
	// The last key seen: calls of one syscall mostly repeat their key.
	lastKey string
	lastUse *profile.ArgUse
}

// straceParser applies lexed records, in log order, to per-process state and
// per-syscall counters, and builds the profile at the end.
type straceParser struct {
	opt          Options
	arch         sysno.Arch
	tables       *archTables
	src          profile.Source
	p            *profile.Profile
	lx           *lexer // for sequential parsing
	exes         []string
	exeIdx       map[string]int
	agg          map[int]*sysAgg
	small        []*sysAgg // agg for low numbers, sparing a map lookup
	pids         map[int]*pidState
	lastPid      int
	last         *pidState
	zeroTaken    bool
	smallIn      bool   // the input is small: parse it on this goroutine, with a small buffer
	oneChunk     bool   // the input is a few chunks at most: parse it on this goroutine
	jobs         []*job // chunk buffers, kept across the files of a group
	calls        int64
	unknown      map[string]int64
	mode32       int64
	x32          int64
	pathsDropped int64
	bound        error     // a bound of bounds.go exceeded
	keys         int       // distinct key arguments
	exeUses      int       // distinct (syscall, executable) pairs
	seq          int       // pidState.order of the next new process
	forking      *pidState // the last process seen entering fork/clone
	pidCache     [256]struct {
		pid int
		st  *pidState
	}
}

func newStraceParser(opt Options, name string) *straceParser {
	arch := opt.arch()
	return &straceParser{
		opt:    opt,
		arch:   arch,
		tables: tablesFor(arch),
		src:    profile.Source{Kind: string(FormatStrace), Name: name, Coverage: profile.CoverageFull},
		p:      profile.New(arch),
		exes:   []string{""},
		exeIdx: map[string]int{"": 0},
		agg:    map[int]*sysAgg{},
		small:  make([]*sysAgg, 512),
		pids:   map[int]*pidState{},
	}
}

// parse reads one log. filePid is the pid of a strace -ff per-process file
// (0 otherwise); lines carrying their own pid override it.
func (s *straceParser) parse(r io.Reader, name string, filePid int) error {
	var err error
	if n := runtime.GOMAXPROCS(0); n > 1 && !s.smallIn && !s.oneChunk {
		err = s.parseParallel(r, name, filePid, n)
	} else {
		err = s.parseSequential(r, name, filePid)
	}
	if err != nil {
		return err
	}
	if filePid != 0 {
		// A per-process file that ends inside a call: the process was
		// killed or strace detached.
		if st := s.pids[filePid]; st != nil && st.pending {
			s.flushPending(filePid, st)
		}
	}
	return nil
}

func (s *straceParser) state(pid int) *pidState {
	if s.last != nil && s.lastPid == pid {
		return s.last
	}
	// A direct-mapped cache in front of the map: -f logs interleave a few
	// busy threads, and a map lookup per line shows in profiles.
	c := &s.pidCache[uint(pid)%uint(len(s.pidCache))]
	st := c.st
	if st == nil || c.pid != pid {
		st = s.pids[pid]
		if st == nil {
			if z := s.pids[0]; z != nil && pid != 0 && !s.zeroTaken {
				// strace -f to a terminal omits "[pid N]" until a second
				// process appears; the first new pid that no fork in the
				// log created is the one that was unnamed.
				st = z
				st.pid = pid
				s.zeroTaken = true
			} else {
				st = &pidState{order: s.seq, pid: pid}
				s.seq++
				if f := s.forking; f != nil && f.pending && s.tables.isFork(f.pNr) {
					// A new process (or thread) runs before strace shows
					// the clone that made it return: it is that clone's.
					s.adopt(f, st, f.pThread)
				}
			}
			s.pids[pid] = st
		}
		c.pid, c.st = pid, st
	}
	s.last, s.lastPid = st, pid
	return st
}

// forget drops an exited process's state.
func (s *straceParser) forget(pid int) {
	delete(s.pids, pid)
	if c := &s.pidCache[uint(pid)%uint(len(s.pidCache))]; c.pid == pid {
		c.st = nil
	}
	if s.lastPid == pid {
		s.last = nil
	}
}

// child returns the state of a process another process in the log created.
func (s *straceParser) child(pid int) *pidState {
	c := s.pids[pid]
	if c == nil {
		c = &pidState{order: s.seq, pid: pid}
		s.seq++
		s.pids[pid] = c
	}
	s.pidCache[uint(pid)%uint(len(s.pidCache))].st = nil
	if s.lastPid == pid {
		s.last = nil
	}
	c.child = true
	return c
}

// attach handles "strace: Process N attached": N is new, most likely made
// by the fork or clone in progress.
func (s *straceParser) attach(pid int) {
	c := s.child(pid)
	if f := s.forking; f != nil && f.pending && s.tables.isFork(f.pNr) {
		s.adopt(f, c, f.pThread)
	}
}

// adopt makes c a child (or, for thread, a thread) of parent.
func (s *straceParser) adopt(parent, c *pidState, thread bool) {
	c.child = true
	if c.exe == 0 {
		c.exe = parent.exe
	}
	if thread && c.leader == nil && c != parent {
		c.leader = parent
		if parent.leader != nil {
			c.leader = parent.leader
		}
	}
}

// apply updates the state with one lexed line.
// apply applies one record, within the bounds of bounds.go.
func (s *straceParser) apply(r *rec, filePid int) error {
	if err := s.applyRec(r, filePid); err != nil {
		return err
	}
	switch {
	case s.bound != nil:
		return s.bound
	case len(s.agg) > maxSyscalls:
		return tooManySyscalls(s.src.Name)
	case len(s.exes) > maxExes:
		return fmt.Errorf("%s: more than %d distinct executables", s.src.Name, maxExes)
	case len(s.pids) > maxLive:
		return fmt.Errorf("%s: more than %d processes alive at once", s.src.Name, maxLive)
	}
	return nil
}

func (s *straceParser) applyRec(r *rec, filePid int) error {
	s.src.Lines++
	pid := filePid
	if r.hasPid {
		pid = int(r.pid)
	}
	switch r.kind {
	case recCall, recUnfinished, recResumed:
	case recBinary:
		return fmt.Errorf("binary data, not a strace log line")
	case recPersonality:
		st := s.state(pid)
		st.mode32, st.x32 = r.mode32, r.x32
		s.src.Skipped++
		return nil
	case recExit:
		st := s.state(pid)
		if st.pending {
			s.flushPending(pid, st)
		}
		if r.known {
			st.exit = &profile.Exit{Code: int(r.exitCode), Signal: r.errno}
		}
		if st.child {
			// Gone, and not the program's first process: forget it, so that
			// memory follows the processes alive, not all there were. A
			// thread's leader stays reachable through its threads.
			s.forget(pid)
		}
		s.src.Skipped++
		return nil
	default:
		if r.attached != 0 {
			s.attach(int(r.attached))
		}
		s.src.Skipped++
		return nil
	}
	st := s.state(pid)
	if r.attached != 0 {
		defer s.attach(int(r.attached)) // once this call's state is known
	}
	if st.mode32 {
		// A 32-bit process: its numbers and names are another ABI, which
		// gVisor does not run at all; count, but keep it out of the profile.
		if r.kind != recResumed {
			s.mode32++
		}
		return nil
	}
	nr := int(r.nr)
	if nr < 0 {
		if r.kind != recResumed {
			s.noteUnknown(r.args)
		}
		return nil
	}
	if st.x32 && r.kind != recResumed {
		s.x32++
	}
	if r.kind == recUnfinished || r.unfinished {
		if st.pending && r.kind == recUnfinished { // strace lost the resumption
			s.flushPending(pid, st)
		}
		if r.kind == recResumed {
			// "<... x resumed> <unfinished ...>": still running; the
			// first part's arguments are kept.
			if !st.pending || st.pNr != nr {
				if st.pending {
					s.flushPending(pid, st)
				}
				st.pPath, st.pThread, st.pArgs, st.pKey, st.pVals = "", false, st.pArgs[:0], "", nil
			}
			st.pending, st.pNr = true, nr
			return nil
		}
		st.pending, st.pNr, st.pPath, st.pThread = true, nr, r.path, r.thread
		st.pKey, st.pVals = r.key, r.keyValues
		if s.tables.isFork(nr) {
			s.forking = st
		}
		if s.opt.OnCall != nil {
			st.pArgs = append(st.pArgs[:0], r.args...)
		}
		return nil
	}
	args, path, thread := r.args, r.path, r.thread
	key, vals := r.key, r.keyValues
	if r.kind == recResumed {
		if st.pending && st.pNr == nr {
			st.pending = false
			path, thread = st.pPath, st.pThread
			key, vals = st.pKey, st.pVals
			if s.opt.OnCall != nil {
				st.pArgs = append(st.pArgs, r.args...)
				args = st.pArgs
			}
		} else if st.pending {
			s.flushPending(pid, st)
		}
	} else if st.pending { // interleaved without strace noticing: keep both
		s.flushPending(pid, st)
	}
	s.record(pid, st, nr, args, path, thread, key, vals, r.ret, r.errno, r.noRet)
	return nil
}

func (s *straceParser) flushPending(pid int, st *pidState) {
	st.pending = false
	s.record(pid, st, st.pNr, st.pArgs, st.pPath, st.pThread, st.pKey, st.pVals, 0, "", true)
}

func (s *straceParser) noteUnknown(name []byte) {
	if s.unknown == nil {
		s.unknown = map[string]int64{}
	}
	if _, ok := s.unknown[string(name)]; ok || len(s.unknown) < maxUnknown {
		s.unknown[string(name)]++
	}
}

func (s *straceParser) aggFor(nr int) *sysAgg {
	if nr >= 0 && nr < len(s.small) {
		a := s.small[nr]
		if a == nil {
			a = &sysAgg{}
			s.small[nr] = a
			s.agg[nr] = a
		}
		return a
	}
	a := s.agg[nr]
	if a == nil {
		a = &sysAgg{}
		s.agg[nr] = a
	}
	return a
}

// record counts one completed call.
func (s *straceParser) record(pid int, st *pidState, nr int, args []byte, path string, thread bool, key string, vals []uint64, rv int64, errno string, noRet bool) {
	s.calls++
	a := s.aggFor(nr)
	a.count++
	if errno != "" {
		if a.errors == nil {
			a.errors = map[string]uint64{}
		}
		a.errors[errno]++
	}
	if key != "" {
		u := a.lastUse
		if key != a.lastKey {
			if a.args == nil {
				a.args = map[string]*profile.ArgUse{}
			}
			u = a.args[key]
			if u == nil {
				if s.keys++; s.keys > maxKeys {
					s.bound = fmt.Errorf("%s: more than %d distinct key arguments", s.src.Name, maxKeys)
				}
				u = &profile.ArgUse{Values: vals}
				a.args[key] = u
			}
			a.lastKey, a.lastUse = key, u
		}
		u.Count++
		if errno != "" {
			if u.Errors == nil {
				u.Errors = map[string]uint64{}
			}
			u.Errors[errno]++
		}
	}
	if path != "" && !noRet && errno == "" && s.tables.isExec(nr) {
		st.exe = s.exeID(path)
	}
	if rv > 0 && errno == "" && s.tables.isFork(nr) {
		s.adopt(st, s.child(int(rv)), thread)
	}
	if st.exe != 0 {
		if len(a.exes) <= st.exe {
			a.exes = append(a.exes, make([]uint64, st.exe+1-len(a.exes))...)
		}
		if a.exes[st.exe] == 0 {
			if s.exeUses++; s.exeUses > maxExeUses {
				s.bound = fmt.Errorf("%s: more than %d distinct (syscall, executable) pairs", s.src.Name, maxExeUses)
			}
		}
		a.exes[st.exe]++
	}
	kept := path != "" && sysargs.SynthesizedPath(path)
	if kept {
		if _, seen := s.p.Paths[path]; seen || len(s.p.Paths) < maxPaths {
			s.p.RecordPath(path, sysno.Name(s.arch, nr), 1, errno)
		} else {
			s.pathsDropped++
		}
	}
	if s.opt.OnCall != nil {
		tgid := pid
		if st.leader != nil {
			tgid = st.leader.pid
		}
		c := &profile.Call{Pid: tgid, Tid: pid, Exe: s.exes[st.exe], Nr: nr, Name: sysno.Name(s.arch, nr),
			Ret: rv, Errno: errno, NoReturn: noRet, Text: string(args), Key: key, KeyValues: slices.Clone(vals)}
		if kept {
			c.Path = path
		}
		s.opt.OnCall(c)
	}
}

func (s *straceParser) exeID(path string) int {
	if id, ok := s.exeIdx[path]; ok {
		return id
	}
	id := len(s.exes)
	s.exes = append(s.exes, path)
	s.exeIdx[path] = id
	return id
}

// finish turns the aggregate into the profile.
func (s *straceParser) finish() (*profile.Profile, error) {
	for pid, st := range s.pids {
		if st.pending {
			s.flushPending(pid, st)
		}
	}
	if s.calls == 0 {
		if s.mode32 > 0 {
			return nil, fmt.Errorf("%s: only 32-bit syscalls (%d), which gVisor does not run", s.src.Name, s.mode32)
		}
		if len(s.unknown) > 0 {
			return nil, fmt.Errorf("%s: no syscall of %s found (unknown names: %s)", s.src.Name, s.arch, strings.Join(sortedKeys(s.unknown), ", "))
		}
		return nil, fmt.Errorf("%s: no strace syscall lines found", s.src.Name)
	}
	for nr, a := range s.agg {
		sc := s.p.Syscall(nr)
		sc.Count += a.count
		for e, n := range a.errors {
			if sc.Errors == nil {
				sc.Errors = map[string]uint64{}
			}
			sc.Errors[e] += n
		}
		for id, n := range a.exes {
			if n > 0 {
				sc.RecordExe(s.exes[id], n)
			}
		}
		for display, u := range a.args {
			sc.RecordArg(display, u.Values, u.Count, "")
			for e, n := range u.Errors {
				au := sc.Args[display]
				if au.Errors == nil {
					au.Errors = map[string]uint64{}
				}
				au.Errors[e] += n
			}
		}
	}
	// The traced program's exit is that of the first process that no other
	// process in the log created.
	var root *pidState
	for _, st := range s.pids {
		if !st.child && st.exit != nil && (root == nil || st.order < root.order) {
			root = st
		}
	}
	if root != nil {
		s.src.Exit = root.exit
	}
	var notes []string
	if s.mode32 > 0 {
		notes = append(notes, fmt.Sprintf("%d calls of 32-bit processes left out", s.mode32))
	}
	if s.x32 > 0 {
		notes = append(notes, fmt.Sprintf("%d calls made in x32 mode", s.x32))
	}
	if len(s.unknown) > 0 {
		notes = append(notes, fmt.Sprintf("names not syscalls of %s left out: %s", s.arch, strings.Join(sortedKeys(s.unknown), ", ")))
	}
	if s.pathsDropped > 0 {
		// Bounded like the rest, but not refused: a long log of many
		// processes names many /proc/PID paths; the report says what is
		// missing.
		notes = append(notes, fmt.Sprintf("%d uses of paths beyond the first %d distinct ones not kept", s.pathsDropped, maxPaths))
		s.src.Coverage = profile.CoverageIncomplete
	}
	s.src.Detail = joinDetail(s.src.Detail, strings.Join(notes, "; "))
	s.p.Sources = append(s.p.Sources, s.src)
	return s.p, nil
}
