/* Frames from a peer into an established server connection: the input is a sequence of
 * [u16 length][plaintext payload] records, each sent as one 1-RTT packet from the client, so
 * every frame decoder, the frame table and every connection state machine see arbitrary input
 * behind real packet protection. The connection is built by an in-memory handshake per input. */
#include "fuzz_conn.h"

static lwq_context *cctx, *sctx;

static int setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    s.initial_max_streams_bidi = s.initial_max_streams_uni = 8;
    s.initial_max_data = 65536;
    s.initial_max_stream_data_bidi_remote = s.initial_max_stream_data_uni = 16384;
    s.max_streams_open = 32;
    s.max_datagram_frame_size = 1200;
    s.max_datagram_queue = 4;
    return fuzz_contexts(&cctx, &c, &sctx, &s);
}

/* Moves datagrams both ways until nothing moves; then lets timers run. */
static void pump(lwq_conn *cl, lwq_server *srv, lwq_conn **sc, lwq_tstamp *now)
{
    uint8_t buf[1500];
    lwq_path path;
    memset(&path, 0, sizeof(path));
    size_t seg;
    uint8_t ecn;
    ssize_t n;
    for (int round = 0; round < 20; round++) {
        int moved = 0;
        while ((n = lwq_conn_send(cl, &path, buf, sizeof(buf), 1, &seg, &ecn, *now)) > 0) {
            lwq_conn *c = NULL;
            lwq_server_recv(srv, &path, buf, (size_t)n, 0, *now, &c, NULL);
            if (c && !*sc)
                *sc = c;
            moved = 1;
        }
        while (*sc && (n = lwq_conn_send(*sc, &path, buf, sizeof(buf), 1, &seg, &ecn, *now)) > 0) {
            lwq_conn_recv(cl, &path, buf, (size_t)n, 0, *now);
            moved = 1;
        }
        while ((n = lwq_server_send(srv, &path, buf, sizeof(buf), *now)) > 0)
            lwq_conn_recv(cl, &path, buf, (size_t)n, 0, *now);
        if (!moved) {
            *now += 30 * LWQ_MS;
            lwq_conn_handle_timeout(cl, *now);
            if (*sc)
                lwq_conn_handle_timeout(*sc, *now);
        }
    }
}

static void inject(lwq_conn *cl, lwq_server *srv, lwq_tstamp now, const uint8_t *p, size_t n)
{
    uint8_t pkt[1500];
    ssize_t k = fuzz_seal_1rtt(cl, p, n, pkt, sizeof(pkt));
    if (k < 0)
        return;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    lwq_conn *c = NULL;
    lwq_server_recv(srv, &path, pkt, (size_t)k, 0, now, &c, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx && setup())
        abort();
    fuzz_rng_reset(0x9e3779b97f4a7c15ull);
    lwq_server *srv;
    lwq_conn *cl, *sc = NULL;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    lwq_tstamp now = LWQ_SEC;
    if (lwq_server_new(&srv, sctx, NULL))
        abort();
    if (lwq_conn_client_new(&cl, cctx, &path, NULL, 0, NULL, 0, now))
        abort();
    pump(cl, srv, &sc, &now);
    if (!sc || !lwq_conn_is_established(cl) || !lwq_conn_is_established(sc))
        abort(); /* the harness itself is broken */
    int64_t id;
    if (!lwq_stream_open(cl, 1, &id))
        lwq_stream_write(cl, id, (const uint8_t *)"hello", 5, 0);
    pump(cl, srv, &sc, &now);
    for (int i = 0; i < 16 && size; i++) {
        size_t n = size;
        if (size >= 2 && (size_t)lwq_get16(data) <= size - 2) {
            n = lwq_get16(data);
            data += 2;
            size -= 2;
        }
        inject(cl, srv, now, data, n);
        data += n;
        size -= n;
        uint8_t buf[1500];
        size_t seg;
        uint8_t ecn;
        while (lwq_conn_send(sc, &path, buf, sizeof(buf), 1, &seg, &ecn, now) > 0)
            ;
        lwq_event ev;
        while (lwq_conn_next_event(sc, &ev)) {
            if (ev.type == LWQ_EV_STREAM_READABLE) {
                int fin;
                while (lwq_stream_read(sc, ev.stream_id, buf, sizeof(buf), &fin) > 0)
                    ;
            } else if (ev.type == LWQ_EV_STREAM_OPENED && (ev.stream_id & 2) == 0) {
                lwq_stream_write(sc, ev.stream_id, buf, 100, 1);
            } else if (ev.type == LWQ_EV_DATAGRAM && ev.len) {
                buf[0] = ev.data[ev.len - 1]; /* touch the data: it must be valid here */
            }
        }
        now += 5 * LWQ_MS;
        lwq_conn_handle_timeout(sc, now);
    }
    pump(cl, srv, &sc, &now);
    lwq_conn_del(cl);
    lwq_server_del(srv);
    return 0;
}
