// Package outfile writes gvcheck's reports and saved profiles to the path
// a user names, safely when gvcheck runs as root in a directory others can
// write to (/tmp):
//
//   - The path is resolved one component at a time from descriptors
//     (O_PATH|O_NOFOLLOW), never by the kernel following links on its own.
//     A symbolic link is followed only if the kernel's protected_symlinks
//     rule allows it whatever the sysctl says: not in a sticky
//     world-writable directory unless the link belongs to gvcheck's user or
//     to the directory's owner. So a link another user plants in /tmp, to a
//     device or to a root-owned file, is refused, and swapping it while
//     gvcheck resolves it changes nothing (each link is read through the
//     descriptor whose owner was checked).
//   - In such a directory, an existing file of another user (a FIFO, or a
//     regular file, as protected_fifos and protected_regular treat them) is
//     refused too.
//   - A regular file, or a name that does not exist yet, is replaced
//     atomically (temporary file and rename in the target's own directory),
//     so a failed run leaves no half report; through an allowed symbolic
//     link that is the link's target, not the link. An existing file keeps
//     its mode (and owner, when gvcheck may set it); a new one gets 0666
//     less the umask, as a shell's redirection would.
//   - A character device, FIFO or terminal (/dev/null, a pipe) is written in
//     place; a block device or a socket never.
//   - /dev/stdout, /dev/stderr and /dev/fd/N (and /proc/self/fd/N) write to
//     that descriptor of gvcheck itself, as shells treat those names.
package outfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxHops bounds the symbolic links followed, as the kernel's 40.
const maxHops = 40

// Write writes what fn produces to name.
func Write(name string, fn func(io.Writer) error) error {
	if name == "" {
		return errors.New("empty file name")
	}
	if fd, ok := ownDescriptor(name); ok {
		return writeFd(fd, name, fn)
	}
	dir, base, err := resolve(name)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	return writeAt(dir, base, name, fn)
}

