#!/bin/sh
# TLS handshake benchmark: bench/handshake.sh [BUILD dir, default build].
# Builds the library if it is missing, then compiles and runs bench/handshake.c against it.
set -e
cd "$(dirname "$0")/.."
BUILD=${1:-build}
if [ ! -f "$BUILD/lib/liblwquic.a" ]; then
    make -j2 BUILD="$BUILD" lib
fi
mkdir -p "$BUILD/bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Isrc bench/handshake.c \
    "$BUILD/lib/liblwquic.a" -lmbedx509 -lmbedcrypto -lsodium -lpthread -lm -o "$BUILD/bench/handshake"
echo "== lwquic TLS handshake, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/bench/handshake"
