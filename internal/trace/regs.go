package trace

import (
	"encoding/binary"
	"fmt"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Regs is the part of a thread's registers the tracer needs at a syscall
// stop, independent of the architecture.
type Regs struct {
	Nr   uint64    // syscall number (orig_rax on amd64, x8 on arm64)
	Args [6]uint64 // arguments as the kernel passes them
	Ret  uint64    // return value register (rax / x0)
	IP   uint64
	SP   uint64
}

// regLayout says where Regs live, as indexes of 64-bit words, in the
// NT_PRSTATUS register set of one architecture. Layouts are plain data so
// that every architecture's decoding is tested on any host.
type regLayout struct {
	words int // size of the register set in 64-bit words
	nr    int
	args  [6]int
	ret   int
	ip    int
	sp    int
}

var layouts = map[sysno.Arch]regLayout{
	// struct user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax
	// rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs
	sysno.AMD64: {
		words: 27,
		nr:    15,                          // orig_rax
		args:  [6]int{14, 13, 12, 7, 9, 8}, // rdi rsi rdx r10 r8 r9
		ret:   10,                          // rax
		ip:    16,
		sp:    19,
	},
	// struct user_pt_regs: regs[31] (x0..x30), sp, pc, pstate. At a syscall
	// exit x0 holds the result and the first argument is gone; the tracer
	// reads arguments at entry.
	sysno.ARM64: {
		words: 34,
		nr:    8,
		args:  [6]int{0, 1, 2, 3, 4, 5},
		ret:   0,
		ip:    32,
		sp:    31,
	},
}

// regSetSize returns the NT_PRSTATUS size in bytes for arch.
func regSetSize(a sysno.Arch) int { return layouts[a].words * 8 }

// DecodeRegs decodes an NT_PRSTATUS register set of arch (little-endian, as
// both supported architectures run) into Regs.
func DecodeRegs(a sysno.Arch, b []byte) (Regs, error) {
	l, ok := layouts[a]
	if !ok {
		return Regs{}, fmt.Errorf("registers: unsupported architecture %q", a)
	}
	if len(b) < l.words*8 {
		return Regs{}, fmt.Errorf("registers: %s register set is %d bytes, want %d", a, len(b), l.words*8)
	}
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	r := Regs{Nr: w(l.nr), Ret: w(l.ret), IP: w(l.ip), SP: w(l.sp)}
	for i, idx := range l.args {
		r.Args[i] = w(idx)
	}
	return r, nil
}

// setSkip rewrites an encoded register set so that the syscall at a
// syscall-entry (or seccomp) stop is skipped and returns ret: the number
// becomes -1 and the return register holds ret. The kernels of both
// architectures keep the tracer's return value for a skipped call. On arm64
// the number also has to be set through NT_ARM_SYSTEM_CALL.
func setSkip(a sysno.Arch, b []byte, ret int64) {
	l := layouts[a]
	if a == sysno.AMD64 {
		binary.LittleEndian.PutUint64(b[8*l.nr:], ^uint64(0))
	}
	binary.LittleEndian.PutUint64(b[8*l.ret:], uint64(ret))
}