// ownDescriptor recognises the names of gvcheck's own descriptors.
func ownDescriptor(name string) (int, bool) {
	switch path.Clean(name) {
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	for _, p := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if s, ok := strings.CutPrefix(path.Clean(name), p); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func writeFd(fd int, name string, fn func(io.Writer) error) error {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f := os.NewFile(uintptr(nfd), name)
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resolve returns a descriptor of the directory that holds name's last
// component, and that component, following symbolic links only as the
// package comment says.
func resolve(name string) (int, string, error) {
	if strings.HasSuffix(name, "/") {
		return -1, "", fmt.Errorf("%s: is a directory", name)
	}
	start := "."
	if strings.HasPrefix(name, "/") {
		start = "/"
	}
	dir, err := unix.Open(start, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("%s: %w", name, err)
	}
	parts := split(name)
	hops := 0
	for {
		if len(parts) == 0 {
			unix.Close(dir)
			return -1, "", fmt.Errorf("%s: is a directory", name)
		}
		c := parts[0]
		last := len(parts) == 1
		fd, err := unix.Openat(dir, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if last && errors.Is(err, unix.ENOENT) {
				return dir, c, nil // a new file
			}
			unix.Close(dir)
			return -1, "", fmt.Errorf("%s: %w", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			unix.Close(dir)
			return -1, "", fmt.Errorf("%s: %w", name, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if hops++; hops > maxHops {
				unix.Close(fd)
				unix.Close(dir)
				return -1, "", fmt.Errorf("%s: %w", name, unix.ELOOP)
			}
			target, err := linkTarget(dir, fd, &st)
			unix.Close(fd)
			if err != nil {
				unix.Close(dir)
				return -1, "", fmt.Errorf("%s: %w", name, err)
			}
			if procfs(dir) && (strings.HasPrefix(target, "/") || strings.Contains(target, ":[")) {
				// A descriptor's magic link (/proc/PID/fd/N: pipe:[...], or
				// a path that may be gone): only the kernel can open it,
				// and procfs is nobody's to plant links in.
				if !last {
					unix.Close(dir)
					return -1, "", fmt.Errorf("%s: not a directory", name)
				}
				return dir, c, nil
			}
			if strings.HasPrefix(target, "/") {
				unix.Close(dir)
				if dir, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
					return -1, "", fmt.Errorf("%s: %w", name, err)
				}
			}
			parts = append(split(target), parts[1:]...)
		case unix.S_IFDIR:
			if last {
				unix.Close(fd)
				unix.Close(dir)
				return -1, "", fmt.Errorf("%s: is a directory", name)
			}
			unix.Close(dir)
			dir = fd
			parts = parts[1:]
		default:
			unix.Close(fd)
			if !last {
				unix.Close(dir)
				return -1, "", fmt.Errorf("%s: %w", name, unix.ENOTDIR)
			}
			return dir, c, nil
		}
	}
}

func split(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// linkTarget checks that the link open at fd (in directory dir) may be
// followed and returns its target, read through fd itself.
func linkTarget(dir, fd int, link *unix.Stat_t) (string, error) {
	var dst unix.Stat_t
	if err := unix.Fstat(dir, &dst); err != nil {
		return "", err
	}
	if planted(&dst, link.Uid) {
		return "", fmt.Errorf("refusing to follow a symbolic link that user %d made in a sticky world-writable directory (it could point anywhere, a device or another user's file)", link.Uid)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// planted reports whether a file of owner uid in directory dst is none of
// gvcheck's business to follow or write: the directory is sticky and
// world-writable, and neither gvcheck's user nor the directory's owner
// owns the file.
func planted(dst *unix.Stat_t, uid uint32) bool {
	return dst.Mode&unix.S_ISVTX != 0 && dst.Mode&0o002 != 0 && uid != uint32(os.Geteuid()) && uid != dst.Uid
}

func procfs(dir int) bool {
	var fs unix.Statfs_t
	return unix.Fstatfs(dir, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}

// writeAt writes name's content as base in dir.
func writeAt(dir int, base, name string, fn func(io.Writer) error) error {
	var st unix.Stat_t
	err := unix.Fstatat(dir, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return replace(dir, base, name, nil, fn)
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	}
	var dst unix.Stat_t
	if err := unix.Fstat(dir, &dst); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if planted(&dst, st.Uid) {
			return fmt.Errorf("%s: refusing to replace a file of user %d in a sticky world-writable directory", name, st.Uid)
		}
		return replace(dir, base, name, &st, fn)
	case unix.S_IFCHR, unix.S_IFIFO:
		if planted(&dst, st.Uid) {
			return fmt.Errorf("%s: refusing to write to a device or FIFO of user %d in a sticky world-writable directory", name, st.Uid)
		}
		return inPlace(dir, base, name, &st, fn)
	case unix.S_IFLNK: // a descriptor's magic link in /proc
		return inPlace(dir, base, name, nil, fn)
	case unix.S_IFBLK:
		return fmt.Errorf("%s: refusing to write a report over a block device", name)
	case unix.S_IFDIR:
		return fmt.Errorf("%s: is a directory", name)
	}
	return fmt.Errorf("%s: not a file gvcheck can write to", name)
}

// inPlace writes to an existing device, FIFO or descriptor link: the node
// is opened through a descriptor of exactly the file that was checked.
func inPlace(dir int, base, name string, want *unix.Stat_t, fn func(io.Writer) error) error {
	var fd int
	var err error
	if want == nil {
		fd, err = unix.Openat(dir, base, unix.O_WRONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	} else {
		var p int
		if p, err = unix.Openat(dir, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			var st unix.Stat_t
			if err = unix.Fstat(p, &st); err == nil && (st.Dev != want.Dev || st.Ino != want.Ino) {
				err = errors.New("it changed while gvcheck opened it")
			}
			if err == nil {
				fd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(p), unix.O_WRONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			}
			unix.Close(p)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		// A descriptor link to a regular file: replace its content.
		_ = unix.Ftruncate(fd, 0)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// replace writes a temporary file in dir and renames it over base: the
// reader sees the old content or the new, never half of it. old, if set,
// is the file replaced, whose mode and owner the new one keeps.
func replace(dir int, base, name string, old *unix.Stat_t, fn func(io.Writer) error) error {
	var tmp string
	var fd int
	for range 10 {
		var r [8]byte
		_, _ = rand.Read(r[:])
		tmp = ".gvcheck-" + hex.EncodeToString(r[:])
		var err error
		fd, err = unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w", name, err)
		}
		fd = -1
	}
	if fd < 0 {
		return fmt.Errorf("%s: cannot create a temporary file", name)
	}
	f := os.NewFile(uintptr(fd), tmp)
	done := false
	defer func() {
		if !done {
			f.Close()
			_ = unix.Unlinkat(dir, tmp, 0)
		}
	}()
	if err := fn(f); err != nil {
		return err
	}
	mode := uint32(0o666) &^ umask()
	if old != nil {
		mode = old.Mode & 0o7777
		// Keeping the owner needs the privilege to give files away; without
		// it the new file is the writer's, as with any editor's save.
		_ = unix.Fchown(fd, int(old.Uid), int(old.Gid))
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done = true
	if err := unix.Renameat(dir, tmp, dir, base); err != nil {
		_ = unix.Unlinkat(dir, tmp, 0)
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// umask reads the process's umask without changing it (Linux 4.7+), else
// by setting and restoring it.
func umask() uint32 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	m := unix.Umask(0o022)
	unix.Umask(m)
	return uint32(m)
}
