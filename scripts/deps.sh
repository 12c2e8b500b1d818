#!/bin/sh
# Installs the Debian packages lwquic's build and tests need, only those missing.
# Not root: prints the exact apt-get line to run instead.
set -e
# `deps.sh interop` adds the independent peers the interop tests run against.
PKGS="build-essential pkg-config libmbedtls-dev libsodium-dev check clang libclang-rt-14-dev openssl python3 python3-pytest"
if [ "${1:-}" = interop ]; then
    PKGS="$PKGS golang-go golang-github-lucas-clemente-quic-go-dev ngtcp2-client ngtcp2-server tshark python3"
fi
# `deps.sh scaleout` adds network namespaces and nftables for the QUIC-LB lab (tests/scaleout/lab.sh).
if [ "${1:-}" = scaleout ]; then
    PKGS="$PKGS iproute2 nftables"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "lwquic needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
