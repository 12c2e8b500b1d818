/* Connection lifecycle, public entry points, TLS glue, events, close/draining, timers. */
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/varint.h"

#define SCRATCH_SIZE 65536

static int verify_adapter(void *ud, const lwq_cert_chain *chain, int default_result)
{
    const lwq_context *ctx = ud;
    return ctx->cfg.verify(ctx->cfg.verify_ud, (const uint8_t *const *)chain->der, chain->len, chain->count,
                           default_result);
}

static void local_params(lwq_conn *c, const lwq_cid *scid)
{
    const lwq_config *cfg = c->cfg;
    lwq_tparams *tp = &c->local_tp;
    lwq_tparams_init(tp);
    tp->max_idle_timeout = cfg->idle_timeout / LWQ_MS;
    tp->max_udp_payload_size = cfg->max_udp_payload_size;
    tp->initial_max_data = cfg->initial_max_data;
    tp->initial_max_stream_data_bidi_local = cfg->initial_max_stream_data_bidi_local;
    tp->initial_max_stream_data_bidi_remote = cfg->initial_max_stream_data_bidi_remote;
    tp->initial_max_stream_data_uni = cfg->initial_max_stream_data_uni;
    tp->initial_max_streams_bidi = cfg->initial_max_streams_bidi;
    tp->initial_max_streams_uni = cfg->initial_max_streams_uni;
    tp->ack_delay_exponent = cfg->ack_delay_exponent;
    tp->max_ack_delay = cfg->max_ack_delay / LWQ_MS;
    tp->active_connection_id_limit = cfg->active_connection_id_limit;
    tp->disable_active_migration = cfg->disable_active_migration;
    if (cfg->max_datagram_frame_size) {
        tp->has_max_datagram_frame_size = 1; /* RFC 9221 §3 */
        tp->max_datagram_frame_size = cfg->max_datagram_frame_size;
    }
    tp->has_initial_scid = 1;
    tp->initial_scid = *scid;
    lwq_conn_version_local_params(c, tp); /* RFC 9368 §3 */
    if (c->is_server) {
        tp->has_original_dcid = 1;
        tp->original_dcid = c->retried ? c->retry_odcid : c->odcid;
        if (c->retried) {
            tp->has_retry_scid = 1; /* RFC 9000 §7.3 */
            tp->retry_scid = c->retry_scid;
        }
        tp->has_reset_token = 1;
        lwq_cid_reset_token(c->ctx, scid, tp->reset_token);
    }
}

static int install_initial_keys(lwq_conn *c, const lwq_cid *dcid)
{
    uint8_t cs[32], ss[32];
    int rv = lwq_quic_initial_secrets(c->version, dcid->id, dcid->len, cs, ss);
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    if (sp->has_rk)
        lwq_quic_keys_free(&sp->rk);
    if (sp->has_wk)
        lwq_quic_keys_free(&sp->wk);
    sp->has_rk = sp->has_wk = 0;
    if (!rv)
        rv = lwq_quic_keys_init(&sp->wk, c->version, LWQ_SUITE_AES128GCM_SHA256, c->is_server ? ss : cs);
    if (!rv) {
        sp->has_wk = 1;
        rv = lwq_quic_keys_init(&sp->rk, c->version, LWQ_SUITE_AES128GCM_SHA256, c->is_server ? cs : ss);
    }
    if (!rv) {
        sp->has_rk = 1;
        lwq_conn_trace_keys(c, 0, "initial"); /* RFC 9001 §5.2 */
    }
    lwq_wipe(cs, sizeof(cs));
    lwq_wipe(ss, sizeof(ss));
    return rv;
}

static int conn_alloc(lwq_conn **out, lwq_context *ctx, int is_server, const lwq_path *path, lwq_tstamp now)
{
    const lwq_config *cfg = &ctx->cfg;
    lwq_conn *c = lwq_calloc(ctx->alloc, 1, sizeof(*c));
    if (!c)
        return LWQ_ERR_NOMEM;
    c->ctx = ctx;
    c->cfg = cfg;
    c->alloc = ctx->alloc;
    c->rng = ctx->rng;
    c->is_server = is_server;
    c->version = cfg->version;
    if (path)
        c->path = *path;
    c->now = c->created = c->last_rx = c->idle_start = now;
    c->idle_timeout = cfg->idle_timeout;
    lwq_conn_paths_init(c);
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_pn_space *sp = &c->sp[s];
        lwq_ranges_init(&sp->recvd, c->alloc, cfg->max_ack_ranges);
        sp->largest_rx = LWQ_PN_NONE;
        lwq_recvbuf_init(&sp->crx, c->alloc, cfg->max_crypto_buffer, 32);
        lwq_sendbuf_init(&sp->ctx, c->alloc, cfg->max_crypto_buffer, 64);
    }
    *out = c;
    int rv =
        lwq_recovery_init(&c->rec, c->alloc, is_server, cfg->cc == LWQ_CC_ALGO_CUBIC ? LWQ_CC_CUBIC : LWQ_CC_NEWRENO,
                          LWQ_CONN_MDS, cfg->max_sent_packets, now);
    if (rv)
        return rv;
    lwq_rtt_init(&c->rec.rtt, cfg->initial_rtt ? cfg->initial_rtt : LWQ_INITIAL_RTT);
    c->scratch_cap = SCRATCH_SIZE;
    c->scratch = lwq_malloc(c->alloc, c->scratch_cap);
    c->ack_ranges = lwq_calloc(c->alloc, cfg->max_ack_ranges, sizeof(*c->ack_ranges));
    c->ack_conv = lwq_calloc(c->alloc, cfg->max_ack_ranges, sizeof(*c->ack_conv));
    if (!c->scratch || !c->ack_ranges || !c->ack_conv)
        return LWQ_ERR_NOMEM;
    return lwq_streams_init(c);
}

