//go:build linux && amd64

package ebpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// lost counts what the program could not record.
type lost struct {
	calls, paths, tasks, exes uint64
}

func (l lost) total() uint64 { return l.calls + l.paths + l.tasks + l.exes }

// String says what is missing, for the report.
func (l lost) String() string {
	var parts []string
	if l.calls > 0 {
		parts = append(parts, fmt.Sprintf("%d calls (the calls map was full)", l.calls))
	}
	if l.tasks > 0 {
		parts = append(parts, fmt.Sprintf("%d calls of tasks the kernel could not give a state", l.tasks))
	}
	if l.paths > 0 {
		parts = append(parts, fmt.Sprintf("%d paths (a path map was full, or a path too long or deep)", l.paths))
	}
	if l.exes > 0 {
		parts = append(parts, fmt.Sprintf("the executable of %d programs (too many executables)", l.exes))
	}
	return strings.Join(parts, ", ")
}

func (p *probe) lost() lost {
	return lost{
		calls: p.counter(p.objs.LostCalls),
		paths: p.counter(p.objs.LostPaths),
		tasks: p.counter(p.objs.LostTasks),
		exes:  p.counter(p.objs.LostExes),
	}
}

// stats reads live figures.
func (p *probe) stats() trace.Stats {
	var n uint64
	if c, err := p.counts(); err == nil {
		for _, v := range c {
			n += v
		}
	}
	return trace.Stats{
		Processes: int(p.counter(p.objs.Processes)),
		Syscalls:  n + p.counter(p.objs.SlowCalls),
		Elapsed:   time.Since(p.start),
	}
}

// counts sums the per-CPU stripes of the counts array: the result is
// indexed by exe*nrMax + nr.
func (p *probe) counts() ([]uint64, error) {
	mem, err := p.objs.Counts.Memory()
	if err != nil {
		return nil, fmt.Errorf("ebpf: counts: %w", err)
	}
	buf := make([]byte, mem.Size())
	if _, err := mem.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("ebpf: counts: %w", err)
	}
	stripe := p.rows * nrMax
	sum := make([]uint64, stripe)
	for cpu := 0; cpu < p.ncpu; cpu++ {
		for i := range sum {
			sum[i] += binary.LittleEndian.Uint64(buf[8*(cpu*stripe+i):])
		}
	}
	return sum, nil
}

// exePaths reads the executables' paths by id.
func (p *probe) exePaths() (map[uint32]string, error) {
	out := map[uint32]string{}
	var id uint32
	var v gvcheckPathStr
	it := p.objs.ExePaths.Iterate()
	for it.Next(&id, &v) {
		out[id] = cString(v.S[:], v.Len)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("ebpf: executables: %w", err)
	}
	return out, nil
}

func cString(s []int8, n uint32) string {
	b := make([]byte, 0, n)
	for _, c := range s[:min(int(n), len(s))] {
		b = append(b, byte(c))
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// profile turns the maps into a Profile, as the ptrace tracer would have
// recorded the same calls.
func (p *probe) profile() (*profile.Profile, lost, error) {
	prof := profile.New(p.arch)
	exes, err := p.exePaths()
	if err != nil {
		return nil, lost{}, err
	}
	name := func(id uint32) string { return exes[id] } // "" for no executable

	counts, err := p.counts()
	if err != nil {
		return nil, lost{}, err
	}
	for i, n := range counts {
		if n == 0 {
			continue
		}
		exe, nr := uint32(i/nrMax), i%nrMax
		s := prof.Syscall(nr)
		s.Record(n, "")
		s.RecordExe(name(exe), n)
	}

	var k gvcheckCallKey
	var n uint64
	it := p.objs.Calls.Iterate()
	for it.Next(&k, &n) {
		nr := int(k.Nr)
		s := prof.Syscall(nr)
		errno := ""
		if k.Err != 0 {
			errno = sysno.ErrnoName(int64(k.Err))
		}
		s.Record(n, errno)
		s.RecordExe(name(k.Exe), n)
		if nr < nrMax && p.specs[nr].Flags&spKey != 0 {
			regs := regsOf(s.Name, p.specs[nr], k.Args)
			if key, vals, ok := sysargs.KeyFromRegs(p.arch, s.Name, regs); ok {
				s.RecordArg(key, vals, n, errno)
			}
		}
	}
	if err := it.Err(); err != nil {
		return nil, lost{}, fmt.Errorf("ebpf: calls: %w", err)
	}

	strs := map[uint64]string{}
	var h uint64
	var ps gvcheckPathStr
	sit := p.objs.PathStrs.Iterate()
	for sit.Next(&h, &ps) {
		path := cString(ps.S[:], ps.Len)
		if ps.Rel != 0 {
			// Joined in the kernel from a directory and a relative path,
			// which the ptrace tracer joins with filepath.Join.
			path = filepath.Clean(path)
		}
		strs[h] = path
	}
	if err := sit.Err(); err != nil {
		return nil, lost{}, fmt.Errorf("ebpf: path strings: %w", err)
	}
	var pk gvcheckPathKey
	pit := p.objs.Paths.Iterate()
	for pit.Next(&pk, &n) {
		path, ok := strs[pk.Hash]
		if !ok || !sysargs.SynthesizedPath(path) {
			continue
		}
		errno := ""
		if pk.Err != 0 {
			errno = sysno.ErrnoName(int64(pk.Err))
		}
		prof.RecordPath(path, sysno.Name(p.arch, int(pk.Nr)), n, errno)
	}
	if err := pit.Err(); err != nil {
		return nil, lost{}, fmt.Errorf("ebpf: paths: %w", err)
	}
	return prof, p.lost(), nil
}
