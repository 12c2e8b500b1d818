#!/bin/sh
# The tools' conventions on loopback: lwquic-server refuses a port another process holds, a key that does not
# match its certificate, a bad --listen port; serves content types, validators, 304, directory indexes, HEAD.
# lwquic-client follows curl: body on stdout, -o/-O/--output-dir, -i/-I, -w, -d, -X, --fail, and curl's exit
# codes per failure class (6, 7, 22, 28, 35, 60, 2) with messages that name the cause and the fix.
# usage: tests/tools/cli.sh BUILD      (BUILD/bin holds lwquic-server and lwquic-client; work files in
#        BUILD/tools-cli)
set -u
B=${1:-build}
W=$B/tools-cli
S=$B/bin/lwquic-server
C=$B/bin/lwquic-client
rm -rf "$W" && mkdir -p "$W/www/dir" "$W/out"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { echo "tools-cli: cannot make certificates"; exit 1; }
CA=$W/certs/ca.pem
printf 'hello\n' > "$W/www/a.txt"
printf '<p>hi</p>\n' > "$W/www/page.html"
printf 'body{}\n' > "$W/www/style.css"
head -c 3000 /dev/urandom > "$W/www/blob.bin"
printf 'index\n' > "$W/www/dir/index.html"
head -c 100000 /dev/urandom > "$W/post.bin"
openssl ecparam -name prime256v1 -genkey -noout -out "$W/other.key" 2> /dev/null ||
    { echo "tools-cli: openssl missing"; exit 1; }

passed=0
failed=0
check() { # NAME CONDITION-RESULT [DETAIL FILE]
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1"
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/     /' "$3" | head -5
    fi
}

port=$((30000 + $$ % 20000))
wait_log() { # LOG WORD
    n=0
    while [ $n -lt 50 ]; do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}
start() { # LOG FLAGS...: lwquic-server on 127.0.0.1:$port; sets spid
    log=$1
    shift
    "$S" --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" --key "$W/certs/server.key" "$@" \
        2> "$log" &
    spid=$!
    wait_log "$log" serving
}
exit_of() { # PID: its exit code in rc once it exits (up to 10 s), else "running" after killing it
    n=0
    while kill -0 "$1" 2> /dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$1" 2> /dev/null; then kill "$1"; wait "$1"; rc=running; else wait "$1"; rc=$?; fi
}
U=https://localhost
trap 'kill $spid 2> /dev/null; kill $silent 2> /dev/null' EXIT
spid=""
silent=""

# --- lwquic-server: refusals at start
start "$W/s1.log"
check "server starts" $?
"$S" --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" --key "$W/certs/server.key" \
    2> "$W/inuse.log" &
second=$!
exit_of $second
[ "$rc" = 1 ] && grep -q "UDP port $port is already in use by another process" "$W/inuse.log"
check "a second server on the same port is refused (exit $rc)" $? "$W/inuse.log"
"$S" --listen "[::]:$port" --cert "$W/certs/server.pem" --key "$W/certs/server.key" 2> "$W/inuse6.log" &
second=$!
exit_of $second
[ "$rc" = 1 ] && grep -q "already in use" "$W/inuse6.log"
check "a dual-stack wildcard over the same port is refused (exit $rc)" $? "$W/inuse6.log"
"$S" --listen "127.0.0.1:$((port + 1))" --cert "$W/certs/server.pem" --key "$W/other.key" 2> "$W/key.log"
rc=$?
[ $rc = 2 ] && grep -q "does not match" "$W/key.log" && grep -q "server.pem" "$W/key.log" &&
    grep -q "other.key" "$W/key.log"
check "a key that does not match the certificate is refused, both files named (exit $rc)" $? "$W/key.log"
"$S" --listen "127.0.0.1:$((port + 1))" --cert "$W/missing.pem" --key "$W/other.key" 2> "$W/nocert.log"
rc=$?
[ $rc = 2 ] && grep -q "missing.pem (No such file" "$W/nocert.log"
check "a missing certificate file is named (exit $rc)" $? "$W/nocert.log"
"$S" --listen "127.0.0.1:99999" --cert "$W/certs/server.pem" --key "$W/certs/server.key" 2> "$W/listen.log"
rc=$?
[ $rc = 2 ] && grep -q "port from 0 to 65535" "$W/listen.log"
check "--listen 127.0.0.1:99999 is refused, not wrapped (exit $rc)" $? "$W/listen.log"
"$S" --shards x --cert "$W/certs/server.pem" --key "$W/certs/server.key" 2> "$W/shards.log"
[ $? = 2 ] && grep -q -- "--shards x" "$W/shards.log"
check "--shards x is refused" $? "$W/shards.log"