static int tls_setup(lwq_conn *c, const uint8_t *session, size_t session_len)
{
    static const uint16_t chacha[] = {LWQ_SUITE_CHACHA20POLY1305_SHA256};
    const lwq_config *cfg = c->cfg;
    lwq_tls_config t;
    memset(&t, 0, sizeof(t));
    t.alloc = c->alloc;
    t.rng = c->rng;
    t.is_server = c->is_server;
    t.alpn = cfg->alpn;
    t.alpn_count = cfg->alpn_count;
    t.server_name = cfg->server_name;
    t.now_unix = cfg->now_unix;
    t.now_ud = cfg->now_ud;
    t.keylog = cfg->keylog;
    t.keylog_ud = cfg->keylog_ud;
    if (cfg->chacha20_only) {
        t.suites = chacha;
        t.suite_count = 1;
    }
    if (c->is_server) {
        t.cert_chain = &c->ctx->chain;
        t.key = c->ctx->key;
        t.ticket_key = c->ctx->ticket_key;
        t.early_data = cfg->enable_0rtt;
        t.early_data_fresh = lwq_conn_early_fresh; /* docs/resumption.md */
        t.early_data_fresh_ud = c;
        lwq_conn_early_context(c, cfg->early_context, cfg->early_context_len);
        t.early_context = c->early.context;
        t.early_context_len = sizeof(c->early.context);
        t.early_context_ok = lwq_conn_early_context_ok;
        t.early_context_ud = c;
    } else {
        t.trust = c->ctx->trust;
        t.insecure = cfg->insecure;
        t.session = session;
        t.session_len = session_len;
        t.early_data = cfg->enable_0rtt;
        lwq_conn_early_init(c, session, session_len);
    }
    if (cfg->verify) {
        t.verify = verify_adapter;
        t.verify_ud = c->ctx;
    }
    int rv = lwq_tls_new(&c->tls, &t);
    if (rv)
        return rv;
    uint8_t tpbuf[512];
    ssize_t n = lwq_tparams_encode(tpbuf, sizeof(tpbuf), &c->local_tp, c->is_server);
    if (n < 0)
        return (int)n;
    return lwq_tls_set_transport_params(c->tls, tpbuf, (size_t)n);
}

static int tls_pump(lwq_conn *c);

int lwq_conn_client_new(lwq_conn **out, lwq_context *ctx, const lwq_path *path, const uint8_t *session,
                        size_t session_len, const uint8_t *token, size_t token_len, lwq_tstamp now)
{
    *out = NULL;
    if (!ctx || ctx->cfg.is_server)
        return LWQ_ERR_INVAL;
    lwq_conn *c = NULL;
    int rv = conn_alloc(&c, ctx, 0, path, now);
    lwq_cid scid;
    if (!rv) {
        /* RFC 9000 §7.2: an unpredictable DCID of at least 8 bytes. */
        lwq_cid_random(c, &c->odcid);
        lwq_cid_random(c, &scid);
        rv = lwq_cids_init(c, &scid, &c->odcid);
        lwq_conn_qlog_start(c);
    }
    if (!token_len && ctx->cfg.token_len) {
        token = ctx->cfg.token;
        token_len = ctx->cfg.token_len;
    }
    if (!rv && token_len) {
        c->token = lwq_memdup(c->alloc, token, token_len); /* RFC 9000 §8.1.3 */
        c->token_len = token_len;
        if (!c->token)
            rv = LWQ_ERR_NOMEM;
    }
    if (!rv)
        rv = install_initial_keys(c, &c->odcid);
    if (!rv) {
        local_params(c, &scid);
        lwq_conn_qlog_params(c, 1);
        rv = tls_setup(c, session, session_len);
    }
    if (!rv)
        rv = lwq_tls_start(c->tls);
    if (!rv)
        rv = tls_pump(c);
    if (rv) {
        lwq_conn_del(c);
        return rv;
    }
    *out = c;
    return 0;
}

