#include <string.h>
#include "base/mem.h"
#include "tls/tls.h"

/* Server tickets: version | 12-byte nonce | ChaCha20-Poly1305(state | early context)
 * with the version byte as associated data. The state is what resumption needs
 * (RFC 9846 §4.6.1): suite, issue time, lifetime, age_add, early data size,
 * ALPN (0-RTT must keep it, RFC 9846 §4.2.10) and the PSK; the early context
 * (1-byte length, bytes) is what 0-RTT needs besides (lwq_tls_config.early_context). */
#define TICKET_VERSION 2
#define CTX_LEN (1 + LWQ_TLS_EARLY_CONTEXT_MAX)
/* Client blobs: "LWQS" magic and a version, then the session fields. */
#define BLOB_VERSION 1
static const uint8_t blob_magic[4] = {'L', 'W', 'Q', 'S'};

typedef struct cur {
    const uint8_t *p;
    size_t n;
    int bad;
} cur;

static const uint8_t *take(cur *c, size_t n)
{
    if (c->bad || c->n < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n, c->n -= n;
    return p;
}

static uint64_t take_be(cur *c, size_t n)
{
    const uint8_t *p = take(c, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static lwq_tls_span take_vec(cur *c, size_t lenbytes, size_t max)
{
    lwq_tls_span s = {NULL, 0};
    size_t n = (size_t)take_be(c, lenbytes);
    if (n > max)
        c->bad = 1;
    s.p = take(c, n);
    s.n = s.p ? n : 0;
    return s;
}

/* Fields shared by tickets and blobs. */
static size_t put_state(const lwq_tls_session *s, uint8_t *p)
{
    uint8_t *w = p;
    w = lwq_put16(w, s->suite);
    w = lwq_put64(w, (uint64_t)s->issued);
    w = lwq_put32(w, s->lifetime);
    w = lwq_put32(w, s->age_add);
    w = lwq_put32(w, s->max_early_data);
    *w++ = (uint8_t)s->alpn_len;
    memcpy(w, s->alpn, s->alpn_len);
    w += s->alpn_len;
    *w++ = (uint8_t)s->psk_len;
    memcpy(w, s->psk, s->psk_len);
    w += s->psk_len;
    return (size_t)(w - p);
}

#define STATE_MAX (2 + 8 + 4 + 4 + 4 + 1 + 255 + 1 + LWQ_HASH_MAX)

static int take_state(cur *c, lwq_tls_session *s)
{
    memset(s, 0, sizeof(*s));
    s->suite = (uint16_t)take_be(c, 2);
    s->issued = (int64_t)take_be(c, 8);
    s->lifetime = (uint32_t)take_be(c, 4);
    s->age_add = (uint32_t)take_be(c, 4);
    s->max_early_data = (uint32_t)take_be(c, 4);
    lwq_tls_span alpn = take_vec(c, 1, 255), psk = take_vec(c, 1, LWQ_HASH_MAX);
    if (c->bad || !lwq_suite_known(s->suite) || psk.n != lwq_hash_len(lwq_suite_hash(s->suite)))
        return LWQ_ERR_DECODE;
    memcpy(s->alpn, alpn.p, alpn.n);
    s->alpn_len = alpn.n;
    memcpy(s->psk, psk.p, psk.n);
    s->psk_len = psk.n;
    return 0;
}

int lwq_tls_ticket_seal(const lwq_tls *t, const lwq_tls_session *s, uint8_t *out, size_t cap, size_t *outlen)
{
    uint8_t pt[STATE_MAX + CTX_LEN];
    lwq_aead aead;
    size_t n = put_state(s, pt);
    if (s->early_context_len > LWQ_TLS_EARLY_CONTEXT_MAX)
        return LWQ_ERR_INVAL;
    pt[n++] = (uint8_t)s->early_context_len;
    memcpy(pt + n, s->early_context, s->early_context_len);
    n += s->early_context_len;
    if (cap < LWQ_TLS_TICKET_OVERHEAD + n)
        return LWQ_ERR_NOBUF;
    out[0] = TICKET_VERSION;
    lwq_tls_random(t, out + 1, LWQ_AEAD_IV_LEN);
    int rc = lwq_aead_init(&aead, LWQ_AEAD_CHACHA20POLY1305, t->cfg.ticket_key);
    if (!rc)
        rc = lwq_aead_seal(&aead, out + 1, out, 1, pt, n, out + 1 + LWQ_AEAD_IV_LEN);
    lwq_aead_free(&aead);
    lwq_wipe(pt, sizeof(pt));
    *outlen = LWQ_TLS_TICKET_OVERHEAD + n;
    return rc;
}

int lwq_tls_ticket_open(const lwq_tls *t, const uint8_t *in, size_t n, lwq_tls_session *s)
{
    uint8_t pt[STATE_MAX + CTX_LEN];
    lwq_aead aead;
    if (n < LWQ_TLS_TICKET_OVERHEAD || n - LWQ_TLS_TICKET_OVERHEAD > sizeof(pt) || in[0] != TICKET_VERSION)
        return LWQ_ERR_DECODE;
    size_t ctlen = n - 1 - LWQ_AEAD_IV_LEN;
    int rc = lwq_aead_init(&aead, LWQ_AEAD_CHACHA20POLY1305, t->cfg.ticket_key);
    if (!rc)
        rc = lwq_aead_open(&aead, in + 1, in, 1, in + 1 + LWQ_AEAD_IV_LEN, ctlen, pt);
    lwq_aead_free(&aead);
    if (!rc) {
        cur c = {pt, ctlen - LWQ_AEAD_TAG_LEN, 0};
        rc = take_state(&c, s);
        lwq_tls_span ec = take_vec(&c, 1, LWQ_TLS_EARLY_CONTEXT_MAX);
        if (!rc && (c.bad || c.n))
            rc = LWQ_ERR_DECODE;
        if (!rc) {
            memcpy(s->early_context, ec.p, ec.n);
            s->early_context_len = ec.n;
        }
    }
    lwq_wipe(pt, sizeof(pt));
    return rc;
}

int lwq_tls_blob_encode(const lwq_tls_session *s, const char *server_name, const lwq_allocator *a, uint8_t **out,
                        size_t *outlen)
{
    size_t sn = server_name ? strlen(server_name) : 0;
    if (sn > 255 || s->ticket.n > 0xffff || s->tp.n > 0xffff)
        return LWQ_ERR_INVAL;
    size_t n = 5 + STATE_MAX + 2 + s->ticket.n + 2 + s->tp.n + 1 + sn;
    uint8_t *p = lwq_malloc(a, n), *w = p;
    if (!p)
        return LWQ_ERR_NOMEM;
    memcpy(w, blob_magic, 4);
    w[4] = BLOB_VERSION;
    w += 5;
    w += put_state(s, w);
    w = lwq_put16(w, (uint16_t)s->ticket.n);
    memcpy(w, s->ticket.p, s->ticket.n);
    w += s->ticket.n;
    w = lwq_put16(w, (uint16_t)s->tp.n);
    if (s->tp.n)
        memcpy(w, s->tp.p, s->tp.n);
    w += s->tp.n;
    *w++ = (uint8_t)sn;
    memcpy(w, server_name ? server_name : "", sn);
    w += sn;
    *out = p;
    *outlen = (size_t)(w - p);
    return 0;
}

int lwq_tls_blob_decode(lwq_tls_session *s, lwq_tls_span *server_name, const uint8_t *blob, size_t len)
{
    cur c = {blob, len, 0};
    const uint8_t *hdr = take(&c, 5);
    if (!hdr || memcmp(hdr, blob_magic, 4) != 0 || hdr[4] != BLOB_VERSION)
        return LWQ_ERR_DECODE;
    if (take_state(&c, s))
        return LWQ_ERR_DECODE;
    s->ticket = take_vec(&c, 2, 0xffff);
    s->tp = take_vec(&c, 2, 0xffff);
    *server_name = take_vec(&c, 1, 255);
    if (c.bad || c.n || !s->ticket.n)
        return LWQ_ERR_DECODE;
    return 0;
}

int lwq_tls_session_transport_params(const uint8_t *blob, size_t len, const uint8_t **p, size_t *n)
{
    lwq_tls_session s;
    lwq_tls_span name;
    if (lwq_tls_blob_decode(&s, &name, blob, len))
        return LWQ_ERR_DECODE;
    *p = s.tp.p;
    *n = s.tp.n;
    lwq_wipe(&s, sizeof(s));
    return 0;
}
