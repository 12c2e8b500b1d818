#!/bin/sh
# HTTP/3 interop on loopback: lwquic-client against ngtcp2's gtlsserver and quic-go's h3 server, gtlsclient and
# quic-go's h3 client against lwquic-server. Every pairing runs four cases, each on one connection and a fresh
# server: a 20 MiB GET and 1000 small GETs (byte for byte), a 404 (the client must see the status; ours and
# quic-go's must exit non-zero), and a POST whose answer is checked byte for byte (an echo from lwquic and
# quic-go; gtlsserver has no echo: it answers a POST to a file with that file once the whole body arrived).
# gtlsclient against lwquic-server also checks HEAD (length, no body) and a 405 with allow. When a pairing has
# lwquic-server, tests/interop/h3_drain.sh (the shutdown drain across SIGTERM) runs at the end and counts too.
# usage: tests/interop/h3.sh BUILD          (BUILD/bin holds lwquic-server and lwquic-client; logs in
#        BUILD/interop-h3/logs). H3_PAIRS="server:client ..." picks pairings from lwquic, ngtcp2, quicgo
#        (e.g. H3_PAIRS="quicgo:ngtcp2 ngtcp2:quicgo" checks the harness without lwquic); H3_VERBOSE=1 runs
#        the lwquic tools with -v and a qlog directory per case.
set -u
B=${1:-build}
W=$B/interop-h3
PEER=$B/interop/quicgo-peer
PAIRS=${H3_PAIRS:-ngtcp2:lwquic quicgo:lwquic lwquic:ngtcp2 lwquic:quicgo}
method=""
NSMALL=1000
rm -rf "$W" && mkdir -p "$W/www" "$W/logs"
sh scripts/mkcert.sh "$W/certs"
case " $PAIRS " in
*quicgo*)
    if [ ! -x "$PEER" ] || [ tests/interop/quicgo/peer.go -nt "$PEER" ]; then
        sh tests/interop/build_peer.sh "$B/interop" > "$W/logs/build-peer.log" 2>&1 || {
            cat "$W/logs/build-peer.log"; echo "interop-h3: cannot build the quic-go peer"; exit 1; }
    fi ;;
esac
for t in gtlsclient /usr/sbin/gtlsserver; do
    command -v $t > /dev/null || { echo "interop-h3: $t missing (scripts/deps.sh interop)"; exit 1; }
done

head -c 20971520 /dev/urandom > "$W/www/file20mb"
head -c 2097275 /dev/urandom > "$W/body"
head -c 300001 /dev/urandom > "$W/www/posted" # gtlsserver answers POST /posted with this file
smalls=""
i=1
while [ $i -le $NSMALL ]; do
    head -c $(((i * 1237) % 4001 + 1)) /dev/urandom > "$W/www/small$i"
    smalls="$smalls small$i"
    i=$((i + 1))
done

passed=0
failed=0
port=$((20000 + $$ % 10000))
verbose=${H3_VERBOSE:-0}

listening() { # PORT: a UDP socket is bound to 127.0.0.1:PORT
    hex=$(printf '0100007F:%04X' "$1")
    grep -q " $hex " /proc/net/udp 2>/dev/null
}

start_server() { # KIND LOG CASE
    extra=""
    case $1 in
    lwquic)
        [ "$verbose" = 1 ] && extra="-v --qlog-dir $W/logs/qlog-$3"
        # shellcheck disable=SC2086
        "$B/bin/lwquic-server" --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" \
            --key "$W/certs/server.key" $extra 2> "$2" & ;;
    ngtcp2)
        # Quiet but for the POST case, whose frame trace shows how much of the request stream arrived.
        if [ "$3" = post ]; then extra="--no-quic-dump --no-http-dump"; else extra=-q; fi
        # shellcheck disable=SC2086
        /usr/sbin/gtlsserver $extra 127.0.0.1 "$port" "$W/certs/server.key" "$W/certs/server.pem" \
            -d "$W/www" > "$2" 2>&1 & ;;
    quicgo)
        "$PEER" server --listen "127.0.0.1:$port" --root "$W/www" --cert "$W/certs/server.pem" \
            --key "$W/certs/server.key" --alpn h3 2> "$2" & ;;
    esac
    server_pid=$!
    n=0
    while [ $n -lt 50 ]; do
        listening "$port" && return 0
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.1
        n=$((n + 1))
    done
    kill "$server_pid" 2>/dev/null
    return 1
}

