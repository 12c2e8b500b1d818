/* The sharded server under arbitrary network behaviour, as src/io/endpoint.c runs it but without sockets or
 * threads (the endpoint owns both, so the target rebuilds its datagram path): four lwq_server shards on one
 * context, each tagging its connection IDs with its index (lwq_server_set_cid_tag); a datagram lands on the
 * shard the "kernel" hashes its source address to and, when its short-header DCID carries another shard's
 * tag, is forwarded there (the endpoint's owner_of rule). Three real clients (null packet protection)
 * handshake and send stream data while the input rebinds their addresses (NAT rebinding: their datagrams move
 * to other shards), migrates them, corrupts, drops and replays their datagrams, and injects raw datagrams
 * into any shard. Checked: each server connection's consistency (lwq_conn_check), every server connection ID
 * a client holds carries its shard's tag, and a connection is only ever returned by its own shard.
 *
 * Input: [u8 seed] then ops [u8 op][operands]: op bits 0-2 the operation, bits 3-4 the client. */
#include <stdio.h>
#include "fuzz_conn.h"
#include "quic/conn_null.h"

#define SHARDS 4
#define CLIENTS 3
#define CONNS 16

typedef struct client {
    lwq_conn *c;
    lwq_path cpath;   /* the client's own view */
    unsigned addr;    /* index of the address the server sees */
    unsigned old_addr; /* ... for datagrams still sent from before an active migration */
    uint16_t mig_port; /* the local port migrated to (0: none) */
    int shard;        /* the shard its connection lives on */
    lwq_conn *sc;
    int drop;         /* datagrams to drop */
    uint8_t flip_off, flip_val;
    int flip;
    uint8_t last[1500];
    size_t last_len;
    int64_t sid;
    uint64_t got;
} client;

typedef struct net {
    lwq_server *shard[SHARDS];
    lwq_conn *conns[SHARDS][CONNS];
    client cl[CLIENTS];
    lwq_tstamp now;
    uint64_t forwarded;
} net;

static lwq_context *cctx, *sctx;

static lwq_path server_view(unsigned addr)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "10.1.%u.%u", addr / 16, 1 + addr % 16);
    return fuzz_path("10.0.0.2", 443, ip, (uint16_t)(4000 + addr));
}

/* The kernel's 4-tuple hash, as far as the target cares. */
static int hash_shard(unsigned addr)
{
    return (int)((addr * 7 + 3) % SHARDS);
}

static void track(net *n, int s, lwq_conn *c)
{
    for (int i = 0; i < CONNS; i++)
        if (n->conns[s][i] == c)
            return;
    for (int s2 = 0; s2 < SHARDS; s2++)
        for (int i = 0; i < CONNS; i++)
            if (n->conns[s2][i] == c)
                abort(); /* a connection returned by a shard that does not own it */
    for (int i = 0; i < CONNS; i++)
        if (!n->conns[s][i]) {
            n->conns[s][i] = c;
            return;
        }
}

/* A datagram arriving on shard s: forwarded to the shard its DCID names (endpoint.c owner_of, through
 * lwq_context_cid_shard), then received. */
static lwq_conn *arrive(net *n, int s, const lwq_path *from, const uint8_t *d, size_t len)
{
    int o = lwq_context_cid_shard(sctx, d, len);
    if (o >= 0 && o < SHARDS && o != s) {
        s = o;
        n->forwarded++;
    }
    lwq_conn *c = NULL;
    (void)lwq_server_recv(n->shard[s], from, d, len, 0, n->now, &c, NULL);
    if (c)
        track(n, s, c);
    return c;
}

static void client_send(net *n, int k)
{
    client *cl = &n->cl[k];
    uint8_t buf[1500];
    ssize_t len;
    lwq_path out;
    size_t seg;
    uint8_t ecn;
    for (int j = 0; j < 64 && (len = lwq_conn_send(cl->c, &out, buf, sizeof(buf), 1, &seg, &ecn, n->now)) > 0; j++) {
        const struct sockaddr_in *l = (const struct sockaddr_in *)&out.local;
        unsigned addr = cl->mig_port && l->sin_port != htons(cl->mig_port) ? cl->old_addr : cl->addr;
        memcpy(cl->last, buf, (size_t)len);
        cl->last_len = (size_t)len;
        if (cl->drop > 0) {
            cl->drop--;
            continue;
        }
        if (cl->flip) {
            buf[cl->flip_off % len] ^= cl->flip_val;
            cl->flip = 0;
        }
        lwq_path from = server_view(addr);
        lwq_conn *c = arrive(n, hash_shard(addr), &from, buf, (size_t)len);
        if (c && !cl->sc) {
            cl->sc = c;
            for (int s = 0; s < SHARDS; s++)
                for (int i = 0; i < CONNS; i++)
                    if (n->conns[s][i] == c)
                        cl->shard = s;
        }
    }
}

