#!/bin/sh
# Tracer overhead: native vs the seccomp filter alone vs gvcheck fast mode vs
# full mode vs strace -f, on a syscall-heavy workload and a typical one.
# The configurations are run round-robin $REPEAT times (default 3), so that
# all of them see the same machine conditions, and the median is printed
# with ratios to native.
#   bench/trace/run.sh            (from the repository root)
set -eu
REPEAT=${REPEAT:-3}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/tracerun" ./bench/trace/tracerun
configs="native filter fast full"
command -v strace >/dev/null 2>&1 && configs="$configs strace"

now() { date +%s.%N; }

# run CONFIG CMD...: run CMD under CONFIG once and print the seconds taken.
run1() {
	c=$1
	shift
	case $c in
	native) set -- "$@" ;;
	filter) set -- "$tmp/tracerun" -filter-only -- "$@" ;;
	fast) set -- "$tmp/tracerun" -- "$@" ;;
	full) set -- "$tmp/tracerun" -full -- "$@" ;;
	strace) set -- strace -f -o /dev/null "$@" ;;
	esac
	s=$(now)
	"$@" >/dev/null 2>&1 </dev/null || true
	e=$(now)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.4f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

label() {
	case $1 in
	native) echo "native" ;;
	filter) echo "seccomp filter, no tracer" ;;
	fast) echo "gvcheck fast" ;;
	full) echo "gvcheck full" ;;
	strace) echo "strace -f -o /dev/null" ;;
	esac
}

bench() {
	name=$1
	shift
	i=0
	while [ "$i" -lt "$REPEAT" ]; do
		for c in $configs; do
			run1 "$c" "$@" >>"$tmp/$name.$c"
		done
		i=$((i + 1))
	done
	printf '%s: %s\n' "$name" "$*"
	n=$(median <"$tmp/$name.native")
	for c in $configs; do
		m=$(median <"$tmp/$name.$c")
		printf '  %-28s %8.3fs  %7sx native\n' "$(label "$c")" "$m" "$(ratio "$m" "$n")"
		eval "med_$c=$m"
	done
	if [ -n "${med_strace:-}" ]; then
		printf '  %-28s %8sx\n' "full mode faster than strace" "$(ratio "$med_strace" "$med_full")"
	fi
}

echo "tracer overhead, median of $REPEAT round-robin runs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bench syscall-heavy dd if=/dev/zero of=/dev/null bs=1 count=300000
bench typical python3 -c 'import json, sqlite3'
