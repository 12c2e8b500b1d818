#include <string.h>
#include "base/mem.h"
#include "tls/tls.h"

/* Our CertificateVerify schemes in preference order (RFC 9846 §4.2.3). */
static const uint16_t sign_prefs[] = {LWQ_SIG_ED25519, LWQ_SIG_ECDSA_SECP256R1_SHA256, LWQ_SIG_ECDSA_SECP384R1_SHA384,
                                      LWQ_SIG_RSA_PSS_RSAE_SHA256, LWQ_SIG_RSA_PSS_RSAE_SHA384};

#define AGE_TOLERANCE_MS 10000

static int has_ext(const lwq_tls_client_hello *ch, uint16_t type)
{
    return (ch->present & lwq_tls_ext_bit(type)) != 0;
}

static int write_msg_hs(lwq_tls *t, lwq_tls_epoch epoch, const uint8_t *p, size_t n)
{
    int rc = lwq_tls_out_write(t, epoch, p, n);
    if (!rc)
        lwq_tls_th_update(t, p, n);
    return rc;
}

static uint16_t pick_suite(const lwq_tls *t, const lwq_tls_client_hello *ch, const lwq_tls_session *s, int have_s)
{
    /* a resumable ticket's suite wins when the client still offers it */
    if (have_s && lwq_tls_suite_ok(t, s->suite) && lwq_tls_u16_list_has(ch->suites, s->suite))
        return s->suite;
    for (size_t i = 0; i < t->nsuites; i++)
        if (lwq_tls_u16_list_has(ch->suites, t->suites[i]))
            return t->suites[i];
    return 0;
}

static int pick_alpn(lwq_tls *t, const lwq_tls_client_hello *ch)
{
    /* RFC 9001 §8.1: our preference among the client's protocols */
    for (size_t i = 0; i < t->cfg.alpn_count; i++) {
        size_t n = strlen(t->cfg.alpn[i]);
        if (lwq_tls_alpn_in_list(ch->alpn, (const uint8_t *)t->cfg.alpn[i], n)) {
            memcpy(t->alpn, t->cfg.alpn[i], n);
            t->alpn_len = n;
            return 0;
        }
    }
    return lwq_tls_fail(t, LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL, "no ALPN protocol in common");
}

static int check_shares(lwq_tls *t, const lwq_tls_client_hello *ch)
{
    const uint8_t *p = ch->shares.p;
    size_t n = ch->shares.n, x25519 = 0, p256 = 0;
    while (n >= 4) {
        uint16_t g = lwq_get16(p);
        size_t k = 4 + lwq_get16(p + 2);
        if (!lwq_tls_u16_list_has(ch->groups, g))
            return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "key share for a group not in supported_groups");
        x25519 += g == LWQ_GROUP_X25519;
        p256 += g == LWQ_GROUP_SECP256R1;
        p += k, n -= k; /* the codec checked every entry fits */
    }
    if (x25519 > 1 || p256 > 1)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "two key shares for one group");
    return 0;
}

