package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Entry is one program of the corpus (see the header of corpus.yaml).
type Entry struct {
	Name      string            `yaml:"name"`
	Category  string            `yaml:"category"`
	Package   string            `yaml:"package"`
	Cmd       []string          `yaml:"cmd,omitempty"`
	Sh        string            `yaml:"sh,omitempty"`
	Setup     map[string]string `yaml:"setup,omitempty"`
	Expect    Expect            `yaml:"expect"`
	Timeout   string            `yaml:"timeout,omitempty"`
	Runsc     []string          `yaml:"runsc,omitempty"`
	CI        bool              `yaml:"ci,omitempty"`
	Label     string            `yaml:"label,omitempty"`
	Mechanism string            `yaml:"mechanism,omitempty"`
	Cause     string            `yaml:"cause,omitempty"`

	timeout time.Duration
	cause   *regexp.Regexp
}

// Expect is an entry's success check.
type Expect struct {
	Exit      *int   `yaml:"exit,omitempty"`
	Stdout    string `yaml:"stdout,omitempty"`
	Stderr    string `yaml:"stderr,omitempty"`
	Output    string `yaml:"output,omitempty"`
	NotStdout string `yaml:"not_stdout,omitempty"`
	NotStderr string `yaml:"not_stderr,omitempty"`
	NotOutput string `yaml:"not_output,omitempty"`

	re map[string]*regexp.Regexp
}

const (
	labelWorks = "works"
	labelFails = "fails"
)

var categories = map[string]bool{
	"coreutils": true, "interpreter": true, "build": true, "server": true,
	"system": true, "network": true, "bench": true,
}

// loadCorpus reads and validates the corpus file.
func loadCorpus(path string) ([]*Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []*Entry
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%s: entry %d (%s): %w", path, i+1, e.Name, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%s: duplicate entry %s", path, e.Name)
		}
		seen[e.Name] = true
	}
	return entries, nil
}

func (e *Entry) validate() error {
	if e.Name == "" || strings.ContainsAny(e.Name, " ,") {
		return fmt.Errorf("name must be non-empty, without spaces or commas")
	}
	if !categories[e.Category] {
		return fmt.Errorf("unknown category %q", e.Category)
	}
	if e.Package == "" {
		return fmt.Errorf("no package")
	}
	if (len(e.Cmd) == 0) == (e.Sh == "") {
		return fmt.Errorf("exactly one of cmd and sh is needed")
	}
	for name := range e.Setup {
		if name == "" || filepath.IsAbs(name) || strings.Contains(name, "..") {
			return fmt.Errorf("setup file %q must be a relative path inside the run directory", name)
		}
	}
	e.timeout = 30 * time.Second
	if e.Timeout != "" {
		d, err := time.ParseDuration(e.Timeout)
		if err != nil || d <= 0 {
			return fmt.Errorf("bad timeout %q", e.Timeout)
		}
		e.timeout = d
	}
	if len(e.Runsc) == 0 {
		e.Runsc = []string{"--network=none"}
	}
	if err := e.Expect.compile(); err != nil {
		return err
	}
	switch e.Label {
	case "": // not labelled yet: it may carry the mechanism expected
	case labelWorks:
		if e.Mechanism != "" || e.Cause != "" {
			return fmt.Errorf("mechanism and cause belong to failing programs")
		}
	case labelFails:
		if e.Mechanism == "" || e.Cause == "" {
			return fmt.Errorf("a failing program needs a mechanism and a cause regex")
		}
	default:
		return fmt.Errorf("label must be works or fails, not %q", e.Label)
	}
	if e.Cause != "" {
		re, err := regexp.Compile(e.Cause)
		if err != nil {
			return fmt.Errorf("cause: %w", err)
		}
		e.cause = re
	}
	return nil
}

func (x *Expect) compile() error {
	x.re = map[string]*regexp.Regexp{}
	for k, v := range map[string]string{
		"stdout": x.Stdout, "stderr": x.Stderr, "output": x.Output,
		"not_stdout": x.NotStdout, "not_stderr": x.NotStderr, "not_output": x.NotOutput,
	} {
		if v == "" {
			continue
		}
		re, err := regexp.Compile("(?m)" + v)
		if err != nil {
			return fmt.Errorf("expect.%s: %w", k, err)
		}
		x.re[k] = re
	}
	return nil
}

// argv is the command line the entry runs.
func (e *Entry) argv() []string {
	if e.Sh != "" {
		return []string{"sh", "-c", e.Sh}
	}
	return e.Cmd
}

// judge applies the success check to one run; it returns "" when the run
// passes, else why it does not.
func (e *Entry) judge(r *runResult) string {
	if r.err != "" {
		return r.err
	}
	if r.timedOut {
		return fmt.Sprintf("timed out after %s", e.timeout)
	}
	want := 0
	if e.Expect.Exit != nil {
		want = *e.Expect.Exit
	}
	if r.exit != want {
		return fmt.Sprintf("exit %d, want %d", r.exit, want)
	}
	streams := map[string]string{
		"stdout": r.stdout, "stderr": r.stderr, "output": r.stdout + r.stderr,
	}
	for _, k := range []string{"stdout", "stderr", "output"} {
		if re := e.Expect.re[k]; re != nil && !re.MatchString(streams[k]) {
			return fmt.Sprintf("%s does not match %q", k, re.String()[4:])
		}
		if re := e.Expect.re["not_"+k]; re != nil {
			if m := re.FindString(streams[k]); m != "" {
				return fmt.Sprintf("%s matches %q: %q", k, re.String()[4:], firstLineAround(streams[k], m))
			}
		}
	}
	return ""
}

// firstLineAround returns the line of s that holds the match m, for messages.
func firstLineAround(s, m string) string {
	i := strings.Index(s, m)
	if i < 0 {
		return m
	}
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		end = len(s) - i
	}
	line := s[start : i+end]
	if len(line) > 160 {
		line = line[:160] + "..."
	}
	return line
}

// selectEntries keeps the entries named in only (comma-separated; all when
// empty) and reports unknown names.
func selectEntries(all []*Entry, only string) ([]*Entry, error) {
	if only == "" {
		return all, nil
	}
	byName := map[string]*Entry{}
	for _, e := range all {
		byName[e.Name] = e
	}
	var out []*Entry
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		e, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no corpus entry named %q", n)
		}
		out = append(out, e)
	}
	return out, nil
}
