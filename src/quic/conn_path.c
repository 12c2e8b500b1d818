/* Paths (RFC 9000 §8.2, §9): PATH_CHALLENGE with unpredictable data, resent until the validation
 * timer (§8.2.4); PATH_RESPONSE on the path its challenge came on, padded within that path's
 * amplification limit; a server following a non-probing packet with a new largest packet number
 * to a new address (§9.3) under the 3x limit until the path is validated, falling back to the last
 * validated path; congestion state reset when the address changes (§9.4); a client's active
 * migration and the server's preferred address (§9.6) with fresh connection IDs (§9.5). */
#include <netinet/in.h>
#include <string.h>
#include "quic/conn.h"

static int sa_ip(const struct sockaddr_storage *ss, socklen_t len, const uint8_t **ip, size_t *iplen, uint16_t *port)
{
    if (!len)
        return 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        *ip = (const uint8_t *)&a->sin_addr;
        *iplen = 4;
        *port = ntohs(a->sin_port);
        return 1;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        *ip = (const uint8_t *)&a->sin6_addr;
        *iplen = 16;
        *port = ntohs(a->sin6_port);
        return 1;
    }
    return 0;
}

static int is_any(const uint8_t *ip, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ip[i])
            return 0;
    return 1;
}

/* Remote addresses compare exactly; a local side that is unknown, a wildcard or port 0 matches. */
static int addr_match(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b,
                      socklen_t blen, int exact)
{
    const uint8_t *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    uint16_t pa = 0, pb = 0;
    int ka = sa_ip(a, alen, &ia, &na, &pa), kb = sa_ip(b, blen, &ib, &nb, &pb);
    if (!ka || !kb)
        return !exact || (!ka && !kb);
    if (exact)
        return na == nb && pa == pb && memcmp(ia, ib, na) == 0;
    if (pa && pb && pa != pb)
        return 0;
    return na != nb || is_any(ia, na) || is_any(ib, nb) || memcmp(ia, ib, na) == 0;
}

int lwq_path_same(const lwq_path *a, const lwq_path *b)
{
    return addr_match(&a->remote, a->remote_len, &b->remote, b->remote_len, 1) &&
           addr_match(&a->local, a->local_len, &b->local, b->local_len, 0);
}

int lwq_path_addr_changed(const lwq_path *a, const lwq_path *b)
{
    const uint8_t *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    uint16_t pa = 0, pb = 0;
    if (!sa_ip(&a->remote, a->remote_len, &ia, &na, &pa) || !sa_ip(&b->remote, b->remote_len, &ib, &nb, &pb))
        return 1;
    return na != nb || memcmp(ia, ib, na) != 0;
}

void lwq_conn_paths_init(lwq_conn *c)
{
    memset(&c->paths, 0, sizeof(c->paths));
    c->paths.validated = 1; /* the handshake's own address validation applies (§8.1) */
    lwq_conn_ecn_restart(c);
}

static void push_path_event(lwq_conn *c)
{
    lwq_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = LWQ_EV_PATH_CHANGED;
    ev.stream_id = -1;
    ev.path = c->path;
    (void)lwq_conn_push_event(c, &ev);
}

static lwq_tstamp validation_timeout(const lwq_conn *c)
{
    /* §8.2.4: three times the larger of the current PTO and one computed from kInitialRtt */
    lwq_tstamp pto = lwq_conn_pto(c), initial = 3 * (c->cfg->initial_rtt ? c->cfg->initial_rtt : LWQ_INITIAL_RTT);
    return 3 * (pto > initial ? pto : initial);
}

static void start_probe(lwq_conn *c, const lwq_path *path, int on_current, uint64_t cid_seq)
{
    lwq_path_probe *pr = &c->paths.probe;
    if (pr->active)
        memcpy(pr->old, pr->data, 8);
    pr->addr = *path;
    pr->active = 1;
    pr->on_current = on_current;
    pr->send = 1;
    pr->cid = cid_seq;
    pr->resend = 0;
    pr->in_dgram = pr->padded = 0;
    pr->deadline = c->now + validation_timeout(c);
    c->rng->fill(c->rng->ud, pr->data, 8); /* §8.2.1: unpredictable */
}

/* §9.4: a new address (not only a new port) restarts congestion control and the RTT estimate;
 * packets in flight on the old path still count until acknowledged or lost. */
