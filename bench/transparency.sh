#!/bin/sh
# The transparency corpus (every command untraced and under run, run
# --backend ptrace, run --backend ptrace --full and attach, compared byte for
# byte) and the kill loop with KILLS kills (default 240; CI makes 60) at
# random moments of run, attach, probe and verify, as root, with their
# figures: those the README quotes. CI runs both in go test (cmd/gvcheck
# TestTransparency and TestKillLoop).
#   sh bench/transparency.sh            (from the repository root)
set -eu
KILLS=${KILLS:-240}
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/gvcheck-transparency.XXXXXX")
echo "corpus..."
GVCHECK_CORPUS_REPORT="$out/corpus.txt" \
	go test -count=1 -timeout 3h -run '^TestTransparency$' ./cmd/gvcheck >"$out/corpus.log" 2>&1 || true
grep -v ' same$' "$out/corpus.txt" || true
echo "kill loop ($KILLS kills)..."
GVCHECK_KILLS=$KILLS GVCHECK_KILLS_REPORT="$out/kills.txt" \
	go test -count=1 -timeout 3h -run '^TestKillLoop$' ./cmd/gvcheck >"$out/kills.log" 2>&1 || true
grep -E '^\s+killloop_test.go:[0-9]+: ' "$out/kills.log" | head -50 || true
cat "$out/kills.txt" 2>/dev/null || echo "kill loop: no report (see $out/kills.log)"
echo "logs in $out"
