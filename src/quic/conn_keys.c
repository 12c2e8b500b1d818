/* 1-RTT key update (RFC 9001 §6) and AEAD limits (§6.6): current, next and previous read keys,
 * the Key Phase bit on both sides, when an update may start, and which keys open each packet. */
#include <stdio.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/conn_null.h"
#include "quic/qlog.h"

/* Updates for the confidentiality limit start this far before it. */
#define CONF_MARGIN_DIV 8

static uint64_t conf_limit(const lwq_keyupdate *ku)
{
    if (ku->conf_limit)
        return ku->conf_limit;
    return ku->suite == LWQ_SUITE_CHACHA20POLY1305_SHA256 ? LWQ_AEAD_CHACHA_CONFIDENTIALITY_LIMIT
                                                          : LWQ_AEAD_GCM_CONFIDENTIALITY_LIMIT;
}

static uint64_t integ_limit(const lwq_keyupdate *ku)
{
    if (ku->integ_limit)
        return ku->integ_limit;
    return ku->suite == LWQ_SUITE_CHACHA20POLY1305_SHA256 ? LWQ_AEAD_CHACHA_INTEGRITY_LIMIT
                                                          : LWQ_AEAD_GCM_INTEGRITY_LIMIT;
}

static void aead_drop(lwq_quic_keys *k)
{
    lwq_aead_free(&k->aead);
    lwq_wipe(k->iv, sizeof(k->iv));
}

/* Moves AEAD and IV; the destination's header protection key stays. */
static void aead_move(lwq_quic_keys *dst, lwq_quic_keys *src)
{
    dst->suite = src->suite;
    dst->aead = src->aead;
    memcpy(dst->iv, src->iv, sizeof(dst->iv));
    memset(&src->aead, 0, sizeof(src->aead));
    lwq_wipe(src->iv, sizeof(src->iv));
}

/* RFC 9001 §6.1: secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku" / "quicv2 ku"), then its
 * key and IV. *secret becomes the new secret only on success. */
static int derive_next(const lwq_conn *c, uint8_t *secret, lwq_quic_keys *out)
{
    uint8_t ns[LWQ_HASH_MAX];
    lwq_quic_keys k;
    memset(&k, 0, sizeof(k));
    int rv = lwq_quic_next_secret(c->version, c->ku.suite, secret, ns);
    if (!rv)
        rv = lwq_quic_keys_init_no_hp(&k, c->version, c->ku.suite, ns);
    if (!rv) {
        memcpy(secret, ns, sizeof(ns));
        aead_move(out, &k);
    }
    lwq_wipe(ns, sizeof(ns));
    return rv;
}

/* write: our keys changed, else the peer's; local: we started this update. */
static void log_update(lwq_conn *c, int write, int local)
{
    const lwq_keyupdate *ku = &c->ku;
    if (c->cfg->log && c->cfg->log_level >= LWQ_LOG_INFO) {
        char line[160];
        snprintf(line, sizeof(line), "%s: key update (%s): %s keys now phase %d, write generation %llu",
                 c->is_server ? "server" : "client", local ? "ours" : "the peer's", write ? "write" : "read",
                 write ? ku->wphase : ku->rphase, (unsigned long long)ku->generation);
        c->cfg->log(c->cfg->log_ud, LWQ_LOG_INFO, line);
    }
    lwq_conn_trace_keys(c, 3, write ? "key_update_write" : "key_update_read");
    if (!c->qlog)
        return;
    /* draft-ietf-quic-qlog-quic-events: key_updated, key_phase counting generations */
    int client_key = write != c->is_server;
    lwq_qlog_begin(c->qlog, c->now, "quic:key_updated");
    lwq_qlog_str(c->qlog, "key_type", client_key ? "client_1rtt_secret" : "server_1rtt_secret");
    lwq_qlog_u64(c->qlog, "key_phase", write ? ku->generation : ku->rgeneration);
    lwq_qlog_str(c->qlog, "trigger", local ? "local_update" : "remote_update");
    lwq_qlog_end(c->qlog);
}

/* New write keys; the header protection key stays (RFC 9001 §6.1). */
static int update_write(lwq_conn *c, int local)
{
    lwq_keyupdate *ku = &c->ku;
    lwq_quic_keys k;
    memset(&k, 0, sizeof(k));
    int rv = derive_next(c, ku->wsecret, &k);
    if (rv) {
        int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot derive updated keys");
        return rv == LWQ_ERR_NOMEM ? rv : err;
    }
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_APP];
    lwq_aead_free(&sp->wk.aead);
    aead_move(&sp->wk, &k);
    ku->wphase ^= 1;
    ku->wphase_first = c->rec.spaces[LWQ_SPACE_APP].next_pn;
    ku->wphase_acked_at = 0;
    ku->wpackets = 0;
    ku->generation++;
    c->stats.key_updates++;
    if (local)
        c->stats.key_updates_initiated++;
    log_update(c, 1, local);
    return 0;
}

