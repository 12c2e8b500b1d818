#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "base/mem.h"
#include "tls/der.h"

ssize_t lwq_der_decode(lwq_der_tlv *out, const uint8_t *p, size_t n)
{
    if (n < 2)
        return LWQ_ERR_TRUNCATED;
    if ((p[0] & 0x1f) == 0x1f)
        return LWQ_ERR_DECODE; /* high tag numbers never occur in X.509 */
    size_t hdr = 2, len = p[1];
    if (len & 0x80) {
        size_t k = len & 0x7f;
        /* X.690 §10.1: definite form, fewest octets */
        if (k == 0 || k > LWQ_DER_MAX_LEN_BYTES)
            return LWQ_ERR_DECODE;
        if (n < 2 + k)
            return LWQ_ERR_TRUNCATED;
        if (p[2] == 0)
            return LWQ_ERR_DECODE;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[2 + i];
        if (len < 0x80)
            return LWQ_ERR_DECODE;
        hdr += k;
    }
    if (len > n - hdr)
        return LWQ_ERR_TRUNCATED;
    out->tag = p[0];
    out->raw = p;
    out->raw_len = hdr + len;
    out->val = p + hdr;
    out->len = len;
    return (ssize_t)(hdr + len);
}

int lwq_der_next(lwq_der_reader *r, lwq_der_tlv *out)
{
    ssize_t k = lwq_der_decode(out, r->p, r->n);
    if (k < 0)
        return (int)k;
    r->p += k;
    r->n -= (size_t)k;
    return 0;
}

int lwq_der_expect(lwq_der_reader *r, uint8_t tag, lwq_der_tlv *out)
{
    if (r->n == 0)
        return LWQ_ERR_TRUNCATED;
    if (r->p[0] != tag)
        return LWQ_ERR_DECODE;
    return lwq_der_next(r, out);
}

int lwq_der_optional(lwq_der_reader *r, uint8_t tag, lwq_der_tlv *out)
{
    if (r->n == 0 || r->p[0] != tag)
        return 0;
    int rc = lwq_der_next(r, out);
    return rc < 0 ? rc : 1;
}

int lwq_der_get_uint(const lwq_der_tlv *t, uint64_t *out)
{
    const uint8_t *v = t->val;
    size_t n = t->len;
    if (t->tag != LWQ_DER_INTEGER || n == 0 || (v[0] & 0x80))
        return LWQ_ERR_DECODE;
    if (n > 1 && v[0] == 0 && !(v[1] & 0x80))
        return LWQ_ERR_DECODE;
    if (v[0] == 0) {
        v++;
        n--;
    }
    if (n > 8)
        return LWQ_ERR_LIMIT;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | v[i];
    *out = x;
    return 0;
}

int lwq_der_get_bool(const lwq_der_tlv *t, int *out)
{
    /* X.690 §11.1 */
    if (t->tag != LWQ_DER_BOOLEAN || t->len != 1 || (t->val[0] != 0 && t->val[0] != 0xff))
        return LWQ_ERR_DECODE;
    *out = t->val[0] != 0;
    return 0;
}

int lwq_der_get_bits(const lwq_der_tlv *t, const uint8_t **bits, size_t *n, unsigned *unused)
{
    if (t->tag != LWQ_DER_BIT_STRING || t->len == 0 || t->val[0] > 7)
        return LWQ_ERR_DECODE;
    if (t->len == 1 && t->val[0] != 0)
        return LWQ_ERR_DECODE;
    /* X.690 §11.2.1: unused bits are zero */
    if (t->len > 1 && (t->val[t->len - 1] & ((1u << t->val[0]) - 1)))
        return LWQ_ERR_DECODE;
    *bits = t->val + 1;
    *n = t->len - 1;
    *unused = t->val[0];
    return 0;
}

