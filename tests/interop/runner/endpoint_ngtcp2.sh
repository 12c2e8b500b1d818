#!/bin/bash
# Debian's ngtcp2 0.12 examples (gtlsserver / gtlsclient, GnuTLS) behind the runner's endpoint contract,
# with the environment of interop/run_endpoint.sh. They speak only h3, so every case runs over h3.
# Unsupported (127): connectionmigration as server (gtlsserver advertises a preferred address only on a
# port it binds itself, which the relay's second front port cannot map), v2 in both roles (0.12 knows
# only the v2 draft, 0x709a50c4: its --preferred-versions aliases are "v1" and "v2draft", not RFC 9369's
# 0x6b3343cf).
set -u
# missing examples are an error, not 127: "unsupported" would hide them
for b in gtlsserver gtlsclient; do
    command -v $b > /dev/null || { echo "endpoint_ngtcp2.sh: $b not installed (scripts/deps.sh interop)" >&2; exit 1; }
done
WWW=${WWW:-/www} DOWNLOADS=${DOWNLOADS:-/downloads} CERTS=${CERTS:-/certs} PORT=${PORT:-443}
common=(-q --no-quic-dump --no-http-dump)
[ -n "${QLOGDIR:-}" ] && mkdir -p "$QLOGDIR" && common+=(--qlog-dir "$QLOGDIR")
if [ "${ROLE:-}" = server ]; then
    flags=()
    case ${TESTCASE:-} in
    handshake | transfer | multiconnect | resumption | zerortt | http3 | ecn) ;;
    retry) flags+=(-V) ;;
    chacha20) flags+=(--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305) ;;
    *) exit 127 ;;
    esac
    exec gtlsserver "${common[@]}" "${flags[@]}" -d "$WWW" --handshake-timeout=180s '*' "$PORT" \
        "$CERTS/priv.key" "$CERTS/cert.pem"
fi
[ "${ROLE:-}" = client ] || exit 1
flags=(--exit-on-all-streams-close --download "$DOWNLOADS" --handshake-timeout=180s)
mode=plain
case ${TESTCASE:-} in
handshake | transfer | retry | http3 | ecn) ;;
multiconnect) mode=multi ;;
resumption | zerortt) mode=resume ;;
chacha20) flags+=(--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305) ;;
keyupdate) flags+=(--key-update=1ms) ;;
*) exit 127 ;;
esac
read -r -a urls <<< "${REQUESTS:-}"
mkdir -p "$DOWNLOADS"
host=${urls[0]#https://}
host=${host%%[:/]*}
addr=$host port=443
for r in ${RESOLVE:-}; do
    if [ "${r%%=*}" = "$host" ]; then
        a=${r#*=}
        port=${a##*:}
        addr=${a%:*}
        addr=${addr#[}
        addr=${addr%]}
    fi
done
case $mode in
plain) exec gtlsclient "${common[@]}" "${flags[@]}" "$addr" "$port" "${urls[@]}" ;;
multi)
    for u in "${urls[@]}"; do
        gtlsclient "${common[@]}" "${flags[@]}" "$addr" "$port" "$u" || exit 1
    done ;;
resume)
    t=$(mktemp -d)
    trap 'rm -rf "$t"' EXIT
    gtlsclient "${common[@]}" "${flags[@]}" --session-file "$t/s" --tp-file "$t/tp" "$addr" "$port" "${urls[0]}" \
        || exit 1
    [ ${#urls[@]} -gt 1 ] || exit 0
    gtlsclient "${common[@]}" "${flags[@]}" --session-file "$t/s" --tp-file "$t/tp" "$addr" "$port" \
        "${urls[@]:1}" || exit 1 ;;
esac
