package ingest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPipeInput reads an input that can be read once, as <(...) gives one:
// it used to be opened twice (once to detect its format), and the second
// open found it empty.
func TestPipeInput(t *testing.T) {
	for _, content := range []string{"read\nwrite\n", "12 read(3, \"\", 1) = 0\n12 exit_group(0) = ?\n",
		`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = io.WriteString(w, content)
			w.Close()
		}()
		ws, err := ReadFilesWorkloads([]string{"/dev/fd/" + strconv.Itoa(int(r.Fd())), "-"}[:1], Options{})
		r.Close()
		if err != nil || len(ws) != 1 || ws[0].Profile.Syscalls["read"] == nil {
			t.Errorf("%q through a pipe: %v, %v", content[:10], err, ws)
		}
	}
}

// TestLiveFIFO reads a strace log from a FIFO whose writer is still
// writing: the format is known from the first line, the log is read as it
// comes, and reading ends when the writer closes.
func TestLiveFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "log")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			wrote <- err
			return
		}
		defer w.Close()
		for i := range 5 {
			if _, err := fmt.Fprintf(w, "7 getpid() = 7\n7 openat(AT_FDCWD, \"/proc/self/status%d\", O_RDONLY) = 3\n", i); err != nil {
				wrote <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, err = io.WriteString(w, "7 exit_group(0) = ?\n7 +++ exited with 0 +++\n")
		wrote <- err
	}()
	done := make(chan struct{})
	var ws []Workload
	var err error
	go func() {
		ws, err = ReadFilesWorkloads([]string{fifo}, Options{})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("reading a FIFO with a live writer did not end")
	}
	if werr := <-wrote; werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	if err != nil || len(ws) != 1 || ws[0].Profile.Syscalls["getpid"].Count != 5 {
		t.Fatalf("%v %v", err, ws)
	}
}

// TestNoSilentTruncation: a YAML stream longer than gvcheck reads is
// refused, not cut: cut, its later documents were dropped and the verdict
// came from the first alone.
func TestNoSilentTruncation(t *testing.T) {
	pad := "# " + strings.Repeat("x", 1000) + "\n"
	var b strings.Builder
	b.WriteString("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: first\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n")
	for b.Len() <= maxYAMLDoc {
		b.WriteString(pad)
	}
	b.WriteString("---\napiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: second\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [kexec_load]\n")
	f := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFilesWorkloads([]string{f}, Options{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a %d MiB stream: %v, want an error naming the bound", b.Len()>>20, err)
	}
	// A stream of small documents has a bound of its own.
	doc := "---\napiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: p\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n"
	doc += "# " + strings.Repeat("x", maxYAMLDoc-len(doc)-1000) + "\n"
	many := strings.Repeat(doc, maxYAMLStream/len(doc)+1)
	if _, err := readWorkloads(strings.NewReader(many), "stream", Options{}); err == nil || !strings.Contains(err.Error(), "YAML stream") {
		t.Errorf("a %d MiB stream of small documents: %v", len(many)>>20, err)
	}
	// A gvcheck profile and an OCI profile too.
	for _, head := range []string{`{"gvcheck_profile": 1, "arch": "amd64", "syscalls": {}, "x": "`, `{"defaultAction": "SCMP_ACT_ERRNO", "x": "`} {
		g := filepath.Join(t.TempDir(), "big.json")
		if err := os.WriteFile(g, []byte(head+strings.Repeat("x", maxDoc)+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFilesWorkloads([]string{g}, Options{}); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%s...: %v", head[:12], err)
		}
	}
}

// TestBoundedMemory: inputs made to grow gvcheck's memory are refused at a
// stated bound, early: millions of distinct syscall numbers (names, log or
// strace -c table), distinct key arguments; a log of many short-lived
// processes keeps only the live ones.
func TestBoundedMemory(t *testing.T) {
	gen := func(n int, line func(i int) string) io.Reader {
		r, w := io.Pipe()
		go func() {
			defer w.Close()
			bw := make([]byte, 0, 1<<16)
			for i := range n {
				bw = append(bw, line(i)...)
				if len(bw) > 1<<15 {
					if _, err := w.Write(bw); err != nil {
						return
					}
					bw = bw[:0]
				}
			}
			_, _ = w.Write(bw)
		}()
		return r
	}
	const million = 1 << 20
	for _, tc := range []struct {
		name string
		r    io.Reader
		want string
	}{
		{"names", gen(3*million, func(i int) string { return fmt.Sprintf("syscall_%d\n", 1000+i) }), "distinct syscalls"},
		{"strace", gen(3*million, func(i int) string {
			return fmt.Sprintf("1 syscall_%#x(0) = -1 ENOSYS (Function not implemented)\n", 1000+i)
		}), "distinct syscalls"},
		{"keys", gen(3*million, func(i int) string {
			return fmt.Sprintf("1 ioctl(3, %#x, 0) = -1 ENOTTY (Inappropriate ioctl for device)\n", 0x1000+i)
		}), "distinct key arguments"},
	} {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := readWorkloads(tc.r, tc.name, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", tc.name, err, tc.want)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 200<<20 {
			t.Errorf("%s: the heap grew by %d MiB", tc.name, grown>>20)
		}
	}
	// 200000 processes, each forked, run and gone: the parser keeps the
	// live ones only.
	n := 200000
	log := gen(n, func(i int) string {
		c := 1000 + i
		return fmt.Sprintf("1 clone(child_stack=NULL, flags=SIGCHLD) = %d\n%d getpid() = %d\n%d exit_group(0) = ?\n%d +++ exited with 0 +++\n", c, c, c, c, c)
	})
	s := newStraceParser(Options{}, "forks")
	if err := s.parse(log, "forks", 0); err != nil {
		t.Fatal(err)
	}
	if len(s.pids) > 10 {
		t.Errorf("%d processes remembered after %d came and went", len(s.pids), n)
	}
	p, err := s.finish()
	if err != nil || p.Syscalls["getpid"].Count != uint64(n) {
		t.Errorf("%v %v", err, p)
	}
}
