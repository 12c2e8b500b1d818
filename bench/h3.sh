#!/bin/sh
# HTTP/3 benchmark on loopback: one 200 MB GET, and 10,000 small GETs on one connection, lwquic-server +
# lwquic-client against ngtcp2's gtlsserver + gtlsclient (Debian's examples), the stacks alternating,
# RUNS runs each (default 3). Every run is checked byte for byte before it counts. Per run: wall time of the
# client, user+sys CPU and peak RSS of client and server (GNU time); then the medians and lwquic/ngtcp2.
# Files and downloads live in /dev/shm so the disk stays out of it. A benchmark, not a test.
# usage: bench/h3.sh [BUILD]      (H3_BENCH_STACKS="ngtcp2" runs one stack only, H3_BENCH_CASES="small" one case)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
STACKS=${H3_BENCH_STACKS:-lwquic ngtcp2}
CASES=${H3_BENCH_CASES:-big small}
BIG=200000000
NSMALL=10000
case " $STACKS " in *lwquic*)
    [ -x "$BUILD/bin/lwquic-server" ] && [ -x "$BUILD/bin/lwquic-client" ] || make -j2 BUILD="$BUILD" tools ;;
esac
sh scripts/deps.sh interop
command -v /usr/bin/time > /dev/null || { echo "bench/h3.sh: GNU time missing (apt-get install time)"; exit 1; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
T=$(mktemp -d /dev/shm/lwquic-bench-h3.XXXXXX)
trap 'rm -rf "$T"' EXIT
sh scripts/mkcert.sh "$T/certs"
mkdir -p "$T/www"
case " $CASES " in *" big "*) head -c $BIG /dev/urandom > "$T/www/big" ;; esac
i=1
urls="$T/small-urls"
: > "$urls"
while [ $i -le $NSMALL ]; do
    head -c $(((i * 131) % 2048 + 1)) /dev/urandom > "$T/www/s$i"
    i=$((i + 1))
done
small_sum=$(cd "$T/www" && cat s* | cksum)
port=$((20000 + $$ % 10000))

listening() { # PORT
    grep -q " $(printf '0100007F:%04X' "$1") " /proc/net/udp 2>/dev/null
}

start_server() { # STACK: starts it under GNU time; sets time_pid
    port=$((port + 1))
    case $1 in
    lwquic) /usr/bin/time -f '%U %S %M' -o "$T/server.time" "$BUILD/bin/lwquic-server" -q \
                --listen "127.0.0.1:$port" --root "$T/www" --cert "$T/certs/server.pem" \
                --key "$T/certs/server.key" 2> "$T/server.log" & ;;
    ngtcp2) /usr/bin/time -f '%U %S %M' -o "$T/server.time" /usr/sbin/gtlsserver -q 127.0.0.1 "$port" \
                "$T/certs/server.key" "$T/certs/server.pem" -d "$T/www" > "$T/server.log" 2>&1 & ;;
    esac
    time_pid=$!
    n=0
    until listening $port; do
        n=$((n + 1))
        [ $n -lt 100 ] || { cat "$T/server.log"; echo "bench/h3.sh: $1 server did not start"; exit 1; }
        sleep 0.05
    done
}

stop_server() { # STACK
    srv_pid=$(cat "/proc/$time_pid/task/$time_pid/children")
    # gtlsserver stops cleanly on SIGINT, lwquic-server on SIGTERM.
    if [ "$1" = ngtcp2 ]; then kill -INT $srv_pid; else kill -TERM $srv_pid; fi
    wait $time_pid || true
}

client() { # STACK OUTDIR URLFILE
    # shellcheck disable=SC2046
    case $1 in
    lwquic) /usr/bin/time -f '%U %S %M' -o "$T/client.time" "$BUILD/bin/lwquic-client" -sS \
                --cacert "$T/certs/ca.pem" --output-dir "$2" --remote-name-all $(sed "s|PORT|$port|" "$3") ;;
    ngtcp2) /usr/bin/time -f '%U %S %M' -o "$T/client.time" gtlsclient -q --download="$2" \
                --exit-on-all-streams-close 127.0.0.1 "$port" $(sed "s|PORT|$port|" "$3") ;;
    esac
}