static void reset_congestion(lwq_conn *c)
{
    lwq_recovery *r = &c->rec;
    uint64_t in_flight = r->cc.bytes_in_flight;
    lwq_cc_init(&r->cc, c->cfg->cc == LWQ_CC_ALGO_CUBIC ? LWQ_CC_CUBIC : LWQ_CC_NEWRENO, LWQ_CONN_MDS, c->now);
    r->cc.bytes_in_flight = in_flight;
    lwq_rtt_init(&r->rtt, c->cfg->initial_rtt ? c->cfg->initial_rtt : LWQ_INITIAL_RTT);
    lwq_recovery_update_timer(r, c->now);
}

static void switch_path(lwq_conn *c, const lwq_path *to, int validated)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path old = c->path;
    if (p->validated) {
        p->prev = old;
        p->has_prev = 1;
    }
    c->path = *to;
    p->validated = validated;
    p->rx = p->rx_current ? 0 : p->rx_len;
    p->tx = 0;
    if (lwq_path_addr_changed(&old, to))
        reset_congestion(c);
    lwq_conn_ecn_restart(c); /* §13.4.2: a new path is tested again */
    c->stats.path_changes++;
    push_path_event(c);
}

static int to_preferred(const lwq_conn *c, const lwq_path *path)
{
    const lwq_config *cfg = c->cfg;
    const struct sockaddr_storage *pref[] = {&cfg->preferred_v4, &cfg->preferred_v6};
    for (size_t i = 0; i < 2; i++) {
        socklen_t len = pref[i]->ss_family == AF_INET    ? sizeof(struct sockaddr_in)
                        : pref[i]->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                         : 0;
        if (len && path->local_len && addr_match(pref[i], len, &path->local, path->local_len, 0))
            return 1;
    }
    return 0;
}

int lwq_conn_path_server_params(lwq_conn *c)
{
    const lwq_config *cfg = c->cfg;
    if (!c->is_server || (cfg->preferred_v4.ss_family != AF_INET && cfg->preferred_v6.ss_family != AF_INET6))
        return 0;
    const lwq_local_cid *l = NULL;
    int rv = lwq_cids_add_unannounced(c, &l); /* §5.1.1: sequence 1 */
    if (rv)
        return rv;
    lwq_preferred_address *pa = &c->local_tp.preferred_address;
    memset(pa, 0, sizeof(*pa));
    if (cfg->preferred_v4.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&cfg->preferred_v4;
        memcpy(pa->ipv4, &a->sin_addr, 4);
        pa->ipv4_port = ntohs(a->sin_port);
    }
    if (cfg->preferred_v6.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&cfg->preferred_v6;
        memcpy(pa->ipv6, &a->sin6_addr, 16);
        pa->ipv6_port = ntohs(a->sin6_port);
    }
    pa->cid = l->cid;
    memcpy(pa->reset_token, l->token, LWQ_RESET_TOKEN_LEN);
    c->local_tp.has_preferred_address = 1;
    return 0;
}

int lwq_conn_path_peer_params(lwq_conn *c)
{
    const lwq_tparams *tp = &c->peer_tp;
    if (c->is_server || !tp->has_preferred_address)
        return 0;
    lwq_frame_new_cid f;
    memset(&f, 0, sizeof(f));
    f.seq = 1; /* §5.1.1 */
    f.cid = tp->preferred_address.cid;
    memcpy(f.reset_token, tp->preferred_address.reset_token, LWQ_RESET_TOKEN_LEN);
    return lwq_cids_on_new(c, &f);
}

/* The preferred address of the current path's family; 0 when the server gave none. */
static int preferred_path(const lwq_conn *c, lwq_path *out)
{
    const lwq_preferred_address *pa = &c->peer_tp.preferred_address;
    *out = c->path;
    if (c->path.remote.ss_family == AF_INET && pa->ipv4_port) {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->remote;
        memset(&out->remote, 0, sizeof(out->remote));
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, pa->ipv4, 4);
        a->sin_port = htons(pa->ipv4_port);
        out->remote_len = sizeof(*a);
        return 1;
    }
    if (c->path.remote.ss_family == AF_INET6 && pa->ipv6_port) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->remote;
        memset(&out->remote, 0, sizeof(out->remote));
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, pa->ipv6, 16);
        a->sin6_port = htons(pa->ipv6_port);
        out->remote_len = sizeof(*a);
        return 1;
    }
    return 0;
}

static int begin_migration(lwq_conn *c, const lwq_path *to)
{
    if (c->paths.probe.active)
        return LWQ_ERR_STATE;
    const lwq_peer_cid *spare = lwq_cids_spare(c); /* §9.5: a connection ID not used before */
    if (!spare)
        return LWQ_ERR_AGAIN;
    start_probe(c, to, 0, spare->seq);
    return 0;
}

