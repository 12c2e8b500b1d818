/* ECDHE for TLS 1.3 (RFC 9846 §4.2.8.2, §7.4): X25519 from libsodium
 * (RFC 7748), secp256r1 from mbedTLS with peer point validation. */
#include <string.h>
#include <sodium.h>
#include <mbedtls/ecp.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/bignum.h>
#include "base/mem.h"
#include "tls/crypto.h"

#define P256_LEN 32
#define P256_POINT_LEN 65

_Static_assert(crypto_scalarmult_curve25519_BYTES == 32, "x25519 sizes");

/* mbedTLS allocates bignums with its own calloc; report its failures as such. */
static int mbed_err(int rc)
{
    if (rc == MBEDTLS_ERR_MPI_ALLOC_FAILED || rc == MBEDTLS_ERR_ECP_ALLOC_FAILED)
        return LWQ_ERR_NOMEM;
    return LWQ_ERR_CRYPTO;
}

static int rng_adapter(void *ud, unsigned char *out, size_t n)
{
    const lwq_rng *rng = ud;
    rng->fill(rng->ud, out, n);
    return 0;
}

static int x25519_public(lwq_kex *kex)
{
    if (sodium_init() < 0 || crypto_scalarmult_curve25519_base(kex->pub, kex->priv) != 0)
        return LWQ_ERR_CRYPTO;
    kex->publen = 32;
    return 0;
}

/* Q = d*G for a d already in kex->priv; rejects d outside [1, n-1]. */
static int p256_public(lwq_kex *kex, const lwq_rng *rng)
{
    mbedtls_ecp_group grp;
    mbedtls_mpi d;
    mbedtls_ecp_point q;
    size_t olen = 0;
    int rc = LWQ_ERR_CRYPTO, m;

    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    if ((m = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1)) != 0 ||
        (m = mbedtls_mpi_read_binary(&d, kex->priv, P256_LEN)) != 0 ||
        (m = mbedtls_ecp_check_privkey(&grp, &d)) != 0 ||
        (m = mbedtls_ecp_mul(&grp, &q, &d, &grp.G, rng ? rng_adapter : NULL, (void *)rng)) != 0 ||
        (m = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, kex->pub,
                                            sizeof(kex->pub))) != 0) {
        rc = mbed_err(m);
        goto out;
    }
    if (olen != P256_POINT_LEN)
        goto out;
    kex->publen = olen;
    rc = 0;
out:
    mbedtls_ecp_point_free(&q);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

int lwq_kex_keygen(lwq_kex *kex, lwq_group group, const lwq_rng *rng)
{
    memset(kex, 0, sizeof(*kex));
    kex->group = group;
    switch (group) {
    case LWQ_GROUP_X25519:
        rng->fill(rng->ud, kex->priv, 32);
        if (x25519_public(kex) != 0) {
            lwq_kex_clear(kex);
            return LWQ_ERR_CRYPTO;
        }
        return 0;
    case LWQ_GROUP_SECP256R1:
        /* Rejection sampling: d is uniform in [1, n-1]; a draw is rejected with probability ~2^-32. */
        for (int tries = 0; tries < 64; tries++) {
            rng->fill(rng->ud, kex->priv, P256_LEN);
            if (p256_public(kex, rng) == 0)
                return 0;
        }
        lwq_kex_clear(kex);
        return LWQ_ERR_CRYPTO;
    }
    return LWQ_ERR_UNSUPPORTED;
}

int lwq_kex_from_private(lwq_kex *kex, lwq_group group, const uint8_t *priv, size_t len)
{
    int rc;
    memset(kex, 0, sizeof(*kex));
    kex->group = group;
    if (group != LWQ_GROUP_X25519 && group != LWQ_GROUP_SECP256R1)
        return LWQ_ERR_UNSUPPORTED;
    if (len != 32)
        return LWQ_ERR_INVAL;
    memcpy(kex->priv, priv, 32);
    rc = group == LWQ_GROUP_X25519 ? x25519_public(kex) : p256_public(kex, NULL);
    if (rc != 0)
        lwq_kex_clear(kex);
    return rc;
}

static int p256_derive(const lwq_kex *kex, const uint8_t *peer, size_t peerlen, uint8_t *shared)
{
    mbedtls_ecp_group grp;
    mbedtls_mpi d, z;
    mbedtls_ecp_point q;
    int rc = LWQ_ERR_CRYPTO, m;

    /* RFC 9846 §4.2.8.2: only the uncompressed form; this also rules out the point at infinity. */
    if (peerlen != P256_POINT_LEN || peer[0] != 0x04)
        return LWQ_ERR_CRYPTO;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    mbedtls_ecp_point_init(&q);
    /* No rng argument here: mbedTLS blinds with its internal deterministic generator. */
    if ((m = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1)) != 0 ||
        (m = mbedtls_ecp_point_read_binary(&grp, &q, peer, peerlen)) != 0 ||
        (m = mbedtls_ecp_check_pubkey(&grp, &q)) != 0 || (m = mbedtls_mpi_read_binary(&d, kex->priv, P256_LEN)) != 0 ||
        (m = mbedtls_ecdh_compute_shared(&grp, &z, &q, &d, NULL, NULL)) != 0 ||
        (m = mbedtls_mpi_write_binary(&z, shared, P256_LEN)) != 0) {
        rc = mbed_err(m);
        goto out;
    }
    if (mbedtls_mpi_cmp_int(&z, 0) == 0)
        goto out;
    rc = 0;
out:
    mbedtls_ecp_point_free(&q);
    mbedtls_mpi_free(&z);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

int lwq_kex_derive(const lwq_kex *kex, const uint8_t *peer, size_t peerlen, uint8_t *shared, size_t *sharedlen)
{
    int rc;
    switch (kex->group) {
    case LWQ_GROUP_X25519:
        /* RFC 7748 §6.1: an all-zero result means a low-order peer point; libsodium refuses it. */
        if (peerlen != 32 || sodium_init() < 0 || crypto_scalarmult_curve25519(shared, kex->priv, peer) != 0) {
            sodium_memzero(shared, 32);
            return LWQ_ERR_CRYPTO;
        }
        *sharedlen = 32;
        return 0;
    case LWQ_GROUP_SECP256R1:
        rc = p256_derive(kex, peer, peerlen, shared);
        if (rc != 0) {
            lwq_wipe(shared, P256_LEN);
            return rc;
        }
        *sharedlen = P256_LEN;
        return 0;
    }
    return LWQ_ERR_UNSUPPORTED;
}

void lwq_kex_clear(lwq_kex *kex) { lwq_wipe(kex, sizeof(*kex)); }
