//go:build linux

package trace

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

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
