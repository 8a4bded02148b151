//go:build linux

package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/outcome"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/trace"
)

// Observed is a traced run: its outcome, the calls it made (with OnCall
// unset) and its profile.
type Observed struct {
	Result
	Calls   []profile.Call
	Profile *profile.Profile
}

// Observe runs the program once under the tracer, set up as Run sets up an
// unobserved run (isolated, same network, a server tested and stopped the
// same way), so that the two can be compared. topt chooses the tracer's
// mode (Policy, Full, ExactErrors); its stdio, directory, environment and
// isolation come from cfg. Calls are collected when keepCalls is set.
//
// A traced program keeps the host's PID namespace (see trace.Options).
func Observe(ctx context.Context, cfg Config, topt trace.Options, keepCalls bool) (*Observed, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	stdinName := cfg.Stdin
	if stdinName == "" {
		stdinName = os.DevNull
	}
	stdin, err := os.Open(stdinName)
	if err != nil {
		return nil, fmt.Errorf("launch: stdin: %w", err)
	}
	defer stdin.Close()
	stdout, outDone, err := capture(cfg.OutputLimit)
	if err != nil {
		return nil, err
	}
	stderr, errDone, err := capture(cfg.OutputLimit)
	if err != nil {
		stdout.Close()
		<-outDone
		return nil, err
	}
	if cfg.Rootfs != nil {
		cfg.Isolate = true
		if cfg.Dir == "" {
			cfg.Dir = "/"
		}
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	var (
		mu    sync.Mutex
		calls []profile.Call
	)
	pidc := make(chan int, 1)
	topt.Dir, topt.Env = dir, cfg.Env
	topt.Stdin, topt.Stdout, topt.Stderr = stdin, stdout, stderr
	topt.Isolate, topt.Network = cfg.Isolate, cfg.Network
	topt.Rootfs, topt.Path = cfg.Rootfs, cfg.Path
	topt.Started = func(pid int) { pidc <- pid }
	if keepCalls {
		next := topt.OnCall
		topt.OnCall = func(c *profile.Call) {
			mu.Lock()
			calls = append(calls, *c)
			mu.Unlock()
			if next != nil {
				next(c)
			}
		}
	}
	tctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	start := time.Now()
	ended := make(chan struct{})
	var (
		tres *trace.Result
		terr error
	)
	go func() {
		defer close(ended)
		tres, terr = trace.Run(tctx, cfg.Argv, topt)
	}()
	o := &Observed{}
	if cfg.Test != "" {
		select {
		case pid := <-pidc:
			o.Test = TestServer(tctx, cfg, dir, pid, start, ended)
			select {
			case <-ended:
			default:
				_ = unix.Kill(pid, unix.SIGTERM)
				select {
				case <-ended:
				case <-time.After(cfg.Grace):
					cancel()
					<-ended
				}
			}
		case <-ended:
			o.Test = &outcome.Test{NotReady: "the program ended before it was ready"}
		}
	}
	<-ended
	o.Duration = time.Since(start)
	// The tree has exited: the pipes' only writers are ours.
	stdout.Close()
	stderr.Close()
	out, errOut := <-outDone, <-errDone
	o.Stdout, o.Stderr = out.data, errOut.data
	o.Truncated = out.truncated || errOut.truncated
	if tres == nil {
		if terr == nil {
			terr = errors.New("no result")
		}
		return nil, terr
	}
	o.Exit = tres.Exit
	o.TimedOut = terr != nil && errors.Is(terr, context.DeadlineExceeded) && ctx.Err() == nil && cfg.Test == ""
	mu.Lock()
	o.Calls = calls
	mu.Unlock()
	o.Profile = tres.Profile
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return o, nil
}
