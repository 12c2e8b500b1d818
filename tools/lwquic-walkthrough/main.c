/* lwquic-walkthrough DIR: docs/walkthrough.md from a recorded connection. DIR holds record.txt (the
 * client's datagrams and key events, lwquic-client --record) and keys.log (its NSS key log). Every
 * packet is decrypted again here with the library's packet protection and explained by the --explain
 * engine, so the document depends on those two files only and regenerates byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/explain.h"
#include "common/explain_int.h"
#include "quic/packet.h"
#include "quic/protect.h"
#include "tls/keysched.h"

#define LINE_MAX_LEN 8192

typedef struct secrets {
    uint8_t s[4][64]; /* client hs, server hs, client app, server app */
    size_t len[4];
} secrets;

static const char *const labels[4] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};

static size_t unhex(uint8_t *out, size_t cap, const char *h)
{
    size_t n = 0;
    unsigned v;
    while (n < cap && sscanf(h + 2 * n, "%2x", &v) == 1)
        out[n++] = (uint8_t)v;
    return n;
}

static int read_keys(const char *path, secrets *k)
{
    FILE *f = fopen(path, "r");
    char line[512], label[64], rnd[80], sec[160];
    if (!f)
        return -1;
    memset(k, 0, sizeof(*k));
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %79s %159s", label, rnd, sec) == 3)
            for (int i = 0; i < 4; i++)
                if (!strcmp(label, labels[i]))
                    k->len[i] = unhex(k->s[i], sizeof(k->s[i]), sec);
    fclose(f);
    return 0;
}

/* Keys of [writer: 0 client, 1 server][epoch 0 Initial, 2 Handshake, 3 1-RTT]. */
typedef struct keyset {
    lwq_quic_keys k[2][4];
    int have[2][4];
    lwq_suite suite;
} keyset;

static void hexdump(FILE *o, const uint8_t *p, size_t n)
{
    fputs("```\n", o);
    for (size_t i = 0; i < n; i += 16) {
        fprintf(o, "%04zx ", i);
        for (size_t k = i; k < i + 16 && k < n; k++)
            fprintf(o, " %02x", p[k]);
        fputc('\n', o);
    }
    fputs("```\n", o);
}

/* The engine's lines for one event, as a text block. */
static void explained(explain *ex, FILE *o, const lwq_trace_event *ev)
{
    char *buf = NULL;
    size_t len = 0;
    ex->out = open_memstream(&buf, &len);
    if (!ex->out)
        return;
    explain_event(ex, ev);
    fclose(ex->out);
    if (len)
        fprintf(o, "```text\n%s```\n", buf);
    free(buf);
}

static int try_keys(keyset *ks, int writer, int epoch, const uint8_t *secret, size_t len, const uint8_t *pkt,
                    size_t pkt_len, size_t pn_offset)
{
    static const lwq_suite order[] = {LWQ_SUITE_AES128GCM_SHA256, LWQ_SUITE_CHACHA20POLY1305_SHA256};
    uint8_t tmp[LINE_MAX_LEN];
    for (size_t i = 0; i < 2; i++) {
        lwq_suite s = len == 48 ? LWQ_SUITE_AES256GCM_SHA384 : order[i];
        lwq_quic_keys k;
        lwq_unprotected u;
        if (lwq_quic_keys_init(&k, LWQ_QUIC_V1, s, secret))
            continue;
        memcpy(tmp, pkt, pkt_len);
        if (!lwq_packet_unprotect(&k, tmp, pkt_len, pn_offset, LWQ_PN_NONE, &u)) {
            ks->k[writer][epoch] = k;
            ks->have[writer][epoch] = 1;
            ks->suite = s;
            return 0;
        }
        lwq_quic_keys_free(&k);
        if (len == 48)
            break;
    }
    return -1;
}

static int keys_for(keyset *ks, const secrets *sc, int writer, int epoch, const uint8_t *pkt, size_t pkt_len,
                    size_t pn_offset)
{
    if (ks->have[writer][epoch])
        return 0;
    int i = (epoch == 2 ? 0 : 2) + writer;
    return epoch == 0 || epoch == 1 || !sc->len[i]
               ? -1
               : try_keys(ks, writer, epoch, sc->s[i], sc->len[i], pkt, pkt_len, pn_offset);
}

static const char *const epoch_names[] = {"Initial", "0-RTT", "Handshake", "1-RTT"};
static const char conn_id = 0;

/* A key, loss or probe event of the record, shown after the packet it followed. */
typedef struct note {
    int sent, epoch, used;
    uint64_t pn;
    char line[160];
} note;

static note notes[64];
static size_t nnotes;

