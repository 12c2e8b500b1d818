#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "quic/tparams.h"

/* Byte 0 picks the sender (bit 0: server); the rest is the extension body. Whatever decodes must
 * encode again, and decoding that encoding must give the same encoding back. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[2048], again[2048];
    if (size < 1)
        return 0;
    int from_server = data[0] & 1;
    lwq_tparams tp, tp2;
    ssize_t r = lwq_tparams_decode(&tp, data + 1, size - 1, from_server);
    if (r < 0) {
        if (tp.wire_error != 0x08)
            __builtin_trap();
        return 0;
    }
    if ((size_t)r != size - 1)
        __builtin_trap();
    lwq_tp_cids seen;
    memset(&seen, 0, sizeof(seen));
    lwq_cid_set(&seen.peer_scid, tp.initial_scid.id, tp.initial_scid.len);
    seen.odcid = tp.original_dcid;
    seen.retry_scid = tp.retry_scid;
    seen.retried = tp.has_retry_scid;
    if (tp.has_initial_scid && (!from_server || tp.has_original_dcid) &&
        lwq_tparams_check_cids(&tp, from_server, &seen) != 0)
        __builtin_trap();
    size_t len = lwq_tparams_encoded_len(&tp, from_server);
    ssize_t w = lwq_tparams_encode(out, sizeof(out), &tp, from_server);
    if (w < 0 || (size_t)w != len)
        __builtin_trap();
    if (lwq_tparams_decode(&tp2, out, len, from_server) != (ssize_t)len)
        __builtin_trap();
    if (lwq_tparams_encode(again, sizeof(again), &tp2, from_server) != w || memcmp(out, again, len) != 0)
        __builtin_trap();
    return 0;
}
