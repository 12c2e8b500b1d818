#!/usr/bin/env python3
"""Regenerates the vector files here from Debian's python3-cryptography-vectors
(apt-get install python3-cryptography-vectors). Output: 'Name = hex' records
separated by blank lines, read by tests/unit/test_crypto.c."""
V = '/usr/lib/python3/dist-packages/cryptography_vectors/'


def records(text, start=None):
    """Records split on blank lines, or on each `start` key when given."""
    recs, cur = [], {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('#'):
            continue
        if not line or line.startswith('['):
            if start is None and cur:
                recs.append(cur)
                cur = {}
            continue
        k, v = (s.strip() for s in line.split('=', 1))
        if start is not None and k == start and cur:
            recs.append(cur)
            cur = {}
        cur[k] = v
    if cur:
        recs.append(cur)
    return recs


def out(fname, recs, keys, head):
    with open(fname, 'w') as o:
        o.write(head)
        for r in recs:
            o.write('\n')
            for k in keys:
                o.write(('%s = %s' % (k, r[k])).rstrip() + '\n')


def gcm(fname):
    hdr, cur, recs = {}, {}, []
    for line in open(V + 'ciphers/AES/GCM/' + fname).read().splitlines():
        line = line.strip()
        if line.startswith('['):
            k, v = line[1:-1].split('=', 1)
            hdr[k.strip()] = v.strip()
            continue
        if not line or line.startswith('#'):
            if cur:
                cur.update({'_' + k: v for k, v in hdr.items()})
                recs.append(cur)
                cur = {}
            continue
        k, v = line.split('=', 1)
        cur[k.strip()] = v.strip()
    recs = [r for r in recs if r.get('_IVlen') == '96' and r.get('_Taglen') == '128' and 'Key' in r]
    seen, pick = set(), []
    for r in recs:
        if (r['_PTlen'], r['_AADlen']) not in seen:
            seen.add((r['_PTlen'], r['_AADlen']))
            pick.append(r)
    return pick


rs = []
for h, fn in (('SHA-256', 'rfc-4231-sha256.txt'), ('SHA-384', 'rfc-4231-sha384.txt')):
    for r in records(open(V + 'HMAC/' + fn).read()):
        r['Hash'] = h
        rs.append(r)
out('hmac_rfc4231.txt', rs, ['Hash', 'Key', 'Msg', 'MD'],
    '# RFC 4231 §4.2-§4.8 HMAC-SHA-256/384 (case 5, truncation, left out).\n')

rs = records(open(V + 'KDF/rfc-5869-HKDF-SHA256.txt').read(), start='COUNT')[:3]
out('hkdf_rfc5869.txt', rs, ['IKM', 'salt', 'info', 'L', 'PRK', 'OKM'], '# RFC 5869 Appendix A.1-A.3 (HKDF-SHA-256).\n')

rs = []
for h, fn in (('SHA-256', 'SHA256ShortMsg.rsp'), ('SHA-384', 'SHA384ShortMsg.rsp'), ('SHA-256', 'SHA256LongMsg.rsp'),
              ('SHA-384', 'SHA384LongMsg.rsp')):
    recs = [r for r in records(open(V + 'hashes/SHA2/' + fn).read()) if 'Len' in r]
    pick = [r for r in recs if int(r['Len']) in (0, 8, 440, 448, 512, 1016, 1024)] if 'Short' in fn else recs[:2]
    for r in pick:
        r['Hash'] = h
        if r['Len'] == '0':
            r['Msg'] = ''
        rs.append(r)
out('sha2_nist.txt', rs, ['Hash', 'Len', 'Msg', 'MD'],
    '# NIST CAVP SHA-2 byte-oriented ShortMsg/LongMsg, a subset (Len in bits).\n')

out('aes_gcm_nist.txt', gcm('gcmEncryptExtIV128.rsp') + gcm('gcmEncryptExtIV256.rsp'),
    ['Key', 'IV', 'PT', 'AAD', 'CT', 'Tag'],
    '# NIST CAVP gcmEncryptExtIV128/256: the first case of each PT/AAD length, 96-bit IV, 128-bit tag.\n')

rs = []
for r in records(open(V + 'ciphers/ChaCha20Poly1305/boringssl.txt').read(), start='COUNT'):
    r = {k: v for k, v in r.items()}
    if 'KEY' not in r or len(r['NONCE']) != 24:
        continue
    for k in ('IN', 'AD'):
        if r[k].startswith('"'):
            r[k] = r[k].strip('"').encode().hex()
    rs.append(r)
out('chacha20poly1305.txt', rs[:12], ['KEY', 'NONCE', 'IN', 'AD', 'CT', 'TAG'],
    "# The first is RFC 8439 §2.8.2; the rest are from BoringSSL's chacha20_poly1305 tests.\n")

rs = [r for r in records(open(V + 'asymmetric/X25519/rfc7748.txt').read()) if 'INPUT_SCALAR' in r]
out('x25519_rfc7748.txt', rs, ['INPUT_SCALAR', 'INPUT_U', 'OUTPUT_U'], '# RFC 7748 §5.2 scalar multiplication vectors.\n')
