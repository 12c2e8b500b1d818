#include <string.h>
#include "base/mem.h"
#include "tls/msg.h"

const uint8_t lwq_tls_hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* Where each known extension may appear (RFC 9846 §4.2 table). */
enum { M_CH = 1, M_SH = 2, M_HRR = 4, M_EE = 8, M_CT = 16, M_CR = 32, M_NST = 64 };

static const struct {
    uint16_t type;
    uint8_t allowed;
} known_exts[] = {
    {LWQ_TLS_EXT_SERVER_NAME, M_CH | M_EE | M_CR},
    {LWQ_TLS_EXT_STATUS_REQUEST, M_CH | M_CR | M_CT},
    {LWQ_TLS_EXT_SUPPORTED_GROUPS, M_CH | M_EE},
    {LWQ_TLS_EXT_SIGNATURE_ALGORITHMS, M_CH | M_CR},
    {LWQ_TLS_EXT_ALPN, M_CH | M_EE},
    {LWQ_TLS_EXT_PRE_SHARED_KEY, M_CH | M_SH},
    {LWQ_TLS_EXT_EARLY_DATA, M_CH | M_EE | M_NST},
    {LWQ_TLS_EXT_SUPPORTED_VERSIONS, M_CH | M_SH | M_HRR},
    {LWQ_TLS_EXT_COOKIE, M_CH | M_HRR},
    {LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES, M_CH},
    {LWQ_TLS_EXT_CERTIFICATE_AUTHORITIES, M_CH | M_CR},
    {LWQ_TLS_EXT_OID_FILTERS, M_CR},
    {LWQ_TLS_EXT_POST_HANDSHAKE_AUTH, M_CH},
    {LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT, M_CH | M_CR},
    {LWQ_TLS_EXT_KEY_SHARE, M_CH | M_SH | M_HRR},
    {LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS, M_CH | M_EE},
};
#define NKNOWN (sizeof(known_exts) / sizeof(known_exts[0]))

static int known_index(uint16_t type)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (known_exts[i].type == type)
            return (int)i;
    return -1;
}

uint64_t lwq_tls_ext_bit(uint16_t type)
{
    int i = known_index(type);
    return i < 0 ? 0 : (uint64_t)1 << i;
}

/* ---- reading ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static int rd_u8(rd *r, uint8_t *v)
{
    if (r->n < 1)
        return LWQ_ERR_TRUNCATED;
    *v = r->p[0];
    r->p++, r->n--;
    return 0;
}

static int rd_u16(rd *r, uint16_t *v)
{
    if (r->n < 2)
        return LWQ_ERR_TRUNCATED;
    *v = lwq_get16(r->p);
    r->p += 2, r->n -= 2;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v)
{
    if (r->n < 4)
        return LWQ_ERR_TRUNCATED;
    *v = lwq_get32(r->p);
    r->p += 4, r->n -= 4;
    return 0;
}

static int rd_bytes(rd *r, size_t len, lwq_tls_span *s)
{
    if (r->n < len)
        return LWQ_ERR_TRUNCATED;
    s->p = r->p;
    s->n = len;
    r->p += len, r->n -= len;
    return 0;
}

/* A vector with a `lenbytes`-byte length prefix whose length is within [min, max]. */
static int rd_vec(rd *r, int lenbytes, size_t min, size_t max, lwq_tls_span *s)
{
    size_t len;
    if (r->n < (size_t)lenbytes)
        return LWQ_ERR_TRUNCATED;
    len = lenbytes == 1 ? r->p[0] : lenbytes == 2 ? lwq_get16(r->p) : lwq_get24(r->p);
    if (r->n - (size_t)lenbytes < len)
        return LWQ_ERR_TRUNCATED;
    if (len < min || len > max)
        return LWQ_ERR_DECODE;
    r->p += lenbytes, r->n -= (size_t)lenbytes;
    return rd_bytes(r, len, s);
}

/* An extension body must be consumed exactly (RFC 9846 §4.2). */
static int rd_end(const rd *r)
{
    return r->n ? LWQ_ERR_DECODE : 0;
}

/* Inside an extension body a short read is a malformed extension, not a short message. */
static int ext_err(int rc)
{
    return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
}

ssize_t lwq_tls_msg_header(const uint8_t *p, size_t n, uint8_t *type, size_t *bodylen)
{
    if (n < 4)
        return LWQ_ERR_TRUNCATED;
    *type = p[0];
    *bodylen = lwq_get24(p + 1);
    return 4;
}

