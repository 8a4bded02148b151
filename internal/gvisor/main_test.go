package gvisor

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/gvcheck/gvcheck/internal/reap"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// Runs under runsc start runsc through a reaper: this test binary.
func TestMain(m *testing.M) {
	testenv.Main(m, func() bool {
		reap.Dispatch()
		if script := os.Getenv("GVCHECK_GVISOR_TEST_CONTAIN"); script != "" {
			containHelper(script)
			return true
		}
		return false
	})
}

// containHelper stands for gvcheck running a --test command, until a test
// kills it.
func containHelper(script string) {
	cmd := exec.Command("/bin/sh", "-c", script)
	release, err := Contain(cmd)
	if err == nil {
		err = cmd.Run()
		release()
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
