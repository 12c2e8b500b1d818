#include <string.h>
#include <arpa/inet.h>
#include "base/mem.h"
#include "tls/x509.h"

#define OID_EXT(x) "\x55\x1d" x
static const char OID_RSA_SHA256[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b";
static const char OID_RSA_SHA384[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c";
static const char OID_RSA_PSS[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a";
static const char OID_MGF1[] = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08";
static const char OID_ECDSA_SHA256[] = "\x2a\x86\x48\xce\x3d\x04\x03\x02";
static const char OID_ECDSA_SHA384[] = "\x2a\x86\x48\xce\x3d\x04\x03\x03";
static const char OID_ED25519[] = "\x2b\x65\x70";
static const char OID_SHA256[] = "\x60\x86\x48\x01\x65\x03\x04\x02\x01";
static const char OID_SHA384[] = "\x60\x86\x48\x01\x65\x03\x04\x02\x02";
static const char OID_CN[] = "\x55\x04\x03";
static const char OID_AIA[] = "\x2b\x06\x01\x05\x05\x07\x01\x01";
static const char OID_SCT[] = "\x2b\x06\x01\x04\x01\xd6\x79\x02\x04\x02";

/* hashAlgorithm / MGF1 parameter: AlgorithmIdentifier of SHA-256 or SHA-384 with NULL or absent parameters. */
static int parse_hash_alg(const lwq_der_tlv *ai, lwq_hash_alg *h, int *known)
{
    lwq_der_reader r;
    lwq_der_tlv oid, params;
    if (ai->tag != LWQ_DER_SEQUENCE)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&r, ai);
    if (lwq_der_expect(&r, LWQ_DER_OID, &oid) < 0 || lwq_der_optional(&r, LWQ_DER_NULL, &params) < 0 ||
        !lwq_der_at_end(&r))
        return LWQ_ERR_DECODE;
    if (LWQ_DER_OID_IS(&oid, OID_SHA256))
        *h = LWQ_HASH_SHA256;
    else if (LWQ_DER_OID_IS(&oid, OID_SHA384))
        *h = LWQ_HASH_SHA384;
    else
        *known = 0;
    return 0;
}

/* RFC 4055 §3.1: RSASSA-PSS-params; SHA-1 defaults leave the algorithm unknown. */
static int parse_pss_params(lwq_der_reader *r, lwq_x509_sig *s)
{
    lwq_der_tlv seq, t, inner, mgf_oid, mgf_hash;
    lwq_der_reader pr, er, mr;
    int known = 1, rc, has_hash = 0, has_mgf = 0;
    uint64_t v;
    s->salt_len = 20;
    if (lwq_der_expect(r, LWQ_DER_SEQUENCE, &seq) < 0)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&pr, &seq);
    for (int i = 0; i < 4; i++) {
        if ((rc = lwq_der_optional(&pr, LWQ_DER_CTX(i), &t)) < 0)
            return rc;
        if (rc == 0)
            continue;
        lwq_der_enter(&er, &t);
        if (lwq_der_next(&er, &inner) < 0 || !lwq_der_at_end(&er))
            return LWQ_ERR_DECODE;
        if (i == 0) {
            has_hash = 1;
            rc = parse_hash_alg(&inner, &s->hash, &known);
        } else if (i == 1) {
            has_mgf = 1;
            if (inner.tag != LWQ_DER_SEQUENCE)
                return LWQ_ERR_DECODE;
            lwq_der_enter(&mr, &inner);
            if (lwq_der_expect(&mr, LWQ_DER_OID, &mgf_oid) < 0 || lwq_der_next(&mr, &mgf_hash) < 0 ||
                !lwq_der_at_end(&mr))
                return LWQ_ERR_DECODE;
            if (!LWQ_DER_OID_IS(&mgf_oid, OID_MGF1))
                known = 0;
            rc = parse_hash_alg(&mgf_hash, &s->mgf_hash, &known);
        } else {
            rc = lwq_der_get_uint(&inner, &v);
            if (rc == 0 && i == 2)
                s->salt_len = v <= 512 ? (unsigned)v : 512;
            if (rc == 0 && i == 3 && v != 1)
                return LWQ_ERR_DECODE;
        }
        if (rc < 0)
            return rc;
    }
    if (!lwq_der_at_end(&pr))
        return LWQ_ERR_DECODE;
    if (!has_hash || !has_mgf || !known)
        s->kind = LWQ_X509_SIG_UNKNOWN;
    return 0;
}

static int parse_sig_alg(const lwq_der_tlv *ai, lwq_x509_sig *s)
{
    lwq_der_reader r;
    lwq_der_tlv oid, params;
    memset(s, 0, sizeof(*s));
    if (ai->tag != LWQ_DER_SEQUENCE)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&r, ai);
    if (lwq_der_expect(&r, LWQ_DER_OID, &oid) < 0)
        return LWQ_ERR_DECODE;
    /* RFC 4055 §5 (NULL parameters), RFC 5758 §3.2 and RFC 8410 §3 (absent) */
    if (LWQ_DER_OID_IS(&oid, OID_RSA_SHA256) || LWQ_DER_OID_IS(&oid, OID_RSA_SHA384)) {
        s->kind = LWQ_X509_SIG_RSA_PKCS1;
        s->hash = LWQ_DER_OID_IS(&oid, OID_RSA_SHA384) ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
        if (lwq_der_optional(&r, LWQ_DER_NULL, &params) < 0)
            return LWQ_ERR_DECODE;
    } else if (LWQ_DER_OID_IS(&oid, OID_ECDSA_SHA256) || LWQ_DER_OID_IS(&oid, OID_ECDSA_SHA384)) {
        s->kind = LWQ_X509_SIG_ECDSA;
        s->hash = LWQ_DER_OID_IS(&oid, OID_ECDSA_SHA384) ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
    } else if (LWQ_DER_OID_IS(&oid, OID_ED25519)) {
        s->kind = LWQ_X509_SIG_ED25519;
    } else if (LWQ_DER_OID_IS(&oid, OID_RSA_PSS)) {
        s->kind = LWQ_X509_SIG_RSA_PSS;
        int rc = parse_pss_params(&r, s);
        if (rc < 0)
            return rc;
    } else {
        return 0; /* unknown: skip the parameters */
    }
    return lwq_der_at_end(&r) ? 0 : LWQ_ERR_DECODE;
}