/* Opens a message: checks the type and that the whole body is present. */
static int rd_msg(rd *r, const uint8_t *p, size_t n, uint8_t want)
{
    uint8_t type;
    size_t len;
    if (lwq_tls_msg_header(p, n, &type, &len) < 0)
        return LWQ_ERR_TRUNCATED;
    if (type != want)
        return LWQ_ERR_DECODE;
    if (n - 4 < len)
        return LWQ_ERR_TRUNCATED;
    r->p = p + 4;
    r->n = len;
    return 0;
}

static int u16_list_ok(lwq_tls_span s)
{
    return s.n >= 2 && s.n % 2 == 0;
}

/* Walks an extension block; for each extension calls fn. Enforces the
 * per-message table, uniqueness and the cap. */
typedef int (*ext_fn)(void *obj, uint16_t type, rd *body, size_t index, size_t total_left);

static int rd_extensions(rd *r, uint8_t msgkind, size_t min, void *obj, ext_fn fn, uint64_t *present, size_t *next,
                         size_t *unknown)
{
    lwq_tls_span blk;
    uint16_t seen[LWQ_TLS_EXT_MAX];
    size_t cnt = 0;
    int rc = rd_vec(r, 2, min, 0xffff, &blk);
    if (rc)
        return rc;
    rd b = {blk.p, blk.n};
    *present = 0;
    while (b.n) {
        uint16_t type;
        lwq_tls_span body;
        if ((rc = rd_u16(&b, &type)) || (rc = rd_vec(&b, 2, 0, 0xffff, &body)))
            return LWQ_ERR_DECODE;
        if (cnt == LWQ_TLS_EXT_MAX)
            return LWQ_ERR_LIMIT;
        for (size_t i = 0; i < cnt; i++)
            if (seen[i] == type)
                return LWQ_ERR_PROTO; /* RFC 9846 §4.2: one extension of each type */
        seen[cnt++] = type;
        int k = known_index(type);
        if (k < 0) {
            if (unknown)
                (*unknown)++;
            continue;
        }
        if (!(known_exts[k].allowed & msgkind))
            return LWQ_ERR_PROTO; /* RFC 9846 §4.2: recognised but not allowed here */
        *present |= (uint64_t)1 << k;
        rd eb = {body.p, body.n};
        if (fn && (rc = fn(obj, type, &eb, cnt - 1, b.n)))
            return ext_err(rc);
    }
    *next = cnt;
    return 0;
}

/* ---- ClientHello ---- */

static int ch_ext(void *obj, uint16_t type, rd *e, size_t index, size_t left)
{
    lwq_tls_client_hello *m = obj;
    lwq_tls_span s;
    int rc;
    (void)index;
    switch (type) {
    case LWQ_TLS_EXT_SERVER_NAME: {
        /* RFC 6066 §3 */
        if ((rc = rd_vec(e, 2, 1, 0xffff, &s)))
            return rc;
        rd l = {s.p, s.n};
        int hosts = 0;
        while (l.n) {
            uint8_t nt;
            lwq_tls_span name;
            if ((rc = rd_u8(&l, &nt)) || (rc = rd_vec(&l, 2, 1, 0xffff, &name)))
                return rc;
            if (nt == 0 && hosts++ == 0)
                m->server_name = name;
        }
        /* exactly one host_name, the only name type there is */
        return hosts == 1 ? rd_end(e) : LWQ_ERR_DECODE;
    }
    case LWQ_TLS_EXT_SUPPORTED_GROUPS:
        if ((rc = rd_vec(e, 2, 2, 0xffff, &m->groups)))
            return rc;
        return u16_list_ok(m->groups) ? rd_end(e) : LWQ_ERR_DECODE;
    case LWQ_TLS_EXT_SIGNATURE_ALGORITHMS:
    case LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT:
        if ((rc = rd_vec(e, 2, 2, 0xfffe, &s)))
            return rc;
        if (!u16_list_ok(s))
            return LWQ_ERR_DECODE;
        *(type == LWQ_TLS_EXT_SIGNATURE_ALGORITHMS ? &m->sigalgs : &m->sigalgs_cert) = s;
        return rd_end(e);
    case LWQ_TLS_EXT_ALPN: {
        /* RFC 7301 §3.1 */
        if ((rc = rd_vec(e, 2, 2, 0xffff, &m->alpn)))
            return rc;
        rd l = {m->alpn.p, m->alpn.n};
        while (l.n)
            if ((rc = rd_vec(&l, 1, 1, 0xff, &s)))
                return rc;
        return rd_end(e);
    }
    case LWQ_TLS_EXT_SUPPORTED_VERSIONS:
        if ((rc = rd_vec(e, 1, 2, 254, &m->versions)))
            return rc;
        return u16_list_ok(m->versions) ? rd_end(e) : LWQ_ERR_DECODE;
    case LWQ_TLS_EXT_KEY_SHARE: {
        if ((rc = rd_vec(e, 2, 0, 0xffff, &m->shares)))
            return rc;
        rd l = {m->shares.p, m->shares.n};
        while (l.n) {
            uint16_t g;
            if ((rc = rd_u16(&l, &g)) || (rc = rd_vec(&l, 2, 1, 0xffff, &s)))
                return rc;
        }
        return rd_end(e);
    }
    case LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES:
        if ((rc = rd_vec(e, 1, 1, 255, &m->psk_modes)))
            return rc;
        return rd_end(e);
    case LWQ_TLS_EXT_COOKIE:
        if ((rc = rd_vec(e, 2, 1, 0xffff, &m->cookie)))
            return rc;
        return rd_end(e);
    case LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS:
        m->transport_params.p = e->p;
        m->transport_params.n = e->n;
        return 0;
    case LWQ_TLS_EXT_EARLY_DATA:
        return rd_end(e);
    case LWQ_TLS_EXT_PRE_SHARED_KEY: {
        /* RFC 9846 §4.2.11: last extension, as many binders as identities */
        if (left)
            return LWQ_ERR_PROTO;
        if ((rc = rd_vec(e, 2, 7, 0xffff, &m->psk_identities)))
            return rc;
        size_t nid = 0, nb = 0;
        rd l = {m->psk_identities.p, m->psk_identities.n};
        while (l.n) {
            uint32_t age;
            if ((rc = rd_vec(&l, 2, 1, 0xffff, &s)) || (rc = rd_u32(&l, &age)))
                return rc;
            nid++;
        }
        if ((rc = rd_vec(e, 2, 33, 0xffff, &m->psk_binders)))
            return rc;
        l.p = m->psk_binders.p;
        l.n = m->psk_binders.n;
        while (l.n) {
            if ((rc = rd_vec(&l, 1, 32, 255, &s)))
                return rc;
            nb++;
        }
        if (nb != nid)
            return LWQ_ERR_PROTO;
        return rd_end(e);
    }
    default:
        return 0;
    }
}

