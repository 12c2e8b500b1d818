#!/bin/sh
# src/app and python/lwquic benchmark: bench/app.sh [BUILD]. The C futures client (bench/app_msg.c, echo
# server in-process), the binding's per-call overheads (ctypes and, when python3-dev is there, a C
# extension), then bench/app_py.py (Python echo rates, HTTP/3 GETs, RSS with 10,000 futures). A benchmark,
# not a test: numbers go to docs/app.md by hand.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
make -s -j2 BUILD="$BUILD" lib tools app-examples
mkdir -p "$BUILD/bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude bench/app_msg.c "$BUILD/lib/liblwquic.a" \
    -lmbedx509 -lmbedcrypto -lsodium -lpthread -lm -o "$BUILD/bench/app_msg"
inc=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
ext=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
if [ -f "$inc/Python.h" ]; then
    ${CC:-cc} -shared -fPIC -O2 -Iinclude -I"$inc" bench/app_ext.c "$BUILD/lib/liblwquic.so" \
        -o "$BUILD/bench/lwq_bench_ext$ext"
fi
T=$(mktemp -d /tmp/lwq-bench-app.XXXXXX)
srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$T"' EXIT
sh scripts/mkcert.sh "$T/certs"
mkdir -p "$T/www"
head -c 1000 /dev/urandom > "$T/www/1k"
port=$($PY -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
"$BUILD/bin/lwquic-server" --cert "$T/certs/server.pem" --key "$T/certs/server.key" --listen "127.0.0.1:$port" \
    --root "$T/www" -q &
srv=$!
sleep 0.3
echo "== src/app benchmark, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for w in 1000 5000; do "$BUILD/bench/app_msg" 200000 $w; done
LWQUIC_LIB="$BUILD/lib/liblwquic.so" PYTHONPATH="$BUILD/bench" $PY bench/app_calls.py
LWQUIC_LIB="$BUILD/lib/liblwquic.so" $PY bench/app_py.py "$BUILD" "$T/certs/server.pem" "$T/certs/server.key" \
    "$T/certs/ca.pem" "$port"
LWQUIC_LIB="$BUILD/lib/liblwquic.so" $PY bench/app_py.py "$BUILD" "$T/certs/server.pem" "$T/certs/server.key" \
    "$T/certs/ca.pem" "$port" rss
