#!/bin/sh
# Seeds fuzz/corpus/x509 and fuzz/corpus/privkey from the fixtures here: every certificate
# as DER, a few PEM chains, and hand-made mutations (cut, bad lengths, flipped tags).
set -eu
cd "$(dirname "$0")"
X=../../../fuzz/corpus/x509
K=../../../fuzz/corpus/privkey
rm -rf "$X" "$K"; mkdir -p "$X" "$K"
for f in ca rsa-ca ed-ca server-ecdsa server-p384 server-rsa server-ed25519 server-rsaca server-rsaca384 \
         server-pss server-edca runner chain9-root expired notyet wrongname cnonly critext sha1 badsig p521; do
    openssl x509 -in $f.pem -outform DER -out "$X/$f.der"
done
cp server-ecdsa-chain.pem chain9.pem notca-chain.pem pathlen-chain.pem "$X/"
cat chain9.pem chain9-root.pem > "$X/chain9-full.pem"
cat server-pss.pem rsa-ca.pem > "$X/pss-chain.pem"
cat server-rsaca384.pem rsa-ca.pem > "$X/rsaca384-chain.pem"
cat server-edca.pem ed-ca.pem > "$X/edca-chain.pem"
cat expired.pem ca.pem > "$X/expired-chain.pem"
python3 - "$X" <<'PY'
import sys, os
d = sys.argv[1]
leaf = open(os.path.join(d, 'server-ecdsa.der'), 'rb').read()
pss = open(os.path.join(d, 'server-pss.der'), 'rb').read()
muts = {
    'cut-half': leaf[:len(leaf) // 2],
    'cut-last': leaf[:-1],
    'trailing': leaf + b'\x00\x00',
    'len-long': leaf[:2] + bytes([leaf[2], (leaf[3] + 1) & 0xff]) + leaf[4:],
    'indefinite': b'\x30\x80' + leaf[4:],
    'tag-set': b'\x31' + leaf[1:],
    'pss-cut-params': pss[:60],
    'pss-flip-mid': pss[:len(pss) // 3] + bytes([pss[len(pss) // 3] ^ 0xff]) + pss[len(pss) // 3 + 1:],
    'empty': b'',
    'pem-junk': b'-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n',
}
for name, data in muts.items():
    open(os.path.join(d, name + '.der'), 'wb').write(data)
PY
cp server-ecdsa.key server-ecdsa-sec1.der server-ecdsa-pkcs8.der runner.key server-p384.key \
   server-rsa-pkcs1.key server-ed25519.key server-ed25519-pkcs8.der dsa.key "$K/"
head -c 40 server-ed25519-pkcs8.der > "$K/ed25519-cut.der"
