/* TLS 1.3 key schedule (RFC 9846 §7.1) and QUIC key derivation (RFC 9001 §5,
 * RFC 9369 §3.3). */
#include <string.h>
#include "base/mem.h"
#include "tls/keysched.h"

#define LABEL_PREFIX "tls13 "
#define LABEL_MAX 255
#define RETRY_MAX 4096

int lwq_suite_known(uint16_t suite)
{
    return suite == LWQ_SUITE_AES128GCM_SHA256 || suite == LWQ_SUITE_AES256GCM_SHA384 ||
           suite == LWQ_SUITE_CHACHA20POLY1305_SHA256;
}

lwq_hash_alg lwq_suite_hash(lwq_suite suite)
{
    return suite == LWQ_SUITE_AES256GCM_SHA384 ? LWQ_HASH_SHA384 : LWQ_HASH_SHA256;
}

lwq_aead_alg lwq_suite_aead(lwq_suite suite)
{
    switch (suite) {
    case LWQ_SUITE_AES256GCM_SHA384:
        return LWQ_AEAD_AES256GCM;
    case LWQ_SUITE_CHACHA20POLY1305_SHA256:
        return LWQ_AEAD_CHACHA20POLY1305;
    default:
        return LWQ_AEAD_AES128GCM;
    }
}

const char *lwq_suite_name(lwq_suite suite)
{
    switch (suite) {
    case LWQ_SUITE_AES128GCM_SHA256:
        return "TLS_AES_128_GCM_SHA256";
    case LWQ_SUITE_AES256GCM_SHA384:
        return "TLS_AES_256_GCM_SHA384";
    case LWQ_SUITE_CHACHA20POLY1305_SHA256:
        return "TLS_CHACHA20_POLY1305_SHA256";
    }
    return "unknown";
}

/* RFC 9846 §7.1: struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel. */
int lwq_hkdf_expand_label(lwq_hash_alg alg, const uint8_t *secret, size_t secretlen, const char *label,
                          const uint8_t *context, size_t contextlen, uint8_t *out, size_t outlen)
{
    uint8_t info[2 + 1 + LABEL_MAX + 1 + 255];
    size_t labellen = strlen(label), plen = sizeof(LABEL_PREFIX) - 1, n = 0;

    if (outlen > 0xffff || plen + labellen > LABEL_MAX || contextlen > 255)
        return LWQ_ERR_INVAL;
    lwq_put16(info, (uint16_t)outlen);
    n = 2;
    info[n++] = (uint8_t)(plen + labellen);
    memcpy(info + n, LABEL_PREFIX, plen);
    n += plen;
    memcpy(info + n, label, labellen);
    n += labellen;
    info[n++] = (uint8_t)contextlen;
    if (contextlen)
        memcpy(info + n, context, contextlen);
    n += contextlen;
    return lwq_hkdf_expand(alg, secret, secretlen, info, n, out, outlen);
}

void lwq_ks_init(lwq_keysched *ks, lwq_hash_alg alg, const uint8_t *psk, size_t psklen)
{
    static const uint8_t zeros[LWQ_HASH_MAX];
    size_t hl = lwq_hash_len(alg);

    memset(ks, 0, sizeof(*ks));
    ks->alg = alg;
    ks->stage = LWQ_KS_EARLY;
    if (!psk || !psklen) {
        psk = zeros;
        psklen = hl;
    }
    lwq_hkdf_extract(alg, zeros, hl, psk, psklen, ks->secret);
}

/* Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length) */
void lwq_ks_derive(const lwq_keysched *ks, const char *label, const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hl = lwq_hash_len(ks->alg);
    lwq_hkdf_expand_label(ks->alg, ks->secret, hl, label, transcript_hash, hl, out, hl);
}

