/* --explain, TLS layer: the CRYPTO stream of each level put back in order, each handshake message
 * decoded with the library's TLS codec (RFC 9846 section numbers), transport parameters one by one
 * (RFC 9000 §18.2) and certificates with the library's X.509 parser. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/explain_int.h"
#include "quic/tparams.h"
#include "quic/varint.h"
#include "tls/der.h"
#include "tls/msg.h"
#include "tls/x509.h"

static const char *suite_name(uint16_t s)
{
    switch (s) {
    case 0x1301:
        return "TLS_AES_128_GCM_SHA256";
    case 0x1302:
        return "TLS_AES_256_GCM_SHA384";
    case 0x1303:
        return "TLS_CHACHA20_POLY1305_SHA256";
    }
    return "other";
}

static const char *group_name(uint16_t g)
{
    switch (g) {
    case 0x0017:
        return "secp256r1";
    case 0x0018:
        return "secp384r1";
    case 0x001d:
        return "x25519";
    case 0x001e:
        return "x448";
    }
    return "other";
}

static const char *scheme_name(uint16_t s)
{
    switch (s) {
    case 0x0403:
        return "ecdsa_secp256r1_sha256";
    case 0x0503:
        return "ecdsa_secp384r1_sha384";
    case 0x0804:
        return "rsa_pss_rsae_sha256";
    case 0x0805:
        return "rsa_pss_rsae_sha384";
    case 0x0806:
        return "rsa_pss_rsae_sha512";
    case 0x0807:
        return "ed25519";
    case 0x0401:
        return "rsa_pkcs1_sha256";
    }
    return "other";
}

static void u16_list(char *out, size_t cap, lwq_tls_span l, const char *(*name)(uint16_t))
{
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i + 1 < l.n && at + 48 < cap; i += 2) {
        uint16_t v = (uint16_t)(l.p[i] << 8 | l.p[i + 1]);
        at += (size_t)snprintf(out + at, cap - at, "%s%s(0x%04x)", i ? ", " : "", name(v), v);
    }
}

static const char *tp_name(uint64_t id, const char **rfc)
{
    *rfc = "RFC 9000 §18.2";
    switch (id) {
    case LWQ_TP_ORIGINAL_DCID:
        return "original_destination_connection_id";
    case LWQ_TP_MAX_IDLE_TIMEOUT:
        return "max_idle_timeout (ms)";
    case LWQ_TP_STATELESS_RESET_TOKEN:
        return "stateless_reset_token";
    case LWQ_TP_MAX_UDP_PAYLOAD_SIZE:
        return "max_udp_payload_size";
    case LWQ_TP_INITIAL_MAX_DATA:
        return "initial_max_data";
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
        return "initial_max_stream_data_bidi_local";
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
        return "initial_max_stream_data_bidi_remote";
    case LWQ_TP_INITIAL_MAX_STREAM_DATA_UNI:
        return "initial_max_stream_data_uni";
    case LWQ_TP_INITIAL_MAX_STREAMS_BIDI:
        return "initial_max_streams_bidi";
    case LWQ_TP_INITIAL_MAX_STREAMS_UNI:
        return "initial_max_streams_uni";
    case LWQ_TP_ACK_DELAY_EXPONENT:
        return "ack_delay_exponent";
    case LWQ_TP_MAX_ACK_DELAY:
        return "max_ack_delay (ms)";
    case LWQ_TP_DISABLE_ACTIVE_MIGRATION:
        return "disable_active_migration";
    case LWQ_TP_PREFERRED_ADDRESS:
        return "preferred_address";
    case LWQ_TP_ACTIVE_CONNECTION_ID_LIMIT:
        return "active_connection_id_limit";
    case LWQ_TP_INITIAL_SCID:
        return "initial_source_connection_id";
    case LWQ_TP_RETRY_SCID:
        return "retry_source_connection_id";
    case LWQ_TP_VERSION_INFORMATION:
        *rfc = "RFC 9368 §3";
        return "version_information";
    case LWQ_TP_MAX_DATAGRAM_FRAME_SIZE:
        *rfc = "RFC 9221 §3";
        return "max_datagram_frame_size";
    case LWQ_TP_GREASE_QUIC_BIT:
        *rfc = "RFC 9287 §3";
        return "grease_quic_bit";
    }
    if (id % 31 == 27) {
        *rfc = "RFC 9000 §18.1";
        return "reserved (GREASE): must be ignored";
    }
    *rfc = "RFC 9000 §7.4.2";
    return "unknown: ignored";
}

/* Each parameter as on the wire: ID, length, value (RFC 9000 §18). */
static void transport_params(explain *e, ex_conn *c, lwq_tls_span tp)
{
    ex_say(e, c, 3, C_TLS, "RFC 9001 §8.2", "quic_transport_parameters extension (57), %zu bytes:", tp.n);
    const uint8_t *p = tp.p;
    size_t n = tp.n;
    while (n > 0) {
        uint64_t id, len;
        ssize_t a = lwq_varint_decode(&id, p, n);
        ssize_t b = a > 0 ? lwq_varint_decode(&len, p + a, n - (size_t)a) : -1;
        if (a <= 0 || b <= 0 || len > n - (size_t)a - (size_t)b) {
            ex_say(e, c, 4, C_TLS, "RFC 9000 §18", "transport parameter: truncated");
            return;
        }
        const uint8_t *v = p + a + b;
        const char *rfc, *name = tp_name(id, &rfc);
        char val[80];
        uint64_t x;
        if ((id == LWQ_TP_ORIGINAL_DCID || id == LWQ_TP_INITIAL_SCID || id == LWQ_TP_RETRY_SCID ||
             id == LWQ_TP_STATELESS_RESET_TOKEN || id == LWQ_TP_PREFERRED_ADDRESS || id == LWQ_TP_VERSION_INFORMATION ||
             id % 31 == 27 || id == LWQ_TP_GREASE_QUIC_BIT || id == LWQ_TP_DISABLE_ACTIVE_MIGRATION))
            ex_hex(val, sizeof(val), v, (size_t)len);
        else if (lwq_varint_decode(&x, v, (size_t)len) == (ssize_t)len)
            snprintf(val, sizeof(val), "%llu", (unsigned long long)x);
        else
            ex_hex(val, sizeof(val), v, (size_t)len);
        ex_say(e, c, 4, C_TLS, rfc, "transport parameter 0x%llx %s = %s", (unsigned long long)id, name,
               len || id == LWQ_TP_DISABLE_ACTIVE_MIGRATION || id == LWQ_TP_GREASE_QUIC_BIT ? (len ? val : "(present)")
                                                                                            : "(empty)");
        p = v + len;
        n -= (size_t)(a + b) + (size_t)len;
    }
}

