#!/usr/bin/env bash
# Installs the Debian packages of the accuracy corpus (corpus.yaml's
# "package" fields; accuracy_test.go checks that this list covers them).
# Idempotent: installs only what is missing. Services are not started:
# the corpus starts its servers itself.
set -euo pipefail

packages=(
	coreutils bash findutils gawk util-linux procps lsof bsdutils libc-bin gzip
	python3 perl ruby lua5.4 tcl nodejs default-jre-headless
	gcc make git xz-utils sqlite3 zstd jq strace
	nginx-light redis-server redis-tools memcached curl netcat-openbsd
	iproute2 iputils-ping tcpdump auditd iptables nftables pciutils numactl
	acl attr libcap2-bin e2fsprogs
	fio stress-ng sysbench openssl linux-perf
)

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages' services (nginx, redis, memcached, auditd)
# from starting on installation; an existing one is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
