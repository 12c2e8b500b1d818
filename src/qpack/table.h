/* The QPACK dynamic table (RFC 9204 §3.2), shared by the encoder and the decoder. */
#ifndef LWQ_QPACK_TABLE_H
#define LWQ_QPACK_TABLE_H

#include "lwquic/common.h"

typedef struct lwq_qpack_entry {
    uint32_t name_len, value_len;
    uint32_t name_hash, hash; /* of the name, of name and value */
    uint8_t data[];           /* name then value */
} lwq_qpack_entry;

#define LWQ_QPACK_ENTRY_OVERHEAD 32
static inline size_t lwq_qpack_entry_size(const lwq_qpack_entry *e)
{
    return (size_t)e->name_len + e->value_len + LWQ_QPACK_ENTRY_OVERHEAD;
}
static inline const uint8_t *lwq_qpack_entry_value(const lwq_qpack_entry *e)
{
    return e->data + e->name_len;
}

/* Entries live at absolute indices [dropped, inserted) (RFC 9204 §3.2.4). */
typedef struct lwq_qpack_table {
    const lwq_allocator *alloc;
    lwq_qpack_entry **ring; /* ring_cap slots, a power of two, indexed by absolute index */
    size_t ring_cap;
    uint64_t dropped, inserted;
    size_t size, capacity;
} lwq_qpack_table;

void lwq_qpack_table_init(lwq_qpack_table *t, const lwq_allocator *a);
void lwq_qpack_table_free(lwq_qpack_table *t);
/* The entry at an absolute index, or NULL when evicted or not yet inserted. */
const lwq_qpack_entry *lwq_qpack_table_get(const lwq_qpack_table *t, uint64_t abs);
/* Sets the capacity, evicting from the oldest end (RFC 9204 §3.2.2). */
void lwq_qpack_table_set_capacity(lwq_qpack_table *t, size_t capacity);
/* First absolute index that survives inserting an entry of `size` bytes; `inserted` + 1 when
 * it cannot fit at all. */
uint64_t lwq_qpack_table_survivor(const lwq_qpack_table *t, size_t size);
/* A new entry from the allocator, or NULL. Lengths must fit in 32 bits. */
lwq_qpack_entry *lwq_qpack_entry_new(const lwq_allocator *a, const uint8_t *name, size_t name_len, const uint8_t *value,
                                     size_t value_len);
/* An entry with room for name_len + value_cap bytes; the caller fills data, sets the lengths
 * and calls lwq_qpack_entry_seal(). */
lwq_qpack_entry *lwq_qpack_entry_alloc(const lwq_allocator *a, size_t name_len, size_t value_cap);
void lwq_qpack_entry_seal(lwq_qpack_entry *e);
/* Evicts what must go and appends e, which the table then owns. The caller checked that e
 * fits the capacity. 0 or LWQ_ERR_NOMEM (e still the caller's, table unchanged). */
int lwq_qpack_table_insert(lwq_qpack_table *t, lwq_qpack_entry *e);
uint32_t lwq_qpack_hash(uint32_t h, const uint8_t *p, size_t n);
#define LWQ_QPACK_HASH_INIT 2166136261u

#endif