void lwq_conn_path_confirmed(lwq_conn *c)
{
    lwq_path to;
    if (c->is_server || c->paths.preferred_started || !c->have_peer_tp || !c->peer_tp.has_preferred_address ||
        c->cfg->no_preferred_address || !preferred_path(c, &to))
        return;
    c->paths.preferred_started = 1;
    (void)begin_migration(c, &to); /* §9.6.1: validate, then move */
}

int lwq_conn_migrate(lwq_conn *c, const lwq_path *new_path)
{
    if (c->is_server || !new_path)
        return LWQ_ERR_INVAL;
    if (!c->handshake_confirmed || c->state != LWQ_CONN_ESTABLISHED)
        return LWQ_ERR_STATE; /* §9 */
    lwq_path pref;
    int preferred = c->peer_tp.has_preferred_address && preferred_path(c, &pref) &&
                    addr_match(&pref.remote, pref.remote_len, &new_path->remote, new_path->remote_len, 1);
    if (c->peer_tp.disable_active_migration && !preferred)
        return LWQ_ERR_UNSUPPORTED; /* §18.2 */
    return begin_migration(c, new_path);
}

int lwq_conn_path_on_datagram(lwq_conn *c, const lwq_path *path, size_t len)
{
    lwq_conn_paths *p = &c->paths;
    p->rx_path = *path;
    p->rx_len = len;
    p->rx_nonprobing = 0;
    p->rx_current = lwq_path_same(path, &c->path);
    if (p->rx_current) {
        p->rx += len;
        return 0;
    }
    if (!c->handshake_confirmed)
        return LWQ_ERR_AGAIN; /* §9: no migration before the handshake is confirmed */
    if (!c->is_server) {
        /* §9.6: only from the address we probe or the one we left */
        if ((p->probe.active && lwq_path_same(path, &p->probe.addr)) || (p->has_prev && lwq_path_same(path, &p->prev)))
            return 0;
        return LWQ_ERR_AGAIN;
    }
    if (c->local_tp.disable_active_migration && !to_preferred(c, path))
        return LWQ_ERR_AGAIN; /* §9: drop, without a stateless reset */
    return 0;
}

static void follow_peer_cid(lwq_conn *c, const lwq_pkt_hdr *h)
{
    lwq_conn_paths *p = &c->paths;
    if (p->last_dcid.len && !lwq_cid_eq(&p->last_dcid, h->dcid, h->dcid_len)) {
        /* §9.5: the peer moved to a new connection ID of ours: use a new one of its own */
        const lwq_peer_cid *spare = lwq_cids_spare(c);
        if (spare)
            (void)lwq_cids_switch(c, spare->seq);
    }
    lwq_cid_set(&p->last_dcid, h->dcid, h->dcid_len);
}

void lwq_conn_path_on_packet(lwq_conn *c, const lwq_pkt_hdr *h, int largest)
{
    lwq_conn_paths *p = &c->paths;
    if (!largest || !c->handshake_confirmed)
        return;
    if (c->is_server)
        follow_peer_cid(c, h);
    if (p->rx_current || !p->rx_nonprobing || !c->is_server)
        return;
    /* §9.3: a non-probing packet with a new largest packet number from a new address: send there
     * from now on, validate it, and keep the old validated path for a failed validation. */
    lwq_path to = p->rx_path;
    int known = p->has_checked && lwq_path_same(&to, &p->checked);
    switch_path(c, &to, known);
    if (!known)
        start_probe(c, &to, 1, LWQ_PATH_CID_CURRENT);
}

int lwq_conn_path_on_challenge(lwq_conn *c, const uint8_t *data)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path on = p->rx_current ? c->path : p->rx_path;
    if (c->path_response_pending && !lwq_path_same(&on, &p->resp_path))
        c->path_response_pending = 0; /* responses are owed only on the path of their challenge */
    if (c->path_response_pending == LWQ_PATH_RESPONSES) {
        memmove(c->path_response[0], c->path_response[1], sizeof(c->path_response[0]) * (LWQ_PATH_RESPONSES - 1));
        c->path_response_pending--;
    }
    memcpy(c->path_response[c->path_response_pending++], data, 8); /* §8.2.2: each challenge is echoed */
    p->resp_path = on;
    p->resp_budget = LWQ_AMPLIFICATION_FACTOR * p->rx_len;
    /* §9.6.2, §9.6.3: a server probes back on a path the client probes, in the same datagram */
    if (c->is_server && !p->rx_current && c->handshake_confirmed && !p->probe.active &&
        !(p->has_checked && lwq_path_same(&p->rx_path, &p->checked)))
        start_probe(c, &p->rx_path, 0, LWQ_PATH_CID_CURRENT);
    return 0;
}

