/* The endpoint: UDP sockets on the loop feeding sans-IO connections. Each shard (a socket, a strand, an
 * lwq_server or one client connection) is touched only on its strand; see include/lwquic/endpoint.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "lwquic/endpoint.h"
#include "base/mem.h"
#include "io/udp.h"
#include "quic/token.h"

#define RX_MSGS 16
#define RX_SIZE 65536 /* a GRO train */
#define TX_SIZE 65536 /* a GSO train */
#define RX_BATCHES 8  /* per wake-up, then yield the strand */
#define MAX_EXTRA 4   /* more addresses a server listens on (its preferred addresses) */

typedef struct shard shard;

/* A socket of a shard: its main one or an extra listening address. */
typedef struct sockref {
    shard *sh;
    lwq_udp *udp;
} sockref;

struct lwq_endpoint_conn {
    shard *sh;
    lwq_conn *conn;
    lwq_timer *timer;
    void *data;
    char peer[64];
    lwq_endpoint_conn *prev, *next;
    int refs; /* atomic: the shard's list, posted tasks, a connect() caller */
    int gone, dirty;
};

struct shard {
    lwq_endpoint *ep;
    lwq_strand *strand;
    lwq_udp udp;
    lwq_watch *watch;
    lwq_server *server; /* NULL for a client shard */
    lwq_endpoint_conn *conns;
    lwq_endpoint_conn **dirty;
    size_t ndirty, dirty_cap;
    uint8_t *rx, *tx;
    uint64_t tx_dropped;
    int fwd_queued;        /* atomic: datagrams other shards handed to this one, not yet taken */
    uint64_t fwd_dropped;  /* atomic: ... dropped at FORWARD_MAX */
    sockref main_ref;
    lwq_udp extra[MAX_EXTRA]; /* lwq_endpoint_listen_extra */
    lwq_watch *extra_watch[MAX_EXTRA];
    sockref extra_ref[MAX_EXTRA];
    size_t nextra;
    size_t index;        /* in ep->shards: the CID tag of a listening shard */
    lwq_addr connected;  /* client: the peer the socket is connected to (len 0: none) */
};

struct lwq_endpoint {
    lwq_loop *loop;
    lwq_context *ctx;
    lwq_endpoint_handler h;
    lwq_server_limits lim;
    const lwq_allocator *a;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    shard **shards;
    size_t nshards, cap;
    size_t nconns;
    /* One 0-RTT replay cache for every shard: a replayed flight may hash to any shard's socket. */
    pthread_mutex_t replay_mu;
    lwq_replay *replay;
};

static int replay_fresh(void *ud, const uint8_t *id, size_t len, lwq_tstamp now)
{
    lwq_endpoint *ep = ud;
    pthread_mutex_lock(&ep->replay_mu);
    int fresh = ep->replay ? lwq_replay_fresh(ep->replay, id, len, now) : 0;
    pthread_mutex_unlock(&ep->replay_mu);
    return fresh;
}

static void ec_release(lwq_endpoint_conn *ec)
{
    if (__atomic_sub_fetch(&ec->refs, 1, __ATOMIC_ACQ_REL) == 0)
        lwq_free(ec->sh->ep->a, ec);
}

void lwq_endpoint_conn_release(lwq_endpoint_conn *ec) { ec_release(ec); }
void lwq_endpoint_conn_set_data(lwq_endpoint_conn *ec, void *data) { ec->data = data; }
void *lwq_endpoint_conn_data(const lwq_endpoint_conn *ec) { return ec->data; }
const char *lwq_endpoint_conn_peer(const lwq_endpoint_conn *ec) { return ec->peer; }

size_t lwq_endpoint_conn_count(lwq_endpoint *ep)
{
    pthread_mutex_lock(&ep->mu);
    size_t n = ep->nconns;
    pthread_mutex_unlock(&ep->mu);
    return n;
}

/* The socket whose local port is the path's: the preferred address answers from itself (RFC 9000
 * §9.6). A client socket connected to another peer is disconnected before sending elsewhere. */