ssize_t lwq_tls_client_hello_decode(lwq_tls_client_hello *m, const uint8_t *p, size_t n)
{
    rd r;
    lwq_tls_span rnd;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_CLIENT_HELLO)))
        return rc;
    size_t total = 4 + r.n;
    rd body = r;
    if ((rc = rd_u16(&body, &m->legacy_version)) || (rc = rd_bytes(&body, 32, &rnd)) ||
        (rc = rd_vec(&body, 1, 0, 32, &m->session_id)) || (rc = rd_vec(&body, 2, 2, 0xfffe, &m->suites)) ||
        (rc = rd_vec(&body, 1, 1, 0xff, &m->compression)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    memcpy(m->random, rnd.p, 32);
    if (m->suites.n % 2)
        return LWQ_ERR_DECODE;
    if ((rc = rd_extensions(&body, M_CH, 7, m, ch_ext, &m->present, &m->next, &m->unknown)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    if (body.n)
        return LWQ_ERR_DECODE;
    if (m->psk_binders.p)
        m->binders_off = (size_t)(m->psk_binders.p - p) - 2;
    return (ssize_t)total;
}

/* ---- writing ---- */

typedef struct wr {
    uint8_t *p;
    size_t cap, len;
    int oversize; /* a vector longer than its length prefix can say */
} wr;

static void w_u8(wr *w, uint8_t v)
{
    if (w->len < w->cap)
        w->p[w->len] = v;
    w->len++;
}

static void w_u16(wr *w, uint16_t v)
{
    w_u8(w, (uint8_t)(v >> 8));
    w_u8(w, (uint8_t)v);
}

static void w_u32(wr *w, uint32_t v)
{
    w_u16(w, (uint16_t)(v >> 16));
    w_u16(w, (uint16_t)v);
}

static void w_bytes(wr *w, const void *p, size_t n)
{
    if (n && w->len + n <= w->cap)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

/* Reserves a length prefix; w_close fills it in. */
static size_t w_open(wr *w, int lenbytes)
{
    size_t at = w->len;
    for (int i = 0; i < lenbytes; i++)
        w_u8(w, 0);
    return at;
}

static void w_close(wr *w, size_t at, int lenbytes)
{
    size_t len = w->len - at - (size_t)lenbytes;
    if (lenbytes && len >> (8 * lenbytes))
        w->oversize = 1;
    if (w->len > w->cap)
        return;
    for (int i = lenbytes - 1; i >= 0; i--, len >>= 8)
        w->p[at + (size_t)i] = (uint8_t)len;
}

static void w_vec(wr *w, int lenbytes, lwq_tls_span s)
{
    size_t at = w_open(w, lenbytes);
    w_bytes(w, s.p, s.n);
    w_close(w, at, lenbytes);
}

static size_t w_ext_open(wr *w, uint16_t type)
{
    w_u16(w, type);
    return w_open(w, 2);
}

static void w_ext_close(wr *w, size_t at)
{
    w_close(w, at, 2);
}

static void w_ext_vec(wr *w, uint16_t type, int lenbytes, lwq_tls_span s)
{
    size_t at = w_ext_open(w, type);
    w_vec(w, lenbytes, s);
    w_ext_close(w, at);
}

static ssize_t w_done(const wr *w)
{
    if (w->oversize)
        return LWQ_ERR_INVAL;
    if (w->len > w->cap)
        return LWQ_ERR_NOBUF;
    return (ssize_t)w->len;
}

/* Each message's writer runs twice: sizing (out == NULL) and encoding. */
#define MSG_ENCODERS(name, writer)                                                                                     \
    ssize_t lwq_tls_##name##_encode(const lwq_tls_##name *m, uint8_t *out, size_t cap)                                 \
    {                                                                                                                  \
        wr w = {out, cap, 0, 0};                                                                                       \
        writer(m, &w);                                                                                                 \
        return w_done(&w);                                                                                             \
    }                                                                                                                  \
    size_t lwq_tls_##name##_encoded_len(const lwq_tls_##name *m)                                                       \
    {                                                                                                                  \
        wr w = {NULL, 0, 0, 0};                                                                                        \
        writer(m, &w);                                                                                                 \
        return w.oversize ? 0 : w.len;                                                                                 \
    }

static int has(uint64_t present, uint16_t type)
{
    return (present & lwq_tls_ext_bit(type)) != 0;
}

static void ch_write(const lwq_tls_client_hello *m, wr *w)
{
    w_u8(w, LWQ_TLS_HS_CLIENT_HELLO);
    size_t msg = w_open(w, 3);
    w_u16(w, m->legacy_version ? m->legacy_version : LWQ_TLS_LEGACY_VERSION);
    w_bytes(w, m->random, 32);
    w_vec(w, 1, m->session_id);
    w_vec(w, 2, m->suites);
    if (m->compression.n)
        w_vec(w, 1, m->compression);
    else
        w_u16(w, 0x0100);
    size_t exts = w_open(w, 2);
    if (has(m->present, LWQ_TLS_EXT_SERVER_NAME)) {
        size_t at = w_ext_open(w, LWQ_TLS_EXT_SERVER_NAME), l = w_open(w, 2);
        w_u8(w, 0);
        w_vec(w, 2, m->server_name);
        w_close(w, l, 2);
        w_ext_close(w, at);
    }
    if (has(m->present, LWQ_TLS_EXT_SUPPORTED_VERSIONS))
        w_ext_vec(w, LWQ_TLS_EXT_SUPPORTED_VERSIONS, 1, m->versions);
    if (has(m->present, LWQ_TLS_EXT_SUPPORTED_GROUPS))
        w_ext_vec(w, LWQ_TLS_EXT_SUPPORTED_GROUPS, 2, m->groups);
    if (has(m->present, LWQ_TLS_EXT_KEY_SHARE))
        w_ext_vec(w, LWQ_TLS_EXT_KEY_SHARE, 2, m->shares);
    if (has(m->present, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS))
        w_ext_vec(w, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS, 2, m->sigalgs);
    if (has(m->present, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT))
        w_ext_vec(w, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT, 2, m->sigalgs_cert);
    if (has(m->present, LWQ_TLS_EXT_ALPN))
        w_ext_vec(w, LWQ_TLS_EXT_ALPN, 2, m->alpn);
    if (has(m->present, LWQ_TLS_EXT_COOKIE))
        w_ext_vec(w, LWQ_TLS_EXT_COOKIE, 2, m->cookie);
    if (has(m->present, LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS))
        w_ext_vec(w, LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS, 0, m->transport_params);
    if (has(m->present, LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES))
        w_ext_vec(w, LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES, 1, m->psk_modes);
    if (has(m->present, LWQ_TLS_EXT_EARLY_DATA)) {
        w_u16(w, LWQ_TLS_EXT_EARLY_DATA);
        w_u16(w, 0);
    }
    if (has(m->present, LWQ_TLS_EXT_PRE_SHARED_KEY)) {
        /* RFC 9846 §4.2.11: always the last extension */
        size_t at = w_ext_open(w, LWQ_TLS_EXT_PRE_SHARED_KEY);
        w_vec(w, 2, m->psk_identities);
        w_vec(w, 2, m->psk_binders);
        w_ext_close(w, at);
    }
    w_close(w, exts, 2);
    w_close(w, msg, 3);
}

MSG_ENCODERS(client_hello, ch_write)

/* ---- ServerHello / HelloRetryRequest ---- */

static int sh_ext(void *obj, uint16_t type, rd *e, size_t index, size_t left)
{
    lwq_tls_server_hello *m = obj;
    int rc;
    (void)index, (void)left;
    switch (type) {
    case LWQ_TLS_EXT_SUPPORTED_VERSIONS:
        if ((rc = rd_u16(e, &m->version)))
            return rc;
        return rd_end(e);
    case LWQ_TLS_EXT_KEY_SHARE:
        if ((rc = rd_u16(e, &m->group)))
            return rc;
        if (!m->is_hrr && (rc = rd_vec(e, 2, 1, 0xffff, &m->share)))
            return rc;
        return rd_end(e);
    case LWQ_TLS_EXT_PRE_SHARED_KEY:
        if ((rc = rd_u16(e, &m->psk_identity)))
            return rc;
        return rd_end(e);
    case LWQ_TLS_EXT_COOKIE:
        if ((rc = rd_vec(e, 2, 1, 0xffff, &m->cookie)))
            return rc;
        return rd_end(e);
    default:
        return 0;
    }
}

ssize_t lwq_tls_server_hello_decode(lwq_tls_server_hello *m, const uint8_t *p, size_t n)
{
    rd r;
    lwq_tls_span rnd;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_SERVER_HELLO)))
        return rc;
    size_t total = 4 + r.n;
    if ((rc = rd_u16(&r, &m->legacy_version)) || (rc = rd_bytes(&r, 32, &rnd)) ||
        (rc = rd_vec(&r, 1, 0, 32, &m->session_id)) || (rc = rd_u16(&r, &m->suite)) ||
        (rc = rd_u8(&r, &m->compression)))
        return LWQ_ERR_DECODE;
    memcpy(m->random, rnd.p, 32);
    m->is_hrr = memcmp(m->random, lwq_tls_hrr_random, 32) == 0;
    if ((rc = rd_extensions(&r, m->is_hrr ? M_HRR : M_SH, 6, m, sh_ext, &m->present, &m->next, &m->unknown)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    if (r.n)
        return LWQ_ERR_DECODE;
    return (ssize_t)total;
}

static void sh_write(const lwq_tls_server_hello *m, wr *w)
{
    w_u8(w, LWQ_TLS_HS_SERVER_HELLO);
    size_t msg = w_open(w, 3);
    w_u16(w, m->legacy_version ? m->legacy_version : LWQ_TLS_LEGACY_VERSION);
    w_bytes(w, m->is_hrr ? lwq_tls_hrr_random : m->random, 32);
    w_vec(w, 1, m->session_id);
    w_u16(w, m->suite);
    w_u8(w, m->compression);
    size_t exts = w_open(w, 2);
    if (has(m->present, LWQ_TLS_EXT_SUPPORTED_VERSIONS)) {
        w_u16(w, LWQ_TLS_EXT_SUPPORTED_VERSIONS);
        w_u16(w, 2);
        w_u16(w, m->version);
    }
    if (has(m->present, LWQ_TLS_EXT_KEY_SHARE)) {
        size_t at = w_ext_open(w, LWQ_TLS_EXT_KEY_SHARE);
        w_u16(w, m->group);
        if (!m->is_hrr)
            w_vec(w, 2, m->share);
        w_ext_close(w, at);
    }
    if (has(m->present, LWQ_TLS_EXT_COOKIE))
        w_ext_vec(w, LWQ_TLS_EXT_COOKIE, 2, m->cookie);
    if (has(m->present, LWQ_TLS_EXT_PRE_SHARED_KEY)) {
        w_u16(w, LWQ_TLS_EXT_PRE_SHARED_KEY);
        w_u16(w, 2);
        w_u16(w, m->psk_identity);
    }
    w_close(w, exts, 2);
    w_close(w, msg, 3);
}

MSG_ENCODERS(server_hello, sh_write)

/* ---- EncryptedExtensions ---- */

static int ee_ext(void *obj, uint16_t type, rd *e, size_t index, size_t left)
{
    lwq_tls_encrypted_extensions *m = obj;
    lwq_tls_span list;
    int rc;
    (void)index, (void)left;
    switch (type) {
    case LWQ_TLS_EXT_ALPN: {
        /* RFC 7301 §3.1: the server answers with exactly one name */
        if ((rc = rd_vec(e, 2, 2, 0xffff, &list)))
            return rc;
        rd l = {list.p, list.n};
        if ((rc = rd_vec(&l, 1, 1, 0xff, &m->alpn)))
            return rc;
        return l.n ? LWQ_ERR_DECODE : rd_end(e);
    }
    case LWQ_TLS_EXT_SUPPORTED_GROUPS:
        if ((rc = rd_vec(e, 2, 2, 0xffff, &m->groups)))
            return rc;
        return u16_list_ok(m->groups) ? rd_end(e) : LWQ_ERR_DECODE;
    case LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS:
        m->transport_params.p = e->p;
        m->transport_params.n = e->n;
        return 0;
    case LWQ_TLS_EXT_SERVER_NAME:
    case LWQ_TLS_EXT_EARLY_DATA:
        return rd_end(e);
    default:
        return 0;
    }
}

ssize_t lwq_tls_encrypted_extensions_decode(lwq_tls_encrypted_extensions *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_ENCRYPTED_EXTENSIONS)))
        return rc;
    size_t total = 4 + r.n;
    if ((rc = rd_extensions(&r, M_EE, 0, m, ee_ext, &m->present, &m->next, &m->unknown)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    if (r.n)
        return LWQ_ERR_DECODE;
    return (ssize_t)total;
}

static void ee_write(const lwq_tls_encrypted_extensions *m, wr *w)
{
    w_u8(w, LWQ_TLS_HS_ENCRYPTED_EXTENSIONS);
    size_t msg = w_open(w, 3);
    size_t exts = w_open(w, 2);
    if (has(m->present, LWQ_TLS_EXT_SERVER_NAME)) {
        w_u16(w, LWQ_TLS_EXT_SERVER_NAME);
        w_u16(w, 0);
    }
    if (has(m->present, LWQ_TLS_EXT_ALPN)) {
        size_t at = w_ext_open(w, LWQ_TLS_EXT_ALPN), l = w_open(w, 2);
        w_vec(w, 1, m->alpn);
        w_close(w, l, 2);
        w_ext_close(w, at);
    }
    if (has(m->present, LWQ_TLS_EXT_SUPPORTED_GROUPS))
        w_ext_vec(w, LWQ_TLS_EXT_SUPPORTED_GROUPS, 2, m->groups);
    if (has(m->present, LWQ_TLS_EXT_EARLY_DATA)) {
        w_u16(w, LWQ_TLS_EXT_EARLY_DATA);
        w_u16(w, 0);
    }
    if (has(m->present, LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS))
        w_ext_vec(w, LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS, 0, m->transport_params);
    w_close(w, exts, 2);
    w_close(w, msg, 3);
}

MSG_ENCODERS(encrypted_extensions, ee_write)

/* ---- Certificate ---- */

ssize_t lwq_tls_certificate_decode(lwq_tls_certificate *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_CERTIFICATE)))
        return rc;
    size_t total = 4 + r.n;
    if ((rc = rd_vec(&r, 1, 0, 255, &m->context)) || (rc = rd_vec(&r, 3, 0, 0xffffff, &m->list)))
        return LWQ_ERR_DECODE;
    if (r.n)
        return LWQ_ERR_DECODE;
    rd l = {m->list.p, m->list.n};
    while (l.n) {
        lwq_tls_span der, exts;
        uint64_t present;
        size_t next, unknown = 0;
        if ((rc = rd_vec(&l, 3, 1, 0xffffff, &der)))
            return LWQ_ERR_DECODE;
        rd er = l;
        if ((rc = rd_vec(&er, 2, 0, 0xffff, &exts)))
            return LWQ_ERR_DECODE;
        if (exts.n) {
            /* RFC 9846 §4.4.2: entry extensions follow the §4.2 rules */
            if ((rc = rd_extensions(&l, M_CT, 0, NULL, NULL, &present, &next, &unknown)))
                return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
            m->entry_exts = 1;
        } else {
            l = er;
        }
        m->count++;
    }
    return (ssize_t)total;
}

