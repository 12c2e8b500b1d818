/* The server's look into a ClientHello for the client's version_information (RFC 9368 §2.3): the
 * extension scan and the transport parameters it finds, on any bytes and every prefix length. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "quic/conn_version.h"
#include "quic/tparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *tp = NULL;
    size_t tplen = 0;
    ssize_t r = lwq_client_hello_tparams(data, size, &tp, &tplen);
    if (r > 0) {
        if ((size_t)r > size || tp < data || tp + tplen > data + r)
            abort();
        lwq_tparams t;
        if (lwq_tparams_decode(&t, tp, tplen, 0) >= 0 && t.has_version_info &&
            (t.chosen_version == 0 || t.n_available_versions > LWQ_TP_VERSIONS_MAX))
            abort();
    }
    /* a prefix is never a whole message */
    if (r > 0 && size > 0 && lwq_client_hello_tparams(data, (size_t)r - 1, &tp, &tplen) != 0)
        abort();
    return 0;
}
