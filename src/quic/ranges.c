#include "quic/ranges.h"
#include "base/mem.h"

void lwq_ranges_init(lwq_ranges *s, const lwq_allocator *a, size_t max)
{
    s->r = NULL;
    s->count = s->cap = 0;
    s->max = max ? max : 1;
    s->alloc = a;
}

void lwq_ranges_free(lwq_ranges *s)
{
    lwq_free(s->alloc, s->r);
    s->r = NULL;
    s->count = s->cap = 0;
}

/* First index whose end >= v (ranges ending exactly at v touch it). */
static size_t lower(const lwq_ranges *s, uint64_t v)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].end < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int reserve(lwq_ranges *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 4;
    if (cap > s->max)
        cap = s->max;
    if (cap < n)
        cap = n;
    lwq_range *r = lwq_realloc(s->alloc, s->r, cap * sizeof(*r));
    if (!r)
        return LWQ_ERR_NOMEM;
    s->r = r;
    s->cap = cap;
    return 0;
}

int lwq_ranges_add(lwq_ranges *s, uint64_t start, uint64_t end)
{
    if (start > end)
        return LWQ_ERR_INVAL;
    if (start == end)
        return 0;
    size_t i = lower(s, start), j = i;
    while (j < s->count && s->r[j].start <= end)
        j++;
    if (i == j) {
        if (s->count >= s->max)
            return LWQ_ERR_LIMIT;
        int rv = reserve(s, s->count + 1);
        if (rv)
            return rv;
        memmove(&s->r[i + 1], &s->r[i], (s->count - i) * sizeof(lwq_range));
        s->r[i] = (lwq_range){start, end};
        s->count++;
        return 0;
    }
    /* r[i..j) touch or overlap [start, end): fold them into r[i]. */
    if (s->r[i].start < start)
        start = s->r[i].start;
    if (s->r[j - 1].end > end)
        end = s->r[j - 1].end;
    s->r[i] = (lwq_range){start, end};
    memmove(&s->r[i + 1], &s->r[j], (s->count - j) * sizeof(lwq_range));
    s->count -= j - i - 1;
    return 0;
}

int lwq_ranges_remove(lwq_ranges *s, uint64_t start, uint64_t end)
{
    if (start > end)
        return LWQ_ERR_INVAL;
    size_t i = lower(s, start + 1 > start ? start + 1 : start);
    if (i >= s->count || start == end || s->r[i].start >= end)
        return 0;
    if (s->r[i].start < start && s->r[i].end > end) {
        if (s->count >= s->max)
            return LWQ_ERR_LIMIT;
        int rv = reserve(s, s->count + 1);
        if (rv)
            return rv;
        memmove(&s->r[i + 1], &s->r[i], (s->count - i) * sizeof(lwq_range));
        s->count++;
        s->r[i].end = start;
        s->r[i + 1].start = end;
        return 0;
    }
    if (s->r[i].start < start) {
        s->r[i].end = start;
        i++;
    }
    size_t j = i;
    while (j < s->count && s->r[j].end <= end)
        j++;
    if (j < s->count && s->r[j].start < end)
        s->r[j].start = end;
    memmove(&s->r[i], &s->r[j], (s->count - j) * sizeof(lwq_range));
    s->count -= j - i;
    return 0;
}

int lwq_ranges_contains(const lwq_ranges *s, uint64_t start, uint64_t end)
{
    if (start >= end)
        return 1;
    size_t i = lower(s, start + 1);
    return i < s->count && s->r[i].start <= start && s->r[i].end >= end;
}

int lwq_ranges_intersects(const lwq_ranges *s, uint64_t start, uint64_t end)
{
    if (start >= end)
        return 0;
    size_t i = lower(s, start + 1);
    return i < s->count && s->r[i].start < end;
}

uint64_t lwq_ranges_contiguous_end(const lwq_ranges *s, uint64_t from)
{
    size_t i = lower(s, from);
    if (i < s->count && s->r[i].start <= from)
        return s->r[i].end;
    return from;
}