static void cert_write(const lwq_tls_span *context, const uint8_t *const *der, const size_t *len, size_t count, wr *w)
{
    lwq_tls_span none = {NULL, 0};
    w_u8(w, LWQ_TLS_HS_CERTIFICATE);
    size_t msg = w_open(w, 3);
    w_vec(w, 1, context ? *context : none);
    size_t list = w_open(w, 3);
    for (size_t i = 0; i < count; i++) {
        lwq_tls_span s = {der ? der[i] : NULL, len[i]};
        w_vec(w, 3, s);
        w_u16(w, 0);
    }
    w_close(w, list, 3);
    w_close(w, msg, 3);
}

ssize_t lwq_tls_certificate_encode(const lwq_tls_span *context, const uint8_t *const *der, const size_t *len,
                                   size_t count, uint8_t *out, size_t cap)
{
    wr w = {out, cap, 0, 0};
    cert_write(context, der, len, count, &w);
    return w_done(&w);
}

size_t lwq_tls_certificate_encoded_len(const lwq_tls_span *context, const size_t *len, size_t count)
{
    wr w = {NULL, 0, 0, 0};
    cert_write(context, NULL, len, count, &w);
    return w.oversize ? 0 : w.len;
}

/* ---- CertificateRequest ---- */

static int cr_ext(void *obj, uint16_t type, rd *e, size_t index, size_t left)
{
    lwq_tls_certificate_request *m = obj;
    int rc;
    (void)index, (void)left;
    if (type != LWQ_TLS_EXT_SIGNATURE_ALGORITHMS)
        return 0;
    if ((rc = rd_vec(e, 2, 2, 0xfffe, &m->sigalgs)))
        return rc;
    return u16_list_ok(m->sigalgs) ? rd_end(e) : LWQ_ERR_DECODE;
}

