#!/bin/sh
# End-to-end benchmarks of the gvcheck binary against native runs and its
# peers (see bench/e2e/main.go). Run as root from anywhere:
#   sh bench/run.sh                    # every job, 5 rounds
#   sh bench/run.sh -jobs fast-dd,full-dd -rounds 9
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/e2e" ./bench/e2e
"$tmp/e2e" "$@"
