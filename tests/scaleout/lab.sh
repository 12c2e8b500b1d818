#!/bin/sh
# The QUIC-LB lab (docs/scale-out.md): three lwquic-server hosts in network namespaces behind a
# balancer namespace whose nftables rules route short-header packets by the server ID in their
# Destination Connection ID and new clients' Initials by a hash of the 4-tuple. Checks: clients spread
# over the three hosts; NAT rebinding (lwquic-netsim --rebind) and active migration (the servers'
# preferred address) keep their connections byte-exact, where the same runs behind a plain 4-tuple
# hash lose them; a drained host finishes its downloads while new clients go to the others; with a
# key, the CIDs clients get do not show the server ID.
# Addresses are documentation ranges that exist only inside the namespaces.
# usage: tests/scaleout/lab.sh BUILD [--measure]     (root; BUILD/bin holds the tools)
# --measure adds handshake rate (tests/scaleout/load.c) and throughput, one host vs three.
set -u
B=${1:-build}
MEASURE=${2:-}
if [ "$(id -u)" != 0 ]; then
    echo "scale-out lab: skipped (needs root for ip netns and nft)"
    exit 0
fi
for t in ip nft; do
    command -v $t > /dev/null || { echo "scale-out lab: '$t' missing: sh scripts/deps.sh scaleout"; exit 1; }
done
for t in lwquic-server lwquic-client lwquic-netsim; do
    [ -x "$B/bin/$t" ] || { echo "scale-out lab: $B/bin/$t missing (make tools)"; exit 1; }
done
BIN=$(cd "$B/bin" && pwd)
W=$(cd "$B" && pwd)/scaleout
rm -rf "$W" && mkdir -p "$W/data" "$W/out"

P=lwqlb$$ # namespaces: ${P}c clients, ${P}b balancer, ${P}s1..3 servers
C=${P}c
L=${P}b
VIP=192.0.2.1
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2> /dev/null; done
    for p in $PIDS; do wait "$p" 2> /dev/null; done
    for ns in $C $L ${P}s1 ${P}s2 ${P}s3; do ip netns del "$ns" 2> /dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail=0
t0=$(date +%s)
say() { echo "scale-out lab: $*"; }
verdict() { # NAME OK DETAIL
    if [ "$2" = 1 ]; then say "$1: ok ($3)"; else say "$1: FAILED ($3; logs in $W)"; fail=1; fi
}

sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { say "cannot make certificates"; exit 1; }
head -c 1048576 /dev/urandom > "$W/data/f1m"
head -c 2097152 /dev/urandom > "$W/data/f2m"
head -c 4194304 /dev/urandom > "$W/data/f4m"
head -c 16777216 /dev/urandom > "$W/data/f16m"
for i in 1 2 3; do
    mkdir -p "$W/www$i"
    echo "s$i" > "$W/www$i/whoami"
    for f in f1m f2m f4m f16m; do ln "$W/data/$f" "$W/www$i/$f"; done
done

# --- the namespaces: clients 198.51.100.2 -- 198.51.100.1 balancer 203.0.113.(4i-3) -- 203.0.113.(4i-2) server i
set -e
for ns in $C $L ${P}s1 ${P}s2 ${P}s3; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add eth0 netns $C type veth peer name cli netns $L
ip -n $C addr add 198.51.100.2/24 dev eth0
ip -n $C link set eth0 up
ip -n $C route add default via 198.51.100.1
ip -n $L addr add 198.51.100.1/24 dev cli
ip -n $L link set cli up
for i in 1 2 3; do
    S=${P}s$i
    ip link add eth0 netns "$S" type veth peer name "srv$i" netns $L
    ip -n "$S" addr add "203.0.113.$((4 * i - 2))/30" dev eth0
    ip -n "$S" link set eth0 up
    ip -n "$S" route add default via "203.0.113.$((4 * i - 3))"
    ip -n $L addr add "203.0.113.$((4 * i - 3))/30" dev "srv$i"
    ip -n $L link set "srv$i" up
done
ip netns exec $L sysctl -qw net.ipv4.ip_forward=1
set +e

