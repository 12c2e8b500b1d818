#!/bin/sh
# make demo: a throwaway CA, lwquic-server on loopback, one verified download with lwquic-client.
set -eu
B=${1:-build}
D=$B/demo
rm -rf "$D" && mkdir -p "$D/www" "$D/downloads"
sh scripts/mkcert.sh "$D/certs"
head -c 20000000 /dev/urandom > "$D/www/demo.bin"
port=$((20000 + $$ % 20000))
"$B/bin/lwquic-server" --listen "127.0.0.1:$port" --root "$D/www" --cert "$D/certs/server.pem" \
    --key "$D/certs/server.key" 2> "$D/server.log" &
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -q serving "$D/server.log" 2>/dev/null && break
    sleep 0.2
done
echo "== lwquic-server listening on 127.0.0.1:$port, serving a 20 MB file; certificate from a throwaway CA"
echo "== lwquic-client -v --cacert $D/certs/ca.pem -O --output-dir $D/downloads https://localhost:$port/demo.bin"
"$B/bin/lwquic-client" -v --cacert "$D/certs/ca.pem" -O --output-dir "$D/downloads" "https://localhost:$port/demo.bin"
if cmp -s "$D/www/demo.bin" "$D/downloads/demo.bin"; then
    echo "== the download is byte-identical to the served file (sha256 $(sha256sum "$D/downloads/demo.bin" | cut -c1-16)...)"
else
    echo "== the download differs from the served file" >&2
    exit 1
fi
kill -INT $server
wait $server 2>/dev/null || true
trap - EXIT
echo "== server log:"
sed 's/^/   /' "$D/server.log"
