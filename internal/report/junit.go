package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML as CI test tabs read it: a test suite per workload, a test
// case for its verdict and one per finding. What counts at --fail-on
// fails; what a baseline accepts is skipped.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, r *Report, opt Options) error {
	all := junitSuites{Name: "gvcheck: " + headline(r)}
	for _, wl := range r.Workloads {
		s := junitSuite{Name: wl.Name, Properties: []junitProperty{
			{"gvisor", targetLine(r.Target)}, {"verdict", string(wl.Verdict)}, {"evidence", evidenceLine(wl)},
		}}
		class := "gvcheck." + wl.Name
		verdict := junitCase{Name: "verdict: " + string(wl.Verdict), ClassName: class, SystemOut: strings.Join(wl.Notes, "\n")}
		if wl.Fails(opt.FailOn) {
			msg := fmt.Sprintf("%s is %s on gVisor %s", wl.Name, wl.Verdict, r.Target.GVisor)
			if e := wl.Experiment; e != nil {
				msg = fmt.Sprintf("%s: %s under simulated gVisor", wl.Name, e.Outcome)
				if e.Cause != "" {
					msg += ": " + e.Cause
				}
			}
			verdict.Failure = &junitFailure{Message: msg, Type: string(wl.Verdict), Text: msg}
		}
		s.Cases = append(s.Cases, verdict)
		for _, f := range shownFindings(wl, opt) {
			c := junitCase{Name: fmt.Sprintf("%s (%s)", f.Title(), f.Level), ClassName: class}
			text := strings.Join(append([]string{findingLine(wl, f)}, findingDetails(f)...), "\n")
			switch {
			case f.Accepted:
				c.Skipped = &junitSkipped{Message: "accepted in the baseline"}
			case Counts(f, opt.FailOn) && wl.Experiment == nil:
				c.Failure = &junitFailure{Message: f.Title() + ": " + outcome(f), Type: f.Level.String(), Text: text}
			case f.Tried == "required":
				c.Failure = &junitFailure{Message: f.Title() + " is required: " + outcome(f), Type: f.Level.String(), Text: text}
			default:
				c.SystemOut = text
			}
			s.Cases = append(s.Cases, c)
		}
		for _, c := range s.Cases {
			s.Tests++
			if c.Failure != nil {
				s.Failures++
			}
			if c.Skipped != nil {
				s.Skipped++
			}
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}
