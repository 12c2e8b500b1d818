#include <string.h>
#include "base/mem.h"
#include "tls/tls.h"
#include "tls/x509.h"

/* Schemes we accept in CertificateVerify, and additionally in certificates (RFC 9846 §4.2.3). */
static const uint16_t sigalgs[] = {LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA256,
                                   LWQ_SIG_RSA_PSS_RSAE_SHA384, LWQ_SIG_ED25519, LWQ_SIG_ECDSA_SECP384R1_SHA384};
static const uint16_t sigalgs_cert[] = {
    LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA384, LWQ_SIG_ED25519,
    LWQ_SIG_ECDSA_SECP384R1_SHA384, LWQ_SIG_RSA_PKCS1_SHA256,    LWQ_SIG_RSA_PKCS1_SHA384};
#define NSIG (sizeof(sigalgs) / sizeof(sigalgs[0]))
#define NSIGC (sizeof(sigalgs_cert) / sizeof(sigalgs_cert[0]))

static int is_ip_literal(const char *s)
{
    int dots = 0;
    if (strchr(s, ':'))
        return 1;
    for (; *s; s++) {
        if (*s == '.')
            dots++;
        else if (*s < '0' || *s > '9')
            return 0;
    }
    return dots == 3;
}

static int sends_sni(const lwq_tls *t)
{
    const char *n = t->cfg.server_name;
    return n && *n && strlen(n) <= 255 && !is_ip_literal(n); /* RFC 6066 §3: no IP literals */
}

/* Takes the session blob to resume if it is usable now (RFC 9846 §4.6.1). */
static void load_session(lwq_tls *t)
{
    lwq_tls_span name;
    if (!t->cfg.session || lwq_tls_blob_decode(&t->session, &name, t->cfg.session, t->cfg.session_len) < 0)
        return;
    int64_t now = lwq_tls_now(t);
    if (!lwq_tls_suite_ok(t, t->session.suite) || now < t->session.issued ||
        now - t->session.issued >= (int64_t)t->session.lifetime)
        return;
    /* a ticket belongs to the server it came from */
    const char *sn = t->cfg.server_name ? t->cfg.server_name : "";
    if (name.n != strlen(sn) || memcmp(name.p, sn, name.n) != 0)
        return;
    t->have_session = 1;
    t->suite = t->session.suite;
    t->hash = lwq_suite_hash(t->suite);
    t->hlen = lwq_hash_len(t->hash);
    /* RFC 9001 §4.6.1: 0-RTT only with a ticket that allows it */
    t->early_attempted = t->cfg.early_data && t->session.max_early_data == 0xffffffff;
}

/* binder = HMAC(finished_key(binder_key), Hash(transcript + truncated ClientHello)) (RFC 9846 §4.2.11.2). */
static void compute_binder(lwq_tls *t, const uint8_t *ch, size_t trunc, int second, uint8_t *out)
{
    lwq_hash_alg alg = lwq_suite_hash(t->session.suite);
    uint8_t h[LWQ_HASH_MAX], bk[LWQ_HASH_MAX], fk[LWQ_HASH_MAX];
    size_t hl = lwq_hash_len(alg);
    lwq_hash_ctx c;
    if (second)
        c = t->th;
    else
        lwq_hash_init(&c, alg);
    lwq_hash_update(&c, ch, trunc);
    lwq_hash_final(&c, h);
    lwq_ks_init(&t->ks, alg, t->session.psk, t->session.psk_len);
    lwq_ks_binder_key(&t->ks, bk);
    lwq_finished_key(alg, bk, fk);
    lwq_hmac(alg, fk, hl, h, hl, out);
    lwq_wipe(bk, sizeof(bk));
    lwq_wipe(fk, sizeof(fk));
}