int lwq_der_oid_is(const lwq_der_tlv *t, const uint8_t *oid, size_t len)
{
    return t->tag == LWQ_DER_OID && t->len == len && memcmp(t->val, oid, len) == 0;
}

static int digits(const uint8_t *p, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_since_epoch(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int lwq_der_get_time(const lwq_der_tlv *t, int64_t *out)
{
    const uint8_t *v = t->val;
    int y;
    /* RFC 5280 §4.1.2.5.1 (YYMMDDHHMMSSZ) and §4.1.2.5.2 (YYYYMMDDHHMMSSZ) */
    if (t->tag == LWQ_DER_UTC_TIME && t->len == 13) {
        y = digits(v, 2);
        if (y < 0)
            return LWQ_ERR_DECODE;
        y += y >= 50 ? 1900 : 2000;
        v += 2;
    } else if (t->tag == LWQ_DER_GENERALIZED_TIME && t->len == 15) {
        y = digits(v, 4);
        if (y < 0)
            return LWQ_ERR_DECODE;
        v += 4;
    } else {
        return LWQ_ERR_DECODE;
    }
    int mo = digits(v, 2), d = digits(v + 2, 2), h = digits(v + 4, 2), mi = digits(v + 6, 2), s = digits(v + 8, 2);
    if (v[10] != 'Z' || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
        return LWQ_ERR_DECODE;
    static const uint8_t mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return LWQ_ERR_DECODE;
    *out = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

static const uint8_t *find(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; n >= k && i <= n - k; i++)
        if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, k) == 0)
            return p + i;
    return NULL;
}

static int only_space(const uint8_t *p, const uint8_t *e)
{
    for (; p < e; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 0;
    return 1;
}

int lwq_pem_detect(const uint8_t *p, size_t n) { return find(p, n, "-----BEGIN ") != NULL; }

int lwq_pem_next(const uint8_t **pp, size_t *pn, char *label, size_t labelcap, uint8_t **der, size_t *derlen,
                 const lwq_allocator *a)
{
    const uint8_t *p = *pp, *end = p + *pn;
    /* RFC 7468 §2 */
    const uint8_t *b = find(p, *pn, "-----BEGIN ");
    if (!b)
        return 0;
    const uint8_t *lab = b + 11;
    const uint8_t *le = find(lab, (size_t)(end - lab), "-----");
    if (!le || le - lab > 64)
        return LWQ_ERR_DECODE;
    size_t ll = (size_t)(le - lab);
    for (size_t i = 0; i < ll; i++)
        if (lab[i] < 0x20 || lab[i] > 0x7e)
            return LWQ_ERR_DECODE;
    const uint8_t *body = le + 5;
    const uint8_t *e = find(body, (size_t)(end - body), "-----END ");
    if (!e)
        return LWQ_ERR_TRUNCATED;
    const uint8_t *elab = e + 9;
    if ((size_t)(end - elab) < ll + 5 || memcmp(elab, lab, ll) != 0 || memcmp(elab + ll, "-----", 5) != 0)
        return LWQ_ERR_DECODE;
    size_t blen = (size_t)(e - body), cap = blen / 4 * 3 + 3;
    uint8_t *buf = lwq_malloc(a, cap ? cap : 1);
    if (!buf)
        return LWQ_ERR_NOMEM;
    size_t outlen = 0;
    const char *stop = NULL;
    if (sodium_base642bin(buf, cap, (const char *)body, blen, " \t\r\n", &outlen, &stop,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        outlen == 0 || !only_space((const uint8_t *)stop, e)) {
        lwq_free(a, buf);
        return LWQ_ERR_DECODE;
    }
    if (labelcap) {
        size_t c = ll < labelcap - 1 ? ll : labelcap - 1;
        memcpy(label, lab, c);
        label[c] = 0;
    }
    const uint8_t *next = elab + ll + 5;
    *pn -= (size_t)(next - *pp);
    *pp = next;
    *der = buf;
    *derlen = outlen;
    return 1;
}

