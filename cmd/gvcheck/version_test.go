package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildWith builds gvcheck with extra go build arguments; GOFLAGS from the
// environment is replaced so that the arguments decide.
func buildWith(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gvcheck")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

func versionJSON(t *testing.T, bin string) map[string]any {
	t.Helper()
	out, err := exec.Command(bin, "version", "-f", "json").Output()
	if err != nil {
		t.Fatalf("gvcheck version: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("gvcheck version -f json: %v\n%s", err, out)
	}
	return v
}

// TestVersionFromCheckout: go build in a git checkout stamps the commit,
// and gvcheck version and reports carry it.
func TestVersionFromCheckout(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(root)), ".git")); err != nil || !fi.IsDir() {
		// Go recognises only a .git directory (golang/go#58218): a linked
		// worktree's .git file gives no stamp. CI builds from a clone.
		t.Skip("a linked git worktree: the Go toolchain does not stamp VCS information here")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := versionJSON(t, buildWith(t, "-buildvcs=true"))
	if got, want := v["revision"], strings.TrimSpace(string(head)); got != want {
		t.Errorf("revision %v, want %s", got, want)
	}
	if ver, _ := v["version"].(string); ver == "dev" || !strings.HasPrefix(ver, "v") {
		t.Errorf("version %q, want the module's pseudo-version", ver)
	}
}

// TestVersionLdflags: a release build names its version and revision with
// -ldflags, and both reach the JSON report's "tool".
func TestVersionLdflags(t *testing.T) {
	const pkg = "github.com/gvcheck/gvcheck/internal/buildinfo"
	bin := buildWith(t, "-buildvcs=false", "-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".revision=0123456789abcdef0123")
	v := versionJSON(t, bin)
	if v["version"] != "v9.8.7" || v["revision"] != "0123456789abcdef0123" {
		t.Errorf("version %v revision %v, want v9.8.7 and the -ldflags revision", v["version"], v["revision"])
	}
	if db, _ := v["database"].([]any); len(db) < 20 {
		t.Errorf("%d database versions listed, want every embedded one", len(db))
	}
	names := filepath.Join(t.TempDir(), "names")
	if err := os.WriteFile(names, []byte("read\nwrite\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "-f", "json", names).Output()
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !strings.Contains(string(out), `"tool": "gvcheck v9.8.7 (0123456789ab)"`) {
		t.Errorf("report does not name the build:\n%.300s", out)
	}
	out, err = exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "gvcheck v9.8.7 (0123456789ab)" {
		t.Errorf("--version: %q %v", out, err)
	}
}
