#!/bin/sh
# Runs the examples of examples/ built by `make examples` on loopback and checks what they print:
# sansio_client fetches a file from lwquic-server (hq-interop) byte for byte; h3_server answers
# lwquic-client; datagram_echo's client gets every message echoed by its server.
# usage: examples/run.sh BUILD
set -u
B=${1:-build}
E=$B/examples
W=$B/examples-run
rm -rf "$W" && mkdir -p "$W/www"
for x in sansio_client h3_server datagram_echo; do
    [ -x "$E/$x" ] || { echo "examples: $E/$x missing (make examples)"; exit 1; }
done
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { echo "examples: cannot make certificates"; exit 1; }
head -c 200000 /dev/urandom > "$W/www/file.bin"
passed=0
failed=0
check() { # NAME RESULT LOG
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1"; sed 's/^/     /' "$3" | tail -5; fi
}
wait_log() { # LOG WORD
    n=0
    until grep -q "$2" "$1" 2> /dev/null; do
        n=$((n + 1))
        [ $n -lt 50 ] || return 1
        sleep 0.1
    done
}
port=$((25000 + $$ % 5000))
pids=""
trap 'for p in $pids; do kill $p 2> /dev/null; done' EXIT

"$B/bin/lwquic-server" --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" \
    --key "$W/certs/server.key" --alpn hq-interop 2> "$W/server.log" &
pids="$pids $!"
wait_log "$W/server.log" serving
timeout 20 "$E/sansio_client" localhost "$port" /file.bin "$W/certs/ca.pem" > "$W/got.bin" 2> "$W/sansio.log" &&
    cmp -s "$W/got.bin" "$W/www/file.bin"
check "sansio_client: a 200 kB file from lwquic-server, verified certificate" $? "$W/sansio.log"

"$E/h3_server" "$W/certs/server.pem" "$W/certs/server.key" "127.0.0.1:$((port + 1))" 2> "$W/h3.log" &
pids="$pids $!"
wait_log "$W/h3.log" listening
got=$(timeout 20 "$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$((port + 1))" \
    -w ' %{http_code} %{content_type}' "https://localhost:$((port + 1))/hi" 2> "$W/h3-client.log")
[ "$got" = "hello from lwquic: /hi
 200 text/plain; charset=utf-8" ]
check "h3_server: answers lwquic-client ($got)" $? "$W/h3-client.log"

"$E/datagram_echo" server "$W/certs/server.pem" "$W/certs/server.key" "127.0.0.1:$((port + 2))" 2> "$W/dg.log" &
pids="$pids $!"
wait_log "$W/dg.log" listening
timeout 20 "$E/datagram_echo" client "127.0.0.1:$((port + 2))" one two three > "$W/dg.out" 2> "$W/dg-client.log" &&
    [ "$(sort "$W/dg.out" | tr '\n' ' ')" = "echo: one echo: three echo: two " ]
check "datagram_echo: three messages echoed" $? "$W/dg-client.log"

for p in $pids; do kill $p 2> /dev/null; wait $p 2> /dev/null; done
pids=""
echo "examples: $passed passed, $failed failed"
[ $failed -eq 0 ]
