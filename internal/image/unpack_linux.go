package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Whiteout conventions of the OCI image spec (layer.md) and their overlayfs
// form.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// OpaqueXattr marks a directory that hides the lower layers' entries.
	OpaqueXattr = "trusted.overlay.opaque"
)

// unpack writes a layer's tar stream into root as an overlayfs lower layer.
// It needs root: whiteouts are 0/0 character devices, opaque directories a
// trusted.* attribute, and owners, devices and file capabilities are kept.
func unpack(tr *tar.Reader, root string) error {
	if err := unix.Chmod(root, 0o755); err != nil {
		return err
	}
	type dirMeta struct {
		path string
		hdr  *tar.Header
	}
	var dirs []dirMeta
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		rel, err := cleanName(h.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			if h.Typeflag == tar.TypeDir {
				dirs = append(dirs, dirMeta{root, h})
			}
			continue
		}
		dir, base := filepath.Split(rel)
		parent, err := mkdirs(root, dir)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		target := filepath.Join(parent, base)
		if strings.HasPrefix(base, whiteoutPrefix) {
			switch {
			case base == whiteoutOpaque:
				if err := unix.Lsetxattr(parent, OpaqueXattr, []byte("y"), 0); err != nil {
					return fmt.Errorf("%s: mark opaque: %w", h.Name, err)
				}
			case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix):
				// Other AUFS metadata: nothing to do for overlayfs.
			default:
				hidden := filepath.Join(parent, strings.TrimPrefix(base, whiteoutPrefix))
				if err := os.RemoveAll(hidden); err != nil {
					return err
				}
				if err := unix.Mknod(hidden, unix.S_IFCHR, 0); err != nil {
					return fmt.Errorf("%s: whiteout: %w", h.Name, err)
				}
			}
			continue
		}
		if h.Typeflag == tar.TypeDir {
			if st, err := os.Lstat(target); err != nil || !st.IsDir() {
				if err == nil {
					if err := os.RemoveAll(target); err != nil {
						return err
					}
				}
				if err := os.Mkdir(target, 0o755); err != nil {
					return fmt.Errorf("%s: %w", h.Name, err)
				}
			}
			dirs = append(dirs, dirMeta{target, h})
			continue
		}
		// A later entry replaces an earlier one of the same name.
		if _, err := os.Lstat(target); err == nil {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if err := writeFile(target, tr); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, target); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		case tar.TypeLink:
			src, err := cleanName(h.Linkname)
			if err != nil {
				return err
			}
			if err := linkInLayer(root, src, target); err != nil {
				return fmt.Errorf("%s: hard link to %s: %w", h.Name, h.Linkname, err)
			}
			continue // it shares the metadata of its target
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			mode := uint32(unix.S_IFIFO)
			switch h.Typeflag {
			case tar.TypeChar:
				mode = unix.S_IFCHR
			case tar.TypeBlock:
				mode = unix.S_IFBLK
			}
			if err := unix.Mknod(target, mode, int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		default:
			continue // tar metadata entries (global headers), sockets
		}
		if err := setMeta(target, h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	// Directories last, deepest first: their times would change as
	// entries were added, and a read-only mode would stop the adding.
	slices.SortStableFunc(dirs, func(a, b dirMeta) int { return strings.Count(b.path, "/") - strings.Count(a.path, "/") })
	for _, d := range dirs {
		if err := setMeta(d.path, d.hdr); err != nil {
			return fmt.Errorf("%s: %w", d.hdr.Name, err)
		}
	}
	return nil
}

// mkdirs makes sure the directory rel exists under root as real
// directories (no symbolic link is followed: a layer cannot write outside
// itself), creating missing ones as a runtime does (0755, root's).
func mkdirs(root, rel string) (string, error) {
	cur := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		switch {
		case err == nil && st.IsDir():
		case err == nil:
			return "", fmt.Errorf("%s is not a directory in this layer", strings.TrimPrefix(cur, root))
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return "", err
			}
		default:
			return "", err
		}
	}
	return cur, nil
}

func writeFile(target string, r io.Reader) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// linkInLayer makes target a hard link to src, an earlier entry of the
// same layer.
func linkInLayer(root, src, target string) error {
	dir, base := filepath.Split(src)
	parent, err := resolveNoSymlinks(root, dir)
	if err != nil {
		return err
	}
	return os.Link(filepath.Join(parent, base), target)
}

// resolveNoSymlinks returns root/rel when every component is a real
// directory.
func resolveNoSymlinks(root, rel string) (string, error) {
	cur := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		st, err := os.Lstat(cur)
		if err != nil {
			return "", err
		}
		if !st.IsDir() {
			return "", fmt.Errorf("%s is not a directory in this layer", strings.TrimPrefix(cur, root))
		}
	}
	return cur, nil
}

// setMeta applies a header's owner, mode, extended attributes and times,
// in that order: chown clears set-id bits and file capabilities.
func setMeta(path string, h *tar.Header) error {
	if err := os.Lchown(path, h.Uid, h.Gid); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := unix.Chmod(path, uint32(h.Mode)&0o7777); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.PAXRecords)) {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(name, "trusted.overlay.") {
			// An image does not get to set overlayfs's own attributes.
			continue
		}
		if err := unix.Lsetxattr(path, name, []byte(h.PAXRecords[k]), 0); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	atime := h.AccessTime
	if atime.IsZero() {
		atime = h.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(h.ModTime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return unix.NsecToTimespec(t.UnixNano())
}
