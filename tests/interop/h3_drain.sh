#!/bin/sh
# lwquic-server's shutdown drain (RFC 9114 §5.2) on loopback: a large HTTP/3 download is running when the
# server gets SIGTERM; the server sends GOAWAY, the download must still arrive byte for byte, the client
# must exit 0 and the server exit 0 once the connection is closed with H3_NO_ERROR. Clients: lwquic-client
# and, when there, ngtcp2's gtlsclient and the quic-go peer (BUILD/interop/quicgo-peer, built by h3.sh). Then 3000 small GETs by lwquic-client across SIGTERM: the
# server's first GOAWAY (2^62-4) stops new requests but refuses none in transit, so no request is reset,
# every file that arrived is byte-exact and the ones left were never sent. Then two negative cases: a second SIGTERM closes at once (the
# download is cut, the server still exits 0 and quickly), and --drain-timeout bounds a download that cannot
# finish in time (the client is stopped with SIGSTOP so nothing is acknowledged).
# usage: tests/interop/h3_drain.sh BUILD     (BUILD/bin holds lwquic-server and lwquic-client)
set -u
B=${1:-build}
W=$B/interop-h3-drain
rm -rf "$W" && mkdir -p "$W/www" "$W/logs"
sh scripts/mkcert.sh "$W/certs" > /dev/null
head -c 150000000 /dev/urandom > "$W/www/big"
i=1
smalls=""
while [ $i -le 3000 ]; do
    head -c $((i % 1500 + 1)) /dev/urandom > "$W/www/s$i"
    smalls="$smalls s$i"
    i=$((i + 1))
done
passed=0
failed=0
port=$((30000 + $$ % 10000))

listening() { # PORT
    grep -q " $(printf '0100007F:%04X' "$1") " /proc/net/udp 2>/dev/null
}

start_server() { # LOG [ARGS...]
    log=$1
    shift
    port=$((port + 1))
    "$B/bin/lwquic-server" --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" \
        --key "$W/certs/server.key" "$@" 2> "$log" &
    server_pid=$!
    n=0
    until listening $port; do
        n=$((n + 1))
        [ $n -lt 100 ] && kill -0 $server_pid 2>/dev/null || return 1
        sleep 0.05
    done
}

start_client() { # KIND OUTDIR LOG
    case $1 in
    lwquic) "$B/bin/lwquic-client" -v --cacert "$W/certs/ca.pem" --connect-timeout 20 --output-dir "$2" -O \
                "https://localhost:$port/big" > "$3" 2>&1 & ;;
    quicgo) timeout 60 "$B/interop/quicgo-peer" client --alpn h3 --cafile "$W/certs/ca.pem" -o "$2" \
                "https://localhost:$port/big" > "$3" 2>&1 & ;;
    ngtcp2) timeout 60 gtlsclient -q --timeout=20s --download="$2" --exit-on-all-streams-close 127.0.0.1 "$port" \
                "https://localhost:$port/big" > "$3" 2>&1 & ;;
    esac
    client_pid=$!
}

started() { # FILE: the download has begun (a few MB arrived)
    n=0
    until [ -f "$1" ] && [ "$(stat -c %s "$1")" -gt 4000000 ]; do
        n=$((n + 1))
        [ $n -lt 400 ] || return 1
        sleep 0.01
    done
}

result() { # NAME STATUS MESSAGE
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1: $3 (logs in $W/logs)"
    fi
}

drain_case() { # CLIENT
    name="drain: lwquic server / $1 client"
    out=$W/out-$1
    mkdir -p "$out"
    start_server "$W/logs/$1.server" || { result "$name" 1 "server did not start"; return; }
    start_client "$1" "$out" "$W/logs/$1.client"
    if ! started "$out/big"; then
        kill $client_pid $server_pid 2>/dev/null
        result "$name" 1 "the download did not start"
        return
    fi
    kill -TERM $server_pid
    wait $client_pid
    crc=$?
    wait $server_pid
    src=$?
    why=""
    [ $crc -eq 0 ] || why="client exit $crc"
    [ $src -eq 0 ] || why="$why server exit $src"
    cmp -s "$W/www/big" "$out/big" || why="$why download differs"
    grep -q "not drained" "$W/logs/$1.server" && why="$why server reports a connection not drained"
    result "$name" "$([ -z "$why" ] && echo 0 || echo 1)" "$why"
}

drain_case lwquic
if command -v gtlsclient > /dev/null; then drain_case ngtcp2; else echo "skip drain: ngtcp2 client (gtlsclient missing)"; fi
if [ -x "$B/interop/quicgo-peer" ]; then drain_case quicgo; else echo "skip drain: quicgo client (no $B/interop/quicgo-peer)"; fi

