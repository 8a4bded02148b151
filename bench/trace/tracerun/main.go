// Command tracerun runs a program under the gvcheck tracer, for benchmarks
// until the CLI wires the tracer in: tracerun [-full] [-v] -- CMD ARGS.
// Fast mode uses a hand-built policy that allows everything except a few
// syscalls gVisor lacks.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/trace"
)

func main() {
	if policy.ShimMain() {
		return
	}
	full := flag.Bool("full", false, "trace every syscall")
	verbose := flag.Bool("v", false, "print the syscall names seen")
	filterOnly := flag.Bool("filter-only", false, "no tracer: run under an allow-everything seccomp filter, to measure the kernel's cost of having a filter")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tracerun [-full] [-v] -- CMD ARGS")
		os.Exit(2)
	}
	arch := sysno.Host()
	if *filterOnly {
		os.Exit(filterOnlyRun(arch, flag.Args()))
	}
	pol := &policy.Policy{Arch: arch, Default: policy.Allow}
	for _, name := range []string{"io_uring_setup", "io_uring_enter", "kexec_load", "set_robust_list", "perf_event_open", "clone3"} {
		if nr, ok := sysno.Number(arch, name); ok {
			pol.Rules = append(pol.Rules, policy.Rule{Nr: nr, Action: policy.Trace})
		}
	}
	opt := trace.Options{Policy: pol, Full: *full}
	res, err := trace.Run(context.Background(), flag.Args(), opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracerun:", err)
		os.Exit(1)
	}
	if *verbose {
		for _, n := range res.Profile.Names() {
			s := res.Profile.Syscalls[n]
			fmt.Fprintf(os.Stderr, "%-20s %8d %v\n", n, s.Count, s.Errors)
		}
	}
	if *verbose {
		var self, kids syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
		fmt.Fprintf(os.Stderr, "tracer user %v sys %v; traced user %v sys %v\n",
			time.Duration(self.Utime.Nano()), time.Duration(self.Stime.Nano()),
			time.Duration(kids.Utime.Nano()), time.Duration(kids.Stime.Nano()))
	}
	fmt.Fprintf(os.Stderr, "tracerun: %d processes, %d syscalls recorded, %d stopped, %s\n",
		res.Processes, res.Syscalls, res.Stopped, res.Elapsed)
	os.Exit(res.Exit.Code)
}

func filterOnlyRun(arch sysno.Arch, argv []string) int {
	prog, err := (&policy.Policy{Arch: arch, Default: policy.Allow}).Compile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracerun:", err)
		return 1
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracerun:", err)
		return 127
	}
	s := policy.Shim{Filter: prog}
	cmd, err := s.Command(path, argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracerun:", err)
		return 1
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "tracerun:", err)
		return 1
	}
	return cmd.ProcessState.ExitCode()
}