static int write_client_hello(lwq_tls *t, int second)
{
    lwq_tls_client_hello m;
    uint8_t suites[2 * LWQ_TLS_MAX_LIST], groups[2 * LWQ_TLS_MAX_LIST], sig[2 * NSIG], sigc[2 * NSIGC], ver[2];
    uint8_t share[4 + LWQ_KEX_PUB_MAX], *ids = NULL, binders[1 + LWQ_HASH_MAX];
    uint8_t modes[1] = {LWQ_TLS_PSK_DHE_KE};
    uint16_t v13 = LWQ_TLS_VERSION_13;
    size_t alpn_len = 0;
    memset(&m, 0, sizeof(m));
    memcpy(m.random, t->client_random, 32);
    m.suites = lwq_tls_u16_list_put(suites, t->suites, t->nsuites);
    m.groups = lwq_tls_u16_list_put(groups, t->groups, t->ngroups);
    m.sigalgs = lwq_tls_u16_list_put(sig, sigalgs, NSIG);
    m.sigalgs_cert = lwq_tls_u16_list_put(sigc, sigalgs_cert, NSIGC);
    m.versions = lwq_tls_u16_list_put(ver, &v13, 1);
    lwq_put16(share, t->kex.group);
    lwq_put16(share + 2, (uint16_t)t->kex.publen);
    memcpy(share + 4, t->kex.pub, t->kex.publen);
    m.shares.p = share;
    m.shares.n = 4 + t->kex.publen;
    m.transport_params.p = t->local_tp;
    m.transport_params.n = t->local_tp_len;
    m.present = lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS) | lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_GROUPS) |
                lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE) | lwq_tls_ext_bit(LWQ_TLS_EXT_SIGNATURE_ALGORITHMS) |
                lwq_tls_ext_bit(LWQ_TLS_EXT_SIGNATURE_ALGORITHMS_CERT) |
                lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS);
    /* RFC 9846 §4.2.9: also without a session, so the server knows that its tickets are usable
     * (servers may issue none, or unusable ones, to a client that lists no mode) */
    m.psk_modes.p = modes;
    m.psk_modes.n = 1;
    m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES);
    if (sends_sni(t)) {
        m.server_name.p = (const uint8_t *)t->cfg.server_name;
        m.server_name.n = strlen(t->cfg.server_name);
        m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_SERVER_NAME);
    }
    for (size_t i = 0; i < t->cfg.alpn_count; i++)
        alpn_len += 1 + strlen(t->cfg.alpn[i]);
    if (alpn_len > 0xffff)
        return LWQ_ERR_INVAL;
    uint8_t *alpn = lwq_malloc(t->alloc, alpn_len);
    if (!alpn)
        return LWQ_ERR_NOMEM;
    for (size_t i = 0, off = 0; i < t->cfg.alpn_count; i++) {
        size_t n = strlen(t->cfg.alpn[i]);
        alpn[off] = (uint8_t)n;
        memcpy(alpn + off + 1, t->cfg.alpn[i], n);
        off += 1 + n;
    }
    if (alpn_len) {
        m.alpn.p = alpn;
        m.alpn.n = alpn_len;
        m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN);
    }
    if (t->cookie) {
        m.cookie.p = t->cookie;
        m.cookie.n = t->cookie_len;
        m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_COOKIE);
    }
    size_t hl = 0;
    if (t->have_session) {
        /* RFC 9846 §4.2.11.1: obfuscated_ticket_age = age in ms + ticket_age_add */
        uint32_t age = (uint32_t)((uint64_t)(lwq_tls_now(t) - t->session.issued) * 1000u) + t->session.age_add;
        size_t tl = t->session.ticket.n;
        hl = lwq_hash_len(lwq_suite_hash(t->session.suite));
        if (!(ids = lwq_malloc(t->alloc, 2 + tl + 4))) {
            lwq_free(t->alloc, alpn);
            return LWQ_ERR_NOMEM;
        }
        lwq_put16(ids, (uint16_t)tl);
        memcpy(ids + 2, t->session.ticket.p, tl);
        lwq_put32(ids + 2 + tl, age);
        m.psk_identities.p = ids;
        m.psk_identities.n = 2 + tl + 4;
        binders[0] = (uint8_t)hl;
        memset(binders + 1, 0, hl);
        m.psk_binders.p = binders;
        m.psk_binders.n = 1 + hl;
        m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY);
        /* RFC 9846 §4.1.2: no early_data in the ClientHello after a HelloRetryRequest */
        if (t->early_attempted && !second)
            m.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
    }
    size_t len = lwq_tls_client_hello_encoded_len(&m);
    uint8_t *ch = len ? lwq_malloc(t->alloc, len) : NULL;
    if (ch)
        lwq_tls_client_hello_encode(&m, ch, len);
    lwq_free(t->alloc, alpn);
    lwq_free(t->alloc, ids);
    if (!ch)
        return len ? LWQ_ERR_NOMEM : LWQ_ERR_INVAL;
    if (t->have_session)
        compute_binder(t, ch, len - 2 - (1 + hl), second, ch + len - hl);
    int rc = lwq_tls_out_write(t, LWQ_TLS_EPOCH_INITIAL, ch, len);
    if (rc) {
        lwq_free(t->alloc, ch);
        return rc;
    }
    if (second) {
        lwq_tls_th_update(t, ch, len);
        lwq_free(t->alloc, ch);
    } else {
        t->ch1 = ch;
        t->ch1_len = len;
    }
    return 0;
}