int lwq_conn_server_new(lwq_conn **out, lwq_context *ctx, lwq_server *srv, const lwq_path *path, const lwq_pkt_hdr *h,
                        const lwq_cid *retry_odcid, lwq_tstamp now)
{
    *out = NULL;
    if (h->dcid_len < 8 || h->dcid_len > LWQ_CID_MAX || h->scid_len > LWQ_CID_MAX)
        return LWQ_ERR_INVAL; /* RFC 9000 §7.2: a client's first DCID has at least 8 bytes */
    lwq_conn *c = NULL;
    int rv = conn_alloc(&c, ctx, 1, path, now);
    lwq_cid scid, peer;
    if (!rv) {
        c->server = srv;
        c->version = h->version;
        lwq_cid_set(&c->odcid, h->dcid, h->dcid_len);
        lwq_cid_set(&peer, h->scid, h->scid_len);
        c->peer_scid = peer;
        c->got_peer_scid = 1;
        if (retry_odcid) {
            c->retried = 1;
            c->retry_scid = c->odcid;
            c->retry_odcid = *retry_odcid;
            c->address_validated = 1; /* RFC 9000 §8.1.2 */
        }
        lwq_cid_random(c, &scid);
        rv = lwq_cids_init(c, &scid, &peer);
        lwq_conn_qlog_start(c);
    }
    if (!rv)
        rv = install_initial_keys(c, &c->odcid);
    if (!rv) {
        local_params(c, &scid);
        lwq_conn_qlog_params(c, 1);
        rv = lwq_conn_path_server_params(c); /* RFC 9000 §9.6 */
    }
    if (!rv)
        rv = tls_setup(c, NULL, 0);
    if (rv) {
        lwq_conn_del(c);
        return rv;
    }
    *out = c;
    return 0;
}

void lwq_conn_del(lwq_conn *c)
{
    if (!c)
        return;
    lwq_conn_qlog_end(c);
    lwq_cids_free(c);
    lwq_streams_free(c);
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        lwq_pn_space *sp = &c->sp[s];
        lwq_ranges_free(&sp->recvd);
        lwq_recvbuf_free(&sp->crx);
        lwq_sendbuf_free(&sp->ctx);
        if (sp->has_rk)
            lwq_quic_keys_free(&sp->rk);
        if (sp->has_wk)
            lwq_quic_keys_free(&sp->wk);
    }
    lwq_recovery_free(&c->rec);
    lwq_conn_early_free(c);
    lwq_conn_keys_free(c);
    lwq_tls_del(c->tls);
    lwq_dgram *lists[] = {c->dg_tx, c->dg_rx, c->dg_cur};
    for (size_t i = 0; i < 3; i++)
        for (lwq_dgram *d = lists[i], *n; d; d = n) {
            n = d->next;
            lwq_free(c->alloc, d);
        }
    lwq_free(c->alloc, c->ticket);
    lwq_free(c->alloc, c->token);
    lwq_free(c->alloc, c->scratch);
    lwq_free(c->alloc, c->ack_ranges);
    lwq_free(c->alloc, c->ack_conv);
    lwq_free(c->alloc, c);
}

lwq_tstamp lwq_conn_pto(const lwq_conn *c)
{
    return lwq_recovery_pto(&c->rec, LWQ_SPACE_APP);
}

static void push_simple(lwq_conn *c, lwq_event_type type)
{
    lwq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.stream_id = -1;
    if (type == LWQ_EV_CLOSED) {
        ev.close = c->close;
        lwq_conn_qlog_closed(c);
    }
    (void)lwq_conn_push_event(c, &ev);
}

static void set_reason(lwq_close_info *ci, const uint8_t *r, size_t n)
{
    if (n >= sizeof(ci->reason))
        n = sizeof(ci->reason) - 1;
    for (size_t i = 0; i < n; i++)
        ci->reason[i] = r[i] >= 0x20 && r[i] < 0x7f ? (char)r[i] : '?';
    ci->reason[n] = 0;
}

static void enter_closing(lwq_conn *c)
{
    c->state = LWQ_CONN_CLOSING;
    c->close_pending = 1;
    c->close_deadline = c->now + 3 * lwq_conn_pto(c); /* RFC 9000 §10.2 */
    push_simple(c, LWQ_EV_CLOSED);
}

