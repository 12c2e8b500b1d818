#!/bin/sh
# The picture in docs/plot-lossy.svg: a 4 MB HTTP/3 download through lwquic-netsim (15 ms each way,
# 10 Mbit/s, a 25-packet queue, 3 % random loss both ways), drawn from the server's qlog with
# `lwquic-qlog plot`. usage: scripts/plot-demo.sh [BUILD [OUT.svg]]
set -u
B=${1:-build}
OUT=${2:-docs/plot-lossy.svg}
W=$B/plot-demo
rm -rf "$W" && mkdir -p "$W/www" "$W/out" "$W/qlog"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || exit 1
. tests/interop/common.sh
head -c 4194304 /dev/urandom > "$W/www/file4mb"
port=$((30000 + $$ % 20000))
start_server "$port" "$W/server.log" --qlog-dir "$W/qlog" || exit 1
"$B/bin/lwquic-netsim" --listen $((port + 1)) --server "$port" --delay 15 --rate 10 --drop 3 --seed 7 -q \
    2> "$W/netsim.log" &
netsim_pid=$!
sleep 0.3
"$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$((port + 1))" --output-dir "$W/out" --remote-name-all \
    "https://localhost:$((port + 1))/file4mb" 2> "$W/client.log"
rc=$?
sleep 0.3
kill "$server_pid" "$netsim_pid" 2> /dev/null
wait 2> /dev/null
[ $rc -eq 0 ] && cmp -s "$W/out/file4mb" "$W/www/file4mb" || { echo "plot-demo: the download failed"; cat "$W/client.log"; exit 1; }
"$B/bin/lwquic-qlog" plot "$W"/qlog/*_server.sqlog -o "$OUT" && echo "plot-demo: $OUT"
