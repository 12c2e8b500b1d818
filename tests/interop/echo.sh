#!/bin/sh
# The message protocol (src/app, ALPN "echo") against quic-go, both directions: lwquic's echo_client example
# against the quic-go peer's echo server, and the peer's echo-client against lwquic's echo_server example;
# 50 messages each way, sent concurrently, answers checked in order. Then the blocking HTTP/3 client (the get
# example) fetches a 1 MB file byte-exact from ngtcp2's gtlsserver and quic-go's h3 server.
# usage: tests/interop/echo.sh [BUILD]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
# a peer of its own: check-interop builds $B/interop/quicgo-peer at the same time under make -j
sh tests/interop/build_peer.sh "$B/interop-echo" > /dev/null
W=$(mktemp -d /tmp/lwq-echo-interop.XXXXXX)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; rm -rf "$W"' EXIT
sh scripts/mkcert.sh "$W/certs"
free_port() {
    python3 -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}
msgs=""
i=0
while [ $i -lt 50 ]; do msgs="$msgs message-$i-$(printf '%0*d' $((i * 40)) 0)"; i=$((i + 1)); done
echo $msgs | tr ' ' '\n' > "$W/expected"
fail=0

P=$(free_port)
"$B/interop-echo/quicgo-peer" server --alpn echo --listen "127.0.0.1:$P" --cert "$W/certs/server.pem" \
    --key "$W/certs/server.key" 2> "$W/go-server.log" &
pids="$pids $!"
sleep 0.5
# shellcheck disable=SC2086
"$B/examples/echo_client" "localhost:$P" "$W/certs/ca.pem" $msgs > "$W/got1" 2>&1 || true
if cmp -s "$W/got1" "$W/expected"; then echo "ok   echo: lwquic client -> quic-go server (50 messages)"
else echo "FAIL echo: lwquic client -> quic-go server"; head -5 "$W/got1"; fail=1; fi

P=$(free_port)
"$B/examples/echo_server" "$W/certs/server.pem" "$W/certs/server.key" "127.0.0.1:$P" > "$W/lwq-server.log" 2>&1 &
pids="$pids $!"
sleep 0.3
# shellcheck disable=SC2086
"$B/interop-echo/quicgo-peer" echo-client --cafile "$W/certs/ca.pem" --addr "127.0.0.1:$P" $msgs > "$W/got2" 2>&1 || true
if cmp -s "$W/got2" "$W/expected"; then echo "ok   echo: quic-go client -> lwquic server (50 messages)"
else echo "FAIL echo: quic-go client -> lwquic server"; head -5 "$W/got2"; fail=1; fi
mkdir -p "$W/www"
head -c 1000000 /dev/urandom > "$W/www/blob"
for peer in ngtcp2 quicgo; do
    P=$(free_port)
    if [ $peer = ngtcp2 ]; then
        /usr/sbin/gtlsserver -q 127.0.0.1 "$P" "$W/certs/server.key" "$W/certs/server.pem" -d "$W/www" \
            > "$W/$peer.log" 2>&1 &
    else
        "$B/interop-echo/quicgo-peer" server --alpn h3 --listen "127.0.0.1:$P" --root "$W/www" \
            --cert "$W/certs/server.pem" --key "$W/certs/server.key" 2> "$W/$peer.log" &
    fi
    pids="$pids $!"
    sleep 0.5
    rm -f "$W/got"
    if "$B/examples/get" "https://localhost:$P/blob" "$W/certs/ca.pem" > "$W/got" 2> "$W/get.err" &&
        cmp -s "$W/got" "$W/www/blob"; then echo "ok   h3 blocking client: GET 1 MB from $peer, byte-exact"
    else echo "FAIL h3 blocking client: GET from $peer"; cat "$W/get.err"; fail=1; fi
done
exit $fail
