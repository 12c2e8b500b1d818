/* Raw datagrams into a server and into a client: header parsing, demultiplexing, Version
 * Negotiation, stateless resets, connection creation and packet unprotection on garbage, with
 * allocations failing where the input says.
 *
 * Input: [u16 fail_at][u8 flags] then records [u16 length][bit 15: to the client][datagram].
 * fail_at (0 = never) is the allocation, counted from the start of the input, that fails; flags
 * bits 0-5 (period) make every period-th allocation after it fail too; flag bit 7 wires the client
 * to the server so that a real handshake and its data run alongside the fuzzed datagrams. Every
 * run must free all it allocated. */
#include "fuzz_conn.h"

static lwq_context *cctx, *sctx;
static size_t live_after_setup;

static int setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    c.alloc = s.alloc = fuzz_alloc();
    int rv = fuzz_contexts(&cctx, &c, &sctx, &s);
    live_after_setup = fuzz_alloc_live();
    return rv;
}

#define MAX_CONNS 4
#define WIRE_MAX 16

typedef struct wire {
    uint8_t d[WIRE_MAX][1500];
    size_t len[WIRE_MAX], n;
} wire;

static void wire_put(wire *w, const uint8_t *p, size_t n)
{
    if (w->n < WIRE_MAX && n <= sizeof(w->d[0])) {
        memcpy(w->d[w->n], p, n);
        w->len[w->n++] = n;
    }
}

static void track(lwq_conn **conns, lwq_conn *c)
{
    for (int i = 0; c && i < MAX_CONNS; i++) {
        if (conns[i] == c)
            return;
        if (!conns[i]) {
            conns[i] = c;
            return;
        }
    }
}

static void app(lwq_conn *c, int client)
{
    lwq_event ev;
    while (lwq_conn_next_event(c, &ev))
        ;
    if (client && lwq_conn_is_established(c)) {
        int64_t id;
        static const uint8_t msg[] = "GET /fuzz\r\n";
        if (lwq_stream_open(c, 1, &id) == 0)
            (void)lwq_stream_write(c, id, msg, sizeof(msg) - 1, 1);
    }
    uint8_t buf[256];
    int fin;
    for (int64_t id = 0; id < 16; id += 4)
        if (lwq_stream_read(c, id, buf, sizeof(buf), &fin) > 0 && !client)
            (void)lwq_stream_write(c, id, buf, 8, fin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx && setup())
        abort();
    if (size < 3)
        return 0;
    fuzz_rng_reset(0x2545f4914f6cdd1dull);
    fuzz_alloc_arm(lwq_get16(data), data[2] & 0x3f);
    int wired = data[2] & 0x80;
    data += 3;
    size -= 3;
    lwq_server *srv = NULL;
    lwq_conn *cl = NULL;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    lwq_tstamp now = LWQ_SEC;
    lwq_server_limits lim = {.max_connections = 4, .max_handshakes = 4, .retry_above = 4};
    if (lwq_server_new(&srv, sctx, &lim) || lwq_conn_client_new(&cl, cctx, &path, NULL, 0, NULL, 0, now))
        goto out;
    static uint8_t buf[1500];
    static wire to_srv, to_cl;
    to_srv.n = to_cl.n = 0;
    lwq_conn *conns[MAX_CONNS] = {0};
    size_t seg;
    uint8_t ecn;
    ssize_t n;
    for (int i = 0; i < 48 && (size >= 2 || (wired && i < 40)); i++) {
        if (size >= 2) {
            uint16_t hdr = lwq_get16(data);
            size_t len = hdr & 0x7fff;
            data += 2;
            size -= 2;
            if (len > size)
                len = size;
            lwq_conn *c = NULL;
            if (hdr & 0x8000)
                lwq_conn_recv(cl, &path, data, len, 0, now);
            else
                lwq_server_recv(srv, &path, data, len, 0, now, &c, NULL);
            track(conns, c);
            data += len;
            size -= len;
        }
        for (size_t k = 0; k < to_srv.n; k++) {
            lwq_conn *c = NULL;
            lwq_server_recv(srv, &path, to_srv.d[k], to_srv.len[k], 0, now, &c, NULL);
            track(conns, c);
        }
        for (size_t k = 0; k < to_cl.n; k++)
            lwq_conn_recv(cl, &path, to_cl.d[k], to_cl.len[k], 0, now);
        to_srv.n = to_cl.n = 0;
        while ((n = lwq_server_send(srv, &path, buf, sizeof(buf), now)) > 0)
            if (wired)
                wire_put(&to_cl, buf, (size_t)n);
        for (int k = 0; k < MAX_CONNS && conns[k]; k++) {
            app(conns[k], 0);
            for (int j = 0; j < 64 && (n = lwq_conn_send(conns[k], &path, buf, sizeof(buf), 1, &seg, &ecn, now)) > 0;
                 j++)
                if (wired)
                    wire_put(&to_cl, buf, (size_t)n);
        }
        app(cl, 1);
        for (int j = 0; j < 64 && (n = lwq_conn_send(cl, &path, buf, sizeof(buf), 1, &seg, &ecn, now)) > 0; j++)
            if (wired)
                wire_put(&to_srv, buf, (size_t)n);
        now += 7 * LWQ_MS;
        lwq_conn_handle_timeout(cl, now);
        for (int k = 0; k < MAX_CONNS && conns[k]; k++)
            if (lwq_conn_next_timeout(conns[k]) <= now)
                lwq_conn_handle_timeout(conns[k], now);
    }
out:
    lwq_conn_del(cl);
    lwq_server_del(srv);
    fuzz_alloc_arm(0, 0);
    if (fuzz_alloc_live() != live_after_setup)
        abort(); /* a leak on this path */
    return 0;
}
