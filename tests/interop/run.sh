#!/bin/sh
# Interop on loopback over hq-interop: lwquic <-> lwquic and lwquic <-> quic-go 0.29, both directions.
# Each pairing fetches a 10 MB file and 100 small files on one connection and compares them byte for byte;
# then each server validates addresses with Retry (lwquic-server --retry, quic-go --retry) for one more fetch.
# usage: tests/interop/run.sh BUILD      (BUILD/bin holds lwquic-server and lwquic-client)
set -u
B=${1:-build}
W=$B/interop-run
PEER=$B/interop/quicgo-peer
rm -rf "$W" && mkdir -p "$W/www" "$W/logs"
sh scripts/mkcert.sh "$W/certs"
if [ ! -x "$PEER" ] || [ tests/interop/quicgo/peer.go -nt "$PEER" ]; then
    sh tests/interop/build_peer.sh "$B/interop" > "$W/logs/build-peer.log" 2>&1 || {
        cat "$W/logs/build-peer.log"; echo "interop: cannot build the quic-go peer"; exit 1; }
fi
head -c 10485760 /dev/urandom > "$W/www/file10mb"
i=1
while [ $i -le 100 ]; do
    head -c $((i * 97 + 1)) /dev/urandom > "$W/www/small$i"
    i=$((i + 1))
done
passed=0
failed=0
base=$((30000 + $$ % 20000))

. tests/interop/common.sh

retry=""
start_kind() { # KIND PORT LOG   ($retry: --retry or empty)
    case $1 in
    lwquic) "$B/bin/lwquic-server" --listen "127.0.0.1:$2" --root "$W/www" --cert "$W/certs/server.pem" \
                --key "$W/certs/server.key" $retry 2> "$3" & ;;
    quicgo) "$PEER" server --listen "127.0.0.1:$2" --root "$W/www" --cert "$W/certs/server.pem" \
                --key "$W/certs/server.key" --alpn hq-interop $retry 2> "$3" & ;;
    esac
    server_pid=$!
    wait_ready "$3" "server\|serving"
}

run_client() { # KIND OUTDIR URL...
    kind=$1 out=$2
    shift 2
    case $kind in
    lwquic) timeout 120 "$B/bin/lwquic-client" -sS --alpn hq-interop --cacert "$W/certs/ca.pem" --output-dir "$out" --remote-name-all "$@" ;;
    quicgo) timeout 120 "$PEER" client --cafile "$W/certs/ca.pem" -o "$out" "$@" ;;
    esac
}

check_case() { # SERVER CLIENT NAME FILES...
    srv=$1 cli=$2 name=$3
    shift 3
    port=$((base + passed + failed))
    out="$W/out-$srv-$cli-$name"
    mkdir -p "$out"
    log="$W/logs/$srv-$cli-$name"
    if ! start_kind "$srv" "$port" "$log.server"; then
        echo "FAIL $srv server / $cli client: $name (server did not start)"
        failed=$((failed + 1))
        return
    fi
    urls=""
    for f in "$@"; do urls="$urls https://localhost:$port/$f"; done
    # shellcheck disable=SC2086
    run_client "$cli" "$out" $urls > "$log.client" 2>&1
    rc=$?
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid"
    src=$?
    ok=1
    [ $rc -eq 0 ] || ok=0
    # lwquic-server exits 0 on SIGTERM, non-zero when LeakSanitizer (sanitizer builds) finds a leak.
    [ "$srv" != lwquic ] || [ $src -eq 0 ] || ok=0
    for f in "$@"; do cmp -s "$W/www/$f" "$out/$f" || ok=0; done
    if [ $ok -eq 1 ]; then
        echo "ok   $srv server / $cli client: $name"
        passed=$((passed + 1))
    else
        echo "FAIL $srv server / $cli client: $name (client exit $rc, server exit $src)"
        sed 's/^/     client: /' "$log.client" | tail -5
        sed 's/^/     server: /' "$log.server" | tail -5
        failed=$((failed + 1))
    fi
}

smalls=""
i=1
while [ $i -le 100 ]; do smalls="$smalls small$i"; i=$((i + 1)); done
for pair in "lwquic lwquic" "lwquic quicgo" "quicgo lwquic"; do
    set -- $pair
    check_case "$1" "$2" 10mb file10mb
    # shellcheck disable=SC2086
    check_case "$1" "$2" 100-small $smalls
done
retry=--retry
for pair in "lwquic lwquic" "lwquic quicgo" "quicgo lwquic"; do
    set -- $pair
    check_case "$1" "$2" retry file10mb small1 small50
done
echo "interop: $passed passed, $failed failed"
[ $failed -eq 0 ]
