// Package sigstate recovers the signal dispositions and blocked mask this
// process was started with, so that a program gvcheck starts inherits them
// exactly as it would from the shell, and it re-raises a signal the way a
// process that died of it would.
//
// The Go runtime replaces them before any Go code runs: it installs its own
// handler for every signal except an ignored SIGHUP or SIGINT (so an
// inherited SIG_IGN for SIGPIPE, SIGQUIT, SIGTERM, ... becomes SIG_DFL in
// any child), and it unblocks the signals it needs on every thread. It keeps
// what it found, though: the handler of each signal at start in
// runtime.fwdSig (to forward signals it does not want) and the initial mask
// in runtime.initSigmask (for new threads and forked children). Neither is
// exported and the linker refuses references to them, so Inherited reads
// them through the symbol table of the running executable and
// /proc/self/mem. A stripped binary (-ldflags=-s) has no symbol table; then
// only what the runtime itself exposes is known (an ignored SIGHUP or
// SIGINT) and Inherited says so.
package sigstate

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"
)

// Set is a set of signals 1..64; bit n-1 stands for signal n, as in the
// kernel's sigset_t and /proc/PID/status.
type Set uint64

// Has reports whether sig is in s.
func (s Set) Has(sig syscall.Signal) bool {
	return sig >= 1 && sig <= 64 && s&(1<<(sig-1)) != 0
}

// Add returns s with sig.
func (s Set) Add(sig syscall.Signal) Set {
	if sig < 1 || sig > 64 {
		return s
	}
	return s | 1<<(sig-1)
}

// State is how signals were set up when the process started.
type State struct {
	Ignored Set // disposition SIG_IGN
	Blocked Set // the blocked mask
	// Exact is false when the runtime's copy could not be read; Ignored
	// then holds only SIGHUP and SIGINT, and Blocked is empty.
	Exact bool
	// Why says what was not readable, when Exact is false.
	Why string
}

var (
	once     sync.Once
	inherent State
)

// Inherited returns the state the process started with. The first call
// reads it (about 2 ms); later calls return the same value.
func Inherited() State {
	once.Do(func() {
		st, err := read()
		if err != nil {
			st = State{Why: err.Error()}
			for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
				if signal.Ignored(s) {
					st.Ignored = st.Ignored.Add(s)
				}
			}
		}
		inherent = st
	})
	return inherent
}

const (
	nsig   = 65 // runtime._NSIG on linux
	sigIGN = 1  // runtime._SIG_IGN
)

// anchor is a function whose address and symbol value give the distance
// between link-time and run-time addresses (non-zero for a PIE build).
func anchor() {}

// sym is what read needs of an ELF symbol.
type sym struct{ value, size uint64 }

func read() (State, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return State{}, fmt.Errorf("read own executable: %w", err)
	}
	defer f.Close()
	const anchorName = "github.com/gvcheck/gvcheck/internal/sigstate.anchor"
	found, err := lookup(f, "runtime.fwdSig", "runtime.initSigmask", anchorName)
	if err != nil {
		return State{}, err
	}
	fwd, mask, anc := found[0], found[1], found[2]
	if fwd.size != nsig*8 || mask.size != 8 {
		return State{}, fmt.Errorf("runtime signal tables have unexpected sizes %d and %d", fwd.size, mask.size)
	}
	bias := uint64(reflect.ValueOf(anchor).Pointer()) - anc.value
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return State{}, fmt.Errorf("read own memory: %w", err)
	}
	defer mem.Close()
	fb := make([]byte, fwd.size)
	if _, err := mem.ReadAt(fb, int64(fwd.value+bias)); err != nil {
		return State{}, fmt.Errorf("read runtime.fwdSig: %w", err)
	}
	mb := make([]byte, 8)
	if _, err := mem.ReadAt(mb, int64(mask.value+bias)); err != nil {
		return State{}, fmt.Errorf("read runtime.initSigmask: %w", err)
	}
	var st State
	for sig := 1; sig < nsig; sig++ {
		if binary.LittleEndian.Uint64(fb[8*sig:]) == sigIGN {
			st.Ignored = st.Ignored.Add(syscall.Signal(sig))
		}
	}
	// sigset is [2]uint32, low word first, which on a little-endian
	// machine is the kernel's 64-bit mask.
	st.Blocked = Set(binary.LittleEndian.Uint64(mb))
	// Cross-check with what the runtime does expose: a SIGHUP or SIGINT
	// found ignored at start stays ignored and is reported by os/signal.
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(s) && !st.Ignored.Has(s) {
			return State{}, fmt.Errorf("runtime signal table disagrees with os/signal about %v", s)
		}
	}
	st.Exact = true
	return st, nil
}

// lookup finds the named symbols in f's symbol table. It scans the raw
// table rather than decoding every symbol (debug/elf's Symbols), which
// costs milliseconds on every gvcheck run.
func lookup(f *elf.File, names ...string) ([]sym, error) {
	if f.Class != elf.ELFCLASS64 {
		return nil, errors.New("own executable is not a 64-bit ELF file")
	}
	symtab := f.Section(".symtab")
	if symtab == nil || symtab.Link == 0 || int(symtab.Link) >= len(f.Sections) {
		return nil, errors.New("own executable has no symbol table (built with -s, or by go run or go test)")
	}
	tab, err := symtab.Data()
	if err != nil {
		return nil, fmt.Errorf("read symbol table: %w", err)
	}
	strs, err := f.Sections[symtab.Link].Data()
	if err != nil {
		return nil, fmt.Errorf("read symbol names: %w", err)
	}
	out := make([]sym, len(names))
	left := len(names)
	const entSize = 24 // Elf64_Sym: name u32, info, other, shndx u16, value, size u64
	for off := 0; off+entSize <= len(tab) && left > 0; off += entSize {
		e := tab[off : off+entSize]
		n := binary.LittleEndian.Uint32(e)
		if int(n) >= len(strs) {
			continue
		}
		name := strs[n:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		for k, want := range names {
			if out[k].size == 0 && out[k].value == 0 && string(name) == want {
				out[k] = sym{value: binary.LittleEndian.Uint64(e[8:]), size: binary.LittleEndian.Uint64(e[16:])}
				left--
			}
		}
	}
	if left > 0 {
		return nil, errors.New("own executable lacks the runtime's signal symbols")
	}
	return out, nil
}