static int write_hrr(lwq_tls *t, const lwq_tls_client_hello *ch, const uint8_t *msg, size_t len)
{
    lwq_tls_server_hello h;
    uint8_t buf[128];
    memset(&h, 0, sizeof(h));
    h.is_hrr = 1;
    h.session_id = ch->session_id;
    h.suite = t->suite;
    h.version = LWQ_TLS_VERSION_13;
    h.group = t->group;
    h.present = lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS) | lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
    ssize_t n = lwq_tls_server_hello_encode(&h, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    /* RFC 9846 §4.4.1: the transcript restarts from message_hash(ClientHello1) */
    lwq_tls_th_restart_hrr(t, msg, len);
    t->hrr = 1;
    t->state = LWQ_TLS_ST_WAIT_CH2;
    return write_msg_hs(t, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
}

/* Opens identity 0 if it is one of our tickets and still fresh; 1 when usable. */
static int open_ticket(lwq_tls *t, const lwq_tls_client_hello *ch, lwq_tls_session *s, uint32_t *client_age)
{
    lwq_tls_span id;
    uint32_t obf;
    if (!t->cfg.ticket_key || !has_ext(ch, LWQ_TLS_EXT_PRE_SHARED_KEY) ||
        !memchr(ch->psk_modes.p, LWQ_TLS_PSK_DHE_KE, ch->psk_modes.n) ||
        !lwq_tls_psk_identity_at(ch->psk_identities, 0, &id, &obf))
        return 0;
    if (lwq_tls_ticket_open(t, id.p, id.n, s) < 0)
        return 0;
    int64_t now = lwq_tls_now(t);
    if (now < s->issued - 60 || now - s->issued > (int64_t)s->lifetime)
        return 0;
    *client_age = obf - s->age_add;
    return 1;
}

/* RFC 9001 §4.6.2, RFC 9114 §7.2.4.2: 0-RTT only when the transport parameters and application
 * settings the ticket was issued under still hold (lwq_tls_config.early_context). */
static int early_context_ok(const lwq_tls *t, const lwq_tls_session *s)
{
    if (t->cfg.early_context_ok)
        return t->cfg.early_context_ok(t->cfg.early_context_ud, s->early_context, s->early_context_len) == 1;
    return s->early_context_len == t->cfg.early_context_len &&
           (!s->early_context_len || memcmp(s->early_context, t->cfg.early_context, s->early_context_len) == 0);
}

static int check_binder(lwq_tls *t, const lwq_tls_client_hello *ch, const uint8_t *msg, lwq_tls_session *s)
{
    uint8_t h[LWQ_HASH_MAX], bk[LWQ_HASH_MAX], fk[LWQ_HASH_MAX], mac[LWQ_HASH_MAX];
    lwq_tls_span binder;
    lwq_hash_ctx c = t->th;
    lwq_hash_update(&c, msg, ch->binders_off);
    lwq_hash_final(&c, h);
    lwq_ks_init(&t->ks, t->hash, s->psk, s->psk_len);
    lwq_ks_binder_key(&t->ks, bk);
    lwq_finished_key(t->hash, bk, fk);
    lwq_hmac(t->hash, fk, t->hlen, h, t->hlen, mac);
    lwq_wipe(bk, sizeof(bk));
    lwq_wipe(fk, sizeof(fk));
    lwq_tls_vec8_at(ch->psk_binders, 0, &binder);
    /* RFC 9846 §4.2.11.2 */
    if (binder.n != t->hlen || !lwq_ct_equal(binder.p, mac, t->hlen))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECRYPT_ERROR, "PSK binder does not verify");
    return 0;
}

static int write_server_hello(lwq_tls *t, const lwq_tls_client_hello *ch)
{
    lwq_tls_server_hello h;
    uint8_t buf[256];
    memset(&h, 0, sizeof(h));
    lwq_tls_random(t, h.random, 32);
    h.session_id = ch->session_id;
    h.suite = t->suite;
    h.version = LWQ_TLS_VERSION_13;
    h.group = t->group;
    h.share.p = t->kex.pub;
    h.share.n = t->kex.publen;
    h.present = lwq_tls_ext_bit(LWQ_TLS_EXT_SUPPORTED_VERSIONS) | lwq_tls_ext_bit(LWQ_TLS_EXT_KEY_SHARE);
    if (t->resumed)
        h.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY);
    ssize_t n = lwq_tls_server_hello_encode(&h, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    return write_msg_hs(t, LWQ_TLS_EPOCH_INITIAL, buf, (size_t)n);
}

static int write_encrypted_extensions(lwq_tls *t)
{
    lwq_tls_encrypted_extensions ee;
    memset(&ee, 0, sizeof(ee));
    ee.alpn.p = t->alpn;
    ee.alpn.n = t->alpn_len;
    ee.transport_params.p = t->local_tp;
    ee.transport_params.n = t->local_tp_len;
    ee.present = lwq_tls_ext_bit(LWQ_TLS_EXT_ALPN) | lwq_tls_ext_bit(LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS);
    if (t->early_accepted)
        ee.present |= lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
    size_t n = lwq_tls_encrypted_extensions_encoded_len(&ee);
    if (!n)
        return LWQ_ERR_INVAL;
    uint8_t *p = lwq_tls_out_room(t, LWQ_TLS_EPOCH_HANDSHAKE, n);
    if (!p)
        return LWQ_ERR_NOMEM;
    lwq_tls_encrypted_extensions_encode(&ee, p, n);
    lwq_tls_th_update(t, p, n);
    lwq_tls_out_commit(t, LWQ_TLS_EPOCH_HANDSHAKE, n);
    return 0;
}

