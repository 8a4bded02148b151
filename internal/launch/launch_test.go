//go:build linux

package launch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, policy.ShimMain) }

func TestIsolatedRunsStartAlike(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	cfg := Config{
		Argv: []string{"sh", "-c", "echo pid=$$; mkdir out && echo made; cat /proc/net/dev | grep -c :"},
		Dir:  dir, Isolate: true, Network: "none", Timeout: 10 * time.Second,
	}
	for i := range 2 {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// PID 1 as in a sandbox, its own files (mkdir works twice), and a
		// network with loopback only.
		if got, want := string(res.Stdout), "pid=1\nmade\n1\n"; got != want || res.Exit.Code != 0 {
			t.Fatalf("run %d: exit %v, stdout %q, stderr %q; want %q", i+1, res.Exit, got, res.Stderr, want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the runs left %d entries in the directory", len(ents))
	}
}

func TestTimeoutEndsTheTree(t *testing.T) {
	testenv.NeedRoot(t)
	marker := "gvcheck-launch-test-" + filepath.Base(t.TempDir())
	for _, isolated := range []bool{true, false} {
		start := time.Now()
		res, err := Run(context.Background(), Config{
			Argv:    []string{"bash", "-c", "exec -a " + marker + " sleep 30 & exec -a " + marker + " sleep 30"},
			Isolate: isolated, Timeout: 300 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res.TimedOut || res.Exit.Signal != "SIGKILL" || time.Since(start) > 5*time.Second {
			t.Errorf("isolated=%v: timed out %v, exit %v after %v", isolated, res.TimedOut, res.Exit, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
		if left := processesNamed(marker); len(left) > 0 {
			t.Errorf("isolated=%v: processes left: %v", isolated, left)
		}
	}
}

func processesNamed(name string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(b), name) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSupervisedFilter: a notified call is answered by the supervisor,
// others run.
func TestSupervisedFilter(t *testing.T) {
	testenv.NeedRoot(t)
	arch := sysno.Host()
	nr, _ := sysno.Number(arch, "uname")
	prog, err := (&policy.Policy{Arch: arch, Default: policy.Allow, Rules: []policy.Rule{{Nr: nr, Action: policy.Notify}}}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int32
	res, err := Run(context.Background(), Config{
		Argv: []string{"sh", "-c", "uname; echo status=$?"}, Isolate: true, Network: "none", Filter: prog,
		Supervise: func(fd int, stop *atomic.Bool) {
			_ = policy.Serve(fd, stop, func(n *policy.Notification) policy.Answer {
				if n.Nr == nr {
					seen.Add(1)
					return policy.Answer{Errno: unix.ENOSYS}
				}
				return policy.Answer{Continue: true}
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Stdout), "status=1") || !strings.Contains(string(res.Stderr), "Function not implemented") || seen.Load() == 0 {
		t.Fatalf("stdout %q stderr %q, %d notifications", res.Stdout, res.Stderr, seen.Load())
	}
}

func TestServerTest(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	res, err := Run(context.Background(), Config{
		Argv: []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", "8931"},
		Dir:  dir, Isolate: true, Network: "none", Timeout: 20 * time.Second,
		Ready: Ready{Port: 8931},
		Test:  `python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8931/").status)'`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Test.Passed() || !strings.Contains(res.Test.Output, "200") {
		t.Fatalf("test %+v", res.Test)
	}
}