static void event_line(explain *ex, FILE *o, const char *line)
{
    int epoch;
    unsigned long long a, b;
    char word[64];
    lwq_trace_event ev = {.conn = &conn_id};
    if (sscanf(line, "keys %d %63s", &epoch, word) == 2) {
        ev.kind = LWQ_TRACE_KEYS;
        ev.epoch = epoch;
        ev.detail = word;
    } else if (sscanf(line, "lost %d %llu %63s %llu", &epoch, &a, word, &b) == 4) {
        ev.kind = LWQ_TRACE_LOST;
        ev.epoch = epoch;
        ev.pn = a;
        ev.detail = word;
        ev.value = b;
    } else if (sscanf(line, "pto %d %llu", &epoch, &a) == 2) {
        ev.kind = LWQ_TRACE_PTO;
        ev.epoch = epoch;
        ev.value = a;
    } else {
        return;
    }
    fputc('\n', o);
    explained(ex, o, &ev);
}

static void notes_after(explain *ex, FILE *o, int sent, int epoch, uint64_t pn)
{
    for (size_t i = 0; i < nnotes; i++)
        if (!notes[i].used &&
            (pn == LWQ_PN_NONE || (notes[i].sent == sent && notes[i].epoch == epoch && notes[i].pn == pn))) {
            notes[i].used = 1;
            event_line(ex, o, notes[i].line);
        }
}

static void datagram(FILE *o, explain *ex, keyset *ks, const secrets *sc, int sent, uint8_t *d, size_t n, int no,
                     uint64_t largest[2][4], size_t cid_len[2])
{
    lwq_trace_event ev = {.kind = LWQ_TRACE_DATAGRAM, .conn = &conn_id, .sent = sent, .payload = d, .payload_len = n};
    fprintf(o, "\n## %d. %s, a UDP datagram of %zu bytes\n\n", no, sent ? "client → server" : "server → client", n);
    fputs("As on the wire, protected:\n\n", o);
    hexdump(o, d, n);
    if (!sent)
        explained(ex, o, &ev);
    int writer = sent ? 0 : 1;
    for (size_t off = 0; off < n;) {
        lwq_pkt_hdr h;
        ssize_t k = lwq_pkt_hdr_decode(&h, d + off, n - off, cid_len[writer ? 0 : 1]);
        if (k < 0) {
            fprintf(o, "\nThe remaining %zu bytes do not start a packet.\n", n - off);
            break;
        }
        int epoch = h.type == LWQ_PKT_INITIAL ? 0 : h.type == LWQ_PKT_0RTT ? 1 : h.type == LWQ_PKT_HANDSHAKE ? 2 : 3;
        uint8_t *pkt = d + off;
        if (epoch == 0 && !ks->have[0][0]) {
            uint8_t cs[32], ss[32];
            lwq_quic_initial_secrets(LWQ_QUIC_V1, h.dcid, h.dcid_len, cs, ss); /* the client's first DCID */
            lwq_quic_keys_init(&ks->k[0][0], LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, cs);
            lwq_quic_keys_init(&ks->k[1][0], LWQ_QUIC_V1, LWQ_SUITE_AES128GCM_SHA256, ss);
            ks->have[0][0] = ks->have[1][0] = 1;
        }
        if (h.type == LWQ_PKT_INITIAL && h.scid_len)
            cid_len[writer] = h.scid_len;
        lwq_unprotected u;
        if (keys_for(ks, sc, writer, epoch, pkt, h.pkt_len, h.pn_offset) ||
            lwq_packet_unprotect(&ks->k[writer][epoch], pkt, h.pkt_len, h.pn_offset, largest[writer][epoch], &u)) {
            fprintf(o, "\n### A %s packet that these keys do not open (%zu bytes)\n", epoch_names[epoch], h.pkt_len);
            off += h.pkt_len;
            continue;
        }
        if (largest[writer][epoch] == LWQ_PN_NONE || u.pn > largest[writer][epoch])
            largest[writer][epoch] = u.pn;
        fprintf(o, "\n### %s packet %llu (%zu bytes at offset %zu of the datagram)\n\n", epoch_names[epoch],
                (unsigned long long)u.pn, h.pkt_len, off);
        fprintf(o,
                "Header with header protection removed (the first byte's low bits and the %zu-byte packet number "
                "were masked, RFC 9001 §5.4.1):\n\n",
                u.pn_len);
        hexdump(o, pkt, u.payload_off);
        size_t shown = u.payload_len;
        while (shown > 0 && pkt[u.payload_off + shown - 1] == 0)
            shown--;
        fprintf(o, "\nPayload decrypted with %s (RFC 9001 §5.3), %zu bytes of frames%s:\n\n",
                epoch == 0   ? "the Initial keys"
                : epoch == 2 ? "the Handshake keys"
                             : "the 1-RTT keys",
                u.payload_len, shown + 8 < u.payload_len ? "; the zero bytes of PADDING at the end are left out" : "");
        if (shown + 8 >= u.payload_len)
            shown = u.payload_len;
        if (shown)
            hexdump(o, pkt + u.payload_off, shown);
        else
            fputs("(PADDING only)\n", o);
        fputs("\nWhat it says:\n\n", o);
        lwq_trace_event pe = {.kind = LWQ_TRACE_PACKET,
                              .conn = &conn_id,
                              .sent = sent,
                              .epoch = epoch,
                              .pn = u.pn,
                              .hdr = pkt,
                              .hdr_len = u.payload_off,
                              .payload = pkt + u.payload_off,
                              .payload_len = u.payload_len,
                              .wire_len = h.pkt_len};
        explained(ex, o, &pe);
        notes_after(ex, o, sent, epoch, u.pn);
        off += h.pkt_len;
    }
    if (sent) {
        fputc('\n', o);
        explained(ex, o, &ev);
    }
    notes_after(ex, o, 0, 0, LWQ_PN_NONE); /* events after packets that did not open */
    nnotes = 0;
}

