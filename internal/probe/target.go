package probe

import (
	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/simulate"
)

// SetTarget points the probe at a gVisor target: its table, its argument
// and path rules (nil: syscalls only), the runsc options the sandbox runs
// with, how executables' file capabilities are read (nil: not checked),
// and which capabilities the sandboxed program holds (nil: this
// process's).
func (cfg *Config) SetTarget(t *compat.Table, set *rules.Set, runscFlags []string, fileCaps func(string) (filecap.Caps, bool), hasCap func(string) bool) {
	cfg.SetTargetWith(t, analyze.Options{Rules: set, RunscFlags: runscFlags, FileCaps: fileCaps}, hasCap)
}

// SetTargetWith is SetTarget with every analysis option (a container's
// sandbox capabilities, say).
func (cfg *Config) SetTargetWith(t *compat.Table, opt analyze.Options, hasCap func(string) bool) {
	set, runscFlags := opt.Rules, opt.RunscFlags
	cfg.Analyze = func(p *profile.Profile) []analyze.Finding { return analyze.AnalyzeWith(p, t, opt).Findings }
	cfg.Target = simulate.Target{Arch: t.Arch, HasCap: hasCap}
	if set != nil {
		cfg.Target.Provided = func(p string) bool { ok, _ := set.PathProvided(p); return ok || opt.Mounted(p) }
	}
	obs := policy.Observe(t, set, runscFlags)
	obs.TracePaths()
	cfg.Observe = obs
}
