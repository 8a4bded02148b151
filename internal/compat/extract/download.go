// Package extract reads gVisor's syscall tables out of the source of the
// gvisor.dev/gvisor Go module, without importing gVisor: it downloads the
// module with the go command and parses the table files with go/ast. It is
// the engine of internal/cmd/gencompat and of the test that checks the
// embedded database can be regenerated.
package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// Module is the Go module gVisor's source is read from.
const Module = "gvisor.dev/gvisor"

// Source is one module version to extract.
type Source struct {
	Module string // module version, e.g. v0.0.0-20260905035102-160fafc42237
	Time   string // commit time, RFC 3339
	Tag    string // newest release tag the version contains
}

// Date parses Time.
func (s Source) Date() (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("source %s: bad time: %w", s.Module, err)
	}
	return t.UTC(), nil
}

// FindSource returns the embedded source row for a module version.
func FindSource(version string) (Source, bool) {
	for _, s := range Sources {
		if s.Module == version {
			return s, true
		}
	}
	return Source{}, false
}

// Downloaded is one module version in the module cache.
type Downloaded struct {
	Version string
	Dir     string // extracted source tree
	Sum     string // go.sum hash of the module zip
}

// Download fetches the given versions of gvisor.dev/gvisor into the module
// cache with "go mod download -json", run in a temporary module whose go.sum
// carries the hashes of the versions the checksum database lacks, so that
// every download is verified.
func Download(ctx context.Context, versions []string) (map[string]Downloaded, error) {
	if len(versions) == 0 {
		return map[string]Downloaded{}, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("download gVisor source: %w", err)
	}
	tmp, err := os.MkdirTemp("", "gencompat-")
	if err != nil {
		return nil, fmt.Errorf("download gVisor source: %w", err)
	}
	defer os.RemoveAll(tmp)
	gomod := "module gencompat.invalid/download\n\ngo 1.21\n"
	if err := os.WriteFile(tmp+"/go.mod", []byte(gomod), 0o644); err != nil {
		return nil, fmt.Errorf("download gVisor source: %w", err)
	}
	if err := os.WriteFile(tmp+"/go.sum", []byte(strings.Join(goSum, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("download gVisor source: %w", err)
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod")
	if err := checkVerification(ctx, goTool, tmp, env); err != nil {
		return nil, err
	}
	args := []string{"mod", "download", "-json"}
	for _, v := range versions {
		args = append(args, Module+"@"+v)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = tmp
	// -mod=mod lets the go command consult the temporary go.sum; whatever
	// GOFLAGS the caller has (e.g. -mod=vendor, -insecure) is replaced.
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	got := make(map[string]Downloaded, len(versions))
	var failures []string
	dec := json.NewDecoder(&stdout)
	for {
		var m struct {
			Version, Dir, Sum, Error string
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("download gVisor source: reading go mod download output: %w", err)
		}
		if m.Error != "" {
			failures = append(failures, m.Version+": "+m.Error)
			continue
		}
		got[m.Version] = Downloaded{Version: m.Version, Dir: m.Dir, Sum: m.Sum}
	}
	if len(failures) > 0 {
		return nil, fmt.Errorf("download gVisor source: %s", strings.Join(failures, "; "))
	}
	if runErr != nil {
		return nil, fmt.Errorf("download gVisor source: go mod download: %w: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	for _, v := range versions {
		if _, ok := got[v]; !ok {
			return nil, fmt.Errorf("download gVisor source: go mod download did not report %s@%s", Module, v)
		}
	}
	return got, nil
}

// checkVerification refuses to download when the go command's settings
// would skip checksum verification for gVisor's module.
func checkVerification(ctx context.Context, goTool, dir string, env []string) error {
	cmd := exec.CommandContext(ctx, goTool, "env", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOINSECURE")
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("download gVisor source: go env: %w", err)
	}
	vals := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(vals) != 4 {
		return fmt.Errorf("download gVisor source: unexpected go env output %q", out)
	}
	if vals[0] == "off" {
		return errors.New("download gVisor source: GOSUMDB=off turns checksum verification off; unset it")
	}
	for i, name := range []string{"GONOSUMDB", "GOPRIVATE", "GOINSECURE"} {
		if matchesModule(vals[i+1], Module) {
			return fmt.Errorf("download gVisor source: %s=%s exempts %s from checksum verification; unset it", name, vals[i+1], Module)
		}
	}
	return nil
}

// matchesModule reports whether a comma-separated list of glob patterns
// (as in GOPRIVATE) matches mod or one of its path prefixes.
func matchesModule(patterns, mod string) bool {
	for _, p := range strings.Split(patterns, ",") {
		p = strings.TrimSuffix(strings.TrimSpace(p), "/")
		if p == "" {
			continue
		}
		n := strings.Count(p, "/") + 1
		elems := strings.Split(mod, "/")
		if n > len(elems) {
			continue
		}
		if ok, _ := path.Match(p, strings.Join(elems[:n], "/")); ok {
			return true
		}
	}
	return false
}
