// Package container turns an image and the settings of `docker run` into
// what a container runtime would start: the program's argv, environment,
// working directory, user, groups and capabilities, honoured the same way
// natively (package isolate's Rootfs) and under gVisor (an OCI bundle for
// `runsc run`), and says which runsc options those settings need.
package container

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/isolate"
)

// Settings are the `docker run` options that change the answer.
type Settings struct {
	CapAdd, CapDrop []string
	Privileged      bool
	// Network is "none" (loopback only, gvcheck's default) or "host".
	Network  string
	ReadOnly bool
	// Seccomp is a seccomp profile file, "unconfined", or "" for the
	// runtime's default.
	Seccomp string
	// User, if set, replaces the image's user (docker run --user).
	User string
}

// Hostname is the container's host name on both sides.
const Hostname = "gvcheck"

// DefaultPath is the PATH a runtime sets when the image gives none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DockerCaps are the capabilities Docker grants by default (moby
// oci/defaults.go, DefaultCapabilities).
var DockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Validate checks the settings' values.
func (s Settings) Validate() error {
	switch s.Network {
	case "", "none", "host":
	default:
		return fmt.Errorf("network %q: gvcheck runs containers with none (loopback only) or host", s.Network)
	}
	for _, c := range append(slices.Clone(s.CapAdd), s.CapDrop...) {
		if strings.EqualFold(c, "ALL") {
			continue
		}
		if _, ok := filecap.Number(c); !ok {
			return fmt.Errorf("unknown capability %q", c)
		}
	}
	return nil
}

// Caps is the container's capability set: Docker's default with CapAdd
// and less CapDrop ("ALL" allowed in both), every capability when
// privileged.
func (s Settings) Caps() []string {
	all := allCaps()
	if s.Privileged {
		return all
	}
	set := map[string]bool{}
	for _, c := range DockerCaps {
		set[c] = true
	}
	for _, c := range s.CapDrop {
		if strings.EqualFold(c, "ALL") {
			clear(set)
			continue
		}
		delete(set, capName(c))
	}
	for _, c := range s.CapAdd {
		if strings.EqualFold(c, "ALL") {
			for _, a := range all {
				set[a] = true
			}
			continue
		}
		set[capName(c)] = true
	}
	var out []string
	for _, c := range all {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

func allCaps() []string {
	var out []string
	for n := 0; ; n++ {
		name := filecap.Name(n)
		if _, ok := filecap.Number(name); !ok {
			return out
		}
		out = append(out, name)
	}
}

func capName(c string) string {
	n, ok := filecap.Number(c)
	if !ok {
		return strings.ToUpper(c)
	}
	return filecap.Name(n)
}

// Process is the container's first program.
type Process struct {
	// Argv is the command line; Path the executable it resolves to in the
	// image (argv[0] itself is passed as it is, as runc does).
	Argv []string
	Path string
	Env  []string
	Dir  string
	// UID, GID and Groups are resolved from the image's /etc/passwd and
	// /etc/group.
	UID, GID uint32
	Groups   []uint32
	// Caps is the capability set (bounding; a root program's effective).
	Caps []string
}

// ErrNoCommand is returned when neither the image nor the caller names a
// program.
var ErrNoCommand = errors.New("the image has no entrypoint or command, and none was given")

// NewProcess derives the program from the image: its entrypoint followed by
// args, or by its cmd when args is empty (as `docker run IMAGE ARGS`), its
// environment (PATH, HOSTNAME and HOME added as a runtime adds them), its
// working directory and its user (or s.User).
func NewProcess(im *image.Image, args []string, s Settings) (*Process, error) {
	rootfs := im.Rootfs()
	argv := slices.Clone(im.Config.Entrypoint)
	if len(args) > 0 {
		argv = append(argv, args...)
	} else {
		argv = append(argv, im.Config.Cmd...)
	}
	if len(argv) == 0 {
		return nil, ErrNoCommand
	}
	userSpec := im.Config.User
	if s.User != "" {
		userSpec = s.User
	}
	u, err := LookupUser(rootfs, userSpec)
	if err != nil {
		return nil, err
	}
	env := slices.Clone(im.Config.Env)
	if !hasenv(env, "PATH") {
		env = append([]string{"PATH=" + DefaultPath}, env...)
	}
	env = setenv(env, "HOSTNAME", Hostname)
	if !hasenv(env, "HOME") {
		env = append(env, "HOME="+u.Home)
	}
	dir := im.Config.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if !path.IsAbs(dir) {
		dir = "/" + dir
	}
	p := &Process{Argv: argv, Env: env, Dir: path.Clean(dir), UID: u.UID, GID: u.GID, Groups: u.Groups, Caps: s.Caps()}
	p.Path, err = LookPath(rootfs, argv[0], getenv(env, "PATH"), p.Dir)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// LookPath finds the executable a runtime would run for name: a name with
// a slash as it is (against dir when relative), else the first executable
// regular file of that name in the PATH directories, in the image.
func LookPath(r *image.Rootfs, name, pathEnv, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join(dir, p)
		}
		if _, _, err := r.Stat(p); err != nil {
			return "", fmt.Errorf("the image has no %s: %w", p, err)
		}
		return p, nil
	}
	for _, d := range strings.Split(pathEnv, ":") {
		if d == "" {
			d = dir
		}
		p := path.Join(d, name)
		if !path.IsAbs(p) {
			p = path.Join(dir, p)
		}
		if _, st, err := r.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: executable file not found in the image's $PATH (%s): %w", name, pathEnv, fs.ErrNotExist)
}

// Isolation is the Rootfs that runs p natively as the runtime would, with
// files the host binds over /etc/hosts, /etc/hostname and /etc/resolv.conf.
func (p *Process) Isolation(im *image.Image, s Settings, files []isolate.Bind) *isolate.Rootfs {
	r := &isolate.Rootfs{Layers: im.Rootfs().Layers, ReadOnly: s.ReadOnly, Hostname: Hostname, Files: files,
		Privileged: s.Privileged, Creds: &isolate.Creds{UID: p.UID, GID: p.GID, Groups: p.Groups}}
	for _, c := range p.Caps {
		if n, ok := filecap.Number(c); ok {
			r.Creds.Caps = append(r.Creds.Caps, n)
		}
	}
	return r
}

func getenv(env []string, k string) string {
	v := ""
	for _, kv := range env {
		if val, ok := strings.CutPrefix(kv, k+"="); ok {
			v = val
		}
	}
	return v
}

func hasenv(env []string, k string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
}

func setenv(env []string, k, v string) []string {
	out := slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
	return append(out, k+"="+v)
}
