// Package isolate gives each run of a program its own copy of the machine's
// files, so that runs compared with each other start from the same state and
// leave the user's files as they were.
//
// Under gVisor, `runsc do` runs a program over an in-memory overlay of the
// host's root: whatever it writes disappears with the sandbox. A native run
// that is to be compared with it (verify), or with other native runs
// (probe), gets the same treatment here: a private mount namespace whose
// root is an overlay of the host's root, with every writable filesystem
// overlaid the same way (writes go to a tmpfs private to the run) and the
// kernel's own filesystems (/proc, /sys, /dev, cgroups) bound as they are.
// Nothing is left on the host: the tmpfs is reachable only from the run's
// namespace, and the directory it was mounted on is removed before the
// program starts.
//
// Enter runs in the re-exec shim, in the thread that will exec the program,
// before any seccomp filter is installed.
package isolate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Spec says how to isolate one run.
type Spec struct {
	// Dir is the program's working directory, an absolute path. It is
	// entered inside the isolated root.
	Dir string `json:"dir"`
	// Loopback brings up the loopback interface: the run has a network
	// namespace of its own, as a sandbox without a network has.
	Loopback bool `json:"loopback,omitempty"`
	// DiskUpper, if set, is an empty directory on the same filesystem as
	// Dir (and outside it) that takes the working directory's writes, so
	// that files the program creates there behave as on the user's disk
	// (FIEMAP, fallocate modes, O_DIRECT), not as on a tmpfs. See Scratch.
	DiskUpper string `json:"disk_upper,omitempty"`
	// Join, instead of building a root, enters the mount and network
	// namespaces of this process (a run's PID 1, seen from here), so that
	// a test command sees what the program sees.
	Join int `json:"join,omitempty"`
	// Rootfs, if set, makes the root a container image's files instead of
	// a copy of the host's (see Rootfs); Dir is then a path of the image.
	Rootfs *Rootfs `json:"rootfs,omitempty"`
}

// Validate checks a spec before it is handed to the shim.
func (s *Spec) Validate() error {
	if s.Join < 0 {
		return fmt.Errorf("isolate: bad process %d to join", s.Join)
	}
	if s.Dir == "" || !filepath.IsAbs(s.Dir) {
		return fmt.Errorf("isolate: working directory %q is not absolute", s.Dir)
	}
	if s.Rootfs != nil {
		return s.Rootfs.validate(s.Dir)
	}
	return nil
}

// ErrUnavailable is returned (wrapped) when this machine cannot isolate a
// run: no privilege to create a mount namespace, or no overlayfs.
var ErrUnavailable = errors.New("runs cannot be isolated here")

// Scratch makes the DiskUpper directory for a run in dir: a new directory
// on dir's filesystem, outside dir, named for this process (so that one a
// killed gvcheck left behind can be recognised). It returns "" when no
// such place is writable; the run then keeps its writes in memory. The
// caller removes the directory after the run (os.RemoveAll).
func Scratch(dir string) string {
	dev, ok := device(dir)
	if !ok {
		return ""
	}
	candidates := []string{os.TempDir(), "/var/tmp"}
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		candidates = append(candidates, d)
	}
	for _, c := range candidates {
		if within(c, dir) {
			continue
		}
		if d, ok := device(c); !ok || d != dev {
			continue
		}
		s, err := os.MkdirTemp(c, ScratchPrefix+strconv.Itoa(os.Getpid())+"-")
		if err == nil {
			return s
		}
	}
	return ""
}

// ScratchPrefix starts the names of scratch directories: a directory named
// ScratchPrefix+PID+"-..." belongs to the gvcheck process PID.
const ScratchPrefix = ".gvcheck-run-"

func device(p string) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, false
	}
	return st.Dev, true
}
