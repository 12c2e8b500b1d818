#!/bin/sh
# Builds the quic-go 0.29 peer offline from Debian's packages: tests/interop/build_peer.sh OUTDIR
set -eu
out=${1:-build/interop}
sh "$(dirname "$0")/../../scripts/deps.sh" interop
mkdir -p "$out"
out=$(cd "$out" && pwd) # relative or absolute
cd "$(dirname "$0")/quicgo"
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="${GOCACHE:-/tmp/lwquic-gocache}" \
    go build -o "$out/quicgo-peer" peer.go
echo "built $out/quicgo-peer"