ssize_t lwq_tls_certificate_request_decode(lwq_tls_certificate_request *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_CERTIFICATE_REQUEST)))
        return rc;
    size_t total = 4 + r.n;
    if ((rc = rd_vec(&r, 1, 0, 255, &m->context)))
        return LWQ_ERR_DECODE;
    if ((rc = rd_extensions(&r, M_CR, 2, m, cr_ext, &m->present, &m->next, NULL)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    /* RFC 9846 §4.3.2: signature_algorithms MUST be specified */
    if (r.n || !has(m->present, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS))
        return LWQ_ERR_DECODE;
    return (ssize_t)total;
}

ssize_t lwq_tls_certificate_request_encode(const lwq_tls_certificate_request *m, uint8_t *out, size_t cap)
{
    wr w = {out, cap, 0, 0};
    w_u8(&w, LWQ_TLS_HS_CERTIFICATE_REQUEST);
    size_t msg = w_open(&w, 3);
    w_vec(&w, 1, m->context);
    size_t exts = w_open(&w, 2);
    w_ext_vec(&w, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS, 2, m->sigalgs);
    w_close(&w, exts, 2);
    w_close(&w, msg, 3);
    return w_done(&w);
}

/* ---- CertificateVerify, Finished ---- */

ssize_t lwq_tls_certificate_verify_decode(lwq_tls_certificate_verify *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_CERTIFICATE_VERIFY)))
        return rc;
    size_t total = 4 + r.n;
    if (rd_u16(&r, &m->scheme) || rd_vec(&r, 2, 1, 0xffff, &m->sig) || r.n)
        return LWQ_ERR_DECODE;
    return (ssize_t)total;
}

