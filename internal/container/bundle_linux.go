package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/isolate"
)

// WriteFiles writes the files a runtime binds into a container
// (/etc/hosts, /etc/hostname, /etc/resolv.conf) into dir and returns the
// binds. Each side of a comparison gets its own, so that neither sees the
// other's writes.
func WriteFiles(dir string) ([]isolate.Bind, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}
	files := []struct {
		name, target string
		body         []byte
	}{
		{"hosts", "/etc/hosts", []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")},
		{"hostname", "/etc/hostname", []byte(Hostname + "\n")},
		{"resolv.conf", "/etc/resolv.conf", resolv},
	}
	var out []isolate.Bind
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.body, 0o644); err != nil {
			return nil, err
		}
		out = append(out, isolate.Bind{Source: p, Target: f.target})
	}
	return out, nil
}

// BundlePrefix starts the names of bundle directories; the PID of the
// gvcheck that made one follows it.
const BundlePrefix = "gvcheck-bundle-"

// Bundle is an OCI bundle for `runsc run`: config.json and the image's
// root mounted on the host as an overlay of the cached layers, whose
// writes go to a directory of the bundle (runsc's own overlay keeps the
// sandbox's writes in memory anyway; its file store lands there too).
type Bundle struct {
	Dir    string
	rootfs string
}

// NewBundle mounts the image's root and writes the specification a Docker
// Engine would give runc for p with settings s: the same process, user,
// capabilities, mounts, masked paths and namespaces. Close undoes it.
func NewBundle(im *image.Image, p *Process, s Settings) (*Bundle, error) {
	dir, err := os.MkdirTemp("", BundlePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b := &Bundle{Dir: dir, rootfs: filepath.Join(dir, "rootfs")}
	fail := func(err error) (*Bundle, error) {
		b.Close()
		return nil, fmt.Errorf("bundle: %w", err)
	}
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{b.rootfs, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := isolate.MountLayers(im.Rootfs().Layers, upper, work, b.rootfs); err != nil {
		return fail(err)
	}
	// A runtime creates the working directory; runsc does not.
	if err := mkdirIn(b.rootfs, p.Dir); err != nil {
		return fail(err)
	}
	files, err := WriteFiles(filepath.Join(dir, "files"))
	if err != nil {
		return fail(err)
	}
	spec := Spec(p, s, b.rootfs, files)
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		return fail(err)
	}
	return b, nil
}

// mkdirIn creates dir (an image path) inside root, resolving every prefix
// with openat2 in root, so that however the image's links point nothing is
// made outside it.
func mkdirIn(root, dir string) error {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	prefix := ""
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		parent := "."
		if prefix != "" {
			parent = prefix
		}
		pfd, err := unix.Openat2(rfd, parent, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		err = unix.Mkdirat(pfd, part, 0o755)
		unix.Close(pfd)
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		prefix = strings.TrimPrefix(prefix+"/"+part, "/")
	}
	return nil
}

// Close unmounts the root and removes the bundle.
func (b *Bundle) Close() error {
	var err error
	if e := unix.Unmount(b.rootfs, unix.MNT_DETACH); e != nil && e != unix.EINVAL && e != unix.ENOENT {
		err = fmt.Errorf("bundle: unmount %s: %w", b.rootfs, e)
	}
	if e := os.RemoveAll(b.Dir); e != nil && err == nil {
		err = fmt.Errorf("bundle: %w", e)
	}
	return err
}

// CleanStale unmounts and removes the bundles of gvcheck processes that
// are gone (killed before they could clean up).
func CleanStale() {
	ents, _ := os.ReadDir(os.TempDir())
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), BundlePrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) == nil || unix.Kill(pid, 0) == unix.EPERM {
			continue
		}
		b := &Bundle{Dir: filepath.Join(os.TempDir(), e.Name()), rootfs: filepath.Join(os.TempDir(), e.Name(), "rootfs")}
		_ = b.Close()
	}
}

// Mounts are the paths Spec mounts besides the root, which therefore exist
// in the sandbox whatever gVisor's own /dev and /sys hold.
var Mounts = []string{"/dev/pts", "/dev/mqueue", "/dev/shm", "/sys/fs/cgroup", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

// Spec is the OCI runtime specification Docker's defaults give p (moby
// oci/defaults.go and daemon/oci_linux.go): the process with Docker's
// capability set, the default mounts, masked and read-only paths, and
// PID, IPC, UTS, mount and (unless the host's) network namespaces.
func Spec(p *Process, s Settings, rootfs string, files []isolate.Bind) *specs.Spec {
	caps := p.Caps
	spec := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: specs.User{UID: p.UID, GID: p.GID, AdditionalGids: p.Groups},
			Args: p.Argv, Env: p.Env, Cwd: p.Dir,
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		},
		Root:     &specs.Root{Path: rootfs, Readonly: s.ReadOnly},
		Hostname: Hostname,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}},
		},
	}
	for _, f := range files {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: f.Target, Type: "bind", Source: f.Source, Options: []string{"rbind", "rprivate"}})
	}
	if s.Network != "host" {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	if s.Privileged {
		spec.Mounts[3].Options = []string{"nosuid", "noexec", "nodev"}
	} else {
		spec.Linux.MaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
		spec.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	}
	return spec
}
