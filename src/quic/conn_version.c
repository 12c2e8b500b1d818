/* QUIC version 2 (RFC 9369) and compatible version negotiation (RFC 9368): version_information,
 * the server's switch on its first Initial response, the client following the server's version. */
#include <stdio.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/conn_null.h"

#define TLS_CLIENT_HELLO 1
#define TLS_EXT_QUIC_TP 0x39 /* RFC 9001 §8.2 */

static int skip_vec(const uint8_t **q, const uint8_t *end, size_t lenlen)
{
    if ((size_t)(end - *q) < lenlen)
        return LWQ_ERR_DECODE;
    size_t l = lenlen == 1 ? (*q)[0] : lwq_get16(*q);
    *q += lenlen;
    if ((size_t)(end - *q) < l)
        return LWQ_ERR_DECODE;
    *q += l;
    return 0;
}

/* RFC 9846 §4.1.2 */
ssize_t lwq_client_hello_tparams(const uint8_t *p, size_t n, const uint8_t **tp, size_t *tplen)
{
    if (n < 4)
        return 0;
    if (p[0] != TLS_CLIENT_HELLO)
        return LWQ_ERR_DECODE;
    size_t len = lwq_get24(p + 1);
    if (n - 4 < len)
        return 0;
    const uint8_t *q = p + 4, *end = q + len;
    if (len < 34)
        return LWQ_ERR_DECODE;
    q += 34; /* legacy_version, random */
    if (skip_vec(&q, end, 1) || skip_vec(&q, end, 2) || skip_vec(&q, end, 1) || end - q < 2)
        return LWQ_ERR_DECODE; /* legacy_session_id, cipher_suites, legacy_compression_methods */
    size_t extlen = lwq_get16(q);
    q += 2;
    if ((size_t)(end - q) != extlen)
        return LWQ_ERR_DECODE;
    while (q < end) {
        if (end - q < 4)
            return LWQ_ERR_DECODE;
        uint16_t type = lwq_get16(q);
        size_t l = lwq_get16(q + 2);
        q += 4;
        if ((size_t)(end - q) < l)
            return LWQ_ERR_DECODE;
        if (type == TLS_EXT_QUIC_TP) {
            *tp = q;
            *tplen = l;
            return (ssize_t)(4 + len);
        }
        q += l;
    }
    return LWQ_ERR_NOT_FOUND;
}

static void add_version(lwq_tparams *tp, uint32_t v)
{
    for (size_t i = 0; i < tp->n_available_versions; i++)
        if (tp->available_versions[i] == v)
            return;
    if (tp->n_available_versions < LWQ_TP_VERSIONS_MAX)
        tp->available_versions[tp->n_available_versions++] = v;
}

static int offered(const lwq_conn *c, uint32_t v)
{
    const lwq_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->other_versions_count; i++)
        if (cfg->other_versions[i] == v && lwq_version_supported(v))
            return 1;
    return 0;
}

static int listed(const lwq_tparams *tp, uint32_t v)
{
    for (size_t i = 0; i < tp->n_available_versions; i++)
        if (tp->available_versions[i] == v)
            return 1;
    return 0;
}

/* RFC 9368 §3: Chosen Version, then the versions we could use for this connection. */
void lwq_conn_version_local_params(lwq_conn *c, lwq_tparams *tp)
{
    if (!c->vn.started) {
        c->vn.original = c->version;
        c->vn.started = 1;
    }
    tp->has_version_info = 1;
    tp->chosen_version = c->version;
    tp->n_available_versions = 0;
    add_version(tp, c->version);
    if (c->is_server) {
        add_version(tp, LWQ_VERSION_1);
        if (c->cfg->accept_v2)
            add_version(tp, LWQ_VERSION_2);
    } else {
        for (size_t i = 0; i < c->cfg->other_versions_count; i++)
            if (lwq_version_supported(c->cfg->other_versions[i]))
                add_version(tp, c->cfg->other_versions[i]);
    }
}

