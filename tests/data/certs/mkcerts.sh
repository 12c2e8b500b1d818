#!/bin/sh
# Regenerates the certificate and key fixtures of the tls tests. The output is
# checked in; the tests never run openssl. Usage: sh mkcerts.sh (in this directory).
set -eu
cd "$(dirname "$0")"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
START=20240101000000Z
END=20991231235959Z

cat > "$W/ext.cnf" <<'CNF'
[ca]
default_ca = ca_sect
[ca_sect]
database = $ENV::W/index.txt
new_certs_dir = $ENV::W
serial = $ENV::W/serial
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
organizationName = optional
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[inter_pl0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
[not_ca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, digitalSignature
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, DNS:server, DNS:*.example.test, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid
[leaf_wrongname]
basicConstraints = critical, CA:FALSE
subjectAltName = DNS:wrong.test, IP:10.9.8.7
[leaf_cnonly]
basicConstraints = critical, CA:FALSE
[leaf_critunknown]
basicConstraints = critical, CA:FALSE
subjectAltName = DNS:localhost
1.2.3.4.5.6.7 = critical, DER:05:00
CNF
export W

# sign NAME CN ISSUER EXT [START END MD SIGOPT...]: NAME.csr -> NAME.pem, signed by ISSUER(.pem/.key)
sign() {
    name=$1 cn=$2 issuer=$3 ext=$4 s=${5:-$START} e=${6:-$END} md=${7:-sha256}
    if [ $# -ge 7 ]; then shift 7; else shift $#; fi
    : > "$W/index.txt"
    openssl rand -hex 12 > "$W/serial"
    openssl req -new -key "$name.key" -subj "/CN=$cn/O=lwquic tests" -out "$W/$name.csr" -config "$W/ext.cnf"
    if [ "$issuer" = self ]; then
        set -- -selfsign -keyfile "$name.key" -cert /dev/null "$@"
    else
        set -- -keyfile "$issuer.key" -cert "$issuer.pem" "$@"
    fi
    openssl ca -batch -config "$W/ext.cnf" -notext -md "$md" -startdate "$s" -enddate "$e" \
        -extensions "$ext" -extfile "$W/ext.cnf" -in "$W/$name.csr" -out "$name.pem" "$@" 2>/dev/null
}
p256() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }

# Roots: ECDSA P-256 (the main CA), RSA 2048 (PKCS#1 v1.5 and PSS signatures), Ed25519, and one nobody trusts.
p256 ca; sign ca "lwquic Test Root CA" self root
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-ca.key 2>/dev/null
sign rsa-ca "lwquic Test RSA Root CA" self root
openssl genpkey -algorithm ED25519 -out ed-ca.key
sign ed-ca "lwquic Test Ed25519 Root CA" self root "$START" "$END" default
p256 other-ca; sign other-ca "lwquic Unknown CA" self root

# Leaves of the main CA, one per key type; keys in PKCS#8 (genpkey) plus SEC1/PKCS#1 and DER copies.
p256 server-ecdsa; sign server-ecdsa server ca leaf
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out server-p384.key
sign server-p384 server ca leaf "$START" "$END" sha384
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key 2>/dev/null
sign server-rsa server ca leaf
openssl genpkey -algorithm ED25519 -out server-ed25519.key; sign server-ed25519 server ca leaf
for k in ecdsa p384 rsa ed25519; do cat server-$k.pem ca.pem > server-$k-chain.pem; done
openssl ec -in server-ecdsa.key -out server-ecdsa-sec1.key 2>/dev/null
openssl ec -in server-ecdsa.key -outform DER -out server-ecdsa-sec1.der 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in server-ecdsa.key -outform DER -out server-ecdsa-pkcs8.der
openssl rsa -in server-rsa.key -traditional -out server-rsa-pkcs1.key 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in server-rsa.key -outform DER -out server-rsa-pkcs8.der
openssl pkcs8 -topk8 -nocrypt -in server-ed25519.key -outform DER -out server-ed25519-pkcs8.der
openssl x509 -in server-ecdsa.pem -outform DER -out server-ecdsa.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key 2>/dev/null

# Interop-runner style: `openssl ecparam -genkey` writes an EC PARAMETERS block before the key.
openssl ecparam -genkey -name prime256v1 -out runner.key
sign runner server ca leaf

# Signed by the RSA root: PKCS#1 v1.5 sha256 and sha384, RSASSA-PSS; by the Ed25519 root.
p256 server-rsaca; sign server-rsaca server rsa-ca leaf
p256 server-rsaca384; sign server-rsaca384 server rsa-ca leaf "$START" "$END" sha384
p256 server-pss; sign server-pss server rsa-ca leaf "$START" "$END" sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
p256 server-edca; sign server-edca server ed-ca leaf

# 9 certificates: root, 7 intermediates, leaf (chain9.pem is leaf first, then int7..int1).
p256 chain9-root; sign chain9-root "lwquic Chain9 Root" self root
prev=chain9-root
for i in 1 2 3 4 5 6 7; do
    p256 chain9-int$i; sign chain9-int$i "lwquic Chain9 Intermediate $i" $prev inter; prev=chain9-int$i
done
p256 chain9-leaf; sign chain9-leaf server chain9-int7 leaf
cat chain9-leaf.pem chain9-int7.pem chain9-int6.pem chain9-int5.pem chain9-int4.pem chain9-int3.pem \
    chain9-int2.pem chain9-int1.pem > chain9.pem
rm -f chain9-int*.key chain9-root.key chain9-leaf.pem chain9-int*.pem

# Negative fixtures.
p256 neg; cp neg.key neg-leaf.key
sign neg server ca leaf 20000101000000Z 20011231235959Z; mv neg.pem expired.pem
sign neg server ca leaf 20980101000000Z 20991231235959Z; mv neg.pem notyet.pem
sign neg server other-ca leaf; mv neg.pem unknownca.pem
sign neg server ca leaf_wrongname; mv neg.pem wrongname.pem
sign neg cnonly.test ca leaf_cnonly; mv neg.pem cnonly.pem
sign neg server ca leaf_critunknown; mv neg.pem critext.pem
sign neg server ca leaf "$START" "$END" sha1; mv neg.pem sha1.pem
sign neg server ca leaf; openssl x509 -in neg.pem -outform DER -out "$W/good.der"
python3 - "$W/good.der" badsig.der <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[-1] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
openssl x509 -inform DER -in badsig.der -out badsig.pem; rm -f badsig.der neg.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out neg.key
sign neg server ca leaf; mv neg.pem p521.pem
p256 notca-int; sign notca-int "lwquic Not A CA" ca not_ca
p256 neg; sign neg server notca-int leaf; cat neg.pem notca-int.pem > notca-chain.pem
p256 pl0-int; sign pl0-int "lwquic PathLen0 Intermediate" ca inter_pl0
p256 pl0-int2; sign pl0-int2 "lwquic Below PathLen0" pl0-int inter
sign neg server pl0-int2 leaf; cat neg.pem pl0-int2.pem pl0-int.pem > pathlen-chain.pem
rm -f neg.key neg.pem notca-int.key notca-int.pem pl0-int*.key pl0-int*.pem other-ca.key
openssl dsaparam -genkey -out dsa.key 2048 2>/dev/null

# Signatures made by openssl over msg.bin, for the known-answer checks of lwq_verify.
printf 'lwquic signature fixture: 64 bytes of 0x20 then a context string\n' > msg.bin
openssl dgst -sha256 -sign server-ecdsa.key -out sig-ecdsa-p256.bin msg.bin
openssl dgst -sha384 -sign server-p384.key -out sig-ecdsa-p384.bin msg.bin
openssl dgst -sha256 -sign server-rsa.key -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -sigopt rsa_mgf1_md:sha256 -out sig-rsa-pss256.bin msg.bin
openssl dgst -sha384 -sign server-rsa.key -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 \
    -sigopt rsa_mgf1_md:sha384 -out sig-rsa-pss384.bin msg.bin
openssl dgst -sha256 -sign server-rsa.key -out sig-rsa-pkcs1-256.bin msg.bin
openssl pkeyutl -sign -rawin -inkey server-ed25519.key -in msg.bin -out sig-ed25519.bin

# Parser limits: 128 SAN entries parse, 129 do not.
for n in 128 129; do
    printf '[san%s]\nsubjectAltName = ' $n > "$W/san.cnf"
    i=1; while [ $i -lt $n ]; do printf 'DNS:h%s.test, ' $i >> "$W/san.cnf"; i=$((i + 1)); done
    printf 'DNS:server\n' >> "$W/san.cnf"
    cat "$W/san.cnf" >> "$W/ext.cnf"
    p256 neg; sign neg server ca san$n; mv neg.pem san$n.pem; rm -f neg.key
done
