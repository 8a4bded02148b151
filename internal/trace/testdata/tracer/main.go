// Command tracer runs a program under the ptrace tracer, for tests that
// need a binary built like gvcheck's (go test strips its own binaries'
// symbol tables, which package sigstate reads): tracer [-full] -- CMD ARGS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
)

func main() {
	if policy.ShimMain() {
		return
	}
	full := flag.Bool("full", false, "trace every syscall")
	flag.Parse()
	opt := trace.Options{Full: *full, Policy: &policy.Policy{Arch: sysno.Host(), Default: policy.Allow}}
	if *full {
		opt.Policy = nil
	}
	res, err := trace.Run(context.Background(), flag.Args(), opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracer:", err)
		os.Exit(1)
	}
	os.Exit(res.Exit.Code)
}