run_client() { # KIND OUTDIR CASE PATH...   ($post: file to POST, or empty)
    kind=$1 out=$2 cs=$3
    shift 3
    urls=""
    for p in "$@"; do urls="$urls https://localhost:$port/$p"; done
    case $kind in
    lwquic)
        extra=""
        [ "$verbose" = 1 ] && extra="-vv --qlog-dir $W/logs/qlog-$cs"
        [ -n "$post" ] && extra="$extra --data-binary @$post"
        # shellcheck disable=SC2086
        timeout 60 "$B/bin/lwquic-client" -v --fail --cacert "$W/certs/ca.pem" --output-dir "$out" --remote-name-all $extra $urls ;;
    ngtcp2)
        # gtlsclient prints each response's fields (":status: 404") unless -q; it does not check the certificate.
        case $cs in
        404 | post | head-405) extra="--no-quic-dump --no-http-dump" ;;
        *) extra=-q ;;
        esac
        [ -n "$post" ] && extra="$extra -m POST -d $post"
        [ -n "$method" ] && extra="$extra -m $method"
        # shellcheck disable=SC2086
        timeout 60 gtlsclient $extra --timeout=20s --sni=localhost --download="$out" --exit-on-all-streams-close \
            127.0.0.1 "$port" $urls ;;
    quicgo)
        [ -n "$post" ] && extra="--post $post" || extra=""
        # shellcheck disable=SC2086
        timeout 60 "$PEER" client --alpn h3 --cafile "$W/certs/ca.pem" -o "$out" $extra $urls ;;
    esac
}

why=""
expect() { # CONDITION-RESULT REASON: records the first failed expectation of a case
    [ "$1" -eq 0 ] || [ -n "$why" ] || why=$2
}

same_files() { # OUTDIR NAME...: every file arrived byte for byte
    d=$1
    shift
    bad=0
    for f in "$@"; do cmp -s "$W/www/$f" "$d/$f" || bad=$((bad + 1))
    done
    [ $bad -eq 0 ] || { echo "$bad of $# files missing or different"; return 1; }
}

