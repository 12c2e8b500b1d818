/* Raw datagrams into a server and into a client: header parsing, demultiplexing, Version
 * Negotiation, stateless resets, connection creation and packet unprotection on garbage. The input
 * is a sequence of [u16 length][bit 15: to the client][datagram] records. */
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "quic/conn.h"

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
static lwq_context *cctx, *sctx;

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
    s.cert_file = "tests/data/certs/server-ecdsa.pem";
    s.key_file = "tests/data/certs/server-ecdsa.key";
    return lwq_context_new(&cctx, &c, &why) || lwq_context_new(&sctx, &s, &why) ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sctx && setup())
        abort();
    rng_state = 0x2545f4914f6cdd1dull;
    lwq_server *srv;
    lwq_conn *cl;
    lwq_path path;
    memset(&path, 0, sizeof(path));
    lwq_tstamp now = LWQ_SEC;
    lwq_server_limits lim = {.max_connections = 4, .max_handshakes = 4};
    if (lwq_server_new(&srv, sctx, &lim) || lwq_conn_client_new(&cl, cctx, &path, NULL, 0, NULL, 0, now))
        abort();
    uint8_t buf[1500];
    size_t seg;
    uint8_t ecn;
    for (int i = 0; i < 32 && size >= 2; i++) {
        uint16_t hdr = lwq_get16(data);
        size_t n = hdr & 0x7fff;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        lwq_conn *c = NULL;
        if (hdr & 0x8000)
            lwq_conn_recv(cl, &path, data, n, 0, now);
        else
            lwq_server_recv(srv, &path, data, n, 0, now, &c, NULL);
        while (lwq_server_send(srv, &path, buf, sizeof(buf), now) > 0)
            ;
        if (c)
            while (lwq_conn_send(c, &path, buf, sizeof(buf), 1, &seg, &ecn, now) > 0)
                ;
        while (lwq_conn_send(cl, &path, buf, sizeof(buf), 1, &seg, &ecn, now) > 0)
            ;
        data += n;
        size -= n;
        now += 7 * LWQ_MS;
        lwq_conn_handle_timeout(cl, now);
    }
    lwq_conn_del(cl);
    lwq_server_del(srv);
    return 0;
}
