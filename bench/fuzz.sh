#!/bin/sh
# Runs every fuzz target of the module for FUZZTIME (default 10m), JOBS
# targets at a time (default 1), each with -parallel PARALLEL workers
# (default: the CPUs divided among the jobs). Prints one line per target
# (ok, or FAIL and where the crasher was written) and a total; exits 1 if
# any target failed. New interesting inputs stay in the build cache, not in
# the repository's seed corpora.
#   sh bench/fuzz.sh                       (from the repository root)
#   FUZZTIME=30s JOBS=2 sh bench/fuzz.sh   (a quick pass)
set -eu
FUZZTIME=${FUZZTIME:-10m}
JOBS=${JOBS:-1}
cpus=$(nproc)
PARALLEL=${PARALLEL:-$(( cpus / JOBS > 0 ? cpus / JOBS : 1 ))}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gvcheck-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Every "func FuzzX(" of every test file, as "PACKAGE_DIR TARGET".
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	d=$(dirname "$f")
	sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f" | while read -r fn; do echo "$d $fn"; done
done | sort -u >"$tmp/targets"
n=$(wc -l <"$tmp/targets")
echo "fuzzing $n targets for $FUZZTIME each, $JOBS at a time, -parallel $PARALLEL"

run() { # DIR TARGET
	log="$tmp/$(echo "$1 $2" | tr '/ .' '___').log"
	start=$(date +%s)
	if go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$1" >"$log" 2>&1; then
		printf '%-28s %-22s ok   %5ss  %s\n' "$1" "$2" $(( $(date +%s) - start )) "$(grep -o 'execs: [0-9]*' "$log" | tail -1)"
	else
		printf '%-28s %-22s FAIL %5ss\n' "$1" "$2" $(( $(date +%s) - start ))
		sed 's/^/    /' "$log" | tail -20
		echo fail >>"$tmp/failed"
	fi
}

i=0
while read -r dir target; do
	run "$dir" "$target" &
	i=$((i + 1))
	if [ $((i % JOBS)) -eq 0 ]; then wait; fi
done <"$tmp/targets"
wait
failed=0
[ -f "$tmp/failed" ] && failed=$(wc -l <"$tmp/failed")
echo "total: $n targets, $failed failed, $FUZZTIME each"
[ "$failed" -eq 0 ]