int lwq_conn_error(lwq_conn *c, uint64_t code, uint64_t frame_type, const char *reason)
{
    if (c->close_set || c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_PROTO;
    c->close_set = 1;
    memset(&c->close, 0, sizeof(c->close));
    c->close.code = code;
    c->close.frame_type = frame_type;
    set_reason(&c->close, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    enter_closing(c);
    return LWQ_ERR_PROTO;
}

int lwq_conn_close(lwq_conn *c, uint64_t app_error, const char *reason)
{
    if (c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_CLOSED;
    if (app_error > LWQ_VARINT_MAX)
        return LWQ_ERR_INVAL;
    c->close_set = 1;
    c->close_in_app = 1;
    memset(&c->close, 0, sizeof(c->close));
    c->close.is_app = 1;
    c->close.code = app_error;
    set_reason(&c->close, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    enter_closing(c);
    return 0;
}

void lwq_conn_enter_draining(lwq_conn *c, const lwq_close_info *ci)
{
    if (c->state >= LWQ_CONN_DRAINING)
        return;
    int had = c->close_set;
    if (!had) {
        c->close_set = 1;
        c->close = *ci;
    }
    if (c->state != LWQ_CONN_CLOSING)
        c->close_deadline = c->now + 3 * lwq_conn_pto(c);
    c->state = LWQ_CONN_DRAINING;
    c->close_pending = 0;
    if (!had)
        push_simple(c, LWQ_EV_CLOSED);
}

void lwq_conn_discard_space(lwq_conn *c, lwq_space s)
{
    lwq_pn_space *sp = &c->sp[s];
    if (sp->discarded)
        return;
    sp->discarded = 1;
    lwq_conn_trace_keys(c, s == LWQ_SPACE_INITIAL ? 0 : s == LWQ_SPACE_HANDSHAKE ? 2 : 3, "discarded");
    if (sp->has_rk)
        lwq_quic_keys_free(&sp->rk);
    if (sp->has_wk)
        lwq_quic_keys_free(&sp->wk);
    sp->has_rk = sp->has_wk = 0;
    sp->ack_pending = sp->ack_now = 0;
    sp->ack_deadline = 0;
    sp->probes = 0;
    lwq_recvbuf_free(&sp->crx);
    lwq_sendbuf_free(&sp->ctx);
    lwq_recovery_discard(&c->rec, s, c->now); /* RFC 9002 §6.4 */
}

void lwq_conn_confirm_handshake(lwq_conn *c)
{
    if (c->handshake_confirmed)
        return;
    c->handshake_confirmed = 1;
    c->rec.handshake_confirmed = 1;
    c->rec.peer_validated_address = 1;
    c->address_validated = 1;
    c->stats.handshake_time = c->now - c->created;
    lwq_conn_discard_space(c, LWQ_SPACE_INITIAL);
    lwq_conn_discard_space(c, LWQ_SPACE_HANDSHAKE); /* RFC 9001 §4.9.2 */
    if (c->state == LWQ_CONN_HANDSHAKE)
        c->state = LWQ_CONN_ESTABLISHED;
    if (c->is_server) {
        c->handshake_done_pending = 1; /* RFC 9001 §4.1.2 */
        lwq_conn_token_confirmed(c);
        if (c->server)
            lwq_server_conn_established(c->server, c);
    }
    (void)lwq_cids_issue(c);
    lwq_recovery_update_timer(&c->rec, c->now);
    push_simple(c, LWQ_EV_HANDSHAKE_DONE);
    lwq_conn_path_confirmed(c); /* RFC 9000 §9.6.1 */
}

static int apply_peer_params(lwq_conn *c)
{
    const uint8_t *p;
    size_t n;
    if (c->have_peer_tp || lwq_tls_peer_transport_params(c->tls, &p, &n) != 0)
        return 0;
    lwq_tparams *tp = &c->peer_tp;
    lwq_tparams_init(tp);
    if (lwq_tparams_decode(tp, p, n, !c->is_server) < 0)
        return lwq_conn_error(c, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR, LWQ_FRAME_CRYPTO, "bad transport parameters");
    lwq_tp_cids seen;
    memset(&seen, 0, sizeof(seen));
    seen.peer_scid = c->peer_scid;
    seen.odcid = c->odcid;
    seen.retried = c->retried;
    seen.retry_scid = c->retry_scid;
    if (lwq_tparams_check_cids(tp, !c->is_server, &seen))
        return lwq_conn_error(c, LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR, LWQ_FRAME_CRYPTO,
                              "connection ID authentication failed (RFC 9000 §7.3)");
    if (lwq_conn_version_check_peer(c)) /* RFC 9368 §4 */
        return LWQ_ERR_PROTO;
    c->have_peer_tp = 1;
    lwq_conn_qlog_params(c, 0);
    if (tp->max_idle_timeout) {
        lwq_tstamp peer = tp->max_idle_timeout * LWQ_MS;
        if (!c->idle_timeout || peer < c->idle_timeout)
            c->idle_timeout = peer; /* RFC 9000 §10.1 */
    }
    c->rec.max_ack_delay = tp->max_ack_delay * LWQ_MS;
    if (!c->is_server && tp->has_reset_token)
        lwq_cids_set_peer0_token(c, tp->reset_token);
    if (lwq_conn_path_peer_params(c))
        return LWQ_ERR_PROTO;
    lwq_streams_peer_params(c);
    return lwq_conn_early_check_params(c);
}

int lwq_conn_retry(lwq_conn *c, const lwq_cid *scid, const uint8_t *token, size_t token_len)
{
    uint8_t *t = lwq_memdup(c->alloc, token, token_len);
    if (!t)
        return LWQ_ERR_NOMEM;
    lwq_free(c->alloc, c->token);
    c->token = t;
    c->token_len = token_len;
    c->retried = 1;
    c->retry_scid = *scid;
    lwq_cids_set_peer0(c, scid); /* RFC 9000 §17.2.5.2 */
    if (install_initial_keys(c, scid)) /* RFC 9001 §5.2 */
        return lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot derive Initial keys");
    /* RFC 9002 §6.3: recovery and congestion control restart; packet numbers keep running (the
     * sent map keeps next_pn, RFC 9000 §17.2.5.3); the whole ClientHello goes out again. */
    lwq_recovery *r = &c->rec;
    lwq_cc_discard(&r->cc, lwq_sentmap_discard(&r->spaces[LWQ_SPACE_INITIAL]));
    uint64_t in_flight = r->cc.bytes_in_flight; /* other spaces: none before a Retry, kept if any */
    lwq_cc_init(&r->cc, c->cfg->cc == LWQ_CC_ALGO_CUBIC ? LWQ_CC_CUBIC : LWQ_CC_NEWRENO, LWQ_CONN_MDS, c->now);
    r->cc.bytes_in_flight = in_flight;
    /* RFC 9002 §6.3: the time since the first Initial may replace the default RTT, unless a
     * retransmission makes it ambiguous. */
    if (!r->pto_count && !r->first_rtt_sample && c->now > c->created)
        lwq_rtt_init(&r->rtt, c->now - c->created);
    r->pto_count = 0;
    lwq_conn_early_requeue(c); /* 0-RTT before the Retry was dropped (RFC 9000 §17.2.5.3) */
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_INITIAL];
    sp->probes = 0;
    if (sp->ctx.sent_off > sp->ctx.acked_off &&
        lwq_sendbuf_on_lost(&sp->ctx, sp->ctx.acked_off, (size_t)(sp->ctx.sent_off - sp->ctx.acked_off), 0))
        return lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot resend the ClientHello");
    lwq_recovery_update_timer(r, c->now);
    return 0;
}

static int space_of_epoch(lwq_tls_epoch e)
{
    return e == LWQ_TLS_EPOCH_INITIAL     ? LWQ_SPACE_INITIAL
           : e == LWQ_TLS_EPOCH_HANDSHAKE ? LWQ_SPACE_HANDSHAKE
           : e == LWQ_TLS_EPOCH_1RTT      ? LWQ_SPACE_APP
                                          : -1;
}

static int install_secret(lwq_conn *c, const lwq_tls_event *ev)
{
    int s = space_of_epoch(ev->epoch);
    if (s < 0)
        return lwq_conn_early_install(c, ev);
    lwq_pn_space *sp = &c->sp[s];
    if (sp->discarded)
        return 0;
    lwq_quic_keys *k = ev->write ? &sp->wk : &sp->rk;
    int *has = ev->write ? &sp->has_wk : &sp->has_rk;
    if (*has)
        lwq_quic_keys_free(k);
    *has = 0;
    int rv = lwq_quic_keys_init(k, c->version, ev->suite, ev->secret);
    if (rv)
        return rv;
    *has = 1;
    lwq_conn_trace_keys(c, ev->epoch == LWQ_TLS_EPOCH_INITIAL ? 0 : ev->epoch == LWQ_TLS_EPOCH_HANDSHAKE ? 2 : 3,
                        ev->write ? "write" : "read");
    if (s == LWQ_SPACE_HANDSHAKE && !c->is_server)
        c->rec.has_handshake_keys = 1;
    if (s == LWQ_SPACE_APP && (rv = lwq_conn_keys_installed(c, ev->write, ev->suite, ev->secret)) != 0)
        return rv; /* RFC 9001 §6 */
    if (s == LWQ_SPACE_APP && ev->write)
        lwq_conn_early_drop(c); /* RFC 9001 §4.9.3 */
    return 0;
}

static int pull_output(lwq_conn *c)
{
    static const lwq_tls_epoch epochs[] = {LWQ_TLS_EPOCH_INITIAL, LWQ_TLS_EPOCH_HANDSHAKE, LWQ_TLS_EPOCH_1RTT};
    for (size_t i = 0; i < 3; i++) {
        lwq_pn_space *sp = &c->sp[space_of_epoch(epochs[i])];
        const uint8_t *p;
        size_t n;
        lwq_tls_output(c->tls, epochs[i], &p, &n);
        if (!n || sp->discarded)
            continue;
        ssize_t w = lwq_sendbuf_write(&sp->ctx, p, n, 0);
        if (w < 0)
            return (int)w;
        lwq_tls_output_consume(c->tls, epochs[i], (size_t)w);
    }
    return 0;
}

static int tls_failed(lwq_conn *c, int rv)
{
    if (rv == LWQ_ERR_ALERT) {
        int alert = lwq_tls_alert(c->tls);
        const char *why = lwq_tls_error_reason(c->tls);
        return lwq_conn_error(c, LWQ_QUIC_ERR_CRYPTO(alert ? alert : LWQ_TLS_ALERT_INTERNAL_ERROR), LWQ_FRAME_CRYPTO,
                              why ? why : lwq_tls_alert_name(alert));
    }
    int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, LWQ_FRAME_CRYPTO, lwq_strerror(rv));
    return rv == LWQ_ERR_NOMEM ? rv : err;
}

static int tls_pump(lwq_conn *c)
{
    lwq_tls_event ev;
    int rv;
    while ((rv = lwq_tls_next_event(c->tls, &ev)) == 0) {
        switch (ev.type) {
        case LWQ_TLS_EV_SECRET:
            rv = install_secret(c, &ev);
            lwq_wipe(ev.secret, sizeof(ev.secret));
            if (rv) {
                int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, LWQ_FRAME_CRYPTO, "cannot install keys");
                return rv == LWQ_ERR_NOMEM ? rv : err;
            }
            break;
        case LWQ_TLS_EV_HANDSHAKE_COMPLETE: {
            rv = apply_peer_params(c);
            if (rv)
                return rv;
            c->handshake_complete = 1;
            size_t n = 0;
            const uint8_t *a = lwq_tls_alpn(c->tls, &n);
            if (a && n < sizeof(c->alpn)) {
                memcpy(c->alpn, a, n);
                c->alpn[n] = 0;
            }
            if (c->is_server)
                lwq_conn_confirm_handshake(c); /* RFC 9001 §4.1.2 */
            break;
        }
        case LWQ_TLS_EV_SESSION_TICKET: {
            uint8_t *t = lwq_memdup(c->alloc, ev.blob, ev.blob_len);
            if (t) {
                lwq_free(c->alloc, c->ticket);
                c->ticket = t;
                c->ticket_len = ev.blob_len;
                push_simple(c, LWQ_EV_SESSION_TICKET);
            }
            break;
        }
        case LWQ_TLS_EV_EARLY_DATA:
            if ((rv = lwq_conn_early_answer(c, ev.accepted)) != 0)
                return rv;
            break;
        }
    }
    size_t alen = 0;
    const uint8_t *a = lwq_tls_alpn(c->tls, &alen);
    if (a && !c->alpn[0] && alen < sizeof(c->alpn)) {
        /* known once the ClientHello is processed: a server's 0-RTT streams belong to this protocol */
        memcpy(c->alpn, a, alen);
        c->alpn[alen] = 0;
    }
    if (rv != LWQ_ERR_AGAIN)
        return tls_failed(c, rv);
    rv = apply_peer_params(c);
    if (rv)
        return rv;
    rv = pull_output(c);
    if (rv) {
        int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, LWQ_FRAME_CRYPTO, "handshake output too large");
        return rv == LWQ_ERR_NOMEM ? rv : err;
    }
    return 0;
}

