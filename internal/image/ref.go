// Package image reads container images (an OCI image layout, a `docker
// save` or OCI archive, an image of the local Docker Engine), picks the
// platform, and unpacks their layers once into a cache keyed by digest, as
// overlayfs lower layers: whiteouts become overlay whiteouts, opaque
// directories carry trusted.overlay.opaque, and hard links, devices,
// ownership, modes, extended attributes and file capabilities are kept. A
// Rootfs is the merged view of an image's layers, read without mounting.
package image

import (
	"fmt"
	"strings"
)

// Source kinds of a Ref.
const (
	SourceOCI     = "oci"     // an OCI image layout directory
	SourceArchive = "archive" // a `docker save` tarball or an OCI archive
	SourceDocker  = "docker"  // an image of the local Docker Engine
)

// Ref names an image: oci:DIR[:TAG], archive:FILE[:TAG] or docker:NAME[:TAG].
type Ref struct {
	Source string
	// Path is the layout directory or the archive file.
	Path string
	// Name is the Docker Engine's image name or id (docker), or the tag
	// to pick in a layout or archive that holds several images.
	Name string
}

func (r Ref) String() string {
	switch r.Source {
	case SourceDocker:
		return SourceDocker + ":" + r.Name
	default:
		if r.Name != "" {
			return r.Source + ":" + r.Path + ":" + r.Name
		}
		return r.Source + ":" + r.Path
	}
}

// ParseRef reads an image reference. A layout or archive path may itself
// hold colons; the part after the last colon is taken as a tag only when it
// has no slash and the whole is not an existing path (see splitTag).
func ParseRef(s string, exists func(string) bool) (Ref, error) {
	src, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Ref{}, fmt.Errorf("image %q: want oci:DIR[:TAG], archive:FILE[:TAG] or docker:NAME[:TAG]", s)
	}
	switch src {
	case SourceDocker:
		return Ref{Source: src, Name: rest}, nil
	case SourceOCI, SourceArchive:
		p, tag := splitTag(rest, exists)
		return Ref{Source: src, Path: p, Name: tag}, nil
	}
	return Ref{}, fmt.Errorf("image %q: unknown source %q (want oci, archive or docker)", s, src)
}

// splitTag splits "path:tag" unless path:tag is itself an existing path or
// the tail after the last colon looks like a path.
func splitTag(s string, exists func(string) bool) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || strings.Contains(s[i+1:], "/") || (exists != nil && exists(s)) {
		return s, ""
	}
	return s[:i], s[i+1:]
}