int lwq_tls_client_start(lwq_tls *t)
{
    int rc;
    lwq_tls_random(t, t->client_random, 32);
    load_session(t);
    if ((rc = lwq_kex_keygen(&t->kex, (lwq_group)t->groups[0], t->rng)))
        return rc;
    if ((rc = write_client_hello(t, 0)))
        return rc;
    t->state = LWQ_TLS_ST_WAIT_SH;
    if (t->early_attempted) {
        /* RFC 9846 §7.1: client_early_traffic_secret over the ClientHello */
        uint8_t h[LWQ_HASH_MAX], s[LWQ_HASH_MAX];
        lwq_hash(t->hash, t->ch1, t->ch1_len, h);
        lwq_ks_derive(&t->ks, "c e traffic", h, s);
        rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_0RTT, 1, s, "CLIENT_EARLY_TRAFFIC_SECRET");
        lwq_wipe(s, sizeof(s));
    }
    return rc;
}

static int recv_hrr(lwq_tls *t, const lwq_tls_server_hello *sh, const uint8_t *msg, size_t len)
{
    int rc;
    /* RFC 9846 §4.1.4 */
    if (t->hrr)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "second HelloRetryRequest");
    int has_ks = (sh->present & lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE)) != 0;
    int has_cookie = (sh->present & lwq_tls_ext_bit(LWQ_TLS_EXT_COOKIE)) != 0;
    if (!has_ks && !has_cookie)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "HelloRetryRequest changes nothing");
    if (has_ks && (!lwq_tls_group_ok(t, sh->group) || sh->group == t->kex.group))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "HelloRetryRequest asks for a bad group");
    t->hrr = 1;
    t->hrr_suite = sh->suite;
    lwq_tls_th_start(t, (lwq_suite)sh->suite);
    lwq_tls_th_restart_hrr(t, t->ch1, t->ch1_len);
    lwq_tls_th_update(t, msg, len);
    lwq_free(t->alloc, t->ch1);
    t->ch1 = NULL;
    if (has_cookie) {
        if (!(t->cookie = lwq_memdup(t->alloc, sh->cookie.p, sh->cookie.n)))
            return LWQ_ERR_NOMEM;
        t->cookie_len = sh->cookie.n;
    }
    if (has_ks) {
        lwq_kex_clear(&t->kex);
        if ((rc = lwq_kex_keygen(&t->kex, (lwq_group)sh->group, t->rng)))
            return rc;
    }
    /* RFC 9846 §4.1.4: keep only a PSK whose hash matches the selected suite */
    if (t->have_session && lwq_suite_hash(t->session.suite) != t->hash)
        t->have_session = 0;
    return write_client_hello(t, 1);
}