static const char intro[] =
    "# A QUIC connection, byte by byte\n\n"
    "<!-- Generated by `make walkthrough` (build/bin/lwquic-walkthrough tests/data/walkthrough); edit the\n"
    "     generator, not this file. `make check` regenerates it and fails when it differs. -->\n\n"
    "This is one real connection between `lwquic-client` and `lwquic-server` on loopback: the client\n"
    "fetches `/index.html` over HTTP/3 and closes. `tests/data/walkthrough/record.txt` holds every UDP\n"
    "datagram as the client sent and received it, with the moments it installed and discarded keys;\n"
    "`tests/data/walkthrough/keys.log` is the client's NSS key log of the same run (the TLS secrets,\n"
    "published here so anyone can decrypt the capture: never reuse them). Each packet below is decrypted\n"
    "again from those two files with lwquic's own packet protection code and explained by the same\n"
    "engine as `lwquic-client --explain`, with the RFC section behind every line. It was recorded with\n"
    "`sh scripts/walkthrough-record.sh`.\n\n"
    "How to read it: a datagram is shown as on the wire, then each QUIC packet in it (several may be\n"
    "coalesced, RFC 9000 §12.2) with its header after header protection is removed, its decrypted\n"
    "payload, and what the frames in it mean. The client's view: \"sent\" is client to server.\n";

static const char outro[] =
    "\n## Afterwards\n\n"
    "This connection is too short for congestion control to show. For a longer one, over a path that loses\n"
    "packets, [performance.md](performance.md#pictures-lwquic-qlog-plot) has the picture `lwquic-qlog plot`\n"
    "draws from a qlog: packets sent, acknowledged and lost, the congestion window, RTTs and pacing rate.\n"
    "To watch any connection the way this page reads one, run `lwquic-client --explain` (or\n"
    "`lwquic-server --explain`); `--qlog-dir DIR` writes qlog files that qvis opens.\n";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lwquic-walkthrough DIR   (DIR/record.txt and DIR/keys.log; markdown on stdout)\n");
        return 2;
    }
    char path[1024];
    secrets sc;
    snprintf(path, sizeof(path), "%s/keys.log", argv[1]);
    if (read_keys(path, &sc)) {
        perror(path);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/record.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    static explain ex;
    static keyset ks;
    static char line[2 * LINE_MAX_LEN + 64];
    static uint8_t d[LINE_MAX_LEN];
    uint64_t largest[2][4];
    size_t cid_len[2] = {8, 8};
    memset(largest, 0xff, sizeof(largest));
    FILE *o = stdout;
    fputs(intro, o);
    static char pend[sizeof(line)];
    int no = 0, has_pend = 0, have_last = 0, last_sent = 0, last_epoch = 0;
    unsigned long long last_pn = 0;
    for (int eof = 0; !eof;) {
        eof = !fgets(line, sizeof(line), f);
        int sent_pkt = !eof && !strncmp(line, "pkt sent", 8);
        if (has_pend && (eof || !strncmp(line, "dgram ", 6) || sent_pkt)) {
            size_t n = unhex(d, sizeof(d), pend + 11);
            datagram(o, &ex, &ks, &sc, 0, d, n, ++no, largest, cid_len);
            has_pend = have_last = 0;
        }
        if (eof)
            break;
        char dir[8];
        if (!strncmp(line, "dgram recv ", 11)) {
            memcpy(pend, line, sizeof(pend));
            has_pend = 1;
            have_last = 0;
        } else if (!strncmp(line, "dgram sent ", 11)) {
            size_t n = unhex(d, sizeof(d), line + 11);
            datagram(o, &ex, &ks, &sc, 1, d, n, ++no, largest, cid_len);
            have_last = 0;
        } else if (sscanf(line, "pkt %7s %d %llu", dir, &last_epoch, &last_pn) == 3) {
            last_sent = !strcmp(dir, "sent");
            have_last = 1;
        } else if (have_last && nnotes < sizeof(notes) / sizeof(notes[0])) {
            note *nt = &notes[nnotes++];
            nt->sent = last_sent;
            nt->epoch = last_epoch;
            nt->pn = last_pn;
            nt->used = 0;
            memcpy(nt->line, line, sizeof(nt->line) - 1); /* event lines are short */
            nt->line[sizeof(nt->line) - 1] = 0;
        } else {
            event_line(&ex, o, line);
        }
    }
    fclose(f);
    fputs(outro, o);
    for (int w = 0; w < 2; w++)
        for (int e = 0; e < 4; e++)
            if (ks.have[w][e])
                lwq_quic_keys_free(&ks.k[w][e]);
    return fflush(o) ? 1 : 0;
}
