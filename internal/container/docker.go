package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/profile"
)

// RegisterHint says how to give the Docker Engine runsc as a runtime.
const RegisterHint = `add "runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}} to /etc/docker/daemon.json and reload the engine (kill -HUP $(pidof dockerd)), or run: runsc install && systemctl reload docker`

// Runtime returns the path of the Docker Engine's runtime name and its
// runtime arguments, or an error when the engine has no such runtime.
func Runtime(ctx context.Context, name string) (string, []string, error) {
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{json .Runtimes}}").Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return "", nil, fmt.Errorf("docker info: %w%s", err, msg)
	}
	var rts map[string]struct {
		Path string   `json:"path"`
		Args []string `json:"runtimeArgs"`
	}
	if err := json.Unmarshal(out, &rts); err != nil {
		return "", nil, fmt.Errorf("docker info: %w", err)
	}
	rt, ok := rts[name]
	if !ok {
		return "", nil, fmt.Errorf("the Docker Engine has no %q runtime", name)
	}
	return rt.Path, rt.Args, nil
}

// DockerRun runs an image of the Docker Engine with `docker run
// --runtime=runsc`, as a user would, with the settings as docker run
// options. It gives a verdict's run only: the engine's runsc runs with the
// runtime arguments the engine was configured with (no debug log, no
// strace), so explaining runs use a bundle of gvcheck's own.
type DockerRun struct {
	Image    string
	Args     []string // replace the image's cmd when set
	Settings Settings
	Runtime  string // the engine's runtime name (default runsc)
	Timeout  time.Duration
}

var dockerRuns atomic.Int64

// Run runs the container and returns its outcome in runsc's terms: a
// runtime that would not start the program is a refusal (gvisor.ErrRefused).
func (d DockerRun) Run(ctx context.Context) (*gvisor.RunResult, error) {
	rt := d.Runtime
	if rt == "" {
		rt = "runsc"
	}
	path, rtArgs, err := Runtime(ctx, rt)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, RegisterHint)
	}
	name := fmt.Sprintf("gvcheck-%d-%d", os.Getpid(), dockerRuns.Add(1))
	args := []string{"run", "--rm", "--name", name, "--runtime=" + rt, "--hostname", Hostname, "--stop-timeout", "2"}
	network := d.Settings.Network
	if network == "" {
		network = "none"
	}
	args = append(args, "--network", network)
	for _, c := range d.Settings.CapAdd {
		args = append(args, "--cap-add", c)
	}
	for _, c := range d.Settings.CapDrop {
		args = append(args, "--cap-drop", c)
	}
	if d.Settings.Privileged {
		args = append(args, "--privileged")
	}
	if d.Settings.ReadOnly {
		args = append(args, "--read-only")
	}
	if d.Settings.User != "" {
		args = append(args, "--user", d.Settings.User)
	}
	if d.Settings.Seccomp != "" {
		args = append(args, "--security-opt", "seccomp="+d.Settings.Seccomp)
	}
	args = append(append(args, d.Image), d.Args...)
	runCtx := ctx
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := &gvisor.RunResult{Flags: append([]string{"--runtime=" + rt}, rtArgs...)}
	if v, err := (&gvisor.Runner{Runsc: path}).Version(ctx); err == nil {
		res.Version = v
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("docker run: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	timedOut := false
	select {
	case waitErr = <-done:
	case <-runCtx.Done():
		timedOut = true
		_ = exec.Command("docker", "kill", name).Run()
		waitErr = <-done
	}
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	res.Exit = profile.Exit{}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		res.Exit.Code = ee.ExitCode()
	} else if waitErr != nil {
		return nil, fmt.Errorf("docker run: %w", waitErr)
	}
	if timedOut {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Stopped = true
		return res, fmt.Errorf("docker run: %w after %v", gvisor.ErrTimedOut, d.Timeout)
	}
	// docker run's own failures exit 125-127 with "docker: Error response
	// from daemon: ...": the runtime refused the program when it failed
	// "creating process" (file capabilities, a missing executable).
	if res.Exit.Code >= 125 && res.Exit.Code <= 127 && bytes.Contains(res.Stderr, []byte("Error response from daemon")) {
		msg := strings.TrimSpace(string(res.Stderr))
		msg, _, _ = strings.Cut(msg, "\n")
		msg = strings.TrimPrefix(msg, "docker: Error response from daemon: ")
		if strings.Contains(msg, "creating process") || strings.Contains(msg, "failed to update creds") || strings.Contains(msg, "executable file not found") {
			res.Refused = msg
			return res, fmt.Errorf("%w: %s", gvisor.ErrRefused, msg)
		}
		return res, fmt.Errorf("docker run --runtime=%s: %s", rt, msg)
	}
	return res, nil
}

// ImageName is the Engine's name of a docker: reference ("" otherwise).
func ImageName(ref string) string {
	n, ok := strings.CutPrefix(ref, "docker:")
	if !ok {
		return ""
	}
	return n
}
