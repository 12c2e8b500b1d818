#!/bin/sh
# Certificates as the interop runner makes them: tests/interop/runner/certs.sh DIR CHAINLEN
# DIR/ca.pem is the root; DIR/cert.pem the chain leaf first without the root; DIR/priv.key the leaf's
# P-256 key as `openssl ecparam -genkey` writes it (EC PARAMETERS, then a SEC1 EC PRIVATE KEY).
# Everything is signed ecdsa-with-SHA256. With CHAINLEN > 1 the leaf carries 20 extra random
# 250-character DNS names, as for the amplificationlimit test (about 9.7 KB of DER for 9).
set -eu
d=$1
n=${2:-1}
mkdir -p "$d"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
printf '[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$t/ca.cnf"
openssl ecparam -name prime256v1 -genkey -out "$t/k0.pem" 2>/dev/null
openssl req -x509 -sha256 -nodes -days 10 -key "$t/k0.pem" -out "$d/ca.pem" \
    -subj "/O=interop runner Root Certificate Authority/" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
cp "$d/ca.pem" "$t/c0.pem"
i=1
while [ "$i" -lt "$n" ]; do
    openssl ecparam -name prime256v1 -genkey -out "$t/k$i.pem" 2>/dev/null
    openssl req -new -sha256 -key "$t/k$i.pem" -out "$t/r$i.csr" -subj "/O=interop runner intermediate $i/" 2>/dev/null
    openssl x509 -req -sha256 -days 10 -in "$t/r$i.csr" -CA "$t/c$((i - 1)).pem" -CAkey "$t/k$((i - 1)).pem" \
        -CAcreateserial -out "$t/c$i.pem" -extfile "$t/ca.cnf" -extensions v3_ca 2>/dev/null
    i=$((i + 1))
done
san="DNS:server,DNS:server4,DNS:server6,DNS:server46"
if [ "$n" -gt 1 ]; then
    j=0
    while [ $j -lt 20 ]; do
        san="$san,DNS:$(head -c 4000 /dev/urandom | tr -dc 'a-z' | head -c 250)"
        j=$((j + 1))
    done
fi
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$san" > "$t/leaf.cnf"
openssl ecparam -name prime256v1 -genkey -out "$d/priv.key" 2>/dev/null
openssl req -new -sha256 -key "$d/priv.key" -out "$t/leaf.csr" -subj "/O=interop runner leaf/" 2>/dev/null
openssl x509 -req -sha256 -days 10 -in "$t/leaf.csr" -CA "$t/c$((n - 1)).pem" -CAkey "$t/k$((n - 1)).pem" \
    -CAcreateserial -out "$t/leaf.pem" -extfile "$t/leaf.cnf" 2>/dev/null
cp "$t/leaf.pem" "$d/cert.pem"
i=$((n - 1))
while [ "$i" -ge 1 ]; do
    cat "$t/c$i.pem" >> "$d/cert.pem"
    i=$((i - 1))
done