/* RFC 5280 §4.1.2.4: Name ::= SEQUENCE OF SET OF AttributeTypeAndValue. */
static int parse_name(const lwq_der_tlv *name, const uint8_t **cn, size_t *cnlen)
{
    lwq_der_reader r, set, atv;
    lwq_der_tlv rdn, a, oid, val;
    int attrs = 0;
    if (name->tag != LWQ_DER_SEQUENCE)
        return LWQ_ERR_DECODE;
    if (cn)
        *cn = NULL;
    lwq_der_enter(&r, name);
    while (!lwq_der_at_end(&r)) {
        if (lwq_der_expect(&r, LWQ_DER_SET, &rdn) < 0 || rdn.len == 0)
            return LWQ_ERR_DECODE;
        lwq_der_enter(&set, &rdn);
        while (!lwq_der_at_end(&set)) {
            if (++attrs > LWQ_X509_MAX_NAME_ATTRS)
                return LWQ_ERR_LIMIT;
            if (lwq_der_expect(&set, LWQ_DER_SEQUENCE, &a) < 0)
                return LWQ_ERR_DECODE;
            lwq_der_enter(&atv, &a);
            if (lwq_der_expect(&atv, LWQ_DER_OID, &oid) < 0 || lwq_der_next(&atv, &val) < 0 ||
                !lwq_der_at_end(&atv))
                return LWQ_ERR_DECODE;
            if (cn && !*cn && LWQ_DER_OID_IS(&oid, OID_CN) &&
                (val.tag == LWQ_DER_UTF8_STRING || val.tag == LWQ_DER_PRINTABLE_STRING ||
                 val.tag == LWQ_DER_IA5_STRING || val.tag == LWQ_DER_T61_STRING)) {
                *cn = val.val;
                *cnlen = val.len;
            }
        }
    }
    return 0;
}

/* RFC 5280 §4.2.1.6 */
static int parse_san(lwq_x509 *x, const uint8_t *p, size_t n)
{
    lwq_der_reader r, names;
    lwq_der_tlv seq, gn;
    int count = 0;
    lwq_der_reader_init(&r, p, n);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &seq) < 0 || !lwq_der_at_end(&r) || seq.len == 0)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&names, &seq);
    while (!lwq_der_at_end(&names)) {
        if (++count > LWQ_X509_MAX_SAN)
            return LWQ_ERR_LIMIT;
        if (lwq_der_next(&names, &gn) < 0 || (gn.tag & 0xc0) != 0x80)
            return LWQ_ERR_DECODE;
        if (gn.tag == LWQ_DER_CTX_PRIM(LWQ_X509_SAN_IP) && gn.len != 4 && gn.len != 16)
            return LWQ_ERR_DECODE;
    }
    x->san = seq.val;
    x->san_len = seq.len;
    return 0;
}

