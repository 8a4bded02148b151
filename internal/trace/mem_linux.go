//go:build linux

package trace

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// readMem copies len(b) bytes at addr in tid's memory, with
// process_vm_readv, or PTRACE_PEEKDATA where that is unavailable.
func readMem(tid int, addr uintptr, b []byte) error {
	if addr == 0 {
		return unix.EFAULT
	}
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err == nil && n == len(b) {
		return nil
	}
	if err == nil {
		return unix.EFAULT
	}
	if err != unix.ENOSYS && err != unix.EPERM {
		return err
	}
	return peek(tid, addr, b)
}

func peek(tid int, addr uintptr, b []byte) error {
	var word [8]byte
	for off := 0; off < len(b); {
		a := addr + uintptr(off)
		aligned := a &^ 7
		_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, uintptr(tid), aligned,
			uintptr(unsafe.Pointer(&word[0])), 0, 0)
		if e != 0 {
			return e
		}
		off += copy(b[off:], word[a-aligned:])
	}
	return nil
}

// readString reads a NUL-terminated string of at most max bytes at addr,
// page by page so that a string ending just before an unmapped page reads.
// The first read is short: most paths are, and a stop pays for every byte.
func readString(tid int, addr uintptr, max int) (string, error) {
	var out []byte
	for len(out) < max {
		n := min(pageSize-int(addr%pageSize), max-len(out))
		if out == nil {
			n = min(n, 256)
		}
		buf := make([]byte, n)
		if err := readMem(tid, addr, buf); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf...)
		addr += uintptr(n)
	}
	return "", errors.New("string too long")
}

// writeMem copies b to addr in tid's memory, with process_vm_writev, or
// /proc/PID/mem (which writes through read-only mappings like a debugger)
// where that fails.
func writeMem(tid int, addr uintptr, b []byte) error {
	if addr == 0 {
		return unix.EFAULT
	}
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	if n, err := unix.ProcessVMWritev(tid, local, remote, 0); err == nil && n == len(b) {
		return nil
	}
	f, err := os.OpenFile("/proc/"+strconv.Itoa(tid)+"/mem", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(b, int64(addr))
	return err
}