# --- the balancer. steer: a short header (form bit 0) of configuration 0 goes by the first octet of
# its server ID (UDP payload byte 2, transport-header bit 80) to host 1, 2 or 3; anything else (long
# headers: Initials of new clients) goes by the `initial` chain. conntrack keeps a flow's DNAT, so only
# the first packet of a new 4-tuple (a new client, a rebinding, a migration) meets these rules.
rules() { # MODE: cid | hash
    if [ "$1" = cid ]; then
        steer='@th,64,1 0 @th,72,3 0 @th,80,8 vmap { 1 : jump s1, 2 : jump s2, 3 : jump s3 }'
    else
        steer=''
    fi
    ip netns exec $L nft -f - << EOF
table ip lwqlb
delete table ip lwqlb
table ip lwqlb {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP udp dport { 4433, 4434 } jump steer
    }
    chain steer {
        $steer
        jump initial
    }
    chain initial {
        jhash ip saddr . udp sport . ip daddr . udp dport mod 3 seed 0x5eed vmap { 0 : jump s1, 1 : jump s2, 2 : jump s3 }
    }
    chain s1 {
        counter dnat to 203.0.113.2
    }
    chain s2 {
        counter dnat to 203.0.113.6
    }
    chain s3 {
        counter dnat to 203.0.113.10
    }
}
EOF
    # flows of earlier tests keep their DNAT in conntrack; every test uses new client ports
}
initial() { # RULE: the new-client policy, e.g. "jhash ... vmap {...}" or "jump s3"
    ip netns exec $L nft flush chain ip lwqlb initial
    ip netns exec $L nft add rule ip lwqlb initial "$@"
}
dnat_count() { # CHAIN: flows the chain has sent to its server
    ip netns exec $L nft list chain ip lwqlb "$1" | grep -o 'packets [0-9]*' | cut -d' ' -f2
}
HASH2='jhash ip saddr . udp sport . ip daddr . udp dport mod 2 seed 0x5eed vmap { 0 : jump s1, 1 : jump s2 }'

start_servers() { # [KEY]: encrypted CIDs
    for i in 1 2 3; do
        ip netns exec ${P}s$i "$BIN/lwquic-server" --listen 0.0.0.0:4433 --root "$W/www$i" \
            --cert "$W/certs/server.pem" --key "$W/certs/server.key" --alpn hq-interop --shards 2 \
            --quic-lb "cr=0,sid=0${i}00,noncelen=6${1:+,key=$1}" --preferred-address $VIP:4434 \
            --preferred-listen 0.0.0.0:4434 2> "$W/s$i.log" &
        eval "spid$i=$!"
        PIDS="$PIDS $!"
    done
    for i in 1 2 3; do
        n=0
        until grep -q serving "$W/s$i.log" 2> /dev/null || [ $n -ge 50 ]; do sleep 0.1; n=$((n + 1)); done
    done
}

client() { # NAME HOSTPORT LIMIT FILE... ; CF: more client flags. In the background: sets cpid
    name=$1 hp=$2 lim=$3
    shift 3
    urls=""
    for f in "$@"; do urls="$urls https://$hp/$f"; done
    mkdir -p "$W/out/$name"
    # shellcheck disable=SC2086
    ip netns exec $C timeout "$lim" "$BIN/lwquic-client" -v --insecure --alpn hq-interop --output-dir "$W/out/$name" --remote-name-all \
        ${CF:-} $urls > /dev/null 2> "$W/out/$name.log" &
    cpid=$!
    PIDS="$PIDS $cpid"
}

intact() { # NAME FILE: 1 when the download is byte-exact
    cmp -s "$W/data/$2" "$W/out/$1/$2" && echo 1 || echo 0
}
host_of() { cat "$W/out/$1/whoami" 2> /dev/null || echo none; }