static int recv_server_hello(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_server_hello sh;
    uint8_t shared[LWQ_KEX_SHARED_MAX], h[LWQ_HASH_MAX];
    size_t sharedlen;
    ssize_t n = lwq_tls_server_hello_decode(&sh, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed ServerHello");
    /* RFC 9846 §4.1.3 */
    if (sh.legacy_version != LWQ_TLS_LEGACY_VERSION || !(sh.present & lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_PROTOCOL_VERSION, "server does not speak TLS 1.3");
    if (sh.version != LWQ_TLS_VERSION_13)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "server selected a version we did not offer");
    if (sh.session_id.n || sh.compression)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "bad legacy session id or compression");
    if (!lwq_tls_suite_ok(t, sh.suite))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "server selected a suite we did not offer");
    if (sh.unknown)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, "unsolicited extension in ServerHello");
    if (sh.is_hrr)
        return recv_hrr(t, &sh, msg, len);
    if (t->hrr && sh.suite != t->hrr_suite)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "suite differs from the HelloRetryRequest");
    if (sh.present & lwq_tls_ext_bit(LWQ_TLS_EXT_COOKIE))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "cookie in ServerHello");
    if (!(sh.present & lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "no key_share in ServerHello (psk_dhe_ke only)");
    if (sh.group != t->kex.group)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "key share for a group we did not send");
    if (sh.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY)) {
        if (!t->have_session)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, "pre_shared_key we did not offer");
        if (sh.psk_identity != 0 || lwq_suite_hash(sh.suite) != lwq_suite_hash(t->session.suite))
            return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "bad PSK selection");
        t->resumed = 1;
    }
    if (lwq_kex_derive(&t->kex, sh.share.p, sh.share.n, shared, &sharedlen))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "bad server key share");
    t->group = sh.group;
    if (!t->th_ready) {
        lwq_tls_th_start(t, (lwq_suite)sh.suite);
        lwq_tls_th_update(t, t->ch1, t->ch1_len);
    }
    lwq_tls_th_update(t, msg, len);
    lwq_free(t->alloc, t->ch1);
    t->ch1 = NULL;
    lwq_kex_clear(&t->kex);
    /* RFC 9846 §7.1 */
    if (t->resumed)
        lwq_ks_init(&t->ks, t->hash, t->session.psk, t->session.psk_len);
    else
        lwq_ks_init(&t->ks, t->hash, NULL, 0);
    lwq_ks_advance(&t->ks, shared, sharedlen);
    lwq_wipe(shared, sizeof(shared));
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "c hs traffic", h, t->c_hs);
    lwq_ks_derive(&t->ks, "s hs traffic", h, t->s_hs);
    lwq_ks_advance(&t->ks, NULL, 0);
    int rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_HANDSHAKE, 0, t->s_hs, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
    if (!rc)
        rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_HANDSHAKE, 1, t->c_hs, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
    t->state = LWQ_TLS_ST_WAIT_EE;
    t->read_epoch = LWQ_TLS_EPOCH_HANDSHAKE;
    return rc;
}

static int recv_encrypted_extensions(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_encrypted_extensions ee;
    ssize_t n = lwq_tls_encrypted_extensions_decode(&ee, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed EncryptedExtensions");
    if (ee.unknown || ((ee.present & lwq_tls_ext_bit(LWQ_TLS_EXT_SERVER_NAME)) && !sends_sni(t)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, "unsolicited extension in EncryptedExtensions");
    if (ee.present & lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA)) {
        if (!t->early_attempted || t->hrr)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, "early_data we did not offer");
        if (!t->resumed)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "early_data accepted without the PSK");
        t->early_accepted = 1;
    }
    /* RFC 9001 §8.1 */
    if (!(ee.present & lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL, "server did not select an ALPN protocol");
    int offered = 0;
    for (size_t i = 0; i < t->cfg.alpn_count; i++)
        if (strlen(t->cfg.alpn[i]) == ee.alpn.n && memcmp(t->cfg.alpn[i], ee.alpn.p, ee.alpn.n) == 0)
            offered = 1;
    if (!offered)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "server selected an ALPN protocol we did not offer");
    /* RFC 9001 §8.2 */
    if (!(ee.present & lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "no quic_transport_parameters");
    if (!(t->peer_tp = lwq_memdup(t->alloc, ee.transport_params.p, ee.transport_params.n)))
        return LWQ_ERR_NOMEM;
    t->peer_tp_len = ee.transport_params.n;
    t->have_peer_tp = 1;
    memcpy(t->alpn, ee.alpn.p, ee.alpn.n);
    t->alpn_len = ee.alpn.n;
    lwq_tls_th_update(t, msg, len);
    t->state = t->resumed ? LWQ_TLS_ST_WAIT_FINISHED : LWQ_TLS_ST_WAIT_CERT_CR;
    if (t->early_attempted) {
        lwq_tls_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = LWQ_TLS_EV_EARLY_DATA;
        ev.accepted = t->early_accepted;
        return lwq_tls_push_event(t, &ev, NULL);
    }
    return 0;
}

