//go:build linux && amd64

package ebpf

import (
	"encoding/binary"
	"fmt"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// nrMax mirrors NR_MAX in bpf/gvcheck.c: syscalls below it have a spec and
// a counts column.
const nrMax = 512

// spec flags, as in bpf/gvcheck.c.
const (
	spKey      = 1 << 0
	spPath     = 1 << 1
	spChild0   = 1 << 2
	spPrctlMM  = 1 << 3
	spNonNull2 = 1 << 4
	spExec     = 1 << 6
	spChdir    = 1 << 7
)

// spec mem values, as in bpf/gvcheck.c.
const (
	memU64   = 1
	memStr   = 2
	memNLBuf = 3
	memNLMsg = 4
)

// specs builds the per-syscall table that tells the BPF program which
// registers form a syscall's key (as package sysargs defines keys) and
// where its path is.
func specs(arch sysno.Arch) ([nrMax]gvcheckSpec, error) {
	var t [nrMax]gvcheckSpec
	for nr := range t {
		t[nr] = gvcheckSpec{Arg: [3]int8{noArg, noArg, noArg}, PathArg: -1, DirArg: -1}
	}
	for _, nr := range sysno.Numbers(arch) {
		if nr >= nrMax {
			continue
		}
		name := sysno.Name(arch, nr)
		s := &t[nr]
		if sysargs.Sensitive(name) {
			slots, flags, mem, err := keySlots(name)
			if err != nil {
				return t, err
			}
			s.Flags |= spKey | flags
			s.Arg = slots
			s.Mem = mem
		}
		if pa, ok := sysargs.PathArgOf(name); ok {
			s.Flags |= spPath
			s.PathArg = int8(pa.Path)
			s.DirArg = int8(pa.Dir)
		}
		switch name {
		case "clone", "clone3", "fork", "vfork":
			s.Flags |= spChild0
		case "execve", "execveat":
			s.Flags |= spExec
		case "chdir":
			s.Flags |= spChdir
		}
	}
	return t, nil
}

// keySlots says which argument registers the kernel keeps for a syscall's
// key, in up to three slots, and how it transforms them. The kernel keeps
// the registers whole: sysargs.KeyFromRegs applies its masks in user space.
// A key in memory has its register in the first slot, and mem says what the
// kernel reads there: a u64, kept in that slot, or the start of a string,
// kept in all three.
func keySlots(name string) (slots [3]int8, flags, mem uint8, err error) {
	slots = [3]int8{noArg, noArg, noArg}
	if mk, ok := sysargs.MemoryKeyOf(name); ok {
		switch mk.Kind {
		case sysargs.MemoryU64:
			slots[0], mem = int8(mk.Arg), memU64
		case sysargs.MemoryString:
			slots[0], mem = int8(mk.Arg), memStr
		case sysargs.MemoryNetlink:
			// The kernel turns the fd, buffer and length (sendto) or
			// message header (sendmsg) into the registers FromTracee
			// makes: protocol plus one, message type, flags.
			slots, mem = [3]int8{0, 1, 2}, memNLBuf
			if name == "sendmsg" {
				mem = memNLMsg
			}
		default:
			return slots, 0, 0, fmt.Errorf("ebpf: no kernel reading for the key of %s", name)
		}
		return slots, 0, mem, nil
	}
	if name == "prlimit64" { // the resource, and whether a new limit is set
		slots[0], slots[2] = 1, 2
		return slots, spNonNull2, 0, nil
	}
	as, ok := sysargs.KeyArgs(name)
	if !ok || len(as) > 3 {
		return slots, 0, 0, fmt.Errorf("ebpf: no register layout for the key of %s", name)
	}
	for i, a := range as {
		slots[i] = int8(a.Arg)
	}
	if name == "prctl" {
		flags |= spPrctlMM
	}
	return slots, flags, 0, nil
}

// noArg is a key slot that takes no register (the kernel reads a zero).
const noArg = 6

// regsOf rebuilds the argument registers sysargs.KeyFromRegs reads for
// syscall name from the values the kernel kept in the slots of spec s.
func regsOf(name string, s gvcheckSpec, vals [3]uint64) [6]uint64 {
	var r [6]uint64
	if s.Mem == memStr && s.Arg[0] >= 0 && s.Arg[0] < noArg {
		var b [24]byte
		for i, v := range vals {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		r[s.Arg[0]] = sysargs.FromMemory(name, b[:])
		return r
	}
	for i, a := range s.Arg {
		if a >= 0 && a < noArg {
			r[a] = vals[i]
		}
	}
	return r
}

// kernelSlots is what bpf/gvcheck.c keeps of the registers r of a call with
// spec s (keys in memory aside); the tests check that regsOf of it keys
// every call as r itself does.
func kernelSlots(s gvcheckSpec, r [6]uint64) [3]uint64 {
	var v [3]uint64
	for i, a := range s.Arg {
		if a >= 0 && a < noArg {
			v[i] = r[a]
		}
	}
	if s.Flags&spPrctlMM != 0 && v[0]&0xffffffff != 35 {
		v[1] = 0
	}
	if s.Flags&spNonNull2 != 0 && v[2] != 0 {
		v[2] = 1
	}
	return v
}
