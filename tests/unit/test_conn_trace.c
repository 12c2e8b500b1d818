/* The structured trace (lwquic/trace.h) over a lossy pair: every packet is reported with a header that
 * decodes to the same packet number and with frames that decode; datagrams carry the bytes on the wire;
 * keys are installed and discarded per epoch in order; losses name a RFC 9002 rule. */
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "conn_pair.h"
#include "quic/frame.h"

typedef struct seen {
    unsigned packets[2][4], datagrams[2], lost, pto, bad_frames;
    unsigned keys_initial, keys_read[4], keys_write[4], discarded[4];
    size_t dgram_bytes[2], pkt_bytes[2];
    int order_ok;
} seen;

static seen sides[2];

static void on_trace(void *ud, const lwq_trace_event *ev)
{
    seen *s = &sides[ev->is_server];
    ck_assert_ptr_nonnull(ev->conn);
    switch (ev->kind) {
    case LWQ_TRACE_PACKET: {
        ck_assert_int_ge(ev->epoch, 0);
        ck_assert_int_le(ev->epoch, 3);
        ck_assert(ev->hdr_len > 0 && ev->wire_len >= ev->hdr_len + ev->payload_len);
        s->packets[ev->sent][ev->epoch]++;
        s->pkt_bytes[ev->sent] += ev->wire_len;
        /* the Initial keys come first, the others before their first packet */
        if (ev->epoch >= 2 && !(ev->sent ? s->keys_write[ev->epoch] : s->keys_read[ev->epoch]))
            s->order_ok = 0;
        const uint8_t *p = ev->payload;
        size_t n = ev->payload_len;
        lwq_ack_range ranges[64];
        while (n > 0) {
            lwq_frame f;
            memset(&f, 0, sizeof(f));
            f.ack_ranges = ranges;
            f.ack_ranges_cap = 64;
            ssize_t k = lwq_frame_decode(&f, p, n);
            if (k <= 0) {
                s->bad_frames++;
                break;
            }
            p += k;
            n -= (size_t)k;
        }
        break;
    }
    case LWQ_TRACE_DATAGRAM:
        ck_assert_ptr_nonnull(ev->payload);
        s->datagrams[ev->sent]++;
        s->dgram_bytes[ev->sent] += ev->payload_len;
        break;
    case LWQ_TRACE_KEYS:
        if (!strcmp(ev->detail, "initial"))
            s->keys_initial++;
        else if (!strcmp(ev->detail, "read"))
            s->keys_read[ev->epoch]++;
        else if (!strcmp(ev->detail, "write"))
            s->keys_write[ev->epoch]++;
        else if (!strcmp(ev->detail, "discarded"))
            s->discarded[ev->epoch]++;
        break;
    case LWQ_TRACE_LOST:
        ck_assert(!strcmp(ev->detail, "packet_threshold") || !strcmp(ev->detail, "time_threshold"));
        s->lost++;
        break;
    case LWQ_TRACE_PTO:
        s->pto++;
        break;
    case LWQ_TRACE_RETRY:
        break;
    }
}

static int got_all(pair *p)
{
    static uint8_t buf[70000];
    int fin = 0;
    lwq_event ev;
    while (p->server && lwq_conn_next_event(p->server, &ev) == 1)
        if (ev.type == LWQ_EV_STREAM_READABLE)
            while (lwq_stream_read(p->server, ev.stream_id, buf, sizeof(buf), &fin) > 0 || fin)
                if (fin)
                    return 1;
    return 0;
}

START_TEST(test_trace_of_a_lossy_connection)
{
    pair p;
    memset(sides, 0, sizeof(sides));
    sides[0].order_ok = sides[1].order_ok = 1;
    pair_init(&p, 7);
    p.ccfg.trace = p.scfg.trace = on_trace;
    p.loss_pct = 10;
    pair_start(&p);
    ck_assert(pair_run(&p, pair_established, 10 * LWQ_SEC));
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p.client, 1, &id), 0);
    static uint8_t data[60000];
    ck_assert_int_eq(lwq_stream_write(p.client, id, data, sizeof(data), 1), (ssize_t)sizeof(data));
    ck_assert(pair_run(&p, got_all, 60 * LWQ_SEC));
    ck_assert_int_eq(lwq_conn_close(p.client, 0, "done"), 0);
    pair_run(&p, NULL, 2 * LWQ_SEC);
    unsigned dropped = p.dropped;
    pair_free(&p);
    for (int i = 0; i < 2; i++) {
        seen *s = &sides[i];
        ck_assert_msg(s->order_ok, "side %d: a packet before its keys", i);
        ck_assert_uint_eq(s->bad_frames, 0);
        ck_assert_uint_eq(s->keys_initial, 1);
        ck_assert_uint_eq(s->keys_read[2], 1);
        ck_assert_uint_eq(s->keys_write[2], 1);
        ck_assert_uint_eq(s->keys_read[3], 1);
        ck_assert_uint_eq(s->keys_write[3], 1);
        ck_assert_uint_eq(s->discarded[0], 1);
        ck_assert_uint_eq(s->discarded[2], 1);
        ck_assert_uint_gt(s->packets[1][0], 0);
        ck_assert_uint_gt(s->packets[1][2], 0);
        ck_assert_uint_gt(s->packets[1][3], 10);
        ck_assert_uint_gt(s->packets[0][3], 10);
        /* every byte sent is in a datagram; coalesced packets make datagrams fewer than packets */
        ck_assert_uint_eq(s->pkt_bytes[1], s->dgram_bytes[1]);
        ck_assert_uint_le(s->datagrams[1], s->packets[1][0] + s->packets[1][2] + s->packets[1][3]);
    }
    ck_assert_msg(sides[0].lost + sides[1].lost > 0, "no loss: %u dropped, %u/%u datagrams, %u/%u PTOs", dropped,
                  sides[0].datagrams[1], sides[1].datagrams[1], sides[0].pto, sides[1].pto);
}
END_TEST

Suite *suite_conn_trace(void)
{
    Suite *s = suite_create("conn_trace");
    TCase *tc = lwq_test_tcase("conn_trace");
    tcase_add_test(tc, test_trace_of_a_lossy_connection);
    suite_add_tcase(s, tc);
    return s;
}
