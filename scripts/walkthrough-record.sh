#!/bin/sh
# Records the connection docs/walkthrough.md explains: lwquic-client fetches /index.html from
# lwquic-server on loopback with --record and --keylog; the two files go to tests/data/walkthrough/.
# Then `make walkthrough` regenerates the document from them. usage: scripts/walkthrough-record.sh [BUILD]
set -u
B=${1:-build}
W=$B/walkthrough-record
D=tests/data/walkthrough
rm -rf "$W" && mkdir -p "$W/www" "$W/out" "$D"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || exit 1
. tests/interop/common.sh
printf '<!doctype html>\n<title>hello</title>\n<p>Hello from lwquic over HTTP/3.\n' > "$W/www/index.html"
port=$((30000 + $$ % 20000))
start_server "$port" "$W/server.log" || exit 1
rm -f "$W/keys.log"
"$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$port" --output-dir "$W/out" --remote-name-all \
    --keylog "$W/keys.log" --record "$W/record.txt" "https://localhost:$port/index.html" 2> "$W/client.log"
rc=$?
sleep 0.3
kill "$server_pid" 2> /dev/null
wait "$server_pid" 2> /dev/null
[ $rc -eq 0 ] || { echo "walkthrough-record: the fetch failed"; cat "$W/client.log"; exit 1; }
cp "$W/record.txt" "$W/keys.log" "$D/" && echo "walkthrough-record: $D/record.txt, $D/keys.log"
