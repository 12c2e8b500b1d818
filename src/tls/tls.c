#include <stdio.h>
#include <string.h>
#include "base/mem.h"
#include "tls/tls.h"

#define DEF_MAX_MESSAGE 65536
#define DEF_MAX_CHAIN_LEN 10
#define DEF_MAX_CHAIN_SIZE 65536
#define DEF_MAX_EXTENSIONS 40

const char *lwq_tls_alert_name(int alert)
{
    switch (alert) {
    case 0:
        return "close_notify";
    case LWQ_TLS_ALERT_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case LWQ_TLS_ALERT_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case LWQ_TLS_ALERT_BAD_CERTIFICATE:
        return "bad_certificate";
    case LWQ_TLS_ALERT_UNSUPPORTED_CERTIFICATE:
        return "unsupported_certificate";
    case LWQ_TLS_ALERT_CERTIFICATE_EXPIRED:
        return "certificate_expired";
    case LWQ_TLS_ALERT_CERTIFICATE_UNKNOWN:
        return "certificate_unknown";
    case LWQ_TLS_ALERT_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case LWQ_TLS_ALERT_UNKNOWN_CA:
        return "unknown_ca";
    case LWQ_TLS_ALERT_DECODE_ERROR:
        return "decode_error";
    case LWQ_TLS_ALERT_DECRYPT_ERROR:
        return "decrypt_error";
    case LWQ_TLS_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
    case LWQ_TLS_ALERT_INTERNAL_ERROR:
        return "internal_error";
    case LWQ_TLS_ALERT_MISSING_EXTENSION:
        return "missing_extension";
    case LWQ_TLS_ALERT_UNSUPPORTED_EXTENSION:
        return "unsupported_extension";
    case LWQ_TLS_ALERT_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
    default:
        return "unknown";
    }
}

int lwq_tls_alert_for_err(int err)
{
    switch (err) {
    case LWQ_ERR_PROTO:
        return LWQ_TLS_ALERT_ILLEGAL_PARAMETER;
    case LWQ_ERR_TRUNCATED:
    case LWQ_ERR_DECODE:
    case LWQ_ERR_LIMIT:
        return LWQ_TLS_ALERT_DECODE_ERROR;
    case LWQ_ERR_CERT_EXPIRED:
    case LWQ_ERR_CERT_NOT_YET_VALID:
        return LWQ_TLS_ALERT_CERTIFICATE_EXPIRED;
    case LWQ_ERR_CERT_UNKNOWN_CA:
    case LWQ_ERR_CERT_NOT_CA:
        return LWQ_TLS_ALERT_UNKNOWN_CA;
    case LWQ_ERR_CERT_UNSUPPORTED_ALG:
        return LWQ_TLS_ALERT_UNSUPPORTED_CERTIFICATE;
    case LWQ_ERR_CERT_NAME_MISMATCH:
    case LWQ_ERR_CERT_BAD_SIGNATURE:
    case LWQ_ERR_CERT_MALFORMED:
    case LWQ_ERR_CERT_CHAIN_TOO_LONG:
    case LWQ_ERR_CERT_REJECTED:
        return LWQ_TLS_ALERT_BAD_CERTIFICATE;
    case LWQ_ERR_DECRYPT:
        return LWQ_TLS_ALERT_DECRYPT_ERROR;
    default:
        return LWQ_TLS_ALERT_INTERNAL_ERROR;
    }
}

int lwq_tls_fail(lwq_tls *t, int alert, const char *reason)
{
    if (t->state != LWQ_TLS_ST_FAILED) {
        t->state = LWQ_TLS_ST_FAILED;
        t->alert = alert;
        t->reason = reason;
    }
    return LWQ_ERR_ALERT;
}

int lwq_tls_fail_err(lwq_tls *t, int err, const char *reason)
{
    if (err == LWQ_ERR_NOMEM) {
        lwq_tls_fail(t, LWQ_TLS_ALERT_INTERNAL_ERROR, "out of memory");
        return LWQ_ERR_NOMEM;
    }
    if (err == LWQ_ERR_ALERT)
        return err;
    return lwq_tls_fail(t, lwq_tls_alert_for_err(err), reason);
}

