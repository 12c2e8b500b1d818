/* QUIC-LB connection IDs (draft-ietf-quic-load-balancers §5): plaintext, single-pass and four-pass
 * encrypted server IDs, and the configuration's textual form. */
#include <string.h>
#include <stdlib.h>
#include "lwquic/quic_lb.h"
#include "base/mem.h"
#include "tls/crypto.h"

int lwq_quic_lb_check(const lwq_quic_lb *lb)
{
    if (lb->config_id > 6 || lb->server_id_len < 1 || lb->server_id_len > LWQ_QUIC_LB_SID_MAX || lb->nonce_len < 4 ||
        lb->server_id_len + lb->nonce_len > LWQ_QUIC_LB_CID_MAX - 1)
        return LWQ_ERR_INVAL; /* §3.2, §5.3 */
    return 0;
}

size_t lwq_quic_lb_cid_len(const lwq_quic_lb *lb) { return 1u + lb->server_id_len + lb->nonce_len; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly n bytes of hex from s[0..len); -1 otherwise. */
static int parse_hex(const char *s, size_t len, uint8_t *out, size_t max, size_t *n)
{
    if (len == 0 || len % 2 || len / 2 > max)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return 0;
}

static int parse_num(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 3)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* One "name=value" of the textual form into lb (sid and key) or the numbers; -1 when malformed. */
static int parse_setting(lwq_quic_lb *lb, const char *p, size_t len, unsigned num[3], int have[3], size_t *sidlen)
{
    static const char *const names[] = {"cr", "sidlen", "noncelen"};
    static const unsigned max[] = {6, LWQ_QUIC_LB_SID_MAX, 18};
    const char *eq = memchr(p, '=', len);
    if (!eq)
        return -1;
    size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
    const char *v = eq + 1;
    if (klen == 3 && !memcmp(p, "sid", 3))
        return parse_hex(v, vlen, lb->server_id, LWQ_QUIC_LB_SID_MAX, sidlen);
    if (klen == 3 && !memcmp(p, "key", 3)) {
        size_t n = 0;
        lb->has_key = 1;
        return parse_hex(v, vlen, lb->key, LWQ_QUIC_LB_KEY_LEN, &n) || n != LWQ_QUIC_LB_KEY_LEN ? -1 : 0;
    }
    for (int i = 0; i < 3; i++)
        if (klen == strlen(names[i]) && !memcmp(p, names[i], klen)) {
            have[i] = 1;
            return parse_num(v, vlen, max[i], &num[i]);
        }
    return -1;
}

int lwq_quic_lb_parse(lwq_quic_lb *lb, const char *text)
{
    memset(lb, 0, sizeof(*lb));
    unsigned num[3] = {0, 0, 0}; /* cr, sidlen, noncelen */
    int have[3] = {0, 0, 0};
    size_t sidlen = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (parse_setting(lb, p, len, num, have, &sidlen))
            return LWQ_ERR_INVAL;
        p = end ? end + 1 : NULL;
        if (p && !*p)
            return LWQ_ERR_INVAL; /* a trailing comma */
    }
    if (!have[0] || !sidlen || !have[2] || (have[1] && num[1] != sidlen))
        return LWQ_ERR_INVAL;
    lb->config_id = (uint8_t)num[0];
    lb->server_id_len = (uint8_t)sidlen;
    lb->nonce_len = (uint8_t)num[2];
    return lwq_quic_lb_check(lb);
}

/* §5.4.2 expand(): the half in the most significant octets, zeros, the plaintext length, the pass. */
static int round_fn(lwq_aes128 *aes, size_t plen, uint8_t pass, const uint8_t *in, size_t half, uint8_t *mask)
{
    uint8_t block[16] = {0};
    memcpy(block, in, half);
    block[14] = (uint8_t)plen;
    block[15] = pass;
    return lwq_aes128_block(aes, block, mask);
}

/* One Feistel pass: y ^= truncate(AES(expand(x)), half), then an odd length's shared nibble cleared
 * (the high one of the right half, the low one of the left half). */
static int feistel(lwq_aes128 *aes, size_t plen, uint8_t pass, const uint8_t *x, uint8_t *y, int y_is_left)
{
    size_t half = (plen + 1) / 2;
    uint8_t mask[16];
    if (round_fn(aes, plen, pass, x, half, mask))
        return LWQ_ERR_CRYPTO;
    for (size_t i = 0; i < half; i++)
        y[i] ^= mask[i];
    if (plen & 1) {
        if (y_is_left)
            y[half - 1] &= 0xf0;
        else
            y[0] &= 0x0f;
    }
    return 0;
}

