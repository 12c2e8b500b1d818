/* A byte budget shared by connections and the application, safe from any thread (atomics only). */
#include "base/mem.h"

struct lwq_budget {
    uint64_t limit;
    uint64_t used; /* atomic */
};

int lwq_budget_new(lwq_budget **out, uint64_t limit)
{
    lwq_budget *b = lwq_calloc(NULL, 1, sizeof(*b));
    *out = b;
    if (!b)
        return LWQ_ERR_NOMEM;
    b->limit = limit;
    return 0;
}

void lwq_budget_del(lwq_budget *b)
{
    lwq_free(NULL, b);
}

int lwq_budget_take(lwq_budget *b, uint64_t n)
{
    if (!b)
        return 0;
    uint64_t cur = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
    do {
        if (n > b->limit || cur > b->limit - n)
            return LWQ_ERR_LIMIT;
    } while (!__atomic_compare_exchange_n(&b->used, &cur, cur + n, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return 0;
}

void lwq_budget_give(lwq_budget *b, uint64_t n)
{
    if (b)
        __atomic_sub_fetch(&b->used, n, __ATOMIC_ACQ_REL);
}

uint64_t lwq_budget_used(const lwq_budget *b)
{
    return b ? __atomic_load_n(&b->used, __ATOMIC_RELAXED) : 0;
}
