package report

import (
	"github.com/gvcheck/gvcheck/internal/analyze"
)

// Key names a finding independently of the gVisor version, the level it
// has there and how often it was seen: its kind and what it is about
// ("syscall:kexec_load", "argument:prctl(PR_SET_MM)", "path:/proc/self/sched",
// "exec:/usr/bin/ping"). Baselines and SARIF fingerprints use it, so an
// accepted finding stays accepted when the target moves on.
func Key(f analyze.Finding) string {
	switch f.Kind {
	case analyze.KindArgument:
		return "argument:" + f.Syscall + "(" + f.Arg + ")"
	case analyze.KindPath:
		return "path:" + f.Arg
	case analyze.KindExec:
		return "exec:" + f.Arg
	}
	return "syscall:" + f.Syscall
}

// Counts reports whether a finding counts towards the exit status at
// level: at or above it, not accepted by a baseline, and not shown
// harmless by an experiment.
func Counts(f analyze.Finding, level analyze.Level) bool {
	return f.Level >= level && !f.Accepted && f.Tried != "tolerated" && f.Tried != "not-reached"
}

// Fails applies gvcheck's exit rule to a workload: its experiment decides
// when there is one; otherwise any finding that counts at level.
// A level above every finding ("never") fails nothing.
func (w Workload) Fails(level analyze.Level) bool {
	if level > analyze.LevelUnimplemented {
		return false
	}
	if e := w.Experiment; e != nil && e.Outcome != "inconsistent" {
		return e.Outcome != "works"
	}
	for _, f := range w.Findings {
		if Counts(f, level) {
			return true
		}
	}
	// A report in gVisor's log that nothing shows harmless counts at
	// every level.
	for _, l := range w.Log {
		if l.Verdict == LogNeedsALook {
			return true
		}
	}
	return false
}