int lwq_conn_path_on_response(lwq_conn *c, const uint8_t *data)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path_probe *pr = &p->probe;
    if (!pr->active || (memcmp(data, pr->data, 8) && memcmp(data, pr->old, 8)))
        return 0; /* §8.2.3: not ours, or late */
    pr->active = 0;
    c->stats.paths_validated++;
    if (pr->on_current) {
        p->validated = 1; /* §8.2.3 */
        if (!pr->padded) {
            /* §8.2.1: validated within the budget, not the MTU: once more, now at 1200 bytes */
            lwq_path cur = c->path;
            start_probe(c, &cur, 1, LWQ_PATH_CID_CURRENT);
            pr->padded = 1; /* only once */
        }
        return 0;
    }
    if (c->is_server) {
        p->checked = pr->addr; /* the client may move there: no new validation then */
        p->has_checked = 1;
        return 0;
    }
    /* Our probe answered: move to the path with the connection ID it used (§9.2, §9.5). */
    int rv = lwq_cids_switch(c, pr->cid);
    if (rv == LWQ_ERR_LIMIT)
        return lwq_conn_error(c, LWQ_QUIC_ERR_CONNECTION_ID_LIMIT_ERROR, LWQ_FRAME_PATH_RESPONSE,
                              "too many retirements pending");
    if (rv)
        return 0; /* the server retired that connection ID meanwhile: stay */
    lwq_path to = pr->addr;
    p->rx_current = 0;
    p->rx_len = 0;
    switch_path(c, &to, 1);
    return 0;
}

int lwq_conn_path_write(lwq_conn *c, lwq_pktb *b)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path_probe *pr = &p->probe;
    if (pr->active && pr->on_current && pr->send) {
        lwq_frame f = {.type = LWQ_FRAME_PATH_CHALLENGE};
        memcpy(f.u.path_data, pr->data, 8);
        if (lwq_pktb_add(b, &f, NULL) == 0) {
            pr->send = 0;
            pr->resend = c->now + lwq_conn_pto(c);
            pr->in_dgram = 1;
            b->pad = 1; /* §8.2.1, within the amplification limit */
            c->stats.path_challenges_sent++;
        }
    }
    while (c->path_response_pending && lwq_path_same(&p->resp_path, &c->path)) {
        lwq_frame f = {.type = LWQ_FRAME_PATH_RESPONSE};
        memcpy(f.u.path_data, c->path_response[c->path_response_pending - 1], 8);
        if (lwq_pktb_add(b, &f, NULL) != 0)
            break;
        c->path_response_pending--;
        b->pad = 1; /* §8.2.2: at least 1200 bytes, within the amplification limit */
    }
    return 0;
}

ssize_t lwq_conn_path_send_other(lwq_conn *c, lwq_path *path, uint8_t *buf, size_t cap)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path_probe *pr = &p->probe;
    if (c->state != LWQ_CONN_ESTABLISHED)
        return 0;
    lwq_frame f[LWQ_PATH_RESPONSES + 1];
    size_t nf = 0, pad = LWQ_MIN_INITIAL_DGRAM;
    const lwq_path *to = NULL;
    const lwq_cid *dcid = lwq_cids_dcid(c);
    int resp = c->path_response_pending && !lwq_path_same(&p->resp_path, &c->path);
    int chal = pr->active && !pr->on_current && pr->send;
    if (resp) {
        to = &p->resp_path;
        for (int i = 0; i < c->path_response_pending; i++) {
            memset(&f[nf], 0, sizeof(f[nf]));
            f[nf].type = LWQ_FRAME_PATH_RESPONSE;
            memcpy(f[nf++].u.path_data, c->path_response[i], 8);
        }
        if (p->resp_budget < pad)
            pad = p->resp_budget; /* §8.2.2: never beyond 3x what arrived on that path */
        if (cap > p->resp_budget)
            cap = p->resp_budget;
    }
    if (chal && (!to || lwq_path_same(to, &pr->addr))) {
        const lwq_peer_cid *pc =
            pr->cid == LWQ_PATH_CID_CURRENT ? &c->cids.peer[c->cids.cur] : lwq_cids_peer_by_seq(c, pr->cid);
        if (!pc) {
            pr->active = 0; /* the connection ID went away: abandon (§8.2.4) */
        } else {
            to = &pr->addr;
            dcid = &pc->cid; /* §9.5 */
            memset(&f[nf], 0, sizeof(f[nf]));
            f[nf].type = LWQ_FRAME_PATH_CHALLENGE;
            memcpy(f[nf++].u.path_data, pr->data, 8);
        }
    } else {
        chal = 0;
    }
    if (!nf || !to)
        return 0;
    ssize_t n = lwq_conn_build_probe(c, buf, cap, dcid, f, nf, pad);
    if (n <= 0)
        return n;
    *path = *to;
    if (resp)
        c->path_response_pending = 0;
    if (chal && pr->active) {
        pr->padded |= (size_t)n >= LWQ_MIN_INITIAL_DGRAM;
        pr->send = 0;
        pr->resend = c->now + lwq_conn_pto(c);
        c->stats.path_challenges_sent++;
    }
    return n;
}