void lwq_ks_advance(lwq_keysched *ks, const uint8_t *ikm, size_t ikmlen)
{
    static const uint8_t zeros[LWQ_HASH_MAX];
    size_t hl = lwq_hash_len(ks->alg);
    uint8_t empty_hash[LWQ_HASH_MAX], salt[LWQ_HASH_MAX];

    if (ks->stage == LWQ_KS_MASTER)
        return;
    lwq_hash(ks->alg, NULL, 0, empty_hash);
    lwq_ks_derive(ks, "derived", empty_hash, salt);
    if (!ikm || !ikmlen) {
        ikm = zeros;
        ikmlen = hl;
    }
    lwq_hkdf_extract(ks->alg, salt, hl, ikm, ikmlen, ks->secret);
    ks->stage = ks->stage == LWQ_KS_EARLY ? LWQ_KS_HANDSHAKE : LWQ_KS_MASTER;
    lwq_wipe(salt, sizeof(salt));
}

void lwq_ks_binder_key(const lwq_keysched *ks, uint8_t *out)
{
    uint8_t empty_hash[LWQ_HASH_MAX];
    lwq_hash(ks->alg, NULL, 0, empty_hash);
    lwq_ks_derive(ks, "res binder", empty_hash, out);
}

/* RFC 9846 §4.4.4 */
void lwq_finished_key(lwq_hash_alg alg, const uint8_t *base_secret, uint8_t *out)
{
    size_t hl = lwq_hash_len(alg);
    lwq_hkdf_expand_label(alg, base_secret, hl, "finished", NULL, 0, out, hl);
}

/* RFC 9846 §4.6.1 */
void lwq_resumption_psk(lwq_hash_alg alg, const uint8_t *res_master, const uint8_t *nonce, size_t noncelen,
                        uint8_t *out)
{
    size_t hl = lwq_hash_len(alg);
    /* ticket_nonce<0..255> (RFC 9846 §4.6.1): the message parser already refuses longer ones. */
    if (noncelen > 255)
        noncelen = 255;
    lwq_hkdf_expand_label(alg, res_master, hl, "resumption", nonce, noncelen, out, hl);
}

void lwq_ks_clear(lwq_keysched *ks) { lwq_wipe(ks, sizeof(*ks)); }

/* RFC 9001 §5.2 and RFC 9369 §3.3.1 */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

typedef struct labels {
    const char *key, *iv, *hp, *ku;
} labels;

static const labels *version_labels(uint32_t version)
{
    /* RFC 9369 §3.3.2 */
    static const labels v1 = {"quic key", "quic iv", "quic hp", "quic ku"};
    static const labels v2 = {"quicv2 key", "quicv2 iv", "quicv2 hp", "quicv2 ku"};
    if (version == LWQ_QUIC_V1)
        return &v1;
    if (version == LWQ_QUIC_V2)
        return &v2;
    return NULL;
}

int lwq_quic_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcidlen, uint8_t *client_secret,
                             uint8_t *server_secret)
{
    uint8_t initial[32];
    const uint8_t *salt;
    int rc;

    if (version == LWQ_QUIC_V1)
        salt = salt_v1;
    else if (version == LWQ_QUIC_V2)
        salt = salt_v2;
    else
        return LWQ_ERR_UNSUPPORTED;
    lwq_hkdf_extract(LWQ_HASH_SHA256, salt, sizeof(salt_v1), dcid, dcidlen, initial);
    rc = lwq_hkdf_expand_label(LWQ_HASH_SHA256, initial, 32, "client in", NULL, 0, client_secret, 32);
    if (rc == 0)
        rc = lwq_hkdf_expand_label(LWQ_HASH_SHA256, initial, 32, "server in", NULL, 0, server_secret, 32);
    lwq_wipe(initial, sizeof(initial));
    return rc;
}