static int write_certificate(lwq_tls *t, const lwq_tls_client_hello *ch)
{
    const lwq_cert_chain *c = t->cfg.cert_chain;
    uint8_t content[64 + 34 + LWQ_HASH_MAX], buf[4 + 4 + LWQ_SIG_MAX];
    uint8_t sig[LWQ_SIG_MAX];
    size_t siglen = sizeof(sig);
    int rc;
    /* RFC 9846 §4.2.3: signature_algorithms is required for certificate authentication */
    if (!has_ext(ch, LWQ_TLS_EXT_SIGNATURE_ALGORITHMS))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "no signature_algorithms");
    t->sigalg = 0;
    for (size_t i = 0; i < sizeof(sign_prefs) / sizeof(sign_prefs[0]) && !t->sigalg; i++)
        if (lwq_tls_u16_list_has(ch->sigalgs, sign_prefs[i]) &&
            lwq_privkey_can_sign(t->cfg.key, (lwq_sigalg)sign_prefs[i]))
            t->sigalg = sign_prefs[i];
    if (!t->sigalg)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_HANDSHAKE_FAILURE, "no signature scheme in common");
    size_t n = lwq_tls_certificate_encoded_len(NULL, c->len, c->count);
    if (!n)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_INTERNAL_ERROR, "certificate chain too large to send");
    uint8_t *p = lwq_tls_out_room(t, LWQ_TLS_EPOCH_HANDSHAKE, n);
    if (!p)
        return LWQ_ERR_NOMEM;
    lwq_tls_certificate_encode(NULL, (const uint8_t *const *)c->der, c->len, c->count, p, n);
    lwq_tls_th_update(t, p, n);
    lwq_tls_out_commit(t, LWQ_TLS_EPOCH_HANDSHAKE, n);
    size_t cl = lwq_tls_cv_content(t, 1, content);
    if ((rc = lwq_sign(t->cfg.key, (lwq_sigalg)t->sigalg, content, cl, sig, &siglen, t->rng)))
        return rc == LWQ_ERR_NOMEM ? rc : lwq_tls_fail(t, LWQ_TLS_ALERT_INTERNAL_ERROR, "signing failed");
    lwq_tls_certificate_verify cv = {t->sigalg, {sig, siglen}};
    ssize_t m = lwq_tls_certificate_verify_encode(&cv, buf, sizeof(buf));
    if (m < 0)
        return (int)m;
    return write_msg_hs(t, LWQ_TLS_EPOCH_HANDSHAKE, buf, (size_t)m);
}