int lwq_conn_crypto_progress(lwq_conn *c, lwq_space s)
{
    lwq_pn_space *sp = &c->sp[s];
    /* Not c->scratch: it still holds the datagram whose remaining frames and packets follow. */
    uint8_t buf[2048];
    if (s == LWQ_SPACE_INITIAL && c->is_server) {
        int rv = lwq_conn_version_server_choose(c); /* RFC 9368 §2.3: before TLS answers */
        if (rv)
            return rv > 0 ? 0 : rv;
    }
    for (;;) {
        size_t n = lwq_recvbuf_read(&sp->crx, buf, sizeof(buf), NULL);
        if (!n)
            break;
        int rv = lwq_tls_recv(c->tls, lwq_space_epoch(s), buf, n);
        if (rv)
            return tls_failed(c, rv);
    }
    return tls_pump(c);
}

int lwq_conn_recv(lwq_conn *c, const lwq_path *path, const uint8_t *data, size_t len, uint8_t ecn, lwq_tstamp now)
{
    if (c->state == LWQ_CONN_CLOSED)
        return LWQ_ERR_CLOSED;
    if (now > c->now)
        c->now = now;
    if (len > c->scratch_cap)
        return 0;
    c->ecn.rx_mark = ecn; /* RFC 9000 §13.4.1 */
    if (lwq_conn_path_on_datagram(c, path ? path : &c->path, len)) {
        c->stats.packets_dropped++; /* RFC 9000 §9, §9.6 */
        return 0;
    }
    memcpy(c->scratch, data, len);
    lwq_conn_trace_datagram(c, 0, data, len);
    return lwq_conn_recv_datagram(c, c->scratch, len, c->now);
}