static void app(lwq_conn *c)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(c, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin = 0;
            ssize_t r;
            while ((r = lwq_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin)) > 0 || (r == 0 && fin)) {
                if (!(ev.stream_id & 2))
                    (void)lwq_stream_write(c, ev.stream_id, buf, (size_t)r, fin);
                if (fin)
                    break;
            }
        }
}

static void client_read(client *cl)
{
    lwq_event ev;
    uint8_t buf[2048];
    while (lwq_conn_next_event(cl->c, &ev))
        if (ev.type == LWQ_EV_STREAM_READABLE) {
            int fin;
            ssize_t r;
            while ((r = lwq_stream_read(cl->c, ev.stream_id, buf, sizeof(buf), &fin)) > 0)
                cl->got += (uint64_t)r;
        }
}

/* Timers, sends both ways, the invariants. */
static void step(net *n)
{
    uint8_t buf[1500];
    ssize_t len;
    for (int k = 0; k < CLIENTS; k++) {
        if (lwq_conn_next_timeout(n->cl[k].c) <= n->now)
            (void)lwq_conn_handle_timeout(n->cl[k].c, n->now);
        client_read(&n->cl[k]);
        client_send(n, k);
    }
    for (int s = 0; s < SHARDS; s++) {
        while (lwq_server_send(n->shard[s], NULL, buf, sizeof(buf), n->now) > 0)
            ;
        for (int i = 0; i < CONNS; i++) {
            lwq_conn *c = n->conns[s][i];
            if (!c)
                continue;
            if (lwq_conn_next_timeout(c) <= n->now)
                (void)lwq_conn_handle_timeout(c, n->now);
            app(c);
            client *to = NULL;
            for (int k = 0; k < CLIENTS; k++)
                if (n->cl[k].sc == c)
                    to = &n->cl[k];
            for (int j = 0; j < 64 && (len = fuzz_conn_out(c, buf, sizeof(buf), n->now)) > 0; j++)
                if (to)
                    (void)lwq_conn_recv(to->c, &to->cpath, buf, (size_t)len, 0, n->now);
            const char *why = lwq_conn_check(c, n->now);
            if (why) {
                fprintf(stderr, "shard %d: %s\n", s, why);
                abort();
            }
            if (lwq_conn_is_closed(c)) {
                for (int k = 0; k < CLIENTS; k++)
                    if (n->cl[k].sc == c)
                        n->cl[k].sc = NULL;
                lwq_server_remove(n->shard[s], c);
                n->conns[s][i] = NULL;
            }
        }
    }
    /* every server CID a client holds names the shard of its connection */
    for (int k = 0; k < CLIENTS; k++) {
        client *cl = &n->cl[k];
        if (!cl->sc || !lwq_conn_is_established(cl->c))
            continue;
        for (int i = 0; i < LWQ_CIDS_PEER_MAX; i++) {
            const lwq_peer_cid *p = &cl->c->cids.peer[i];
            uint8_t hdr[1 + LWQ_CID_MAX] = {0x40};
            memcpy(hdr + 1, p->cid.id, p->cid.len);
            if (p->used && p->seq > 0 && p->cid.len && lwq_context_cid_shard(sctx, hdr, 1 + p->cid.len) != cl->shard)
                abort();
        }
    }
}

