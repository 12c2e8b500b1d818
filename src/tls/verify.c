#include <string.h>
#include <time.h>
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/x509.h"

#define VERIFY_MAX_CERTS 32
#define DEFAULT_MAX_DEPTH 10
/* Signature checks one verification may spend on candidates sharing an issuer name. */
#define MAX_SIGNATURE_CHECKS 48

int64_t lwq_wallclock_unix(void) { return (int64_t)time(NULL); }

static int cert_error(int rc)
{
    if (rc == LWQ_ERR_NOMEM)
        return rc;
    return rc == LWQ_ERR_UNSUPPORTED ? LWQ_ERR_CERT_UNSUPPORTED_ALG : LWQ_ERR_CERT_MALFORMED;
}

/* 0 when issuer's key made cert's signature. */
static int check_issued(const lwq_x509 *cert, const lwq_x509 *issuer, size_t *budget, const lwq_allocator *a)
{
    lwq_pubkey *k;
    if (*budget == 0)
        return LWQ_ERR_CERT_CHAIN_TOO_LONG;
    (*budget)--;
    int rc = lwq_pubkey_from_spki(&k, issuer->spki, issuer->spki_len, a);
    if (rc < 0)
        return cert_error(rc);
    rc = lwq_x509_check_signature(cert, k);
    lwq_pubkey_del(k, a);
    return rc;
}

static int same_name(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* RFC 5280 §6.1.4 (k), (l), (n): an issuer must be a CA allowed to sign certificates, and
 * its pathLenConstraint bounds the intermediates below it (below = 0 for the leaf's issuer). */
static int check_ca(const lwq_x509 *x, size_t below, int anchor)
{
    if (anchor ? (x->has_bc && !x->ca) : !(x->has_bc && x->ca))
        return LWQ_ERR_CERT_NOT_CA;
    if (x->has_ku && !(x->ku & LWQ_X509_KU_KEY_CERT_SIGN))
        return LWQ_ERR_CERT_NOT_CA;
    if (x->path_len >= 0 && below > (size_t)x->path_len)
        return LWQ_ERR_CERT_CHAIN_TOO_LONG;
    return 0;
}

/* RFC 5280 §6.1.3 (a)(2) */
static int check_time(const lwq_x509 *x, int64_t now)
{
    if (now < x->not_before)
        return LWQ_ERR_CERT_NOT_YET_VALID;
    if (now > x->not_after)
        return LWQ_ERR_CERT_EXPIRED;
    return 0;
}

/* Walks from the leaf to an anchor, matching issuer to subject Name bytes and taking the first
 * candidate whose key made the signature; path[] receives the certificates, anchor last. */
static int build_path(const lwq_trust *t, lwq_x509 *xs, size_t count, size_t max_depth, const lwq_x509 **path,
                      size_t *plen, const lwq_allocator *a)
{
    uint8_t used[VERIFY_MAX_CERTS] = {1};
    const lwq_x509 *cur = &xs[0], *an;
    size_t n = 0, pos = 0, budget = MAX_SIGNATURE_CHECKS;
    path[n++] = cur;
    /* a leaf that is itself an anchor (a pinned self-signed certificate) needs no issuer */
    while ((an = lwq_trust_find(t, cur->subject, cur->subject_len, &pos)) != NULL) {
        if (an->der_len == cur->der_len && memcmp(an->der, cur->der, cur->der_len) == 0) {
            *plen = n;
            return 0;
        }
    }
    for (;;) {
        int err = LWQ_ERR_CERT_UNKNOWN_CA, rc;
        pos = 0;
        while ((an = lwq_trust_find(t, cur->issuer, cur->issuer_len, &pos)) != NULL) {
            if ((rc = check_issued(cur, an, &budget, a)) == 0)
                break;
            if (rc == LWQ_ERR_NOMEM || rc == LWQ_ERR_CERT_CHAIN_TOO_LONG)
                return rc;
            if (err == LWQ_ERR_CERT_UNKNOWN_CA)
                err = rc;
        }
        if (an) {
            if (n + 1 > max_depth)
                return LWQ_ERR_CERT_CHAIN_TOO_LONG;
            if ((rc = check_ca(an, n - 1, 1)) < 0)
                return rc;
            path[n++] = an;
            *plen = n;
            return 0;
        }
        const lwq_x509 *next = NULL;
        size_t j;
        for (j = 1; j < count && !next; j++) {
            if (used[j] || !same_name(xs[j].subject, xs[j].subject_len, cur->issuer, cur->issuer_len))
                continue;
            if ((rc = check_issued(cur, &xs[j], &budget, a)) == 0) {
                next = &xs[j];
                used[j] = 1;
            } else if (rc == LWQ_ERR_NOMEM || rc == LWQ_ERR_CERT_CHAIN_TOO_LONG) {
                return rc;
            } else if (err == LWQ_ERR_CERT_UNKNOWN_CA) {
                err = rc;
            }
        }
        if (!next)
            return err;
        /* the anchor still has to follow */
        if (n + 2 > max_depth)
            return LWQ_ERR_CERT_CHAIN_TOO_LONG;
        if ((rc = check_ca(next, n - 1, 0)) < 0)
            return rc;
        path[n++] = next;
        cur = next;
    }
}

int lwq_cert_verify(const lwq_trust *t, const lwq_cert_chain *chain, const lwq_verify_params *p,
                    lwq_pubkey **leaf_key, const lwq_allocator *a)
{
    if (!t || !chain || !p)
        return LWQ_ERR_INVAL;
    if (chain->count == 0)
        return LWQ_ERR_CERT_MALFORMED;
    if (chain->count > VERIFY_MAX_CERTS)
        return LWQ_ERR_CERT_CHAIN_TOO_LONG;
    size_t max_depth = p->max_depth ? p->max_depth : DEFAULT_MAX_DEPTH;
    if (max_depth > VERIFY_MAX_CERTS)
        max_depth = VERIFY_MAX_CERTS;
    lwq_x509 *xs = lwq_calloc(a, chain->count, sizeof(*xs));
    if (!xs)
        return LWQ_ERR_NOMEM;
    const lwq_x509 *path[VERIFY_MAX_CERTS];
    size_t plen = 0;
    int rc = 0;
    for (size_t i = 0; i < chain->count && rc == 0; i++) {
        ssize_t k = lwq_x509_parse(&xs[i], chain->der[i], chain->len[i]);
        if (k < 0)
            rc = cert_error((int)k);
        else if ((size_t)k != chain->len[i])
            rc = LWQ_ERR_CERT_MALFORMED;
    }
    if (rc == 0)
        rc = build_path(t, xs, chain->count, max_depth, path, &plen, a);
    for (size_t i = 0; i < plen && rc == 0; i++)
        rc = check_time(path[i], p->now_unix);
    if (rc == 0 && p->hostname && !lwq_x509_match_host(&xs[0], p->hostname))
        rc = LWQ_ERR_CERT_NAME_MISMATCH;
    if (rc == 0) {
        /* the leaf's key must be one the handshake can use */
        lwq_pubkey *k;
        rc = lwq_pubkey_from_spki(&k, xs[0].spki, xs[0].spki_len, a);
        if (rc < 0)
            rc = cert_error(rc);
        else if (leaf_key)
            *leaf_key = k;
        else
            lwq_pubkey_del(k, a);
    }
    lwq_free(a, xs);
    return rc;
}
