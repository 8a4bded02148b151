package image

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Cache holds unpacked layers, each in a directory named by its
// uncompressed digest (the diff id): layers/sha256-HEX. A layer is
// unpacked into a temporary directory and renamed into place when complete,
// so a directory that exists is whole; two gvcheck processes unpacking the
// same layer at once both succeed and one copy is kept. Nothing writes to
// an unpacked layer afterwards: runs mount them as read-only overlay
// layers.
type Cache struct {
	Dir string
}

// DefaultCacheDir is $XDG_CACHE_HOME/gvcheck (~/.cache/gvcheck).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	return filepath.Join(d, "gvcheck"), nil
}

func (c *Cache) layersDir() string { return filepath.Join(c.Dir, "layers") }

// layerDir is where the layer with diff id h is (or would be) unpacked.
func (c *Cache) layerDir(h v1.Hash) string {
	return filepath.Join(c.layersDir(), h.Algorithm+"-"+h.Hex)
}

// Cached returns the directory of an unpacked layer, if it is there.
func (c *Cache) Cached(h v1.Hash) (string, bool) {
	d := c.layerDir(h)
	st, err := os.Stat(d)
	return d, err == nil && st.IsDir()
}

// Layer returns the directory of the layer with diff id h, unpacking the
// uncompressed tar stream open returns first if it is not cached. The
// stream's digest must be h.
func (c *Cache) Layer(h v1.Hash, open func() (io.ReadCloser, error)) (string, error) {
	if d, ok := c.Cached(h); ok {
		return d, nil
	}
	if h.Algorithm != "sha256" {
		return "", fmt.Errorf("layer %s: unsupported digest algorithm", h)
	}
	if err := os.MkdirAll(c.layersDir(), 0o755); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	tmp, err := os.MkdirTemp(c.layersDir(), ".tmp-")
	if err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	rc, err := open()
	if err != nil {
		return "", fmt.Errorf("layer %s: %w", h, err)
	}
	defer rc.Close()
	sum := sha256.New()
	if err := unpack(tar.NewReader(io.TeeReader(rc, sum)), tmp); err != nil {
		return "", fmt.Errorf("layer %s: %w", h, err)
	}
	// The tar's end-of-archive padding belongs to the digest too.
	if _, err := io.Copy(io.Discard, io.TeeReader(rc, sum)); err != nil {
		return "", fmt.Errorf("layer %s: %w", h, err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != h.Hex {
		return "", fmt.Errorf("layer %s: its content has digest sha256:%s", h, got)
	}
	final := c.layerDir(h)
	if err := os.Rename(tmp, final); err != nil {
		if _, ok := c.Cached(h); ok {
			return final, nil // unpacked meanwhile by another gvcheck
		}
		return "", fmt.Errorf("image cache: %w", err)
	}
	ok = true
	return final, nil
}

// tempFile makes a temporary file in the cache (for an exported image).
func (c *Cache) tempFile(prefix string) (*os.File, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	return os.CreateTemp(c.Dir, "."+prefix)
}

// archiveLayout unpacks an OCI archive (a tar of an image layout) into the
// cache, keyed by the archive's digest, and returns the layout directory.
func (c *Cache) archiveLayout(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	dir := filepath.Join(c.Dir, "archives", "sha256-"+hex.EncodeToString(sum.Sum(nil)))
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("OCI archive: %w", err)
		}
		rel, err := cleanName(h.Name)
		if err != nil {
			return "", fmt.Errorf("OCI archive: %w", err)
		}
		if rel == "" {
			continue
		}
		target := filepath.Join(tmp, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return "", err
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("OCI archive: %s is not a file or directory", h.Name)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// cleanName turns a tar entry name into a relative path that stays inside
// the archive's root ("" for the root itself).
func cleanName(name string) (string, error) {
	if name == "" {
		return "", errors.New("entry without a name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q leaves the archive", name)
		}
	}
	rel := strings.TrimPrefix(filepath.Clean("/"+name), "/")
	return rel, nil
}
