/* RFC 7541 §5.2 and Appendix B: the static Huffman code, decoded through its canonical form. */
#include "qpack/prim.h"

#define EOS 256

size_t lwq_qpack_huff_encoded_len(const uint8_t *s, size_t n)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++)
        bits += lwq_qpack_huff_len[s[i]];
    return (size_t)((bits + 7) / 8);
}

ssize_t lwq_qpack_huff_encode(uint8_t *out, size_t cap, const uint8_t *s, size_t n)
{
    uint64_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << lwq_qpack_huff_len[s[i]] | lwq_qpack_huff_code[s[i]];
        bits += lwq_qpack_huff_len[s[i]];
        while (bits >= 8) {
            if (o == cap)
                return LWQ_ERR_NOBUF;
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits) {
        /* Pad with the most significant bits of EOS, all ones (RFC 7541 §5.2). */
        if (o == cap)
            return LWQ_ERR_NOBUF;
        out[o++] = (uint8_t)(acc << (8 - bits) | (0xffu >> bits));
    }
    return (ssize_t)o;
}

ssize_t lwq_qpack_huff_decode(uint8_t *out, size_t cap, const uint8_t *p, size_t n)
{
    uint64_t acc = 0;   /* unread bits, right-aligned */
    unsigned avail = 0; /* how many */
    size_t i = 0, o = 0;
    for (;;) {
        while (avail <= 56 && i < n) {
            acc = acc << 8 | p[i++];
            avail += 8;
        }
        if (avail == 0)
            break;
        /* A 32-bit window of the next bits, filled past the end with ones. */
        uint32_t win;
        if (avail >= 32)
            win = (uint32_t)(acc >> (avail - 32));
        else
            win = (uint32_t)(acc << (32 - avail)) | (uint32_t)(0xffffffffu >> avail);
        unsigned len = 5;
        while (len <= 30 && (uint64_t)win >= lwq_qpack_huff_limit[len])
            len++;
        if (len > 30 || len > avail) {
            /* Padding: fewer than 8 bits, all ones, i.e. a strict prefix of EOS (RFC 7541 §5.2). */
            if (avail > 7 || (acc & ((UINT64_C(1) << avail) - 1)) != (UINT64_C(1) << avail) - 1)
                return LWQ_ERR_DECODE;
            break;
        }
        unsigned sym =
            lwq_qpack_huff_sym[lwq_qpack_huff_offset[len] + ((win >> (32 - len)) - lwq_qpack_huff_first[len])];
        if (sym == EOS)
            return LWQ_ERR_DECODE;
        if (o == cap)
            return LWQ_ERR_NOBUF;
        if (out)
            out[o] = (uint8_t)sym;
        o++;
        avail -= len;
        acc &= avail ? (UINT64_C(1) << avail) - 1 : 0;
    }
    return (ssize_t)o;
}