run_batch() { # PREFIX COUNT HOSTPORT LIMIT FILE...: COUNT clients at once; sets ok (intact) and hosts.
    # HOSTPORT "relays:BASE": client k goes through the relay on 127.0.0.1:BASE+k (see relays)
    pre=$1 count=$2 hp=$3 lim=$4
    shift 4
    pids=""
    k=1
    while [ $k -le "$count" ]; do
        to=$hp
        case $hp in relays:*) to=127.0.0.1:$((${hp#relays:} + k)) ;; esac
        client "$pre$k" "$to" "$lim" whoami "$@"
        pids="$pids $cpid"
        k=$((k + 1))
    done
    for p in $pids; do wait "$p"; done
    ok=0
    hosts=""
    k=1
    while [ $k -le "$count" ]; do
        good=1
        for f in "$@"; do [ "$(intact "$pre$k" "$f")" = 1 ] || good=0; done
        ok=$((ok + good))
        hosts="$hosts $(host_of "$pre$k")"
        k=$((k + 1))
    done
}
count_of() { echo "$2" | tr ' ' '\n' | grep -c "^$1\$"; }

rules cid
start_servers

# 1. many clients spread over the three hosts by the Initial hash, every download intact
mkdir -p "$W/qlog/plain"
CF="--no-preferred-address --qlog-dir $W/qlog/plain"; run_batch spread 30 $VIP:4433 60 f1m
n1=$(count_of s1 "$hosts") n2=$(count_of s2 "$hosts") n3=$(count_of s3 "$hosts")
v=0
[ $ok = 30 ] && [ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] && [ "$n3" -ge 2 ] && v=1
verdict spread $v "$ok/30 intact; hosts s1 $n1, s2 $n2, s3 $n3"

# 2. NAT rebinding: a relay per client (8 Mbit/s: 4 MiB take 4 s) gives its flow a new source port
# 2 s in, mid-download and after the handshake (RFC 9000 §9 allows no migration before it is confirmed)
relays() { # BASE COUNT ARGS...: relays on 127.0.0.1:BASE+1..BASE+COUNT; sets rpids
    rb=$1 rc=$2
    shift 2
    rpids=""
    k=1
    while [ $k -le "$rc" ]; do
        ip netns exec $C "$BIN/lwquic-netsim" --listen $((rb + k)) --server 4433 --server-host $VIP --delay 2 \
            --queue 400 -q "$@" 2> "$W/out/relay$((rb + k)).log" &
        rpids="$rpids $!"
        PIDS="$PIDS $!"
        k=$((k + 1))
    done
    sleep 0.3
}
stop_relays() { for p in $rpids; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done; }
relay() { # PORT ARGS...: lwquic-netsim in the client namespace toward the VIP; sets rpid
    rp=$1
    shift
    ip netns exec $C "$BIN/lwquic-netsim" --listen "$rp" --server 4433 --server-host $VIP --delay 2 \
        --queue 400 -q "$@" 2> "$W/out/relay$rp.log" &
    rpid=$!
    PIDS="$PIDS $rpid"
    sleep 0.3
}
stop_relay() { kill "$rpid" 2> /dev/null; wait "$rpid" 2> /dev/null; }
changes() { cat "$W"/s?.log | grep -c "path changed"; }

before=$(changes)
relays 7100 6 --rate 8 --rebind 2,0
CF=--no-preferred-address; run_batch rebind 6 relays:7100 40 f4m
stop_relays
moved=$(($(changes) - before))
v=0
[ $ok = 6 ] && [ $moved -ge 6 ] && v=1
verdict "rebinding, routed by CID" $v "$ok/6 intact, $moved path changes seen by the servers"

# 3. active migration: each client moves to the preferred address VIP:4434 from a new socket
CF=; run_batch migrate 6 $VIP:4433 40 f2m
mig=$(cat "$W"/out/migrate*.log | grep -c "migrated to $VIP:4434")
v=0
[ $ok = 6 ] && [ "$mig" = 6 ] && v=1
verdict "active migration, routed by CID" $v "$ok/6 intact, $mig/6 moved to $VIP:4434"

# 4. the same two behind a plain 4-tuple hash: a new 4-tuple lands on a host that has never seen
# the connection (2 chances in 3 for each client; all 8 kept by chance: 1 run in 6561)
rules hash
relays 7200 8 --rate 8 --rebind 2,0
CF=--no-preferred-address; run_batch hrebind 8 relays:7200 15 f4m
stop_relays
v=0
[ $ok -lt 8 ] && v=1
verdict "rebinding behind a 4-tuple hash breaks" $v "$ok/8 intact"
CF=; run_batch hmigrate 8 $VIP:4433 40 f2m
hmig=$(cat "$W"/out/hmigrate*.log | grep -c "migrated to $VIP:4434")
v=0
[ "$hmig" -lt 8 ] && v=1
verdict "migration behind a 4-tuple hash breaks" $v "$hmig/8 moved, the others' path validation failed; $ok/8 downloads intact (on the old path)"

# 5. drain: long downloads pinned on s3, then s3 leaves the Initial hash; its connections finish
# while new clients go to s1 and s2, then s3 stops
rules cid
initial jump s3
relay 7003 --rate 16
CF=--no-preferred-address
dpids=""
for k in 1 2 3 4; do
    client "drain$k" 127.0.0.1:7003 60 whoami f2m
    dpids="$dpids $cpid"
done
# the Initial of each of the 4 has been DNATed to s3 (the chain's counter counts first packets of
# flows; conntrack keeps the rest of each flow there), so s3 can leave the hash
n=0
until [ "$(dnat_count s3)" -ge 4 ] || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.3
initial $HASH2
CF=--no-preferred-address; run_batch after 12 $VIP:4433 40
for p in $dpids; do wait "$p"; done
stop_relay
dok=0 on3=0
for k in 1 2 3 4; do
    [ "$(intact "drain$k" f2m)" = 1 ] && dok=$((dok + 1))
    [ "$(host_of "drain$k")" = s3 ] && on3=$((on3 + 1))
done
n3=$(count_of s3 "$hosts")
kill -TERM "$spid3"
wait "$spid3"
v=0
[ $dok = 4 ] && [ $on3 = 4 ] && [ $ok = 12 ] && [ "$n3" = 0 ] && v=1
verdict drain $v "$dok/4 downloads on s3 intact after the drain, $ok/12 new clients, $n3 of them on s3"
CF=--no-preferred-address; run_batch gone 6 $VIP:4433 30
n3=$(count_of s3 "$hosts")
v=0
[ $ok = 6 ] && [ "$n3" = 0 ] && v=1
verdict "s3 stopped" $v "$ok/6 new clients served by s1/s2"

# 6. encrypted CIDs (four-pass, a key shared by the hosts): these rules cannot read them, so new
# clients are pinned to one host at a time; each host's 2 shards decrypt to route rebound flows.
# Over the CIDs the clients were given (from their qlogs), the server ID's first octet is constant
# in plaintext (the control, from test 1) and spread out when encrypted.
spread_of() { # DIR: "N TOP D": distinct 9-byte CIDs, how often the commonest value of byte 1 is there, how many values
    cat "$1"/*.sqlog 2> /dev/null | grep -o '"connection_id":"[0-9a-f]*"' | cut -d'"' -f4 |
        awk 'length($0) == 18' | sort -u | awk '{ n++; c[substr($0, 3, 2)]++ } END {
            t = 0; d = 0; for (k in c) { d++; if (c[k] > t) t = c[k] }; print n + 0, t + 0, d + 0 }'
}
kill -TERM "$spid1" "$spid2" 2> /dev/null
wait "$spid1" "$spid2" 2> /dev/null
start_servers 8f95f09245765f80256934e50c66207f
rules hash
etot=0 vals=""
for i in 1 2; do
    initial jump s$i
    mkdir -p "$W/qlog/enc$i"
    CF="--no-preferred-address --qlog-dir $W/qlog/enc$i"; run_batch "encq$i-" 12 $VIP:4433 30
    etot=$((etot + $(count_of s$i "$hosts")))
    vals="$vals s$i: $(spread_of "$W/qlog/enc$i" | awk '{ print $1 " CIDs, byte 1 takes " $3 " values, the commonest " $2 " times;" }')"
done
initial jump s1
before=$(changes)
relays 7400 6 --rate 8 --rebind 2,0
CF=--no-preferred-address; run_batch enc 6 relays:7400 40 f4m
stop_relays
moved=$(($(changes) - before))
set -- $(spread_of "$W/qlog/plain")
pn=$1 pd=$3
set -- $(spread_of "$W/qlog/enc1") $(spread_of "$W/qlog/enc2")
v=0
# 12 connections a host get 2 CIDs each (the client's active_connection_id_limit); plaintext, byte 1
# is the host's number; encrypted, it must take at least N/2 values, none more than N/4 times
[ $ok = 6 ] && [ $moved -ge 6 ] && [ $etot = 24 ] && [ "$pn" -ge 20 ] && [ "$pd" -le 3 ] && [ "$1" -ge 20 ] &&
    [ $(($2 * 4)) -le "$1" ] && [ $(($3 * 2)) -ge "$1" ] && [ "$4" -ge 20 ] && [ $(($5 * 4)) -le "$4" ] &&
    [ $(($6 * 2)) -ge "$4" ] && v=1
verdict "encrypted CIDs" $v "$ok/6 rebound downloads on s1 intact, $moved path changes;$vals plaintext (test 1): $pn CIDs, byte 1 takes $pd values"

cpu_ms() { # the servers' CPU time (user + system) so far, in ms
    t=0
    for p in $spid1 $spid2 $spid3; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2> /dev/null || echo 0)))
    done
    echo $((t * 1000 / $(getconf CLK_TCK)))
}
if [ "$MEASURE" = --measure ]; then
    # handshake rate and throughput, one host vs three; clients, balancer and servers share this
    # machine's cores, so this shows the balancer's overhead and how the work splits, not a fleet's speed
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude tests/scaleout/load.c "$B/lib/liblwquic.a" -lmbedx509 \
        -lmbedcrypto -lsodium -lpthread -lm -o "$W/load" || exit 1
    kill -TERM "$spid1" "$spid2" "$spid3" 2> /dev/null
    wait "$spid1" "$spid2" "$spid3" 2> /dev/null
    start_servers
    for mode in one three; do
        rules cid
        [ $mode = one ] && initial jump s1
        c0=$(cpu_ms)
        r=$(ip netns exec $C "$W/load" $VIP:4433 /whoami 400 32)
        say "measure $mode host(s): $r (32 at a time, one process), server CPU $(($(cpu_ms) - c0)) ms"
        c0=$(cpu_ms)
        s=$(date +%s%N)
        CF=--no-preferred-address; run_batch "tp$mode" 6 $VIP:4433 120 f16m
        e=$(date +%s%N)
        say "measure $mode host(s): 6 x 16 MiB in $(((e - s) / 1000000)) ms ($ok intact), server CPU $(($(cpu_ms) - c0)) ms"
    done
fi
say "finished in $(($(date +%s) - t0)) s"
exit $fail
