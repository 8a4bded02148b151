package gvcheck_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// layers is ARCHITECTURE.md's table: a package may import only packages of
// lower layers.
var layers = map[string]int{
	"internal/sysno": 0, "internal/filecap": 0, "internal/procmem": 0, "internal/sigstate": 0, "internal/isolate": 0, "internal/outfile": 0,
	"internal/buildinfo": 0, "internal/testenv": 0, "internal/schematest": 0, "internal/cmd/golit": 0, "internal/cmd/xsysconst": 0,
	"internal/ingest/stracegen": 0,
	"internal/sysargs":          1, "internal/reap": 1,
	"internal/profile": 2, "internal/compat": 2, "internal/rules": 2,
	"internal/analyze": 3, "internal/outcome": 3, "internal/compat/extract": 3, "internal/rules/extract": 3,
	"internal/policy": 4, "internal/ingest": 4, "internal/gvisor": 4, "internal/diverge": 4, "internal/image": 4,
	"internal/trace": 5, "internal/container": 5, "internal/image/imagetest": 5, "internal/imagecheck": 5,
	"internal/kube":       6,
	"internal/trace/ebpf": 6, "internal/launch": 6, "internal/simulate": 6,
	"internal/probe": 7, "internal/verify": 7,
	"internal/report": 8,
	"internal/cli":    9,
}

// top are programs: they may import anything.
func top(pkg string) bool {
	return strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "internal/cmd/gen") ||
		pkg == "internal/cmd/testsummary" || strings.HasPrefix(pkg, "bench/")
}

func TestLayering(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goTool, "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	arch, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/gvcheck/gvcheck/"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, mod)
		if pkg == strings.TrimSuffix(mod, "/") {
			continue // this test
		}
		if top(pkg) {
			continue
		}
		layer, ok := layers[pkg]
		if !ok {
			t.Errorf("%s has no layer: add it to ARCHITECTURE.md and this test", pkg)
			continue
		}
		if !strings.Contains(string(arch), "`"+strings.TrimPrefix(pkg, "internal/")+"`") {
			t.Errorf("ARCHITECTURE.md does not name %s", pkg)
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if l, ok := layers[dep]; ok && l >= layer {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", pkg, layer, dep, l)
			}
			if top(dep) {
				t.Errorf("%s imports the program %s", pkg, dep)
			}
		}
	}
}
