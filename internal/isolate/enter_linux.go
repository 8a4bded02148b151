//go:build linux

package isolate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Enter isolates the calling thread: it must be locked to its OS thread
// (runtime.LockOSThread) and be the one that execs the program, since a
// mount namespace entered with unshare belongs to the thread. On return the
// thread's root is the isolated copy and its working directory spec.Dir.
func Enter(spec *Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.Join != 0 {
		return join(spec)
	}
	if spec.Loopback {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if spec.Rootfs != nil {
		return enterRootfs(spec)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return fmt.Errorf("%w: new mount namespace: %w", ErrUnavailable, err)
	}
	// Nothing done here may reach the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("isolate: make mounts private: %w", err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("isolate: %w", err)
	}
	ms, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("isolate: %w", err)
	}

	// The scratch tmpfs holds every overlay's upper and work directories
	// and the new root. It is mounted on a fresh directory of the host,
	// which is removed again as soon as the new root is entered.
	scratch, err := os.MkdirTemp("", "gvcheck-isolate-")
	if err != nil {
		return fmt.Errorf("isolate: scratch directory: %w", err)
	}
	parent, err := unix.Open(filepath.Dir(scratch), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(scratch)
		return fmt.Errorf("isolate: %w", err)
	}
	defer unix.Close(parent)
	removeScratch := func() { _ = unix.Unlinkat(parent, filepath.Base(scratch), unix.AT_REMOVEDIR) }
	if err := unix.Mount("gvcheck", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		removeScratch()
		return fmt.Errorf("%w: scratch tmpfs: %w", ErrUnavailable, err)
	}
	root := filepath.Join(scratch, "root")
	if err := build(scratch, root, ms, spec); err != nil {
		_ = unix.Unmount(scratch, unix.MNT_DETACH)
		removeScratch()
		return err
	}
	if err := pivot(root); err != nil {
		_ = unix.Unmount(scratch, unix.MNT_DETACH)
		removeScratch()
		return err
	}
	removeScratch()
	if err := unix.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("isolate: enter %s: %w", spec.Dir, err)
	}
	return nil
}

// join enters the mount and network namespaces of spec.Join.
func join(spec *Spec) error {
	// A mount namespace can be entered only by a thread that shares its
	// root and working directory with no other.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("isolate: %w", err)
	}
	pidfd, err := unix.PidfdOpen(spec.Join, 0)
	if err != nil {
		return fmt.Errorf("isolate: join process %d: %w", spec.Join, err)
	}
	defer unix.Close(pidfd)
	if err := unix.Setns(pidfd, unix.CLONE_NEWNS|unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("isolate: join the namespaces of process %d: %w", spec.Join, err)
	}
	if err := unix.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("isolate: enter %s: %w", spec.Dir, err)
	}
	return nil
}

// loopbackUp brings up "lo" in a fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("isolate: loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("isolate: loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("isolate: loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("isolate: bring loopback up: %w", err)
	}
	return nil
}

// build mounts the new root at root: an overlay of the host's root, then
// each host mount as plan says.
func build(scratch, root string, ms []mount, spec *Spec) error {
	n := 0
	overlay := func(lower, target string) error {
		up := filepath.Join(scratch, fmt.Sprintf("u%d", n))
		work := filepath.Join(scratch, fmt.Sprintf("w%d", n))
		n++
		for _, d := range []string{up, work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return fmt.Errorf("isolate: %w", err)
			}
		}
		for _, p := range []string{lower, up, work} {
			if strings.ContainsAny(p, ",:\\") {
				return fmt.Errorf("isolate: cannot overlay %q: its path holds a comma, colon or backslash", p)
			}
		}
		opts := "lowerdir=" + lower + ",upperdir=" + up + ",workdir=" + work
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay %s: %w", lower, err)
		}
		return nil
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		return fmt.Errorf("isolate: %w", err)
	}
	if err := overlay("/", root); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, s := range plan(ms) {
		if within(s.point, scratch) || spec.DiskUpper != "" && within(s.point, spec.DiskUpper) {
			continue
		}
		target := filepath.Join(root, s.point)
		st, err := os.Lstat(target)
		if err != nil || (st.Mode()&os.ModeSymlink != 0) {
			// Mounted on something the root overlay does not show as
			// such (a point below another mount whose lower layer hides
			// it): nothing sensible to mount on.
			continue
		}
		switch s.action {
		case overlayMount:
			if st.IsDir() {
				if err := overlay(s.point, target); err == nil {
					continue
				}
			}
			// A file, or a filesystem overlayfs cannot stack on: bind it.
			if err := bind(s.point, target, false, false); err != nil {
				return err
			}
		case bindTree:
			if s.point == "/proc" && unix.Getpid() == 1 {
				// The first process of a PID namespace of its own: its
				// /proc shows that namespace, as in a container.
				if err := unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
					return fmt.Errorf("isolate: mount /proc: %w", err)
				}
				continue
			}
			if err := bind(s.point, target, true, false); err != nil {
				return err
			}
		case bindReadOnly:
			if err := bind(s.point, target, true, true); err != nil {
				return err
			}
		}
	}
	if spec.DiskUpper != "" && spec.Dir != "/" {
		// The working directory's writes go to the user's own filesystem.
		// If overlayfs refuses (a lower it cannot stack on), they stay in
		// memory with the rest.
		up, work := filepath.Join(spec.DiskUpper, "u"), filepath.Join(spec.DiskUpper, "w")
		if os.Mkdir(up, 0o755) == nil && os.Mkdir(work, 0o755) == nil && !strings.ContainsAny(spec.Dir+up, ",:\\") {
			_ = unix.Mount("overlay", filepath.Join(root, spec.Dir), "overlay", 0, "lowerdir="+spec.Dir+",upperdir="+up+",workdir="+work)
		}
	}
	return nil
}

func bind(src, target string, recursive, readOnly bool) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	if err := unix.Mount(src, target, "", flags, ""); err != nil {
		return fmt.Errorf("isolate: bind %s: %w", src, err)
	}
	if readOnly {
		// A bind starts writable; a read-only host mount stays read-only.
		// Locked flags (nosuid, nodev of an unprivileged mount) must be
		// kept in a remount, so read them back.
		var st unix.Statfs_t
		extra := uintptr(0)
		if unix.Statfs(src, &st) == nil {
			for _, f := range []uintptr{unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC} {
				if uintptr(st.Flags)&f != 0 {
					extra |= f
				}
			}
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|extra, ""); err != nil && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("isolate: make %s read-only: %w", src, err)
		}
	}
	return nil
}

// pivot makes root the thread's root and drops the old one from its
// namespace.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("isolate: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching
	// the top then leaves only the new root (no directory is needed to
	// park the old one in).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("isolate: pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("isolate: detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("isolate: %w", err)
	}
	return nil
}
