#include "quic/protect.h"
#include "quic/packet.h"
#include "base/mem.h"

/* RFC 9001 §5.4.1: 4 bits of a long header's byte 0, 5 of a short header's */
static uint8_t first_mask(uint8_t first)
{
    return (first & 0x80) ? 0x0f : 0x1f;
}

const lwq_quic_keys lwq_null_keys;

static int null_seal(uint8_t *payload, size_t len)
{
    memset(payload + len, 0, LWQ_AEAD_TAG_LEN);
    return 0;
}

static int null_open(const uint8_t *payload, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < LWQ_AEAD_TAG_LEN; i++)
        acc |= payload[len + i];
    return acc ? LWQ_ERR_DECRYPT : 0;
}

static int hp_mask(const lwq_hp *hp, const uint8_t *sample, uint8_t *mask)
{
    if (hp == &lwq_null_keys.hp) {
        memset(mask, 0, 5);
        return 0;
    }
    return lwq_hp_mask(hp, sample, mask);
}

ssize_t lwq_packet_protect(const lwq_quic_keys *k, uint64_t pn, uint8_t *pkt, size_t hdr_len, size_t payload_len,
                           size_t cap)
{
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1;
    if (hdr_len < 1 + pn_len || pn_len + payload_len < 4)
        return LWQ_ERR_INVAL;
    if (cap < hdr_len || cap - hdr_len < payload_len || cap - hdr_len - payload_len < LWQ_AEAD_TAG_LEN)
        return LWQ_ERR_NOBUF;
    uint8_t nonce[LWQ_AEAD_IV_LEN];
    lwq_quic_nonce(k, pn, nonce);
    /* RFC 9001 §5.3: the header up to and including the packet number is the associated data */
    int err = k == &lwq_null_keys
                  ? null_seal(pkt + hdr_len, payload_len)
                  : lwq_aead_seal(&k->aead, nonce, pkt, hdr_len, pkt + hdr_len, payload_len, pkt + hdr_len);
    if (err < 0)
        return err;
    /* RFC 9001 §5.4.2: sample 4 bytes after the start of the packet number */
    size_t pn_offset = hdr_len - pn_len;
    uint8_t mask[5];
    if ((err = hp_mask(&k->hp, pkt + pn_offset + 4, mask)) < 0)
        return err;
    pkt[0] ^= mask[0] & first_mask(pkt[0]);
    for (size_t i = 0; i < pn_len; i++)
        pkt[pn_offset + i] ^= mask[1 + i];
    return (ssize_t)(hdr_len + payload_len + LWQ_AEAD_TAG_LEN);
}

int lwq_hp_remove(const lwq_hp *hp, uint8_t *pkt, size_t pkt_len, size_t pn_offset, uint64_t largest_pn,
                  lwq_unprotected *u)
{
    memset(u, 0, sizeof(*u));
    /* RFC 9001 §5.4.2: the sample must lie inside the packet */
    if (pn_offset < 1 || pkt_len < pn_offset || pkt_len - pn_offset < 4 + LWQ_HP_SAMPLE_LEN)
        return LWQ_ERR_DECODE;
    uint8_t mask[5];
    int err = hp_mask(hp, pkt + pn_offset + 4, mask);
    if (err < 0)
        return err;
    pkt[0] ^= mask[0] & first_mask(pkt[0]);
    u->first = pkt[0];
    u->pn_len = (size_t)(pkt[0] & 0x03) + 1;
    uint64_t truncated = 0;
    for (size_t i = 0; i < u->pn_len; i++) {
        pkt[pn_offset + i] ^= mask[1 + i];
        truncated = truncated << 8 | pkt[pn_offset + i];
    }
    u->pn = lwq_pn_decode(largest_pn, truncated, u->pn_len);
    u->key_phase = (pkt[0] & 0x80) ? 0 : (pkt[0] >> 2) & 1;
    u->payload_off = pn_offset + u->pn_len;
    /* the sample rule leaves at least 16 bytes after a 4-byte packet number: the tag fits */
    u->payload_len = pkt_len - u->payload_off - LWQ_AEAD_TAG_LEN;
    return 0;
}

int lwq_payload_decrypt(const lwq_quic_keys *k, uint8_t *pkt, size_t pkt_len, lwq_unprotected *u)
{
    if (u->payload_off + u->payload_len + LWQ_AEAD_TAG_LEN != pkt_len)
        return LWQ_ERR_INVAL;
    uint8_t nonce[LWQ_AEAD_IV_LEN];
    lwq_quic_nonce(k, u->pn, nonce);
    int err = k == &lwq_null_keys ? null_open(pkt + u->payload_off, u->payload_len)
                                  : lwq_aead_open(&k->aead, nonce, pkt, u->payload_off, pkt + u->payload_off,
                                                  u->payload_len + LWQ_AEAD_TAG_LEN, pkt + u->payload_off);
    if (err < 0)
        return err;
    /* RFC 9000 §17.2 (0x0c) and §17.3.1 (0x18): reserved bits, checked only once authenticated */
    uint8_t reserved = (u->first & 0x80) ? 0x0c : 0x18;
    if (u->first & reserved)
        return LWQ_ERR_PROTO;
    return 0;
}

int lwq_packet_unprotect(const lwq_quic_keys *k, uint8_t *pkt, size_t pkt_len, size_t pn_offset, uint64_t largest_pn,
                         lwq_unprotected *u)
{
    int err = lwq_hp_remove(&k->hp, pkt, pkt_len, pn_offset, largest_pn, u);
    if (err < 0)
        return err;
    return lwq_payload_decrypt(k, pkt, pkt_len, u);
}
