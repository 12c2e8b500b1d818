#!/bin/sh
# Migration on loopback, lwquic <-> lwquic (docs/migration.md): the server's preferred address
# (RFC 9000 §9.6) directly and through lwquic-netsim's second front port (the runner's
# connectionmigration case), NAT rebinding of the port and of the address through lwquic-netsim
# (rebind-port, rebind-addr), with 2 server shards so that a rebound flow may land on another shard's
# socket. Each case downloads a file over hq-interop, compares it byte for byte and checks that the
# path changed (client "migrated to", server "path changed" lines).
# usage: tests/interop/migrate.sh BUILD      (BUILD/bin holds lwquic-server, lwquic-client, lwquic-netsim)
set -u
B=${1:-build}
W=$B/interop-migrate
rm -rf "$W" && mkdir -p "$W/www"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { echo "migrate: cannot make certificates"; exit 1; }
head -c 2097152 /dev/urandom > "$W/www/f2m"
head -c 6291456 /dev/urandom > "$W/www/f6m"
passed=0
failed=0
base=$((30000 + ($$ * 11) % 20000))

. tests/interop/common.sh

stop_all() {
    kill "$server_pid" 2> /dev/null
    wait "$server_pid" 2> /dev/null
    if [ -n "${relay_pid:-}" ]; then
        kill "$relay_pid" 2> /dev/null
        wait "$relay_pid" 2> /dev/null
        relay_pid=
    fi
}

verdict() { # NAME OK
    if [ "$2" = 1 ]; then
        echo "migrate: $1: ok"
        passed=$((passed + 1))
    else
        echo "migrate: $1: FAILED (logs in $W/$1.*)"
        failed=$((failed + 1))
    fi
}

fetch() { # NAME PORT FILE [CLIENT FLAGS...]: 1 when the file arrived intact
    name=$1 port=$2 file=$3
    shift 3
    out="$W/$name.out"
    mkdir -p "$out"
    timeout 60 "$B/bin/lwquic-client" -v -k --alpn hq-interop --output-dir "$out" --remote-name-all "$@" \
        "https://127.0.0.1:$port/$file" > "$W/$name.stdout" 2> "$W/$name.client" && cmp -s "$W/www/$file" "$out/$file"
}

# 1. preferred address, no relay: the client moves to the second port after confirmation.
p=$base
start_server $p "$W/pref.server" --alpn hq-interop --shards 2 --preferred-address "127.0.0.1:$((p + 1))"
ok=0
if fetch pref $p f2m && grep -q "migrated to 127.0.0.1:$((p + 1))" "$W/pref.client" &&
    [ "$(grep -c "path changed" "$W/pref.server")" = 1 ]; then ok=1; fi
stop_all
verdict pref $ok

# 2. --no-preferred-address: the same server, the client stays.
start_server $p "$W/nopref.server" --alpn hq-interop --shards 2 --preferred-address "127.0.0.1:$((p + 1))"
ok=0
if fetch nopref $p f2m --no-preferred-address && ! grep -q "migrated" "$W/nopref.client" &&
    ! grep -q "path changed" "$W/nopref.server"; then ok=1; fi
stop_all
verdict nopref $ok

# 3. connectionmigration through the relay: the server advertises the relay's second front port.
p=$((base + 10))
start_server $p "$W/cm.server" --alpn hq-interop --shards 2 --preferred-address "127.0.0.1:$((p + 3))" --preferred-listen "127.0.0.1:$((p + 1))"
"$B/bin/lwquic-netsim" --listen $((p + 2)) --server $p --listen2 $((p + 3)) --server2 $((p + 1)) -q \
    2> "$W/cm.relay" &
relay_pid=$!
sleep 0.3
ok=0
if fetch cm $((p + 2)) f2m && grep -q "migrated to 127.0.0.1:$((p + 3))" "$W/cm.client" &&
    grep -q "path changed" "$W/cm.server"; then ok=1; fi
stop_all
verdict cm $ok

# 4./5. NAT rebinding after 1 s, then every 2 s: a new port, then a new port and address.
for mode in port addr; do
    p=$((p + 10))
    start_server $p "$W/rebind-$mode.server" --alpn hq-interop --shards 2
    arg="1,2"
    [ $mode = addr ] && arg="1,2,addr"
    "$B/bin/lwquic-netsim" --listen $((p + 2)) --server $p --rebind $arg -q 2> "$W/rebind-$mode.relay" &
    relay_pid=$!
    sleep 0.3
    ok=0
    if fetch "rebind-$mode" $((p + 2)) f6m && grep -q "path changed" "$W/rebind-$mode.server"; then ok=1; fi
    stop_all
    verdict "rebind-$mode" $ok
done

echo "migrate: $passed passed, $failed failed"
[ $failed -eq 0 ]
