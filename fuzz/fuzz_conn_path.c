/* Paths and ECN under arbitrary input: an established server connection receives 1-RTT packets
 * from the client's key on one of four client addresses with any ECN codepoint, the clock moves,
 * and the server's answers go back to the client, whose own paths and ECN state run too. Input:
 * records [u8 control][u16 length][plaintext payload]; control bits 0-1 pick the source address,
 * 2-3 the ECN bits, 4-6 how far the clock moves (0..35 ms x 5), bit 7 whether the client migrates
 * to that address first. After every record both connections' bookkeeping, amplification limits
 * (connection and path) and timers must hold. */
#include "fuzz_conn.h"

static lwq_context *cctx, *sctx;

static int setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    struct sockaddr_in *pa = (struct sockaddr_in *)&s.preferred_v4;
    pa->sin_family = AF_INET;
    pa->sin_port = htons(4443);
    inet_pton(AF_INET, "10.0.0.2", &pa->sin_addr);
    return fuzz_contexts(&cctx, &c, &sctx, &s);
}

/* The server's view of client address k, and the client's own. */
static const char *const client_ip[4] = {"10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.1"};
static const uint16_t client_port[4] = {5000, 6000, 5000, 5000};

static void check(const lwq_conn *c, lwq_tstamp now)
{
    if (lwq_conn_check(c, now) || lwq_conn_path_check(c))
        abort();
}

/* Moves datagrams both ways (the server's to whichever client address it chose) until nothing
 * moves; then lets timers run. */
static void pump(lwq_conn *cl, lwq_server *srv, lwq_conn **sc, lwq_tstamp *now, int rounds)
{
    uint8_t buf[1500];
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    ssize_t n;
    for (int round = 0; round < rounds; round++) {
        int moved = 0;
        while ((n = lwq_conn_send(cl, &path, buf, sizeof(buf), 1, &seg, &ecn, *now)) > 0) {
            lwq_path view = fuzz_path("10.0.0.2", 443, "10.0.0.1", 5000);
            if (path.local_len)
                view.remote = path.local; /* the client's chosen local address */
            if (path.remote_len)
                view.local = path.remote;
            lwq_conn *c = NULL;
            lwq_server_recv(srv, &view, buf, (size_t)n, ecn, *now, &c, NULL);
            if (c && !*sc)
                *sc = c;
            moved = 1;
        }
        while (*sc && (n = lwq_conn_send(*sc, &path, buf, sizeof(buf), 1, &seg, &ecn, *now)) > 0) {
            lwq_path view = path;
            view.local = path.remote;
            view.local_len = path.remote_len;
            view.remote = path.local;
            view.remote_len = path.local_len;
            lwq_conn_recv(cl, &view, buf, (size_t)n, ecn, *now);
            moved = 1;
        }
        while ((n = lwq_server_send(srv, &path, buf, sizeof(buf), *now)) > 0)
            ;
        check(cl, *now);
        if (*sc)
            check(*sc, *now);
        if (!moved) {
            *now += 30 * LWQ_MS;
            lwq_conn_handle_timeout(cl, *now);
            if (*sc)
                lwq_conn_handle_timeout(*sc, *now);
        }
    }
}

static void inject(lwq_conn *cl, lwq_server *srv, lwq_tstamp now, uint8_t ctl, const uint8_t *p, size_t n)
{
    uint8_t pkt[1500];
    ssize_t k = fuzz_seal_1rtt(cl, p, n, pkt, sizeof(pkt));
    if (k < 0)
        return;
    lwq_path path = fuzz_path("10.0.0.2", 443, client_ip[ctl & 3], client_port[ctl & 3]);
    lwq_conn *c = NULL;
    lwq_server_recv(srv, &path, pkt, (size_t)k, (ctl >> 2) & 3, now, &c, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx && setup())
        abort();
    fuzz_rng_reset(0x9e3779b97f4a7c15ull);
    lwq_server *srv;
    lwq_conn *cl, *sc = NULL;
    lwq_path path = fuzz_path("10.0.0.1", 5000, "10.0.0.2", 443);
    lwq_tstamp now = LWQ_SEC;
    if (lwq_server_new(&srv, sctx, NULL))
        abort();
    if (lwq_conn_client_new(&cl, cctx, &path, NULL, 0, NULL, 0, now))
        abort();
    pump(cl, srv, &sc, &now, 20);
    if (!sc || !lwq_conn_is_established(cl) || !lwq_conn_is_established(sc))
        abort(); /* the harness itself is broken */
    int64_t id;
    if (!lwq_stream_open(cl, 1, &id))
        lwq_stream_write(cl, id, (const uint8_t *)"hello", 5, 0);
    pump(cl, srv, &sc, &now, 20);
    for (int i = 0; i < 16 && size >= 3; i++) {
        uint8_t ctl = data[0];
        size_t n = lwq_get16(data + 1);
        data += 3;
        size -= 3;
        if (n > size)
            n = size;
        if (ctl & 0x80) {
            lwq_path to = fuzz_path(client_ip[ctl & 3], client_port[ctl & 3], "10.0.0.2", 443);
            (void)lwq_conn_migrate(cl, &to);
        }
        inject(cl, srv, now, ctl, data, n);
        data += n;
        size -= n;
        uint8_t buf[1500];
        lwq_event ev;
        while (lwq_conn_next_event(sc, &ev))
            if (ev.type == LWQ_EV_STREAM_READABLE) {
                int fin;
                while (lwq_stream_read(sc, ev.stream_id, buf, sizeof(buf), &fin) > 0)
                    ;
            }
        now += (lwq_tstamp)((ctl >> 4) & 7) * 5 * LWQ_MS;
        lwq_conn_handle_timeout(sc, now);
        lwq_conn_handle_timeout(cl, now);
        pump(cl, srv, &sc, &now, 2);
    }
    pump(cl, srv, &sc, &now, 20);
    lwq_conn_del(cl);
    lwq_server_del(srv);
    return 0;
}
