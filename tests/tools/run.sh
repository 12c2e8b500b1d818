#!/bin/sh
# The learning tools on loopback: a real HTTP/3 fetch with --explain and --qlog-dir on both sides; the
# explained trace is checked against each side's qlog (tests/tools/check_explain.py) and both qlogs
# against the fields qvis reads (check_qvis.py); a download through lwquic-netsim with 5 % loss, whose
# explained loss decisions are checked against the server's qlog; a plot. usage: tests/tools/run.sh BUILD
set -u
B=${1:-build}
W=$B/tools-run
PY=/usr/bin/python3
rm -rf "$W" && mkdir -p "$W/www" "$W/out" "$W/qlog"
sh scripts/mkcert.sh "$W/certs" > /dev/null 2>&1 || { echo "tools: mkcert failed"; exit 1; }
. tests/interop/common.sh
printf 'hello, QUIC learner\n' > "$W/www/index.html"
head -c 30000 /dev/urandom > "$W/www/blob"
port=$((30000 + $$ % 20000))
start_server "$port" "$W/server.log" --explain --qlog-dir "$W/qlog" || { cat "$W/server.log"; exit 1; }
"$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$port" --output-dir "$W/out" --remote-name-all \
    --explain --qlog-dir "$W/qlog" "https://localhost:$port/index.html" "https://localhost:$port/blob" 2> "$W/client.log"
rc=$?
sleep 0.3
kill "$server_pid" 2> /dev/null
wait "$server_pid" 2> /dev/null
[ $rc -eq 0 ] && cmp -s "$W/out/blob" "$W/www/blob" || { echo "tools: the fetch failed"; tail -5 "$W/client.log"; exit 1; }
cq=$(ls "$W"/qlog/*_client.sqlog) && sq=$(ls "$W"/qlog/*_server.sqlog) || { echo "tools: no qlogs"; exit 1; }
$PY tests/tools/check_qvis.py --h3 "$cq" "$sq" &&
    $PY tests/tools/check_explain.py client "$W/client.log" "$cq" &&
    $PY tests/tools/check_explain.py server "$W/server.log" "$sq" || exit 1
echo "tools: --explain and qlog checks passed"

# Retry: the client's explained trace names the Retry and still explains everything its qlog saw.
mkdir -p "$W/qlog-retry"
port=$((port + 4))
start_server "$port" "$W/server-retry.log" --retry || exit 1
"$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$port" --output-dir "$W/out" --remote-name-all \
    --explain --qlog-dir "$W/qlog-retry" "https://localhost:$port/index.html" 2> "$W/client-retry.log"
rc=$?
kill "$server_pid" 2> /dev/null
wait "$server_pid" 2> /dev/null
[ $rc -eq 0 ] && grep -q "received a Retry packet, .*\[RFC 9000 §17.2.5, §8.1.2\]" "$W/client-retry.log" ||
    { echo "tools: Retry not explained"; tail -5 "$W/client-retry.log"; exit 1; }
$PY tests/tools/check_explain.py client "$W/client-retry.log" "$W"/qlog-retry/*_client.sqlog || exit 1
echo "tools: Retry explained"

# Loss: a download through lwquic-netsim dropping 5 % both ways; the server's explained losses against its qlog.
mkdir -p "$W/qlog-lossy"
head -c 400000 /dev/urandom > "$W/www/lossy"
port=$((port + 2))
start_server "$port" "$W/server-lossy.log" --explain --qlog-dir "$W/qlog-lossy" || exit 1
"$B/bin/lwquic-netsim" --listen $((port + 1)) --server "$port" --delay 10 --rate 20 --drop 5 --seed 3 -q 2> "$W/netsim.log" &
netsim_pid=$!
sleep 0.3
"$B/bin/lwquic-client" --cacert "$W/certs/ca.pem" --resolve "localhost=127.0.0.1:$((port + 1))" --output-dir "$W/out" --remote-name-all \
    --qlog-dir "$W/qlog-lossy" "https://localhost:$((port + 1))/lossy" 2> "$W/client-lossy.log"
rc=$?
sleep 0.3
kill "$server_pid" "$netsim_pid" 2> /dev/null
wait "$server_pid" "$netsim_pid" 2> /dev/null
[ $rc -eq 0 ] && cmp -s "$W/out/lossy" "$W/www/lossy" || { echo "tools: the lossy fetch failed"; tail -5 "$W/client-lossy.log"; exit 1; }
$PY tests/tools/check_explain.py server "$W/server-lossy.log" "$W"/qlog-lossy/*_server.sqlog --lossy || exit 1
"$B/bin/lwquic-qlog" plot "$sq" -o "$W/server.svg" 2> "$W/plot.log" || { cat "$W/plot.log"; exit 1; }
$PY - "$W/server.svg" <<'PYEOF' || exit 1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
for want in ("1-RTT packets", "congestion window", "RTT estimates", "pacing rate"):
    assert want in texts, "plot lacks the panel " + want
assert len(list(root.iter(ns + "circle"))) > 20, "plot has too few packet marks"
assert len(list(root.iter(ns + "polyline"))) >= 4, "plot lacks its metric lines"
print(sys.argv[1] + ": four panels, %d packet marks" % len(list(root.iter(ns + "circle"))))
PYEOF
echo "tools: lwquic-qlog plot passed"
