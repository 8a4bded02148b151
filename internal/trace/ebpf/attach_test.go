//go:build linux && amd64

package ebpf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// testCgroup creates a cgroup v2 for a test and removes it afterwards.
func testCgroup(t *testing.T) (Cgroup, *os.File) {
	t.Helper()
	root, err := cgroup2Mount()
	if err != nil {
		t.Fatalf("this machine has no cgroup v2 hierarchy: %v", err)
	}
	dir := filepath.Join(root, fmt.Sprintf("gvcheck-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Kill what is left, then remove the cgroup once it is empty.
		for i := 0; i < 100 && populated(dir); i++ {
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the test cgroup: %v", err)
		}
	})
	cg, err := ResolveCgroup(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return cg, f
}

// bpfIDs lists the BPF programs and maps this process holds descriptors
// of, from /proc/self/fdinfo.
func bpfIDs() (progs, maps []uint32, err error) {
	ents, err := os.ReadDir("/proc/self/fdinfo")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				continue
			}
			switch k {
			case "prog_id":
				progs = append(progs, uint32(n))
			case "map_id":
				maps = append(maps, uint32(n))
			}
		}
		f.Close()
	}
	return progs, maps, nil
}

// TestAttachCgroupServer attaches to a cgroup running a multi-process
// server under load: the server keeps serving during and after the attach,
// the inventory has what its processes did, and once detached no BPF
// program or map of the backend is left in the kernel.
func TestAttachCgroupServer(t *testing.T) {
	testenv.NeedRoot(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed (.ci/install installs it)")
	}
	cg, dir := testCgroup(t)
	port := testenv.FreePort(t)
	srv := exec.Command(python, filepath.Join("testdata", "server.py"), strconv.Itoa(port))
	srv.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	client := http.Client{Timeout: 5 * time.Second}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	for i := 0; ; i++ {
		if get() == nil {
			break
		}
		if i > 100 {
			t.Fatal("the server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Load: clients requesting without pause until the end of the test.
	var served, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := get(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					served.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// The program is attached when watching starts, which calls Progress
	// first: snapshot the BPF objects then, and watch for a second more
	// (a fixed delay from the start would race with a slow load).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var during struct {
		sync.Mutex
		progs, maps []uint32
		err         error
		served      int64
	}
	var attached sync.Once
	progress := func(trace.Stats) {
		attached.Do(func() {
			during.Lock()
			during.progs, during.maps, during.err = bpfIDs()
			during.served = served.Load()
			during.Unlock()
			time.AfterFunc(time.Second, cancel)
		})
	}
	res, err := AttachCgroup(ctx, cg, trace.Options{Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	during.Lock()
	before := during.served
	during.Unlock()
	if n := served.Load() - before; n < 10 {
		t.Errorf("only %d requests were served while attached", n)
	}
	time.Sleep(300 * time.Millisecond)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d requests failed, the first: %v", n, firstErr.Load())
	}
	if err := get(); err != nil {
		t.Fatalf("the server stopped serving after the attach: %v", err)
	}

	p := res.Profile
	for _, name := range []string{"accept4", "clone", "sendto", "openat", "exit_group"} {
		if p.Syscalls[name] == nil {
			t.Errorf("no %s in the inventory: %v", name, p.Names())
		}
	}
	if u := p.Paths["/proc/self/stat"]; u == nil || u.Count == 0 {
		t.Errorf("the children's /proc/self/stat is not in the paths: %v", p.Paths)
	}
	if res.Processes < 2 {
		t.Errorf("%d processes seen, want the server and its children", res.Processes)
	}
	if src := p.Sources[0]; src.Name != cg.Name || src.Backend != "ebpf" || src.Lost != 0 {
		t.Errorf("source %+v", src)
	}

	during.Lock()
	progs, maps, err := during.progs, during.maps, during.err
	during.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if len(progs) < 5 || len(maps) < 5 {
		t.Fatalf("while attached this process held %d BPF programs and %d maps, want the backend's", len(progs), len(maps))
	}
	// The kernel frees maps after an RCU grace period, from a workqueue
	// that a loaded machine runs late: poll (the bound only ends a failure).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		for _, id := range progs {
			if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
				p.Close()
				left = append(left, fmt.Sprintf("program %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
		for _, id := range maps {
			if m, err := ebpf.NewMapFromID(ebpf.MapID(id)); err == nil {
				m.Close()
				left = append(left, fmt.Sprintf("map %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left in the kernel after detaching: %s", strings.Join(left, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if progs, maps, err := bpfIDs(); err != nil || len(progs)+len(maps) > 0 {
		t.Errorf("this process still holds BPF programs %v and maps %v (%v)", progs, maps, err)
	}
}

// TestAttachProcess attaches to a running multi-threaded program by pid:
// its threads (running before the attach) and the process it starts
// afterwards are recorded, and it keeps running after the detach.
func TestAttachProcess(t *testing.T) {
	testenv.NeedRoot(t)
	victim := buildVictim(t, "spinner", "-pthread")
	cmd := exec.Command(victim)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(200 * time.Millisecond) // its threads are running
	// Watch for 2 s from the moment the program is attached (watching
	// starts with a Progress call), however long loading it took.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attached sync.Once
	progress := func(trace.Stats) { attached.Do(func() { time.AfterFunc(2*time.Second, cancel) }) }
	res, err := Attach(ctx, []int{cmd.Process.Pid}, trace.Options{Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Profile
	// Both threads poll /proc/self/stat; the main thread forks a child that
	// reads /dev/null once a second.
	if u := p.Paths["/proc/self/stat"]; u == nil || u.Count < 10 {
		t.Errorf("the threads' /proc/self/stat: %+v", u)
	}
	if p.Syscalls["clone"] == nil || p.Paths["/dev/null"] == nil {
		t.Errorf("the child started during the attach is missing: %v %v", p.Names(), p.Paths)
	}
	if n := p.Syscalls["gettid"]; n == nil || len(n.Exes) != 1 {
		t.Errorf("gettid: %+v", n)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the program did not survive the detach: %v", err)
	}
	if src := p.Sources[0]; src.Name != fmt.Sprintf("pid %d", cmd.Process.Pid) || src.Coverage != "full" {
		t.Errorf("source %+v", src)
	}
}

// TestAttachRefusesWhatMakesNoCalls: a kernel thread and a zombie make no
// system call; attaching to one is an error, not a wait that never ends.
func TestAttachRefusesWhatMakesNoCalls(t *testing.T) {
	testenv.NeedRoot(t)
	// kthreadd is process 2 wherever the kernel's PID namespace is ours.
	if b, err := os.ReadFile("/proc/2/comm"); err != nil || strings.TrimSpace(string(b)) != "kthreadd" {
		testenv.Missing(t, "process 2 is not kthreadd here (a PID namespace of its own)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Attach(ctx, []int{2}, trace.Options{}); err == nil || !strings.Contains(err.Error(), "kernel thread") {
		t.Errorf("attach to kthreadd: %v, want a kernel thread refusal", err)
	}
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = zombie.Wait() }()
	// Not reaped until Wait: a zombie once it has exited.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid)); err == nil && strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("true did not exit")
		}
	}
	if _, err := Attach(ctx, []int{zombie.Process.Pid}, trace.Options{}); err == nil || !strings.Contains(err.Error(), "zombie") {
		t.Errorf("attach to a zombie: %v, want a refusal", err)
	}
}
