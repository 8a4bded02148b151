package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/trace"
	"github.com/gvcheck/gvcheck/internal/trace/ebpf"
)

// backend is the tracer a run or attach uses, and why.
type backend struct {
	name string // "ebpf" or "ptrace"
	auto bool   // chosen by --backend auto: may fall back to ptrace
	why  string
}

func registerBackend(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "backend", "auto", "tracer: ebpf (complete inventory at near native speed, nothing stopped), ptrace, or auto (ebpf where the kernel has BTF and gvcheck may load BPF programs)")
}

// chooseBackend resolves --backend; need names what only eBPF can do
// (attach --cgroup), "" if ptrace would do.
func chooseBackend(flag string, simulate bool, need string) (backend, error) {
	switch flag {
	case "ptrace":
		if need != "" {
			return backend{}, usagef("%s needs the ebpf backend", need)
		}
		return backend{name: "ptrace", why: "chosen with --backend ptrace"}, nil
	case "ebpf":
		if simulate {
			return backend{}, usagef("--simulate makes syscalls fail as under gVisor, which only the ptrace backend does")
		}
		if _, err := ebpf.Check(); err != nil {
			return backend{}, fmt.Errorf("--backend ebpf: %w", err)
		}
		return backend{name: "ebpf", why: "chosen with --backend ebpf"}, nil
	case "auto":
		if simulate {
			return backend{name: "ptrace", why: "auto: --simulate makes syscalls fail, which only the ptrace backend does"}, nil
		}
		why, err := ebpf.Check()
		if err != nil {
			if need != "" {
				return backend{}, fmt.Errorf("%s needs the ebpf backend: %w", need, err)
			}
			return backend{name: "ptrace", why: "auto: " + err.Error()}, nil
		}
		return backend{name: "ebpf", auto: need == "", why: "auto: " + why}, nil
	}
	return backend{}, usagef("--backend: unknown backend %q (want ebpf, ptrace or auto)", flag)
}

// trace runs the tracer: do with the eBPF backend, or ptrace when that is
// the choice (or auto's fallback when the BPF program cannot be loaded).
// It records the backend in the profile's last source.
func (b backend) trace(do func() (*trace.Result, error), ptrace func() (*trace.Result, error)) (*trace.Result, error) {
	var res *trace.Result
	var err error
	if b.name == "ebpf" {
		res, err = do()
		if err != nil && b.auto && errors.Is(err, ebpf.ErrUnavailable) {
			b = backend{name: "ptrace", why: "auto: " + err.Error()}
		}
	}
	if b.name == "ptrace" {
		res, err = ptrace()
	}
	if res != nil && res.Profile != nil && len(res.Profile.Sources) > 0 {
		src := &res.Profile.Sources[len(res.Profile.Sources)-1]
		src.Backend, src.Why = b.name, b.why
	}
	return res, err
}

// preload starts loading the eBPF program when that is the backend.
func (b backend) preload() *ebpf.Preloaded {
	if b.name != "ebpf" {
		return nil
	}
	return ebpf.Preload()
}

// runTrace runs argv under the chosen backend, with the program pre
// preloaded for the eBPF backend.
func runTrace(ctx context.Context, b backend, pre *ebpf.Preloaded, argv []string, opt trace.Options) (*trace.Result, error) {
	return b.trace(
		func() (*trace.Result, error) { return pre.Run(ctx, argv, opt) },
		func() (*trace.Result, error) { return trace.Run(ctx, argv, opt) })
}
