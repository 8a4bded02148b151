#!/usr/bin/env bash
# Makes a Debian image with debootstrap (minbase plus python3 and
# iputils-ping), imports it into the Docker Engine, and judges it with check,
# run, probe and verify --image, natively and under runsc, from the Engine
# and from a docker archive. As root. A few minutes: debootstrap downloads
# about 40 MB from the machine's Debian mirror.
#
#   bash bench/image/debian.sh            # SUITE=bookworm by default
set -euo pipefail
cd "$(dirname "$0")/../.."
SUITE=${SUITE:-bookworm}
# The mirror the machine's apt uses (deb822 or one-line sources).
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase --include=python3,iputils-ping "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log"
name=gvcheck-bench/debian:$SUITE
tar -C "$work/root" -c . | docker import \
	-c 'CMD ["python3", "-c", "import json, sqlite3, ssl; print(\"python ok\")"]' - "$name" >/dev/null
docker save -o "$work/debian.tar" "$name"
go build -o "$work/gvcheck" ./cmd/gvcheck
g="$work/gvcheck"
cache="$work/cache"

step() { echo; echo "== $*"; "$@" || echo "(exit $?)"; }
step "$g" check --image-cache "$cache" --image "docker:$name"
step "$g" run --image-cache "$cache" --image "docker:$name"
step "$g" probe --image-cache "$cache" --image "archive:$work/debian.tar"
step "$g" verify --image-cache "$cache" --image "docker:$name"
step "$g" verify --image-cache "$cache" --image "docker:$name" -- ping -c1 127.0.0.1
step "$g" verify --image-cache "$cache" --cap-add NET_RAW --image "docker:$name" -- ping -c1 127.0.0.1
step "$g" verify --image-cache "$cache" --via docker --image "docker:$name" -- ping -c1 127.0.0.1
docker rmi "$name" >/dev/null
