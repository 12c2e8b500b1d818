/* Configuration defaults and the context: certificates, trust anchors and keys loaded once. */
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/varint.h"

static void config_defaults(lwq_config *cfg, int is_server);

void lwq_config_init_sized(lwq_config *cfg, int is_server, size_t struct_size)
{
    lwq_config full; /* the caller's struct may be older and shorter (docs/architecture.md, "ABI") */
    config_defaults(&full, is_server);
    if (struct_size > sizeof(full))
        struct_size = sizeof(full);
    memcpy(cfg, &full, struct_size);
    cfg->struct_size = struct_size;
}

static void config_defaults(lwq_config *cfg, int is_server)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->struct_size = sizeof(*cfg);
    cfg->is_server = is_server;
    cfg->version = LWQ_VERSION_1;
    cfg->idle_timeout = 30 * LWQ_SEC;
    if (is_server)
        cfg->handshake_timeout = 15 * LWQ_SEC; /* a half-open handshake holds a slot no longer */
    cfg->max_udp_payload_size = 1472;
    cfg->initial_max_data = 1 << 20;
    cfg->initial_max_stream_data_bidi_local = 256 << 10;
    cfg->initial_max_stream_data_bidi_remote = 256 << 10;
    cfg->initial_max_stream_data_uni = 256 << 10;
    cfg->initial_max_streams_bidi = 100;
    cfg->initial_max_streams_uni = 100;
    cfg->ack_delay_exponent = LWQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
    cfg->max_ack_delay = 25 * LWQ_MS;
    cfg->active_connection_id_limit = 4;
    cfg->max_window = 16 << 20;
    cfg->max_stream_window = 6 << 20;
    cfg->max_crypto_buffer = 64 << 10;
    cfg->max_stream_gaps = 64;
    cfg->max_ack_ranges = 64;
    cfg->max_sent_packets = 4096;
    cfg->stream_send_buffer = 256 << 10;
    cfg->max_datagram_queue = 64;
    cfg->max_streams_open = 1000;
    cfg->cc = LWQ_CC_ALGO_CUBIC;
    cfg->initial_rtt = 333 * LWQ_MS;
}

static const char *check_config(const lwq_config *cfg)
{
    if (cfg->is_server && (!cfg->cert_data || !cfg->key_data))
        return "a server needs a certificate and its key (cert_file and key_file, or cert_data and key_data)";
    if (!cfg->is_server && !cfg->insecure && !cfg->ca_data)
        return "a client needs trust anchors (ca_file, ca_data or the system bundle) unless insecure";
    if (!cfg->alpn || cfg->alpn_count == 0)
        return "at least one ALPN protocol is required (RFC 9001 §8.1)";
    for (size_t i = 0; i < cfg->alpn_count; i++)
        if (!cfg->alpn[i] || !cfg->alpn[i][0] || strlen(cfg->alpn[i]) > 255)
            return "ALPN protocol names are 1..255 bytes";
    if (cfg->version != LWQ_VERSION_1 && cfg->version != LWQ_VERSION_2)
        return "version must be LWQ_VERSION_1 or LWQ_VERSION_2";
    if (cfg->other_versions_count > 7 || (cfg->other_versions_count && !cfg->other_versions))
        return "other_versions: at most 7 versions";
    for (size_t i = 0; i < cfg->other_versions_count; i++)
        if (cfg->other_versions[i] != LWQ_VERSION_1 && cfg->other_versions[i] != LWQ_VERSION_2)
            return "other_versions: only LWQ_VERSION_1 and LWQ_VERSION_2";
    if (cfg->ack_delay_exponent > 20)
        return "ack_delay_exponent above 20 (RFC 9000 §18.2)";
    if (cfg->max_ack_delay >= ((lwq_tstamp)1 << 14) * LWQ_MS)
        return "max_ack_delay of 2^14 ms or more (RFC 9000 §18.2)";
    if (cfg->active_connection_id_limit < 2)
        return "active_connection_id_limit below 2 (RFC 9000 §18.2)";
    if (cfg->max_udp_payload_size < 1200)
        return "max_udp_payload_size below 1200";
    if (cfg->initial_max_streams_bidi > cfg->max_streams_open || cfg->initial_max_streams_uni > cfg->max_streams_open ||
        cfg->initial_max_streams_bidi + cfg->initial_max_streams_uni > cfg->max_streams_open)
        return "the peer could open more streams than max_streams_open";
    if (cfg->max_datagram_frame_size > LWQ_VARINT_MAX)
        return "max_datagram_frame_size above 2^62";
    if (cfg->max_ack_ranges < 2 || cfg->max_sent_packets < 16 || cfg->max_crypto_buffer < 4096 ||
        cfg->stream_send_buffer == 0 || cfg->max_streams_open == 0)
        return "a limit is too small";
    if (cfg->cc != LWQ_CC_ALGO_NEWRENO && cfg->cc != LWQ_CC_ALGO_CUBIC)
        return "unknown congestion control algorithm";
    if (cfg->quic_lb.server_id_len && lwq_quic_lb_check(&cfg->quic_lb))
        return "quic_lb: config rotation 0..6, server ID 1..15 bytes, nonce 4..18, together at most 19";
    return NULL;
}

