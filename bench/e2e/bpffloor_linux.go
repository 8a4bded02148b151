package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// bpfFloorExec runs a command (after "--") while an empty BPF program is
// attached to the raw sys_exit tracepoint: what any syscall tracepoint
// program costs on this kernel, whatever it does, and the floor of the
// eBPF backend.
func bpfFloorExec(args []string) int {
	if len(args) < 2 || args[0] != "--" {
		fmt.Fprintln(os.Stderr, "usage: e2e bpf-floor-exec -- CMD [ARGS...]")
		return 2
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sys_exit", License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bpf-floor-exec:", err)
		return 1
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bpf-floor-exec:", err)
		return 1
	}
	defer l.Close()
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if cmd.ProcessState != nil {
			return cmd.ProcessState.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "bpf-floor-exec:", err)
		return 1
	}
	return 0
}
