package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The Docker Engine is reached through its API socket with plain HTTP:
// inspecting an image (configuration and layer digests) and, only when a
// layer is not in the cache yet, exporting it (the `docker save` stream,
// read by go-containerregistry's tarball reader). go-containerregistry's
// own daemon package would pull in the Docker client and its dependencies
// for these two requests.

// DockerSocket returns the Engine's API socket: DOCKER_HOST when it names a
// unix socket, else the default.
func DockerSocket() (string, error) {
	h := os.Getenv("DOCKER_HOST")
	if h == "" {
		return "/var/run/docker.sock", nil
	}
	if p, ok := strings.CutPrefix(h, "unix://"); ok {
		return p, nil
	}
	return "", fmt.Errorf("DOCKER_HOST=%s: only a unix socket is supported", h)
}

// Engine is a client of the Docker Engine API.
type Engine struct {
	socket string
	http   *http.Client
}

// NewEngine returns a client for the Engine at socket ("" for the default).
func NewEngine(socket string) (*Engine, error) {
	if socket == "" {
		var err error
		if socket, err = DockerSocket(); err != nil {
			return nil, err
		}
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Engine{socket: socket, http: &http.Client{Transport: tr}}, nil
}

// do sends a request and returns the response when it succeeded.
func (e *Engine) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-tar")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker engine at %s: %w", e.socket, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var msg struct {
			Message string `json:"message"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(b))
		}
		err := fmt.Errorf("docker engine: %s %s: %s", method, path, msg.Message)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, err
	}
	return resp, nil
}

// ErrNotFound is returned (wrapped) when the Engine has no such image.
var ErrNotFound = errors.New("no such image")

// Inspected is what the Engine says of an image.
type Inspected struct {
	ID           string   `json:"Id"`
	RepoTags     []string `json:"RepoTags"`
	Architecture string   `json:"Architecture"`
	Variant      string   `json:"Variant"`
	OS           string   `json:"Os"`
	Config       struct {
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		Env        []string `json:"Env"`
		WorkingDir string   `json:"WorkingDir"`
		User       string   `json:"User"`
		StopSignal string   `json:"StopSignal"`
	} `json:"Config"`
	RootFS struct {
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
}

// Inspect returns the Engine's description of image name.
func (e *Engine) Inspect(ctx context.Context, name string) (*Inspected, error) {
	resp, err := e.do(ctx, http.MethodGet, "/images/"+pathEscape(name)+"/json", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var in Inspected
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil {
		return nil, fmt.Errorf("docker engine: inspect %s: %w", name, err)
	}
	return &in, nil
}

// save writes the `docker save` stream of image name to w.
func (e *Engine) save(ctx context.Context, name string, w io.Writer) error {
	resp, err := e.do(ctx, http.MethodGet, "/images/"+pathEscape(name)+"/get", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("docker engine: save %s: %w", name, err)
	}
	return nil
}

// Load imports a `docker save` or OCI archive into the Engine (docker load).
func (e *Engine) Load(ctx context.Context, archive io.Reader) error {
	resp, err := e.do(ctx, http.MethodPost, "/images/load?quiet=1", archive)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The answer is a stream of JSON messages; an error arrives as one.
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker engine: load: %w", err)
		}
		if m.Error != "" {
			return fmt.Errorf("docker engine: load: %s", m.Error)
		}
	}
}

// pathEscape escapes a name for a URL path, keeping the slashes of a
// repository name (the Engine routes them as part of the name).
func pathEscape(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// openDocker opens an image of the Engine. When every layer is cached
// already, the Engine's description is enough; otherwise the image is
// exported once.
func openDocker(ctx context.Context, ref Ref, opt Options) (*Image, error) {
	eng, err := NewEngine(opt.Docker)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	in, err := eng.Inspect(ctx, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if in.OS != "" && in.OS != "linux" {
		return nil, fmt.Errorf("image %s is for %s, not linux", ref, in.OS)
	}
	im := &Image{Ref: ref, ID: in.ID, Platform: v1.Platform{OS: "linux", Architecture: in.Architecture, Variant: in.Variant},
		Config: Config{Entrypoint: in.Config.Entrypoint, Cmd: in.Config.Cmd, Env: in.Config.Env,
			WorkingDir: in.Config.WorkingDir, User: in.Config.User, StopSignal: in.Config.StopSignal}}
	all := true
	for _, l := range in.RootFS.Layers {
		h, err := v1.NewHash(l)
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %q: %w", ref, l, err)
		}
		dir, ok := opt.Cache.Cached(h)
		if !ok {
			all = false
			break
		}
		im.Layers = append(im.Layers, dir)
		im.DiffIDs = append(im.DiffIDs, l)
	}
	if all {
		return im, nil
	}
	// Export the image to a file in the cache's filesystem, read it with
	// the archive reader, and drop the file.
	f, err := opt.Cache.tempFile("docker-save-")
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := eng.save(ctx, in.ID, f); err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	img, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		return nil, fmt.Errorf("image %s: read the exported image: %w", ref, err)
	}
	out, err := fromV1(ctx, ref, img, opt)
	if err != nil {
		return nil, err
	}
	if out.ID != in.ID {
		return nil, fmt.Errorf("image %s: the engine exported %s, not %s", ref, out.ID, in.ID)
	}
	return out, nil
}

// Remove deletes image name from the Engine (docker rmi -f).
func (e *Engine) Remove(ctx context.Context, name string) error {
	resp, err := e.do(ctx, http.MethodDelete, "/images/"+pathEscape(name)+"?force=1", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
