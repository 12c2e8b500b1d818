/* libFuzzer target: one lwq_h3_conn fed stream bytes. Byte 0: bit 0 server (else a client that
 * submitted requests on streams 0, 4 and 8), bits 1-7 choose the limits. Then records:
 *   sel (bits 0-2 stream: request 0/4/8, peer control, peer QPACK encoder, peer QPACK decoder, an
 *   unknown uni stream, a server bidi stream; bit 3 fin; bit 4 RESET_STREAM; bit 5 STOP_SENDING;
 *   bit 6 read the bodies; bit 7 GOAWAY), u16 length, bytes.
 * After each record events are drained (a server answers every request), outputs and actions are
 * taken. Nothing may crash or leak; a connection error must stay sticky. */
#include <stdlib.h>
#include <string.h>
#include "lwquic/h3.h"

static void drain(lwq_h3_conn *h, int server, int read)
{
    lwq_h3_event ev;
    lwq_h3_action a;
    uint8_t buf[512];
    while (lwq_h3_conn_next_event(h, &ev)) {
        if (ev.type == LWQ_H3_EV_REQUEST && server) {
            lwq_h3_field f = {(const uint8_t *)"server", 6, (const uint8_t *)"fuzz", 4, 0};
            lwq_h3_body b = {(const uint8_t *)"hello", 5, NULL, NULL};
            lwq_h3_conn_submit_info(h, ev.stream_id, 103, NULL, 0);
            lwq_h3_conn_submit_response(h, ev.stream_id, 200, &f, 1, &b);
            lwq_h3_conn_submit_trailers(h, ev.stream_id, &f, 1);
        }
        if (ev.fields)
            for (size_t i = 0; i < ev.field_count; i++)
                if (ev.fields[i].name_len && !ev.fields[i].name)
                    abort();
        if (read && (ev.type == LWQ_H3_EV_DATA || ev.type == LWQ_H3_EV_END))
            while (lwq_h3_conn_read_body(h, ev.stream_id, buf, sizeof(buf)) > 0)
                ;
    }
    int64_t id;
    const uint8_t *p;
    size_t len;
    int fin;
    for (int g = 0; g < 1000 && lwq_h3_conn_next_output(h, &id, &p, &len, &fin); g++)
        lwq_h3_conn_output_done(h, id, len, 0);
    while (lwq_h3_conn_next_action(h, &a))
        if (a.type == LWQ_H3_ACT_PRIORITY && a.urgency > 7)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int server = data[0] & 1;
    lwq_h3_config cfg;
    lwq_h3_config_init(&cfg);
    if (data[0] & 2) {
        cfg.max_body_buffer = 100;
        cfg.max_streams = 2;
        cfg.max_field_section_size = 120;
        cfg.qpack_max_table_capacity = 0;
    }
    lwq_h3_conn *h;
    if (lwq_h3_conn_new(&h, server, &cfg) != 0)
        return 0;
    const int64_t sids[2][8] = {{0, 4, 8, 3, 7, 11, 15, 1}, {0, 4, 8, 2, 6, 10, 14, 1}};
    if (server)
        lwq_h3_conn_bind_streams(h, 3, 7, 11);
    else {
        lwq_h3_conn_bind_streams(h, 2, 6, 10);
        for (int64_t id = 0; id <= 8; id += 4) {
            lwq_h3_request r = {"GET", "https", "example.com", "/", NULL, 0, NULL, 3, 0};
            lwq_h3_conn_submit_request(h, id, &r);
        }
    }
    drain(h, server, 1);
    uint64_t err = 0;
    for (size_t off = 1; off + 3 <= size;) {
        uint8_t sel = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        int64_t id = sids[server][sel & 7];
        if (sel & 0x10)
            lwq_h3_conn_stream_reset(h, id, 0x100 + data[off - 1] % 0x20);
        else if (sel & 0x20)
            lwq_h3_conn_stop_sending(h, id, 0x10c);
        else {
            size_t w = lwq_h3_conn_recv_window(h, id);
            size_t k = len < w ? len : w;
            ssize_t r = lwq_h3_conn_recv_stream(h, id, data + off, k, (sel & 8) && k == len);
            if (r >= 0 && (size_t)r > k)
                abort();
        }
        if (sel & 0x80)
            lwq_h3_conn_goaway(h);
        off += len;
        drain(h, server, sel & 0x40 || !(data[0] & 4));
        uint64_t e = lwq_h3_conn_error(h, NULL);
        if (err && e != err)
            abort();
        err = e;
    }
    lwq_h3_conn_del(h);
    return 0;
}
