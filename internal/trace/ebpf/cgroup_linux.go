//go:build linux

package ebpf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroup is a cgroup v2 to attach to.
type Cgroup struct {
	Path  string // its directory on the cgroup2 mount
	ID    uint64 // its id (the directory's inode number)
	Level int    // its depth below the root of the hierarchy
	Name  string // how the user named it: "cgroup /docker/ID" or "container ID"
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted: on a
// hybrid machine next to the v1 controllers (/sys/fs/cgroup/unified), on a
// unified one at /sys/fs/cgroup.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo finds the first cgroup2 mount in a mountinfo file.
func parseMountinfo(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(sc.Text())
		for i, fl := range fields {
			if fl == "-" && i >= 5 && i+1 < len(fields) && fields[i+1] == "cgroup2" {
				return unescapeMount(fields[4]), nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("mountinfo: %w", err)
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted")
}

var mountEscape = regexp.MustCompile(`\\[0-3][0-7]{2}`)

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	return mountEscape.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.ParseUint(m[1:], 8, 8)
		return string([]byte{byte(n)})
	})
}

// ResolveCgroup names the cgroup v2 at path: a directory on the cgroup2
// mount, or a path inside the hierarchy ("/docker/ID", as
// /proc/PID/cgroup prints it). A cgroup v1 directory stands for the cgroup
// v2 of the same path, which runc and systemd create alongside on hybrid
// machines.
func ResolveCgroup(path string) (Cgroup, error) {
	root, err := cgroup2Mount()
	if err != nil {
		return Cgroup{}, fmt.Errorf("cgroup %s: %w", path, err)
	}
	dir, rel, err := inHierarchy(root, path)
	if err != nil {
		return Cgroup{}, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return Cgroup{}, fmt.Errorf("cgroup %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return Cgroup{}, fmt.Errorf("cgroup %s: %s is not a cgroup", path, dir)
	}
	level := 0
	if rel != "/" {
		level = strings.Count(rel, "/")
	}
	return Cgroup{Path: dir, ID: st.Ino, Level: level, Name: "cgroup " + rel}, nil
}

// inHierarchy returns the directory of path on the cgroup2 mount root and
// its path inside the hierarchy ("/" for the root).
func inHierarchy(root, path string) (dir, rel string, err error) {
	clean := filepath.Clean(path)
	if r, ok := strings.CutPrefix(clean, root); ok && (r == "" || strings.HasPrefix(r, "/")) {
		if r == "" {
			r = "/"
		}
		return clean, r, nil
	}
	// A v1 directory (/sys/fs/cgroup/CONTROLLER/REL) or a hierarchy path.
	if r, ok := strings.CutPrefix(clean, "/sys/fs/cgroup/"); ok {
		if _, after, found := strings.Cut(r, "/"); found {
			d := filepath.Join(root, after)
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				return d, "/" + after, nil
			}
			return "", "", fmt.Errorf("cgroup %s: no cgroup v2 at %s (the eBPF backend follows cgroup v2 only)", path, d)
		}
	}
	if filepath.IsAbs(clean) {
		d := filepath.Join(root, clean)
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d, clean, nil
		}
	}
	return "", "", fmt.Errorf("cgroup %s: not a cgroup v2 directory (the hierarchy is mounted at %s)", path, root)
}

// populated reports whether the cgroup at dir (or one below it) still has
// processes; false once it is removed.
func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return strings.TrimSpace(v) != "0"
		}
	}
	return true
}

// dockerSocket is the Docker Engine's API socket.
var dockerSocket = "/var/run/docker.sock"

var hexID = regexp.MustCompile(`^[0-9a-f]{4,64}$`)