int64_t lwq_tls_now(const lwq_tls *t)
{
    return t->cfg.now_unix ? t->cfg.now_unix(t->cfg.now_ud) : lwq_wallclock_unix();
}

void lwq_tls_random(const lwq_tls *t, uint8_t *out, size_t n)
{
    t->rng->fill(t->rng->ud, out, n);
}

static int copy_list(uint16_t *dst, size_t *n, const uint16_t *src, size_t count)
{
    if (count > LWQ_TLS_MAX_LIST)
        return LWQ_ERR_INVAL;
    memcpy(dst, src, count * sizeof(*src));
    *n = count;
    return 0;
}

int lwq_tls_suite_ok(const lwq_tls *t, uint16_t suite)
{
    for (size_t i = 0; i < t->nsuites; i++)
        if (t->suites[i] == suite)
            return 1;
    return 0;
}

int lwq_tls_group_ok(const lwq_tls *t, uint16_t group)
{
    for (size_t i = 0; i < t->ngroups; i++)
        if (t->groups[i] == group)
            return 1;
    return 0;
}

int lwq_tls_new(lwq_tls **out, const lwq_tls_config *cfg)
{
    *out = NULL;
    if (!cfg || (cfg->is_server && (!cfg->cert_chain || !cfg->cert_chain->count || !cfg->key)))
        return LWQ_ERR_INVAL;
    for (size_t i = 0; i < cfg->alpn_count; i++) {
        size_t n = strlen(cfg->alpn[i]);
        if (n == 0 || n > 255)
            return LWQ_ERR_INVAL;
    }
    lwq_tls *t = lwq_calloc(cfg->alloc, 1, sizeof(*t));
    if (!t)
        return LWQ_ERR_NOMEM;
    t->cfg = *cfg;
    t->alloc = cfg->alloc;
    t->rng = cfg->rng ? cfg->rng : lwq_default_rng();
    int rc = 0;
    if (cfg->suites && cfg->suite_count) {
        rc = copy_list(t->suites, &t->nsuites, cfg->suites, cfg->suite_count);
        for (size_t i = 0; !rc && i < t->nsuites; i++)
            if (!lwq_suite_known(t->suites[i]))
                rc = LWQ_ERR_INVAL;
    } else {
        /* architecture notes: AES-256-GCM first where it runs fast */
        if (lwq_aead_is_fast(LWQ_AEAD_AES256GCM))
            t->suites[t->nsuites++] = LWQ_SUITE_AES256GCM_SHA384;
        t->suites[t->nsuites++] = LWQ_SUITE_AES128GCM_SHA256;
        if (!lwq_aead_is_fast(LWQ_AEAD_AES256GCM))
            t->suites[t->nsuites++] = LWQ_SUITE_AES256GCM_SHA384;
        t->suites[t->nsuites++] = LWQ_SUITE_CHACHA20POLY1305_SHA256;
    }
    if (!rc && cfg->groups && cfg->group_count) {
        rc = copy_list(t->groups, &t->ngroups, cfg->groups, cfg->group_count);
        for (size_t i = 0; !rc && i < t->ngroups; i++)
            if (t->groups[i] != LWQ_GROUP_X25519 && t->groups[i] != LWQ_GROUP_SECP256R1)
                rc = LWQ_ERR_INVAL;
    } else if (!rc) {
        t->groups[0] = LWQ_GROUP_X25519;
        t->groups[1] = LWQ_GROUP_SECP256R1;
        t->ngroups = 2;
    }
    if (rc) {
        lwq_free(t->alloc, t);
        return rc;
    }
    if (!t->cfg.max_message_size)
        t->cfg.max_message_size = DEF_MAX_MESSAGE;
    if (!t->cfg.max_chain_len)
        t->cfg.max_chain_len = DEF_MAX_CHAIN_LEN;
    if (!t->cfg.max_chain_size)
        t->cfg.max_chain_size = DEF_MAX_CHAIN_SIZE;
    if (!t->cfg.max_extensions || t->cfg.max_extensions > LWQ_TLS_EXT_MAX)
        t->cfg.max_extensions = t->cfg.max_extensions ? LWQ_TLS_EXT_MAX : DEF_MAX_EXTENSIONS;
    if (!t->cfg.ticket_lifetime)
        t->cfg.ticket_lifetime = 86400;
    if (t->cfg.ticket_lifetime > 604800)
        t->cfg.ticket_lifetime = 604800; /* RFC 9846 §4.6.1 */
    lwq_tls_reasm_init(&t->reasm, t->alloc, t->cfg.max_message_size);
    t->state = cfg->is_server ? LWQ_TLS_ST_WAIT_CH : LWQ_TLS_ST_START;
    t->read_epoch = LWQ_TLS_EPOCH_INITIAL;
    *out = t;
    return 0;
}

