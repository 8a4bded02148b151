// Command testsummary reads `go test -json` and prints what `go test` prints
// (a line per package, the output of failed tests) followed by one summary
// line: how many tests passed, failed and were skipped, and each skip with
// its reason. CI runs the tests through it so that a skip cannot pass
// unnoticed.
//
//	go test -json ./... | go run ./internal/cmd/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

func main() {
	code, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func summarise(r io.Reader, w io.Writer) (int, error) {
	out := map[key][]string{}
	var passed, failed int
	var skipped []string
	failedPkg := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Build failures arrive as plain text.
			fmt.Fprintln(w, string(line))
			failedPkg = true
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			out[k] = append(out[k], e.Output)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			} else if !strings.Contains(e.Test, "/") {
				passed++
			}
			delete(out, k)
		case "skip":
			if e.Test == "" {
				if !slices.ContainsFunc(out[k], func(s string) bool { return strings.Contains(s, "no test files") }) {
					fmt.Fprintf(w, "ok  \t%s\t[no tests to run]\n", e.Package)
				}
			} else {
				skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(out[k])))
			}
			delete(out, k)
		case "fail":
			if e.Test == "" {
				failedPkg = true
				fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			} else {
				if !strings.Contains(e.Test, "/") {
					failed++
				}
				for _, l := range out[k] {
					fmt.Fprint(w, l)
				}
			}
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return 1, err
	}
	fmt.Fprintf(w, "\n%d tests passed, %d failed, %d skipped\n", passed, failed, len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(w, "  skipped: %s\n", s)
	}
	if failed > 0 || failedPkg {
		return 1, nil
	}
	return 0, nil
}

// reason is the last line a skipped test logged: its t.Skip message.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "no reason given"
}
