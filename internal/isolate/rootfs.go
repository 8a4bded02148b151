package isolate

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Rootfs makes a run's root a container image's files instead of the
// host's, set up as a container runtime sets up a container (Docker's
// defaults with runc): the image's layers as read-only overlay lower layers
// with the run's writes in a tmpfs upper layer (so the image cache stays as
// it was), a fresh /proc of the run's PID namespace, /sys read-only, a
// minimal /dev (null, zero, full, random, urandom, tty, a private devpts,
// /dev/shm, /dev/mqueue), /etc/hosts, /etc/hostname and /etc/resolv.conf
// bound from files the caller made, the paths Docker masks masked, private
// UTS and IPC namespaces with Hostname, and the program's credentials and
// capability bounding set (Creds).
type Rootfs struct {
	// Layers are the image's unpacked layer directories, top first.
	Layers []string `json:"layers"`
	// ReadOnly makes the root read-only (docker run --read-only); the
	// mounts on it stay writable.
	ReadOnly bool `json:"read_only,omitempty"`
	// Hostname is set in the run's own UTS namespace.
	Hostname string `json:"hostname,omitempty"`
	// Files are host files bound over image paths (/etc/hosts, ...).
	Files []Bind `json:"files,omitempty"`
	// Privileged: the host's /dev, /sys writable, nothing masked
	// (docker run --privileged).
	Privileged bool `json:"privileged,omitempty"`
	// Creds, if set, are the program's user, groups and capabilities.
	Creds *Creds `json:"creds,omitempty"`
}

// Bind is a host file bound over a path of the image.
type Bind struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// Creds are the credentials a container's program starts with. The bounding
// set is dropped to Caps and the inheritable set cleared before exec, so
// that exec gives the program what a runtime gives it: a root program holds
// Caps, another user's program holds none but what its files' capabilities
// grant within Caps. No no_new_privs is set (Docker sets none by default),
// so set-user-id bits and file capabilities work as under Docker.
type Creds struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// Caps is the capability bounding set, by number.
	Caps []int `json:"caps"`
}

func (r *Rootfs) validate(dir string) error {
	if len(r.Layers) == 0 {
		return errors.New("isolate: an image root needs at least one layer")
	}
	for _, l := range r.Layers {
		if !filepath.IsAbs(l) {
			return fmt.Errorf("isolate: layer %q is not absolute", l)
		}
	}
	for _, b := range r.Files {
		if !filepath.IsAbs(b.Source) || !filepath.IsAbs(b.Target) {
			return fmt.Errorf("isolate: bind %s over %s: paths must be absolute", b.Source, b.Target)
		}
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("isolate: working directory %q is not absolute", dir)
	}
	return nil
}