static void chain_free(lwq_tls *t)
{
    for (size_t i = 0; i < t->peer_chain.count; i++)
        lwq_free(t->alloc, t->peer_chain.der[i]);
    lwq_free(t->alloc, t->peer_chain.der);
    lwq_free(t->alloc, t->peer_chain.len);
    memset(&t->peer_chain, 0, sizeof(t->peer_chain));
}

void lwq_tls_del(lwq_tls *t)
{
    if (!t)
        return;
    lwq_tls_reasm_free(&t->reasm);
    for (int e = 0; e < LWQ_TLS_EPOCHS; e++)
        lwq_free(t->alloc, t->out[e].p);
    for (size_t i = 0; i < t->evcount; i++)
        lwq_free(t->alloc, t->evblob[(t->evhead + i) % LWQ_TLS_EVQ]);
    lwq_free(t->alloc, t->last_blob);
    lwq_free(t->alloc, t->local_tp);
    lwq_free(t->alloc, t->peer_tp);
    lwq_free(t->alloc, t->ch1);
    lwq_free(t->alloc, t->cookie);
    chain_free(t);
    if (t->peer_key)
        lwq_pubkey_del(t->peer_key, t->alloc);
    lwq_kex_clear(&t->kex);
    const lwq_allocator *a = t->alloc;
    lwq_wipe(t, sizeof(*t));
    lwq_free(a, t);
}

int lwq_tls_set_transport_params(lwq_tls *t, const uint8_t *p, size_t n)
{
    if (t->state != LWQ_TLS_ST_START && t->state != LWQ_TLS_ST_WAIT_CH)
        return LWQ_ERR_STATE;
    if (n > 0xffff)
        return LWQ_ERR_INVAL;
    uint8_t *c = lwq_memdup(t->alloc, p, n);
    if (!c)
        return LWQ_ERR_NOMEM;
    lwq_free(t->alloc, t->local_tp);
    t->local_tp = c;
    t->local_tp_len = n;
    return 0;
}

int lwq_tls_peer_transport_params(const lwq_tls *t, const uint8_t **p, size_t *n)
{
    if (!t->have_peer_tp)
        return LWQ_ERR_AGAIN;
    *p = t->peer_tp;
    *n = t->peer_tp_len;
    return 0;
}

int lwq_tls_start(lwq_tls *t)
{
    if (t->state == LWQ_TLS_ST_FAILED)
        return LWQ_ERR_ALERT;
    if (t->cfg.is_server || t->state != LWQ_TLS_ST_START)
        return LWQ_ERR_STATE;
    int rc = lwq_tls_client_start(t);
    return rc < 0 ? lwq_tls_fail_err(t, rc, "cannot build the ClientHello") : 0;
}

static int check_extension_limit(lwq_tls *t, const uint8_t *msg, size_t len)
{
    /* The codec caps blocks at LWQ_TLS_EXT_MAX; the configured limit is checked
     * here on the count it reports. */
    size_t next = 0;
    switch (msg[0]) {
    case LWQ_TLS_HS_CLIENT_HELLO: {
        lwq_tls_client_hello m;
        if (lwq_tls_client_hello_decode(&m, msg, len) > 0)
            next = m.next;
        break;
    }
    case LWQ_TLS_HS_ENCRYPTED_EXTENSIONS: {
        lwq_tls_encrypted_extensions m;
        if (lwq_tls_encrypted_extensions_decode(&m, msg, len) > 0)
            next = m.next;
        break;
    }
    default:
        break;
    }
    if (next > t->cfg.max_extensions)
        return lwq_tls_fail(t, LWQ_TLS_ALERT_DECODE_ERROR, "too many extensions");
    return 0;
}

