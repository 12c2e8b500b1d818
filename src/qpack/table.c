/* RFC 9204 §3.2: dynamic table storage, capacity, eviction and absolute indexing. */
#include <string.h>
#include "base/mem.h"
#include "qpack/table.h"

void lwq_qpack_table_init(lwq_qpack_table *t, const lwq_allocator *a)
{
    memset(t, 0, sizeof(*t));
    t->alloc = a;
}

static void evict_oldest(lwq_qpack_table *t)
{
    lwq_qpack_entry **slot = &t->ring[t->dropped & (t->ring_cap - 1)];
    t->size -= lwq_qpack_entry_size(*slot);
    lwq_free(t->alloc, *slot);
    *slot = NULL;
    t->dropped++;
}

void lwq_qpack_table_free(lwq_qpack_table *t)
{
    while (t->dropped < t->inserted)
        evict_oldest(t);
    lwq_free(t->alloc, t->ring);
    t->ring = NULL;
    t->ring_cap = 0;
}

const lwq_qpack_entry *lwq_qpack_table_get(const lwq_qpack_table *t, uint64_t abs)
{
    if (abs < t->dropped || abs >= t->inserted)
        return NULL;
    return t->ring[abs & (t->ring_cap - 1)];
}

void lwq_qpack_table_set_capacity(lwq_qpack_table *t, size_t capacity)
{
    t->capacity = capacity;
    while (t->size > capacity)
        evict_oldest(t);
}

uint64_t lwq_qpack_table_survivor(const lwq_qpack_table *t, size_t size)
{
    if (size > t->capacity)
        return t->inserted + 1;
    uint64_t abs = t->dropped;
    size_t cur = t->size;
    while (cur > t->capacity - size) {
        cur -= lwq_qpack_entry_size(lwq_qpack_table_get(t, abs));
        abs++;
    }
    return abs;
}

uint32_t lwq_qpack_hash(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

lwq_qpack_entry *lwq_qpack_entry_alloc(const lwq_allocator *a, size_t name_len, size_t value_cap)
{
    if (name_len > UINT32_MAX || value_cap > UINT32_MAX || name_len + value_cap > SIZE_MAX - sizeof(lwq_qpack_entry))
        return NULL;
    lwq_qpack_entry *e = lwq_malloc(a, sizeof(*e) + name_len + value_cap);
    if (e) {
        e->name_len = (uint32_t)name_len;
        e->value_len = (uint32_t)value_cap;
    }
    return e;
}

void lwq_qpack_entry_seal(lwq_qpack_entry *e)
{
    e->name_hash = lwq_qpack_hash(LWQ_QPACK_HASH_INIT, e->data, e->name_len);
    e->hash = lwq_qpack_hash(e->name_hash ^ 0xff, lwq_qpack_entry_value(e), e->value_len);
}

lwq_qpack_entry *lwq_qpack_entry_new(const lwq_allocator *a, const uint8_t *name, size_t name_len, const uint8_t *value,
                                     size_t value_len)
{
    lwq_qpack_entry *e = lwq_qpack_entry_alloc(a, name_len, value_len);
    if (!e)
        return NULL;
    if (name_len)
        memcpy(e->data, name, name_len);
    if (value_len)
        memcpy(e->data + name_len, value, value_len);
    lwq_qpack_entry_seal(e);
    return e;
}

static int grow_ring(lwq_qpack_table *t)
{
    size_t ncap = t->ring_cap ? t->ring_cap * 2 : 16;
    lwq_qpack_entry **nr = lwq_calloc(t->alloc, ncap, sizeof(*nr));
    if (!nr)
        return LWQ_ERR_NOMEM;
    for (uint64_t i = t->dropped; i < t->inserted; i++)
        nr[i & (ncap - 1)] = t->ring[i & (t->ring_cap - 1)];
    lwq_free(t->alloc, t->ring);
    t->ring = nr;
    t->ring_cap = ncap;
    return 0;
}

int lwq_qpack_table_insert(lwq_qpack_table *t, lwq_qpack_entry *e)
{
    size_t sz = lwq_qpack_entry_size(e);
    uint64_t keep = lwq_qpack_table_survivor(t, sz);
    if (t->inserted - keep + 1 > t->ring_cap && grow_ring(t) < 0)
        return LWQ_ERR_NOMEM;
    while (t->dropped < keep)
        evict_oldest(t);
    t->ring[t->inserted & (t->ring_cap - 1)] = e;
    t->inserted++;
    t->size += sz;
    return 0;
}
