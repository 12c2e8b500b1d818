#!/bin/sh
# Runs every src/app example against a local server and checks its output: the C examples
# (BUILD/examples: echo_server, echo_client, get) and the Python ones (examples/python: the seeds'
# README examples with their import line changed). usage: tests/app/examples.sh [BUILD]
# The seeds' examples use fixed ports (4433, 9090); when one is taken on this machine they are skipped.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d /tmp/lwq-examples.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
sh scripts/mkcert.sh "$T/certs" example.com
cp "$T/certs/server.pem" "$T/cert.pem"
cp "$T/certs/server.key" "$T/key.pem"
fail=0
check() { # name, file, expected text
    if grep -qF -- "$3" "$2"; then echo "ok   $1"; else echo "FAIL $1: expected '$3' in:"; cat "$2"; fail=1; fi
}
port_free() {
    $PY -c "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$1))" 2>/dev/null
}
free_port() {
    $PY -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}

# C: echo server and client
P=$(free_port)
"$BUILD/examples/echo_server" "$T/cert.pem" "$T/key.pem" "127.0.0.1:$P" > "$T/es.out" 2>&1 &
pids="$pids $!"
sleep 0.3
"$BUILD/examples/echo_client" "localhost:$P" "$T/certs/ca.pem" hello "over QUIC" > "$T/ec.out" 2>&1 || true
check "C echo_client" "$T/ec.out" "over QUIC"
"$BUILD/examples/echo_client" "localhost:$P" "$REPO/tests/data/certs/ca.pem" hi > "$T/ec2.out" 2>&1 || true
check "C echo_client refuses an untrusted certificate" "$T/ec2.out" "echo_client:"

# C: get from lwquic-server
mkdir -p "$T/www"
head -c 200000 /dev/urandom > "$T/www/blob"
echo '<h1>lwquic</h1>' > "$T/www/index.html"
P=$(free_port)
"$BUILD/bin/lwquic-server" --cert "$T/cert.pem" --key "$T/key.pem" --listen "127.0.0.1:$P" --root "$T/www" -q &
pids="$pids $!"
sleep 0.3
if "$BUILD/examples/get" "https://localhost:$P/blob" "$T/certs/ca.pem" > "$T/blob" 2> "$T/get.err" &&
    cmp -s "$T/blob" "$T/www/blob"; then echo "ok   C get (byte-exact)"; else echo "FAIL C get"; cat "$T/get.err"; fail=1; fi

# Python
export PYTHONPATH="$REPO/python" LWQUIC_LIB="$BUILD/lib/liblwquic.so"
cd "$T"
if port_free 4433; then
    $PY "$REPO/examples/python/pyquic_quickstart.py" > q.out 2>&1 || true
    check "pyquic quick start" q.out "How you doing?"
    $PY "$REPO/examples/python/pyquic_json.py" > j.out 2>&1 || true
    check "pyquic JSON handler, 10 concurrent" j.out "{'request': 9}"
else
    echo "skip pyquic examples: UDP port 4433 is in use"
fi
if port_free 9090; then
    "$BUILD/bin/lwquic-server" --cert "$T/cert.pem" --key "$T/key.pem" --listen 127.0.0.1:9090 --root "$T/www" -q &
    pids="$pids $!"
    sleep 0.3
    SSL_CERT_FILE="$T/certs/ca.pem" $PY "$REPO/examples/python/quicpro_get.py" > g.out 2>&1 || true
    check "quicpro GET with params and priority (verified)" g.out "Response: <Response [200]>"
    $PY "$REPO/examples/python/quicpro_demo.py" > d.out 2>&1 || true
    check "quicpro demo mode" d.out "Response Content: b'<h1>lwquic</h1>"
    $PY "$REPO/examples/python/quicpro_parallel.py" > p.out 2>&1 || true
    check "quicpro parallel threads" p.out "Response #5 - Status Code: 200"
    [ "$(grep -c 'Status Code: 200' p.out)" = 5 ] || { echo "FAIL quicpro parallel: not 5 answers"; fail=1; }
else
    echo "skip quicpro client examples: UDP port 9090 is in use"
fi
$PY "$REPO/examples/python/pdf_pipeline.py" > pdf.out 2>&1 || true
check "quicpro PDF pipeline on the event loop" pdf.out "PDF processing pipeline completed."
[ "$(grep -c 'Inserted into vector DB' pdf.out)" = 5 ] || { echo "FAIL pdf pipeline: not 5 sections"; fail=1; }
exit $fail
