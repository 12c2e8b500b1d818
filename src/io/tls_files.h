/* TLS material from files: the only place below the tools that reads certificates, keys and trust
 * bundles from disk. The sans-IO layers take bytes (lwq_config cert_data, key_data, ca_data); the
 * public lwq_context_new (tls_files.c) reads cert_file, key_file, ca_file or the system bundle into
 * those and hands the bytes on. */
#ifndef LWQ_IO_TLS_FILES_H
#define LWQ_IO_TLS_FILES_H

#include "tls/cert.h"

#define LWQ_SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* Whole file into a buffer from a (at most max bytes; LWQ_ERR_LIMIT beyond, LWQ_ERR_IO with errno set
 * when it cannot be read). */
int lwq_read_file(const char *path, size_t max, uint8_t **out, size_t *len, const lwq_allocator *a);
int lwq_privkey_load_file(lwq_privkey **out, const char *path, const lwq_allocator *a);
int lwq_cert_chain_load_file(lwq_cert_chain *chain, const char *path, const lwq_allocator *a);
/* The anchors of a PEM bundle or DER file: the count added, or a negative error. */
int lwq_trust_add_file(lwq_trust *t, const char *path);

#endif
