/* lwquic: types shared by every layer: time, errors, allocator, randomness. */
#ifndef LWQUIC_COMMON_H
#define LWQUIC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a function of the public API: the only symbols liblwquic.so exports. */
#if defined(__GNUC__) || defined(__clang__)
#define LWQ_API __attribute__((visibility("default")))
#else
#define LWQ_API
#endif

/* Monotonic time in nanoseconds, always passed in by the caller. */
typedef uint64_t lwq_tstamp;
#define LWQ_TSTAMP_INF UINT64_MAX
#define LWQ_MS ((lwq_tstamp)1000000)
#define LWQ_SEC ((lwq_tstamp)1000000000)

/* Library return codes: 0 or one of these (negative). */
enum {
    LWQ_OK = 0,
    LWQ_ERR_NOMEM = -1,        /* allocation failed */
    LWQ_ERR_NOBUF = -2,        /* output buffer too small */
    LWQ_ERR_INVAL = -3,        /* bad argument from the caller */
    LWQ_ERR_TRUNCATED = -4,    /* input ended early */
    LWQ_ERR_DECODE = -5,       /* malformed encoding */
    LWQ_ERR_LIMIT = -6,        /* a configured limit was exceeded */
    LWQ_ERR_DECRYPT = -7,      /* AEAD authentication failed */
    LWQ_ERR_CRYPTO = -8,       /* a crypto primitive failed */
    LWQ_ERR_UNSUPPORTED = -9,  /* algorithm or feature not supported */
    LWQ_ERR_STATE = -10,       /* call not valid in this state */
    LWQ_ERR_AGAIN = -11,       /* nothing to do yet, try later */
    LWQ_ERR_IO = -12,          /* file or socket error */
    LWQ_ERR_NOT_FOUND = -13,   /* no such entry */
    LWQ_ERR_PROTO = -14,       /* peer violated the protocol (see the conn's wire error) */
    LWQ_ERR_ALERT = -15,       /* TLS handshake failed with an alert */
    LWQ_ERR_CLOSED = -16,      /* object is closed */
    LWQ_ERR_REFUSED = -17,     /* the peer's host refused the datagrams (ICMP port unreachable) */
    LWQ_ERR_TIMEOUT = -18,     /* no answer within the time allowed */
    LWQ_ERR_RESET = -19,       /* the peer reset or refused the stream (see its application code) */
    /* certificate verification failures */
    LWQ_ERR_CERT_EXPIRED = -30,
    LWQ_ERR_CERT_NOT_YET_VALID = -31,
    LWQ_ERR_CERT_UNKNOWN_CA = -32,
    LWQ_ERR_CERT_NAME_MISMATCH = -33,
    LWQ_ERR_CERT_BAD_SIGNATURE = -34,
    LWQ_ERR_CERT_UNSUPPORTED_ALG = -35,
    LWQ_ERR_CERT_MALFORMED = -36,
    LWQ_ERR_CERT_NOT_CA = -37,
    LWQ_ERR_CERT_CHAIN_TOO_LONG = -38,
    LWQ_ERR_CERT_REJECTED = -39, /* refused by the application's verify hook */
};

/* Name of a LWQ_ERR_* code ("LWQ_ERR_NOMEM: out of memory"). Never NULL. */
const char *lwq_strerror(int err);

/* All allocation goes through this. NULL fields use the C library. */
typedef struct lwq_allocator {
    void *(*malloc)(void *ud, size_t n);
    void *(*calloc)(void *ud, size_t nmemb, size_t size);
    void *(*realloc)(void *ud, void *p, size_t n);
    void (*free)(void *ud, void *p);
    void *ud;
} lwq_allocator;

/* The C library's allocator. */
const lwq_allocator *lwq_default_allocator(void);

/* Randomness source; the default draws from the OS CSPRNG. */
typedef struct lwq_rng {
    void (*fill)(void *ud, uint8_t *out, size_t n);
    void *ud;
} lwq_rng;

const lwq_rng *lwq_default_rng(void);

#ifdef __cplusplus
}
#endif
#endif
