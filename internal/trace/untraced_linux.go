//go:build linux

package trace

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/procmem"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// A traced run's filter sends calls to the tracer (SECCOMP_RET_TRACE), and
// a task that no tracer holds gets ENOSYS for each of them instead: exec
// fails, and in full mode even exit does, and the task crashes. Every task
// of the run carries the filter, and every one is traced (PTRACE_O_TRACE*
// follow each fork and clone) but one made with CLONE_UNTRACED, which the
// kernel never attaches. So the filter stops clone with that flag, and
// clone3 (whose flags are in memory, where a filter cannot look), and the
// tracer clears the flag: the child is traced like any other, and the
// invariant "whoever carries the filter has a tracer" holds. The program
// sees the call succeed; the flag only ever kept a tracer away, and under
// a tracer the tasks it is used for (a sanitizer's leak checker, a debugger
// helper) fail to attach to their own threads as they would under strace:
// one tracer per task is a kernel rule. Runs that need no tracer (a policy
// that only allows and fails calls) are not traced at all, and there, as
// with the eBPF backend, such programs work as natively.

// guardRules returns p with the rules that stop the calls that could create
// an untraced task, ahead of p's own rules for them. The tracer still
// classifies calls by p's own decision.
func guardRules(p policy.Policy) policy.Policy {
	cloneNr, ok1 := sysno.Number(p.Arch, "clone")
	clone3Nr, ok2 := sysno.Number(p.Arch, "clone3")
	var rules []policy.Rule
	if ok1 {
		rules = append(rules, policy.Rule{Nr: cloneNr, Action: policy.Trace,
			Args: []policy.ArgCond{{Arg: 0, Op: policy.MaskedEq, Mask: unix.CLONE_UNTRACED, Value: unix.CLONE_UNTRACED}}})
	}
	if ok2 {
		rules = append(rules, policy.Rule{Nr: clone3Nr, Action: policy.Trace})
	}
	for _, r := range p.Rules {
		if ok2 && r.Nr == clone3Nr {
			continue // the tracer applies p's decision for clone3 itself
		}
		rules = append(rules, r)
	}
	p.Rules = rules
	return p
}

// keepTraced clears CLONE_UNTRACED from a clone or clone3 call at its
// seccomp stop and arranges for what it changed to be put back at the
// call's exit: the register on amd64 (which the syscall instruction
// preserves, and code may rely on), the flags in memory for clone3. It
// reports whether it changed the call.
func (t *tracer) keepTraced(th *thread, nr int, args [6]uint64) bool {
	switch nr {
	case t.cloneNr:
		if args[0]&unix.CLONE_UNTRACED == 0 {
			return false
		}
		orig := args[0]
		if t.setArg0(th.tid, orig&^unix.CLONE_UNTRACED) != nil {
			return false
		}
		if t.arch == sysno.AMD64 { // on arm64 the result overwrites x0 anyway
			tid := th.tid
			th.restore = func() { _ = t.setArg0(tid, orig) }
		}
		return true
	case t.clone3Nr:
		var b [8]byte
		addr := uintptr(args[0])
		if args[1] < 8 || procmem.Read(th.tid, addr, b[:]) != nil {
			return false
		}
		flags := binary.LittleEndian.Uint64(b[:])
		if flags&unix.CLONE_UNTRACED == 0 {
			return false
		}
		var nb [8]byte
		binary.LittleEndian.PutUint64(nb[:], flags&^unix.CLONE_UNTRACED)
		if writeMem(th.tid, addr, nb[:]) != nil {
			// Cannot clear it: fail the call as a kernel without clone3
			// would, which C libraries answer by falling back to clone.
			_ = t.skip(th.tid, unix.ENOSYS)
			return true
		}
		tid := th.tid
		th.restore = func() { _ = writeMem(tid, addr, b[:]) }
		return true
	}
	return false
}

// setArg0 sets the first syscall argument register of tid, at a syscall
// stop.
func (t *tracer) setArg0(tid int, v uint64) error {
	iov := unix.Iovec{Base: &t.regBuf[0]}
	iov.SetLen(len(t.regBuf))
	if err := ptrace(unix.PTRACE_GETREGSET, tid, unix.NT_PRSTATUS, uintptr(unsafe.Pointer(&iov))); err != nil {
		return err
	}
	l := layouts[t.arch]
	binary.LittleEndian.PutUint64(t.regBuf[8*l.args[0]:], v)
	return ptrace(unix.PTRACE_SETREGSET, tid, unix.NT_PRSTATUS, uintptr(unsafe.Pointer(&iov)))
}