int lwq_conn_version_accepts(const lwq_conn *c, const lwq_pkt_hdr *h)
{
    if (h->version == c->version)
        return 1;
    /* RFC 9369 §4.1: Handshake and 1-RTT packets only in the negotiated version */
    if (h->type != LWQ_PKT_INITIAL)
        return 0;
    if (c->is_server)
        return c->vn.has_orig_rk && h->version == c->vn.original;
    /* The client follows the first Initial of another offered version, before the handshake keys. */
    return offered(c, h->version) && c->version == c->vn.original && !c->sp[LWQ_SPACE_HANDSHAKE].has_rk;
}

static int initial_keys(uint32_t version, const lwq_cid *dcid, int is_server, lwq_quic_keys *rk, lwq_quic_keys *wk)
{
    uint8_t cs[32], ss[32];
    int rv = lwq_quic_initial_secrets(version, dcid->id, dcid->len, cs, ss);
    if (!rv)
        rv = lwq_quic_keys_init(rk, version, LWQ_SUITE_AES128GCM_SHA256, is_server ? cs : ss);
    if (!rv && (rv = lwq_quic_keys_init(wk, version, LWQ_SUITE_AES128GCM_SHA256, is_server ? ss : cs)) != 0)
        lwq_quic_keys_free(rk);
    lwq_wipe(cs, sizeof(cs));
    lwq_wipe(ss, sizeof(ss));
    return rv;
}

static void trace(lwq_conn *c, const char *what)
{
    if (!c->cfg->log || c->cfg->log_level < LWQ_LOG_INFO)
        return;
    char line[128];
    snprintf(line, sizeof(line), "%s: %s: QUIC version 0x%08x (was 0x%08x)", c->is_server ? "server" : "client", what,
             c->version, c->vn.original);
    c->cfg->log(c->cfg->log_ud, LWQ_LOG_INFO, line);
}

int lwq_conn_version_unprotect_initial(lwq_conn *c, const lwq_pkt_hdr *h, uint8_t *pkt, lwq_unprotected *u)
{
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    if (h->version == c->version)
        return lwq_packet_unprotect(lwq_conn_pkeys(c, &sp->rk), pkt, h->pkt_len, h->pn_offset, sp->largest_rx, u);
    if (c->is_server) /* RFC 9369 §4.1: original-version Initials until a negotiated Handshake packet */
        return c->vn.has_orig_rk ? lwq_packet_unprotect(lwq_conn_pkeys(c, &c->vn.orig_rk), pkt, h->pkt_len,
                                                        h->pn_offset, sp->largest_rx, u)
                                 : LWQ_ERR_DECRYPT;
    /* RFC 9369 §4.1: the client learns the negotiated version from the server's first Initial of
     * another version; it switches only once that packet authenticates. */
    lwq_quic_keys rk, wk;
    const lwq_cid *dcid = c->retried ? &c->retry_scid : &c->odcid;
    int rv = initial_keys(h->version, dcid, 0, &rk, &wk);
    if (rv)
        return rv == LWQ_ERR_NOMEM ? rv : LWQ_ERR_DECRYPT;
    rv = lwq_packet_unprotect(lwq_conn_pkeys(c, &rk), pkt, h->pkt_len, h->pn_offset, sp->largest_rx, u);
    if (rv) {
        lwq_quic_keys_free(&rk);
        lwq_quic_keys_free(&wk);
        return rv;
    }
    if (sp->has_rk)
        lwq_quic_keys_free(&sp->rk);
    if (sp->has_wk)
        lwq_quic_keys_free(&sp->wk);
    sp->rk = rk;
    sp->wk = wk;
    sp->has_rk = sp->has_wk = 1;
    c->version = h->version;
    trace(c, "server chose another version");
    return 0;
}