/* Message types valid in the current state (RFC 9846 §A.1, §A.2); KeyUpdate,
 * EndOfEarlyData and legacy types never are in QUIC (RFC 9001 §6, §8.3). */
static int expects(const lwq_tls *t, uint8_t type)
{
    switch (t->state) {
    case LWQ_TLS_ST_WAIT_CH:
    case LWQ_TLS_ST_WAIT_CH2:
        return type == LWQ_TLS_HS_CLIENT_HELLO;
    case LWQ_TLS_ST_WAIT_SH:
        return type == LWQ_TLS_HS_SERVER_HELLO;
    case LWQ_TLS_ST_WAIT_EE:
        return type == LWQ_TLS_HS_ENCRYPTED_EXTENSIONS;
    case LWQ_TLS_ST_WAIT_CERT_CR:
        return type == LWQ_TLS_HS_CERTIFICATE || type == LWQ_TLS_HS_CERTIFICATE_REQUEST;
    case LWQ_TLS_ST_WAIT_CERT:
        return type == LWQ_TLS_HS_CERTIFICATE;
    case LWQ_TLS_ST_WAIT_CV:
        return type == LWQ_TLS_HS_CERTIFICATE_VERIFY;
    case LWQ_TLS_ST_WAIT_FINISHED:
        return type == LWQ_TLS_HS_FINISHED;
    case LWQ_TLS_ST_CONNECTED:
        return !t->cfg.is_server && type == LWQ_TLS_HS_NEW_SESSION_TICKET;
    default:
        return 0;
    }
}

int lwq_tls_recv(lwq_tls *t, lwq_tls_epoch epoch, const uint8_t *data, size_t len)
{
    if (t->state == LWQ_TLS_ST_FAILED)
        return LWQ_ERR_ALERT;
    if ((unsigned)epoch >= LWQ_TLS_EPOCHS)
        return LWQ_ERR_INVAL;
    if (!len)
        return 0;
    if (t->state == LWQ_TLS_ST_START)
        return LWQ_ERR_STATE;
    /* RFC 9001 §4.1.3: handshake data only at the epoch we read from now; the
     * server accepts nothing after its handshake (KeyUpdate is forbidden, §6). */
    if (epoch != t->read_epoch || (t->cfg.is_server && t->state == LWQ_TLS_ST_CONNECTED))
        return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "handshake data at an unexpected encryption level");
    while (len) {
        int done;
        /* refuse a message by its type before buffering its body */
        if (!lwq_tls_reasm_partial(&t->reasm) && !expects(t, data[0]))
            return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "unexpected handshake message");
        ssize_t used = lwq_tls_reasm_feed(&t->reasm, data, len, &done);
        if (used < 0)
            return lwq_tls_fail_err(t, (int)used, "handshake message too large");
        data += used;
        len -= (size_t)used;
        if (!done)
            break;
        int rc = check_extension_limit(t, t->reasm.msg, t->reasm.len);
        if (!rc)
            rc = t->cfg.is_server ? lwq_tls_server_handle(t, t->reasm.msg, t->reasm.len)
                                  : lwq_tls_client_handle(t, t->reasm.msg, t->reasm.len);
        lwq_tls_reasm_next(&t->reasm);
        if (rc < 0)
            return lwq_tls_fail_err(t, rc, "handshake failure");
        /* RFC 9001 §4.1.3: a key change must fall on a message boundary */
        if (len && epoch != t->read_epoch)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "handshake data continues past a key change");
        if (len && t->cfg.is_server && t->state == LWQ_TLS_ST_CONNECTED)
            return lwq_tls_fail(t, LWQ_TLS_ALERT_UNEXPECTED_MESSAGE, "data after the client Finished");
    }
    return 0;
}

