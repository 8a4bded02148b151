#!/bin/sh
# Prints how many runs `gvcheck probe` needs to find k required syscalls
# among n missing ones (worst case over several placements of the required
# ones), against the 2n of testing one syscall at a time; then, as root,
# the wall time of a real probe (a C program needing 2 of 5 missing
# syscalls).
set -eu
cd "$(dirname "$0")/../.."
go test -v -run '^$' -bench '^BenchmarkSearchRuns$' -benchtime 1x ./internal/probe/ | sed -n 's/^ *search_test.go:[0-9]*: //p'
if [ "$(id -u)" = 0 ]; then
	go test -run '^$' -bench '^BenchmarkProbeTwoOfFive$' -benchtime 20x ./internal/probe/ | grep '^Benchmark'
fi
