package imagetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The test images: each is built from what this machine has (Debian's
// busybox-static, its own dynamic programs and libraries, gcc), since
// there is no registry to pull from.
const (
	// Busybox is a static busybox with its applets; it works under gVisor.
	Busybox = "busybox"
	// Dynamic is bash and coreutils with their libraries and dynamic
	// loader copied from this machine, running a bash script as a user of
	// its own from a working directory with an environment; it works.
	Dynamic = "dynamic"
	// NetRaw runs a ping that holds cap_net_raw+ep as a file capability,
	// as nobody: runsc refuses the exec without --net-raw.
	NetRaw = "netraw"
	// Unimplemented runs a static C program that needs vmsplice, which
	// gVisor does not implement.
	Unimplemented = "unimplemented"
)

// Names lists the test images.
var Names = []string{Busybox, Dynamic, NetRaw, Unimplemented}

var passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n"
var group = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app\n"

func etcFiles() []File {
	return []File{{Path: "etc/", Type: tar.TypeDir}, {Path: "etc/passwd", Body: []byte(passwd)},
		{Path: "etc/group", Body: []byte(group)}, {Path: "tmp/", Type: tar.TypeDir, Mode: 0o1777}}
}

// busyboxFiles is /bin/busybox (static) and its applets as symbolic links.
func busyboxFiles() ([]File, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("no static busybox (Debian's busybox-static): %w", err)
	}
	if f, err := elf.Open("/bin/busybox"); err == nil {
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return nil, fmt.Errorf("/bin/busybox is not static (install busybox-static)")
			}
		}
	}
	files := []File{{Path: "bin/", Type: tar.TypeDir}, {Path: "bin/busybox", Mode: 0o755, Body: bb}}
	for _, a := range []string{"sh", "ls", "cat", "id", "echo", "hostname", "touch", "env", "pwd", "sleep", "wc", "grep", "stat", "tr", "mount", "uname"} {
		files = append(files, File{Path: "bin/" + a, Type: tar.TypeSymlink, Link: "busybox"})
	}
	return append(files, etcFiles()...), nil
}

// Build returns the named test image; work is a directory for build
// products (a compiled program).
func Build(name, work string) (v1.Image, error) {
	switch name {
	case Busybox:
		files, err := busyboxFiles()
		if err != nil {
			return nil, err
		}
		return single(v1.Config{Cmd: []string{"sh", "-c", "echo hello from busybox; id -un; cat /etc/hostname"}}, files)
	case Dynamic:
		return dynamic()
	case NetRaw:
		files, err := busyboxFiles()
		if err != nil {
			return nil, err
		}
		bb, _ := os.ReadFile("/bin/busybox")
		files = append(files, File{Path: "bin/ping", Mode: 0o755, Body: bb, Xattrs: map[string]string{"security.capability": NetRawCap()}})
		return single(v1.Config{Entrypoint: []string{"/bin/ping"}, Cmd: []string{"-c", "1", "127.0.0.1"}, User: "nobody"}, files)
	case Unimplemented:
		bin, err := compileVmsplice(work)
		if err != nil {
			return nil, err
		}
		return single(v1.Config{Entrypoint: []string{"/vmsplice"}, Env: []string{"PATH=/bin"}},
			[]File{{Path: "vmsplice", Mode: 0o755, Body: bin}})
	}
	return nil, fmt.Errorf("no test image %q (want %s)", name, strings.Join(Names, ", "))
}

func single(cfg v1.Config, files []File) (v1.Image, error) {
	l, err := Layer(files)
	if err != nil {
		return nil, err
	}
	return Image(cfg, l)
}

// NetRawCap is the security.capability value of cap_net_raw+ep.
func NetRawCap() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b, 0x02000000|1) // revision 2, effective
	binary.LittleEndian.PutUint32(b[4:], 1<<13)    // CAP_NET_RAW permitted
	return string(b)
}

const vmspliceC = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
	int p[2];
	char msg[] = "spliced", buf[16] = {0};
	struct iovec iov = {msg, sizeof msg - 1};
	if (pipe(p) != 0) { perror("pipe"); return 1; }
	if (vmsplice(p[1], &iov, 1, 0) < 0) { fprintf(stderr, "vmsplice: %s\n", strerror(errno)); return 1; }
	if (read(p[0], buf, sizeof buf - 1) < 0) { perror("read"); return 1; }
	printf("%s\n", buf);
	return 0;
}
`

// compileVmsplice builds the static program that needs vmsplice.
func compileVmsplice(work string) ([]byte, error) {
	src := filepath.Join(work, "vmsplice.c")
	bin := filepath.Join(work, "vmsplice")
	if err := os.WriteFile(src, []byte(vmspliceC), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gcc -static (build-essential): %w\n%s", err, out)
	}
	return os.ReadFile(bin)
}

const dynamicScript = `#!/bin/bash
set -e
echo "greeting: $GREETING"
echo "user: $(id -un) home: $HOME"
echo "cwd: $(pwd)"
ls /app
cat /etc/hostname
`

// dynamic copies bash and a few coreutils with the libraries ldd lists.
func dynamic() (v1.Image, error) {
	progs := []string{"/bin/bash", "/usr/bin/id", "/usr/bin/ls", "/usr/bin/cat"}
	paths := map[string]bool{}
	for _, p := range progs {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		paths[p] = true
		out, err := exec.Command("ldd", p).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", p, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			for _, f := range strings.Fields(sc.Text()) {
				if strings.HasPrefix(f, "/") {
					paths[f] = true
				}
			}
		}
	}
	// Debian's merged /usr: /lib, /lib64 and /bin are links into /usr; the
	// image keeps the files where ldd names them, under real directories.
	files, err := HostFiles(slices.Sorted(func(yield func(string) bool) {
		for p := range paths {
			if !yield(p) {
				return
			}
		}
	}), nil)
	if err != nil {
		return nil, err
	}
	files = append(files, etcFiles()...)
	files = append(files,
		File{Path: "app/", Type: tar.TypeDir, UID: 1000, GID: 1000},
		File{Path: "app/run.sh", Mode: 0o755, Body: []byte(dynamicScript)},
		File{Path: "home/app/", Type: tar.TypeDir, UID: 1000, GID: 1000})
	return single(v1.Config{Entrypoint: []string{"/app/run.sh"}, Env: []string{"PATH=/usr/bin:/bin", "GREETING=hello from bash"},
		WorkingDir: "/app", User: "app"}, files)
}
