package cli

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/report"
)

// baselineFlags accept known findings so that only new ones fail.
type baselineFlags struct {
	read, write string
}

func (b *baselineFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&b.read, "baseline", "", "accept the findings this file lists (written by --write-baseline): they are reported as accepted and only new ones count towards the exit status")
	fs.StringVar(&b.write, "write-baseline", "", "write every finding of this report to this file, to accept them with --baseline later")
}

// apply writes --write-baseline from the report's findings, then marks
// those --baseline accepts.
func (b *baselineFlags) apply(rep *report.Report) error {
	if b.write != "" {
		o := outputFlags{file: b.write}
		if err := o.writeTo(nil, report.NewBaseline(rep.Workloads).Write); err != nil {
			return fmt.Errorf("--write-baseline: %w", err)
		}
	}
	if b.read == "" {
		return nil
	}
	f, err := os.Open(b.read)
	if err != nil {
		return &usageError{fmt.Errorf("--baseline: %w", err)}
	}
	defer f.Close()
	bl, err := report.ReadBaseline(f)
	if err != nil {
		return fmt.Errorf("--baseline %s: %w", b.read, err)
	}
	rep.Baseline = bl.Apply(b.read, rep.Workloads)
	return nil
}

// reportFails applies the exit rule to every workload of a report.
func reportFails(rep *report.Report, failOn analyze.Level) bool {
	for _, w := range rep.Workloads {
		if gateFails(w, failOn) {
			return true
		}
	}
	return false
}