static int recv_client_hello(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_client_hello ch;
    lwq_tls_session s;
    lwq_tls_span key;
    uint32_t client_age = 0;
    uint8_t shared[LWQ_KEX_SHARED_MAX], h[LWQ_HASH_MAX];
    size_t sharedlen;
    int rc, second = t->state == LWQ_TLS_ST_WAIT_CH2;
    ssize_t n = lwq_tls_client_hello_decode(&ch, msg, len);
    if (n < 0)
        return lwq_tls_fail_err(t, (int)n, "malformed ClientHello");
    /* RFC 9846 §4.2.1: TLS 1.3 only */
    if (!has_ext(&ch, LWQ_TLS_EXT_SUPPORTED_VERSIONS) || !lwq_tls_u16_list_has(ch.versions, LWQ_TLS_VERSION_13))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_PROTOCOL_VERSION, "client does not offer TLS 1.3");
    if (ch.compression.n != 1 || ch.compression.p[0] != 0)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "compression offered");
    /* RFC 9001 §8.4 */
    if (ch.session_id.n)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "non-empty legacy_session_id");
    /* RFC 9846 §9.2 */
    if (!has_ext(&ch, LWQ_TLS_EXT_SUPPORTED_GROUPS) || !has_ext(&ch, LWQ_TLS_EXT_KEY_SHARE))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "no supported_groups or key_share");
    if (has_ext(&ch, LWQ_TLS_EXT_PRE_SHARED_KEY) && !has_ext(&ch, LWQ_TLS_EXT_PSK_KEY_EXCHANGE_MODES))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "pre_shared_key without psk_key_exchange_modes");
    /* RFC 9001 §8.2 */
    if (!has_ext(&ch, LWQ_TLS_EXT_QUIC_TRANSPORT_PARAMETERS))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_MISSING_EXTENSION, "no quic_transport_parameters");
    if (!has_ext(&ch, LWQ_TLS_EXT_ALPN))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL, "no ALPN offered");
    if (second && (memcmp(ch.random, t->client_random, 32) != 0 || has_ext(&ch, LWQ_TLS_EXT_EARLY_DATA)))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "second ClientHello changed what it may not");
    memcpy(t->client_random, ch.random, 32);

    int have_s = open_ticket(t, &ch, &s, &client_age);
    uint16_t suite = pick_suite(t, &ch, &s, have_s);
    if (second && suite != t->suite)
        suite = lwq_tls_u16_list_has(ch.suites, t->suite) ? t->suite : 0;
    if (!suite)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_HANDSHAKE_FAILURE, "no cipher suite in common");
    if ((rc = pick_alpn(t, &ch)))
        return rc;
    if (ch.server_name.n && !second) {
        if (ch.server_name.n >= sizeof(t->sni) || memchr(ch.server_name.p, 0, ch.server_name.n))
            return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "bad server_name");
        memcpy(t->sni, ch.server_name.p, ch.server_name.n);
    }

    /* RFC 9846 §4.2.8: one share per group, each for a group in supported_groups */
    if ((rc = check_shares(t, &ch)))
        return rc;
    /* Key share: our preferred group among those the client sent a share for. */
    uint16_t group = 0;
    if (second) {
        /* RFC 9846 §4.1.2: exactly one share, for the group we asked for */
        if (!lwq_tls_find_share(ch.shares, t->group, &key) || ch.shares.n != 4 + key.n)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "second ClientHello without the requested share");
        group = t->group;
    } else {
        for (size_t i = 0; i < t->ngroups && !group; i++)
            if (lwq_tls_u16_list_has(ch.groups, t->groups[i]) && lwq_tls_find_share(ch.shares, t->groups[i], &key))
                group = t->groups[i];
        if (!group) {
            for (size_t i = 0; i < t->ngroups && !group; i++)
                if (lwq_tls_u16_list_has(ch.groups, t->groups[i]))
                    group = t->groups[i];
            if (!group)
                return lwq_tls_fail(t, LWQ_TLS_ALERT_HANDSHAKE_FAILURE, "no group in common");
            lwq_tls_th_start(t, (lwq_suite)suite);
            t->group = group;
            return write_hrr(t, &ch, msg, len);
        }
    }
    t->group = group;
    if (!second)
        lwq_tls_th_start(t, (lwq_suite)suite);

    if (have_s && lwq_suite_hash(s.suite) == t->hash) {
        if ((rc = check_binder(t, &ch, msg, &s)))
            return rc;
        t->resumed = 1;
        /* RFC 9846 §4.2.10, RFC 9001 §4.6: 0-RTT only on a first ClientHello, same ALPN, fresh age */
        int64_t expect_ms = (lwq_tls_now(t) - s.issued) * 1000;
        int64_t skew = (int64_t)client_age - expect_ms;
        t->early_accepted = !second && !t->hrr && has_ext(&ch, LWQ_TLS_EXT_EARLY_DATA) && t->cfg.early_data &&
                            s.max_early_data == 0xffffffff && s.alpn_len == t->alpn_len &&
                            memcmp(s.alpn, t->alpn, t->alpn_len) == 0 && skew <= AGE_TOLERANCE_MS &&
                            skew >= -AGE_TOLERANCE_MS && early_context_ok(t, &s);
        if (t->early_accepted && t->cfg.early_data_fresh) {
            lwq_tls_span binder;
            lwq_tls_vec8_at(ch.psk_binders, 0, &binder);
            t->early_accepted = t->cfg.early_data_fresh(t->cfg.early_data_fresh_ud, binder.p, binder.n) == 1;
        }
    } else {
        lwq_ks_init(&t->ks, t->hash, NULL, 0);
    }
    lwq_wipe(&s, sizeof(s));
    if (!(t->peer_tp = lwq_memdup(t->alloc, ch.transport_params.p, ch.transport_params.n)))
        return LWQ_ERR_NOMEM;
    t->peer_tp_len = ch.transport_params.n;
    t->have_peer_tp = 1;
    lwq_tls_th_update(t, msg, len);
    if (t->early_accepted) {
        uint8_t ce[LWQ_HASH_MAX];
        lwq_tls_th_hash(t, h);
        lwq_ks_derive(&t->ks, "c e traffic", h, ce);
        rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_0RTT, 0, ce, "CLIENT_EARLY_TRAFFIC_SECRET");
        lwq_wipe(ce, sizeof(ce));
        if (rc)
            return rc;
    }
    if ((rc = lwq_kex_keygen(&t->kex, (lwq_group)group, t->rng)))
        return rc;
    if (lwq_kex_derive(&t->kex, key.p, key.n, shared, &sharedlen))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_ILLEGAL_PARAMETER, "bad client key share");
    rc = write_server_hello(t, &ch);
    lwq_kex_clear(&t->kex);
    if (rc)
        return rc;
    lwq_ks_advance(&t->ks, shared, sharedlen);
    lwq_wipe(shared, sizeof(shared));
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "c hs traffic", h, t->c_hs);
    lwq_ks_derive(&t->ks, "s hs traffic", h, t->s_hs);
    lwq_ks_advance(&t->ks, NULL, 0);
    if ((rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_HANDSHAKE, 0, t->c_hs, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")) ||
        (rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_HANDSHAKE, 1, t->s_hs, "SERVER_HANDSHAKE_TRAFFIC_SECRET")))
        return rc;
    t->read_epoch = LWQ_TLS_EPOCH_HANDSHAKE;
    if ((rc = write_encrypted_extensions(t)))
        return rc;
    if (!t->resumed && (rc = write_certificate(t, &ch)))
        return rc;
    uint8_t mac[LWQ_HASH_MAX], buf[4 + LWQ_HASH_MAX], exp[LWQ_HASH_MAX];
    lwq_tls_finished_mac(t, t->s_hs, mac);
    lwq_tls_finished f = {{mac, t->hlen}};
    n = lwq_tls_finished_encode(&f, buf, sizeof(buf));
    if ((rc = write_msg_hs(t, LWQ_TLS_EPOCH_HANDSHAKE, buf, (size_t)n)))
        return rc;
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "c ap traffic", h, t->c_ap);
    lwq_ks_derive(&t->ks, "s ap traffic", h, t->s_ap);
    lwq_ks_derive(&t->ks, "exp master", h, exp);
    lwq_tls_keylog(t, "EXPORTER_SECRET", exp);
    lwq_wipe(exp, sizeof(exp));
    /* RFC 9001 §5.7: the server may send 0.5-RTT data but reads 1-RTT only after the client Finished */
    if ((rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_1RTT, 1, t->s_ap, "SERVER_TRAFFIC_SECRET_0")))
        return rc;
    t->state = LWQ_TLS_ST_WAIT_FINISHED;
    return 0;
}

