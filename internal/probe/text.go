package probe

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// WriteText writes the result for people: the verdict with the number of
// runs and wall time, required syscalls with their evidence, and what the
// program did instead of the others.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	runs := "runs"
	if r.Runs == 1 {
		runs = "run"
	}
	fmt.Fprintf(&b, "probe: %s (%d %s, %s)\n", r.Verdict, r.Runs, runs, r.Wall.Round(time.Millisecond))
	fmt.Fprintf(&b, "  reference run: %s\n", describe(r.Reference))
	switch {
	case r.Inconsistent:
		fmt.Fprintf(&b, "  inconsistent: %s\n", r.Inconsistency)
	case len(r.Candidates) == 0:
		b.WriteString("  the program used no syscall this gVisor lacks\n")
	}
	if r.Simulated != nil {
		fmt.Fprintf(&b, "  simulated gVisor (%d missing syscall%s failed as gVisor fails them): %s\n",
			len(r.Candidates), plural(len(r.Candidates)), describe(*r.Simulated))
	}
	if len(r.Required) > 0 {
		b.WriteString("  required (the program fails when they fail):\n")
		for _, f := range r.Required {
			fmt.Fprintf(&b, "    %s: %s\n", f.Candidate, describe(f.Evidence))
		}
	}
	if len(r.Fallbacks) > 0 && !r.Inconsistent {
		if r.Verdict == analyze.Incompatible {
			b.WriteString("  has fallback (all of these failing together, the program works):\n")
		} else {
			b.WriteString("  fallbacks:\n")
		}
		for _, f := range r.Fallbacks {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
