#include "quic/tparams.h"
#include "quic/varint.h"
#include "lwquic/quic_errors.h"
#include "base/mem.h"

#define STREAMS_MAX (UINT64_C(1) << 60)

void lwq_tparams_init(lwq_tparams *tp)
{
    memset(tp, 0, sizeof(*tp));
    tp->max_udp_payload_size = LWQ_TP_DEFAULT_MAX_UDP_PAYLOAD;
    tp->ack_delay_exponent = LWQ_TP_DEFAULT_ACK_DELAY_EXPONENT;
    tp->max_ack_delay = LWQ_TP_DEFAULT_MAX_ACK_DELAY;
    tp->active_connection_id_limit = LWQ_TP_DEFAULT_ACTIVE_CID_LIMIT;
}

/* The integer parameters, by id, as pointers into a tparams. */
static uint64_t *int_param(lwq_tparams *tp, uint64_t id)
{
    switch (id) {
    case LWQ_TP_MAX_IDLE_TIMEOUT:
        return &tp->max_idle_timeout;
    case LWQ_TP_MAX_UDP_PAYLOAD_SIZE:
        return &tp->max_udp_payload_size;
    case LWQ_TP_INITIAL_MAX_DATA:
        return &tp->initial_max_data;
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
        return &tp->initial_max_stream_data_bidi_local;
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
        return &tp->initial_max_stream_data_bidi_remote;
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_UNI:
        return &tp->initial_max_stream_data_uni;
    case LWQ_TP_INITIAL_MAX_STREAMS_BIDI:
        return &tp->initial_max_streams_bidi;
    case LWQ_TP_INITIAL_MAX_STREAMS_UNI:
        return &tp->initial_max_streams_uni;
    case LWQ_TP_ACK_DELAY_EXPONENT:
        return &tp->ack_delay_exponent;
    case LWQ_TP_MAX_ACK_DELAY:
        return &tp->max_ack_delay;
    case LWQ_TP_ACTIVE_CONNECTION_ID_LIMIT:
        return &tp->active_connection_id_limit;
    case LWQ_TP_MAX_DATAGRAM_FRAME_SIZE:
        return &tp->max_datagram_frame_size;
    default:
        return NULL;
    }
}

static const uint8_t int_ids[] = {
    LWQ_TP_MAX_IDLE_TIMEOUT,
    LWQ_TP_MAX_UDP_PAYLOAD_SIZE,
    LWQ_TP_INITIAL_MAX_DATA,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
    LWQ_TP_INITIAL_MAX_STREAM_DATA_UNI,
    LWQ_TP_INITIAL_MAX_STREAMS_BIDI,
    LWQ_TP_INITIAL_MAX_STREAMS_UNI,
    LWQ_TP_ACK_DELAY_EXPONENT,
    LWQ_TP_MAX_ACK_DELAY,
    LWQ_TP_ACTIVE_CONNECTION_ID_LIMIT,
};

static uint64_t int_default(uint64_t id)
{
    lwq_tparams d;
    lwq_tparams_init(&d);
    return *int_param(&d, id);
}

/* RFC 9000 §18.2 value ranges; the id at fault or -1. */
static int64_t check_ranges(const lwq_tparams *tp)
{
    if (tp->max_udp_payload_size < 1200)
        return LWQ_TP_MAX_UDP_PAYLOAD_SIZE;
    if (tp->ack_delay_exponent > 20)
        return LWQ_TP_ACK_DELAY_EXPONENT;
    if (tp->max_ack_delay >= (1u << 14))
        return LWQ_TP_MAX_ACK_DELAY;
    if (tp->active_connection_id_limit < 2)
        return LWQ_TP_ACTIVE_CONNECTION_ID_LIMIT;
    if (tp->initial_max_streams_bidi > STREAMS_MAX)
        return LWQ_TP_INITIAL_MAX_STREAMS_BIDI;
    if (tp->initial_max_streams_uni > STREAMS_MAX)
        return LWQ_TP_INITIAL_MAX_STREAMS_UNI;
    /* RFC 9000 §18.2: a zero-length CID in preferred_address is invalid */
    if (tp->has_preferred_address && (tp->preferred_address.cid.len == 0 || tp->preferred_address.cid.len > 20))
        return LWQ_TP_PREFERRED_ADDRESS;
    return -1;
}

