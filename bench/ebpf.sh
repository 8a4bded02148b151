#!/bin/sh
# The eBPF backend's overhead (bench/e2e jobs ebpf-syscall, ebpf-dd and
# ebpf-python): per syscall (10M getppid calls), and a
# complete inventory of dd bs=1 (600k syscalls) and of python3 -c 'import
# json, sqlite3', side by side with native runs, the kernel's floor (an
# empty BPF program on sys_exit), ptrace --full and strace -f, in ROUNDS
# interleaved rounds (default 9), min / median / max. Run as root:
#   sh bench/ebpf.sh
set -eu
exec sh "$(dirname "$0")/run.sh" -jobs ebpf-syscall,ebpf-dd,ebpf-python -rounds "${ROUNDS:-9}" "$@"