int lwq_conn_keys_installed(lwq_conn *c, int write, lwq_suite suite, const uint8_t *secret)
{
    lwq_keyupdate *ku = &c->ku;
    size_t hl = lwq_hash_len(lwq_suite_hash(suite));
    ku->suite = suite;
    if (write) {
        memcpy(ku->wsecret, secret, hl);
        ku->have_w = 1;
        return 0;
    }
    memcpy(ku->rsecret, secret, hl);
    ku->have_r = 1;
    ku->trigger_pn = LWQ_PN_NONE;
    if (ku->has_next)
        aead_drop(&ku->next);
    ku->has_next = 0;
    int rv = derive_next(c, ku->rsecret, &ku->next); /* RFC 9001 §6.3: ahead of any packet */
    if (!rv)
        ku->has_next = 1;
    return rv;
}

void lwq_conn_keys_free(lwq_conn *c)
{
    lwq_keyupdate *ku = &c->ku;
    if (ku->has_next)
        aead_drop(&ku->next);
    if (ku->has_prev)
        aead_drop(&ku->prev);
    ku->has_next = ku->has_prev = 0;
    lwq_wipe(ku->rsecret, sizeof(ku->rsecret));
    lwq_wipe(ku->wsecret, sizeof(ku->wsecret));
    lwq_conn_version_free(c);
}

static int ready(const lwq_conn *c)
{
    const lwq_pn_space *sp = &c->sp[LWQ_SPACE_APP];
    return c->ku.have_r && c->ku.have_w && c->ku.has_next && sp->has_rk && sp->has_wk && !sp->discarded;
}

int lwq_conn_keys_can_update(const lwq_conn *c)
{
    const lwq_keyupdate *ku = &c->ku;
    /* RFC 9001 §6.1: handshake confirmed, the peer answered the last update and acknowledged a
     * packet of the current phase. */
    return ready(c) && c->handshake_confirmed && c->state == LWQ_CONN_ESTABLISHED && ku->rphase == ku->wphase &&
           ku->wphase_acked_at != 0;
}

int lwq_conn_update_keys(lwq_conn *c)
{
    if (c->state >= LWQ_CONN_CLOSING)
        return LWQ_ERR_CLOSED;
    if (!lwq_conn_keys_can_update(c))
        return LWQ_ERR_STATE;
    return update_write(c, 1);
}

int lwq_conn_keys_force_update(lwq_conn *c)
{
    if (!ready(c))
        return LWQ_ERR_STATE;
    return update_write(c, 1);
}

void lwq_conn_keys_set_limits(lwq_conn *c, uint64_t confidentiality, uint64_t integrity)
{
    c->ku.conf_limit = confidentiality;
    c->ku.integ_limit = integrity;
}

void lwq_conn_keys_on_ack(lwq_conn *c, uint64_t largest)
{
    lwq_keyupdate *ku = &c->ku;
    if (!ku->wphase_acked_at && largest >= ku->wphase_first)
        ku->wphase_acked_at = c->now ? c->now : 1;
}

void lwq_conn_keys_ack_written(lwq_conn *c, uint64_t largest)
{
    lwq_keyupdate *ku = &c->ku;
    if (ku->trigger_pn != LWQ_PN_NONE && largest >= ku->trigger_pn)
        ku->trigger_acked = 1;
}

void lwq_conn_keys_sealed(lwq_conn *c)
{
    c->ku.wpackets++;
}

void lwq_conn_keys_before_send(lwq_conn *c)
{
    lwq_keyupdate *ku = &c->ku;
    if (c->state != LWQ_CONN_ESTABLISHED || !ready(c))
        return;
    uint64_t limit = conf_limit(ku);
    if (ku->wpackets >= limit) {
        /* RFC 9001 §6.6: no key update was possible in time */
        lwq_conn_error(c, LWQ_QUIC_ERR_AEAD_LIMIT_REACHED, 0, "confidentiality limit reached");
        return;
    }
    if (!lwq_conn_keys_can_update(c))
        return;
    if (ku->wpackets >= limit - limit / CONF_MARGIN_DIV) {
        (void)update_write(c, 1);
        return;
    }
    if (!ku->generation && c->cfg->key_update_first && ku->wpackets >= c->cfg->key_update_first) {
        (void)update_write(c, 1);
        return;
    }
    /* RFC 9001 §6.5: scheduled updates wait 3 PTO after the last one was confirmed */
    uint64_t every = c->cfg->key_update_interval;
    if (every && ku->wpackets >= every && c->now >= ku->wphase_acked_at + 3 * lwq_conn_pto(c))
        (void)update_write(c, 1);
}

