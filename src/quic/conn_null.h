/* Null packet protection for tests and fuzz targets (fuzz/fuzz_conn_null.c): the TLS handshake runs as
 * usual, but every packet of the connection is protected with lwq_null_keys (identity AEAD with a zero tag,
 * zero header protection mask), so an input can carry plaintext frames. Internal: nothing in include/, no
 * config field and no packet can turn it on. */
#ifndef LWQ_QUIC_CONN_NULL_H
#define LWQ_QUIC_CONN_NULL_H

#include "quic/conn.h"
#include "quic/protect.h"

/* Before the connection sends or receives its first packet. */
static inline void lwq_conn_set_null_protection(lwq_conn *c)
{
    c->null_protection = 1;
}

/* Every connection the server creates from now on (server.c). */
void lwq_server_set_null_protection(lwq_server *s);

/* The keys to protect or open a packet with: k, or the null keys. */
static inline const lwq_quic_keys *lwq_conn_pkeys(const lwq_conn *c, const lwq_quic_keys *k)
{
    return c->null_protection ? &lwq_null_keys : k;
}

#endif