run_case() { # SERVER CLIENT CASE
    srv=$1 cli=$2 cs=$3
    name="$srv server / $cli client: $cs"
    log="$W/logs/$srv-$cli-$cs"
    out="$W/out-$srv-$cli-$cs"
    mkdir -p "$out"
    port=$((port + 1))
    if ! start_server "$srv" "$log.server" "$cs"; then
        port=$((port + 1)) # the port may be taken: one more try
        if ! start_server "$srv" "$log.server" "$cs"; then
            echo "FAIL $name (server did not start)"
            sed 's/^/     server: /' "$log.server" | tail -5
            failed=$((failed + 1))
            return
        fi
    fi
    post=""
    method=""
    why=""
    case $cs in
    20mb)
        run_client "$cli" "$out" "$cs" file20mb > "$log.client" 2>&1
        rc=$?
        expect $rc "client exit $rc"
        r=$(same_files "$out" file20mb)
        expect $? "$r" ;;
    1000-small)
        # shellcheck disable=SC2086
        run_client "$cli" "$out" "$cs" $smalls > "$log.client" 2>&1
        rc=$?
        expect $rc "client exit $rc"
        # shellcheck disable=SC2086
        r=$(same_files "$out" $smalls)
        expect $? "$r"
        if [ "$srv" = lwquic ]; then
            # One log line per request, each naming the client's address: one address = one connection.
            peers=$(grep ' /small[0-9]' "$log.server" | awk '{ print $1 }' | sort -u | wc -l)
            [ "$peers" -eq 1 ]
            expect $? "requests came from $peers client addresses"
        fi ;;
    404)
        run_client "$cli" "$out" "$cs" no-such-file > "$log.client" 2>&1
        rc=$?
        case $cli in
        lwquic)
            [ $rc -ne 0 ] && [ $rc -lt 124 ]
            expect $? "client exit $rc, wanted an error exit"
            grep -q -- '-> 404' "$log.client"
            expect $? "client did not report 404" ;;
        quicgo)
            [ $rc -ne 0 ] && [ $rc -lt 124 ]
            expect $? "client exit $rc, wanted an error exit"
            grep -q 'status 404' "$log.client"
            expect $? "client did not report status 404" ;;
        ngtcp2)
            # gtlsclient exits 0 whatever the status; it prints the response fields.
            expect $rc "client exit $rc"
            grep -q '\[:status: 404\]' "$log.client"
            expect $? "no :status 404 in the client's trace" ;;
        esac ;;
    head-405)
        # HEAD answers the file's length and no body; DELETE is refused with 405 and an allow field.
        method=HEAD
        run_client "$cli" "$out" "$cs" small7 > "$log.client" 2>&1
        rc=$?
        expect $rc "HEAD: client exit $rc"
        grep -q '\[:status: 200\]' "$log.client"
        expect $? "HEAD: no :status 200"
        grep -q "\[content-length: $(wc -c < "$W/www/small7")\]" "$log.client"
        expect $? "HEAD: content-length is not the file's length"
        [ ! -s "$out/small7" ]
        expect $? "HEAD: a body arrived"
        method=DELETE
        run_client "$cli" "$out" "$cs" small7 > "$log.client-delete" 2>&1
        rc=$?
        method=""
        expect $rc "DELETE: client exit $rc"
        grep -q '\[:status: 405\]' "$log.client-delete"
        expect $? "DELETE: no :status 405"
        grep -q '\[allow: ' "$log.client-delete"
        expect $? "DELETE: 405 without an allow field" ;;
    post)
        post="$W/body"
        if [ "$srv" = ngtcp2 ]; then
            run_client "$cli" "$out" "$cs" posted > "$log.client" 2>&1
            rc=$?
            expect $rc "client exit $rc"
            r=$(same_files "$out" posted)
            expect $? "answer: $r"
            # The request stream (id 0) ends past the whole body: offset + len of its FIN frame.
            end=$(grep 'frm rx .* STREAM(0x0[8-f]) id=0x0 fin=1 ' "$log.server" |
                sed -n 's/.* offset=\([0-9]*\) len=\([0-9]*\).*/\1 \2/p' | awk '{ print $1 + $2 }' | tail -1)
            size=$(wc -c < "$post")
            [ "${end:-0}" -gt "$size" ]
            expect $? "request stream ended at ${end:-nothing}, the body is $size bytes"
        else
            run_client "$cli" "$out" "$cs" echo > "$log.client" 2>&1
            rc=$?
            expect $rc "client exit $rc"
            cmp -s "$post" "$out/echo"
            expect $? "echo differs from the body"
        fi ;;
    esac
    if [ "$srv" = ngtcp2 ]; then kill -INT "$server_pid"; else kill -TERM "$server_pid"; fi 2>/dev/null
    wait "$server_pid"
    src=$?
    # lwquic-server exits 0 on SIGTERM, non-zero when LeakSanitizer (sanitizer builds) finds a leak.
    [ "$srv" != lwquic ] || expect $src "server exit $src"
    if [ -z "$why" ]; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name ($why)"
        grep -v '^[IE][0-9]\{8\} \|^http: \|^Received packet\|^Sent packet' "$log.client" | tail -5 | sed 's/^/     client: /'
        tail -5 "$log.server" | sed 's/^/     server: /'
        failed=$((failed + 1))
    fi
}

for pair in $PAIRS; do
    s=${pair%%:*}
    c=${pair#*:}
    for cs in 20mb 1000-small 404 post; do run_case "$s" "$c" "$cs"; done
    [ "$pair" != lwquic:ngtcp2 ] || run_case "$s" "$c" head-405
done
case " $PAIRS " in *" lwquic:"*)
    sh tests/interop/h3_drain.sh "$B" > "$W/logs/drain.out" 2>&1
    grep -v '^interop-h3-drain:' "$W/logs/drain.out"
    passed=$((passed + $(grep -c '^ok ' "$W/logs/drain.out")))
    failed=$((failed + $(grep -c '^FAIL ' "$W/logs/drain.out")))
    grep -q '^interop-h3-drain: ' "$W/logs/drain.out" || failed=$((failed + 1)) ;;
esac
echo "interop-h3: $passed passed, $failed failed (logs in $W/logs)"
[ $failed -eq 0 ]