/* RFC 5280 §4.2.1.9 */
static int parse_bc(lwq_x509 *x, const uint8_t *p, size_t n)
{
    lwq_der_reader r, s;
    lwq_der_tlv seq, t;
    uint64_t v;
    lwq_der_reader_init(&r, p, n);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &seq) < 0 || !lwq_der_at_end(&r))
        return LWQ_ERR_DECODE;
    lwq_der_enter(&s, &seq);
    x->has_bc = 1;
    if (lwq_der_optional(&s, LWQ_DER_BOOLEAN, &t) == 1 && lwq_der_get_bool(&t, &x->ca) < 0)
        return LWQ_ERR_DECODE;
    if (lwq_der_optional(&s, LWQ_DER_INTEGER, &t) == 1) {
        if (lwq_der_get_uint(&t, &v) < 0 || v > 255)
            return LWQ_ERR_DECODE;
        x->path_len = (int)v;
    }
    return lwq_der_at_end(&s) ? 0 : LWQ_ERR_DECODE;
}

/* RFC 5280 §4.2.1.3: bit i of the BIT STRING (MSB first) becomes 1 << i. */
static int parse_ku(lwq_x509 *x, const uint8_t *p, size_t n)
{
    lwq_der_reader r;
    lwq_der_tlv t;
    const uint8_t *b;
    size_t bn;
    unsigned unused;
    lwq_der_reader_init(&r, p, n);
    if (lwq_der_next(&r, &t) < 0 || !lwq_der_at_end(&r) || lwq_der_get_bits(&t, &b, &bn, &unused) < 0 || bn > 2)
        return LWQ_ERR_DECODE;
    x->has_ku = 1;
    for (unsigned i = 0; i < bn * 8; i++)
        if (b[i / 8] & (0x80 >> (i % 8)))
            x->ku |= 1u << i;
    return 0;
}

