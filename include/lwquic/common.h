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

/* The library's version (semantic versioning; docs/architecture.md, "ABI"): the headers'
 * LWQ_LIB_VERSION_* and, at run time, lwq_version() = the LWQ_LIB_VERSION_NUM the library was built
 * with, lwq_version_string() = its LWQ_LIB_VERSION_STR. */
#define LWQ_LIB_VERSION_MAJOR 0
#define LWQ_LIB_VERSION_MINOR 1
#define LWQ_LIB_VERSION_PATCH 0
#define LWQ_LIB_VERSION_STR "0.1.0"
#define LWQ_LIB_VERSION_NUM ((LWQ_LIB_VERSION_MAJOR << 16) | (LWQ_LIB_VERSION_MINOR << 8) | LWQ_LIB_VERSION_PATCH)
LWQ_API uint32_t lwq_version(void);
LWQ_API const char *lwq_version_string(void);

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
    LWQ_ERR_ADDR_IN_USE = -18, /* another socket (another process) already holds the address */
    LWQ_ERR_TIMEOUT = -19,     /* no answer within the time allowed */
    LWQ_ERR_RESET = -20,       /* the peer reset or refused the stream (see its application code) */
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
LWQ_API const char *lwq_strerror(int err);

/* All allocation goes through this. NULL fields use the C library. */
typedef struct lwq_allocator {
    void *(*malloc)(void *ud, size_t n);
    void *(*calloc)(void *ud, size_t nmemb, size_t size);
    void *(*realloc)(void *ud, void *p, size_t n);
    void (*free)(void *ud, void *p);
    void *ud;
} lwq_allocator;

/* The C library's allocator. */
LWQ_API const lwq_allocator *lwq_default_allocator(void);

/* Randomness source; the default draws from the OS CSPRNG. */
typedef struct lwq_rng {
    void (*fill)(void *ud, uint8_t *out, size_t n);
    void *ud;
} lwq_rng;

LWQ_API const lwq_rng *lwq_default_rng(void);

/* A memory budget in bytes shared by many connections and the application (docs/security.md): what
 * peers may make us hold is reserved from it before it is offered. Safe to use from any thread. */
typedef struct lwq_budget lwq_budget;
LWQ_API int lwq_budget_new(lwq_budget **out, uint64_t limit);
LWQ_API void lwq_budget_del(lwq_budget *b);
/* Reserves n bytes: 0, or LWQ_ERR_LIMIT (nothing reserved). A NULL budget has no limit. */
LWQ_API int lwq_budget_take(lwq_budget *b, uint64_t n);
LWQ_API void lwq_budget_give(lwq_budget *b, uint64_t n);
LWQ_API uint64_t lwq_budget_used(const lwq_budget *b);

#ifdef __cplusplus
}
#endif
#endif
