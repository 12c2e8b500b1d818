#!/bin/sh
# Throwaway CA and a server certificate for localhost / 127.0.0.1 / ::1: scripts/mkcert.sh DIR [DNS-NAME]
# (DNS-NAME: one more name the certificate covers, e.g. example.com)
set -eu
d=$1
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
    -subj "/CN=lwquic throwaway CA" -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1%s\nbasicConstraints=CA:FALSE\n' "${2:+,DNS:$2}" > "$d/ext.cnf"
openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -out "$d/server.pem" \
    -days 2 -extfile "$d/ext.cnf" 2>/dev/null
rm -f "$d/server.csr" "$d/ext.cnf" "$d/ca.srl"