ssize_t lwq_conn_send(lwq_conn *c, lwq_path *path, uint8_t *buf, size_t cap, size_t max_segments, size_t *segsize,
                      uint8_t *ecn, lwq_tstamp now)
{
    if (now > c->now)
        c->now = now;
    if (path)
        *path = c->path;
    if (ecn)
        *ecn = 0;
    if (segsize)
        *segsize = 0;
    lwq_path other;
    ssize_t probe = lwq_conn_path_send_other(c, &other, buf, cap); /* RFC 9000 §8.2 */
    if (probe > 0) {
        if (path)
            *path = other;
        if (segsize)
            *segsize = (size_t)probe;
        return probe;
    }
    uint8_t mark = lwq_conn_ecn_mark(c); /* RFC 9000 §13.4.2 */
    uint64_t before[LWQ_SPACE_COUNT];
    for (int s = 0; s < LWQ_SPACE_COUNT; s++)
        before[s] = c->rec.spaces[s].next_pn;
    size_t total = 0, seg = 0;
    for (size_t i = 0; i < (max_segments ? max_segments : 1); i++) {
        size_t room = cap - total;
        if (i && room > seg)
            room = seg;
        ssize_t n = lwq_conn_build_datagram(c, buf + total, room, c->now);
        if (n < 0)
            return total ? (ssize_t)total : n;
        if (n == 0)
            break;
        if (!i)
            seg = (size_t)n;
        lwq_conn_trace_datagram(c, 1, buf + total, (size_t)n);
        total += (size_t)n;
        lwq_conn_path_on_sent(c, (size_t)n);
        if ((size_t)n < seg || seg < LWQ_CONN_MDS)
            break;
    }
    if (segsize)
        *segsize = seg;
    if (total && c->state < LWQ_CONN_CLOSING)
        lwq_conn_ecn_on_sent(c, mark, before);
    /* a closing packet keeps the mark too (nothing to validate): a peer or observer may expect every
     * datagram of an ECN-capable path marked, as the interop runner's ecn case does */
    if (total && ecn)
        *ecn = mark;
    return (ssize_t)total;
}