static int write_ticket(lwq_tls *t)
{
    lwq_tls_session s;
    lwq_tls_new_session_ticket nst;
    uint8_t nonce[8], ticket[512], buf[600];
    size_t tlen;
    int rc;
    memset(&s, 0, sizeof(s));
    lwq_put64(nonce, t->tickets_sent++);
    s.suite = t->suite;
    s.issued = lwq_tls_now(t);
    s.lifetime = t->cfg.ticket_lifetime;
    lwq_tls_random(t, (uint8_t *)&s.age_add, sizeof(s.age_add));
    /* RFC 9001 §4.6.1 */
    s.max_early_data = t->cfg.early_data ? 0xffffffff : 0;
    memcpy(s.alpn, t->alpn, t->alpn_len);
    s.alpn_len = t->alpn_len;
    s.psk_len = t->hlen;
    if (t->cfg.early_context_len > sizeof(s.early_context))
        return LWQ_ERR_INVAL;
    if (t->cfg.early_context_len)
        memcpy(s.early_context, t->cfg.early_context, t->cfg.early_context_len);
    s.early_context_len = t->cfg.early_context_len;
    lwq_resumption_psk(t->hash, t->res_master, nonce, sizeof(nonce), s.psk);
    rc = lwq_tls_ticket_seal(t, &s, ticket, sizeof(ticket), &tlen);
    lwq_wipe(s.psk, sizeof(s.psk));
    if (rc)
        return rc;
    memset(&nst, 0, sizeof(nst));
    nst.lifetime = s.lifetime;
    nst.age_add = s.age_add;
    nst.nonce.p = nonce;
    nst.nonce.n = sizeof(nonce);
    nst.ticket.p = ticket;
    nst.ticket.n = tlen;
    if (s.max_early_data) {
        nst.present = lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA);
        nst.max_early_data = s.max_early_data;
    }
    ssize_t n = lwq_tls_new_session_ticket_encode(&nst, buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    return lwq_tls_out_write(t, LWQ_TLS_EPOCH_1RTT, buf, (size_t)n);
}