static lwq_udp *socket_for(shard *sh, const lwq_path *path)
{
    lwq_addr local;
    memcpy(&local.ss, &path->local, sizeof(path->local));
    local.len = path->local_len;
    uint16_t port = path->local_len ? lwq_addr_port(&local) : 0;
    for (size_t i = 0; i < sh->nextra; i++)
        if (port && lwq_addr_port(&sh->extra[i].local) == port && sh->extra[i].family == path->remote.ss_family)
            return &sh->extra[i];
    if (sh->connected.len) {
        lwq_addr peer;
        memcpy(&peer.ss, &path->remote, sizeof(path->remote));
        peer.len = path->remote_len;
        if (!lwq_addr_equal(&peer, &sh->connected)) {
            struct sockaddr unspec = {.sa_family = AF_UNSPEC};
            connect(sh->udp.fd, &unspec, sizeof(unspec));
            /* Linux gives up an automatically chosen port on disconnect: take the same one back,
             * or the peer would see a new address (a NAT rebinding of our own making) */
            bind(sh->udp.fd, (const struct sockaddr *)&sh->udp.local.ss, sh->udp.local.len);
            sh->connected.len = 0;
        }
    }
    return &sh->udp;
}

static void send_datagrams(shard *sh, lwq_conn *c, lwq_tstamp now)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        lwq_path path;
        size_t seg = 0;
        uint8_t ecn = 0;
        ssize_t n = lwq_conn_send(c, &path, sh->tx, TX_SIZE, sh->udp.gso ? LWQ_UDP_MAX_SEGMENTS / 2 : 1, &seg,
                                  &ecn, now);
        if (n <= 0)
            return;
        lwq_udp_msg m = {.buf = sh->tx, .len = (size_t)n, .segsize = (size_t)n > seg ? seg : 0, .ecn = ecn};
        memcpy(&m.peer.ss, &path.remote, sizeof(path.remote));
        m.peer.len = path.remote_len;
        if (path.local_len && path.local.ss_family == m.peer.ss.ss_family) {
            memcpy(&m.local.ss, &path.local, sizeof(path.local));
            m.local.len = path.local_len;
        }
        lwq_udp *u = socket_for(sh, &path);
        if (u != &sh->udp)
            m.local.len = 0; /* the extra socket is bound to that address */
        if (lwq_udp_send(u, &m, 1) <= 0)
            sh->tx_dropped++; /* a full socket buffer is a loss; congestion control answers it */
    }
}

static void detach(lwq_endpoint_conn *ec)
{
    shard *sh = ec->sh;
    lwq_endpoint *ep = sh->ep;
    lwq_timer_del(ec->timer);
    ec->timer = NULL;
    if (sh->server)
        lwq_server_remove(sh->server, ec->conn);
    else
        lwq_conn_del(ec->conn);
    ec->conn = NULL;
    ec->gone = 1;
    if (ec->prev)
        ec->prev->next = ec->next;
    else
        sh->conns = ec->next;
    if (ec->next)
        ec->next->prev = ec->prev;
    pthread_mutex_lock(&ep->mu);
    ep->nconns--;
    pthread_cond_broadcast(&ep->cv);
    pthread_mutex_unlock(&ep->mu);
    ec_release(ec);
}

/* Events to the handler, datagrams out, timer re-armed; frees a finished connection. On the strand. */
static void service(lwq_endpoint_conn *ec)
{
    if (ec->gone)
        return;
    shard *sh = ec->sh;
    lwq_tstamp now = lwq_loop_now();
    lwq_event ev;
    for (int i = 0; i < 1024 && lwq_conn_next_event(ec->conn, &ev) == 1; i++)
        sh->ep->h.on_event(sh->ep->h.ud, ec, ec->conn, &ev);
    send_datagrams(sh, ec->conn, now);
    if (lwq_conn_is_closed(ec->conn)) {
        detach(ec);
        return;
    }
    lwq_tstamp t = lwq_conn_next_timeout(ec->conn);
    if (t == LWQ_TSTAMP_INF)
        lwq_timer_cancel(ec->timer);
    else
        lwq_timer_set(ec->timer, t);
}

static void *on_timer(void *arg)
{
    lwq_endpoint_conn *ec = arg;
    if (!ec->gone) {
        lwq_conn_handle_timeout(ec->conn, lwq_loop_now());
        service(ec);
    }
    return NULL;
}