static int amplification_blocked(const lwq_conn *c)
{
    return c->is_server && !c->address_validated &&
           c->bytes_tx >= LWQ_AMPLIFICATION_FACTOR * c->bytes_rx; /* RFC 9002 §6.2.2.1 */
}

static lwq_tstamp idle_deadline(const lwq_conn *c)
{
    if (!c->idle_timeout)
        return LWQ_TSTAMP_INF;
    lwq_tstamp t = c->idle_timeout, min = 3 * lwq_conn_pto(c); /* RFC 9000 §10.1 */
    return c->idle_start + (t > min ? t : min);
}

lwq_tstamp lwq_conn_next_timeout(const lwq_conn *c)
{
    if (c->state == LWQ_CONN_CLOSED)
        return LWQ_TSTAMP_INF;
    if (c->state >= LWQ_CONN_CLOSING)
        return c->close_deadline;
    lwq_tstamp t = idle_deadline(c);
    if (c->rec.timer && c->rec.timer < t && !amplification_blocked(c))
        t = c->rec.timer;
    for (int s = 0; s < LWQ_SPACE_COUNT; s++) {
        const lwq_pn_space *sp = &c->sp[s];
        /* An ACK the space cannot record now waits for an acknowledgement to free room. */
        if (sp->ack_pending && sp->ack_deadline && sp->ack_deadline < t && !lwq_sentmap_full(&c->rec.spaces[s]))
            t = sp->ack_deadline;
    }
    if (c->cfg->handshake_timeout && !c->handshake_complete && c->created + c->cfg->handshake_timeout < t)
        t = c->created + c->cfg->handshake_timeout;
    lwq_tstamp pace = lwq_recovery_pacing_time(&c->rec, c->now); /* RFC 9002 §7.7 */
    if (pace > c->now && pace < t)
        t = pace;
    lwq_tstamp pt = lwq_conn_path_timeout(c); /* RFC 9000 §8.2.4 */
    if (pt < t)
        t = pt;
    /* A deadline that passed while the timer was suppressed (amplification limit) fires now. */
    return t < c->now ? c->now : t;
}

void lwq_conn_terminate(lwq_conn *c, const lwq_close_info *ci)
{
    if (!c->close_set) {
        c->close_set = 1;
        c->close = *ci;
        push_simple(c, LWQ_EV_CLOSED);
    }
    c->state = LWQ_CONN_CLOSED;
}

static void close_silently(lwq_conn *c, int idle)
{
    lwq_close_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.idle_timeout = idle;
    const char *why = idle ? "idle timeout" : "handshake timeout";
    set_reason(&ci, (const uint8_t *)why, strlen(why));
    lwq_conn_terminate(c, &ci);
}

int lwq_conn_handle_timeout(lwq_conn *c, lwq_tstamp now)
{
    if (now > c->now)
        c->now = now;
    now = c->now;
    if (c->state == LWQ_CONN_CLOSED)
        return LWQ_ERR_CLOSED;
    if (c->state >= LWQ_CONN_CLOSING) {
        if (now >= c->close_deadline)
            c->state = LWQ_CONN_CLOSED;
        return 0;
    }
    if (now >= idle_deadline(c)) {
        close_silently(c, 1); /* RFC 9000 §10.1 */
        return 0;
    }
    if (c->cfg->handshake_timeout && !c->handshake_complete && now >= c->created + c->cfg->handshake_timeout) {
        close_silently(c, 0);
        return 0;
    }
    lwq_conn_path_handle_timeout(c, now);
    if (c->rec.timer && now >= c->rec.timer && !amplification_blocked(c)) {
        lwq_recovery_visitor v;
        lwq_conn_recovery_visitor(c, &v);
        int s = lwq_recovery_on_timeout(&c->rec, &v, now);
        lwq_conn_qlog_metrics(c); /* timer losses or a PTO changed the recovery state */
        if (s >= 0) {
            if (c->sp[s].discarded || !c->sp[s].has_wk)
                s = c->sp[LWQ_SPACE_HANDSHAKE].has_wk ? LWQ_SPACE_HANDSHAKE : LWQ_SPACE_INITIAL;
            if (!c->sp[s].discarded && c->sp[s].has_wk) {
                lwq_conn_trace_pto(c, (lwq_space)s);
                lwq_conn_pto_probe(c, (lwq_space)s);
            }
        }
    }
    return 0;
}

void lwq_conn_set_app_data(lwq_conn *c, void *data) { c->app_data = data; }
void *lwq_conn_app_data(const lwq_conn *c) { return c->app_data; }

int lwq_conn_is_established(const lwq_conn *c)
{
    return c->handshake_complete && c->state == LWQ_CONN_ESTABLISHED;
}
int lwq_conn_is_closed(const lwq_conn *c)
{
    return c->state == LWQ_CONN_CLOSED;
}
const char *lwq_conn_alpn(const lwq_conn *c)
{
    return c->alpn[0] ? c->alpn : NULL;
}
const char *lwq_conn_cipher(const lwq_conn *c)
{
    return c->handshake_complete ? lwq_suite_name(lwq_tls_suite(c->tls)) : NULL;
}
uint32_t lwq_conn_version(const lwq_conn *c)
{
    return c->version;
}