static int recv_finished(lwq_tls *t, const uint8_t *msg, size_t len)
{
    lwq_tls_finished f;
    uint8_t mac[LWQ_HASH_MAX], h[LWQ_HASH_MAX];
    int rc;
    if (lwq_tls_finished_decode(&f, msg, len) < 0)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECODE_ERROR, "malformed Finished");
    lwq_tls_finished_mac(t, t->c_hs, mac);
    /* RFC 9846 §4.4.4 */
    if (f.verify_data.n != t->hlen || !lwq_ct_equal(mac, f.verify_data.p, t->hlen))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECRYPT_ERROR, "bad client Finished");
    lwq_tls_th_update(t, msg, len);
    lwq_tls_th_hash(t, h);
    lwq_ks_derive(&t->ks, "res master", h, t->res_master);
    if ((rc = lwq_tls_push_secret(t, LWQ_TLS_EPOCH_1RTT, 0, t->c_ap, "CLIENT_TRAFFIC_SECRET_0")))
        return rc;
    t->state = LWQ_TLS_ST_CONNECTED;
    t->read_epoch = LWQ_TLS_EPOCH_1RTT;
    t->complete = 1;
    lwq_tls_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_TLS_EV_HANDSHAKE_COMPLETE;
    if ((rc = lwq_tls_push_event(t, &ev, NULL)))
        return rc;
    /* RFC 9846 §4.6.1: tickets after the client Finished */
    return t->cfg.ticket_key ? write_ticket(t) : 0;
}

int lwq_tls_server_handle(lwq_tls *t, const uint8_t *msg, size_t len)
{
    switch (t->state * 256 + msg[0]) {
    case LWQ_TLS_ST_WAIT_CH * 256 + LWQ_TLS_HS_CLIENT_HELLO:
    case LWQ_TLS_ST_WAIT_CH2 * 256 + LWQ_TLS_HS_CLIENT_HELLO:
        return recv_client_hello(t, msg, len);
    case LWQ_TLS_ST_WAIT_FINISHED * 256 + LWQ_TLS_HS_FINISHED:
        return recv_finished(t, msg, len);
    default:
        /* RFC 9001 §8.3: no EndOfEarlyData; §6: no KeyUpdate; no client certificates */
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "unexpected handshake message");
    }
}
