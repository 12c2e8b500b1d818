/* TLS 1.3 handshake messages (RFC 9846 §4): resumable reassembly of the
 * handshake byte stream and a pure codec for every message QUIC carries.
 *
 * Decoders take one whole message, header included, and never read past n.
 * Variable-length fields are spans pointing into the decoded buffer (no
 * allocation); lists stay in wire form and are walked with the helpers below.
 * Decoders return bytes consumed (4 + body length) or:
 *   LWQ_ERR_TRUNCATED  the input ends inside the message
 *   LWQ_ERR_DECODE     a malformed field, a bad vector length, trailing bytes
 *   LWQ_ERR_PROTO      well-formed but illegal: a recognised extension that is
 *                      not allowed in this message, a duplicate extension,
 *                      pre_shared_key not last (alert illegal_parameter)
 *   LWQ_ERR_LIMIT      more than LWQ_TLS_EXT_MAX extensions
 * Encoders write the whole message into (out, cap) and return its length,
 * LWQ_ERR_NOBUF, or LWQ_ERR_INVAL when a field is longer than its length prefix
 * allows; each has an _encoded_len twin (0 for such a message). */
#ifndef LWQ_TLS_MSG_H
#define LWQ_TLS_MSG_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "lwquic/common.h"

/* RFC 9846 §4 HandshakeType */
enum {
    LWQ_TLS_HS_CLIENT_HELLO = 1,
    LWQ_TLS_HS_SERVER_HELLO = 2,
    LWQ_TLS_HS_NEW_SESSION_TICKET = 4,
    LWQ_TLS_HS_END_OF_EARLY_DATA = 5,
    LWQ_TLS_HS_ENCRYPTED_EXTENSIONS = 8,
    LWQ_TLS_HS_CERTIFICATE = 11,
    LWQ_TLS_HS_CERTIFICATE_REQUEST = 13,
    LWQ_TLS_HS_CERTIFICATE_VERIFY = 15,
    LWQ_TLS_HS_FINISHED = 20,
    LWQ_TLS_HS_KEY_UPDATE = 24,
    LWQ_TLS_HS_MESSAGE_HASH = 254,
};

/* RFC 9846 §4.2 ExtensionType, the ones this codec understands */
enum {
    LWQ_TLS_EXT_SERVER_NAME = 0,
    LWQ_TLS_EXT_STATUS_REQUEST = 5,
    LWQ_TLS_EXT_SUPPORTED_GROUPS = 10,
    LWQ_TLS_EXT_SIGNATURE_ALGORITHMS = 13,
    LWQ_TLS_EXT_ALPN = 16,
    LWQ_TLS_EXT_PRE_SHARED_KEY = 41,
    LWQ_TLS_EXT_EARLY_DATA = 42,
    LWQ_TLS_EXT_SUPPORTED_VERSIONS = 43,
    LWQ_TLS_EXT_COOKIE = 44,
    LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    LWQ_TLS_EXT_CERTIFICATE_AUTHORITIES = 47,
    LWQ_TLS_EXT_OID_FILTERS = 48,
    LWQ_TLS_EXT_POST_HANDSHAKE_AUTH = 49,
    LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    LWQ_TLS_EXT_KEY_SHARE = 51,
    LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS = 57,
};

#define LWQ_TLS_VERSION_13 0x0304
#define LWQ_TLS_LEGACY_VERSION 0x0303
#define LWQ_TLS_PSK_DHE_KE 1
/* Hard cap of extensions per block; the TLS config may set a lower one. */
#define LWQ_TLS_EXT_MAX 128

/* RFC 9846 §4.1.3: ServerHello.random of a HelloRetryRequest */
extern const uint8_t lwq_tls_hrr_random[32];

typedef struct lwq_tls_span {
    const uint8_t *p;
    size_t n;
} lwq_tls_span;

/* ---- reassembly of the handshake byte stream ---- */

