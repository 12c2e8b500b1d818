#include "quic/packet.h"
#include "quic/varint.h"
#include "base/mem.h"
#include "tls/keysched.h"

int lwq_cid_set(lwq_cid *c, const uint8_t *id, size_t len)
{
    if (len > LWQ_CID_MAX)
        return LWQ_ERR_INVAL;
    c->len = (uint8_t)len;
    if (len)
        memcpy(c->id, id, len);
    return 0;
}

int lwq_cid_eq(const lwq_cid *c, const uint8_t *id, size_t len)
{
    return c->len == len && (len == 0 || memcmp(c->id, id, len) == 0);
}

int lwq_version_supported(uint32_t version)
{
    return version == LWQ_QUIC_V1 || version == LWQ_QUIC_V2;
}

/* RFC 9000 §15 */
int lwq_version_is_grease(uint32_t version)
{
    return (version & 0x0f0f0f0fu) == 0x0a0a0a0au;
}

/* RFC 9000 §17.2 and RFC 9369 §3.2 */
static unsigned type_bits(uint32_t version, lwq_pkt_type t)
{
    return version == LWQ_QUIC_V2 ? (unsigned)(t + 1) & 3 : (unsigned)t;
}

static lwq_pkt_type type_from_bits(uint32_t version, unsigned bits)
{
    return version == LWQ_QUIC_V2 ? (lwq_pkt_type)((bits + 3) & 3) : (lwq_pkt_type)bits;
}

ssize_t lwq_pkt_hdr_decode(lwq_pkt_hdr *h, const uint8_t *p, size_t n, size_t short_dcid_len)
{
    memset(h, 0, sizeof(*h));
    if (n < 1)
        return LWQ_ERR_TRUNCATED;
    h->first = p[0];
    if (!(p[0] & 0x80)) {
        /* RFC 9000 §17.3.1 */
        if (!(p[0] & 0x40))
            return LWQ_ERR_DECODE;
        if (short_dcid_len > LWQ_CID_MAX)
            return LWQ_ERR_INVAL;
        if (n < 1 + short_dcid_len)
            return LWQ_ERR_TRUNCATED;
        h->type = LWQ_PKT_1RTT;
        h->dcid = p + 1;
        h->dcid_len = short_dcid_len;
        h->pn_offset = 1 + short_dcid_len;
        h->pkt_len = n;
        return (ssize_t)n;
    }
    /* RFC 8999 §5.1: the version-independent part */
    if (n < 7)
        return LWQ_ERR_TRUNCATED;
    h->version = lwq_get32(p + 1);
    size_t off = 5;
    h->dcid_len = p[off++];
    if (n - off < h->dcid_len + 1)
        return LWQ_ERR_TRUNCATED;
    h->dcid = p + off;
    off += h->dcid_len;
    h->scid_len = p[off++];
    if (n - off < h->scid_len)
        return LWQ_ERR_TRUNCATED;
    h->scid = p + off;
    off += h->scid_len;
    if (h->version == 0) {
        /* RFC 9000 §17.2.1 */
        if ((n - off) % 4 != 0)
            return LWQ_ERR_DECODE;
        h->type = LWQ_PKT_VN;
        h->versions = p + off;
        h->n_versions = (n - off) / 4;
        h->pkt_len = n;
        return (ssize_t)n;
    }
    if (!lwq_version_supported(h->version))
        return LWQ_ERR_UNSUPPORTED;
    /* RFC 9000 §17.2: fixed bit and 20-byte CID limit */
    if (!(p[0] & 0x40) || h->dcid_len > LWQ_CID_MAX || h->scid_len > LWQ_CID_MAX)
        return LWQ_ERR_DECODE;
    h->type = type_from_bits(h->version, (p[0] >> 4) & 3);
    if (h->type == LWQ_PKT_RETRY) {
        /* RFC 9000 §17.2.5 */
        if (n - off < LWQ_RETRY_TAG_LEN)
            return LWQ_ERR_TRUNCATED;
        h->token = p + off;
        h->token_len = n - off - LWQ_RETRY_TAG_LEN;
        h->retry_tag = p + n - LWQ_RETRY_TAG_LEN;
        h->pkt_len = n;
        return (ssize_t)n;
    }
    uint64_t v;
    ssize_t r;
    if (h->type == LWQ_PKT_INITIAL) {
        if ((r = lwq_varint_decode(&v, p + off, n - off)) < 0)
            return r;
        off += (size_t)r;
        if (v > n - off)
            return LWQ_ERR_TRUNCATED;
        h->token = p + off;
        h->token_len = (size_t)v;
        off += h->token_len;
    }
    if ((r = lwq_varint_decode(&h->length, p + off, n - off)) < 0)
        return r;
    off += (size_t)r;
    /* RFC 9000 §12.2: Length delimits coalesced packets; it cannot run past the datagram */
    if (h->length > n - off)
        return LWQ_ERR_DECODE;
    h->pn_offset = off;
    h->pkt_len = off + (size_t)h->length;
    return (ssize_t)h->pkt_len;
}

