package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Config is what of an image's configuration decides how its program runs.
type Config struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
	StopSignal string   `json:"stop_signal,omitempty"`
}

// Image is an opened image whose layers are in the cache.
type Image struct {
	Ref Ref
	// ID is the digest of the image's configuration (Docker's image id).
	ID       string
	Platform v1.Platform
	Config   Config
	// Layers are the unpacked layer directories, bottom first.
	Layers []string
	// DiffIDs are the layers' uncompressed digests, bottom first.
	DiffIDs []string
}

// Rootfs is the merged view of the image's layers.
func (im *Image) Rootfs() *Rootfs {
	top := make([]string, len(im.Layers))
	for i, l := range im.Layers {
		top[len(im.Layers)-1-i] = l
	}
	return &Rootfs{Layers: top}
}

// Options say how to open an image.
type Options struct {
	// Cache is where layers are unpacked.
	Cache *Cache
	// Arch picks the platform of a multi-platform image (amd64, arm64);
	// "" means this machine's.
	Arch string
	// Docker is the Docker Engine's API socket; "" means DOCKER_HOST when
	// it names a unix socket, else /var/run/docker.sock.
	Docker string
}

// Open reads the image ref names, picks its platform and makes sure every
// layer is unpacked in the cache.
func Open(ctx context.Context, ref Ref, opt Options) (*Image, error) {
	if opt.Cache == nil {
		return nil, errors.New("image: no cache")
	}
	if opt.Arch == "" {
		opt.Arch = runtime.GOARCH
	}
	if ref.Source == SourceDocker {
		return openDocker(ctx, ref, opt)
	}
	img, err := load(ref, opt)
	if err != nil {
		return nil, err
	}
	return fromV1(ctx, ref, img, opt)
}

// load returns the v1 image of a layout or archive.
func load(ref Ref, opt Options) (v1.Image, error) {
	switch ref.Source {
	case SourceOCI:
		idx, err := layout.ImageIndexFromPath(ref.Path)
		if err != nil {
			return nil, fmt.Errorf("image %s: not an OCI image layout: %w", ref, err)
		}
		return pick(idx, ref, opt.Arch)
	case SourceArchive:
		return loadArchive(ref, opt)
	}
	return nil, fmt.Errorf("image %s: unknown source", ref)
}

// loadArchive reads a `docker save` tarball (it has manifest.json) or an
// OCI archive (a tar of a layout, unpacked into the cache first).
func loadArchive(ref Ref, opt Options) (v1.Image, error) {
	names, err := tarNames(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	switch {
	case names["manifest.json"]:
		var tag *name.Tag
		if ref.Name != "" {
			t, err := name.NewTag(ref.Name)
			if err != nil {
				return nil, fmt.Errorf("image %s: tag %q: %w", ref, ref.Name, err)
			}
			tag = &t
		}
		img, err := tarball.ImageFromPath(ref.Path, tag)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		return img, nil
	case names["index.json"] && names["oci-layout"]:
		dir, err := opt.Cache.archiveLayout(ref.Path)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		return pick(idx, ref, opt.Arch)
	}
	return nil, fmt.Errorf("image %s: neither a docker archive (no manifest.json) nor an OCI archive (no index.json and oci-layout)", ref)
}

// tarNames lists the top-level regular files of a tar archive.
func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		n := strings.TrimPrefix(filepath.Clean(h.Name), "./")
		if !strings.Contains(n, "/") && h.Typeflag == tar.TypeReg {
			out[n] = true
		}
	}
	return out, nil
}

// refNameAnnotation tags a manifest in an OCI index.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// pick finds the image of an index: by tag when ref has one, then by
// platform, descending into nested indexes.
func pick(idx v1.ImageIndex, ref Ref, arch string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	descs := m.Manifests
	if ref.Name != "" {
		var tagged []v1.Descriptor
		for _, d := range descs {
			if t := d.Annotations[refNameAnnotation]; t == ref.Name || strings.HasSuffix(d.Annotations["io.containerd.image.name"], ":"+ref.Name) {
				tagged = append(tagged, d)
			}
		}
		if len(tagged) == 0 {
			return nil, fmt.Errorf("image %s: no image tagged %q", ref, ref.Name)
		}
		descs = tagged
	}
	var candidates []v1.Descriptor
	var seen []string
	for _, d := range descs {
		if d.Platform == nil {
			candidates = append(candidates, d)
			continue
		}
		seen = append(seen, d.Platform.OS+"/"+d.Platform.Architecture)
		if d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			candidates = append(candidates, d)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("image %s: no linux/%s image (it has %s)", ref, arch, strings.Join(seen, ", "))
	}
	// Without a tag, a layout of several images is ambiguous unless one
	// platform's image is the only candidate.
	if ref.Name == "" && len(candidates) > 1 {
		var tags []string
		for _, d := range candidates {
			if t := d.Annotations[refNameAnnotation]; t != "" {
				tags = append(tags, t)
			}
		}
		return nil, fmt.Errorf("image %s holds %d images: name one with :TAG (%s)", ref, len(candidates), strings.Join(tags, ", "))
	}
	d := candidates[0]
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		return pick(child, Ref{Source: ref.Source, Path: ref.Path}, arch)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return img, nil
}

// fromV1 unpacks img's layers and reads its configuration.
func fromV1(ctx context.Context, ref Ref, img v1.Image, opt Options) (*Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: configuration: %w", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if cf.OS != "" && cf.OS != "linux" {
		return nil, fmt.Errorf("image %s is for %s, not linux", ref, cf.OS)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image %s: layers: %w", ref, err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %s: %d layers but the configuration lists %d", ref, len(layers), len(cf.RootFS.DiffIDs))
	}
	im := &Image{Ref: ref, ID: id.String(), Platform: v1.Platform{OS: "linux", Architecture: cf.Architecture, Variant: cf.Variant},
		Config: configOf(cf.Config)}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		diff := cf.RootFS.DiffIDs[i]
		dir, err := opt.Cache.Layer(diff, func() (io.ReadCloser, error) { return l.Uncompressed() })
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %d: %w", ref, i+1, err)
		}
		im.Layers = append(im.Layers, dir)
		im.DiffIDs = append(im.DiffIDs, diff.String())
	}
	return im, nil
}

func configOf(c v1.Config) Config {
	return Config{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User, StopSignal: c.StopSignal}
}