static void stats_get(const lwq_conn *c, lwq_conn_stats *st);

void lwq_conn_stats_get_sized(const lwq_conn *c, lwq_conn_stats *st, size_t struct_size)
{
    lwq_conn_stats full; /* the caller's struct may be older and shorter (docs/architecture.md, "ABI") */
    stats_get(c, &full);
    memcpy(st, &full, struct_size < sizeof(full) ? struct_size : sizeof(full));
}

static void stats_get(const lwq_conn *c, lwq_conn_stats *st)
{
    *st = c->stats;
    st->packets_lost = c->rec.packets_lost;
    st->smoothed_rtt = c->rec.rtt.smoothed;
    st->min_rtt = c->rec.rtt.min;
    st->latest_rtt = c->rec.rtt.latest;
    st->cwnd = c->rec.cc.cwnd;
    st->bytes_in_flight = c->rec.cc.bytes_in_flight;
    st->ecn_state = c->ecn.state;
    st->packets_0rtt = c->early.packets;
}

int lwq_conn_resumed(const lwq_conn *c)
{
    return c->tls && lwq_tls_resumed(c->tls);
}

static size_t dgram_frame_len(size_t len)
{
    return 1 + lwq_varint_len(len) + len;
}

/* The largest DATAGRAM frame that fits an otherwise empty 1-RTT packet. */
#define DGRAM_FRAME_MAX (LWQ_CONN_MDS - 1 - LWQ_CID_MAX - 4 - LWQ_AEAD_TAG_LEN)

int lwq_datagram_send(lwq_conn *c, const uint8_t *data, size_t len)
{
    if (c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_CLOSED;
    if (!c->have_peer_tp || !c->peer_tp.has_max_datagram_frame_size || !c->peer_tp.max_datagram_frame_size)
        return LWQ_ERR_UNSUPPORTED;
    /* RFC 9221 §3: within the peer's limit, and in one packet since DATAGRAM is never split. */
    if (dgram_frame_len(len) > c->peer_tp.max_datagram_frame_size || dgram_frame_len(len) > DGRAM_FRAME_MAX ||
        c->dg_tx_count >= c->cfg->max_datagram_queue)
        return LWQ_ERR_LIMIT;
    lwq_dgram *d = lwq_malloc(c->alloc, sizeof(*d) + len);
    if (!d)
        return LWQ_ERR_NOMEM;
    d->next = NULL;
    d->len = len;
    if (len)
        memcpy(d->data, data, len);
    if (c->dg_tx_tail)
        c->dg_tx_tail->next = d;
    else
        c->dg_tx = d;
    c->dg_tx_tail = d;
    c->dg_tx_count++;
    return 0;
}

int lwq_conn_write_datagrams(lwq_conn *c, lwq_pktb *b)
{
    while (c->dg_tx) {
        lwq_dgram *d = c->dg_tx;
        lwq_frame f;
        memset(&f, 0, sizeof(f));
        f.type = LWQ_FRAME_DATAGRAM_LEN;
        f.u.datagram.data = d->data;
        f.u.datagram.len = d->len;
        int rv = lwq_pktb_add(b, &f, NULL); /* never retransmitted (RFC 9221 §5.2) */
        if (rv == LWQ_ERR_NOBUF)
            return 0;
        if (rv)
            return rv;
        c->dg_tx = d->next;
        if (!c->dg_tx)
            c->dg_tx_tail = NULL;
        c->dg_tx_count--;
        lwq_free(c->alloc, d);
    }
    return 0;
}

int lwq_conn_datagram_received(lwq_conn *c, const lwq_frame *f)
{
    const lwq_tparams *tp = &c->local_tp;
    size_t len = f->u.datagram.len;
    size_t flen = f->type == LWQ_FRAME_DATAGRAM ? 1 + len : dgram_frame_len(len);
    if (!tp->has_max_datagram_frame_size || flen > tp->max_datagram_frame_size)
        return lwq_conn_error(c, LWQ_QUIC_ERR_PROTOCOL_VIOLATION, f->type, "DATAGRAM not allowed or too large");
    if (c->dg_rx_count >= c->cfg->max_datagram_queue)
        return 0; /* RFC 9221 §5: a receiver may drop datagrams */
    lwq_dgram *d = lwq_malloc(c->alloc, sizeof(*d) + len);
    if (!d)
        return LWQ_ERR_NOMEM;
    lwq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_EV_DATAGRAM;
    ev.stream_id = -1;
    ev.len = len;
    if (lwq_conn_push_event(c, &ev)) {
        lwq_free(c->alloc, d);
        return 0;
    }
    d->next = NULL;
    d->len = len;
    if (len)
        memcpy(d->data, f->u.datagram.data, len);
    if (c->dg_rx_tail)
        c->dg_rx_tail->next = d;
    else
        c->dg_rx = d;
    c->dg_rx_tail = d;
    c->dg_rx_count++;
    return 0;
}