static lwq_endpoint_conn *attach(shard *sh, lwq_conn *c, const lwq_path *path)
{
    lwq_endpoint *ep = sh->ep;
    lwq_endpoint_conn *ec = lwq_calloc(ep->a, 1, sizeof(*ec));
    if (!ec)
        return NULL;
    ec->sh = sh;
    ec->conn = c;
    ec->refs = 1;
    lwq_conn_set_app_data(c, ec); /* datagram routing finds the handle in O(1) */
    ec->timer = lwq_timer_new(ep->loop, sh->strand, on_timer, ec);
    if (!ec->timer) {
        lwq_free(ep->a, ec);
        return NULL;
    }
    lwq_addr peer;
    memcpy(&peer.ss, &path->remote, sizeof(path->remote));
    peer.len = path->remote_len;
    lwq_addr_format(&peer, ec->peer, sizeof(ec->peer));
    ec->next = sh->conns;
    if (sh->conns)
        sh->conns->prev = ec;
    sh->conns = ec;
    pthread_mutex_lock(&ep->mu);
    ep->nconns++;
    pthread_mutex_unlock(&ep->mu);
    return ec;
}

static void mark_dirty(shard *sh, lwq_endpoint_conn *ec)
{
    if (ec->dirty)
        return;
    if (sh->ndirty == sh->dirty_cap) {
        size_t cap = sh->dirty_cap ? sh->dirty_cap * 2 : 16;
        lwq_endpoint_conn **d = lwq_realloc(sh->ep->a, sh->dirty, cap * sizeof(*d));
        if (!d) {
            service(ec); /* no room to defer: do it now */
            return;
        }
        sh->dirty = d;
        sh->dirty_cap = cap;
    }
    ec->dirty = 1;
    __atomic_add_fetch(&ec->refs, 1, __ATOMIC_ACQ_REL);
    sh->dirty[sh->ndirty++] = ec;
}

static void datagram_in(shard *sh, const lwq_path *path, const uint8_t *p, size_t n, uint8_t ecn, lwq_tstamp now);
static void flush_dirty(shard *sh);

typedef struct forwarded {
    shard *sh;
    lwq_path path;
    uint8_t ecn;
    size_t len;
    uint8_t data[];
} forwarded;

/* Datagrams waiting on one shard's strand from the others: a flood of short headers carrying its
 * CID tag (any attacker can forge those) costs at most this many copies. */
#define FORWARD_MAX 1024

static void *forwarded_in(void *arg)
{
    forwarded *f = arg;
    __atomic_sub_fetch(&f->sh->fwd_queued, 1, __ATOMIC_ACQ_REL);
    datagram_in(f->sh, &f->path, f->data, f->len, f->ecn, lwq_loop_now());
    flush_dirty(f->sh);
    lwq_free(f->sh->ep->a, f);
    return NULL;
}

/* The listening shard the QUIC-LB server ID of a short header's DCID names, when it is another one:
 * after a NAT rebinding or a move to the preferred address the kernel may hash the new 4-tuple to any
 * shard's socket (docs/scale-out.md). */
static shard *owner_of(shard *sh, const uint8_t *p, size_t n)
{
    lwq_endpoint *ep = sh->ep;
    int idx = lwq_context_cid_shard(ep->ctx, p, n);
    if (idx < 0)
        return NULL;
    shard *o = NULL;
    pthread_mutex_lock(&ep->mu);
    if ((size_t)idx < ep->nshards && ep->shards[idx]->server)
        o = ep->shards[idx];
    pthread_mutex_unlock(&ep->mu);
    return o == sh ? NULL : o;
}

