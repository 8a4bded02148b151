// Package imagetest builds container images for tests, without a registry:
// layers from file lists or host files, written as an OCI image layout and
// as a `docker save` archive, and imported into the local Docker Engine.
package imagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gvcheck/gvcheck/internal/image"
)

// File is one entry of a layer.
type File struct {
	Path     string
	Type     byte // tar.TypeReg (default), TypeDir, TypeSymlink, TypeLink, TypeChar, ...
	Mode     int64
	Body     []byte
	Link     string // symlink or hard link target
	UID, GID int
	Xattrs   map[string]string
	Major    int64
	Minor    int64
}

// Epoch is the time every built entry carries, so that builds repeat.
var Epoch = time.Unix(1700000000, 0)

// Tar writes files as a layer's tar stream.
func Tar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Typeflag: f.Type, Mode: f.Mode, Uid: f.UID, Gid: f.GID,
			Linkname: f.Link, ModTime: Epoch, Devmajor: f.Major, Devminor: f.Minor, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		for k, v := range f.Xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer makes a (gzip-compressed) layer of files.
func Layer(files []File) (v1.Layer, error) {
	b, err := Tar(files)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Image stacks layers (bottom first) under a configuration for linux on
// this machine's architecture.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", runtime.GOARCH, cfg
	cf.Created = v1.Time{Time: Epoch}
	return mutate.ConfigFile(img, cf)
}

// WriteLayout writes img into an OCI image layout at dir, tagged tag.
func WriteLayout(dir string, img v1.Image, tag string) error {
	return WritePlatform(dir, img, tag, runtime.GOARCH)
}

// WritePlatform adds img to the layout at dir as the linux/arch image of
// tag (a layout may hold one per platform).
func WritePlatform(dir string, img v1.Image, tag, arch string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
}

// WriteArchive writes img as a `docker save` tarball, tagged ref
// ("repo:tag").
func WriteArchive(file string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(file, tag, img)
}

// Load imports a docker archive into the Docker Engine.
func Load(ctx context.Context, archive string) error {
	eng, err := image.NewEngine("")
	if err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	return eng.Load(ctx, f)
}

// HostFiles copies host files into a layer at the same paths, with the
// directories leading to them, following symbolic links of the host but
// keeping the links named in links (path -> target).
func HostFiles(paths []string, links map[string]string) ([]File, error) {
	dirs := map[string]bool{}
	var out []File
	addDirs := func(p string) {
		var parents []string
		for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if !dirs[d] {
				dirs[d] = true
				out = append(out, File{Path: strings.TrimPrefix(d, "/") + "/", Type: tar.TypeDir, Mode: 0o755})
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		addDirs(p)
		out = append(out, File{Path: strings.TrimPrefix(p, "/"), Mode: int64(st.Mode().Perm()), Body: b})
	}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for k := range links {
			if !yield(k) {
				return
			}
		}
	}) {
		addDirs(p)
		out = append(out, File{Path: strings.TrimPrefix(p, "/"), Type: tar.TypeSymlink, Link: links[p]})
	}
	return out, nil
}

// Written is a test image written in every source form.
type Written struct {
	Layout  string // OCI image layout directory (tag: the image's name)
	Archive string // docker archive
	Docker  string // name in the Docker Engine ("" when not loaded)
}

// Write builds the named test image into dir as an OCI layout and a docker
// archive, and with load imports the archive into the Docker Engine as
// gvcheck-test/NAME:TAG.
func Write(ctx context.Context, name, dir, tag string, load bool) (*Written, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	img, err := Build(name, dir)
	if err != nil {
		return nil, err
	}
	w := &Written{Layout: filepath.Join(dir, "layout"), Archive: filepath.Join(dir, name+".tar")}
	if err := WriteLayout(w.Layout, img, name); err != nil {
		return nil, fmt.Errorf("%s: layout: %w", name, err)
	}
	ref := "gvcheck-test/" + name + ":" + tag
	if err := WriteArchive(w.Archive, img, ref); err != nil {
		return nil, fmt.Errorf("%s: archive: %w", name, err)
	}
	if load {
		if err := Load(ctx, w.Archive); err != nil {
			return nil, fmt.Errorf("%s: docker load: %w", name, err)
		}
		w.Docker = ref
	}
	return w, nil
}
