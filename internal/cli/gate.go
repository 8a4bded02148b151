package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/report"
)

// exitStatusHelp is the one exit rule every command follows; each
// command's help carries it.
const exitStatusHelp = `Exit status (every command):
  0    nothing at or above --fail-on, and the program works
  3    a finding at or above --fail-on that no experiment showed harmless and
       no --baseline accepts, or the program does not work under (simulated)
       gVisor
  1    error
  2    usage error
  127  unknown command, or the program to run does not exist (126: it
       cannot be executed)
--fail-on (default needs-option, so that CI fails exactly on an at-risk or
incompatible verdict): partial, needs-option, unsupported-argument,
unimplemented, or never (only errors fail).`

// runExitHelp is run's one addition: it wraps the program as a shell does.
const runExitHelp = `
When the program itself ends badly (exit status N, or killed by signal S),
gvcheck run exits as it did: N, or dies of S, as a shell wrapper would.`

// defaultFailOn makes the exit status agree with the verdict: a finding at
// needs-option or above is what makes a workload at-risk.
const defaultFailOn = "needs-option"

const failOnUsage = "exit 3 when a finding at or above this level remains, or the program does not work: partial, needs-option, unsupported-argument, unimplemented, never"

// registerFailOn adds --fail-on.
func registerFailOn(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "fail-on", defaultFailOn, failOnUsage)
}

// gateFails applies the exit rule to one workload (report.Workload.Fails).
func gateFails(w report.Workload, level analyze.Level) bool {
	return w.Fails(level)
}

// outcomeFails applies the exit rule to a program's outcome (probe,
// verify): not working fails at every level but never.
func outcomeFails(works bool, level analyze.Level) bool {
	return !works && level <= analyze.LevelUnimplemented
}

// experimentFormat checks --format for probe and verify, whose reports
// have their own schemas: text, json or markdown.
func experimentFormat(o *outputFlags) error {
	switch o.format {
	case "text", "json", "markdown", "md":
		return nil
	}
	return usagef("--format: %q is for check, run and attach reports; probe and verify write text, json or markdown", o.format)
}

// parseFailOn reads --fail-on.
func parseFailOn(s string) (analyze.Level, error) {
	l, err := analyze.ParseLevel(s)
	if err != nil {
		return 0, &usageError{fmt.Errorf("--fail-on: %w", err)}
	}
	return l, nil
}