static uint8_t *put_bytes(uint8_t *w, const uint8_t *p, size_t n)
{
    if (n)
        memcpy(w, p, n);
    return w + n;
}

static size_t length_field_len(uint64_t length)
{
    return length < 16384 ? 2 : 4;
}

size_t lwq_pkt_hdr_encoded_len(const lwq_pkt_hdr_out *h)
{
    if (h->pn_len < 1 || h->pn_len > 4 || h->dcid_len > LWQ_CID_MAX || h->scid_len > LWQ_CID_MAX)
        return 0;
    if (h->type == LWQ_PKT_1RTT)
        return 1 + h->dcid_len + h->pn_len;
    if (h->type != LWQ_PKT_INITIAL && h->type != LWQ_PKT_0RTT && h->type != LWQ_PKT_HANDSHAKE)
        return 0;
    if (!lwq_version_supported(h->version))
        return 0;
    uint64_t length = (uint64_t)h->pn_len + h->payload_len + h->tag_len;
    if (length >= (UINT64_C(1) << 30))
        return 0;
    size_t len = 7 + h->dcid_len + h->scid_len + length_field_len(length) + h->pn_len;
    if (h->type == LWQ_PKT_INITIAL) {
        if (h->token_len > LWQ_VARINT_MAX)
            return 0;
        len += lwq_varint_len(h->token_len) + h->token_len;
    }
    return len;
}

ssize_t lwq_pkt_hdr_encode(uint8_t *out, size_t cap, const lwq_pkt_hdr_out *h)
{
    size_t len = lwq_pkt_hdr_encoded_len(h);
    if (len == 0)
        return LWQ_ERR_INVAL;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    uint8_t *w = out;
    if (h->type == LWQ_PKT_1RTT) {
        /* RFC 9000 §17.3.1 */
        *w++ = (uint8_t)(0x40 | (h->spin ? 0x20 : 0) | (h->key_phase ? 0x04 : 0) | (h->pn_len - 1));
        w = put_bytes(w, h->dcid, h->dcid_len);
    } else {
        *w++ = (uint8_t)(0xc0 | type_bits(h->version, h->type) << 4 | (h->pn_len - 1));
        w = lwq_put32(w, h->version);
        *w++ = (uint8_t)h->dcid_len;
        w = put_bytes(w, h->dcid, h->dcid_len);
        *w++ = (uint8_t)h->scid_len;
        w = put_bytes(w, h->scid, h->scid_len);
        if (h->type == LWQ_PKT_INITIAL) {
            w += lwq_varint_encode(w, (size_t)(out + cap - w), h->token_len);
            w = put_bytes(w, h->token, h->token_len);
        }
        uint64_t length = (uint64_t)h->pn_len + h->payload_len + h->tag_len;
        w += lwq_varint_encode_fixed(w, (size_t)(out + cap - w), length, length_field_len(length));
    }
    for (size_t i = h->pn_len; i-- > 0;)
        *w++ = (uint8_t)(h->pn >> (8 * i));
    return (ssize_t)len;
}

/* RFC 9000 §A.2: the peer decodes within a window of 2^(8*len) centred on its expectation, so the
 * unacknowledged distance must fit in half of it. */
size_t lwq_pn_encode_len(uint64_t full_pn, uint64_t largest_acked)
{
    uint64_t unacked = largest_acked == LWQ_PN_NONE ? full_pn + 1 : full_pn - largest_acked;
    if (largest_acked != LWQ_PN_NONE && full_pn <= largest_acked)
        unacked = 1;
    for (size_t len = 1; len < 4; len++)
        if (unacked <= UINT64_C(1) << (8 * len - 1))
            return len;
    return 4;
}

/* RFC 9000 §A.3 */
uint64_t lwq_pn_decode(uint64_t largest_pn, uint64_t truncated_pn, size_t pn_len)
{
    if (pn_len < 1 || pn_len > 4)
        return truncated_pn;
    uint64_t expected = largest_pn == LWQ_PN_NONE ? 0 : largest_pn + 1;
    uint64_t win = UINT64_C(1) << (8 * pn_len), hwin = win / 2, mask = win - 1;
    uint64_t candidate = (expected & ~mask) | (truncated_pn & mask);
    if (expected >= hwin && candidate <= expected - hwin) {
        if (candidate < (UINT64_C(1) << 62) - win)
            return candidate + win;
    } else if (candidate > expected + hwin && candidate >= win) {
        return candidate - win;
    }
    return candidate;
}