ssize_t lwq_tls_certificate_verify_encode(const lwq_tls_certificate_verify *m, uint8_t *out, size_t cap)
{
    wr w = {out, cap, 0, 0};
    w_u8(&w, LWQ_TLS_HS_CERTIFICATE_VERIFY);
    size_t msg = w_open(&w, 3);
    w_u16(&w, m->scheme);
    w_vec(&w, 2, m->sig);
    w_close(&w, msg, 3);
    return w_done(&w);
}

ssize_t lwq_tls_finished_decode(lwq_tls_finished *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_FINISHED)))
        return rc;
    m->verify_data.p = r.p;
    m->verify_data.n = r.n;
    return (ssize_t)(4 + r.n);
}

ssize_t lwq_tls_finished_encode(const lwq_tls_finished *m, uint8_t *out, size_t cap)
{
    wr w = {out, cap, 0, 0};
    w_u8(&w, LWQ_TLS_HS_FINISHED);
    size_t msg = w_open(&w, 3);
    w_bytes(&w, m->verify_data.p, m->verify_data.n);
    w_close(&w, msg, 3);
    return w_done(&w);
}

/* ---- NewSessionTicket ---- */

static int nst_ext(void *obj, uint16_t type, rd *e, size_t index, size_t left)
{
    lwq_tls_new_session_ticket *m = obj;
    int rc;
    (void)index, (void)left;
    if (type != LWQ_TLS_EXT_EARLY_DATA)
        return 0;
    if ((rc = rd_u32(e, &m->max_early_data)))
        return rc;
    return rd_end(e);
}

