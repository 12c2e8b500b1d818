#include "lwquic/common.h"

const char *lwq_strerror(int err)
{
    switch (err) {
    case LWQ_OK: return "LWQ_OK: success";
    case LWQ_ERR_NOMEM: return "LWQ_ERR_NOMEM: out of memory";
    case LWQ_ERR_NOBUF: return "LWQ_ERR_NOBUF: output buffer too small";
    case LWQ_ERR_INVAL: return "LWQ_ERR_INVAL: invalid argument";
    case LWQ_ERR_TRUNCATED: return "LWQ_ERR_TRUNCATED: input truncated";
    case LWQ_ERR_DECODE: return "LWQ_ERR_DECODE: malformed encoding";
    case LWQ_ERR_LIMIT: return "LWQ_ERR_LIMIT: configured limit exceeded";
    case LWQ_ERR_DECRYPT: return "LWQ_ERR_DECRYPT: authentication failed";
    case LWQ_ERR_CRYPTO: return "LWQ_ERR_CRYPTO: crypto primitive failed";
    case LWQ_ERR_UNSUPPORTED: return "LWQ_ERR_UNSUPPORTED: not supported";
    case LWQ_ERR_STATE: return "LWQ_ERR_STATE: not valid in this state";
    case LWQ_ERR_AGAIN: return "LWQ_ERR_AGAIN: try again later";
    case LWQ_ERR_IO: return "LWQ_ERR_IO: I/O error";
    case LWQ_ERR_NOT_FOUND: return "LWQ_ERR_NOT_FOUND: not found";
    case LWQ_ERR_PROTO: return "LWQ_ERR_PROTO: protocol violation by the peer";
    case LWQ_ERR_ALERT: return "LWQ_ERR_ALERT: TLS handshake failed";
    case LWQ_ERR_CLOSED: return "LWQ_ERR_CLOSED: closed";
    case LWQ_ERR_REFUSED: return "LWQ_ERR_REFUSED: connection refused";
    case LWQ_ERR_ADDR_IN_USE: return "LWQ_ERR_ADDR_IN_USE: address already in use by another socket";
    case LWQ_ERR_TIMEOUT: return "LWQ_ERR_TIMEOUT: timed out";
    case LWQ_ERR_RESET: return "LWQ_ERR_RESET: stream reset by the peer";
    case LWQ_ERR_CERT_EXPIRED: return "LWQ_ERR_CERT_EXPIRED: certificate has expired";
    case LWQ_ERR_CERT_NOT_YET_VALID: return "LWQ_ERR_CERT_NOT_YET_VALID: certificate is not yet valid";
    case LWQ_ERR_CERT_UNKNOWN_CA: return "LWQ_ERR_CERT_UNKNOWN_CA: certificate chain does not lead to a trusted CA";
    case LWQ_ERR_CERT_NAME_MISMATCH: return "LWQ_ERR_CERT_NAME_MISMATCH: certificate does not match the host name";
    case LWQ_ERR_CERT_BAD_SIGNATURE: return "LWQ_ERR_CERT_BAD_SIGNATURE: bad signature";
    case LWQ_ERR_CERT_UNSUPPORTED_ALG: return "LWQ_ERR_CERT_UNSUPPORTED_ALG: unsupported certificate algorithm";
    case LWQ_ERR_CERT_MALFORMED: return "LWQ_ERR_CERT_MALFORMED: malformed certificate";
    case LWQ_ERR_CERT_NOT_CA: return "LWQ_ERR_CERT_NOT_CA: issuer is not a CA";
    case LWQ_ERR_CERT_CHAIN_TOO_LONG: return "LWQ_ERR_CERT_CHAIN_TOO_LONG: certificate chain too long";
    case LWQ_ERR_CERT_REJECTED: return "LWQ_ERR_CERT_REJECTED: certificate rejected by the application";
    }
    return "unknown lwquic error";
}