/* Collects one message (header + body) at a time from arbitrary splits. */
typedef struct lwq_tls_reasm {
    const lwq_allocator *alloc;
    size_t max_body;
    uint8_t hdr[4];
    size_t hdrlen;
    uint8_t *msg; /* 4 + body bytes once the header is known */
    size_t len, got;
} lwq_tls_reasm;

void lwq_tls_reasm_init(lwq_tls_reasm *r, const lwq_allocator *a, size_t max_body);
void lwq_tls_reasm_free(lwq_tls_reasm *r);
/* Takes bytes toward the current message. Returns bytes consumed (stops at the
 * end of a message); *done is 1 when r->msg holds a whole message of r->len
 * bytes, which stays valid until lwq_tls_reasm_next. Errors: LWQ_ERR_LIMIT
 * (body larger than max_body, checked from the header before allocating),
 * LWQ_ERR_NOMEM; on failure nothing is consumed. */
ssize_t lwq_tls_reasm_feed(lwq_tls_reasm *r, const uint8_t *p, size_t n, int *done);
/* Drops the completed message. */
void lwq_tls_reasm_next(lwq_tls_reasm *r);
/* 1 when part of a message is buffered. */
int lwq_tls_reasm_partial(const lwq_tls_reasm *r);

/* ---- the messages ---- */

/* Type and body length of a header; LWQ_ERR_TRUNCATED with fewer than 4 bytes. */
ssize_t lwq_tls_msg_header(const uint8_t *p, size_t n, uint8_t *type, size_t *bodylen);

typedef struct lwq_tls_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    lwq_tls_span session_id;
    lwq_tls_span suites;      /* CipherSuite list (u16 each) */
    lwq_tls_span compression; /* legacy_compression_methods */
    uint64_t present;         /* bit lwq_tls_ext_bit(type) per known extension */
    size_t next, unknown;     /* extensions in the block (unknown ones included), unknown ones */
    lwq_tls_span server_name; /* the first host_name */
    lwq_tls_span groups;      /* NamedGroup list */
    lwq_tls_span sigalgs, sigalgs_cert;
    lwq_tls_span alpn;     /* ProtocolNameList contents */
    lwq_tls_span versions; /* ProtocolVersion list */
    lwq_tls_span shares;   /* KeyShareEntry list contents */
    lwq_tls_span psk_modes;
    lwq_tls_span cookie;
    lwq_tls_span transport_params;
    lwq_tls_span psk_identities; /* PskIdentity list contents */
    lwq_tls_span psk_binders;    /* PskBinderEntry list contents */
    size_t binders_off;          /* message bytes before the binders list (the truncated ClientHello) */
} lwq_tls_client_hello;

/* ServerHello and HelloRetryRequest (is_hrr from the random). */
typedef struct lwq_tls_server_hello {
    int is_hrr;
    uint16_t legacy_version;
    uint8_t random[32];
    lwq_tls_span session_id;
    uint16_t suite;
    uint8_t compression;
    uint64_t present;
    size_t next, unknown;
    uint16_t version;   /* supported_versions selected_version */
    uint16_t group;     /* key_share group (HRR: selected_group) */
    lwq_tls_span share; /* key_exchange (ServerHello only) */
    uint16_t psk_identity;
    lwq_tls_span cookie;
} lwq_tls_server_hello;

typedef struct lwq_tls_encrypted_extensions {
    uint64_t present;
    size_t next, unknown;
    lwq_tls_span alpn; /* the single selected protocol */
    lwq_tls_span groups;
    lwq_tls_span transport_params;
} lwq_tls_encrypted_extensions;

typedef struct lwq_tls_certificate {
    lwq_tls_span context;
    lwq_tls_span list; /* CertificateEntry list contents */
    size_t count;
    int entry_exts; /* some entry carried extensions */
} lwq_tls_certificate;

typedef struct lwq_tls_certificate_request {
    lwq_tls_span context;
    uint64_t present;
    size_t next;
    lwq_tls_span sigalgs;
} lwq_tls_certificate_request;

typedef struct lwq_tls_certificate_verify {
    uint16_t scheme;
    lwq_tls_span sig;
} lwq_tls_certificate_verify;