/* A packet decrypted with the next keys: the read phase moves (RFC 9001 §6.2). */
static int rotate_read(lwq_conn *c, uint64_t pn)
{
    lwq_keyupdate *ku = &c->ku;
    lwq_pn_space *sp = &c->sp[LWQ_SPACE_APP];
    int responding = ku->wphase == ku->rphase;
    /* RFC 9001 §6.2: a second update before we acknowledged the first one with updated keys */
    if (responding && ku->trigger_pn != LWQ_PN_NONE && !ku->trigger_acked)
        return lwq_conn_error(c, LWQ_QUIC_ERR_KEY_UPDATE_ERROR, 0, "key updated twice without confirmation");
    if (ku->has_prev)
        aead_drop(&ku->prev);
    aead_move(&ku->prev, &sp->rk);
    ku->has_prev = 1;
    ku->prev_until = c->now + 3 * lwq_conn_pto(c); /* RFC 9001 §6.5 */
    aead_move(&sp->rk, &ku->next);
    ku->has_next = 0;
    ku->rphase ^= 1;
    ku->rphase_first = pn;
    ku->trigger_pn = pn;
    ku->trigger_acked = 0;
    ku->rgeneration++;
    log_update(c, 0, !responding);
    int rv = derive_next(c, ku->rsecret, &ku->next);
    if (rv) {
        int err = lwq_conn_error(c, LWQ_QUIC_ERR_INTERNAL_ERROR, 0, "cannot derive updated keys");
        return rv == LWQ_ERR_NOMEM ? rv : err;
    }
    ku->has_next = 1;
    if (responding)
        return update_write(c, 0); /* RFC 9001 §6.2: before acknowledging the packet */
    return 0;
}

static int auth_failed(lwq_conn *c)
{
    /* RFC 9001 §6.6: failures count across all keys of the connection */
    if (++c->ku.auth_failures >= integ_limit(&c->ku)) {
        lwq_conn_error(c, LWQ_QUIC_ERR_AEAD_LIMIT_REACHED, 0, "integrity limit reached");
        return LWQ_ERR_PROTO;
    }
    return LWQ_ERR_DECRYPT;
}

int lwq_conn_unprotect(lwq_conn *c, lwq_space s, const lwq_pkt_hdr *h, uint8_t *pkt, lwq_unprotected *u)
{
    lwq_pn_space *sp = &c->sp[s];
    int rv;
    if (s == LWQ_SPACE_INITIAL)
        return lwq_conn_version_unprotect_initial(c, h, pkt, u);
    if (s != LWQ_SPACE_APP) {
        rv = lwq_packet_unprotect(lwq_conn_pkeys(c, &sp->rk), pkt, h->pkt_len, h->pn_offset, sp->largest_rx, u);
        return rv == LWQ_ERR_DECRYPT ? auth_failed(c) : rv;
    }
    lwq_keyupdate *ku = &c->ku;
    if ((rv = lwq_hp_remove(&lwq_conn_pkeys(c, &sp->rk)->hp, pkt, h->pkt_len, h->pn_offset, sp->largest_rx, u)) != 0)
        return rv;
    if (ku->has_prev && c->now >= ku->prev_until) {
        aead_drop(&ku->prev);
        ku->has_prev = 0;
    }
    /* RFC 9001 §6.5: the other phase bit is the previous phase below the current phase's first
     * packet number, else the next phase. A decryption is attempted either way (§9.5). */
    const lwq_quic_keys *k = &sp->rk;
    int next = 0;
    if (u->key_phase != ku->rphase) {
        if (ku->has_prev && u->pn < ku->rphase_first)
            k = &ku->prev;
        else if (ku->has_next)
            k = &ku->next, next = 1;
    }
    rv = lwq_payload_decrypt(lwq_conn_pkeys(c, k), pkt, h->pkt_len, u);
    if (rv == LWQ_ERR_DECRYPT)
        return auth_failed(c);
    if (rv)
        return rv;
    if (next)
        return rotate_read(c, u->pn);
    if (k == &ku->prev)
        ku->prev_opened++;
    if (k == &sp->rk && u->pn < ku->rphase_first)
        ku->rphase_first = u->pn;
    return 0;
}