ssize_t lwq_vn_encode(uint8_t *out, size_t cap, const uint8_t *dcid, size_t dcid_len, const uint8_t *scid,
                      size_t scid_len, const uint32_t *versions, size_t n_versions, uint8_t unused)
{
    if (dcid_len > 255 || scid_len > 255 || n_versions == 0)
        return LWQ_ERR_INVAL;
    size_t len = 7 + dcid_len + scid_len + 4 * n_versions;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    uint8_t *w = out;
    /* RFC 9000 §17.2.1: 0x40 set so VN looks like QUIC to middleboxes */
    *w++ = (uint8_t)(0xc0 | (unused & 0x3f));
    w = lwq_put32(w, 0);
    *w++ = (uint8_t)dcid_len;
    w = put_bytes(w, dcid, dcid_len);
    *w++ = (uint8_t)scid_len;
    w = put_bytes(w, scid, scid_len);
    for (size_t i = 0; i < n_versions; i++)
        w = lwq_put32(w, versions[i]);
    return (ssize_t)len;
}

uint32_t lwq_vn_version(const lwq_pkt_hdr *h, size_t i)
{
    return i < h->n_versions ? lwq_get32(h->versions + 4 * i) : 0;
}

ssize_t lwq_retry_encode(uint8_t *out, size_t cap, uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token, size_t token_len,
                         const uint8_t *odcid, size_t odcid_len, uint8_t unused)
{
    if (!lwq_version_supported(version) || dcid_len > LWQ_CID_MAX || scid_len > LWQ_CID_MAX ||
        odcid_len > LWQ_CID_MAX || token_len == 0)
        return LWQ_ERR_INVAL;
    size_t len = 7 + dcid_len + scid_len + token_len + LWQ_RETRY_TAG_LEN;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    uint8_t *w = out;
    *w++ = (uint8_t)(0xc0 | type_bits(version, LWQ_PKT_RETRY) << 4 | (unused & 0x0f));
    w = lwq_put32(w, version);
    *w++ = (uint8_t)dcid_len;
    w = put_bytes(w, dcid, dcid_len);
    *w++ = (uint8_t)scid_len;
    w = put_bytes(w, scid, scid_len);
    w = put_bytes(w, token, token_len);
    /* RFC 9001 §5.8 */
    int r = lwq_quic_retry_tag(version, odcid, odcid_len, out, (size_t)(w - out), w);
    if (r < 0)
        return r;
    return (ssize_t)len;
}

int lwq_retry_verify(const lwq_pkt_hdr *h, const uint8_t *p, const uint8_t *odcid, size_t odcid_len)
{
    if (h->type != LWQ_PKT_RETRY || h->pkt_len < LWQ_RETRY_TAG_LEN)
        return LWQ_ERR_INVAL;
    /* RFC 9000 §17.2.5.2 */
    if (h->token_len == 0)
        return LWQ_ERR_DECODE;
    uint8_t tag[LWQ_RETRY_TAG_LEN];
    int r = lwq_quic_retry_tag(h->version, odcid, odcid_len, p, h->pkt_len - LWQ_RETRY_TAG_LEN, tag);
    if (r < 0)
        return r;
    return lwq_ct_equal(tag, p + h->pkt_len - LWQ_RETRY_TAG_LEN, LWQ_RETRY_TAG_LEN) ? 0 : LWQ_ERR_DECRYPT;
}

ssize_t lwq_stateless_reset_encode(uint8_t *out, size_t cap, size_t len, const uint8_t *token, const lwq_rng *rng)
{
    if (len < LWQ_STATELESS_RESET_MIN)
        return LWQ_ERR_INVAL;
    if (cap < len)
        return LWQ_ERR_NOBUF;
    size_t nrand = len - LWQ_RESET_TOKEN_LEN;
    rng->fill(rng->ud, out, nrand);
    /* RFC 9000 §10.3: looks like a short header, fixed bit set */
    out[0] = (uint8_t)(0x40 | (out[0] & 0x3f));
    memcpy(out + nrand, token, LWQ_RESET_TOKEN_LEN);
    return (ssize_t)len;
}

int lwq_stateless_reset_detect(const uint8_t *dgram, size_t n, const uint8_t (*tokens)[LWQ_RESET_TOKEN_LEN],
                               size_t n_tokens)
{
    if (n < LWQ_STATELESS_RESET_MIN)
        return -1;
    const uint8_t *tail = dgram + n - LWQ_RESET_TOKEN_LEN;
    int found = -1;
    for (size_t i = 0; i < n_tokens; i++) {
        int eq = lwq_ct_equal(tail, tokens[i], LWQ_RESET_TOKEN_LEN);
        /* branch-free select so the time does not depend on which token matched */
        int mask = -eq;
        found = (found & ~mask) | ((int)i & mask);
    }
    return found;
}