static int parse_extensions(lwq_x509 *x, const lwq_der_tlv *wrap)
{
    lwq_der_reader r, list, e;
    lwq_der_tlv seq, ext, oid, t, val;
    lwq_der_tlv seen[LWQ_X509_MAX_EXTENSIONS];
    int count = 0;
    lwq_der_enter(&r, wrap);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &seq) < 0 || !lwq_der_at_end(&r) || seq.len == 0)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&list, &seq);
    while (!lwq_der_at_end(&list)) {
        int critical = 0, rc = 0;
        if (count >= LWQ_X509_MAX_EXTENSIONS)
            return LWQ_ERR_LIMIT;
        if (lwq_der_expect(&list, LWQ_DER_SEQUENCE, &ext) < 0)
            return LWQ_ERR_DECODE;
        lwq_der_enter(&e, &ext);
        if (lwq_der_expect(&e, LWQ_DER_OID, &oid) < 0)
            return LWQ_ERR_DECODE;
        if (lwq_der_optional(&e, LWQ_DER_BOOLEAN, &t) == 1 && lwq_der_get_bool(&t, &critical) < 0)
            return LWQ_ERR_DECODE;
        if (lwq_der_expect(&e, LWQ_DER_OCTET_STRING, &val) < 0 || !lwq_der_at_end(&e))
            return LWQ_ERR_DECODE;
        /* RFC 5280 §4.2: at most one instance of an extension */
        for (int i = 0; i < count; i++)
            if (seen[i].len == oid.len && memcmp(seen[i].val, oid.val, oid.len) == 0)
                return LWQ_ERR_DECODE;
        seen[count++] = oid;
        if (LWQ_DER_OID_IS(&oid, OID_EXT("\x11")))
            rc = parse_san(x, val.val, val.len);
        else if (LWQ_DER_OID_IS(&oid, OID_EXT("\x13")))
            rc = parse_bc(x, val.val, val.len);
        else if (LWQ_DER_OID_IS(&oid, OID_EXT("\x0f")))
            rc = parse_ku(x, val.val, val.len);
        else if (!(LWQ_DER_OID_IS(&oid, OID_EXT("\x0e")) || LWQ_DER_OID_IS(&oid, OID_EXT("\x23")) ||
                   LWQ_DER_OID_IS(&oid, OID_EXT("\x25")) || LWQ_DER_OID_IS(&oid, OID_EXT("\x1f")) ||
                   LWQ_DER_OID_IS(&oid, OID_EXT("\x20")) || LWQ_DER_OID_IS(&oid, OID_AIA) ||
                   LWQ_DER_OID_IS(&oid, OID_SCT)) &&
                 critical)
            rc = LWQ_ERR_UNSUPPORTED; /* RFC 5280 §4.2: unrecognized critical extension */
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_tbs(lwq_x509 *x, const lwq_der_tlv *tbs, lwq_der_tlv *sig_alg)
{
    lwq_der_reader r, vr;
    lwq_der_tlv t, v, issuer, validity, subject, spki;
    uint64_t ver = 0;
    int rc;
    lwq_der_enter(&r, tbs);
    if ((rc = lwq_der_optional(&r, LWQ_DER_CTX(0), &t)) < 0)
        return rc;
    if (rc == 1) {
        lwq_der_enter(&vr, &t);
        if (lwq_der_expect(&vr, LWQ_DER_INTEGER, &v) < 0 || !lwq_der_at_end(&vr) || lwq_der_get_uint(&v, &ver) < 0 ||
            ver > 2)
            return LWQ_ERR_DECODE;
    }
    x->version = (int)ver + 1;
    /* RFC 5280 §4.1.2.2: positive, at most 20 octets (one more for a leading zero) */
    if (lwq_der_expect(&r, LWQ_DER_INTEGER, &t) < 0 || t.len == 0 || t.len > 21)
        return LWQ_ERR_DECODE;
    x->serial = t.val;
    x->serial_len = t.len;
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, sig_alg) < 0 || (rc = parse_sig_alg(sig_alg, &x->sig)) < 0)
        return rc < 0 ? rc : LWQ_ERR_DECODE;
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &issuer) < 0 || parse_name(&issuer, NULL, NULL) < 0)
        return LWQ_ERR_DECODE;
    x->issuer = issuer.raw;
    x->issuer_len = issuer.raw_len;
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &validity) < 0)
        return LWQ_ERR_DECODE;
    lwq_der_enter(&vr, &validity);
    if (lwq_der_next(&vr, &t) < 0 || lwq_der_get_time(&t, &x->not_before) < 0 || lwq_der_next(&vr, &t) < 0 ||
        lwq_der_get_time(&t, &x->not_after) < 0 || !lwq_der_at_end(&vr))
        return LWQ_ERR_DECODE;
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &subject) < 0 ||
        (rc = parse_name(&subject, &x->subject_cn, &x->subject_cn_len)) < 0)
        return rc < 0 ? rc : LWQ_ERR_DECODE;
    x->subject = subject.raw;
    x->subject_len = subject.raw_len;
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &spki) < 0)
        return LWQ_ERR_DECODE;
    x->spki = spki.raw;
    x->spki_len = spki.raw_len;
    for (int i = 1; i <= 2; i++) {
        if ((rc = lwq_der_optional(&r, LWQ_DER_CTX_PRIM(i), &t)) < 0)
            return rc;
        if (rc == 1 && x->version < 2)
            return LWQ_ERR_DECODE;
    }
    if ((rc = lwq_der_optional(&r, LWQ_DER_CTX(3), &t)) < 0)
        return rc;
    if (rc == 1 && (x->version != 3 || (rc = parse_extensions(x, &t)) < 0))
        return rc < 0 ? rc : LWQ_ERR_DECODE;
    return lwq_der_at_end(&r) ? 0 : LWQ_ERR_DECODE;
}

