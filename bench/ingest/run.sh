#!/bin/sh
# Parsing speed of gvcheck's strace ingest against the article's pipeline
#
#   sed -e 's/(.*//' LOG | sort | uniq
#
# on the same generated strace -f log (default 1 GiB; SIZE=4GiB to change).
# The log lives in a temporary directory and is removed afterwards. Both
# sides read the log from the page cache (it is read once before timing),
# and each is timed RUNS times (default 3), keeping the fastest run, so that
# other work on the machine disturbs the comparison less. Peak RSS is the
# largest seen over the runs (for the pipeline, of its largest process).
set -eu

SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gvcheck-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$root"
go build -o "$tmp/ingest-bench" ./bench/ingest
bench=$tmp/ingest-bench

echo "generating a $SIZE strace -f log..."
"$bench" gen -size "$SIZE" "$tmp/log"
bytes=$(wc -c <"$tmp/log")
# Write the log out now: its writeback would otherwise eat CPU during the
# first measurements.
sync
cat "$tmp/log" >/dev/null

measure() { # label, command...: prints "label seconds rss_kib", best of $RUNS
	label=$1
	shift
	best=
	peak=0
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		sync # sort's temporary files from the run before
		"$bench" time "$@" 2>"$tmp/time.err" >"$tmp/$label.out"
		secs=$(sed -n 's/^time: \([0-9.]*\) s wall.*/\1/p' "$tmp/time.err")
		rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$tmp/time.err")
		if [ -z "$best" ] || [ "$(awk -v a="$secs" -v b="$best" 'BEGIN { print (a < b) }')" = 1 ]; then
			best=$secs
		fi
		if [ "$rss" -gt "$peak" ]; then
			peak=$rss
		fi
		i=$((i + 1))
	done
	echo "$label $best $peak"
}

set -- $(measure gvcheck "$bench" parse "$tmp/log")
g_s=$2 g_rss=$3
set -- $(measure pipeline sh -c "sed -e 's/(.*//' '$tmp/log' | sort | uniq")
p_s=$2 p_rss=$3

awk -v b="$bytes" -v gs="$g_s" -v gr="$g_rss" -v ps="$p_s" -v pr="$p_rss" \
	-v gn="$(wc -l <"$tmp/gvcheck.out")" -v pn="$(wc -l <"$tmp/pipeline.out")" \
	-v cpus="$(nproc 2>/dev/null || echo '?')" -v runs="$RUNS" 'BEGIN {
	printf "log:                 %.0f MB (%.0f bytes), %s CPUs, best of %d runs\n", b / 1e6, b, cpus, runs
	printf "gvcheck ingest:      %7.3f s  %7.0f MB/s  peak RSS %6.1f MiB  (%d syscall names)\n", gs, b / 1e6 / gs, gr / 1024, gn
	printf "sed | sort | uniq:   %7.3f s  %7.0f MB/s  peak RSS %6.1f MiB  (%d distinct lines)\n", ps, b / 1e6 / ps, pr / 1024, pn
	printf "speed-up:            %.1fx\n", ps / gs
}'
