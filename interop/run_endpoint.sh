#!/bin/bash
# lwquic endpoint for the QUIC interop runner (docs/interop.md): ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE,
# QLOGDIR as the runner sets them. The container paths can be overridden so the same script runs on
# loopback: WWW, DOWNLOADS, CERTS, LOGS, BIN (directory of lwquic-server/lwquic-client), PORT (443),
# RESOLVE (client: extra --resolve flags), PREFERRED_ADDRESS / PREFERRED_ADDRESS6 / PREFERRED_LISTEN (server,
# connectionmigration), SERVER_PARAMS / CLIENT_PARAMS (appended as is), H3_ONLY=1 (every case over h3, for
# peers that speak only h3). Exit 127 for a TESTCASE lwquic does not implement.
set -u
WWW=${WWW:-/www}
DOWNLOADS=${DOWNLOADS:-/downloads}
CERTS=${CERTS:-/certs}
LOGS=${LOGS:-/logs}
BIN=${BIN:-/usr/local/bin}
PORT=${PORT:-443}
TESTCASE=${TESTCASE:-}
ROLE=${ROLE:-}
SERVER=$BIN/lwquic-server
CLIENT=$BIN/lwquic-client

# A flag exists when the binary's --help names it; a case needing a missing flag is unsupported.
has_flag() { "$1" --help 2>&1 | grep -q -- "$2\\b"; }
need() { has_flag "$1" "$2" || { echo "run_endpoint: $TESTCASE needs $2, not in this build" >&2; exit 127; }; }

server_flags() {
    FLAGS=(--listen "[::]:$PORT" --root "$WWW" --cert "$CERTS/cert.pem" --key "$CERTS/priv.key" -q)
    case $TESTCASE in
    handshake | transfer | multiconnect | resumption) ;;
    retry) FLAGS+=(--retry) ;;
    http3) "$SERVER" --help 2>&1 | grep -q 'h3' || { echo "run_endpoint: no h3 in this server" >&2; exit 127; } ;;
    chacha20) ;; # the client offers only TLS_CHACHA20_POLY1305_SHA256; the server accepts every suite
    zerortt)
        need "$SERVER" --early-data
        FLAGS+=(--early-data) ;;
    ecn)
        has_flag "$SERVER" --ecn && FLAGS+=(--ecn) ;;
    v2)
        need "$SERVER" --accept-v2
        FLAGS+=(--accept-v2) ;;
    connectionmigration)
        need "$SERVER" --preferred-address
        # The runner's server addresses on port 4433 (RFC 9000 §9.6); on loopback the relay's second front
        # port is advertised while the server listens on PREFERRED_LISTEN behind it.
        FLAGS+=(--preferred-address "${PREFERRED_ADDRESS:-193.167.100.100:4433}"
            --preferred-address "${PREFERRED_ADDRESS6:-[fd00:cafe:cafe:100::100]:4433}")
        [ -n "${PREFERRED_LISTEN:-}" ] && FLAGS+=(--preferred-listen "$PREFERRED_LISTEN") ;;
    *) echo "run_endpoint: unsupported server test case '$TESTCASE'" >&2; exit 127 ;;
    esac
    if [ "${H3_ONLY:-}" = 1 ] && ! "$SERVER" --help 2>&1 | grep -q 'h3'; then
        echo "run_endpoint: no h3 in this server" >&2
        exit 127
    fi
}

