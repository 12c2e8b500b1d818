#include "lwquic/quic_errors.h"

/* RFC 9000 §20.1 */
static const char *const names[] = {
    "NO_ERROR",
    "INTERNAL_ERROR",
    "CONNECTION_REFUSED",
    "FLOW_CONTROL_ERROR",
    "STREAM_LIMIT_ERROR",
    "STREAM_STATE_ERROR",
    "FINAL_SIZE_ERROR",
    "FRAME_ENCODING_ERROR",
    "TRANSPORT_PARAMETER_ERROR",
    "CONNECTION_ID_LIMIT_ERROR",
    "PROTOCOL_VIOLATION",
    "INVALID_TOKEN",
    "APPLICATION_ERROR",
    "CRYPTO_BUFFER_EXCEEDED",
    "KEY_UPDATE_ERROR",
    "AEAD_LIMIT_REACHED",
    "NO_VIABLE_PATH",
    "VERSION_NEGOTIATION_ERROR", /* RFC 9368 §10 */
};

const char *lwq_quic_error_name(uint64_t code)
{
    if (code < sizeof(names) / sizeof(names[0]))
        return names[code];
    if (code >= LWQ_QUIC_ERR_CRYPTO_ERROR && code <= LWQ_QUIC_ERR_CRYPTO_ERROR_LAST)
        return "CRYPTO_ERROR";
    return "UNKNOWN";
}