void lwq_tls_output(const lwq_tls *t, lwq_tls_epoch epoch, const uint8_t **p, size_t *len)
{
    if ((unsigned)epoch >= LWQ_TLS_EPOCHS || !t->out[epoch].p) {
        *p = NULL;
        *len = 0;
        return;
    }
    *p = t->out[epoch].p + t->out[epoch].off;
    *len = t->out[epoch].len - t->out[epoch].off;
}

void lwq_tls_output_consume(lwq_tls *t, lwq_tls_epoch epoch, size_t n)
{
    if ((unsigned)epoch >= LWQ_TLS_EPOCHS)
        return;
    lwq_tls_buf *b = &t->out[epoch];
    if (n > b->len - b->off)
        n = b->len - b->off;
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

uint8_t *lwq_tls_out_room(lwq_tls *t, lwq_tls_epoch epoch, size_t n)
{
    lwq_tls_buf *b = &t->out[epoch];
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *p = lwq_realloc(t->alloc, b->p, cap);
        if (!p)
            return NULL;
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

void lwq_tls_out_commit(lwq_tls *t, lwq_tls_epoch epoch, size_t n)
{
    t->out[epoch].len += n;
}

int lwq_tls_out_write(lwq_tls *t, lwq_tls_epoch epoch, const uint8_t *p, size_t n)
{
    uint8_t *d = lwq_tls_out_room(t, epoch, n);
    if (!d)
        return LWQ_ERR_NOMEM;
    memcpy(d, p, n);
    lwq_tls_out_commit(t, epoch, n);
    return 0;
}

int lwq_tls_push_event(lwq_tls *t, const lwq_tls_event *ev, uint8_t *blob)
{
    if (t->evcount == LWQ_TLS_EVQ) {
        lwq_free(t->alloc, blob);
        return LWQ_ERR_LIMIT;
    }
    size_t i = (t->evhead + t->evcount++) % LWQ_TLS_EVQ;
    t->evq[i] = *ev;
    t->evblob[i] = blob;
    return 0;
}

void lwq_tls_keylog(lwq_tls *t, const char *label, const uint8_t *secret)
{
    if (!t->cfg.keylog)
        return;
    char line[64 + 1 + 64 + 1 + 2 * LWQ_HASH_MAX + 1], *w = line;
    static const char hx[] = "0123456789abcdef";
    w += snprintf(line, 40, "%s ", label);
    for (int i = 0; i < 32; i++, w += 2)
        w[0] = hx[t->client_random[i] >> 4], w[1] = hx[t->client_random[i] & 15];
    *w++ = ' ';
    for (size_t i = 0; i < t->hlen; i++, w += 2)
        w[0] = hx[secret[i] >> 4], w[1] = hx[secret[i] & 15];
    *w = 0;
    t->cfg.keylog(t->cfg.keylog_ud, line);
    lwq_wipe(line, sizeof(line));
}

int lwq_tls_push_secret(lwq_tls *t, lwq_tls_epoch epoch, int write, const uint8_t *secret, const char *keylog_label)
{
    lwq_tls_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_TLS_EV_SECRET;
    ev.epoch = epoch;
    ev.write = write;
    ev.suite = t->suite;
    memcpy(ev.secret, secret, t->hlen);
    ev.secret_len = t->hlen;
    lwq_tls_keylog(t, keylog_label, secret);
    int rc = lwq_tls_push_event(t, &ev, NULL);
    lwq_wipe(&ev, sizeof(ev));
    return rc;
}

int lwq_tls_next_event(lwq_tls *t, lwq_tls_event *ev)
{
    lwq_free(t->alloc, t->last_blob);
    t->last_blob = NULL;
    if (!t->evcount)
        return LWQ_ERR_AGAIN;
    size_t i = t->evhead;
    *ev = t->evq[i];
    t->last_blob = t->evblob[i];
    t->evblob[i] = NULL;
    lwq_wipe(&t->evq[i], sizeof(t->evq[i]));
    t->evhead = (t->evhead + 1) % LWQ_TLS_EVQ;
    t->evcount--;
    return 0;
}

void lwq_tls_th_start(lwq_tls *t, lwq_suite suite)
{
    t->suite = suite;
    t->hash = lwq_suite_hash(suite);
    t->hlen = lwq_hash_len(t->hash);
    lwq_hash_init(&t->th, t->hash);
    t->th_ready = 1;
}

void lwq_tls_th_update(lwq_tls *t, const uint8_t *p, size_t n)
{
    lwq_hash_update(&t->th, p, n);
}

void lwq_tls_th_hash(const lwq_tls *t, uint8_t *out)
{
    lwq_hash_ctx c = t->th;
    lwq_hash_final(&c, out);
}

void lwq_tls_th_restart_hrr(lwq_tls *t, const uint8_t *ch1, size_t ch1_len)
{
    uint8_t mh[4 + LWQ_HASH_MAX] = {LWQ_TLS_HS_MESSAGE_HASH, 0, 0, (uint8_t)t->hlen};
    lwq_hash(t->hash, ch1, ch1_len, mh + 4);
    lwq_hash_init(&t->th, t->hash);
    lwq_hash_update(&t->th, mh, 4 + t->hlen);
}

void lwq_tls_finished_mac(const lwq_tls *t, const uint8_t *base, uint8_t *out)
{
    uint8_t key[LWQ_HASH_MAX], h[LWQ_HASH_MAX];
    lwq_finished_key(t->hash, base, key);
    lwq_tls_th_hash(t, h);
    lwq_hmac(t->hash, key, t->hlen, h, t->hlen, out);
    lwq_wipe(key, sizeof(key));
}

size_t lwq_tls_cv_content(const lwq_tls *t, int server, uint8_t *out)
{
    static const char sctx[] = "TLS 1.3, server CertificateVerify", cctx[] = "TLS 1.3, client CertificateVerify";
    memset(out, 0x20, 64);
    memcpy(out + 64, server ? sctx : cctx, sizeof(sctx)); /* includes the 0 separator */
    lwq_tls_th_hash(t, out + 64 + sizeof(sctx));
    return 64 + sizeof(sctx) + t->hlen;
}

int lwq_tls_alpn_in_list(lwq_tls_span list, const uint8_t *name, size_t len)
{
    lwq_tls_span item;
    for (size_t i = 0; lwq_tls_vec8_at(list, i, &item); i++)
        if (item.n == len && memcmp(item.p, name, len) == 0)
            return 1;
    return 0;
}

int lwq_tls_alert(const lwq_tls *t)
{
    return t->state == LWQ_TLS_ST_FAILED ? t->alert : 0;
}
const char *lwq_tls_error_reason(const lwq_tls *t)
{
    return t->reason ? t->reason : "";
}
int lwq_tls_verify_result(const lwq_tls *t)
{
    return t->verify_result;
}
int lwq_tls_handshake_complete(const lwq_tls *t)
{
    return t->complete;
}
lwq_suite lwq_tls_suite(const lwq_tls *t)
{
    return t->th_ready ? t->suite : (lwq_suite)0;
}
uint16_t lwq_tls_group(const lwq_tls *t)
{
    return t->group;
}
uint16_t lwq_tls_sigalg(const lwq_tls *t)
{
    return t->sigalg;
}
int lwq_tls_resumed(const lwq_tls *t)
{
    return t->resumed;
}
int lwq_tls_hrr(const lwq_tls *t)
{
    return t->hrr;
}
int lwq_tls_early_data_accepted(const lwq_tls *t)
{
    return t->early_accepted;
}
const char *lwq_tls_server_name(const lwq_tls *t)
{
    return t->sni[0] ? t->sni : NULL;
}

const uint8_t *lwq_tls_alpn(const lwq_tls *t, size_t *len)
{
    *len = t->alpn_len;
    return t->alpn_len ? t->alpn : NULL;
}

const lwq_cert_chain *lwq_tls_peer_chain(const lwq_tls *t)
{
    return t->peer_chain.count ? &t->peer_chain : NULL;
}
