package imagecheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Settings are a container's runtime settings, from `docker run` options
// or a Kubernetes container and its pod.
type Settings struct {
	// CapAdd are capabilities added to the runtime's default set.
	CapAdd      []string
	Privileged  bool
	HostNetwork bool
	HostPID     bool
	HostIPC     bool
	// HostPaths are host paths mounted into the container (hostPath
	// volumes, bind mounts), with whether the path is a socket.
	HostPaths []HostPath
	// Seccomp names the container's seccomp profile: a file,
	// RuntimeDefault, Localhost/NAME; "" or Unconfined for none.
	Seccomp string
	// AppArmor names the container's AppArmor profile ("" for none).
	AppArmor string
}

// HostPath is a host path mounted into a container.
type HostPath struct {
	Path   string
	Socket bool
}

// capSyscalls are, per capability, the syscalls whose use it allows; gVisor
// grants every capability a container's specification asks for
// (runsc/specutils/specutils.go:Capabilities), but implements not every
// syscall those capabilities are for.
var capSyscalls = map[string][]string{
	"CAP_SYS_MODULE": {"init_module", "finit_module", "delete_module"},
	"CAP_SYS_TIME":   {"settimeofday", "clock_settime", "adjtimex", "clock_adjtime"},
	"CAP_SYS_BOOT":   {"reboot", "kexec_load", "kexec_file_load"},
	"CAP_SYS_PACCT":  {"acct"},
	"CAP_SYS_RAWIO":  {"iopl", "ioperm"},
	"CAP_SYSLOG":     {"syslog"},
	"CAP_SYS_ADMIN":  {"swapon", "swapoff", "quotactl", "lookup_dcookie", "fanotify_init"},
	"CAP_SYS_NICE":   {"sched_setparam", "migrate_pages", "move_pages"},
}

// Sources in gVisor's code, relative to the gvisor.dev/gvisor module.
const (
	srcNetRaw     = "runsc/config/flags.go (net-raw), runsc/specutils/specutils.go:Capabilities"
	srcCaps       = "runsc/specutils/specutils.go:Capabilities"
	srcNamespaces = "runsc/sandbox/sandbox.go:createSandboxProcess"
	srcDevices    = "runsc/boot/vfs.go:createDeviceFile"
	srcSeccomp    = "runsc/boot/seccomp.go:buildOCISeccompProgram"
	srcAppArmor   = "runsc/specutils/specutils.go:ValidateSpec"
	srcHostUDS    = "runsc/config/flags.go (host-uds)"
)

// SettingFindings judges a container's settings against the target: the
// runsc options (and the table, for what capabilities allow).
func SettingFindings(s Settings, table *compat.Table, runscFlags []string) []analyze.Finding {
	var out []analyze.Finding
	add := func(arg string, level analyze.Level, needs, src, note string) {
		out = append(out, analyze.Finding{Kind: analyze.KindSetting, Syscall: "-", Arg: arg, Number: -1, Level: level,
			Support: compat.Full, InTable: true, NeedsFlag: needs, Source: src, Note: note})
	}
	netRaw := hasFlag(runscFlags, "net-raw")
	for _, c := range s.CapAdd {
		name := c
		if n, ok := filecap.Number(c); ok {
			name = filecap.Name(n)
		}
		switch {
		case strings.EqualFold(c, "ALL"):
			add("capabilities: add ALL", analyze.LevelPartial, "", srcCaps,
				"every capability is granted inside the sandbox, but gVisor implements what each allows only in part; CAP_NET_RAW needs --net-raw")
		case name == "CAP_NET_RAW" && !netRaw:
			add("capabilities: add NET_RAW", analyze.LevelNeedsOption, "--net-raw", srcNetRaw,
				"runsc removes CAP_NET_RAW from every container unless it runs with --net-raw: raw and packet sockets fail with EPERM")
		default:
			if missing := unimplemented(table, capSyscalls[name]); len(missing) > 0 {
				add("capabilities: add "+strings.TrimPrefix(name, "CAP_"), analyze.LevelUnsupportedArg, "", srcCaps,
					fmt.Sprintf("%s is granted inside the sandbox, but gVisor does not implement what it allows: %s", name, strings.Join(missing, ", ")))
			}
		}
	}
	if s.Privileged {
		note := "runsc has no privileged mode: the sandbox gets every capability, but the host's devices are not reachable " +
			"(runsc makes the device files in gVisor's own /dev, and only devices gVisor implements answer), /proc and /sys are gVisor's own"
		if !netRaw {
			note += ", and CAP_NET_RAW still needs --net-raw"
		}
		add("privileged", analyze.LevelUnsupportedArg, "", srcDevices+", "+srcCaps, note)
	}
	if s.HostNetwork {
		if hasNetworkHost(runscFlags) {
			add("host network", analyze.LevelPartial, "", srcNamespaces,
				"runsc --network=host: the sandbox uses the host's network through gVisor's hostinet")
		} else {
			add("host network", analyze.LevelNeedsOption, "--network=host", srcNamespaces,
				"runsc starts the sandbox in a new network namespace unless it runs with --network=host: the container does not get the host's network")
		}
	}
	if s.HostPID {
		add("host PID namespace", analyze.LevelUnsupportedArg, "", srcNamespaces,
			"runsc always starts the sandbox in a PID namespace of its own: the container sees its sandbox's processes, not the host's")
	}
	if s.HostIPC {
		add("host IPC namespace", analyze.LevelUnsupportedArg, "", srcNamespaces,
			"runsc starts the sandbox in new mount, IPC and UTS namespaces (they are virtualized inside the sandbox): no IPC with the host's processes")
	}
	for _, hp := range s.HostPaths {
		if hp.Socket && !hasFlagValue(runscFlags, "host-uds", "open", "all") {
			add("host path "+hp.Path, analyze.LevelNeedsOption, "--host-uds=open", srcHostUDS,
				"a host Unix socket: runsc refuses to connect to host sockets unless --host-uds allows it")
		}
	}
	switch strings.ToLower(s.Seccomp) {
	case "", "unconfined":
	default:
		if !hasFlag(runscFlags, "oci-seccomp") {
			add("seccomp profile "+s.Seccomp, analyze.LevelPartial, "", srcSeccomp,
				"runsc ignores the container's seccomp profile unless it runs with --oci-seccomp (gVisor's own syscall filter protects the host either way)")
		}
	}
	if s.AppArmor != "" && !strings.EqualFold(s.AppArmor, "unconfined") {
		add("AppArmor profile "+s.AppArmor, analyze.LevelPartial, "", srcAppArmor,
			"runsc ignores AppArmor profiles")
	}
	return out
}

func unimplemented(table *compat.Table, names []string) []string {
	var out []string
	if table == nil {
		return nil
	}
	for _, n := range names {
		nr, ok := sysno.Number(table.Arch, n)
		if !ok {
			continue
		}
		if table.Lookup(nr).Support == compat.Unimplemented {
			out = append(out, n)
		}
	}
	return out
}

func hasNetworkHost(flags []string) bool {
	for i, f := range flags {
		n, v, ok := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if n != "network" {
			continue
		}
		if !ok && i+1 < len(flags) {
			v = flags[i+1]
		}
		return v == "host"
	}
	return false
}

func hasFlagValue(flags []string, name string, values ...string) bool {
	for _, f := range flags {
		n, v, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if n == name && slices.Contains(values, v) {
			return true
		}
	}
	return false
}