# --- lwquic-client: where the body goes
R="--resolve localhost=127.0.0.1:$port"
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R "$U:$port/a.txt" > "$W/stdout" 2> "$W/err"
check "the body goes to stdout by default" $? "$W/err"
cmp -s "$W/stdout" "$W/www/a.txt"
check "stdout holds the body byte for byte" $?
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -o "$W/out/x.bin" "$U:$port/blob.bin" > "$W/stdout" 2> "$W/err" &&
    cmp -s "$W/out/x.bin" "$W/www/blob.bin" && [ ! -s "$W/stdout" ]
check "-o FILE: the body in FILE, nothing on stdout" $? "$W/err"
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -O --output-dir "$W/out" "$U:$port/page.html" > "$W/stdout" 2> "$W/err" &&
    cmp -s "$W/out/page.html" "$W/www/page.html" && [ ! -s "$W/stdout" ]
check "-O --output-dir: saved under the remote name" $? "$W/err"
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -o "$W/out" "$U:$port/a.txt" 2> "$W/err"
[ $? = 2 ] && grep -q "is a directory" "$W/err"
check "-o DIR is refused with the --output-dir hint" $? "$W/err"

# --- -i, -I, content types, validators, 304, directory index
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -i "$U:$port/a.txt" > "$W/inc" 2> "$W/err"
head -1 "$W/inc" | grep -q '^HTTP/3 200' && grep -q '^content-type: text/plain; charset=utf-8' "$W/inc" &&
    grep -q '^etag: "' "$W/inc" && grep -q '^last-modified: .* GMT' "$W/inc" && [ "$(tail -1 "$W/inc")" = hello ] &&
    grep -q "^$(printf '\r')\$" "$W/inc"
check "-i: status line, headers, blank line, body" $? "$W/inc"
for pair in page.html:text/html style.css:text/css blob.bin:application/octet-stream dir/:text/html; do
    # shellcheck disable=SC2086
    t=$("$C" --cacert "$CA" $R -I "$U:$port/${pair%%:*}" -w '%{content_type}' -o /dev/null)
    case $t in "${pair#*:}"*) r=0 ;; *) r=1 ;; esac
    check "content-type of ${pair%%:*}: $t" $r
done
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -I "$U:$port/blob.bin" > "$W/head" 2> "$W/err"
grep -q '^content-length: 3000' "$W/head" && [ "$(grep -c . "$W/head")" -le 6 ]
check "-I: HEAD, headers with the length, no body" $? "$W/head"
# shellcheck disable=SC2086
[ "$("$C" --cacert "$CA" $R "$U:$port/dir/")" = index ]
check "a directory serves its index.html" $?
etag=$(grep '^etag:' "$W/inc" | cut -d' ' -f2 | tr -d '\r')
lm=$(grep '^last-modified:' "$W/inc" | cut -d' ' -f2- | tr -d '\r')
# shellcheck disable=SC2086
code=$("$C" --cacert "$CA" $R -H "If-None-Match: $etag" -w '%{http_code}' "$U:$port/a.txt")
check "If-None-Match with the etag: 304 and no body ($code)" "$([ "$code" = 304 ]; echo $?)"
# shellcheck disable=SC2086
code=$("$C" --cacert "$CA" $R -H 'If-None-Match: "other"' -w '%{http_code}' -o /dev/null "$U:$port/a.txt")
check "If-None-Match with another etag: 200 ($code)" "$([ "$code" = 200 ]; echo $?)"
# shellcheck disable=SC2086
code=$("$C" --cacert "$CA" $R -H "If-Modified-Since: $lm" -w '%{http_code}' "$U:$port/a.txt")
check "If-Modified-Since the last-modified date: 304 ($code)" "$([ "$code" = 304 ]; echo $?)"
# shellcheck disable=SC2086
code=$("$C" --cacert "$CA" $R -H "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT" -w '%{http_code}' -o /dev/null \
    "$U:$port/a.txt")
check "If-Modified-Since an older date: 200 ($code)" "$([ "$code" = 200 ]; echo $?)"

# --- request bodies and methods, -w, --fail
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R --data-binary "@$W/post.bin" "$U:$port/echo" > "$W/echoed" 2> "$W/err" &&
    cmp -s "$W/echoed" "$W/post.bin"
