/* Retry paths (RFC 9000 §8.1.2, §17.2.5): a server with limits.retry opening tokens altered by the
 * input (bytes flipped, time advanced, source port changed) and raw datagrams; a client taking
 * Retry packets built from the input, with a valid or a wrong integrity tag, then raw datagrams.
 *
 * Input: [u8 flags][u8 shift][data]. flags bit 0: client mode; bit 1: client mode: the tag is for
 * the client's first DCID (else for a wrong one); bit 2: server mode: another source port.
 * shift: server mode: seconds added before the token comes back. Client mode: data[0] % 21 is the
 * Retry SCID length, the SCID follows, the rest is the token. Every run frees all it allocated. */
#include "fuzz_conn.h"

static lwq_context *cctx, *sctx;

static int setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    return fuzz_contexts(&cctx, &c, &sctx, &s);
}

/* The client at 10.0.0.1:port, as the server sees it. */
static void set_port(lwq_path *p, uint16_t port)
{
    *p = fuzz_path(NULL, 0, "10.0.0.1", port);
}

/* Client datagrams to the server, the server's and its connection's replies back, a few rounds.
 * sc: the server connection created so far (the server owns it). */
static void exchange(lwq_server *srv, lwq_conn *sc, lwq_conn *client, const lwq_path *path, lwq_tstamp now)
{
    uint8_t buf[1500];
    for (int round = 0; round < 6; round++) {
        ssize_t n;
        for (int i = 0; i < 8 && (n = fuzz_conn_out(client, buf, sizeof(buf), now)) > 0; i++) {
            lwq_conn *c = NULL;
            (void)lwq_server_recv(srv, path, buf, (size_t)n, 0, now, &c, NULL);
            if (c && !sc)
                sc = c;
        }
        lwq_path rp;
        while ((n = lwq_server_send(srv, &rp, buf, sizeof(buf), now)) > 0)
            (void)lwq_conn_recv(client, path, buf, (size_t)n, 0, now);
        for (int i = 0; sc && i < 8 && (n = fuzz_conn_out(sc, buf, sizeof(buf), now)) > 0; i++)
            (void)lwq_conn_recv(client, path, buf, (size_t)n, 0, now);
        now += LWQ_MS;
    }
}

static void server_mode(uint8_t flags, uint8_t shift, const uint8_t *data, size_t n)
{
    lwq_server_limits lim = {.retry = 1};
    lwq_server *srv = NULL;
    lwq_conn *client = NULL;
    lwq_path path, other;
    set_port(&path, 5000);
    set_port(&other, flags & 4 ? 5001 : 5000);
    lwq_tstamp now = LWQ_SEC;
    uint8_t d[1500], r[1500];
    if (lwq_server_new(&srv, sctx, &lim) || lwq_conn_client_new(&client, cctx, &path, NULL, 0, NULL, 0, now))
        goto out;
    ssize_t k = fuzz_conn_out(client, d, sizeof(d), now);
    lwq_conn *c = NULL, *sc = NULL;
    if (k > 0)
        (void)lwq_server_recv(srv, &path, d, (size_t)k, 0, now, &c, NULL);
    lwq_path rp;
    ssize_t rn = lwq_server_send(srv, &rp, r, sizeof(r), now);
    if (rn > 0)
        (void)lwq_conn_recv(client, &path, r, (size_t)rn, 0, now);
    k = fuzz_conn_out(client, d, sizeof(d), now);
    lwq_pkt_hdr h;
    if (k > 0 && lwq_pkt_hdr_decode(&h, d, (size_t)k, LWQ_CONN_CID_LEN) > 0 && h.token_len && n) {
        uint8_t *t = d + (h.token - d);
        for (size_t i = 0; i < h.token_len; i++)
            t[i] ^= data[i % n];
    }
    now += (lwq_tstamp)shift * LWQ_SEC;
    if (k > 0)
        (void)lwq_server_recv(srv, &other, d, (size_t)k, 0, now, &sc, NULL);
    if (n)
        (void)lwq_server_recv(srv, &other, data, n, 0, now, &c, NULL);
    exchange(srv, sc, client, &path, now);
out:
    lwq_conn_del(client);
    lwq_server_del(srv);
}

static void client_mode(uint8_t flags, const uint8_t *data, size_t n)
{
    lwq_server_limits lim = {.retry = 1};
    lwq_server *srv = NULL;
    lwq_conn *client = NULL;
    lwq_path path;
    set_port(&path, 5000);
    lwq_tstamp now = LWQ_SEC;
    uint8_t d[1500], r[1500];
    if (lwq_server_new(&srv, sctx, &lim) || lwq_conn_client_new(&client, cctx, &path, NULL, 0, NULL, 0, now))
        goto out;
    (void)fuzz_conn_out(client, d, sizeof(d), now);
    size_t sl = n ? data[0] % (LWQ_CID_MAX + 1) : 0;
    if (n && 1 + sl <= n) {
        static const uint8_t wrong[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        const lwq_cid *me = &client->cids.local[0].cid;
        const lwq_cid *odcid = &client->odcid;
        ssize_t rn = lwq_retry_encode(r, sizeof(r), LWQ_VERSION_1, me->id, me->len, data + 1, sl, data + 1 + sl,
                                      n - 1 - sl > 1000 ? 1000 : n - 1 - sl, flags & 2 ? odcid->id : wrong,
                                      flags & 2 ? odcid->len : sizeof(wrong), 0);
        if (rn > 0)
            (void)lwq_conn_recv(client, &path, r, (size_t)rn, 0, now);
    }
    if (n && n <= sizeof(d)) {
        memcpy(d, data, n);
        (void)lwq_conn_recv(client, &path, d, n, 0, now);
    }
    exchange(srv, NULL, client, &path, now);
out:
    lwq_conn_del(client);
    lwq_server_del(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup())
            abort();
        ready = 1;
    }
    if (size < 2)
        return 0;
    fuzz_rng_reset(0x9e3779b97f4a7c15ull ^ size);
    if (data[0] & 1)
        client_mode(data[0], data + 2, size - 2);
    else
        server_mode(data[0], data[1], data + 2, size - 2);
    return 0;
}
