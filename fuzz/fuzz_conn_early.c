/* 0-RTT and NEW_TOKEN paths (RFC 9001 §4.6, §5.6; RFC 9000 §8.1.3, §19.7). A session is made once
 * by a real handshake; each input then drives one resumed connection:
 *
 * Input: [u8 mode][data]. mode % 4:
 *   0: the server takes the client's first datagram (Initial + 0-RTT), then 0-RTT packets whose
 *      frames are the input bytes, sealed under the client's real 0-RTT keys;
 *   1: as 0, then the input as a raw datagram to the server;
 *   2: the input as the address-validation token of a client's Initial to a Retry server
 *      (NEW_TOKEN check, then Retry or a connection), and as a token to lwq_new_token_check;
 *   3: the client gets the input as frames of a 1-RTT packet after its handshake (NEW_TOKEN
 *      frames among them), sealed under its real 1-RTT read keys.
 * Every run frees all it allocated. */
#include "fuzz_conn.h"
#include "quic/token.h"

static const uint8_t ticket_key[32] = {42};
static lwq_context *cctx, *sctx;
static uint8_t *blob;
static size_t blob_len;
static lwq_path path;

/* Datagrams both ways until nothing moves; sc: the server's connection, found on the way. */
static lwq_conn *exchange(lwq_server *srv, lwq_conn *sc, lwq_conn *client, lwq_tstamp now)
{
    uint8_t buf[1500];
    for (int round = 0; round < 8; round++) {
        ssize_t n;
        for (int i = 0; i < 16 && (n = fuzz_conn_out(client, buf, sizeof(buf), now)) > 0; i++) {
            lwq_conn *c = NULL;
            (void)lwq_server_recv(srv, &path, buf, (size_t)n, 0, now, &c, NULL);
            if (c && !sc)
                sc = c;
        }
        lwq_path rp;
        while ((n = lwq_server_send(srv, &rp, buf, sizeof(buf), now)) > 0)
            (void)lwq_conn_recv(client, &path, buf, (size_t)n, 0, now);
        for (int i = 0; sc && i < 16 && (n = fuzz_conn_out(sc, buf, sizeof(buf), now)) > 0; i++)
            (void)lwq_conn_recv(client, &path, buf, (size_t)n, 0, now);
        now += LWQ_MS;
    }
    return sc;
}

static int setup(void)
{
    lwq_config c, s;
    fuzz_configs(&c, &s);
    c.enable_0rtt = s.enable_0rtt = 1;
    s.ticket_key = ticket_key;
    if (fuzz_contexts(&cctx, &c, &sctx, &s))
        return -1;
    path = fuzz_path(NULL, 0, "10.0.0.1", 5000);
    lwq_server *srv = NULL;
    lwq_conn *client = NULL;
    if (lwq_server_new(&srv, sctx, NULL) || lwq_conn_client_new(&client, cctx, &path, NULL, 0, NULL, 0, LWQ_SEC))
        return -1;
    exchange(srv, NULL, client, LWQ_SEC);
    lwq_event ev;
    while (lwq_conn_next_event(client, &ev))
        if (ev.type == LWQ_EV_SESSION_TICKET) {
            free(blob);
            blob = malloc(ev.len);
            memcpy(blob, ev.data, ev.len);
            blob_len = ev.len;
        }
    lwq_conn_del(client);
    lwq_server_del(srv);
    return blob ? 0 : -1;
}

static void early_mode(int raw, const uint8_t *data, size_t n)
{
    lwq_server *srv = NULL;
    lwq_conn *client = NULL, *sc = NULL;
    lwq_tstamp now = 2 * LWQ_SEC;
    uint8_t d[1500];
    int64_t id;
    if (lwq_server_new(&srv, sctx, NULL) || lwq_conn_client_new(&client, cctx, &path, blob, blob_len, NULL, 0, now) ||
        lwq_stream_open(client, 1, &id) || lwq_stream_write(client, id, (const uint8_t *)"GET /\r\n", 7, 1) != 7)
        goto out;
    ssize_t k = fuzz_conn_out(client, d, sizeof(d), now);
    if (k > 0)
        (void)lwq_server_recv(srv, &path, d, (size_t)k, 0, now, &sc, NULL);
    if (!client->early.has_keys)
        goto out;
    for (size_t off = 0, pn = 100; off < n && pn < 110; pn++) {
        size_t len = n - off > 1000 ? 1000 : n - off;
        ssize_t m = fuzz_seal_packet(client, LWQ_PKT_0RTT, &client->early.keys, pn, data + off, len, d, sizeof(d));
        if (m > 0)
            (void)lwq_server_recv(srv, &path, d, (size_t)m, 0, now, &sc, NULL);
        off += len;
    }
    if (raw && n && n <= sizeof(d)) {
        memcpy(d, data, n);
        (void)lwq_server_recv(srv, &path, d, n, 0, now, &sc, NULL);
    }
    exchange(srv, sc, client, now);
out:
    lwq_conn_del(client);
    lwq_server_del(srv);
}

static void token_mode(const uint8_t *data, size_t n)
{
    lwq_server_limits lim = {.retry = 1};
    lwq_server *srv = NULL;
    lwq_conn *client = NULL;
    lwq_tstamp now = 3 * LWQ_SEC;
    if (lwq_new_token_check(sctx, &path, data, n, now))
        abort(); /* nobody forges a token */
    if (n > 1000)
        n = 1000;
    if (lwq_server_new(&srv, sctx, &lim) || lwq_conn_client_new(&client, cctx, &path, blob, blob_len, data, n, now))
        goto out;
    exchange(srv, NULL, client, now);
out:
    lwq_conn_del(client);
    lwq_server_del(srv);
}

static void client_mode(const uint8_t *data, size_t n)
{
    lwq_server *srv = NULL;
    lwq_conn *client = NULL;
    lwq_tstamp now = 4 * LWQ_SEC;
    uint8_t d[1500];
    if (lwq_server_new(&srv, sctx, NULL) || lwq_conn_client_new(&client, cctx, &path, blob, blob_len, NULL, 0, now))
        goto out;
    lwq_conn *sc = exchange(srv, NULL, client, now);
    if (!sc || !client->sp[LWQ_SPACE_APP].has_rk)
        goto out;
    for (size_t off = 0, pn = 1000; off < n && pn < 1010; pn++) {
        size_t len = n - off > 1000 ? 1000 : n - off;
        ssize_t m = fuzz_seal_packet(sc, LWQ_PKT_1RTT, &sc->sp[LWQ_SPACE_APP].wk, pn, data + off, len, d, sizeof(d));
        if (m > 0)
            (void)lwq_conn_recv(client, &path, d, (size_t)m, 0, now);
        off += len;
    }
    lwq_event ev;
    while (lwq_conn_next_event(client, &ev))
        if (ev.type == LWQ_EV_NEW_TOKEN && (!ev.data || !ev.len))
            abort();
out:
    lwq_conn_del(client);
    lwq_server_del(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_rng_reset(0x2545f4914f6cdd1dull);
        if (setup())
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    fuzz_rng_reset(0x9e3779b97f4a7c15ull ^ size);
    switch (data[0] % 4) {
    case 0:
    case 1:
        early_mode(data[0] % 4, data + 1, size - 1);
        break;
    case 2:
        token_mode(data + 1, size - 1);
        break;
    default:
        client_mode(data + 1, size - 1);
    }
    return 0;
}