echo "https://localhost:PORT/big" > "$T/big-urls"
i=1
while [ $i -le $NSMALL ]; do
    echo "https://localhost:PORT/s$i"
    i=$((i + 1))
done > "$urls"

# One run: "stack case run wall_s client_cpu_s client_rss_kb server_cpu_s server_rss_kb"
run() { # STACK CASE RUN
    out="$T/out"
    rm -rf "$out" && mkdir -p "$out"
    start_server "$1"
    t0=$(date +%s.%N)
    if [ "$2" = big ]; then client "$1" "$out" "$T/big-urls"; else client "$1" "$out" "$urls"; fi \
        > "$T/client.log" 2>&1 || { cat "$T/client.log"; echo "bench/h3.sh: $1 $2 client failed"; exit 1; }
    t1=$(date +%s.%N)
    stop_server "$1"
    if [ "$2" = big ]; then
        cmp -s "$T/www/big" "$out/big" || { echo "bench/h3.sh: $1 big: download differs"; exit 1; }
    else
        [ "$(cd "$out" && cat s* | cksum)" = "$small_sum" ] && [ "$(ls "$out" | wc -l)" -eq $NSMALL ] ||
            { echo "bench/h3.sh: $1 small: downloads differ"; exit 1; }
    fi
    # shellcheck disable=SC2046
    set -- "$1" "$2" "$3" $(tail -1 "$T/client.time") $(tail -1 "$T/server.time")
    awk -v s="$1" -v c="$2" -v r="$3" -v t0="$t0" -v t1="$t1" -v cu="$4" -v cs="$5" -v cm="$6" \
        -v su="$7" -v ss="$8" -v sm="$9" \
        'BEGIN { printf "%s %s %s %.3f %.2f %d %.2f %d\n", s, c, r, t1 - t0, cu + cs, cm, su + ss, sm }'
}

res="$T/results"
: > "$res"
for cs in $CASES; do
    r=1
    while [ $r -le "$RUNS" ]; do
        for st in $STACKS; do
            run "$st" "$cs" "$r" > "$T/line" || exit 1
            cat "$T/line" | tee -a "$res"
        done
        r=$((r + 1))
    done
done

echo
echo "== HTTP/3 on loopback, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
    "Linux $(uname -r), ngtcp2 $(dpkg-query -W -f '${Version}' ngtcp2-client), medians of $RUNS runs"
echo "load average (1, 5, 15 min): $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "| case | stack | wall s | rate | client CPU s | server CPU s | client peak RSS MB | server peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
median() { # FIELD: median of column FIELD of stdin
    sort -n -k"$1","$1" | awk -v f="$1" '{ v[NR] = $f } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for cs in $CASES; do
    for st in $STACKS; do
        grep "^$st $cs " "$res" > "$T/sel"
        wall=$(median 4 < "$T/sel")
        ccpu=$(median 5 < "$T/sel")
        crss=$(median 6 < "$T/sel")
        scpu=$(median 7 < "$T/sel")
        srss=$(median 8 < "$T/sel")
        echo "$st $cs $wall" >> "$T/medians"
        awk -v cs="$cs" -v st="$st" -v w="$wall" -v cc="$ccpu" -v cr="$crss" -v sc="$scpu" -v sr="$srss" \
            -v big=$BIG -v n=$NSMALL 'BEGIN {
                rate = cs == "big" ? sprintf("%.0f Mbit/s", big * 8 / w / 1e6) : sprintf("%.0f req/s", n / w)
                name = cs == "big" ? "200 MB GET" : "10,000 small GETs"
                printf "| %s | %s | %.3f | %s | %.2f | %.2f | %.1f | %.1f |\n", name, st, w, rate, cc, sc, cr / 1024, sr / 1024 }'
    done
done
case " $STACKS " in *" lwquic "*) case " $STACKS " in *" ngtcp2 "*)
    for cs in $CASES; do
        awk -v cs="$cs" '$2 == cs { w[$1] = $3 } END {
            printf "%s: lwquic/ngtcp2 wall-time ratio %.2f\n", cs == "big" ? "200 MB GET" : "10,000 small GETs", w["lwquic"] / w["ngtcp2"] }' \
            "$T/medians"
    done ;;
esac ;; esac
