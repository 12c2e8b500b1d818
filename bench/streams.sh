#!/bin/sh
# Stream scheduling cost with many open streams: bench/streams.sh [BUILD dir, default build] [max streams].
# Builds the library if it is missing, then compiles and runs bench/streams.c against it.
set -e
cd "$(dirname "$0")/.."
BUILD=${1:-build}
if [ ! -f "$BUILD/lib/liblwquic.a" ]; then
    make -j2 BUILD="$BUILD" lib
fi
mkdir -p "$BUILD/bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Isrc bench/streams.c \
    "$BUILD/lib/liblwquic.a" -lmbedx509 -lmbedcrypto -lsodium -lpthread -lm -o "$BUILD/bench/streams"
echo "== lwquic stream scheduling, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/bench/streams" ${2:-10000}