static void alpn_list(char *out, size_t cap, lwq_tls_span l)
{
    size_t at = 0;
    lwq_tls_span it;
    out[0] = 0;
    for (size_t i = 0; lwq_tls_vec8_at(l, i, &it) && at + it.n + 4 < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s", i ? ", " : "", (int)it.n, (const char *)it.p);
}

/* The first commonName (OID 2.5.4.3) of a Name (RFC 5280 §4.1.2.4), read with the library's DER reader. */
static void common_name(const uint8_t *name, size_t len, char *out, size_t cap)
{
    static const uint8_t cn[] = {0x55, 0x04, 0x03};
    lwq_der_reader r, rdn, atv;
    lwq_der_tlv t, set, seq, oid, v;
    snprintf(out, cap, "(no CN)");
    lwq_der_reader_init(&r, name, len);
    if (lwq_der_next(&r, &t))
        return;
    lwq_der_enter(&r, &t);
    while (!lwq_der_at_end(&r) && !lwq_der_next(&r, &set)) {
        lwq_der_enter(&rdn, &set);
        while (!lwq_der_at_end(&rdn) && !lwq_der_next(&rdn, &seq)) {
            lwq_der_enter(&atv, &seq);
            if (lwq_der_next(&atv, &oid) || lwq_der_next(&atv, &v))
                break;
            if (lwq_der_oid_is(&oid, cn, sizeof(cn))) {
                snprintf(out, cap, "\"%.*s\"", (int)(v.len < 64 ? v.len : 64), (const char *)v.val);
                return;
            }
        }
    }
}

static void cert(explain *e, ex_conn *c, size_t i, lwq_tls_span der)
{
    lwq_x509 x;
    if (lwq_x509_parse(&x, der.p, der.n) < 0) {
        ex_say(e, c, 3, C_TLS, "RFC 5280 §4.1", "certificate %zu: %zu bytes that do not parse as X.509", i, der.n);
        return;
    }
    char nb[32], na[32];
    time_t a = (time_t)x.not_before, b = (time_t)x.not_after;
    struct tm tm;
    strftime(nb, sizeof(nb), "%Y-%m-%d", gmtime_r(&a, &tm));
    strftime(na, sizeof(na), "%Y-%m-%d", gmtime_r(&b, &tm));
    char issuer[80];
    common_name(x.issuer, x.issuer_len, issuer, sizeof(issuer));
    ex_say(e, c, 3, C_TLS, "RFC 5280 §4.1",
           "certificate %zu: %zu bytes, subject CN \"%.*s\", %s, issuer CN %s, valid %s to %s%s", i, der.n,
           (int)x.subject_cn_len, x.subject_cn ? (const char *)x.subject_cn : "", x.ca ? "a CA" : "an end entity",
           issuer, nb, na,
           x.issuer_len == x.subject_len && !memcmp(x.issuer, x.subject, x.subject_len) ? " (self-issued)" : "");
}

static void message(explain *e, ex_conn *c, const uint8_t *m, size_t len)
{
    char a[400], b[200];
    switch (m[0]) {
    case LWQ_TLS_HS_CLIENT_HELLO: {
        lwq_tls_client_hello ch;
        if (lwq_tls_client_hello_decode(&ch, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.2.2", "TLS ClientHello (%zu bytes): the client's offer", len);
        u16_list(a, sizeof(a), ch.suites, suite_name);
        ex_say(e, c, 3, C_TLS, "RFC 9846 §4.2.2, RFC 9001 §5.3", "cipher suites: %s", a);
        u16_list(a, sizeof(a), ch.groups, group_name);
        ex_say(e, c, 3, C_TLS, "RFC 9846 §4.3.7", "supported_groups: %s", a);
        ex_say(e, c, 3, C_TLS, "RFC 9846 §4.3.8", "key_share: %zu bytes of ephemeral public key(s) for (EC)DHE",
               ch.shares.n);
        u16_list(a, sizeof(a), ch.sigalgs, scheme_name);
        ex_say(e, c, 3, C_TLS, "RFC 9846 §4.3.3", "signature_algorithms: %s", a);
        ex_say(e, c, 3, C_TLS, "RFC 9846 §4.3.1", "supported_versions: TLS 1.3 (QUIC requires it, RFC 9001 §4.2)");
        if (ch.server_name.n)
            ex_say(e, c, 3, C_TLS, "RFC 6066 §3", "server_name (SNI): %.*s", (int)ch.server_name.n,
                   (const char *)ch.server_name.p);
        alpn_list(b, sizeof(b), ch.alpn);
        ex_say(e, c, 3, C_TLS, "RFC 7301 §3.1, RFC 9001 §8.1", "ALPN: %s", b);
        if (ch.psk_identities.n)
            ex_say(e, c, 3, C_TLS, "RFC 9846 §4.3.11",
                   "pre_shared_key: resuming with a ticket from an earlier connection");
        if (ch.transport_params.n)
            transport_params(e, c, ch.transport_params);
        break;
    }
    case LWQ_TLS_HS_SERVER_HELLO: {
        lwq_tls_server_hello sh;
        if (lwq_tls_server_hello_decode(&sh, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, sh.is_hrr ? "RFC 9846 §4.2.4" : "RFC 9846 §4.2.3",
               "TLS %s (%zu bytes): cipher suite %s, key_share group %s%s",
               sh.is_hrr ? "HelloRetryRequest" : "ServerHello", len, suite_name(sh.suite), group_name(sh.group),
               sh.psk_identity != 0xffff && (sh.present & lwq_tls_ext_bit(LWQ_TLS_EXT_PRE_SHARED_KEY))
                   ? ", PSK accepted"
                   : "");
        ex_say(e, c, 3, C_TLS, "RFC 9846 §7.1",
               "both sides now compute the handshake secret from the (EC)DHE shared secret");
        break;
    }
    case LWQ_TLS_HS_ENCRYPTED_EXTENSIONS: {
        lwq_tls_encrypted_extensions ee;
        if (lwq_tls_encrypted_extensions_decode(&ee, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.4.1",
               "TLS EncryptedExtensions (%zu bytes): the server's answers, encrypted; ALPN %.*s", len, (int)ee.alpn.n,
               (const char *)ee.alpn.p);
        c->h3 = ee.alpn.n == 2 && !memcmp(ee.alpn.p, "h3", 2);
        if (ee.transport_params.n)
            transport_params(e, c, ee.transport_params);
        break;
    }
    case LWQ_TLS_HS_CERTIFICATE: {
        lwq_tls_certificate ct;
        if (lwq_tls_certificate_decode(&ct, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.5.1", "TLS Certificate (%zu bytes): a chain of %zu certificate%s", len,
               ct.count, ct.count == 1 ? "" : "s");
        lwq_tls_span der;
        for (size_t i = 0; i < ct.count && lwq_tls_cert_at(ct.list, i, &der); i++)
            cert(e, c, i, der);
        break;
    }
    case LWQ_TLS_HS_CERTIFICATE_VERIFY: {
        lwq_tls_certificate_verify cv;
        if (lwq_tls_certificate_verify_decode(&cv, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.5.2",
               "TLS CertificateVerify (%zu bytes): a %s signature over the transcript "
               "hash, proving possession of the certificate's key",
               len, scheme_name(cv.scheme));
        break;
    }
    case LWQ_TLS_HS_FINISHED:
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.5.3",
               "TLS Finished (%zu bytes): an HMAC over the whole transcript with the "
               "finished key; it authenticates the handshake",
               len);
        break;
    case LWQ_TLS_HS_NEW_SESSION_TICKET: {
        lwq_tls_new_session_ticket t;
        if (lwq_tls_new_session_ticket_decode(&t, m, len) < 0)
            goto bad;
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4.7.1",
               "TLS NewSessionTicket (%zu bytes): a %zu-byte ticket valid %u s for "
               "resumption%s",
               len, t.ticket.n, t.lifetime,
               t.present & lwq_tls_ext_bit(LWQ_TLS_EXT_EARLY_DATA) ? " and 0-RTT (RFC 9001 §4.6.1)" : "");
        break;
    }
    default:
        ex_say(e, c, 2, C_TLS, "RFC 9846 §4", "TLS handshake message type %u (%zu bytes)", m[0], len);
        return;
    }
    return;
bad:
    ex_say(e, c, 2, C_TLS, "RFC 9846 §4", "TLS handshake message type %u (%zu bytes) that does not decode", m[0], len);
}

static int have(const ex_crypto *k, size_t from, size_t n)
{
    for (size_t i = from; i < from + n; i++)
        if (!(k->have[i / 8] & (1u << (i % 8))))
            return 0;
    return 1;
}

void ex_crypto_frame(explain *e, ex_conn *c, int sent, int epoch, uint64_t off, const uint8_t *p, size_t n)
{
    ex_crypto **slot = &c->crypto[sent ? 1 : 0][epoch & 3];
    if (!*slot && !(*slot = calloc(1, sizeof(ex_crypto))))
        return;
    ex_crypto *k = *slot;
    if (off >= EX_CRYPTO_MAX)
        return;
    if (n > EX_CRYPTO_MAX - off)
        n = EX_CRYPTO_MAX - (size_t)off;
    memcpy(k->data + off, p, n);
    for (size_t i = (size_t)off; i < off + n; i++)
        k->have[i / 8] |= (uint8_t)(1u << (i % 8));
    while (k->parsed + 4 <= EX_CRYPTO_MAX && have(k, k->parsed, 4)) {
        uint8_t type;
        size_t body;
        if (lwq_tls_msg_header(k->data + k->parsed, 4, &type, &body) < 0 || k->parsed + 4 + body > EX_CRYPTO_MAX ||
            !have(k, k->parsed + 4, body))
            return;
        message(e, c, k->data + k->parsed, 4 + body);
        k->parsed += 4 + body;
    }
}