static void datagram_in(shard *sh, const lwq_path *path, const uint8_t *p, size_t n, uint8_t ecn, lwq_tstamp now)
{
    lwq_endpoint_conn *ec;
    shard *owner = sh->server ? owner_of(sh, p, n) : NULL;
    if (owner) {
        if (__atomic_add_fetch(&owner->fwd_queued, 1, __ATOMIC_ACQ_REL) > FORWARD_MAX) {
            __atomic_sub_fetch(&owner->fwd_queued, 1, __ATOMIC_ACQ_REL);
            __atomic_add_fetch(&owner->fwd_dropped, 1, __ATOMIC_RELAXED);
            return;
        }
        forwarded *f = lwq_malloc(sh->ep->a, sizeof(*f) + n);
        if (!f) {
            __atomic_sub_fetch(&owner->fwd_queued, 1, __ATOMIC_ACQ_REL);
            return;
        }
        f->sh = owner;
        f->path = *path;
        f->ecn = ecn;
        f->len = n;
        memcpy(f->data, p, n);
        if (lwq_strand_post(owner->strand, forwarded_in, f)) {
            __atomic_sub_fetch(&owner->fwd_queued, 1, __ATOMIC_ACQ_REL);
            lwq_free(sh->ep->a, f);
        }
        return;
    }
    if (!sh->server) {
        ec = sh->conns;
        if (!ec)
            return;
        lwq_conn_recv(ec->conn, path, p, n, ecn, now);
        mark_dirty(sh, ec);
        return;
    }
    lwq_conn *c = NULL;
    int created = 0;
    if (lwq_server_recv(sh->server, path, p, n, ecn, now, &c, &created) < 0 || !c)
        return;
    ec = created ? attach(sh, c, path) : lwq_conn_app_data(c);
    if (!ec) {
        if (created)
            lwq_server_remove(sh->server, c); /* out of memory: drop the attempt */
        return;
    }
    mark_dirty(sh, ec);
}

static void on_readable(int fd, int events, void *arg)
{
    sockref *ref = arg;
    shard *sh = ref->sh;
    (void)fd;
    (void)events;
    lwq_udp_msg m[RX_MSGS];
    for (int batch = 0; batch < RX_BATCHES; batch++) {
        for (int i = 0; i < RX_MSGS; i++)
            m[i] = (lwq_udp_msg){.buf = sh->rx + (size_t)i * RX_SIZE, .len = RX_SIZE};
        int r = lwq_udp_recv(ref->udp, m, RX_MSGS);
        if (r == LWQ_ERR_REFUSED && !sh->server && sh->conns && !sh->conns->dirty) {
            lwq_conn_close(sh->conns->conn, 0, "connection refused (ICMP port unreachable)");
            mark_dirty(sh, sh->conns);
        }
        if (r <= 0)
            break;
        lwq_tstamp now = lwq_loop_now();
        for (int i = 0; i < r; i++) {
            lwq_path path = {0};
            const lwq_addr *local = m[i].local.len ? &m[i].local : &ref->udp->local;
            memcpy(&path.local, &local->ss, sizeof(path.local));
            path.local_len = local->len;
            memcpy(&path.remote, &m[i].peer.ss, sizeof(path.remote));
            path.remote_len = m[i].peer.len;
            size_t seg = m[i].segsize ? m[i].segsize : m[i].len;
            for (size_t off = 0; off < m[i].len; off += seg)
                datagram_in(sh, &path, m[i].buf + off, m[i].len - off < seg ? m[i].len - off : seg, m[i].ecn, now);
        }
        if (r < RX_MSGS)
            break;
    }
    if (sh->server) {
        /* Version Negotiation and stateless resets the server answered itself. */
        lwq_path path;
        ssize_t n;
        while ((n = lwq_server_send(sh->server, &path, sh->tx, TX_SIZE, lwq_loop_now())) > 0) {
            lwq_udp_msg out = {.buf = sh->tx, .len = (size_t)n};
            memcpy(&out.peer.ss, &path.remote, sizeof(path.remote));
            out.peer.len = path.remote_len;
            lwq_udp_send(ref->udp, &out, 1);
        }
    }
    flush_dirty(sh);
}

static void flush_dirty(shard *sh)
{
    for (size_t i = 0; i < sh->ndirty; i++) {
        lwq_endpoint_conn *ec = sh->dirty[i];
        ec->dirty = 0;
        service(ec);
        ec_release(ec);
    }
    sh->ndirty = 0;
}

static void shard_free(lwq_endpoint *ep, shard *sh)
{
    if (!sh)
        return;
    lwq_watch_del(sh->watch);
    for (size_t i = 0; i < sh->nextra; i++) {
        lwq_watch_del(sh->extra_watch[i]);
        lwq_udp_close(&sh->extra[i]);
    }
    lwq_strand_del(sh->strand);
    if (sh->udp.fd >= 0)
        lwq_udp_close(&sh->udp);
    lwq_server_del(sh->server);
    lwq_free(ep->a, sh->dirty);
    lwq_free(ep->a, sh->rx);
    lwq_free(ep->a, sh->tx);
    lwq_free(ep->a, sh);
}

