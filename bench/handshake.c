/* CPU time of the TLS 1.3 handshake (src/tls) per certificate type, client and
 * server side apart, full (X25519, verification against tests/data/certs/ca.pem)
 * and resumed with a ticket. In-memory, no QUIC. Run by bench/handshake.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tls/tls.h"
#include "io/tls_files.h"

#define MIN_SECONDS 0.5

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct side {
    lwq_tls *tls;
    double cpu;
    uint8_t ticket[4096];
    size_t ticket_len;
    int complete;
} side;

static void die(const char *what)
{
    fprintf(stderr, "bench/handshake: %s failed\n", what);
    exit(1);
}

static void drain(side *s)
{
    lwq_tls_event ev;
    double t0 = cpu_now();
    while (lwq_tls_next_event(s->tls, &ev) == 0) {
        if (ev.type == LWQ_TLS_EV_HANDSHAKE_COMPLETE)
            s->complete = 1;
        if (ev.type == LWQ_TLS_EV_SESSION_TICKET && ev.blob_len <= sizeof(s->ticket)) {
            memcpy(s->ticket, ev.blob, ev.blob_len);
            s->ticket_len = ev.blob_len;
        }
    }
    s->cpu += cpu_now() - t0;
}

/* Moves from's output into to, charging each side for its own calls. */
static int pump(side *from, side *to)
{
    int moved = 0;
    for (int e = 0; e < LWQ_TLS_EPOCHS; e++) {
        const uint8_t *p;
        size_t n;
        lwq_tls_output(from->tls, (lwq_tls_epoch)e, &p, &n);
        if (!n)
            continue;
        double t0 = cpu_now();
        if (lwq_tls_recv(to->tls, (lwq_tls_epoch)e, p, n))
            die(lwq_tls_error_reason(to->tls));
        to->cpu += cpu_now() - t0;
        lwq_tls_output_consume(from->tls, (lwq_tls_epoch)e, n);
        drain(to);
        moved = 1;
    }
    return moved;
}

static void handshake(const lwq_tls_config *cc, const lwq_tls_config *sc, side *c, side *s)
{
    double t0 = cpu_now();
    if (lwq_tls_new(&c->tls, cc) || lwq_tls_set_transport_params(c->tls, (const uint8_t *)"tp", 2) ||
        lwq_tls_start(c->tls))
        die("client start");
    c->cpu += cpu_now() - t0;
    t0 = cpu_now();
    if (lwq_tls_new(&s->tls, sc) || lwq_tls_set_transport_params(s->tls, (const uint8_t *)"tp", 2))
        die("server setup");
    s->cpu += cpu_now() - t0;
    while (pump(c, s) | pump(s, c))
        ;
    if (!c->complete || !s->complete)
        die("handshake");
    t0 = cpu_now();
    lwq_tls_del(c->tls);
    c->cpu += cpu_now() - t0;
    t0 = cpu_now();
    lwq_tls_del(s->tls);
    s->cpu += cpu_now() - t0;
}

static void run(const char *label, const lwq_tls_config *cc, const lwq_tls_config *sc, uint8_t *ticket,
                size_t *ticket_len)
{
    side c, s;
    double ccpu = 0, scpu = 0;
    int n = 0;
    do {
        memset(&c, 0, sizeof(c));
        memset(&s, 0, sizeof(s));
        handshake(cc, sc, &c, &s);
        ccpu += c.cpu;
        scpu += s.cpu;
        n++;
        if (ticket && c.ticket_len) {
            memcpy(ticket, c.ticket, c.ticket_len);
            *ticket_len = c.ticket_len;
        }
    } while (ccpu + scpu < MIN_SECONDS);
    printf("%-40s client %8.1f us  server %8.1f us  total %8.1f us  (%d runs)\n", label, 1e6 * ccpu / n, 1e6 * scpu / n,
           1e6 * (ccpu + scpu) / n, n);
}

int main(void)
{
    static const char *certs[][3] = {{"ECDSA P-256", "server-ecdsa.pem", "server-ecdsa.key"},
                                     {"RSA-2048 (PSS)", "server-rsa.pem", "server-rsa.key"},
                                     {"Ed25519", "server-ed25519.pem", "server-ed25519.key"}};
    static const char *alpn[] = {"h3"};
    static const uint8_t ticket_key[32] = {42};
    lwq_trust *trust;
    if (lwq_trust_new(&trust, NULL) || lwq_trust_add_file(trust, "tests/data/certs/ca.pem") != 1)
        die("loading tests/data/certs/ca.pem");
    printf("== TLS 1.3 handshake CPU time per connection (X25519, default suites, verification on)\n");
    for (int i = 0; i < 3; i++) {
        char path[256];
        lwq_cert_chain chain;
        lwq_privkey *key;
        snprintf(path, sizeof(path), "tests/data/certs/%s", certs[i][1]);
        if (lwq_cert_chain_load_file(&chain, path, NULL))
            die(path);
        snprintf(path, sizeof(path), "tests/data/certs/%s", certs[i][2]);
        if (lwq_privkey_load_file(&key, path, NULL))
            die(path);
        lwq_tls_config cc, sc;
        memset(&cc, 0, sizeof(cc));
        cc.alpn = alpn;
        cc.alpn_count = 1;
        cc.server_name = "localhost";
        cc.trust = trust;
        sc = cc;
        sc.is_server = 1;
        sc.cert_chain = &chain;
        sc.key = key;
        sc.ticket_key = ticket_key;
        char label[64];
        uint8_t ticket[4096];
        size_t ticket_len = 0;
        snprintf(label, sizeof(label), "full, %s", certs[i][0]);
        run(label, &cc, &sc, ticket, &ticket_len);
        cc.session = ticket;
        cc.session_len = ticket_len;
        snprintf(label, sizeof(label), "resumed (PSK+X25519), %s", certs[i][0]);
        run(label, &cc, &sc, NULL, NULL);
        lwq_cert_chain_free(&chain, NULL);
        lwq_privkey_del(key, NULL);
    }
    lwq_trust_del(trust);
    return 0;
}