static void setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    s.cert_file = "tests/data/certs/server-ed25519.pem";
    s.key_file = "tests/data/certs/server-ed25519.key";
    fuzz_rng_reset(0x082efa98ec4e6c89ull);
    if (fuzz_contexts(&cctx, &c, &sctx, &s))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx)
        setup();
    fuzz_in in = {data, size};
    uint8_t seed;
    if (!fuzz_u8(&in, &seed))
        return 0;
    fuzz_rng_reset(0x452821e638d01377ull + seed);
    net n;
    memset(&n, 0, sizeof(n));
    n.now = LWQ_SEC;
    for (int s = 0; s < SHARDS; s++) {
        lwq_server_limits lim = {.max_connections = CONNS, .max_handshakes = CONNS, .retry_above = CONNS};
        if (lwq_server_new(&n.shard[s], sctx, &lim))
            abort();
        lwq_server_set_cid_tag(n.shard[s], (uint8_t)s);
        lwq_server_set_null_protection(n.shard[s]);
    }
    for (int k = 0; k < CLIENTS; k++) {
        client *cl = &n.cl[k];
        char ip[32];
        snprintf(ip, sizeof(ip), "192.168.0.%d", k + 1);
        cl->cpath = fuzz_path(ip, 5000, "10.0.0.2", 443);
        cl->addr = (unsigned)k;
        cl->sid = -1;
        if (lwq_conn_client_new(&cl->c, cctx, &cl->cpath, NULL, 0, NULL, 0, n.now))
            abort();
        lwq_conn_set_null_protection(cl->c);
    }
    uint8_t op;
    for (int i = 0; i < 256 && fuzz_u8(&in, &op); i++) {
        client *cl = &n.cl[((op >> 3) & 3) % CLIENTS];
        uint8_t b = 0;
        uint16_t len = 0;
        const uint8_t *d;
        switch (op & 7) {
        case 0: /* [u8] time passes */
            (void)fuzz_u8(&in, &b);
            n.now += (lwq_tstamp)(b & 63) * LWQ_MS + ((b & 64) ? LWQ_SEC : 0);
            break;
        case 1: /* [u8] NAT rebinding: the server sees the client at another address (maybe another shard) */
            (void)fuzz_u8(&in, &b);
            cl->addr = cl->old_addr = b % 64;
            break;
        case 2: /* [u8 shard][u16 len][bytes] a raw datagram */
            (void)fuzz_u8(&in, &b);
            (void)fuzz_u16(&in, &len);
            {
                size_t k = fuzz_take(&in, &d, len);
                lwq_path from = server_view(64 + (b >> 2));
                (void)arrive(&n, b % SHARDS, &from, d, k);
            }
            break;
        case 3: /* [u16] stream data from the client */
            (void)fuzz_u16(&in, &len);
            if (lwq_conn_is_established(cl->c)) {
                if (cl->sid < 0 && lwq_stream_open(cl->c, 1, &cl->sid))
                    cl->sid = -1;
                static const uint8_t junk[4096];
                if (cl->sid >= 0)
                    (void)lwq_stream_write(cl->c, cl->sid, junk, len % sizeof(junk), (op & 0x80) != 0);
                if (op & 0x80)
                    cl->sid = -1;
            }
            break;
        case 4: /* [u8 offset][u8 xor] corrupt the client's next datagram */
            cl->flip = fuzz_u8(&in, &cl->flip_off) && fuzz_u8(&in, &cl->flip_val);
            break;
        case 5: /* [u8] drop the client's next datagrams */
            (void)fuzz_u8(&in, &b);
            cl->drop = b & 15;
            break;
        case 6: /* [u8 shard] replay the client's last datagram (from its address or a spoofed one) */
            (void)fuzz_u8(&in, &b);
            if (cl->last_len) {
                lwq_path from = server_view((op & 0x80) ? 100u + b : cl->addr);
                (void)arrive(&n, b % SHARDS, &from, cl->last, cl->last_len);
            }
            break;
        case 7: /* [u8] active migration of the client to a new local address */
            (void)fuzz_u8(&in, &b);
            {
                char ip[32];
                snprintf(ip, sizeof(ip), "192.168.1.%d", 1 + b % 200);
                lwq_path np = fuzz_path(ip, (uint16_t)(6000 + b), "10.0.0.2", 443);
                if (lwq_conn_migrate(cl->c, &np) == 0) {
                    cl->cpath = np;
                    cl->old_addr = cl->addr;
                    cl->addr = 128 + b % 64;
                    cl->mig_port = (uint16_t)(6000 + b);
                }
            }
            break;
        }
        step(&n);
        step(&n);
    }
#ifdef FUZZ_VERBOSE
    for (int k = 0; k < CLIENTS; k++)
        fprintf(stderr, "client %d: %s, shard %d, %llu bytes back; ", k,
                lwq_conn_is_established(n.cl[k].c) ? "established" : "not established", n.cl[k].shard,
                (unsigned long long)n.cl[k].got);
    fprintf(stderr, "%llu forwarded\n", (unsigned long long)n.forwarded);
#endif
    for (int k = 0; k < CLIENTS; k++)
        lwq_conn_del(n.cl[k].c);
    for (int s = 0; s < SHARDS; s++)
        lwq_server_del(n.shard[s]);
    return 0;
}
