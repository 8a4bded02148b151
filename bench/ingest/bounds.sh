#!/bin/sh
# Peak memory of gvcheck check on inputs made to grow it (bench/ingest/bounds.py),
# each at or past a bound of internal/ingest/bounds.go: the figures behind the
# README's "Bounded input".
#   bench/ingest/bounds.sh            (from the repository root)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gvcheck-bounds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$root"
go build -o "$tmp/gvcheck" ./cmd/gvcheck
python3 bench/ingest/bounds.py "$tmp"
printf '%-18s %8s %10s  %s\n' input MiB "peak RSS" outcome
for f in "$tmp"/*.yaml "$tmp"/*.json "$tmp"/*.log "$tmp"/*.txt; do
	size=$(($(wc -c <"$f") >> 20))
	rc=0
	/usr/bin/time -q -f '%M' -o "$tmp/rss" "$tmp/gvcheck" check -o /dev/null "$f" 2>"$tmp/err" >/dev/null || rc=$?
	rss=$(cat "$tmp/rss")
	msg="read (status $rc)"
	if grep -q 'error:' "$tmp/err"; then
		msg=$(grep -m1 'error:' "$tmp/err" | sed "s|^gvcheck: error: ||; s|$tmp/||g" | cut -c1-80)
	fi
	printf '%-18s %8s %7s MiB  %s\n' "$(basename "$f")" "$size" $((rss / 1024)) "$msg"
done
