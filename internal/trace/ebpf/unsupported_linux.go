//go:build linux && !amd64

package ebpf

import (
	"context"
	"fmt"

	"github.com/gvcheck/gvcheck/internal/trace"
)

// The BPF object is built for x86_64 only: elsewhere the backend reports
// itself unavailable (Check says why).

func Run(context.Context, []string, trace.Options) (*trace.Result, error) {
	return nil, fmt.Errorf("%w: the eBPF program is built for x86_64 only", ErrUnavailable)
}

func Attach(context.Context, []int, trace.Options) (*trace.Result, error) {
	return nil, fmt.Errorf("%w: the eBPF program is built for x86_64 only", ErrUnavailable)
}

func AttachCgroup(context.Context, Cgroup, trace.Options) (*trace.Result, error) {
	return nil, fmt.Errorf("%w: the eBPF program is built for x86_64 only", ErrUnavailable)
}

// Preloaded stands for the BPF program Run would use.
type Preloaded struct{}

func Preload() *Preloaded { return &Preloaded{} }

func (*Preloaded) Close() {}

func (*Preloaded) Run(ctx context.Context, argv []string, opt trace.Options) (*trace.Result, error) {
	return Run(ctx, argv, opt)
}