ssize_t lwq_tls_new_session_ticket_decode(lwq_tls_new_session_ticket *m, const uint8_t *p, size_t n)
{
    rd r;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = rd_msg(&r, p, n, LWQ_TLS_HS_NEW_SESSION_TICKET)))
        return rc;
    size_t total = 4 + r.n;
    if (rd_u32(&r, &m->lifetime) || rd_u32(&r, &m->age_add) || rd_vec(&r, 1, 0, 255, &m->nonce) ||
        rd_vec(&r, 2, 1, 0xffff, &m->ticket))
        return LWQ_ERR_DECODE;
    if ((rc = rd_extensions(&r, M_NST, 0, m, nst_ext, &m->present, &m->next, NULL)))
        return rc == LWQ_ERR_TRUNCATED ? LWQ_ERR_DECODE : rc;
    if (r.n)
        return LWQ_ERR_DECODE;
    return (ssize_t)total;
}

static void nst_write(const lwq_tls_new_session_ticket *m, wr *w)
{
    w_u8(w, LWQ_TLS_HS_NEW_SESSION_TICKET);
    size_t msg = w_open(w, 3);
    w_u32(w, m->lifetime);
    w_u32(w, m->age_add);
    w_vec(w, 1, m->nonce);
    w_vec(w, 2, m->ticket);
    size_t exts = w_open(w, 2);
    if (has(m->present, LWQ_TLS_EXT_EARLY_DATA)) {
        w_u16(w, LWQ_TLS_EXT_EARLY_DATA);
        w_u16(w, 4);
        w_u32(w, m->max_early_data);
    }
    w_close(w, exts, 2);
    w_close(w, msg, 3);
}

