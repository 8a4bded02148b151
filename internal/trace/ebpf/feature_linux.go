//go:build linux

package ebpf

import (
	"errors"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ErrUnavailable marks the errors of loading the BPF program: nothing was
// traced, and a caller may fall back to the ptrace backend.
var ErrUnavailable = errors.New("the eBPF backend is unavailable")

// Capabilities (linux/capability.h); x/sys names CAP_BPF and CAP_PERFMON
// only in newer releases.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Check reports whether this machine and process can use the eBPF
// backend. On success it says why (for the report); otherwise its error
// says what is missing. The kernel's verifier has the last word when the
// program is loaded.
func Check() (string, error) {
	if runtime.GOARCH != "amd64" {
		return "", errors.New("the eBPF program is built for x86_64 only")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return "", errors.New("the kernel has no BTF (/sys/kernel/btf/vmlinux), which the eBPF program is relocated against")
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "", err
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	switch {
	case has(capBPF) && has(capPerfmon) && os.Geteuid() == 0:
		return "the kernel has BTF and gvcheck runs as root", nil
	case has(capBPF) && has(capPerfmon):
		return "the kernel has BTF and gvcheck has CAP_BPF and CAP_PERFMON", nil
	case has(capSysAdmin):
		return "the kernel has BTF and gvcheck has CAP_SYS_ADMIN", nil
	}
	return "", errors.New("gvcheck has neither CAP_BPF and CAP_PERFMON nor CAP_SYS_ADMIN (run it as root)")
}
