package sysargs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestZconstUpToDate regenerates zconst.go from the golang.org/x/sys in
// go.mod and compares.
func TestZconstUpToDate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "go command not found")
	}
	out := filepath.Join(t.TempDir(), "zconst.go")
	cmd := exec.Command(goTool, "run", "../cmd/gensysargs", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ../cmd/gensysargs: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile("zconst.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, cur) {
		t.Error("zconst.go is stale; run go generate ./internal/sysargs")
	}
}
