package simulate

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/filecap"
)

// gvisorErrno is how gVisor fails a call: CapError entries return EPERM
// when the caller lacks the capability and errno (ENOSYS) when it holds it.
// `runsc do` run as root gives the sandboxed program every capability
// except CAP_NET_RAW (without --net-raw), so by default a simulation asks
// what this process holds; a target started with fewer capabilities
// (e.g. Docker's default set) should pass its own hasCap.
func gvisorErrno(errno, capName string, hasCap func(string) bool) string {
	if capName == "" {
		return errno
	}
	if hasCap == nil {
		hasCap = OwnCapability
	}
	if !hasCap(capName) {
		return "EPERM"
	}
	return errno
}

// capabilityNumber returns the bit number of a capability name, with or
// without its CAP_ prefix, in any case.
func capabilityNumber(name string) (int, bool) {
	return filecap.Number(name)
}

// OwnCapability reports whether this process's effective set holds the
// capability; unknown names and unreadable status count as not held.
func OwnCapability(name string) bool {
	bit, ok := capabilityNumber(name)
	if !ok {
		return false
	}
	eff, ok := ownEffective()
	return ok && eff&(1<<bit) != 0
}

func ownEffective() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// DockerCaps is the capability set Docker and containerd grant a container
// by default; none of gVisor's CapError syscalls is in it, so each fails
// with EPERM there. Use CapSet(DockerCaps) as Config.HasCap for such targets.
var DockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// CapSet returns a hasCap function for an explicit list of capability
// names (as a target's runtime would grant them).
func CapSet(names []string) func(string) bool {
	var bits []int
	for _, n := range names {
		if b, ok := capabilityNumber(n); ok {
			bits = append(bits, b)
		}
	}
	return func(name string) bool {
		b, ok := capabilityNumber(name)
		return ok && slices.Contains(bits, b)
	}
}

// ParseCaps reads a --caps value, the capabilities the sandboxed program
// will hold, which decide how gVisor fails CapError syscalls: "own" (those
// of this process, as `runsc do` run by the same user gives), "all",
// "none", "docker" (Docker's default set), or a comma-separated list of
// names such as CAP_SYS_ADMIN,SYS_PTRACE.
func ParseCaps(spec string) (func(string) bool, error) {
	switch strings.TrimSpace(spec) {
	case "", "own":
		return OwnCapability, nil
	case "all":
		return func(name string) bool { _, ok := capabilityNumber(name); return ok }, nil
	case "none":
		return CapSet(nil), nil
	case "docker", "default":
		return CapSet(DockerCaps), nil
	}
	var names []string
	for _, n := range strings.Split(spec, ",") {
		n = strings.TrimSpace(n)
		if _, ok := capabilityNumber(n); !ok {
			return nil, fmt.Errorf("unknown capability %q (want names such as CAP_SYS_ADMIN, or own, all, none, docker)", n)
		}
		names = append(names, n)
	}
	return CapSet(names), nil
}
