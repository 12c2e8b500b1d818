#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "base/mem.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "quic/frame.h"

static void check_frames(const uint8_t *p, size_t n, lwq_pkt_type t)
{
    static lwq_ack_range ranges[32];
    size_t off = 0;
    while (off < n) {
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.ack_ranges = ranges;
        f.ack_ranges_cap = 32;
        ssize_t r = lwq_frame_decode(&f, p + off, n - off);
        if (r <= 0)
            return;
        lwq_frame_allowed(f.type, t);
        off += (size_t)r;
    }
}

/* An Initial is opened with the keys its DCID implies, the way a server opens a client's first packet. */
static void try_initial(const lwq_pkt_hdr *h, const uint8_t *pkt)
{
    uint8_t cs[32], ss[32], buf[2048];
    lwq_quic_keys k;
    if (h->pkt_len > sizeof(buf) || lwq_quic_initial_secrets(h->version, h->dcid, h->dcid_len, cs, ss) < 0)
        return;
    if (lwq_quic_keys_init(&k, h->version, LWQ_SUITE_AES128GCM_SHA256, cs) < 0)
        return;
    memcpy(buf, pkt, h->pkt_len);
    lwq_unprotected u;
    if (lwq_packet_unprotect(&k, buf, h->pkt_len, h->pn_offset, LWQ_PN_NONE, &u) == 0) {
        if (u.payload_off + u.payload_len + 16 != h->pkt_len)
            __builtin_trap();
        check_frames(buf + u.payload_off, u.payload_len, h->type);
        /* protection is deterministic: protecting the opened packet gives back the original bytes */
        if (lwq_packet_protect(&k, u.pn, buf, u.payload_off, u.payload_len, sizeof(buf)) != (ssize_t)h->pkt_len ||
            memcmp(buf, pkt, h->pkt_len) != 0)
            __builtin_trap();
    }
    lwq_quic_keys_free(&k);
}

/* Splits the datagram into coalesced packets, for several short-header CID lengths. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t cid_lens[] = {0, 5, 8, 20};
    static const uint8_t odcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    for (size_t c = 0; c < sizeof(cid_lens) / sizeof(cid_lens[0]); c++) {
        size_t off = 0;
        while (off < size) {
            lwq_pkt_hdr h;
            ssize_t r = lwq_pkt_hdr_decode(&h, data + off, size - off, cid_lens[c]);
            if (r <= 0)
                break;
            if ((size_t)r != h.pkt_len || h.pkt_len > size - off || h.pn_offset > h.pkt_len)
                __builtin_trap();
            if (h.type == LWQ_PKT_VN) {
                for (size_t i = 0; i < h.n_versions; i++)
                    lwq_vn_version(&h, i);
            } else if (h.type == LWQ_PKT_RETRY) {
                lwq_retry_verify(&h, data + off, odcid, sizeof(odcid));
            } else if (h.type == LWQ_PKT_INITIAL && c == 0) {
                try_initial(&h, data + off);
            }
            off += (size_t)r;
        }
    }
    uint8_t tokens[2][LWQ_RESET_TOKEN_LEN];
    memset(tokens, 0, sizeof(tokens));
    if (size >= 16)
        memcpy(tokens[1], data, 16);
    lwq_stateless_reset_detect(data, size, (const uint8_t(*)[LWQ_RESET_TOKEN_LEN])tokens, 2);
    if (size >= 9)
        lwq_pn_decode(lwq_get64(data), data[8], (size_t)(data[8] & 3) + 1);
    return 0;
}
