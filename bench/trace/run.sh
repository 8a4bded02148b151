#!/bin/sh
# Tracer overhead: native vs gvcheck fast mode vs full mode vs strace -f, on
# a syscall-heavy workload and a typical one. Prints the best of $REPEAT
# runs of each (default 3) and ratios to native.
#   bench/trace/run.sh            (from the repository root)
set -eu
REPEAT=${REPEAT:-3}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/tracerun" ./bench/trace/tracerun
have_strace=0
command -v strace >/dev/null 2>&1 && have_strace=1

now() { date +%s.%N; }

# best SECONDS: the fastest of $REPEAT runs of the command.
best() {
	b=""
	i=0
	while [ "$i" -lt "$REPEAT" ]; do
		s=$(now)
		"$@" >/dev/null 2>&1 </dev/null || true
		e=$(now)
		b=$(awk -v s="$s" -v e="$e" -v b="$b" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; printf "%.4f", b }')
		i=$((i + 1))
	done
	echo "$b"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

run() {
	name=$1
	shift
	n=$(best "$@")
	o=$(best "$tmp/tracerun" -filter-only -- "$@")
	f=$(best "$tmp/tracerun" -- "$@")
	u=$(best "$tmp/tracerun" -full -- "$@")
	printf '%s\n' "$name: $*"
	printf '  %-28s %8.3fs\n' native "$n"
	printf '  %-28s %8.3fs  %6sx native\n' "seccomp filter, no tracer" "$o" "$(ratio "$o" "$n")"
	printf '  %-28s %8.3fs  %6sx native\n' "gvcheck fast" "$f" "$(ratio "$f" "$n")"
	printf '  %-28s %8.3fs  %6sx native\n' "gvcheck full" "$u" "$(ratio "$u" "$n")"
	if [ "$have_strace" = 1 ]; then
		s=$(best strace -f -o /dev/null "$@")
		printf '  %-28s %8.3fs  %6sx native\n' "strace -f -o /dev/null" "$s" "$(ratio "$s" "$n")"
		printf '  %-28s %8sx\n' "full mode faster than strace" "$(ratio "$s" "$u")"
	fi
}

echo "tracer overhead, best of $REPEAT, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "syscall-heavy" dd if=/dev/zero of=/dev/null bs=1 count=300000
run "typical" python3 -c 'import json, sqlite3'
