package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Rootfs is the merged view of unpacked layers, as overlayfs shows them,
// read without mounting anything: an entry comes from the highest layer
// that has it, a whiteout hides it, and an opaque directory hides what the
// layers below hold under it. Paths are absolute paths of the image.
type Rootfs struct {
	// Layers are the layer directories, top first.
	Layers []string
}

// ErrLoop is returned (wrapped) for too many levels of symbolic links.
var ErrLoop = errors.New("too many levels of symbolic links")

// Lstat finds p (not following a final symbolic link; earlier components
// must be directories as they are in the layers) and returns the host path
// of the entry that shows.
func (r *Rootfs) Lstat(p string) (string, fs.FileInfo, error) {
	p = path.Clean("/" + p)
	comps := splitPath(p)
	for _, layer := range r.Layers {
		full := filepath.Join(layer, p)
		st, err := os.Lstat(full)
		if err == nil {
			if isWhiteout(st) {
				return "", nil, notExist(p)
			}
			return full, st, nil
		}
		// Absent here: does this layer hide the layers below at p?
		cur := layer
		for i := 0; i < len(comps)-1; i++ {
			cur = filepath.Join(cur, comps[i])
			st, err := os.Lstat(cur)
			if err != nil {
				break // nothing of this layer at or below cur
			}
			if isWhiteout(st) || !st.IsDir() {
				return "", nil, notExist(p)
			}
			if opaque(cur) {
				return "", nil, notExist(p)
			}
		}
	}
	return "", nil, notExist(p)
}

func notExist(p string) error {
	return &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isWhiteout(st fs.FileInfo) bool {
	if st.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return sys.Rdev == 0
}

func opaque(dir string) bool {
	b := make([]byte, 4)
	n, err := unix.Lgetxattr(dir, OpaqueXattr, b)
	return err == nil && n == 1 && b[0] == 'y'
}

// Resolve follows symbolic links in p as the kernel would with this root
// (absolute targets start at the image's root, ".." stops there), the
// final one too when follow is set. It returns the image path reached and
// its host path.
func (r *Rootfs) Resolve(p string, follow bool) (string, string, fs.FileInfo, error) {
	const maxLinks = 40
	links := 0
	todo := splitPath(path.Clean("/" + p))
	cur := "/"
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if c == "." || c == "" {
			continue
		}
		if c == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		host, st, err := r.Lstat(next)
		if err != nil {
			return next, "", nil, err
		}
		if st.Mode()&fs.ModeSymlink != 0 && (len(todo) > 0 || follow) {
			links++
			if links > maxLinks {
				return next, "", nil, fmt.Errorf("%s: %w", p, ErrLoop)
			}
			target, err := os.Readlink(host)
			if err != nil {
				return next, "", nil, err
			}
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		if len(todo) > 0 && !st.IsDir() {
			return next, "", nil, &fs.PathError{Op: "resolve", Path: next, Err: unix.ENOTDIR}
		}
		cur = next
	}
	host, st, err := r.Lstat(cur)
	return cur, host, st, err
}

// Stat is Resolve following every link; it returns the host path.
func (r *Rootfs) Stat(p string) (string, fs.FileInfo, error) {
	_, host, st, err := r.Resolve(p, true)
	return host, st, err
}

// ReadFile reads an image file, following links.
func (r *Rootfs) ReadFile(p string) ([]byte, error) {
	host, st, err := r.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return os.ReadFile(host)
}

// Entry is one file of the merged view.
type Entry struct {
	Path string // in the image
	Host string // where its content is
	Info fs.FileInfo
}

// Walk calls fn for every entry the merged view shows, each once, in
// lexical order of path within a directory; directories before their
// contents.
func (r *Rootfs) Walk(fn func(Entry) error) error {
	return r.walk("/", fn)
}

func (r *Rootfs) walk(dir string, fn func(Entry) error) error {
	names, err := r.readDirNames(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		host, st, err := r.Lstat(p)
		if err != nil {
			continue // hidden
		}
		if err := fn(Entry{Path: p, Host: host, Info: st}); err != nil {
			return err
		}
		if st.IsDir() {
			if err := r.walk(p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDirNames lists a merged directory: the union of the layers' entries
// down to the first layer where the directory is opaque, less whiteouts
// (Lstat drops those).
func (r *Rootfs) readDirNames(dir string) ([]string, error) {
	seen := map[string]bool{}
	for _, layer := range r.Layers {
		full := filepath.Join(layer, dir)
		st, err := os.Lstat(full)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			break // a file or whiteout here hides the directories below
		}
		ents, err := os.ReadDir(full)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			seen[e.Name()] = true
		}
		if opaque(full) {
			break
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for n := range seen {
			if !yield(n) {
				return
			}
		}
	}), nil
}