static int shard_new(lwq_endpoint *ep, const lwq_addr *bind, int server, int reuseport, shard **out)
{
    shard *sh = lwq_calloc(ep->a, 1, sizeof(*sh));
    if (!sh)
        return LWQ_ERR_NOMEM;
    sh->ep = ep;
    sh->udp.fd = -1;
    sh->rx = lwq_malloc(ep->a, (size_t)RX_MSGS * RX_SIZE);
    sh->tx = lwq_malloc(ep->a, TX_SIZE);
    sh->strand = lwq_strand_new(ep->loop);
    int rv = !sh->rx || !sh->tx || !sh->strand ? LWQ_ERR_NOMEM : 0;
    if (!rv && server)
        rv = lwq_server_new(&sh->server, ep->ctx, &ep->lim);
    if (!rv && server) {
        pthread_mutex_lock(&ep->replay_mu);
        if (!ep->replay)
            rv = lwq_replay_new(&ep->replay, ep->a, lwq_default_rng());
        pthread_mutex_unlock(&ep->replay_mu);
        lwq_server_set_replay_check(sh->server, replay_fresh, ep);
    }
    if (!rv)
        rv = lwq_udp_open_shared(&sh->udp, bind, reuseport);
    sh->main_ref = (sockref){sh, &sh->udp};
    if (!rv &&
        !(sh->watch = lwq_watch_new(ep->loop, sh->udp.fd, LWQ_WATCH_READ, sh->strand, on_readable, &sh->main_ref)))
        rv = LWQ_ERR_NOMEM;
    if (!rv) {
        pthread_mutex_lock(&ep->mu);
        if (ep->nshards == ep->cap) {
            size_t cap = ep->cap ? ep->cap * 2 : 8;
            shard **s = lwq_realloc(ep->a, ep->shards, cap * sizeof(*s));
            if (s) {
                ep->shards = s;
                ep->cap = cap;
            } else {
                rv = LWQ_ERR_NOMEM;
            }
        }
        if (!rv && server && ep->nshards > 255)
            rv = LWQ_ERR_LIMIT; /* a CID tag is one byte */
        if (!rv) {
            sh->index = ep->nshards;
            ep->shards[ep->nshards++] = sh;
            if (server)
                lwq_server_set_cid_tag(sh->server, (uint8_t)sh->index);
        }
        pthread_mutex_unlock(&ep->mu);
    }
    if (rv) {
        shard_free(ep, sh);
        return rv;
    }
    *out = sh;
    return 0;
}

int lwq_endpoint_new(lwq_endpoint **out, lwq_loop *loop, lwq_context *ctx, const lwq_endpoint_handler *h,
                     const lwq_server_limits *limits)
{
    lwq_endpoint *ep = lwq_calloc(NULL, 1, sizeof(*ep));
    if (!ep)
        return LWQ_ERR_NOMEM;
    ep->loop = loop;
    ep->ctx = ctx;
    ep->h = *h;
    ep->lim = limits ? *limits : (lwq_server_limits){.max_connections = 10000, .max_handshakes = 1000};
    pthread_mutex_init(&ep->mu, NULL);
    pthread_mutex_init(&ep->replay_mu, NULL);
    pthread_cond_init(&ep->cv, NULL);
    *out = ep;
    return 0;
}

int lwq_endpoint_listen(lwq_endpoint *ep, const char *hostport, unsigned shards, uint16_t *port)
{
    lwq_addr a;
    int rv = lwq_addr_parse(&a, hostport, 1);
    if (rv)
        return rv;
    if (!shards) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        shards = n > 0 ? (unsigned)n : 1;
    }
    shard *first = NULL;
    for (unsigned i = 0; i < shards; i++) {
        shard *sh;
        if ((rv = shard_new(ep, &a, 1, first ? 1 : LWQ_UDP_REUSEPORT_FIRST, &sh)) != 0)
            return rv;
        if (!first) {
            first = sh;
            /* Port 0: the other shards join the port the kernel picked. */
            uint16_t p = lwq_addr_port(&first->udp.local);
            if (a.ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&a.ss)->sin_port = htons(p);
            else
                ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(p);
        }
    }
    if (port)
        *port = lwq_addr_port(&first->udp.local);
    return 0;
}

