/* Certificates, keys and trust bundles read from files, and lwq_context_new, which reads the files a
 * config names and gives the sans-IO context their bytes (see tls_files.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "base/mem.h"
#include "io/tls_files.h"
#include "quic/conn.h"

#define BUNDLE_MAX (16u << 20)

int lwq_read_file(const char *path, size_t max, uint8_t **out, size_t *len, const lwq_allocator *a)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return LWQ_ERR_IO;
    /* one byte beyond max tells a file of exactly max bytes from a longer one */
    size_t lim = max + 1, cap = lim < 4096 ? lim : 4096, n = 0;
    uint8_t *buf = lwq_malloc(a, cap);
    int rc = buf ? 0 : LWQ_ERR_NOMEM;
    while (rc == 0) {
        if (n == cap) {
            if (cap == lim) {
                rc = LWQ_ERR_LIMIT;
                break;
            }
            size_t ncap = cap > lim / 2 ? lim : cap * 2;
            uint8_t *nb = lwq_realloc(a, buf, ncap);
            if (!nb) {
                rc = LWQ_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) {
            if (ferror(f))
                rc = LWQ_ERR_IO;
            break;
        }
        n += r;
    }
    fclose(f);
    if (rc == 0 && n > max)
        rc = LWQ_ERR_LIMIT;
    if (rc < 0) {
        lwq_free(a, buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

int lwq_privkey_load_file(lwq_privkey **out, const char *path, const lwq_allocator *a)
{
    uint8_t *buf;
    size_t len;
    int rc = lwq_read_file(path, (1u << 20), &buf, &len, a);
    if (rc < 0)
        return rc;
    rc = lwq_privkey_load(out, buf, len, a);
    lwq_wipe(buf, len);
    lwq_free(a, buf);
    return rc;
}

int lwq_cert_chain_load_file(lwq_cert_chain *chain, const char *path, const lwq_allocator *a)
{
    uint8_t *buf;
    size_t len;
    memset(chain, 0, sizeof(*chain));
    int rc = lwq_read_file(path, BUNDLE_MAX, &buf, &len, a);
    if (rc < 0)
        return rc;
    rc = lwq_cert_chain_load(chain, buf, len, a);
    lwq_free(a, buf);
    return rc;
}


int lwq_trust_add_file(lwq_trust *t, const char *path)
{
    uint8_t *buf;
    size_t len;
    int rc = lwq_read_file(path, BUNDLE_MAX, &buf, &len, NULL);
    if (rc < 0)
        return rc;
    rc = lwq_trust_add(t, buf, len);
    lwq_free(NULL, buf);
    return rc;
}

/* One file into *data and *len (owned by the caller's allocator) unless the bytes were given. */
static int read_into(const char *path, size_t max, const uint8_t **data, size_t *len, uint8_t **owned,
                     const lwq_allocator *a)
{
    if (*data || !path)
        return 0;
    size_t n;
    int rc = lwq_read_file(path, max, owned, &n, a);
    if (rc == 0) {
        *data = *owned;
        *len = n;
    }
    return rc;
}

int lwq_context_new(lwq_context **out, const lwq_config *cfg, const char **why)
{
    *out = NULL;
    if (why)
        *why = NULL;
    lwq_config c;
    size_t have = cfg->struct_size && cfg->struct_size < sizeof(c) ? cfg->struct_size : sizeof(c);
    lwq_config_init(&c, cfg->is_server);
    memcpy(&c, cfg, have);
    c.struct_size = sizeof(c);
    const lwq_allocator *a = c.alloc ? c.alloc : lwq_default_allocator();
    uint8_t *cert = NULL, *key = NULL, *ca = NULL;
    size_t key_len = 0;
    int rc = 0;
    if (c.is_server) {
        if ((rc = read_into(c.cert_file, BUNDLE_MAX, &c.cert_data, &c.cert_len, &cert, a)) != 0 && why)
            *why = "cannot load the certificate chain (cert_file)";
        if (!rc && (rc = read_into(c.key_file, 1u << 20, &c.key_data, &c.key_len, &key, a)) != 0 && why)
            *why = "cannot load the private key (key_file)";
        key_len = key ? c.key_len : 0;
    } else if (!c.insecure && !c.ca_data) {
        rc = read_into(c.ca_file ? c.ca_file : LWQ_SYSTEM_BUNDLE, BUNDLE_MAX, &c.ca_data, &c.ca_len, &ca, a);
        if (rc && why)
            *why = "cannot load trust anchors (ca_file)";
    }
    int saved = errno;
    if (!rc)
        rc = lwq_context_new_mem(out, &c, why);
    if (cert)
        lwq_free(a, cert);
    if (key) {
        lwq_wipe(key, key_len);
        lwq_free(a, key);
    }
    if (ca)
        lwq_free(a, ca);
    errno = saved;
    return rc;
}
