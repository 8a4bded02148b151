package main

import (
	"strings"
	"testing"
)

func TestPredict(t *testing.T) {
	for _, c := range []struct {
		mode   string
		exit   int
		stderr string
		report map[string]any
		want   string
	}{
		{"verify", 0, "", nil, predWorks},
		{"verify", 3, "", nil, predFails},
		{"verify", 1, "gvcheck: error: runsc failed", nil, predError},
		{"probe", 3, "", map[string]any{"verdict": "compatible"}, predFails},
		{"check", 0, "", map[string]any{"verdict": "compatible"}, predWorks},
		{"check", 3, "", map[string]any{"verdict": "at-risk"}, predFails},
		{"check", 1, "gvcheck: error: bad log", nil, predError},
		{"run", 0, "", map[string]any{"verdict": "fallbacks-verified"}, predWorks},
		{"run", 1, "", map[string]any{"verdict": "incompatible"}, predFails},
		{"run", 0, "", nil, predError},
		{"run", 0, "", map[string]any{"verdict": "at-risk", "outcome": "works"}, predWorks},
		{"run", 0, "", map[string]any{"verdict": "compatible", "outcome": "degraded"}, predFails},
		{"run-probe", 2, "gvcheck: error: unknown flag: --probe", nil, predUnavailable},
		{"run-probe", 0, "", map[string]any{"verdict": "compatible", "outcome": "fails"}, predFails},
	} {
		if got, _ := predict(c.mode, c.exit, c.stderr, c.report); got != c.want {
			t.Errorf("predict(%s, exit %d, %v) = %s, want %s", c.mode, c.exit, c.report, got, c.want)
		}
	}
}

func TestCauseOf(t *testing.T) {
	if got := causeOf(map[string]any{"cause": "io_uring_setup is not supported\nmore"}); got != "io_uring_setup is not supported" {
		t.Errorf("cause: %q", got)
	}
	req := map[string]any{"required": []any{map[string]any{"syscall": "io_uring_setup", "errno": "ENOSYS"}}}
	if got := causeOf(req); got != "required: io_uring_setup ENOSYS" {
		t.Errorf("probe cause: %q", got)
	}
	if got := causeOf(map[string]any{"verdict": "compatible"}); got != "" {
		t.Errorf("no cause: %q", got)
	}
}

func TestJudge(t *testing.T) {
	exit1 := 1
	e := &Entry{Name: "x", Category: "bench", Package: "p", Cmd: []string{"x"},
		Expect: Expect{Exit: &exit1, Stdout: "^ok$", NotOutput: "skipp"}}
	if err := e.validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    runResult
		pass bool
	}{
		{runResult{exit: 1, stdout: "a\nok\n"}, true},
		{runResult{exit: 0, stdout: "ok\n"}, false},
		{runResult{exit: 1, stdout: "ok\n", stderr: "stressor skipped\n"}, false},
		{runResult{exit: 1, stdout: "not ok\n"}, false},
		{runResult{exit: 1, stdout: "ok\n", timedOut: true}, false},
	} {
		if why := e.judge(&c.r); (why == "") != c.pass {
			t.Errorf("judge(%+v) = %q, want pass %v", c.r, why, c.pass)
		}
	}
}

func TestSetLabel(t *testing.T) {
	in := strings.Split(`# header
- name: a
  cmd: [a]
  label: fails
  mechanism: ioctl
  cause: 'x'

- name: b
  sh: |
    echo b
  # a note

- name: c
  cmd: [c]
`, "\n")
	out, err := setLabel(in, "a", labelWorks)
	if err != nil {
		t.Fatal(err)
	}
	out, err = setLabel(out, "b", labelFails)
	if err != nil {
		t.Fatal(err)
	}
	want := `# header
- name: a
  cmd: [a]
  label: works

- name: b
  sh: |
    echo b
  label: fails
  # a note

- name: c
  cmd: [c]
`
	if got := strings.Join(out, "\n"); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := setLabel(in, "zz", labelWorks); err == nil {
		t.Error("unknown entry: no error")
	}
}