size_t lwq_conn_path_limit(const lwq_conn *c, size_t limit)
{
    const lwq_conn_paths *p = &c->paths;
    if (p->validated)
        return limit;
    uint64_t budget = LWQ_AMPLIFICATION_FACTOR * p->rx; /* §9.3, §8.1 */
    budget = budget > p->tx ? budget - p->tx : 0;
    return budget < limit ? (size_t)budget : limit;
}

void lwq_conn_path_on_sent(lwq_conn *c, size_t n)
{
    lwq_path_probe *pr = &c->paths.probe;
    c->paths.tx += n;
    if (pr->in_dgram && n >= LWQ_MIN_INITIAL_DGRAM)
        pr->padded = 1;
    pr->in_dgram = 0;
}

static int stall_watch(const lwq_conn *c)
{
    return !c->is_server && c->handshake_confirmed && c->state == LWQ_CONN_ESTABLISHED &&
           c->rec.cc.bytes_in_flight == 0 && c->st.count;
}

static lwq_tstamp stall_time(const lwq_conn *c)
{
    const lwq_conn_paths *p = &c->paths;
    return p->stall_rx == c->last_rx ? p->stall_next : c->last_rx + 2 * lwq_conn_pto(c);
}

/* A stream we opened whose answer has not all arrived. */
static int awaiting_response(const lwq_conn *c)
{
    for (const lwq_stream *s = c->st.head; s; s = s->next)
        if ((s->id & 3) == 0 && s->has_rx && !s->fin_read && !s->rx_reset)
            return 1;
    return 0;
}

lwq_tstamp lwq_conn_path_timeout(const lwq_conn *c)
{
    const lwq_path_probe *pr = &c->paths.probe;
    lwq_tstamp t = LWQ_TSTAMP_INF;
    if (stall_watch(c))
        t = stall_time(c);
    if (!pr->active || c->state != LWQ_CONN_ESTABLISHED)
        return t;
    if (pr->deadline < t)
        t = pr->deadline;
    if (!pr->send && pr->resend && pr->resend < t)
        t = pr->resend;
    return t;
}

#define MIN_DGRAM 64 /* the least the send path builds a packet into */

void lwq_conn_path_handle_timeout(lwq_conn *c, lwq_tstamp now)
{
    lwq_conn_paths *p = &c->paths;
    lwq_path_probe *pr = &p->probe;
    if (lwq_conn_path_limit(c, LWQ_CONN_MDS) < MIN_DGRAM)
        for (int s = 0; s < LWQ_SPACE_COUNT; s++)
            if (c->sp[s].ack_deadline && c->sp[s].ack_deadline <= now)
                c->sp[s].ack_deadline = 0; /* §8.1: the ACK waits for the peer's next datagram */
    if (stall_watch(c) && now >= stall_time(c)) {
        if (p->stall_rx != c->last_rx) {
            p->stall_rx = c->last_rx;
            p->stall_k = 0;
        }
        if (awaiting_response(c))
            c->sp[LWQ_SPACE_APP].probes = 1; /* a PING, sent whatever the window */
        p->stall_next = now + (2 * lwq_conn_pto(c) << (p->stall_k < 6 ? p->stall_k : 6));
        p->stall_k++;
    }
    if (!pr->active || c->state != LWQ_CONN_ESTABLISHED)
        return;
    if (now >= pr->deadline) {
        pr->active = 0; /* §8.2.4: abandoned */
        if (pr->on_current && p->has_prev) {
            lwq_path back = p->prev; /* §9.3.2: back to the last validated path */
            p->has_prev = 0;
            p->rx_current = 1;
            switch_path(c, &back, 1);
        }
        return;
    }
    if (!pr->send && pr->resend && now >= pr->resend)
        pr->send = 1; /* §8.2.1: another PATH_CHALLENGE, new data not needed */
}

const char *lwq_conn_path_check(const lwq_conn *c)
{
    const lwq_conn_paths *p = &c->paths;
    if (!p->validated && p->tx > LWQ_AMPLIFICATION_FACTOR * p->rx)
        return "amplification limit of an unvalidated path exceeded (RFC 9000 §9.3)";
    return NULL;
}