static int recv_certificate_request(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_certificate_request cr;
    ssize_t n = lwq_tls_certificate_request_decode(&cr, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed CertificateRequest");
    memcpy(t->cr_context, cr.context.p, cr.context.n);
    t->cr_context_len = cr.context.n;
    t->cr_seen = 1;
    lwq_tls_th_update(t, msg, len);
    t->state = LWQ_TLS_ST_WAIT_CERT;
    return 0;
}

/* The reason phrase of our close: what was wrong with the server's certificate. */
static const char *cert_reason(int err)
{
    switch (err) {
    case LWQ_ERR_CERT_EXPIRED: return "server certificate rejected: expired";
    case LWQ_ERR_CERT_NOT_YET_VALID: return "server certificate rejected: not yet valid";
    case LWQ_ERR_CERT_UNKNOWN_CA: return "server certificate rejected: unknown CA";
    case LWQ_ERR_CERT_NOT_CA: return "server certificate rejected: an issuer is not a CA";
    case LWQ_ERR_CERT_NAME_MISMATCH: return "server certificate rejected: name mismatch";
    case LWQ_ERR_CERT_BAD_SIGNATURE: return "server certificate rejected: bad signature";
    case LWQ_ERR_CERT_UNSUPPORTED_ALG: return "server certificate rejected: unsupported algorithm";
    case LWQ_ERR_CERT_CHAIN_TOO_LONG: return "server certificate rejected: chain too long";
    case LWQ_ERR_CERT_REJECTED: return "server certificate rejected by the application";
    default: return "server certificate rejected: malformed";
    }
}

static int recv_certificate(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_certificate c;
    lwq_tls_span der;
    lwq_x509 leaf;
    ssize_t n = lwq_tls_certificate_decode(&c, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed Certificate");
    /* RFC 9846 §4.4.2 */
    if (c.context.n)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "server Certificate with a request context");
    if (!c.count)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECODE_ERROR, "empty server Certificate");
    if (c.entry_exts)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION, "unsolicited certificate entry extension");
    if (c.count > t->cfg.max_chain_len || c.list.n > t->cfg.max_chain_size) {
        t->verify_result = LWQ_ERR_CERT_CHAIN_TOO_LONG;
        return lwq_tls_fail(t, LWQ_TLS_ALERT_BAD_CERTIFICATE, "certificate chain over the configured limit");
    }
    if (!(t->peer_chain.der = lwq_calloc(t->alloc, c.count, sizeof(uint8_t *))) ||
        !(t->peer_chain.len = lwq_calloc(t->alloc, c.count, sizeof(size_t))))
        return LWQ_ERR_NOMEM;
    for (size_t i = 0; i < c.count; i++) {
        lwq_tls_cert_at(c.list, i, &der);
        if (!(t->peer_chain.der[i] = lwq_memdup(t->alloc, der.p, der.n)))
            return LWQ_ERR_NOMEM;
        t->peer_chain.len[i] = der.n;
        t->peer_chain.count = i + 1;
    }
    int vr = 0;
    /* the leaf key signs CertificateVerify whether or not the chain is verified */
    if (lwq_x509_parse(&leaf, t->peer_chain.der[0], t->peer_chain.len[0]) < 0) {
        vr = LWQ_ERR_CERT_MALFORMED;
    } else {
        int rc = lwq_pubkey_from_spki(&t->peer_key, leaf.spki, leaf.spki_len, t->alloc);
        if (rc == LWQ_ERR_NOMEM)
            return rc;
        if (rc)
            vr = rc == LWQ_ERR_UNSUPPORTED || rc == LWQ_ERR_CERT_UNSUPPORTED_ALG ? LWQ_ERR_CERT_UNSUPPORTED_ALG
                                                                                 : LWQ_ERR_CERT_MALFORMED;
    }
    if (!vr && !t->cfg.insecure) {
        lwq_verify_params p = {t->cfg.server_name, lwq_tls_now(t), t->cfg.max_chain_len + 1};
        vr = t->cfg.trust ? lwq_cert_verify(t->cfg.trust, &t->peer_chain, &p, NULL, t->alloc) : LWQ_ERR_CERT_UNKNOWN_CA;
        if (vr == LWQ_ERR_NOMEM)
            return vr;
    }
    if (t->cfg.verify && t->peer_key)
        vr = t->cfg.verify(t->cfg.verify_ud, &t->peer_chain, vr);
    if (vr) {
        t->verify_result = vr < 0 ? vr : LWQ_ERR_CERT_REJECTED;
        int alert = lwq_tls_alert_for_err(t->verify_result);
        if (alert == LWQ_TLS_ALERT_INTERNAL_ERROR)
            alert = LWQ_TLS_ALERT_BAD_CERTIFICATE;
        return lwq_tls_fail(t, alert, cert_reason(t->verify_result));
    }
    t->verified = !t->cfg.insecure || t->cfg.verify;
    lwq_tls_th_update(t, msg, len);
    t->state = LWQ_TLS_ST_WAIT_CV;
    return 0;
}