typedef struct lwq_tls_finished {
    lwq_tls_span verify_data;
} lwq_tls_finished;

typedef struct lwq_tls_new_session_ticket {
    uint32_t lifetime;
    uint32_t age_add;
    lwq_tls_span nonce;
    lwq_tls_span ticket;
    uint64_t present;
    size_t next;
    uint32_t max_early_data; /* when early_data is present */
} lwq_tls_new_session_ticket;

/* Bit of a known extension type in the `present` masks, 0 for others. */
uint64_t lwq_tls_ext_bit(uint16_t type);

ssize_t lwq_tls_client_hello_decode(lwq_tls_client_hello *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_client_hello_encode(const lwq_tls_client_hello *m, uint8_t *out, size_t cap);
size_t lwq_tls_client_hello_encoded_len(const lwq_tls_client_hello *m);
ssize_t lwq_tls_server_hello_decode(lwq_tls_server_hello *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_server_hello_encode(const lwq_tls_server_hello *m, uint8_t *out, size_t cap);
size_t lwq_tls_server_hello_encoded_len(const lwq_tls_server_hello *m);
ssize_t lwq_tls_encrypted_extensions_decode(lwq_tls_encrypted_extensions *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_encrypted_extensions_encode(const lwq_tls_encrypted_extensions *m, uint8_t *out, size_t cap);
size_t lwq_tls_encrypted_extensions_encoded_len(const lwq_tls_encrypted_extensions *m);
ssize_t lwq_tls_certificate_decode(lwq_tls_certificate *out, const uint8_t *p, size_t n);
/* Encodes `count` DER certificates (entries without extensions). */
ssize_t lwq_tls_certificate_encode(const lwq_tls_span *context, const uint8_t *const *der, const size_t *len,
                                   size_t count, uint8_t *out, size_t cap);
size_t lwq_tls_certificate_encoded_len(const lwq_tls_span *context, const size_t *len, size_t count);
ssize_t lwq_tls_certificate_request_decode(lwq_tls_certificate_request *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_certificate_request_encode(const lwq_tls_certificate_request *m, uint8_t *out, size_t cap);
ssize_t lwq_tls_certificate_verify_decode(lwq_tls_certificate_verify *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_certificate_verify_encode(const lwq_tls_certificate_verify *m, uint8_t *out, size_t cap);
ssize_t lwq_tls_finished_decode(lwq_tls_finished *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_finished_encode(const lwq_tls_finished *m, uint8_t *out, size_t cap);
ssize_t lwq_tls_new_session_ticket_decode(lwq_tls_new_session_ticket *out, const uint8_t *p, size_t n);
ssize_t lwq_tls_new_session_ticket_encode(const lwq_tls_new_session_ticket *m, uint8_t *out, size_t cap);
size_t lwq_tls_new_session_ticket_encoded_len(const lwq_tls_new_session_ticket *m);

/* ---- list walkers over spans a decoder validated ---- */

/* 1 when a list of big-endian u16 contains v. */
int lwq_tls_u16_list_has(lwq_tls_span list, uint16_t v);
/* Writes n values as big-endian u16 into out (2n bytes); returns the span. */
lwq_tls_span lwq_tls_u16_list_put(uint8_t *out, const uint16_t *v, size_t n);
/* Key share entry for group in a ClientHello list; 1 when found. */
int lwq_tls_find_share(lwq_tls_span shares, uint16_t group, lwq_tls_span *key);
/* Entry i of a length-prefixed item list: ALPN names (u8 prefix), PSK binders (u8). */
int lwq_tls_vec8_at(lwq_tls_span list, size_t i, lwq_tls_span *item);
/* PSK identity i and its obfuscated age. */
int lwq_tls_psk_identity_at(lwq_tls_span list, size_t i, lwq_tls_span *identity, uint32_t *age);
/* Certificate entry i (DER). */
int lwq_tls_cert_at(lwq_tls_span list, size_t i, lwq_tls_span *der);

#endif