# Sets FLAGS for one client run; MODE: plain, multi (one connection per URL), resume (first URL, then the rest).
client_flags() {
    FLAGS=(-sS --insecure --output-dir "$DOWNLOADS" --remote-name-all --connect-timeout 60)
    MODE=plain
    SECOND=() # flags for the resumed connection only
    case $TESTCASE in
    handshake | transfer | retry) ;;
    multiconnect)
        MODE=multi
        FLAGS=(-sS --insecure --output-dir "$DOWNLOADS" --remote-name-all --connect-timeout 180) ;;
    http3)
        has_flag "$CLIENT" --alpn || exit 127
        "$CLIENT" --help 2>&1 | grep -q 'h3' || { echo "run_endpoint: no h3 in this client" >&2; exit 127; }
        FLAGS+=(--alpn h3) ;;
    chacha20)
        need "$CLIENT" --ciphers
        FLAGS+=(--ciphers TLS_CHACHA20_POLY1305_SHA256) ;;
    resumption)
        need "$CLIENT" --session-file
        MODE=resume ;;
    zerortt)
        need "$CLIENT" --session-file
        need "$CLIENT" --early-data
        MODE=resume
        SECOND=(--early-data) ;;
    keyupdate)
        need "$CLIENT" --key-update
        FLAGS+=(--key-update) ;;
    ecn)
        has_flag "$CLIENT" --ecn && FLAGS+=(--ecn) ;;
    v2)
        need "$CLIENT" --v2
        FLAGS+=(--v2) ;;
    *) echo "run_endpoint: unsupported client test case '$TESTCASE'" >&2; exit 127 ;;
    esac
    if [ "${H3_ONLY:-}" = 1 ]; then
        "$CLIENT" --help 2>&1 | grep -q 'h3' || { echo "run_endpoint: no h3 in this client" >&2; exit 127; }
        FLAGS+=(--alpn h3)
    elif [ "$TESTCASE" != http3 ]; then
        FLAGS+=(--alpn hq-interop)
    fi
    for r in ${RESOLVE:-}; do FLAGS+=(--resolve "$r"); done
}

case $ROLE in
server) server_flags ;;
client) client_flags ;;
*) echo "run_endpoint: ROLE must be client or server" >&2; exit 1 ;;
esac

# The runner's base image: routes through the simulator, /logs/qlog. Absent outside docker.
[ -x /setup.sh ] && /setup.sh
mkdir -p "$LOGS" 2>/dev/null
export SSLKEYLOGFILE=${SSLKEYLOGFILE:-} QLOGDIR=${QLOGDIR:-}
[ -n "$QLOGDIR" ] && mkdir -p "$QLOGDIR"

if [ "$ROLE" = server ]; then
    # shellcheck disable=SC2086
    exec "$SERVER" "${FLAGS[@]}" ${SERVER_PARAMS:-}
fi

[ -x /wait-for-it.sh ] && /wait-for-it.sh sim:57832 -s -t 30
read -r -a urls <<< "${REQUESTS:-}"
[ ${#urls[@]} -gt 0 ] || { echo "run_endpoint: REQUESTS is empty" >&2; exit 1; }
mkdir -p "$DOWNLOADS"
case $MODE in
plain)
    # shellcheck disable=SC2086
    exec "$CLIENT" "${FLAGS[@]}" ${CLIENT_PARAMS:-} "${urls[@]}" ;;
multi)
    # One connection per file, never abandoned and restarted (every attempt counts as a handshake).
    for u in "${urls[@]}"; do
        # shellcheck disable=SC2086
        "$CLIENT" "${FLAGS[@]}" ${CLIENT_PARAMS:-} "$u" || exit 1
    done ;;
resume)
    # The session ticket lives outside DOWNLOADS: only the fetched files may appear there.
    ticket=$(mktemp "${TMPDIR:-/tmp}/lwquic-ticket.XXXXXX")
    trap 'rm -f "$ticket"' EXIT
    if has_flag "$CLIENT" --resume; then
        # One process: URL 1 on a full handshake, waiting for the ticket, the rest on the resumed connection.
        # shellcheck disable=SC2086
        "$CLIENT" "${FLAGS[@]}" "${SECOND[@]}" ${CLIENT_PARAMS:-} --session-file "$ticket" --resume "${urls[@]}" || exit 1
        exit 0
    fi
    # shellcheck disable=SC2086
    "$CLIENT" "${FLAGS[@]}" ${CLIENT_PARAMS:-} --session-file "$ticket" "${urls[0]}" || exit 1
    [ ${#urls[@]} -gt 1 ] || exit 0
    # shellcheck disable=SC2086
    "$CLIENT" "${FLAGS[@]}" "${SECOND[@]}" ${CLIENT_PARAMS:-} --session-file "$ticket" "${urls[@]:1}" || exit 1 ;;
esac
exit 0