# Many small requests: the ones sent before the GOAWAY arrived are answered, none is reset.
name="drain: 3000 small GETs, none refused"
out=$W/out-small
mkdir -p "$out"
if start_server "$W/logs/small.server"; then
    urls=""
    for f in $smalls; do urls="$urls https://localhost:$port/$f"; done
    # shellcheck disable=SC2086
    "$B/bin/lwquic-client" -v --cacert "$W/certs/ca.pem" --connect-timeout 20 --output-dir "$out" --remote-name-all $urls > "$W/logs/small.client" 2>&1 &
    client_pid=$!
    n=0
    until [ "$(grep -c -- '-> 200' "$W/logs/small.client" 2> /dev/null || true)" -ge 300 ] 2> /dev/null || [ $n -ge 500 ]; do
        n=$((n + 1))
        sleep 0.01
    done
    kill -TERM $server_pid
    wait $client_pid
    wait $server_pid
    src=$?
    got=$(grep -c -- '-> 200$' "$W/logs/small.client")
    bad=0
    files=0
    for f in "$out"/*; do
        [ -f "$f" ] || continue
        files=$((files + 1))
        cmp -s "$W/www/${f##*/}" "$f" || bad=$((bad + 1))
    done
    why=""
    [ $src -eq 0 ] || why="server exit $src"
    [ "$got" -ge 300 ] || why="$why only $got answers"
    [ $bad -eq 0 ] || why="$why $bad files differ"
    [ "$files" -eq "$got" ] || why="$why $files files for $got answers"
    grep -q 'reset\|REJECTED' "$W/logs/small.client" && why="$why a request was reset"
    grep -q "not drained" "$W/logs/small.server" && why="$why server reports a connection not drained"
    echo "     ($got of 3000 answered before the server closed)"
    result "$name" "$([ -z "$why" ] && echo 0 || echo 1)" "$why"
else
    result "$name" 1 "server did not start"
fi

# A second signal: the server closes at once, the download is cut short.
name="second SIGTERM closes at once"
out=$W/out-twice
mkdir -p "$out"
if start_server "$W/logs/twice.server" --drain-timeout 30; then
    start_client lwquic "$out" "$W/logs/twice.client"
    started "$out/big"
    kill -STOP $client_pid 2> /dev/null # the client acknowledges nothing: the drain cannot end by itself
    t0=$(date +%s.%N)
    kill -TERM $server_pid
    sleep 0.5
    kill -0 $server_pid 2> /dev/null
    draining=$?
    kill -TERM $server_pid 2> /dev/null
    wait $server_pid
    src=$?
    t1=$(date +%s.%N)
    kill -CONT $client_pid 2> /dev/null
    wait $client_pid
    crc=$?
    fast=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a < 5) ? 1 : 0 }')
    why=""
    [ $draining -eq 0 ] || why="the server did not wait for the first signal's drain"
    [ $src -eq 0 ] || why="$why server exit $src"
    [ "$fast" = 1 ] || why="$why server took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
    [ $crc -ne 0 ] || why="$why the client claims a complete download"
    result "$name" "$([ -z "$why" ] && echo 0 || echo 1)" "$why"
else
    result "$name" 1 "server did not start"
fi

# --drain-timeout: a client that stays silent holds the drain for the timeout, not longer.
name="--drain-timeout 1 bounds the drain"
out=$W/out-timeout
mkdir -p "$out"
if start_server "$W/logs/timeout.server" --drain-timeout 1; then
    start_client lwquic "$out" "$W/logs/timeout.client"
    started "$out/big"
    kill -STOP $client_pid 2> /dev/null
    t0=$(date +%s.%N)
    kill -TERM $server_pid
    wait $server_pid
    src=$?
    t1=$(date +%s.%N)
    kill -CONT $client_pid 2> /dev/null
    wait $client_pid
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    ok=$(awk -v e="$el" 'BEGIN { print (e >= 0.9 && e < 5) ? 1 : 0 }')
    why=""
    [ $src -eq 0 ] || why="server exit $src"
    [ "$ok" = 1 ] || why="$why server exited after $el s"
    grep -q "not drained" "$W/logs/timeout.server" || why="$why no 'not drained' report"
    result "$name" "$([ -z "$why" ] && echo 0 || echo 1)" "$why"
else
    result "$name" 1 "server did not start"
fi

rm -rf "$W/www" "$W"/out-*
echo "interop-h3-drain: $passed passed, $failed failed (logs in $W/logs)"
[ $failed -eq 0 ]
