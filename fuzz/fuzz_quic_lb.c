#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "lwquic/quic_lb.h"

/* Byte 0: 0 reads the rest as the textual configuration (what parses must be a valid configuration);
 * otherwise bytes 1..3 pick a configuration (config rotation, server ID and nonce lengths, key or
 * not) and the rest is a CID to decode: whatever decodes must encode back to the same CID. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lwq_quic_lb lb;
    if (size < 1)
        return 0;
    if (data[0] == 0) {
        char text[256];
        size_t n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
        memcpy(text, data + 1, n);
        text[n] = 0;
        if (lwq_quic_lb_parse(&lb, text) == 0 && lwq_quic_lb_check(&lb) != 0)
            __builtin_trap();
        return 0;
    }
    if (size < 4)
        return 0;
    memset(&lb, 0, sizeof(lb));
    lb.config_id = data[1] & 7;
    lb.server_id_len = (uint8_t)(data[2] & 15);
    lb.nonce_len = (uint8_t)(data[3] & 31);
    lb.has_key = data[0] & 1;
    for (size_t i = 0; i < sizeof(lb.key); i++)
        lb.key[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(lb.server_id); i++)
        lb.server_id[i] = (uint8_t)i;
    const uint8_t *cid = data + 4;
    size_t len = size - 4;
    uint8_t sid[LWQ_QUIC_LB_SID_MAX], nonce[LWQ_QUIC_LB_CID_MAX], again[LWQ_QUIC_LB_CID_MAX];
    int rv = lwq_quic_lb_decode(&lb, cid, len, sid, nonce);
    if (lwq_quic_lb_check(&lb) != 0) {
        if (rv != LWQ_ERR_INVAL)
            __builtin_trap();
        return 0;
    }
    (void)lwq_quic_lb_shard(&lb, cid, len);
    if (rv != 0)
        return 0;
    size_t n = lwq_quic_lb_cid_len(&lb);
    if (lwq_quic_lb_encode(&lb, sid, nonce, again) != 0)
        __builtin_trap();
    /* the first octet's low bits carry the length: equal only when the CID's did */
    if (memcmp(again + 1, cid + 1, n - 1) != 0 || (again[0] >> 5) != (cid[0] >> 5))
        __builtin_trap();
    return 0;
}