static int keys_init(lwq_quic_keys *k, uint32_t version, lwq_suite suite, const uint8_t *secret, int with_hp)
{
    const labels *l = version_labels(version);
    lwq_hash_alg h;
    lwq_aead_alg a;
    size_t hl, kl;
    uint8_t key[LWQ_AEAD_KEY_MAX], hpkey[LWQ_AEAD_KEY_MAX];
    int rc;

    if (!l || !lwq_suite_known((uint16_t)suite))
        return LWQ_ERR_UNSUPPORTED;
    h = lwq_suite_hash(suite);
    a = lwq_suite_aead(suite);
    hl = lwq_hash_len(h);
    kl = lwq_aead_key_len(a);
    /* RFC 9001 §5.1 */
    if ((rc = lwq_hkdf_expand_label(h, secret, hl, l->key, NULL, 0, key, kl)) != 0 ||
        (rc = lwq_hkdf_expand_label(h, secret, hl, l->iv, NULL, 0, k->iv, LWQ_AEAD_IV_LEN)) != 0 ||
        (with_hp && (rc = lwq_hkdf_expand_label(h, secret, hl, l->hp, NULL, 0, hpkey, kl)) != 0))
        goto out;
    if ((rc = lwq_aead_init(&k->aead, a, key)) != 0)
        goto out;
    if (with_hp && (rc = lwq_hp_init(&k->hp, a, hpkey)) != 0) {
        lwq_aead_free(&k->aead);
        goto out;
    }
    k->suite = suite;
out:
    lwq_wipe(key, sizeof(key));
    lwq_wipe(hpkey, sizeof(hpkey));
    return rc;
}

int lwq_quic_keys_init(lwq_quic_keys *k, uint32_t version, lwq_suite suite, const uint8_t *secret)
{
    return keys_init(k, version, suite, secret, 1);
}

int lwq_quic_keys_init_no_hp(lwq_quic_keys *k, uint32_t version, lwq_suite suite, const uint8_t *secret)
{
    return keys_init(k, version, suite, secret, 0);
}

void lwq_quic_keys_free(lwq_quic_keys *k)
{
    lwq_aead_free(&k->aead);
    lwq_hp_free(&k->hp);
    lwq_wipe(k->iv, sizeof(k->iv));
}

/* RFC 9001 §6.1 */
int lwq_quic_next_secret(uint32_t version, lwq_suite suite, const uint8_t *secret, uint8_t *out)
{
    const labels *l = version_labels(version);
    if (!l || !lwq_suite_known((uint16_t)suite))
        return LWQ_ERR_UNSUPPORTED;
    lwq_hash_alg h = lwq_suite_hash(suite);
    return lwq_hkdf_expand_label(h, secret, lwq_hash_len(h), l->ku, NULL, 0, out, lwq_hash_len(h));
}

/* RFC 9001 §5.3: the 62-bit packet number, left-padded to the IV length, XORed with the IV. */
void lwq_quic_nonce(const lwq_quic_keys *k, uint64_t pn, uint8_t *nonce)
{
    memcpy(nonce, k->iv, LWQ_AEAD_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[LWQ_AEAD_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* RFC 9001 §5.8, RFC 9369 §3.3.3 */
int lwq_quic_retry_tag(uint32_t version, const uint8_t *odcid, size_t odcidlen, const uint8_t *retry,
                       size_t retrylen, uint8_t *tag)
{
    static const uint8_t key_v1[16] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                       0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
    static const uint8_t nonce_v1[12] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
    static const uint8_t key_v2[16] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                       0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
    static const uint8_t nonce_v2[12] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};
    /* A CID is at most 20 bytes (RFC 9000 §17.2); a longer Retry than RETRY_MAX is refused. */
    uint8_t pseudo[1 + 20 + RETRY_MAX];
    lwq_aead aead;
    int rc;

    if (version != LWQ_QUIC_V1 && version != LWQ_QUIC_V2)
        return LWQ_ERR_UNSUPPORTED;
    if (odcidlen > 20 || retrylen > RETRY_MAX)
        return LWQ_ERR_INVAL;
    pseudo[0] = (uint8_t)odcidlen;
    memcpy(pseudo + 1, odcid, odcidlen);
    memcpy(pseudo + 1 + odcidlen, retry, retrylen);
    rc = lwq_aead_init(&aead, LWQ_AEAD_AES128GCM, version == LWQ_QUIC_V1 ? key_v1 : key_v2);
    if (rc != 0)
        return rc;
    /* The tag is GCM over empty plaintext with the pseudo-packet as AAD. */
    rc = lwq_aead_seal(&aead, version == LWQ_QUIC_V1 ? nonce_v1 : nonce_v2, pseudo, 1 + odcidlen + retrylen, NULL,
                       0, tag);
    lwq_aead_free(&aead);
    return rc;
}
