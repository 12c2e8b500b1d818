#!/bin/sh
# Handshake flood against lwquic-server (docs/security.md): tests/load/initial_flood.c sends genuine client
# Initials from 16 loopback addresses (127.0.0.2-17) for FLOOD_SECONDS (default 8) and answers nothing,
# while a legitimate client on 127.0.0.1 fetches 10 MB over HTTP/3. The fetch must complete byte for byte;
# the server's peak RSS must stay under RSS_LIMIT_MB (default 256); after the flood the server must go idle
# (under 0.2 s of CPU in 2 s: nothing spins). Prints the figures docs/security.md quotes.
# usage: tests/load/initial_flood.sh BUILD
set -u
B=${1:-build}
SECS=${FLOOD_SECONDS:-8}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-256}
W=$B/load-flood
rm -rf "$W" && mkdir -p "$W/www" "$W/out"
sh scripts/mkcert.sh "$W/certs" > /dev/null
head -c 10485760 /dev/urandom > "$W/www/file10mb"
port=$((30000 + ($$ * 13) % 20000))
. tests/interop/common.sh
start_server "$port" "$W/server.log" > /dev/null || {
    kill "$server_pid" 2> /dev/null; echo "initial_flood: server did not start"; cat "$W/server.log"; exit 1; }
pid=$server_pid
trap 'kill "$pid" 2> /dev/null' EXIT
tick=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
rss_start=$(rss_kb)
cpu0=$(cpu)
"$B/tests/initial-flood" 127.0.0.1 "$port" "$SECS" 100000000 16 > "$W/flood.log" 2>&1 &
flood=$!
peak=$rss_start
( while kill -0 $flood 2> /dev/null; do rss_kb; sleep 0.2; done ) > "$W/rss.log" &
sampler=$!
sleep 1
t0=$(date +%s.%N)
timeout 60 "$B/bin/lwquic-client" -sS --cacert "$W/certs/ca.pem" --output-dir "$W/out" -O "https://localhost:$port/file10mb" \
    > "$W/client.log" 2>&1
rc=$?
t1=$(date +%s.%N)
wait $flood
wait $sampler
cpu1=$(cpu)
sleep 2
cpu2=$(cpu)
for r in $(cat "$W/rss.log"); do [ "$r" -gt "$peak" ] && peak=$r; done
kill -TERM "$pid" 2> /dev/null
wait "$pid"
ok=1
cat "$W/flood.log"
if [ $rc -ne 0 ] || ! cmp -s "$W/www/file10mb" "$W/out/file10mb"; then
    echo "FAIL initial_flood: the legitimate 10 MB fetch did not complete (client exit $rc)"
    tail -5 "$W/client.log"
    ok=0
fi
awk -v a="$cpu0" -v b="$cpu1" -v c="$cpu2" -v t="$tick" -v s="$SECS" -v r0="$rss_start" -v rp="$peak" \
    -v f0="$t0" -v f1="$t1" 'BEGIN {
    printf "initial_flood: 10 MB fetch during the flood in %.2f s; server CPU %.2f s over the %s s flood, %.2f s in the 2 s after; RSS %.1f MB at start, peak %.1f MB\n",
        f1 - f0, (b - a) / t, s, (c - b) / t, r0 / 1024, rp / 1024 }'
if [ $(( (cpu2 - cpu1) * 10 )) -gt $((tick * 2)) ]; then
    echo "FAIL initial_flood: the server kept using CPU after the flood ended"
    ok=0
fi
if [ "$peak" -gt $((RSS_LIMIT_MB * 1024)) ]; then
    echo "FAIL initial_flood: server RSS peaked at $((peak / 1024)) MB (limit $RSS_LIMIT_MB MB)"
    ok=0
fi
[ $ok -eq 1 ] && echo "initial_flood: 1 passed, 0 failed" && exit 0
echo "initial_flood: 0 passed, 1 failed"
exit 1