MSG_ENCODERS(new_session_ticket, nst_write)

/* ---- list walkers ---- */

int lwq_tls_u16_list_has(lwq_tls_span list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.n; i += 2)
        if (lwq_get16(list.p + i) == v)
            return 1;
    return 0;
}

lwq_tls_span lwq_tls_u16_list_put(uint8_t *out, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lwq_put16(out + 2 * i, v[i]);
    lwq_tls_span s = {out, 2 * n};
    return s;
}

int lwq_tls_find_share(lwq_tls_span shares, uint16_t group, lwq_tls_span *key)
{
    rd l = {shares.p, shares.n};
    while (l.n) {
        uint16_t g;
        lwq_tls_span k;
        if (rd_u16(&l, &g) || rd_vec(&l, 2, 1, 0xffff, &k))
            return 0;
        if (g == group) {
            *key = k;
            return 1;
        }
    }
    return 0;
}

int lwq_tls_vec8_at(lwq_tls_span list, size_t i, lwq_tls_span *item)
{
    rd l = {list.p, list.n};
    for (size_t k = 0; l.n; k++) {
        if (rd_vec(&l, 1, 0, 255, item))
            return 0;
        if (k == i)
            return 1;
    }
    return 0;
}

int lwq_tls_psk_identity_at(lwq_tls_span list, size_t i, lwq_tls_span *identity, uint32_t *age)
{
    rd l = {list.p, list.n};
    for (size_t k = 0; l.n; k++) {
        if (rd_vec(&l, 2, 1, 0xffff, identity) || rd_u32(&l, age))
            return 0;
        if (k == i)
            return 1;
    }
    return 0;
}

int lwq_tls_cert_at(lwq_tls_span list, size_t i, lwq_tls_span *der)
{
    rd l = {list.p, list.n};
    for (size_t k = 0; l.n; k++) {
        lwq_tls_span exts;
        if (rd_vec(&l, 3, 1, 0xffffff, der) || rd_vec(&l, 2, 0, 0xffff, &exts))
            return 0;
        if (k == i)
            return 1;
    }
    return 0;
}

/* ---- reassembly ---- */

void lwq_tls_reasm_init(lwq_tls_reasm *r, const lwq_allocator *a, size_t max_body)
{
    memset(r, 0, sizeof(*r));
    r->alloc = a;
    r->max_body = max_body;
}

void lwq_tls_reasm_free(lwq_tls_reasm *r)
{
    lwq_free(r->alloc, r->msg);
    r->msg = NULL;
    r->hdrlen = r->len = r->got = 0;
}

void lwq_tls_reasm_next(lwq_tls_reasm *r)
{
    lwq_tls_reasm_free(r);
}

int lwq_tls_reasm_partial(const lwq_tls_reasm *r)
{
    return r->hdrlen != 0;
}

ssize_t lwq_tls_reasm_feed(lwq_tls_reasm *r, const uint8_t *p, size_t n, int *done)
{
    size_t used = 0;
    *done = 0;
    if (r->msg && r->got == r->len) {
        *done = 1;
        return 0;
    }
    while (r->hdrlen < 4 && used < n)
        r->hdr[r->hdrlen++] = p[used++];
    if (r->hdrlen < 4)
        return (ssize_t)used;
    if (!r->msg) {
        size_t body = lwq_get24(r->hdr + 1);
        int rc = body > r->max_body ? LWQ_ERR_LIMIT : 0;
        if (!rc && !(r->msg = lwq_malloc(r->alloc, 4 + body)))
            rc = LWQ_ERR_NOMEM;
        if (rc) {
            r->hdrlen -= used; /* nothing consumed on failure */
            return rc;
        }
        memcpy(r->msg, r->hdr, 4);
        r->len = 4 + body;
        r->got = 4;
    }
    size_t take = r->len - r->got < n - used ? r->len - r->got : n - used;
    if (take)
        memcpy(r->msg + r->got, p + used, take);
    r->got += take;
    used += take;
    *done = r->got == r->len;
    return (ssize_t)used;
}