check "--data-binary @FILE is POSTed byte for byte" $? "$W/err"
# shellcheck disable=SC2086
[ "$("$C" --cacert "$CA" $R -d 'a=1&b=2' "$U:$port/echo")" = 'a=1&b=2' ]
check "-d DATA is POSTed" $?
# shellcheck disable=SC2086
code=$("$C" --cacert "$CA" $R -X DELETE -w '%{http_code}' -o /dev/null "$U:$port/a.txt")
check "-X DELETE: 405 without --fail is exit 0 ($code)" "$([ "$code" = 405 ]; echo $?)"
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R --fail "$U:$port/missing" > "$W/stdout" 2> "$W/err"
rc=$?
[ $rc = 22 ] && [ ! -s "$W/stdout" ] && grep -q "returned error: 404" "$W/err"
check "--fail on a 404: exit 22, no body (exit $rc)" $? "$W/err"
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R -s --fail "$U:$port/missing" 2> "$W/err"
[ $? = 22 ] && [ ! -s "$W/err" ]
check "-s --fail: exit 22 and nothing on stderr" $? "$W/err"

# --- exit codes per failure class, with the cause and the fix in the message
"$C" "$U:$port/a.txt" --resolve "localhost=127.0.0.1:$port" 2> "$W/err"
rc=$?
[ $rc = 60 ] && grep -q "unknown CA" "$W/err" && grep -q -- "--cacert FILE" "$W/err"
check "no trusted CA: exit 60, unknown CA, --cacert hint (exit $rc)" $? "$W/err"
"$C" --cacert "$CA" --resolve "wrong.example=127.0.0.1:$port" "https://wrong.example:$port/a.txt" 2> "$W/err"
rc=$?
[ $rc = 60 ] && grep -q "name mismatch" "$W/err"
check "a certificate for another name: exit 60, name mismatch (exit $rc)" $? "$W/err"
"$C" -k "https://no-such-host.invalid:$port/a.txt" 2> "$W/err"
rc=$?
[ $rc = 6 ] && grep -q "cannot resolve" "$W/err"
check "an unknown host: exit 6 (exit $rc)" $? "$W/err"
"$C" -k "https://127.0.0.1:$((port + 2))/a.txt" 2> "$W/err"
rc=$?
[ $rc = 7 ] && grep -q "connection refused" "$W/err" && ! grep -q "0x0" "$W/err"
check "nothing on the port: exit 7, connection refused (exit $rc)" $? "$W/err"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1]))); time.sleep(30)' \
    $((port + 3)) &
silent=$!
n=0
until grep -q " 0100007F:$(printf %04X $((port + 3))) " /proc/net/udp || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
"$C" -k --connect-timeout 1 "https://127.0.0.1:$((port + 3))/a.txt" 2> "$W/err"
rc=$?
[ $rc = 28 ] && grep -q "no answer" "$W/err" && grep -q -- "--connect-timeout" "$W/err" && ! grep -q "NO_ERROR" "$W/err"
check "a silent server: exit 28 naming --connect-timeout, no NO_ERROR (exit $rc)" $? "$W/err"
"$C" -k --connect-timeout 5 --max-time 0.5 "https://127.0.0.1:$((port + 3))/a.txt" 2> "$W/err"
rc=$?
[ $rc = 28 ] && grep -q -- "--max-time" "$W/err"
check "--max-time: exit 28 (exit $rc)" $? "$W/err"
kill $silent 2> /dev/null
kill $spid
wait $spid 2> /dev/null
start "$W/s2.log" --alpn hq-interop
# shellcheck disable=SC2086
"$C" --cacert "$CA" $R "$U:$port/a.txt" 2> "$W/err"
rc=$?
[ $rc = 35 ] && grep -q "TLS handshake failed: alert no_application_protocol" "$W/err"
check "no common ALPN: exit 35 naming the alert (exit $rc)" $? "$W/err"
# shellcheck disable=SC2086
[ "$("$C" --cacert "$CA" $R --alpn hq-interop "$U:$port/a.txt")" = hello ]
check "hq-interop: the body on stdout" $?
for bad in "--connect-timeout abc" "--max-time -1" "--quic-version 3" "--cc fast" "--resolve x"; do
    # shellcheck disable=SC2086
    "$C" $bad "$U:$port/a.txt" 2> "$W/err"
    rc=$?
    [ $rc = 2 ] && [ -s "$W/err" ]
    check "$bad: exit 2 with a message (exit $rc)" $? "$W/err"
done
"$C" "http://localhost:$port/" 2> /dev/null
check "http:// is an unsupported protocol: exit 1" "$([ $? = 1 ]; echo $?)"
"$C" --version | grep -q "^lwquic-client [0-9]"
check "--version names the version" $?
kill $spid
wait $spid 2> /dev/null
spid=""

echo "tools-cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