static int recv_certificate_verify(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_certificate_verify cv;
    uint8_t content[64 + 34 + LWQ_HASH_MAX];
    ssize_t n = lwq_tls_certificate_verify_decode(&cv, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed CertificateVerify");
    int offered = 0;
    for (size_t i = 0; i < NSIG; i++)
        offered |= sigalgs[i] == cv.scheme;
    /* RFC 9846 §4.4.3 */
    if (!offered || !lwq_pubkey_can_verify(t->peer_key, (lwq_sigalg)cv.scheme))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "CertificateVerify with a scheme we did not offer");
    size_t cl = lwq_tls_cv_content(t, 1, content);
    if (lwq_verify(t->peer_key, (lwq_sigalg)cv.scheme, content, cl, cv.sig.p, cv.sig.n))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECRYPT_ERROR, "bad CertificateVerify signature");
    t->sigalg = cv.scheme;
    lwq_tls_th_update(t, msg, len);
    t->state = LWQ_TLS_ST_WAIT_FINISHED;
    return 0;
}

static int write_finished(lwq_tls *t)
{
    uint8_t mac[LWQ_HASH_MAX], buf[4 + LWQ_HASH_MAX];
    lwq_tls_finished_mac(t, t->c_hs, mac);
    lwq_tls_finished f = {{mac, t->hlen}};
    ssize_t n = lwq_tls_finished_encode(&f, buf, sizeof(buf));
    int rc = lwq_tls_out_write(t, LWQ_TLS_EPOCH_HANDSHAKE, buf, (size_t)n);
    if (!rc)
        lwq_tls_th_update(t, buf, (size_t)n);
    return rc;
}

static int recv_finished(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_finished f;
    uint8_t mac[LWQ_HASH_MAX], h[LWQ_HASH_MAX], exp[LWQ_HASH_MAX];
    int rc;
    if (lwq_tls_finished_decode(&f, msg, len) < 0)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECODE_ERROR, "malformed Finished");
    lwq_tls_finished_mac(t, t->s_hs, mac);
    /* RFC 9846 §4.4.4 */
    if (f.verify_data.n != t->hlen || !lwq_ct_equal(mac, f.verify_data.p, t->hlen))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECRYPT_ERROR, "bad server Finished");
    lwq_tls_th_update(t, msg, len);
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "c ap traffic", h, t->c_ap);
    lwq_ks_derive(&t->ks, "s ap traffic", h, t->s_ap);
    lwq_ks_derive(&t->ks, "exp master", h, exp);
    lwq_tls_keylog(t, "EXPORTER_SECRET", exp);
    lwq_wipe(exp, sizeof(exp));
    if ((rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_1RTT, 0, t->s_ap, "SERVER_TRAFFIC_SECRET_0")))
        return rc;
    if (t->cr_seen) {
        /* RFC 9846 §4.4.2: no client certificate, an empty Certificate */
        lwq_tls_span ctx = {t->cr_context, t->cr_context_len};
        uint8_t buf[4 + 1 + 255 + 3];
        ssize_t n = lwq_tls_certificate_encode(&ctx, NULL, NULL, 0, buf, sizeof(buf));
        if ((rc = lwq_tls_out_write(t, LWQ_TLS_EPOCH_HANDSHAKE, buf, (size_t)n)))
            return rc;
        lwq_tls_th_update(t, buf, (size_t)n);
    }
    if ((rc = write_finished(t)))
        return rc;
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "res master", h, t->res_master);
    if ((rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_1RTT, 1, t->c_ap, "CLIENT_TRAFFIC_SECRET_0")))
        return rc;
    t->state = LWQ_TLS_ST_CONNECTED;
    t->read_epoch = LWQ_TLS_EPOCH_1RTT;
    t->complete = 1;
    lwq_tls_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_TLS_EV_HANDSHAKE_COMPLETE;
    ev.verified = t->verified;
    return lwq_tls_push_event(t, &ev, NULL);
}