/* An output cursor that keeps counting past cap, so one routine gives both the length and the bytes. */
typedef struct writer {
    uint8_t *p;
    size_t cap, len;
} writer;

static void put(writer *w, const void *d, size_t n)
{
    if (w->p && w->len + n <= w->cap && n)
        memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void put_varint(writer *w, uint64_t v)
{
    uint8_t b[8];
    ssize_t k = lwq_varint_encode(b, sizeof(b), v);
    put(w, b, (size_t)k);
}

static void put_param(writer *w, uint64_t id, const void *d, size_t n)
{
    put_varint(w, id);
    put_varint(w, n);
    put(w, d, n);
}

static void put_int_param(writer *w, uint64_t id, uint64_t v)
{
    uint8_t b[8];
    ssize_t k = lwq_varint_encode(b, sizeof(b), v);
    put_param(w, id, b, (size_t)k);
}

static int write_all(writer *w, const lwq_tparams *tp, int is_server)
{
    if (check_ranges(tp) >= 0 || tp->n_available_versions > LWQ_TP_VERSIONS_MAX)
        return LWQ_ERR_INVAL;
    /* RFC 9000 §18.2: server-only parameters */
    if (!is_server && (tp->has_original_dcid || tp->has_retry_scid || tp->has_reset_token || tp->has_preferred_address))
        return LWQ_ERR_INVAL;
    for (size_t i = 0; i < sizeof(int_ids); i++) {
        uint64_t v = *int_param((lwq_tparams *)tp, int_ids[i]);
        if (v > LWQ_VARINT_MAX)
            return LWQ_ERR_INVAL;
        if (v != int_default(int_ids[i]))
            put_int_param(w, int_ids[i], v);
    }
    if (tp->has_original_dcid)
        put_param(w, LWQ_TP_ORIGINAL_DCID, tp->original_dcid.id, tp->original_dcid.len);
    if (tp->has_reset_token)
        put_param(w, LWQ_TP_STATELESS_RESET_TOKEN, tp->reset_token, LWQ_RESET_TOKEN_LEN);
    if (tp->disable_active_migration)
        put_param(w, LWQ_TP_DISABLE_ACTIVE_MIGRATION, NULL, 0);
    if (tp->has_preferred_address) {
        const lwq_preferred_address *pa = &tp->preferred_address;
        uint8_t b[4 + 2 + 16 + 2 + 1 + LWQ_CID_MAX + LWQ_RESET_TOKEN_LEN], *q = b;
        memcpy(q, pa->ipv4, 4);
        q = lwq_put16(q + 4, pa->ipv4_port);
        memcpy(q, pa->ipv6, 16);
        q = lwq_put16(q + 16, pa->ipv6_port);
        *q++ = pa->cid.len;
        memcpy(q, pa->cid.id, pa->cid.len);
        q += pa->cid.len;
        memcpy(q, pa->reset_token, LWQ_RESET_TOKEN_LEN);
        q += LWQ_RESET_TOKEN_LEN;
        put_param(w, LWQ_TP_PREFERRED_ADDRESS, b, (size_t)(q - b));
    }
    if (tp->has_initial_scid)
        put_param(w, LWQ_TP_INITIAL_SCID, tp->initial_scid.id, tp->initial_scid.len);
    if (tp->has_retry_scid)
        put_param(w, LWQ_TP_RETRY_SCID, tp->retry_scid.id, tp->retry_scid.len);
    if (tp->has_version_info) {
        uint8_t b[4 * (1 + LWQ_TP_VERSIONS_MAX)];
        if (tp->chosen_version == 0)
            return LWQ_ERR_INVAL;
        lwq_put32(b, tp->chosen_version);
        for (size_t i = 0; i < tp->n_available_versions; i++)
            lwq_put32(b + 4 + 4 * i, tp->available_versions[i]);
        put_param(w, LWQ_TP_VERSION_INFORMATION, b, 4 + 4 * tp->n_available_versions);
    }
    if (tp->has_max_datagram_frame_size) {
        if (tp->max_datagram_frame_size > LWQ_VARINT_MAX)
            return LWQ_ERR_INVAL;
        put_int_param(w, LWQ_TP_MAX_DATAGRAM_FRAME_SIZE, tp->max_datagram_frame_size);
    }
    if (tp->grease_quic_bit)
        put_param(w, LWQ_TP_GREASE_QUIC_BIT, NULL, 0);
    return 0;
}

size_t lwq_tparams_encoded_len(const lwq_tparams *tp, int is_server)
{
    writer w = {NULL, 0, 0};
    return write_all(&w, tp, is_server) < 0 ? 0 : w.len;
}

ssize_t lwq_tparams_encode(uint8_t *out, size_t cap, const lwq_tparams *tp, int is_server)
{
    writer w = {NULL, 0, 0};
    int err = write_all(&w, tp, is_server);
    if (err < 0)
        return err;
    if (w.len > cap)
        return LWQ_ERR_NOBUF;
    w.p = out;
    w.cap = cap;
    w.len = 0;
    write_all(&w, tp, is_server);
    return (ssize_t)w.len;
}

static ssize_t fail(lwq_tparams *tp, uint64_t id)
{
    tp->wire_error = LWQ_QUIC_ERR_TRANSPORT_PARAMETER_ERROR;
    tp->error_param = id;
    return LWQ_ERR_PROTO;
}

static int decode_cid(lwq_cid *c, const uint8_t *d, size_t len)
{
    return lwq_cid_set(c, d, len);
}

/* RFC 9000 §18.2 */
static int decode_preferred_address(lwq_preferred_address *pa, const uint8_t *d, size_t len)
{
    if (len < 4 + 2 + 16 + 2 + 1)
        return LWQ_ERR_DECODE;
    memcpy(pa->ipv4, d, 4);
    pa->ipv4_port = lwq_get16(d + 4);
    memcpy(pa->ipv6, d + 6, 16);
    pa->ipv6_port = lwq_get16(d + 22);
    size_t cidlen = d[24];
    if (cidlen < 1 || cidlen > LWQ_CID_MAX || len != 25 + cidlen + LWQ_RESET_TOKEN_LEN)
        return LWQ_ERR_DECODE;
    lwq_cid_set(&pa->cid, d + 25, cidlen);
    memcpy(pa->reset_token, d + 25 + cidlen, LWQ_RESET_TOKEN_LEN);
    return 0;
}

/* RFC 9368 §3: Chosen Version then Available Versions, none of them 0 */
static int decode_version_info(lwq_tparams *tp, const uint8_t *d, size_t len)
{
    if (len < 4 || len % 4 != 0)
        return LWQ_ERR_DECODE;
    tp->chosen_version = lwq_get32(d);
    if (tp->chosen_version == 0)
        return LWQ_ERR_DECODE;
    tp->n_available_versions = 0;
    for (size_t off = 4; off < len; off += 4) {
        uint32_t v = lwq_get32(d + off);
        if (v == 0)
            return LWQ_ERR_DECODE;
        if (tp->n_available_versions < LWQ_TP_VERSIONS_MAX)
            tp->available_versions[tp->n_available_versions++] = v;
    }
    return 0;
}

ssize_t lwq_tparams_decode(lwq_tparams *tp, const uint8_t *p, size_t n, int from_server)
{
    lwq_tparams_init(tp);
    uint64_t seen = 0; /* bit id for the known ids below 64 */
    size_t off = 0;
    while (off < n) {
        uint64_t id, len;
        ssize_t k = lwq_varint_decode(&id, p + off, n - off);
        if (k < 0)
            return fail(tp, UINT64_MAX);
        off += (size_t)k;
        k = lwq_varint_decode(&len, p + off, n - off);
        if (k < 0 || len > n - off - (size_t)k)
            return fail(tp, id);
        off += (size_t)k;
        const uint8_t *d = p + off;
        off += (size_t)len;
        int known = id <= LWQ_TP_VERSION_INFORMATION || id == LWQ_TP_MAX_DATAGRAM_FRAME_SIZE;
        if (known) {
            /* RFC 9000 §7.4: duplicates */
            if (seen & (UINT64_C(1) << id))
                return fail(tp, id);
            seen |= UINT64_C(1) << id;
        }
        uint64_t *ip = int_param(tp, id);
        if (ip) {
            k = lwq_varint_decode(ip, d, (size_t)len);
            if (k < 0 || (uint64_t)k != len)
                return fail(tp, id);
            if (id == LWQ_TP_MAX_DATAGRAM_FRAME_SIZE)
                tp->has_max_datagram_frame_size = 1;
            continue;
        }
        /* RFC 9000 §18.2: server-only parameters */
        if (!from_server && (id == LWQ_TP_ORIGINAL_DCID || id == LWQ_TP_STATELESS_RESET_TOKEN ||
                             id == LWQ_TP_PREFERRED_ADDRESS || id == LWQ_TP_RETRY_SCID))
            return fail(tp, id);
        int err = 0;
        switch (id) {
        case LWQ_TP_ORIGINAL_DCID:
            err = decode_cid(&tp->original_dcid, d, (size_t)len);
            tp->has_original_dcid = 1;
            break;
        case LWQ_TP_INITIAL_SCID:
            err = decode_cid(&tp->initial_scid, d, (size_t)len);
            tp->has_initial_scid = 1;
            break;
        case LWQ_TP_RETRY_SCID:
            err = decode_cid(&tp->retry_scid, d, (size_t)len);
            tp->has_retry_scid = 1;
            break;
        case LWQ_TP_STATELESS_RESET_TOKEN:
            if (len != LWQ_RESET_TOKEN_LEN)
                return fail(tp, id);
            memcpy(tp->reset_token, d, LWQ_RESET_TOKEN_LEN);
            tp->has_reset_token = 1;
            break;
        case LWQ_TP_DISABLE_ACTIVE_MIGRATION:
            err = len == 0 ? 0 : LWQ_ERR_DECODE;
            tp->disable_active_migration = 1;
            break;
        case LWQ_TP_PREFERRED_ADDRESS:
            err = decode_preferred_address(&tp->preferred_address, d, (size_t)len);
            tp->has_preferred_address = 1;
            break;
        case LWQ_TP_VERSION_INFORMATION:
            err = decode_version_info(tp, d, (size_t)len);
            tp->has_version_info = 1;
            break;
        case LWQ_TP_GREASE_QUIC_BIT:
            /* RFC 9287 §3 */
            if (tp->grease_quic_bit || len != 0)
                return fail(tp, id);
            tp->grease_quic_bit = 1;
            break;
        default:
            /* RFC 9000 §18.1: unknown and reserved (31 * N + 27) parameters are ignored */
            break;
        }
        if (err < 0)
            return fail(tp, id);
    }
    int64_t bad = check_ranges(tp);
    if (bad >= 0)
        return fail(tp, (uint64_t)bad);
    return (ssize_t)n;
}

static int cid_matches(const lwq_cid *a, const lwq_cid *b)
{
    return lwq_cid_eq(a, b->id, b->len);
}

int lwq_tparams_check_cids(lwq_tparams *tp, int from_server, const lwq_tp_cids *seen)
{
    /* RFC 9000 §7.3 */
    if (!tp->has_initial_scid || !cid_matches(&tp->initial_scid, &seen->peer_scid))
        return (int)fail(tp, LWQ_TP_INITIAL_SCID);
    if (!from_server)
        return 0;
    if (!tp->has_original_dcid || !cid_matches(&tp->original_dcid, &seen->odcid))
        return (int)fail(tp, LWQ_TP_ORIGINAL_DCID);
    if (seen->retried ? !tp->has_retry_scid || !cid_matches(&tp->retry_scid, &seen->retry_scid) : tp->has_retry_scid)
        return (int)fail(tp, LWQ_TP_RETRY_SCID);
    return 0;
}
