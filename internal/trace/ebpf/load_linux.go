//go:build linux && amd64

package ebpf

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Modes of joining the traced tree, as in bpf/gvcheck.c.
const (
	modeSeeds   = 1 << 0
	modeCgroup2 = 1 << 1
)

// task_state flags, as in bpf/gvcheck.c: the launcher's tasks before their
// exec, and tasks counted alive.
const (
	tsPreexec = 1 << 0
	tsLive    = 1 << 1
)

// config says which tasks the program traces.
type config struct {
	mode        uint32
	cgroupID    uint64 // cgroup v2 id (its directory's inode number)
	cgroupLevel uint32 // its depth below the root
}

// Executables: the first ones have a row of counts per CPU (the fast
// path), as many as fit in countsBudget (at most maxRows); all have an id,
// up to maxExes, and calls of the others are counted in the calls hash.
const (
	maxRows      = 64
	countsBudget = 8 << 20
	maxExes      = 4096
)

// rowsFor is the number of executables with counts rows for ncpu CPUs.
func rowsFor(ncpu int) int {
	return min(max(countsBudget/(ncpu*nrMax*8), 1), maxRows)
}

// mapLimits lets tests shrink the maps to see what a full map loses, and
// the counts rows to send calls through the calls hash.
var mapLimits struct {
	calls, paths uint32
	noRows       bool
}

// probe is a loaded and attached BPF program with its maps.
type probe struct {
	objs  gvcheckObjects
	links []link.Link
	arch  sysno.Arch
	specs [nrMax]gvcheckSpec
	ncpu  int
	rows  int // executables with a row of counts
	start time.Time
}

// load loads the program for cfg and attaches it. Until Close, every
// syscall of the machine runs it.
func load(cfg config) (*probe, error) {
	// Decoding the kernel's BTF takes about 10 ms: start it while the
	// object is parsed and the maps are created.
	cache := btf.NewCache()
	go func() { _, _ = cache.Kernel() }()
	arch := sysno.Host()
	sp, err := specs(arch)
	if err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	rows := rowsFor(ncpu)
	cfgRows := uint32(rows)
	if mapLimits.noRows {
		cfgRows = 0
	}
	spec, err := loadGvcheck()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	nr := func(name string) uint32 {
		n, ok := sysno.Number(arch, name)
		if !ok {
			return ^uint32(0)
		}
		return uint32(n)
	}
	for name, v := range map[string]any{
		"cfg_mode":          cfg.mode,
		"cfg_cgroup_id":     cfg.cgroupID,
		"cfg_cgroup_level":  cfg.cgroupLevel,
		"cfg_rows":          cfgRows,
		"cfg_no_exe":        uint32(maxExes),
		"cfg_max_exes":      uint32(maxExes),
		"cfg_nr_exit":       nr("exit"),
		"cfg_nr_exit_group": nr("exit_group"),
		"cfg_nr_execve":     nr("execve"),
		"cfg_nr_execveat":   nr("execveat"),
		"specs":             sp,
	} {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("ebpf: set %s: %w", name, err)
		}
	}
	spec.Maps["counts"].MaxEntries = uint32(ncpu * rows * nrMax)
	if mapLimits.calls > 0 {
		spec.Maps["calls"].MaxEntries = mapLimits.calls
	}
	if mapLimits.paths > 0 {
		spec.Maps["paths"].MaxEntries = mapLimits.paths
	}
	spec.Maps["exes"].MaxEntries = maxExes
	spec.Maps["exe_paths"].MaxEntries = maxExes

	// RLIMIT_MEMLOCK is left alone: the program needs task storage (Linux
	// 5.11), and from 5.11 on BPF memory is charged to the memory cgroup.
	// (cilium/ebpf's rlimit package would probe for that with a BPF map at
	// the start of every gvcheck process, shims included: 1 ms each.)
	p := &probe{arch: arch, specs: sp, ncpu: ncpu, rows: rows}
	if err := p.loadObjects(spec, cache); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: the kernel rejected the program: %w", ErrUnavailable, ve)
		}
		return nil, fmt.Errorf("%w: load: %w", ErrUnavailable, err)
	}
	for _, prog := range []*ebpf.Program{p.objs.SchedProcessFork, p.objs.SchedPrepareExec, p.objs.SchedProcessExec, p.objs.SchedProcessExit, p.objs.SysExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%w: attach %s: %w", ErrUnavailable, prog, err)
		}
		p.links = append(p.links, l)
	}
	p.start = time.Now()
	return p, nil
}

// loadObjects creates the maps, then verifies the programs in parallel:
// the kernel checks each one on its own, which is most of the time a load
// takes. The kernel's BTF is decoded once, in a shared cache.
func (p *probe) loadObjects(spec *ebpf.CollectionSpec, cache *btf.Cache) error {
	mapsOnly := spec.Copy()
	mapsOnly.Programs = nil
	shared, err := ebpf.NewCollectionWithOptions(mapsOnly, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return err
	}
	defer shared.Close()
	names := slices.Sorted(maps.Keys(spec.Programs))
	progs := make([]*ebpf.Program, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.NumCPU(), 1))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			one := spec.Copy()
			one.Programs = map[string]*ebpf.ProgramSpec{name: spec.Programs[name]}
			coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: shared.Maps, Cache: cache})
			if err != nil {
				errs[i] = err
				return
			}
			progs[i] = coll.DetachProgram(name)
			coll.Close()
		}()
	}
	wg.Wait()
	byName := map[string]*ebpf.Program{}
	for i, name := range names {
		byName[name] = progs[i]
	}
	if err := errors.Join(errs...); err != nil {
		for _, prog := range progs {
			if prog != nil {
				prog.Close()
			}
		}
		return err
	}
	if err := errors.Join(shared.Assign(&p.objs.gvcheckMaps), shared.Assign(&p.objs.gvcheckVariables)); err != nil {
		for _, prog := range progs {
			prog.Close()
		}
		return err
	}
	p.objs.SysExit = byName["sys_exit"]
	p.objs.SchedProcessFork = byName["sched_process_fork"]
	p.objs.SchedPrepareExec = byName["sched_prepare_exec"]
	p.objs.SchedProcessExec = byName["sched_process_exec"]
	p.objs.SchedProcessExit = byName["sched_process_exit"]
	return nil
}

// Close detaches the program and frees its maps.
func (p *probe) Close() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

// seed makes the thread group tgid part of the traced tree.
func (p *probe) seed(tgid int, flags uint32) error {
	if err := p.objs.Seeds.Put(uint32(tgid), flags); err != nil {
		return fmt.Errorf("ebpf: trace process %d: %w", tgid, err)
	}
	return nil
}

// counter reads one of the program's global counters.
func (p *probe) counter(v *ebpf.Variable) uint64 {
	var n uint64
	if v.Size() == 4 {
		var m uint32
		_ = v.Get(&m)
		return uint64(m)
	}
	_ = v.Get(&n)
	return n
}