static int recv_new_session_ticket(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_new_session_ticket nst;
    lwq_tls_session s;
    ssize_t n = lwq_tls_new_session_ticket_decode(&nst, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed NewSessionTicket");
    /* RFC 9001 §4.6.1: 0-RTT is signalled with max_early_data_size 0xffffffff */
    if ((nst.present & lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA)) && nst.max_early_data != 0xffffffff)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "max_early_data_size must be 0xffffffff in QUIC");
    if (!nst.lifetime)
        return 0; /* RFC 9846 §4.6.1: not to be cached */
    memset(&s, 0, sizeof(s));
    s.suite = t->suite;
    s.issued = lwq_tls_now(t);
    s.lifetime = nst.lifetime > 604800 ? 604800 : nst.lifetime;
    s.age_add = nst.age_add;
    s.max_early_data = nst.max_early_data;
    memcpy(s.alpn, t->alpn, t->alpn_len);
    s.alpn_len = t->alpn_len;
    s.psk_len = t->hlen;
    lwq_resumption_psk(t->hash, t->res_master, nst.nonce.p, nst.nonce.n, s.psk);
    s.ticket = nst.ticket;
    s.tp.p = t->peer_tp;
    s.tp.n = t->peer_tp_len;
    uint8_t *blob;
    size_t blen;
    int rc = lwq_tls_blob_encode(&s, t->cfg.server_name, t->alloc, &blob, &blen);
    lwq_wipe(s.psk, sizeof(s.psk));
    if (rc)
        return rc;
    lwq_tls_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_TLS_EV_SESSION_TICKET;
    ev.blob = blob;
    ev.blob_len = blen;
    lwq_tls_push_event(t, &ev, blob); /* a full queue drops the ticket */
    return 0;
}

int lwq_tls_client_handle(lwq_tls *t, const uint8_t *msg, size_t len)
{
    switch (t->state * 256 + msg[0]) {
    case LWQ_TLS_ST_WAIT_SH * 256 + LWQ_TLS_HS_SERVER_HELLO:
        return recv_server_hello(t, msg, len);
    case LWQ_TLS_ST_WAIT_EE * 256 + LWQ_TLS_HS_ENCRYPTED_EXTENSIONS:
        return recv_encrypted_extensions(t, msg, len);
    case LWQ_TLS_ST_WAIT_CERT_CR * 256 + LWQ_TLS_HS_CERTIFICATE_REQUEST:
        return recv_certificate_request(t, msg, len);
    case LWQ_TLS_ST_WAIT_CERT_CR * 256 + LWQ_TLS_HS_CERTIFICATE:
    case LWQ_TLS_ST_WAIT_CERT * 256 + LWQ_TLS_HS_CERTIFICATE:
        return recv_certificate(t, msg, len);
    case LWQ_TLS_ST_WAIT_CV * 256 + LWQ_TLS_HS_CERTIFICATE_VERIFY:
        return recv_certificate_verify(t, msg, len);
    case LWQ_TLS_ST_WAIT_FINISHED * 256 + LWQ_TLS_HS_FINISHED:
        return recv_finished(t, msg, len);
    case LWQ_TLS_ST_CONNECTED * 256 + LWQ_TLS_HS_NEW_SESSION_TICKET:
        return recv_new_session_ticket(t, msg, len);
    default:
        /* RFC 9001 §6: KeyUpdate, and anything out of order, is unexpected_message */
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "unexpected handshake message");
    }
}
