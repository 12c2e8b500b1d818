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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"
#include "quic/token.h"

static uint64_t rng_state;

static void fill(void *ud, uint8_t *out, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        out[i] = (uint8_t)(rng_state >> 24);
    }
}

static const lwq_rng fuzz_rng = {fill, NULL};
static const char *alpn[] = {"fuzz"};
static const uint8_t ticket_key[32] = {42};
static lwq_context *cctx, *sctx;
static uint8_t *blob;
static size_t blob_len;
static lwq_path path;

static ssize_t out_of(lwq_conn *c, uint8_t *buf, size_t cap, lwq_tstamp now)
{
    lwq_path p;
    size_t seg;
    uint8_t ecn;
    return lwq_conn_send(c, &p, buf, cap, 1, &seg, &ecn, now);
}

/* Datagrams both ways until nothing moves; sc: the server's connection, found on the way. */
static lwq_conn *exchange(lwq_server *srv, lwq_conn *sc, lwq_conn *client, lwq_tstamp now)
{
    uint8_t buf[1500];
    for (int round = 0; round < 8; round++) {
        ssize_t n;
        for (int i = 0; i < 16 && (n = out_of(client, buf, sizeof(buf), now)) > 0; i++) {
            lwq_conn *c = NULL;
            (void)lwq_server_recv(srv, &path, buf, (size_t)n, 0, now, &c, NULL);
            if (c && !sc)
                sc = c;
        }
        lwq_path rp;
        while ((n = lwq_server_send(srv, &rp, buf, sizeof(buf), now)) > 0)
            (void)lwq_conn_recv(client, &path, buf, (size_t)n, 0, now);
        for (int i = 0; sc && i < 16 && (n = out_of(sc, buf, sizeof(buf), now)) > 0; i++)
            (void)lwq_conn_recv(client, &path, buf, (size_t)n, 0, now);
        now += LWQ_MS;
    }
    return sc;
}

static int setup(void)
{
    lwq_config c, s;
    const char *why;
    lwq_config_init(&c, 0);
    lwq_config_init(&s, 1);
    c.rng = s.rng = &fuzz_rng;
    c.alpn = s.alpn = alpn;
    c.alpn_count = s.alpn_count = 1;
    c.insecure = 1;
    c.enable_0rtt = s.enable_0rtt = 1;
    s.ticket_key = ticket_key;
    s.cert_file = "tests/data/certs/server-ecdsa.pem";
    s.key_file = "tests/data/certs/server-ecdsa.key";
    if (lwq_context_new(&cctx, &c, &why) || lwq_context_new(&sctx, &s, &why))
        return -1;
    struct sockaddr_in *a = (struct sockaddr_in *)&path.remote;
    a->sin_family = AF_INET;
    a->sin_port = htons(5000);
    a->sin_addr.s_addr = htonl(0x0a000001);
    path.remote_len = sizeof(*a);
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

/* One packet of type t (0-RTT or 1-RTT) with the frames in data, sealed with k. */
static ssize_t seal_packet(lwq_conn *from, lwq_pkt_type t, const lwq_quic_keys *k, uint64_t pn, const uint8_t *data,
                           size_t n, uint8_t *out, size_t cap)
{
    lwq_pkt_hdr_out ho;
    memset(&ho, 0, sizeof(ho));
    const lwq_cid *dcid = lwq_cids_dcid(from);
    ho.type = t;
    ho.version = LWQ_VERSION_1;
    ho.dcid = dcid->id;
    ho.dcid_len = dcid->len;
    ho.scid = from->cids.local[0].cid.id;
    ho.scid_len = from->cids.local[0].cid.len;
    ho.pn = pn;
    ho.pn_len = 4;
    ho.payload_len = n < 4 ? 4 : n;
    ho.tag_len = LWQ_AEAD_TAG_LEN;
    ssize_t h = lwq_pkt_hdr_encode(out, cap, &ho);
    if (h < 0 || (size_t)h + ho.payload_len + LWQ_AEAD_TAG_LEN > cap)
        return -1;
    memset(out + h, 0, ho.payload_len);
    memcpy(out + h, data, n);
    return lwq_packet_protect(k, pn, out, (size_t)h, ho.payload_len, cap);
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
    ssize_t k = out_of(client, d, sizeof(d), now);
    if (k > 0)
        (void)lwq_server_recv(srv, &path, d, (size_t)k, 0, now, &sc, NULL);
    if (!client->early.has_keys)
        goto out;
    for (size_t off = 0, pn = 100; off < n && pn < 110; pn++) {
        size_t len = n - off > 1000 ? 1000 : n - off;
        ssize_t m = seal_packet(client, LWQ_PKT_0RTT, &client->early.keys, pn, data + off, len, d, sizeof(d));
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
        ssize_t m = seal_packet(sc, LWQ_PKT_1RTT, &sc->sp[LWQ_SPACE_APP].wk, pn, data + off, len, d, sizeof(d));
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
        rng_state = 0x2545f4914f6cdd1dull;
        if (setup())
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    rng_state = 0x9e3779b97f4a7c15ull ^ size;
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
