package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/schematest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestFleetGolden checks a directory of evidence of every format (strace
// logs plain and gzip'd, a strace -ff session, strace -c tables, name
// lists, OCI seccomp profiles, SeccompProfile lists, streams and JSON, a
// saved profile, gVisor logs, and a file of no known format) against
// golden reports: a row per workload and the fleet summary.
func TestFleetGolden(t *testing.T) {
	for _, c := range []struct{ format, golden string }{
		{"text", "fleet.txt"},
		{"markdown", "fleet.md"},
		{"json", "fleet.json"},
	} {
		t.Run(c.format, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(context.Background(), []string{"check", "-f", c.format, filepath.Join("testdata", "fleet")}, nil, &out, &errb)
			if code != ExitFindings {
				t.Fatalf("exit %d, want %d (some workloads are at-risk):\n%s", code, ExitFindings, errb.String())
			}
			golden := filepath.Join("testdata", c.golden)
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from the golden file (go test -update):\n%s", c.golden, out.String())
			}
			if c.format != "json" {
				return
			}
			if err := schematest.Validate(out.Bytes(), ""); err != nil {
				t.Errorf("the fleet report does not match its schema: %v", err)
			}
			var rep report.Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Workloads) < 20 || rep.Fleet == nil || rep.Fleet.Workloads != len(rep.Workloads) {
				t.Fatalf("%d workloads, fleet %+v: want at least 20 and a summary", len(rep.Workloads), rep.Fleet)
			}
			if rep.Fleet.Ready == 0 || rep.Fleet.Ready == rep.Fleet.Workloads || len(rep.Fleet.Blockers) == 0 {
				t.Errorf("fleet %+v: want some ready, some blocked", rep.Fleet)
			}
			if b := rep.Fleet.Blockers[0]; b.Key != "syscall:io_uring_setup" {
				t.Errorf("top blocker %+v, want io_uring_setup (it blocks the most workloads)", b)
			}
			if len(rep.Fleet.Skipped) != 1 {
				t.Errorf("skipped %v, want the README", rep.Fleet.Skipped)
			}
		})
	}
}
