//go:build linux

package isolate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// enterRootfs is Enter for an image's root (spec.Rootfs). Everything that
// creates or mounts on a path of the image happens after pivot_root, so
// that the image's symbolic links resolve inside the image, never on the
// host; host files to bind are opened before and reached through
// /proc/self/fd afterwards.
func enterRootfs(spec *Spec) error {
	r := spec.Rootfs
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("%w: new mount, UTS and IPC namespaces: %w", ErrUnavailable, err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("isolate: make mounts private: %w", err)
	}
	// Host files to bind, opened while the host's root is still there.
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// Detached copies (open_tree) survive pivot_root and are moved into
	// place afterwards; a plain descriptor's mount would be gone with the
	// old root.
	openPath := func(p string) (int, error) {
		fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return -1, fmt.Errorf("isolate: %s: %w", p, err)
		}
		fds = append(fds, fd)
		return fd, nil
	}
	files := make([]int, len(r.Files))
	for i, b := range r.Files {
		fd, err := openPath(b.Source)
		if err != nil {
			return err
		}
		files[i] = fd
	}
	hostDev := -1
	if r.Privileged {
		fd, err := openPath("/dev")
		if err != nil {
			return err
		}
		hostDev = fd
	}

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
	root, upper, work := filepath.Join(scratch, "root"), filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
	for _, d := range []string{root, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			_ = unix.Unmount(scratch, unix.MNT_DETACH)
			removeScratch()
			return fmt.Errorf("isolate: %w", err)
		}
	}
	if err := MountLayers(r.Layers, upper, work, root); err != nil {
		_ = unix.Unmount(scratch, unix.MNT_DETACH)
		removeScratch()
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := pivot(root); err != nil {
		_ = unix.Unmount(scratch, unix.MNT_DETACH)
		removeScratch()
		return err
	}
	removeScratch()

	if err := containerMounts(r, hostDev); err != nil {
		return err
	}
	for i, b := range r.Files {
		if err := bindFd(files[i], b.Target); err != nil {
			return err
		}
	}
	if r.Hostname != "" {
		if err := unix.Sethostname([]byte(r.Hostname)); err != nil {
			return fmt.Errorf("isolate: hostname: %w", err)
		}
	}
	// A runtime creates the working directory the image names.
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return fmt.Errorf("isolate: working directory %s: %w", spec.Dir, err)
	}
	if r.ReadOnly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("isolate: read-only root: %w", err)
		}
	}
	if err := unix.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("isolate: enter %s: %w", spec.Dir, err)
	}
	if r.Creds != nil {
		if err := r.Creds.apply(); err != nil {
			return err
		}
	}
	return nil
}

// MountLayers mounts an overlay of layers (top first) at target, with
// writes going to upper (work is overlayfs's scratch directory on upper's
// filesystem). With no upper it is read-only. Many layers are passed one
// by one through the new mount API where the classic option string would
// be too long.
func MountLayers(layers []string, upper, work, target string) error {
	for _, p := range append(append([]string{}, layers...), upper, work) {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("cannot overlay %q: its path holds a comma, colon or backslash", p)
		}
	}
	lower := layers
	if upper == "" && len(layers) == 1 {
		// overlayfs needs two lower layers without an upper one.
		return bind(layers[0], target, false, true)
	}
	opts := "lowerdir=" + strings.Join(lower, ":")
	if upper != "" {
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if len(opts) < 3800 {
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay of %d layers: %w", len(layers), err)
		}
		return nil
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("overlay of %d layers (the new mount API is needed, Linux 6.8): %w", len(layers), err)
	}
	defer unix.Close(fd)
	for _, l := range lower {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("overlay of %d layers (lowerdir+ needs Linux 6.8): %w", len(layers), err)
		}
	}
	if upper != "" {
		if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
			return fmt.Errorf("overlay upper: %w", err)
		}
		if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
			return fmt.Errorf("overlay work: %w", err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(layers), err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(layers), err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(layers), err)
	}
	return nil
}