// ResolveContainer finds the cgroup of a running Docker or containerd
// container from its id (or a unique prefix of it), or a Docker container
// from its name: the Docker Engine, when it runs, says which process is the
// container's, whose cgroup it is; otherwise the cgroup v2 hierarchy is
// searched for the directory runtimes name after the id (docker/ID,
// docker-ID.scope, cri-containerd-ID.scope, ID under a Kubernetes pod).
func ResolveContainer(ctx context.Context, id string) (Cgroup, error) {
	if id == "" {
		return Cgroup{}, errors.New("container: empty id")
	}
	if pid, full, err := dockerPid(ctx, id); err == nil {
		rel, err := cgroupOf(pid)
		if err != nil {
			return Cgroup{}, fmt.Errorf("container %s: %w", id, err)
		}
		cg, err := ResolveCgroup(rel)
		if err != nil {
			return Cgroup{}, fmt.Errorf("container %s: %w", id, err)
		}
		cg.Name = "container " + shortID(full)
		return cg, nil
	} else if !errors.Is(err, errNoDocker) && !errors.Is(err, errNoSuchContainer) {
		return Cgroup{}, fmt.Errorf("container %s: %w", id, err)
	}
	if !hexID.MatchString(id) {
		return Cgroup{}, fmt.Errorf("container %s: no running container has this name or id", id)
	}
	root, err := cgroup2Mount()
	if err != nil {
		return Cgroup{}, fmt.Errorf("container %s: %w", id, err)
	}
	matches, err := findContainerCgroups(root, id)
	if err != nil {
		return Cgroup{}, fmt.Errorf("container %s: %w", id, err)
	}
	switch len(matches) {
	case 0:
		return Cgroup{}, fmt.Errorf("container %s: no running container has this id (no cgroup named after it under %s)", id, root)
	case 1:
		cg, err := ResolveCgroup(matches[0])
		if err != nil {
			return Cgroup{}, err
		}
		cg.Name = "container " + shortID(containerIDOf(filepath.Base(matches[0])))
		return cg, nil
	}
	return Cgroup{}, fmt.Errorf("container %s: the id prefix is ambiguous: %s", id, strings.Join(matches, ", "))
}

func shortID(id string) string { return id[:min(12, len(id))] }

var (
	errNoDocker        = errors.New("no Docker Engine")
	errNoSuchContainer = errors.New("no such Docker container")
)

// dockerPid asks the Docker Engine for the main process of a container.
func dockerPid(ctx context.Context, id string) (int, string, error) {
	if _, err := os.Stat(dockerSocket); err != nil {
		return 0, "", errNoDocker
	}
	c := http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerSocket)
		}},
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/containers/"+url.PathEscape(id)+"/json", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", errNoDocker // not answering: search the cgroups instead
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, "", fmt.Errorf("docker: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return 0, "", errNoSuchContainer // maybe a containerd container
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(body, &e)
		return 0, "", fmt.Errorf("docker: %s", strings.TrimSpace(e.Message))
	}
	var info struct {
		ID    string `json:"Id"`
		State struct {
			Running bool
			Pid     int
		}
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return 0, "", fmt.Errorf("docker: %w", err)
	}
	if !info.State.Running || info.State.Pid <= 0 {
		return 0, "", errors.New("the container is not running")
	}
	return info.State.Pid, info.ID, nil
}

// cgroupOf returns the cgroup v2 path of process pid ("/docker/ID").
func cgroupOf(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", err
	}
	rel, ok := parseProcCgroup(string(b))
	if !ok {
		return "", fmt.Errorf("process %d is in no cgroup v2", pid)
	}
	return rel, nil
}

// parseProcCgroup finds the cgroup v2 line ("0::/docker/ID") of a
// /proc/PID/cgroup file.
func parseProcCgroup(s string) (string, bool) {
	for line := range strings.Lines(s) {
		if rel, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok && strings.HasPrefix(rel, "/") {
			return rel, true
		}
	}
	return "", false
}

// containerIDOf strips what runtimes put around a container id in a cgroup
// name.
func containerIDOf(name string) string {
	name = strings.TrimSuffix(name, ".scope")
	for _, pre := range []string{"docker-", "cri-containerd-", "crio-", "libpod-"} {
		name = strings.TrimPrefix(name, pre)
	}
	return name
}

// findContainerCgroups lists the cgroups below root named after a
// container whose id starts with prefix.
func findContainerCgroups(root, prefix string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return fs.SkipDir
		}
		if !d.IsDir() {
			return nil
		}
		if strings.Count(strings.TrimPrefix(path, root), "/") > 8 {
			return fs.SkipDir
		}
		id := containerIDOf(d.Name())
		if len(id) == 64 && hexID.MatchString(id) && strings.HasPrefix(id, prefix) {
			out = append(out, path)
			return fs.SkipDir
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
