//go:build linux

package probe

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gvcheck/gvcheck/internal/launch"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// execRunner runs the real program: unobserved under launch, with the
// simulation's filter and supervisor when something is simulated.
type execRunner struct {
	cfg Config
}

func (r *execRunner) launchConfig() launch.Config {
	network := r.cfg.Network
	if network == "" {
		network = "none"
	}
	return launch.Config{
		Argv: r.cfg.Argv, Env: r.cfg.Env, Dir: r.cfg.Dir, Stdin: r.cfg.Stdin,
		Timeout: r.cfg.Timeout, Grace: r.cfg.Grace, Isolate: !r.cfg.InPlace, Network: network,
		Test: r.cfg.Test, Ready: r.cfg.Ready, Rootfs: r.cfg.Rootfs, Path: r.cfg.Path,
	}
}

func (r *execRunner) run(ctx context.Context, ds []*simulate.Difference, on simulate.Set) (*launch.Result, *met, error) {
	lc := r.launchConfig()
	var sup *simulate.Supervisor
	if len(ds) > 0 && len(on) > 0 {
		prog, err := simulate.Policy(r.cfg.Arch(), ds, on).Compile()
		if err != nil {
			return nil, nil, fmt.Errorf("probe: simulation filter: %w", err)
		}
		sup = simulate.NewSupervisor(r.cfg.Arch(), ds, on, r.cfg.Target.Provided)
		lc.Filter = prog
		lc.Supervise = func(fd int, stop *atomic.Bool) { sup.Serve(fd, stop) }
	}
	res, err := launch.Run(ctx, lc)
	if err != nil {
		return nil, nil, err
	}
	m := &met{hits: make([]uint64, len(ds))}
	if sup != nil {
		m.hits, m.examples = sup.Hits(), sup.Examples()
	}
	return res, m, nil
}

func (r *execRunner) observe(ctx context.Context) (*launch.Result, *profile.Profile, error) {
	topt := trace.Options{Policy: r.cfg.Observe}
	o, err := launch.Observe(ctx, r.launchConfig(), topt, false)
	if err != nil {
		return nil, nil, err
	}
	return &o.Result, o.Profile, nil
}