/* §5.4.2 four-pass encryption (decrypt: the passes in reverse, §5.5.2) of plen bytes in place. */
static int four_pass(const uint8_t *key, uint8_t *buf, size_t plen, int decrypt)
{
    size_t half = (plen + 1) / 2;
    uint8_t l[10], r[10];
    memcpy(l, buf, half);
    memcpy(r, buf + plen - half, half);
    if (plen & 1) {
        l[half - 1] &= 0xf0;
        r[0] &= 0x0f;
    }
    lwq_aes128 aes;
    int rv = lwq_aes128_init(&aes, key, 0);
    if (!decrypt) {
        rv = rv ? rv : feistel(&aes, plen, 1, l, r, 0);
        rv = rv ? rv : feistel(&aes, plen, 2, r, l, 1);
        rv = rv ? rv : feistel(&aes, plen, 3, l, r, 0);
        rv = rv ? rv : feistel(&aes, plen, 4, r, l, 1);
    } else {
        rv = rv ? rv : feistel(&aes, plen, 4, r, l, 1);
        rv = rv ? rv : feistel(&aes, plen, 3, l, r, 0);
        rv = rv ? rv : feistel(&aes, plen, 2, r, l, 1);
        rv = rv ? rv : feistel(&aes, plen, 1, l, r, 0);
    }
    lwq_aes128_free(&aes);
    if (!rv) {
        memcpy(buf, l, half);
        if (plen & 1)
            buf[half - 1] = (uint8_t)(l[half - 1] | r[0]);
        memcpy(buf + plen - half + (plen & 1), r + (plen & 1), half - (plen & 1));
    }
    lwq_wipe(l, sizeof(l));
    lwq_wipe(r, sizeof(r));
    return rv;
}

static int single_pass(const uint8_t *key, uint8_t *buf, int decrypt)
{
    lwq_aes128 aes;
    int rv = lwq_aes128_init(&aes, key, decrypt);
    if (!rv)
        rv = lwq_aes128_block(&aes, buf, buf);
    lwq_aes128_free(&aes);
    return rv;
}

static int cipher(const lwq_quic_lb *lb, uint8_t *buf, int decrypt)
{
    size_t plen = (size_t)lb->server_id_len + lb->nonce_len;
    if (!lb->has_key)
        return 0;
    return plen == 16 ? single_pass(lb->key, buf, decrypt) : four_pass(lb->key, buf, plen, decrypt);
}

int lwq_quic_lb_encode(const lwq_quic_lb *lb, const uint8_t *server_id, const uint8_t *nonce, uint8_t *cid)
{
    if (lwq_quic_lb_check(lb))
        return LWQ_ERR_INVAL;
    size_t plen = (size_t)lb->server_id_len + lb->nonce_len;
    /* §3.3: the length of the rest self-described in the low five bits */
    cid[0] = (uint8_t)(lb->config_id << 5 | plen);
    memcpy(cid + 1, server_id ? server_id : lb->server_id, lb->server_id_len);
    memcpy(cid + 1 + lb->server_id_len, nonce, lb->nonce_len);
    return cipher(lb, cid + 1, 0);
}

int lwq_quic_lb_decode(const lwq_quic_lb *lb, const uint8_t *cid, size_t len, uint8_t *server_id, uint8_t *nonce)
{
    if (lwq_quic_lb_check(lb))
        return LWQ_ERR_INVAL;
    size_t plen = (size_t)lb->server_id_len + lb->nonce_len;
    if (len < 1 + plen)
        return LWQ_ERR_TRUNCATED;
    if (cid[0] >> 5 != lb->config_id)
        return LWQ_ERR_NOT_FOUND; /* §4: another configuration's, or unroutable */
    uint8_t buf[LWQ_QUIC_LB_CID_MAX];
    memcpy(buf, cid + 1, plen);
    int rv = cipher(lb, buf, 1);
    if (!rv) {
        memcpy(server_id, buf, lb->server_id_len);
        if (nonce)
            memcpy(nonce, buf + lb->server_id_len, lb->nonce_len);
    }
    lwq_wipe(buf, sizeof(buf));
    return rv;
}

int lwq_quic_lb_shard(const lwq_quic_lb *lb, const uint8_t *cid, size_t len)
{
    uint8_t sid[LWQ_QUIC_LB_SID_MAX];
    int rv = lwq_quic_lb_decode(lb, cid, len, sid, NULL);
    if (rv)
        return rv;
    size_t last = lb->server_id_len - 1u;
    if (memcmp(sid, lb->server_id, last))
        return LWQ_ERR_NOT_FOUND;
    return (uint8_t)(sid[last] - lb->server_id[last]);
}