// Docker's default masked and read-only paths (moby oci/defaults.go).
var (
	maskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap"}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// containerMounts mounts /proc, /sys and /dev in the new root as runc does
// for Docker's default specification.
func containerMounts(r *Rootfs, hostDev int) error {
	const nosuid, nodev, noexec = unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC
	mnt := func(src, target, fstype string, flags uintptr, data string) error {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("isolate: mount point %s: %w", target, err)
		}
		if err := unix.Mount(src, target, fstype, flags, data); err != nil {
			return fmt.Errorf("isolate: mount %s on %s: %w", fstype, target, err)
		}
		return nil
	}
	if err := mnt("proc", "/proc", "proc", nosuid|nodev|noexec, ""); err != nil {
		return err
	}
	sysFlags := uintptr(nosuid | nodev | noexec)
	if !r.Privileged {
		sysFlags |= unix.MS_RDONLY
	}
	if err := mnt("sysfs", "/sys", "sysfs", sysFlags, ""); err != nil {
		return err
	}
	if r.Privileged {
		if err := os.MkdirAll("/dev", 0o755); err != nil {
			return fmt.Errorf("isolate: %w", err)
		}
		if err := unix.MoveMount(hostDev, "", unix.AT_FDCWD, "/dev", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("isolate: bind the host's /dev: %w", err)
		}
		return nil
	}
	if err := mnt("tmpfs", "/dev", "tmpfs", nosuid|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		if err := unix.Mknod("/dev/"+d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("isolate: /dev/%s: %w", d.name, err)
		}
		// The umask trimmed the mode.
		if err := unix.Chmod("/dev/"+d.name, 0o666); err != nil {
			return fmt.Errorf("isolate: /dev/%s: %w", d.name, err)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			return fmt.Errorf("isolate: /dev/%s: %w", name, err)
		}
	}
	if err := mnt("devpts", "/dev/pts", "devpts", nosuid|noexec, "newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return err
	}
	if err := mnt("shm", "/dev/shm", "tmpfs", nosuid|nodev|noexec, "mode=1777,size=65536k"); err != nil {
		return err
	}
	if err := mnt("mqueue", "/dev/mqueue", "mqueue", nosuid|nodev|noexec, ""); err != nil {
		return err
	}
	for _, p := range maskedPaths {
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
		} else {
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("isolate: mask %s: %w", p, err)
		}
	}
	for _, p := range readonlyPaths {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := bind(p, p, true, true); err != nil {
			return err
		}
	}
	return nil
}

// bindFd moves the detached mount fd over target, creating target (an empty
// file) if the image lacks it.
func bindFd(fd int, target string) error {
	if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("isolate: %w", err)
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("isolate: %w", err)
		}
		f.Close()
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("isolate: bind over %s: %w", target, err)
	}
	return nil
}

// apply switches the calling thread to the credentials, keeping every
// capability effective until exec (the seccomp filter still has to be
// installed, which without CAP_SYS_ADMIN would need no_new_privs): exec
// then recomputes them from the bounding set, the cleared inheritable set
// and the program file's capabilities, as for a container's program.
// Only this thread changes, which is the one that execs.
func (c *Creds) apply() error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("isolate: keep capabilities: %w", err)
	}
	if err := setgroups(c.Groups); err != nil {
		return fmt.Errorf("isolate: supplementary groups: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(c.GID), uintptr(c.GID), uintptr(c.GID)); e != 0 {
		return fmt.Errorf("isolate: group %d: %w", c.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(c.UID), uintptr(c.UID), uintptr(c.UID)); e != 0 {
		return fmt.Errorf("isolate: user %d: %w", c.UID, e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("isolate: capget: %w", err)
	}
	// Effective back to permitted (setuid cleared it), inheritable empty.
	for i := range data {
		data[i].Effective = data[i].Permitted
		data[i].Inheritable = 0
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("isolate: capset: %w", err)
	}
	keep := map[int]bool{}
	for _, n := range c.Caps {
		keep[n] = true
	}
	last := lastCap()
	for n := 0; n <= last; n++ {
		if keep[n] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("isolate: drop capability %d from the bounding set: %w", n, err)
		}
	}
	return nil
}

// setgroups sets the calling thread's supplementary groups only.
func setgroups(gids []uint32) error {
	var p uintptr
	if len(gids) > 0 {
		p = uintptr(unsafe.Pointer(&gids[0]))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), p, 0); e != 0 {
		return e
	}
	return nil
}

// lastCap is the highest capability this kernel knows.
func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 40
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 40
	}
	return n
}
