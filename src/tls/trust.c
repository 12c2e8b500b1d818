#include <string.h>
#include "base/mem.h"
#include "tls/cert.h"
#include "tls/der.h"
#include "tls/x509.h"

#define CHAIN_MAX_CERTS 64

typedef struct anchor {
    uint8_t *der;
    lwq_x509 x; /* views into der */
} anchor;

/* Anchors sorted by subject Name bytes, so a lookup is a binary search. */
struct lwq_trust {
    const lwq_allocator *a;
    anchor *v;
    size_t count, cap;
};

/* Calls fn on each DER certificate in data (PEM CERTIFICATE blocks, or one DER). */
typedef int (*cert_fn)(void *ud, uint8_t *der, size_t len);

static int each_cert(const uint8_t *data, size_t len, const lwq_allocator *a, cert_fn fn, void *ud)
{
    if (len == 0)
        return 0;
    if (!lwq_pem_detect(data, len)) {
        uint8_t *der = lwq_memdup(a, data, len);
        if (!der)
            return LWQ_ERR_NOMEM;
        return fn(ud, der, len);
    }
    char label[72];
    uint8_t *der;
    size_t derlen;
    int rc;
    while ((rc = lwq_pem_next(&data, &len, label, sizeof(label), &der, &derlen, a)) == 1) {
        if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "TRUSTED CERTIFICATE") != 0) {
            lwq_free(a, der);
            continue;
        }
        if ((rc = fn(ud, der, derlen)) < 0)
            return rc;
    }
    return rc;
}

typedef struct chain_add {
    lwq_cert_chain *c;
    const lwq_allocator *a;
} chain_add;

static int chain_push(void *ud, uint8_t *der, size_t len)
{
    chain_add *ca = ud;
    lwq_cert_chain *c = ca->c;
    lwq_der_tlv t;
    ssize_t k = lwq_der_decode(&t, der, len);
    if (k < 0 || (size_t)k != len || t.tag != LWQ_DER_SEQUENCE) {
        lwq_free(ca->a, der);
        return k < 0 ? (int)k : LWQ_ERR_DECODE;
    }
    if (c->count == CHAIN_MAX_CERTS) {
        lwq_free(ca->a, der);
        return LWQ_ERR_LIMIT;
    }
    uint8_t **nd = lwq_realloc(ca->a, c->der, (c->count + 1) * sizeof(*nd));
    if (nd)
        c->der = nd;
    size_t *nl = nd ? lwq_realloc(ca->a, c->len, (c->count + 1) * sizeof(*nl)) : NULL;
    if (!nl) {
        lwq_free(ca->a, der);
        return LWQ_ERR_NOMEM;
    }
    c->len = nl;
    c->der[c->count] = der;
    c->len[c->count++] = len;
    return 0;
}

int lwq_cert_chain_load(lwq_cert_chain *chain, const uint8_t *data, size_t len, const lwq_allocator *a)
{
    chain_add ca = {chain, a};
    memset(chain, 0, sizeof(*chain));
    int rc = each_cert(data, len, a, chain_push, &ca);
    if (rc == 0 && chain->count == 0)
        rc = LWQ_ERR_NOT_FOUND;
    if (rc < 0)
        lwq_cert_chain_free(chain, a);
    return rc;
}


void lwq_cert_chain_free(lwq_cert_chain *chain, const lwq_allocator *a)
{
    for (size_t i = 0; i < chain->count; i++)
        lwq_free(a, chain->der[i]);
    lwq_free(a, chain->der);
    lwq_free(a, chain->len);
    memset(chain, 0, sizeof(*chain));
}

int lwq_trust_new(lwq_trust **out, const lwq_allocator *a)
{
    lwq_trust *t = lwq_calloc(a, 1, sizeof(*t));
    if (!t)
        return LWQ_ERR_NOMEM;
    t->a = a;
    *out = t;
    return 0;
}

static int name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

static int trust_push(void *ud, uint8_t *der, size_t len)
{
    lwq_trust *t = ud;
    lwq_x509 x;
    ssize_t k = lwq_x509_parse(&x, der, len);
    if (k < 0 || (size_t)k != len) {
        lwq_free(t->a, der);
        return 0; /* skipped */
    }
    /* binary search for the insertion point; identical certificates are added once */
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = name_cmp(t->v[mid].x.subject, t->v[mid].x.subject_len, x.subject, x.subject_len);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < t->count && name_cmp(t->v[i].x.subject, t->v[i].x.subject_len, x.subject,
                                                 x.subject_len) == 0;
         i++) {
        if (t->v[i].x.der_len == len && memcmp(t->v[i].der, der, len) == 0) {
            lwq_free(t->a, der);
            return 0;
        }
    }
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        anchor *nv = lwq_realloc(t->a, t->v, ncap * sizeof(*nv));
        if (!nv) {
            lwq_free(t->a, der);
            return LWQ_ERR_NOMEM;
        }
        t->v = nv;
        t->cap = ncap;
    }
    memmove(t->v + lo + 1, t->v + lo, (t->count - lo) * sizeof(*t->v));
    t->v[lo].der = der;
    t->v[lo].x = x;
    t->count++;
    return 1;
}

typedef struct trust_add {
    lwq_trust *t;
    int added;
} trust_add;

static int trust_count(void *ud, uint8_t *der, size_t len)
{
    trust_add *ta = ud;
    int rc = trust_push(ta->t, der, len);
    if (rc > 0)
        ta->added++;
    return rc < 0 ? rc : 0;
}

int lwq_trust_add(lwq_trust *t, const uint8_t *data, size_t len)
{
    trust_add ta = {t, 0};
    int rc = each_cert(data, len, t->a, trust_count, &ta);
    return rc < 0 ? rc : ta.added;
}


void lwq_trust_del(lwq_trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        lwq_free(t->a, t->v[i].der);
    lwq_free(t->a, t->v);
    lwq_free(t->a, t);
}

const lwq_x509 *lwq_trust_find(const lwq_trust *t, const uint8_t *name, size_t len, size_t *pos)
{
    if (*pos == 0) {
        size_t lo = 0, hi = t->count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (name_cmp(t->v[mid].x.subject, t->v[mid].x.subject_len, name, len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        *pos = lo + 1;
    }
    size_t i = *pos - 1;
    if (i >= t->count || name_cmp(t->v[i].x.subject, t->v[i].x.subject_len, name, len) != 0)
        return NULL;
    (*pos)++;
    return &t->v[i].x;
}