int lwq_context_new_mem(lwq_context **out, const lwq_config *user, const char **why)
{
    /* fields past the caller's struct_size keep their defaults (0: a config not made by lwq_config_init,
     * taken as this version's) */
    lwq_config full;
    config_defaults(&full, user->is_server);
    size_t have = user->struct_size && user->struct_size < sizeof(full) ? user->struct_size : sizeof(full);
    memcpy(&full, user, have);
    full.struct_size = sizeof(full);
    const lwq_config *cfg = &full;
    const char *bad = check_config(cfg);
    *out = NULL;
    if (why)
        *why = bad;
    if (bad)
        return LWQ_ERR_INVAL;
    const lwq_allocator *a = cfg->alloc ? cfg->alloc : lwq_default_allocator();
    lwq_context *ctx = lwq_calloc(a, 1, sizeof(*ctx));
    if (!ctx)
        return LWQ_ERR_NOMEM;
    ctx->cfg = *cfg;
    ctx->cfg.cert_data = ctx->cfg.key_data = ctx->cfg.ca_data = NULL; /* read below, not kept */
    ctx->cfg.cert_len = ctx->cfg.key_len = ctx->cfg.ca_len = 0;
    ctx->alloc = a;
    ctx->rng = cfg->rng ? cfg->rng : lwq_default_rng();
    ctx->cfg.alloc = a;
    ctx->cfg.rng = ctx->rng;
    int rv = 0;
    if (cfg->is_server) {
        const char *what = "cannot load the certificate chain (cert_file)";
        rv = lwq_cert_chain_load(&ctx->chain, cfg->cert_data, cfg->cert_len, a);
        if (!rv && ctx->chain.count == 0)
            rv = LWQ_ERR_CERT_MALFORMED;
        if (!rv && (what = "cannot load the private key (key_file)"))
            rv = lwq_privkey_load(&ctx->key, cfg->key_data, cfg->key_len, a);
        if (!rv && (what = "the private key (key_file) does not match the certificate (cert_file)"))
            rv = lwq_privkey_matches_cert(ctx->key, ctx->chain.der[0], ctx->chain.len[0], a);
        if (rv && why)
            *why = what;
    } else if (!cfg->insecure) {
        rv = lwq_trust_new(&ctx->trust, a);
        if (!rv) {
            int n = lwq_trust_add(ctx->trust, cfg->ca_data, cfg->ca_len);
            rv = n < 0 ? n : n == 0 ? LWQ_ERR_CERT_MALFORMED : 0;
        }
        if (rv && why)
            *why = "cannot load trust anchors (ca_file)";
    }
    if (rv) {
        lwq_context_del(ctx);
        return rv;
    }
    if (cfg->ticket_key)
        memcpy(ctx->ticket_key, cfg->ticket_key, 32);
    else
        ctx->rng->fill(ctx->rng->ud, ctx->ticket_key, 32);
    ctx->rng->fill(ctx->rng->ud, ctx->token_key, 32);
    ctx->rng->fill(ctx->rng->ud, ctx->reset_key, 32);
    *out = ctx;
    return 0;
}

void lwq_context_del(lwq_context *ctx)
{
    if (!ctx)
        return;
    const lwq_allocator *a = ctx->alloc;
    lwq_cert_chain_free(&ctx->chain, a);
    if (ctx->key)
        lwq_privkey_del(ctx->key, a);
    if (ctx->trust)
        lwq_trust_del(ctx->trust);
    lwq_wipe(ctx->ticket_key, sizeof(ctx->ticket_key));
    lwq_wipe(ctx->token_key, sizeof(ctx->token_key));
    lwq_wipe(ctx->reset_key, sizeof(ctx->reset_key));
    lwq_free(a, ctx);
}
