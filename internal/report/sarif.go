package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// SARIF 2.1.0 (OASIS), as code scanning services read it: one rule per
// finding key, one result per finding of each workload.

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// gvcheckURI is the project's home, the tool's informationUri.
	gvcheckURI = "https://github.com/gvcheck/gvcheck"
	// gvisorCompatURI is gVisor's table of syscalls, one anchor per syscall.
	gvisorCompatURI = "https://gvisor.dev/docs/user_guide/compatibility/linux/"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifMessage   `json:"shortDescription"`
	FullDescription      *sarifMessage  `json:"fullDescription,omitempty"`
	Help                 *sarifMessage  `json:"help,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	BaselineState       string             `json:"baselineState,omitempty"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// sarifLevel maps a finding to SARIF's levels: what counts at --fail-on
// is an error, other risks warnings, partial support and what an
// experiment showed harmless notes.
func sarifLevel(f analyze.Finding, failOn analyze.Level) string {
	switch {
	case f.Level == analyze.LevelPartial || f.Tried == "tolerated" || f.Tried == "not-reached":
		return "note"
	case Counts(f, failOn) || f.Accepted && f.Level >= failOn:
		return "error"
	}
	return "warning"
}

// WriteSARIF writes r as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report, opt Options) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: "gvcheck", Version: strings.TrimPrefix(r.Tool, "gvcheck "),
			InformationURI: gvcheckURI, Rules: []sarifRule{}}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     []sarifResult{},
		Properties: map[string]any{
			"target": targetLine(r.Target), "gvisor": r.Target.GVisor, "arch": r.Target.Arch, "verdict": string(r.Verdict),
		},
	}
	ruleIndex := map[string]int{}
	for _, wl := range r.Workloads {
		loc := workloadURI(wl)
		for _, f := range wl.Findings {
			key := Key(f)
			i, ok := ruleIndex[key]
			if !ok {
				i = len(run.Tool.Driver.Rules)
				ruleIndex[key] = i
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(f, r.Target.Arch, opt.FailOn))
			}
			sum := sha256.Sum256([]byte(wl.Name + "\x00" + key))
			res := sarifResult{
				RuleID: key, RuleIndex: i, Level: sarifLevel(f, opt.FailOn),
				Message:             sarifMessage{Text: findingSentence(wl, f)},
				Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: loc}}}},
				PartialFingerprints: map[string]string{"gvcheckFinding/v1": hex.EncodeToString(sum[:16])},
				Properties:          map[string]any{"workload": wl.Name, "level": f.Level.String()},
			}
			if f.Count > 0 {
				res.Properties["calls"] = f.Count
			}
			if f.Tried != "" {
				res.Properties["tried"] = f.Tried
			}
			if f.Accepted {
				res.BaselineState = "unchanged"
				res.Suppressions = []sarifSuppression{{Kind: "external", Justification: "accepted in the gvcheck baseline"}}
			}
			run.Results = append(run.Results, res)
		}
	}
	return WriteJSONValue(w, sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func sarifRuleFor(f analyze.Finding, arch string, failOn analyze.Level) sarifRule {
	rule := sarifRule{
		ID:                   Key(f),
		Name:                 ruleName(f),
		ShortDescription:     sarifMessage{Text: fmt.Sprintf("%s under gVisor: %s", f.Title(), outcome(f))},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(analyze.Finding{Level: f.Level}, failOn)},
		Properties:           map[string]any{"tags": []string{"gvisor", "compatibility", f.Kind, f.Level.String()}},
	}
	var help []string
	if f.Note != "" {
		rule.FullDescription = &sarifMessage{Text: f.Note}
		help = append(help, "gVisor: "+f.Note)
	}
	if f.NeedsFlag != "" {
		help = append(help, "It works when runsc runs with "+f.NeedsFlag+".")
	}
	if f.Source != "" {
		help = append(help, "Rule from gVisor's "+f.Source+".")
	}
	for _, u := range f.URLs {
		help = append(help, "See "+absURL(u))
	}
	if len(help) > 0 {
		rule.Help = &sarifMessage{Text: strings.Join(help, "\n")}
	}
	switch {
	case len(f.URLs) > 0:
		rule.HelpURI = absURL(f.URLs[0])
	case f.Kind == analyze.KindSyscall || f.Kind == analyze.KindArgument:
		if arch == "" {
			arch = "amd64"
		}
		rule.HelpURI = gvisorCompatURI + arch + "/#" + f.Syscall
	}
	return rule
}

// ruleName is a rule's identifier-like name: "UnimplementedSyscall".
func ruleName(f analyze.Finding) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(f.Level.String()+"-"+f.Kind, func(r rune) bool { return r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// findingSentence says a finding in one line, with gVisor's note.
func findingSentence(wl Workload, f analyze.Finding) string {
	s := findingLine(wl, f)
	if f.Note != "" {
		s += ". gVisor: " + strings.TrimSuffix(f.Note, ".")
	}
	return s
}

// findingLine says a finding in one line.
func findingLine(wl Workload, f analyze.Finding) string {
	s := fmt.Sprintf("%s: %s (%s) under gVisor: %s", wl.Name, f.Title(), f.Level, outcome(f))
	if f.Count > 0 {
		s += fmt.Sprintf("; %s", Plural(int(f.Count), "call"))
	}
	if f.Tried != "" {
		s += "; the experiment found it " + f.Tried
	}
	if f.Accepted {
		s += "; accepted in the baseline"
	}
	return s
}

// workloadURI names the evidence of a workload as a relative URI: the
// file it was read from, else the workload's name.
func workloadURI(wl Workload) string {
	name := wl.Name
	for _, s := range wl.Sources {
		if s.Name != "" && s.Name != "-" {
			name = s.Name
			break
		}
	}
	name = strings.TrimPrefix(name, "./")
	return (&url.URL{Path: name}).String()
}

// absURL gives gVisor's links a scheme: its source writes some as
// "gvisor.dev/issue/204".
func absURL(u string) string {
	if strings.Contains(u, "://") {
		return u
	}
	return "https://" + u
}
