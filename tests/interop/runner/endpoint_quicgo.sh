#!/bin/bash
# The quic-go 0.29 peer (tests/interop/quicgo) behind the runner's endpoint contract, with the same
# environment as interop/run_endpoint.sh (ROLE, TESTCASE, REQUESTS, WWW, DOWNLOADS, CERTS, PORT, RESOLVE,
# H3_ONLY, SSLKEYLOGFILE) and PEER naming the binary. quic-go 0.29 has no API for a client key update,
# a cipher suite choice under TLS 1.3, v2 or connection migration to a preferred address: those exit 127.
set -u
PEER=${PEER:-build/interop/quicgo-peer}
# a missing peer is an error, not 127: "unsupported" would hide it
[ -x "$PEER" ] || { echo "endpoint_quicgo.sh: $PEER: not built (tests/interop/build_peer.sh)" >&2; exit 1; }
WWW=${WWW:-/www} DOWNLOADS=${DOWNLOADS:-/downloads} CERTS=${CERTS:-/certs} PORT=${PORT:-443}
alpn=hq-interop
[ "${TESTCASE:-}" = http3 ] || [ "${H3_ONLY:-}" = 1 ] && alpn=h3
if [ "${ROLE:-}" = server ]; then
    flags=()
    case ${TESTCASE:-} in
    handshake | transfer | multiconnect | resumption | http3 | chacha20) ;;
    retry) flags+=(--retry) ;;
    zerortt) flags+=(--0rtt) ;;
    *) exit 127 ;;
    esac
    exec "$PEER" server --listen "[::]:$PORT" --root "$WWW" --cert "$CERTS/cert.pem" --key "$CERTS/priv.key" \
        --alpn "$alpn" "${flags[@]}"
fi
[ "${ROLE:-}" = client ] || exit 1
flags=()
case ${TESTCASE:-} in
handshake | transfer | retry | http3) ;;
multiconnect) flags+=(--multiconnect --handshake-timeout 180s) ;;
resumption) flags+=(--resume) ;;
zerortt) flags+=(--0rtt) ;;
*) exit 127 ;;
esac
[ "$alpn" = h3 ] && [ ${#flags[@]} -gt 0 ] && exit 127
read -r -a urls <<< "${REQUESTS:-}"
mkdir -p "$DOWNLOADS"
exec "$PEER" client --cafile "$CERTS/ca.pem" -o "$DOWNLOADS" --alpn "$alpn" --resolve "$(echo ${RESOLVE:-} | tr ' ' ',')" \
    "${flags[@]}" "${urls[@]}"