ssize_t lwq_x509_parse(lwq_x509 *x, const uint8_t *p, size_t n)
{
    lwq_der_reader r;
    lwq_der_tlv cert, tbs, alg, inner_alg, sigv;
    ssize_t k;
    unsigned unused;
    int rc;
    memset(x, 0, sizeof(*x));
    x->path_len = -1;
    if ((k = lwq_der_decode(&cert, p, n)) < 0)
        return k;
    if (cert.tag != LWQ_DER_SEQUENCE)
        return LWQ_ERR_DECODE;
    if (cert.raw_len > LWQ_X509_MAX_SIZE)
        return LWQ_ERR_LIMIT;
    lwq_der_enter(&r, &cert);
    if (lwq_der_expect(&r, LWQ_DER_SEQUENCE, &tbs) < 0 || lwq_der_expect(&r, LWQ_DER_SEQUENCE, &alg) < 0 ||
        lwq_der_expect(&r, LWQ_DER_BIT_STRING, &sigv) < 0 || !lwq_der_at_end(&r))
        return LWQ_ERR_DECODE;
    if ((rc = parse_tbs(x, &tbs, &inner_alg)) < 0)
        return rc;
    /* RFC 5280 §4.1.1.2: must match the signature field of the tbsCertificate */
    if (alg.raw_len != inner_alg.raw_len || memcmp(alg.raw, inner_alg.raw, alg.raw_len) != 0)
        return LWQ_ERR_DECODE;
    if (lwq_der_get_bits(&sigv, &x->sig_value, &x->sig_value_len, &unused) < 0 || unused)
        return LWQ_ERR_DECODE;
    x->der = cert.raw;
    x->der_len = cert.raw_len;
    x->tbs = tbs.raw;
    x->tbs_len = tbs.raw_len;
    return k;
}

void lwq_x509_san_begin(lwq_x509_san_iter *it, const lwq_x509 *x) { lwq_der_reader_init(&it->r, x->san, x->san ? x->san_len : 0); }

int lwq_x509_san_next(lwq_x509_san_iter *it, int *type, const uint8_t **val, size_t *len)
{
    lwq_der_tlv t;
    while (lwq_der_next(&it->r, &t) == 0) {
        if (t.tag == LWQ_DER_CTX_PRIM(LWQ_X509_SAN_DNS) || t.tag == LWQ_DER_CTX_PRIM(LWQ_X509_SAN_IP)) {
            *type = t.tag & 0x1f;
            *val = t.val;
            *len = t.len;
            return 1;
        }
    }
    return 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_nocase(const uint8_t *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* RFC 6125 §6.4.1 and §6.4.3: exact match, or "*" as the whole left-most label
 * standing for exactly one label, never for a public suffix alone ("*.com"). */
static int match_dns(const uint8_t *pat, size_t pn, const char *host, size_t hn)
{
    if (pn && pat[pn - 1] == '.')
        pn--;
    if (pn == 0 || hn == 0)
        return 0;
    for (size_t i = 0; i < pn; i++)
        if (pat[i] <= 0x20 || pat[i] >= 0x7f)
            return 0;
    if (pn >= 2 && pat[0] == '*' && pat[1] == '.') {
        const uint8_t *rest = pat + 1; /* ".example.test" */
        size_t rn = pn - 1, dots = 0;
        for (size_t i = 1; i < rn; i++)
            dots += rest[i] == '.';
        const char *hdot = memchr(host, '.', hn);
        if (dots < 1 || !hdot || hdot == host || memchr(rest, '*', rn))
            return 0;
        size_t hr = hn - (size_t)(hdot - host);
        return hr == rn && eq_nocase(rest, hdot, rn);
    }
    return pn == hn && memchr(pat, '*', pn) == NULL && eq_nocase(pat, host, hn);
}

int lwq_x509_match_host(const lwq_x509 *x, const char *hostname)
{
    uint8_t ip[16];
    size_t iplen = 0, hn = strlen(hostname);
    if (inet_pton(AF_INET, hostname, ip) == 1)
        iplen = 4;
    else if (inet_pton(AF_INET6, hostname, ip) == 1)
        iplen = 16;
    if (hn && hostname[hn - 1] == '.' && !iplen)
        hn--;
    if (hn == 0 || memchr(hostname, '*', hn))
        return 0;
    lwq_x509_san_iter it;
    int type;
    const uint8_t *v;
    size_t vn;
    lwq_x509_san_begin(&it, x);
    while (lwq_x509_san_next(&it, &type, &v, &vn)) {
        if (iplen && type == LWQ_X509_SAN_IP && vn == iplen && memcmp(v, ip, iplen) == 0)
            return 1;
        if (!iplen && type == LWQ_X509_SAN_DNS && match_dns(v, vn, hostname, hn))
            return 1;
    }
    /* RFC 6125 §6.4.4: the CN only when there is no subjectAltName */
    if (x->san || iplen || !x->subject_cn)
        return 0;
    return x->subject_cn_len == hn && memchr(x->subject_cn, '*', hn) == NULL && eq_nocase(x->subject_cn, hostname, hn);
}
