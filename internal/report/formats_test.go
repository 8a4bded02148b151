package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/schematest"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestGoldenSchemas validates every JSON golden file against the schema
// it names (schema/gvcheck.*.schema.json).
func TestGoldenSchemas(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Schema string }
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seen[head.Schema] = true
		if err := schematest.Validate(b, ""); err != nil {
			t.Errorf("%s does not match its schema %s:\n%v", f, head.Schema, err)
		}
	}
	for _, s := range []string{Schema, ProbeSchema, VerifySchema} {
		if !seen[s] {
			t.Errorf("no golden file of %s to validate", s)
		}
	}
}

// TestSchemaRejects: the schemas are not so loose that anything passes.
func TestSchemaRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"verdict":   strings.Replace(string(good), `"verdict": "at-risk"`, `"verdict": "maybe"`, 1),
		"level":     strings.Replace(string(good), `"level": "unimplemented"`, `"level": "bad"`, 1),
		"unknown":   strings.Replace(string(good), `"schema": "gvcheck.report/v1",`, `"schema": "gvcheck.report/v1", "surprise": 1,`, 1),
		"no target": regexp.MustCompile(`(?s)"target": \{.*?\},`).ReplaceAllString(string(good), ""),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if err := schematest.Validate([]byte(bad), ""); err == nil {
			t.Errorf("%s: an invalid report passed the schema", name)
		}
	}
}

// TestSARIFSchema validates the SARIF golden against the SARIF 2.1.0
// schema, and reads it back with a SARIF library (whose own Validate
// cannot be used: it marshals empty optional fields the schema forbids).
func TestSARIFSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "report.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.ValidateSARIF(b); err != nil {
		t.Fatalf("report.sarif is not valid SARIF 2.1.0:\n%v", err)
	}
	rep, err := sarif.FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	run := rep.Runs[0]
	if len(run.Results) != 4 || len(run.Tool.Driver.Rules) != 4 {
		t.Fatalf("%d results and %d rules, want one per finding and key", len(run.Results), len(run.Tool.Driver.Rules))
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		levels[*r.RuleID] = r.Level
		if r.PartialFingerprints["gvcheckFinding/v1"] == "" {
			t.Errorf("%s has no fingerprint", *r.RuleID)
		}
	}
	if levels["syscall:set_robust_list"] != "error" || levels["syscall:ioctl"] != "note" {
		t.Errorf("levels %v: unimplemented must be an error, partial a note", levels)
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.HelpURI == nil || !strings.HasPrefix(*rule.HelpURI, "https://") {
			t.Errorf("rule %s has no help URI", *rule.ID)
		}
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sample(), Options{FailOn: analyze.LevelUnimplemented}); err != nil {
		t.Fatal(err)
	}
	var s junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	// app.log: the verdict and 3 unimplemented findings fail, the partial
	// ioctl passes; syscalls_nmap: its verdict passes.
	if s.Tests != 6 || s.Failures != 4 || len(s.Suites) != 2 {
		t.Errorf("tests %d failures %d suites %d, want 6, 4, 2:\n%s", s.Tests, s.Failures, len(s.Suites), buf.String())
	}
}

func findChromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium-browser"); err == nil {
		return p
	}
	return testenv.NeedTool(t, "chromium") // .ci/install installs Debian's chromium
}

// TestHTMLInChromium renders the HTML report in headless Chromium and
// checks the DOM its script leaves: the findings table sorted as the
// address asks, the legend, a details block per workload, and nothing
// loaded from elsewhere.
func TestHTMLInChromium(t *testing.T) {
	chromium := findChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sample(), Options{FailOn: analyze.LevelNeedsOption}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if regexp.MustCompile(`(?i)<(script|link|img)[^>]+(src|href)=`).MatchString(html) {
		t.Error("the page loads an external asset")
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hash string
		want []string // the findings' titles in order
		sort string
	}{
		// Calls (column 3), most first.
		{"#sort=findings:-3", []string{"ioctl", "set_robust_list", "setns", "syscall_0x3e7"}, "descending"},
		// Finding (column 2), alphabetically.
		{"#sort=findings:2", []string{"ioctl", "set_robust_list", "setns", "syscall_0x3e7"}, "ascending"},
	} {
		dom := dumpDOM(t, chromium, dir, "file://"+page+c.hash)
		tbody := regexp.MustCompile(`(?s)<table id="findings".*?<tbody>(.*?)</tbody>`).FindStringSubmatch(dom)
		if tbody == nil {
			t.Fatalf("%s: no findings table in the DOM:\n%.2000s", c.hash, dom)
		}
		var got []string
		for _, m := range regexp.MustCompile(`<code>([^<]+)</code>`).FindAllStringSubmatch(tbody[1], -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: rows %v, want %v", c.hash, got, c.want)
		}
		if !strings.Contains(dom, `aria-sort="`+c.sort+`"`) {
			t.Errorf("%s: no column marked %s", c.hash, c.sort)
		}
		for _, want := range []string{`id="legend"`, `id="w-app_2elog"`, `id="w-syscalls_5fnmap"`, `<table id="workloads"`, "fallbacks-verified", `href="https://example.invalid/issue/1"`} {
			if !strings.Contains(dom, want) {
				t.Errorf("%s: the DOM has no %s", c.hash, want)
			}
		}
	}
}

func dumpDOM(t *testing.T, chromium, dir, url string) string {
	t.Helper()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--virtual-time-budget=2000", "--dump-dom", url)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chromium did not finish in 90 s:\n%s", stderr.String())
	}
	return out.String()
}
