package ingest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// straceBin returns strace, or skips when the machine has none (CI installs
// it, so a missing strace there shows as skips in the log).
func straceBin(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("strace")
	if err != nil {
		testenv.Missing(t, "strace is not installed")
	}
	return path
}

func runStrace(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(straceBin(t), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		// strace cannot trace in some sandboxes (no ptrace): say so.
		testenv.Missingf(t, "strace %v failed (ptrace unavailable here?): %v\n%s", args, err, out)
	}
}

const script = "ls / >/dev/null; cat /proc/self/status >/dev/null; ls /nonexistent 2>/dev/null; true"

// TestRealStrace traces a real program with several option mixes and
// checks the parse against the reference parse of the same log.
func TestRealStrace(t *testing.T) {
	dir := t.TempDir()
	arch := sysno.Host()
	opt := Options{Arch: arch}
	check := func(t *testing.T, paths ...string) {
		p, err := ReadFiles(paths, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"execve", "openat", "read", "close", "exit_group"} {
			if s := p.Syscalls[n]; s == nil || s.Count == 0 {
				t.Errorf("no %s in %v", n, p.Names())
			}
		}
		var files []string
		for _, path := range paths {
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				m, _ := filepath.Glob(filepath.Join(path, "*"))
				files = append(files, m...)
			} else {
				files = append(files, path)
			}
		}
		if got, want := p.Names(), referenceNames(t, arch, files...); !slices.Equal(got, want) {
			t.Errorf("names:\n got %v\nwant %v", got, want)
		}
		var total, want uint64
		for _, s := range p.Syscalls {
			total += s.Count
		}
		for _, f := range files {
			want += referenceCount(t, f)
		}
		if total != want {
			t.Errorf("%d calls, want %d", total, want)
		}
		if p.Paths["/proc/self/status"] == nil {
			t.Errorf("/proc/self/status not among the paths %v", p.Paths)
		}
		if e := p.Sources[0].Exit; e == nil || e.Code != 0 {
			t.Errorf("exit %+v", e)
		}
		if s := p.Syscalls["execve"]; s.Exes["/usr/bin/cat"] == 0 && s.Exes["/bin/cat"] == 0 {
			t.Errorf("execve of cat not attributed: %v", s.Exes)
		}
	}
	t.Run("f", func(t *testing.T) {
		log := filepath.Join(dir, "f.log")
		runStrace(t, "-f", "-o", log, "/bin/sh", "-c", script)
		check(t, log)
	})
	t.Run("ff-tt-T-y", func(t *testing.T) {
		d := filepath.Join(dir, "ff")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		runStrace(t, "-ff", "-tt", "-T", "-y", "-o", filepath.Join(d, "x"), "/bin/sh", "-c", script)
		check(t, d)
	})
	t.Run("f-ttt-n-yy-X", func(t *testing.T) {
		log := filepath.Join(dir, "n.log")
		runStrace(t, "-f", "-ttt", "-n", "-yy", "-X", "verbose", "-o", log, "/bin/sh", "-c", script)
		check(t, log)
	})
	t.Run("threads", func(t *testing.T) {
		// A Go program (this test binary) runs several threads: clones
		// with CLONE_THREAD and futex calls interrupted by other threads.
		self, err := os.Executable()
		if err != nil {
			t.Skipf("cannot find the test binary: %v", err)
		}
		log := filepath.Join(dir, "go.log")
		runStrace(t, "-f", "-o", log, self, "-test.run=^$")
		var calls []*profile.Call
		p, err := ReadFiles([]string{log}, Options{Arch: arch, OnCall: func(c *profile.Call) { calls = append(calls, c) }})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Names(), referenceNames(t, arch, log); !slices.Equal(got, want) {
			t.Errorf("names:\n got %v\nwant %v", got, want)
		}
		var total uint64
		for _, s := range p.Syscalls {
			total += s.Count
		}
		if want := referenceCount(t, log); total != want || uint64(len(calls)) != want {
			t.Errorf("%d calls (%d reported), want %d", total, len(calls), want)
		}
		tids := map[int]bool{}
		pids := map[int]bool{}
		for _, c := range calls {
			tids[c.Tid] = true
			pids[c.Pid] = true
		}
		if len(tids) < 2 || len(pids) != 1 {
			t.Errorf("%d threads in %d processes, want several threads in one process", len(tids), len(pids))
		}
	})
	t.Run("summary", func(t *testing.T) {
		log := filepath.Join(dir, "c.log")
		runStrace(t, "-f", "-c", "-o", log, "/bin/sh", "-c", script)
		p, err := ReadFiles([]string{log}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Sources[0].Kind != "strace-summary" {
			t.Errorf("kind %s", p.Sources[0].Kind)
		}
		f := filepath.Join(dir, "ref.log")
		runStrace(t, "-f", "-o", f, "/bin/sh", "-c", script)
		q, err := ReadFiles([]string{f}, opt)
		if err != nil {
			t.Fatal(err)
		}
		// Two runs of one script make the same set of calls, except that
		// strace -c does not count calls that never return.
		want := slices.DeleteFunc(q.Names(), func(n string) bool { return n == "exit_group" || n == "exit" })
		if !slices.Equal(p.Names(), want) {
			t.Errorf("summary names %v\n   trace names %v", p.Names(), q.Names())
		}
		if p.Syscalls["openat"].Errors[ErrnoUnknown] == 0 {
			t.Errorf("openat failures not counted: %v", p.Syscalls["openat"])
		}
	})
}