/* Server: Initial keys and our version_information move to the negotiated version. */
static int switch_version(lwq_conn *c, uint32_t v)
{
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    lwq_quic_keys rk, wk;
    int rv = initial_keys(v, &c->odcid, 1, &rk, &wk);
    if (rv) {
        int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot derive Initial keys");
        return rv == LWQ_ERR_NOMEM ? rv : err;
    }
    c->vn.orig_rk = sp->rk;
    c->vn.has_orig_rk = sp->has_rk;
    if (sp->has_wk)
        lwq_quic_keys_free(&sp->wk);
    sp->rk = rk;
    sp->wk = wk;
    sp->has_rk = sp->has_wk = 1;
    c->version = v;
    c->local_tp.chosen_version = v;
    uint8_t buf[512];
    ssize_t n = lwq_tparams_encode(buf, sizeof(buf), &c->local_tp, 1);
    rv = n < 0 ? (int)n : lwq_tls_set_transport_params(c->tls, buf, (size_t)n);
    if (rv) {
        int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot set transport parameters");
        return rv == LWQ_ERR_NOMEM ? rv : err;
    }
    trace(c, "compatible version negotiation");
    return 0;
}

int lwq_conn_version_server_choose(lwq_conn *c)
{
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    if (!c->is_server || c->vn.decided)
        return 0;
    size_t avail = lwq_recvbuf_readable(&sp->crx);
    uint8_t hdr[4];
    if (sp->crx.read_off || avail < 4) {
        c->vn.decided = sp->crx.read_off != 0;
        return c->vn.decided ? 0 : 1;
    }
    lwq_ring_read(&sp->crx.data, sp->crx.read_off, hdr, 4);
    size_t need = 4 + (size_t)lwq_get24(hdr + 1);
    if (hdr[0] == TLS_CLIENT_HELLO && need > avail && need <= c->cfg->max_crypto_buffer)
        return 1; /* the rest of the ClientHello is still to come */
    c->vn.decided = 1;
    if (hdr[0] != TLS_CLIENT_HELLO || need > avail || c->version != LWQ_VERSION_1 || !c->cfg->accept_v2)
        return 0; /* TLS judges the rest */
    uint8_t *ch = lwq_malloc(c->alloc, need);
    if (!ch)
        return LWQ_ERR_NOMEM;
    lwq_ring_read(&sp->crx.data, sp->crx.read_off, ch, need);
    const uint8_t *tpp;
    size_t tpl;
    lwq_tparams tp;
    /* RFC 9368 §2.3: the server picks v2 when the client listed it */
    int up = lwq_client_hello_tparams(ch, need, &tpp, &tpl) > 0 && lwq_tparams_decode(&tp, tpp, tpl, 0) >= 0 &&
             tp.has_version_info && listed(&tp, LWQ_VERSION_2);
    lwq_free(c->alloc, ch);
    return up ? switch_version(c, LWQ_VERSION_2) : 0;
}

int lwq_conn_version_check_peer(lwq_conn *c)
{
    const lwq_tparams *tp = &c->peer_tp;
    if (!tp->has_version_info) {
        /* RFC 9369 §4: v2 endpoints send version_information; a v1-only peer need not */
        if (c->version == LWQ_VERSION_1 && c->vn.original == LWQ_VERSION_1)
            return 0;
        return lwq_conn_error(c, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR, LWQ_FRAME_CRYPTO,
                              "version_information missing");
    }
    /* RFC 9368 §4: the client's Chosen Version is the one it started with; the server's is the one
     * the connection uses. */
    uint32_t want = c->is_server ? c->vn.original : c->version;
    if (tp->chosen_version != want)
        return lwq_conn_error(c, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR, LWQ_FRAME_CRYPTO,
                              "chosen version does not match the version in use");
    if (c->is_server && c->version != c->vn.original && !listed(tp, c->version))
        return lwq_conn_error(c, LWQ_QUIC_ERR_VERSION_NEGOTIATION_ERROR, LWQ_FRAME_CRYPTO,
                              "negotiated version not offered by the client");
    return 0;
}

void lwq_conn_version_free(lwq_conn *c)
{
    if (c->vn.has_orig_rk)
        lwq_quic_keys_free(&c->vn.orig_rk);
    c->vn.has_orig_rk = 0;
}
