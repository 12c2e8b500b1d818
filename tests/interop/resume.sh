#!/bin/sh
# Resumption, 0-RTT and NEW_TOKEN on loopback, lwquic <-> lwquic (docs/resumption.md): the client's
# --resume fetches the first URL, then the rest on a resumed connection (--early-data: in 0-RTT), and
# the files are compared byte for byte. Cases: resumption, 0-RTT accepted, 0-RTT accepted through a
# Retry server (the NEW_TOKEN of the first connection skips the second Retry), 0-RTT rejected by a
# server without --early-data, and a session file kept across two client runs and a restarted server
# (a new ticket key: a full handshake, the data still arrives). Every case runs over hq-interop and
# over h3. With early data the requests are queued before the first flight leaves
# (lwq_endpoint_connect_early), so an accepted 0-RTT case must count at least one 0-RTT packet.
# usage: tests/interop/resume.sh BUILD      (BUILD/bin holds lwquic-server and lwquic-client)
set -u
B=${1:-build}
W=$B/interop-resume
rm -rf "$W" && mkdir -p "$W/www" "$W/logs"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { echo "resume: cannot make certificates"; exit 1; }
i=1
while [ $i -le 40 ]; do
    head -c $((i * 37 + 5)) /dev/urandom > "$W/www/f$i"
    i=$((i + 1))
done
head -c 5000 /dev/urandom > "$W/www/first"
passed=0
failed=0
base=$((30000 + ($$ * 7) % 20000))

. tests/interop/common.sh

stop_server() {
    kill "$server_pid" 2> /dev/null
    wait "$server_pid" 2> /dev/null
}

urls() { # PORT: the first file, then 40 small ones
    printf 'https://127.0.0.1:%s/first' "$1"
    i=1
    while [ $i -le 40 ]; do
        printf ' https://127.0.0.1:%s/f%s' "$1" $i
        i=$((i + 1))
    done
}

same_files() { # OUTDIR
    for f in first $(i=1; while [ $i -le 40 ]; do echo f$i; i=$((i + 1)); done); do
        cmp -s "$W/www/$f" "$1/$f" || { echo "  $f differs or is missing"; return 1; }
    done
}

result() { # NAME OK LOG
    if [ "$2" = 0 ]; then
        echo "PASS $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1"
        sed 's/^/  | /' "$3" | tail -20
        failed=$((failed + 1))
    fi
}

# NAME SERVER_FLAGS CLIENT_FLAGS EXPECT: the client's second connection must print EXPECT.
check_case() {
    name=$1-$alpn sflags=$2 cflags=$3 expect=$4
    port=$((base + passed + failed))
    out=$W/out-$name
    mkdir -p "$out"
    # shellcheck disable=SC2086
    start_server $port "$W/logs/$name-server.log" $sflags || { result "$name" 1 "$W/logs/$name-server.log"; return; }
    # shellcheck disable=SC2046,SC2086
    timeout 60 "$B/bin/lwquic-client" --alpn $alpn -v --cacert "$W/certs/ca.pem" --output-dir "$out" --remote-name-all --resume $cflags $(urls $port) \
        > "$W/logs/$name-client.out" 2> "$W/logs/$name-client.log"
    rc=$?
    stop_server
    ok=1
    [ $rc = 0 ] && same_files "$out" >> "$W/logs/$name-client.log" &&
        [ "$(grep -c "session" "$W/logs/$name-client.log")" = 2 ] &&
        grep "session" "$W/logs/$name-client.log" | head -1 | grep -q "session not resumed (0 0-RTT packets)$" &&
        grep "session" "$W/logs/$name-client.log" | tail -1 | grep -q "$expect" && ok=0
    result "$name" $ok "$W/logs/$name-client.log"
}

# A session file across client runs, then across a server restart (new ticket key).
session_file_case() {
name=session-file-$alpn
port=$((base + passed + failed))
sf=$W/session.bin
rm -f "$sf"
mkdir -p "$W/out-$name"
ok=1
log=$W/logs/$name-client.log
: > "$log"
if start_server $port "$W/logs/$name-server.log" --early-data; then
    # shellcheck disable=SC2046
    set -- $(urls $port)
    timeout 60 "$B/bin/lwquic-client" --alpn $alpn -v --cacert "$W/certs/ca.pem" --output-dir "$W/out-$name" --remote-name-all --session-file "$sf" "$1" > /dev/null 2>> "$log" &&
        shift && timeout 60 "$B/bin/lwquic-client" --alpn $alpn -v --cacert "$W/certs/ca.pem" --output-dir "$W/out-$name" --remote-name-all --session-file "$sf" \
            --early-data "$@" > /dev/null 2>> "$log" && stop_server &&
        start_server $port "$W/logs/$name-server2.log" --early-data &&
        timeout 60 "$B/bin/lwquic-client" --alpn $alpn -v --cacert "$W/certs/ca.pem" --output-dir "$W/out-$name" --remote-name-all --session-file "$sf" \
            --early-data "$@" > /dev/null 2>> "$log" && same_files "$W/out-$name" >> "$log" &&
        grep "session" "$log" | sed -n 2p | grep -q "^lwquic-client: session resumed, 0-RTT accepted ([1-9]" &&
        grep "session" "$log" | sed -n 3p | grep -q "^lwquic-client: session not resumed, 0-RTT rejected (" && ok=0
    stop_server
fi
result "$name" $ok "$log"
}

for alpn in hq-interop h3; do
    check_case resumption "" "" "session resumed (0 0-RTT packets)$"
    check_case zerortt "--early-data" "--early-data" "session resumed, 0-RTT accepted ([1-9]"
    check_case zerortt-retry "--early-data --retry" "--early-data" "session resumed, 0-RTT accepted ([1-9]"
    check_case zerortt-refused "" "--early-data" "session resumed (0 0-RTT packets)$"
    session_file_case
done

echo "resume: $passed passed, $failed failed"
[ $failed = 0 ]
