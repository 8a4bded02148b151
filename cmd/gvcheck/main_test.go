package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gvcheck/gvcheck/internal/cli"
	"github.com/gvcheck/gvcheck/internal/container"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/schematest"
	"github.com/gvcheck/gvcheck/internal/testenv"
	"github.com/gvcheck/gvcheck/internal/trace/ebpf"
)

func TestMain(m *testing.M) {
	if policy.ShimMain() {
		return
	}
	testscript.Main(cleanup{m}, map[string]func(){
		"gvcheck": func() { os.Exit(cli.Main(context.Background(), os.Args[1:])) },
	})
}

// cleanup removes what the tests left for all of them (the gvcheck binary
// they build) once they have run.
type cleanup struct{ m *testing.M }

func (c cleanup) Run() int {
	code := c.m.Run()
	if gvcheckBin.dir != "" {
		os.RemoveAll(gvcheckBin.dir)
	}
	return code
}

// TestScript runs the end-to-end CLI scripts in testdata/script.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			// Scripts may trace and run real programs; give them the host's PATH.
			env.Setenv("PATH", os.Getenv("PATH"))
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":   cmdStatus,
			"schema":   cmdSchema,
			"mkimage":  cmdMkimage,
			"treehash": cmdTreehash,
			"lines":    cmdLines,
		},
		Condition: condition,
	})
}

// condition answers the scripts' conditions. A script skips what this
// machine lacks, but in CI, which installs everything and runs as root,
// lacking it is an error:
//
//	[root]       gvcheck runs as root
//	[ci]         the tests run in CI
//	[have:NAME]  program NAME is installed
//	[ebpf]       the eBPF backend can run here (kernel BTF, privileges)
func condition(cond string) (bool, error) {
	lack := func(what string) (bool, error) {
		if testenv.CI() {
			return false, fmt.Errorf("in CI: %s (.ci/install must provide it, and CI runs as root)", what)
		}
		return false, nil
	}
	switch {
	case cond == "ci":
		return testenv.CI(), nil
	case cond == "root":
		if os.Geteuid() != 0 {
			return lack("not root")
		}
		return true, nil
	case cond == "docker": // a Docker Engine answers here
		if !dockerEngine() {
			return lack("no Docker Engine answers")
		}
		return true, nil
	case cond == "docker-runsc": // the Docker Engine has runsc as a runtime
		if !dockerEngine() {
			return lack("no Docker Engine answers")
		}
		if _, _, err := container.Runtime(context.Background(), "runsc"); err != nil {
			return lack(err.Error() + " (.ci/install registers it)")
		}
		return true, nil
	case cond == "ebpf":
		if _, err := ebpf.Check(); err != nil {
			return lack("the eBPF backend cannot run: " + err.Error())
		}
		return true, nil
	case strings.HasPrefix(cond, "have:"):
		name := strings.TrimPrefix(cond, "have:")
		if _, err := exec.LookPath(name); err != nil {
			return lack(name + " is not installed")
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// cmdStatus runs a command and checks its exact exit status, 128+N for a
// death by signal N:
// status 3 gvcheck check FILE
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("status: %v", err)
		}
		got = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			got = 128 + int(ws.Signal()) // as a shell reports a death by signal
		}
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdSchema validates a JSON report (a file, or stdout) against the
// schema it names, or a SARIF log against SARIF 2.1.0:
// schema report.json
// schema -sarif stdout
func cmdSchema(ts *testscript.TestScript, neg bool, args []string) {
	sarif := len(args) > 0 && args[0] == "-sarif"
	if sarif {
		args = args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: schema [-sarif] FILE")
	}
	data := []byte(ts.ReadFile(args[0]))
	var err error
	if sarif {
		err = schematest.ValidateSARIF(data)
	} else {
		err = schematest.Validate(data, "")
	}
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s does not match its schema: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s matches its schema", args[0])
	}
}

// cmdLines checks that a file has at most N lines:
// lines 60 report.txt
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lines MAX FILE")
	}
	max, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("lines: %v", err)
	}
	if n := strings.Count(ts.ReadFile(args[1]), "\n"); n > max {
		ts.Fatalf("%s has %d lines, want at most %d", args[1], n, max)
	}
}