int lwq_endpoint_listen_extra(lwq_endpoint *ep, const char *hostport, uint16_t *port)
{
    lwq_addr a;
    int rv = lwq_addr_parse(&a, hostport, 1);
    if (rv)
        return rv;
    pthread_mutex_lock(&ep->mu);
    size_t n = ep->nshards;
    pthread_mutex_unlock(&ep->mu);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        shard *sh = ep->shards[i];
        if (!sh->server)
            continue;
        if (sh->nextra == MAX_EXTRA)
            return LWQ_ERR_LIMIT;
        lwq_udp *u = &sh->extra[sh->nextra];
        if ((rv = lwq_udp_open_shared(u, &a, any ? 1 : LWQ_UDP_REUSEPORT_FIRST)) != 0)
            return rv;
        if (!any && !lwq_addr_port(&a)) {
            /* port 0: the other shards join the port the kernel picked */
            uint16_t p = lwq_addr_port(&u->local);
            if (a.ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&a.ss)->sin_port = htons(p);
            else
                ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(p);
        }
        sh->extra_ref[sh->nextra] = (sockref){sh, u};
        sh->extra_watch[sh->nextra] =
            lwq_watch_new(ep->loop, u->fd, LWQ_WATCH_READ, sh->strand, on_readable, &sh->extra_ref[sh->nextra]);
        if (!sh->extra_watch[sh->nextra]) {
            lwq_udp_close(u);
            return LWQ_ERR_NOMEM;
        }
        sh->nextra++;
        if (port && !any)
            *port = lwq_addr_port(&u->local);
        any = 1;
    }
    return any ? 0 : LWQ_ERR_STATE;
}

struct connect_req {
    shard *sh;
    lwq_addr to;
    const uint8_t *session;
    size_t session_len;
    void *data;
    void (*first)(lwq_endpoint_conn *, lwq_conn *, void *);
    void *arg;
    lwq_endpoint_conn *ec;
    int rv;
};

static void *connect_task(void *arg)
{
    struct connect_req *r = arg;
    lwq_path path = {0};
    memcpy(&path.local, &r->sh->udp.local.ss, sizeof(path.local));
    path.local_len = r->sh->udp.local.len;
    memcpy(&path.remote, &r->to.ss, sizeof(path.remote));
    path.remote_len = r->to.len;
    lwq_conn *c;
    r->rv = lwq_conn_client_new(&c, r->sh->ep->ctx, &path, r->session, r->session_len, NULL, 0, lwq_loop_now());
    if (r->rv)
        return NULL;
    r->ec = attach(r->sh, c, &path);
    if (!r->ec) {
        lwq_conn_del(c);
        r->rv = LWQ_ERR_NOMEM;
        return NULL;
    }
    __atomic_add_fetch(&r->ec->refs, 1, __ATOMIC_ACQ_REL); /* the caller's */
    r->ec->data = r->data;
    if (r->first) /* before the first flight: what it queues in 0-RTT leaves with the Initial */
        r->first(r->ec, c, r->arg);
    service(r->ec);
    return NULL;
}

int lwq_endpoint_connect(lwq_endpoint *ep, const char *hostport, const uint8_t *session, size_t session_len,
                         void *data, lwq_endpoint_conn **out)
{
    return lwq_endpoint_connect_early(ep, hostport, session, session_len, data, NULL, NULL, out);
}

