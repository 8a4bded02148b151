// Package testenv holds what gvcheck's tests need of their environment, with
// one policy: on a developer's machine a test that lacks root, a program or
// a kernel feature is skipped and says what it lacks; in CI (CI=true), which
// installs everything and runs as root, the same lack fails the test.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CI reports whether the tests run in CI, where nothing may be skipped for
// lack of privilege or of an installed program.
func CI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Main is TestMain for packages whose tests start programs through the
// re-exec shim: the test binary then acts as the shim. shimMain is
// policy.ShimMain (passed in, so that policy's own tests can use testenv).
func Main(m *testing.M, shimMain func() bool) {
	if shimMain() {
		return
	}
	os.Exit(m.Run())
}

// Missing skips t, or fails it in CI, for a reason that says what this
// machine lacks ("runsc is not installed").
func Missing(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatalf("in CI: %s (.ci/install must provide it, and CI runs as root)", reason)
	}
	t.Skip(reason)
}

// Missingf is Missing with a formatted reason.
func Missingf(t testing.TB, format string, args ...any) {
	t.Helper()
	Missing(t, fmt.Sprintf(format, args...))
}

// NeedRoot requires root: tracing, namespaces, runsc.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root")
	}
}

// NeedTool returns the path of an installed program.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed")
	}
	return p
}

// NeedRunsc returns the installed runsc, which needs root to start sandboxes.
func NeedRunsc(t testing.TB) string {
	t.Helper()
	p := NeedTool(t, "runsc")
	NeedRoot(t)
	return p
}

// BuildC compiles one C source file into the test's temporary directory and
// returns the executable; extra are more compiler flags.
func BuildC(t testing.TB, src string, extra ...string) string {
	t.Helper()
	cc := NeedTool(t, "cc")
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	args := append([]string{"-O1", "-o", out, src}, extra...)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", src, err, b)
	}
	return out
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// HTTPGet fetches url and wants status 200.
func HTTPGet(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
