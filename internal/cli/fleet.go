package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/ingest"
)

// Fleets: a directory given to check that is not one strace -ff session
// is walked, recursively, and every file in it is a workload of its own,
// by its detected format (strace logs, gzip'd or not, strace -c tables,
// name lists, OCI seccomp profiles, SeccompProfile objects, one per
// document of a multi-document YAML, saved profiles, gVisor logs); a
// directory of strace -ff files inside is one workload.

// isFleetDir reports whether a directory holds a fleet rather than one
// strace -ff session (only files named BASE.PID with one BASE).
func isFleetDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	return !isSession(ents), nil
}

func isSession(ents []os.DirEntry) bool {
	base := ""
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.IsDir() {
			return false
		}
		b, ok := splitPid(e.Name())
		if !ok || base != "" && b != base {
			return false
		}
		base = b
		n++
	}
	return n > 0
}

// splitPid splits strace -ff's "BASE.PID".
func splitPid(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return "", false
	}
	pid, err := strconv.Atoi(name[i+1:])
	return name[:i], err == nil && pid > 0
}

// walkFleet lists the inputs of a fleet directory: files, and strace -ff
// session directories as one input each; what is no evidence is skipped
// and named.
func walkFleet(root string) (inputs, skipped []string, err error) {
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path == root {
				return nil
			}
			ents, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			if isSession(ents) {
				inputs = append(inputs, path)
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		ok, err := isEvidence(path)
		if err != nil {
			return err
		}
		if ok {
			inputs = append(inputs, path)
		} else {
			skipped = append(skipped, path)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", root, err)
	}
	slices.Sort(inputs)
	return inputs, skipped, nil
}

// isEvidence reports whether a file is in a format check reads.
func isEvidence(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br, isLog, err := openLog(f)
	if err != nil {
		return false, nil // not gzip after all, or unreadable: not evidence
	}
	if isLog {
		return true, nil
	}
	head, _ := br.Peek(logHead)
	return ingest.Detect(head) != "", nil
}

// expandFleets replaces fleet directories among the inputs by their files,
// and says whether there were any (each input is then a workload).
func expandFleets(args []string) (out, skipped []string, fleet bool, err error) {
	for _, a := range args {
		fi, err := os.Stat(a)
		if a == "-" || err != nil || !fi.IsDir() {
			out = append(out, a)
			continue
		}
		isFleet, err := isFleetDir(a)
		if err != nil {
			return nil, nil, false, err
		}
		if !isFleet {
			out = append(out, a)
			continue
		}
		in, sk, err := walkFleet(a)
		if err != nil {
			return nil, nil, false, err
		}
		if len(in) == 0 {
			return nil, nil, false, fmt.Errorf("%s: no evidence in the directory (%d files of no known format)", a, len(sk))
		}
		out = append(out, in...)
		skipped = append(skipped, sk...)
		fleet = true
	}
	return out, skipped, fleet, nil
}