int lwq_endpoint_connect_early(lwq_endpoint *ep, const char *hostport, const uint8_t *session,
                               size_t session_len, void *data,
                               void (*first)(lwq_endpoint_conn *ec, lwq_conn *conn, void *arg), void *arg,
                               lwq_endpoint_conn **out)
{
    struct connect_req r = {
        .session = session, .session_len = session_len, .data = data, .first = first, .arg = arg};
    int rv = lwq_addr_parse(&r.to, hostport, 0);
    if (rv)
        return rv;
    lwq_addr any;
    rv = lwq_addr_parse(&any, r.to.ss.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0", 1);
    if (rv || (rv = shard_new(ep, &any, 0, 0, &r.sh)) != 0)
        return rv;
    if (lwq_udp_connect(&r.sh->udp, &r.to) == 0) /* best effort: only for reporting refusals */
        r.sh->connected = r.to;
    lwq_future *f = lwq_strand_submit(r.sh->strand, connect_task, &r);
    if (!f)
        return LWQ_ERR_CLOSED;
    lwq_future_wait(f, LWQ_TSTAMP_INF);
    lwq_future_del(f);
    if (r.rv)
        return r.rv;
    *out = r.ec;
    return 0;
}

struct post_req {
    lwq_endpoint_conn *ec;
    void (*fn)(lwq_endpoint_conn *, lwq_conn *, void *);
    void *arg;
};

static void *post_task(void *arg)
{
    struct post_req *p = arg;
    lwq_endpoint_conn *ec = p->ec;
    if (!ec->gone) {
        p->fn(ec, ec->conn, p->arg);
        service(ec);
    }
    lwq_endpoint *ep = ec->sh->ep;
    ec_release(ec);
    lwq_free(ep->a, p);
    return NULL;
}

int lwq_endpoint_post(lwq_endpoint_conn *ec, void (*fn)(lwq_endpoint_conn *, lwq_conn *, void *), void *arg)
{
    if (__atomic_load_n(&ec->gone, __ATOMIC_ACQUIRE))
        return LWQ_ERR_CLOSED;
    struct post_req *p = lwq_malloc(ec->sh->ep->a, sizeof(*p));
    if (!p)
        return LWQ_ERR_NOMEM;
    *p = (struct post_req){ec, fn, arg};
    __atomic_add_fetch(&ec->refs, 1, __ATOMIC_ACQ_REL);
    int rv = lwq_strand_post(ec->sh->strand, post_task, p);
    if (rv) {
        ec_release(ec);
        lwq_free(ec->sh->ep->a, p);
    }
    return rv;
}

struct close_req {
    shard *sh;
    uint64_t code;
    const char *reason;
    int force;
};

static void *close_task(void *arg)
{
    struct close_req *r = arg;
    lwq_endpoint_conn *next;
    for (lwq_endpoint_conn *ec = r->sh->conns; ec; ec = next) {
        next = ec->next;
        if (r->force) {
            detach(ec);
            continue;
        }
        lwq_conn_close(ec->conn, r->code, r->reason);
        service(ec);
    }
    return NULL;
}

static void each_shard(lwq_endpoint *ep, uint64_t code, const char *reason, int force)
{
    pthread_mutex_lock(&ep->mu);
    size_t n = ep->nshards;
    pthread_mutex_unlock(&ep->mu);
    for (size_t i = 0; i < n; i++) {
        struct close_req r = {ep->shards[i], code, reason, force};
        lwq_future *f = lwq_strand_submit(ep->shards[i]->strand, close_task, &r);
        if (f) {
            lwq_future_wait(f, LWQ_TSTAMP_INF);
            lwq_future_del(f);
        }
    }
}

size_t lwq_endpoint_shutdown(lwq_endpoint *ep, uint64_t app_error, const char *reason, lwq_tstamp timeout)
{
    each_shard(ep, app_error, reason, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + timeout % LWQ_SEC;
    ts.tv_sec += (time_t)(timeout / LWQ_SEC + ns / LWQ_SEC);
    ts.tv_nsec = (long)(ns % LWQ_SEC);
    pthread_mutex_lock(&ep->mu);
    while (ep->nconns > 0 && pthread_cond_timedwait(&ep->cv, &ep->mu, &ts) != ETIMEDOUT) {
    }
    size_t left = ep->nconns;
    pthread_mutex_unlock(&ep->mu);
    return left;
}

void lwq_endpoint_del(lwq_endpoint *ep)
{
    if (!ep)
        return;
    each_shard(ep, 0, NULL, 1);
    for (size_t i = 0; i < ep->nshards; i++)
        shard_free(ep, ep->shards[i]);
    lwq_free(ep->a, ep->shards);
    lwq_replay_del(ep->replay);
    pthread_mutex_destroy(&ep->replay_mu);
    pthread_mutex_destroy(&ep->mu);
    pthread_cond_destroy(&ep->cv);
    lwq_free(NULL, ep);
}
