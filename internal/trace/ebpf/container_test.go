//go:build linux && amd64

package ebpf

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// busyboxImage imports an image holding only a static busybox (Debian's
// busybox-static, which .ci/install installs): the machine has no registry.
func busyboxImage(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("no static busybox (.ci/install installs busybox-static): %v", err)
	}
	if f, err := elf.Open("/bin/busybox"); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatal("/bin/busybox is not static (install busybox-static)")
			}
		}
		f.Close()
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "www/", "proc/", "sys/", "dev/", "tmp/"} {
		_ = tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	_ = tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))})
	_, _ = tw.Write(bb)
	for _, l := range []string{"sh", "httpd", "sleep", "cat", "wget"} {
		_ = tw.WriteHeader(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	}
	page := []byte("hello from the container\n")
	_ = tw.WriteHeader(&tar.Header{Name: "www/index.html", Mode: 0o644, Size: int64(len(page))})
	_, _ = tw.Write(page)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("gvcheck-test-busybox:%d", os.Getpid())
	cmd := exec.Command("docker", "import", "-", name)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", name).Run() })
	return name
}

func requireDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Missing(t, "this machine has no Docker (no docker command)")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		testenv.Missingf(t, "this machine runs no Docker Engine: %s", strings.TrimSpace(string(out)))
	}
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestAttachContainer finds a running container's cgroup from its id, its
// name, or (without the Docker Engine's help) the cgroup tree, and takes
// an inventory of its server and of a process started in it later.
func TestAttachContainer(t *testing.T) {
	testenv.NeedRoot(t)
	requireDocker(t)
	image := busyboxImage(t)
	name := fmt.Sprintf("gvcheck-test-%d", os.Getpid())
	id := docker(t, "run", "-d", "--rm", "--name", name, "-p", "127.0.0.1::8080", image, "/bin/httpd", "-f", "-p", "8080", "-h", "/www")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	addr := docker(t, "port", id, "8080/tcp")
	url := "http://" + strings.Fields(addr)[0] + "/"

	ctx := context.Background()
	byID, err := ResolveContainer(ctx, id[:12])
	if err != nil {
		t.Fatal(err)
	}
	byName, err := ResolveContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	saved := dockerSocket
	dockerSocket = "/nonexistent/docker.sock"
	bySearch, err := ResolveContainer(ctx, id[:12])
	dockerSocket = saved
	if err != nil {
		t.Fatal(err)
	}
	if byID != byName || byID != bySearch || byID.Name != "container "+id[:12] {
		t.Fatalf("the same container resolved differently:\nby id:     %+v\nby name:   %+v\nby search: %+v", byID, byName, bySearch)
	}
	if _, err := ResolveContainer(ctx, "no-such-container-gvcheck"); err == nil {
		t.Error("an unknown container resolved")
	}

	// The client starts once the program is attached (watching starts
	// with a Progress call), and the attach ends when the client is done:
	// no fixed delay that a loaded machine could outrun.
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var attached sync.Once
	client := func() {
		for range 20 {
			if resp, err := http.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		// A process started in the container after the attach.
		_ = exec.Command("docker", "exec", id, "/bin/cat", "/proc/self/status").Run()
		cancel()
	}
	res, err := AttachCgroup(actx, byID, trace.Options{Progress: func(trace.Stats) { attached.Do(func() { go client() }) }})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Profile
	for _, sc := range []string{"accept", "read", "execve"} {
		if p.Syscalls[sc] == nil {
			t.Errorf("no %s in the container's inventory: %v", sc, p.Names())
		}
	}
	if p.Paths["/proc/self/status"] == nil {
		t.Errorf("the later process's /proc/self/status is not among the paths: %v", p.Paths)
	}
	if exes := p.Syscalls["read"].Exes; exes["/bin/busybox"] == 0 {
		t.Errorf("read's executables %v, want /bin/busybox as the container sees it", exes)
	}
	if resp, err := http.Get(url); err != nil {
		t.Errorf("the container stopped serving: %v", err)
	} else {
		resp.Body.Close()
	}
}
