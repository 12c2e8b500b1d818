/* One direction of a simulated link. A datagram offered at `now` meets, in order: the MTU, blackout
 * windows, deterministic loss, random loss, the drop-tail queue (and ECN marking), corruption, then
 * serialization, delay, jitter, reordering and duplication. Losses happen before the queue, so a
 * lost datagram never takes capacity. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "sim/link.h"
#include "base/mem.h"

int lwq_sim_addr_eq(lwq_sim_addr a, lwq_sim_addr b)
{
    return a.host == b.host && a.port == b.port;
}

socklen_t lwq_sim_addr_to_sockaddr(lwq_sim_addr a, struct sockaddr_storage *ss)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a.port);
    sin->sin_addr.s_addr = htonl(0x0a000000u | a.host);
    return sizeof(*sin);
}

int lwq_sim_addr_from_sockaddr(lwq_sim_addr *a, const struct sockaddr *sa)
{
    if (sa->sa_family != AF_INET)
        return LWQ_ERR_INVAL;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
    uint32_t ip = ntohl(sin->sin_addr.s_addr);
    if ((ip & 0xffffff00u) != 0x0a000000u)
        return LWQ_ERR_INVAL;
    a->host = (uint8_t)ip;
    a->port = ntohs(sin->sin_port);
    return 0;
}

const char *lwq_sim_addr_str(lwq_sim_addr a, char *buf, size_t cap)
{
    snprintf(buf, cap, "10.0.0.%u:%u", a.host, a.port);
    return buf;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void prng_fill(void *ud, uint8_t *out, size_t n)
{
    while (n) {
        uint64_t v = lwq_sim_prng_next(ud);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
}

void lwq_sim_prng_seed(lwq_sim_prng *p, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ splitmix64(&stream);
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&x);
    p->rng.fill = prng_fill;
    p->rng.ud = p;
}

uint64_t lwq_sim_prng_next(lwq_sim_prng *p)
{
    uint64_t *s = p->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint64_t lwq_sim_prng_below(lwq_sim_prng *p, uint64_t n)
{
    /* Rejection sampling keeps it unbiased. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;
    do
        v = lwq_sim_prng_next(p);
    while (v >= lim);
    return v % n;
}

int lwq_sim_prng_chance(lwq_sim_prng *p, double fraction)
{
    if (fraction <= 0)
        return 0;
    return (double)(lwq_sim_prng_next(p) >> 11) * 0x1.0p-53 < fraction;
}

const lwq_rng *lwq_sim_prng_rng(lwq_sim_prng *p)
{
    return &p->rng;
}

const char *lwq_sim_drop_name(lwq_sim_drop cause)
{
    static const char *const names[LWQ_SIM_DROP_COUNT] = {"mtu", "blackout", "mask", "random", "queue", "nat"};
    return (unsigned)cause < LWQ_SIM_DROP_COUNT ? names[cause] : "?";
}

lwq_sim_pkt *lwq_sim_pkt_new(const lwq_allocator *a, const uint8_t *data, size_t len)
{
    lwq_sim_pkt *p = lwq_malloc(a, sizeof(*p) + len);
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->len = len;
    if (len)
        memcpy(p->data, data, len);
    return p;
}

static int fraction_ok(double f)
{
    return f >= 0 && f <= 1;
}

int lwq_sim_link_init(lwq_sim_link *l, const lwq_sim_link_config *cfg, uint64_t seed, uint64_t stream,
                      const lwq_allocator *a)
{
    memset(l, 0, sizeof(*l));
    if (!fraction_ok(cfg->loss) || !fraction_ok(cfg->reorder) || !fraction_ok(cfg->duplicate) ||
        !fraction_ok(cfg->corrupt) || (cfg->reorder > 0 && !cfg->reorder_delay) ||
        cfg->blackouts > LWQ_SIM_MAX_BLACKOUTS || (cfg->drop_list_len && !cfg->drop_list) ||
        (unsigned)cfg->ecn > LWQ_SIM_ECN_MARK)
        return LWQ_ERR_INVAL;
    l->cfg = *cfg;
    l->alloc = a;
    if (cfg->drop_list_len) {
        uint64_t *copy = lwq_memdup(a, cfg->drop_list, cfg->drop_list_len * sizeof(uint64_t));
        if (!copy) {
            memset(l, 0, sizeof(*l));
            return LWQ_ERR_NOMEM;
        }
        l->cfg.drop_list = copy;
    }
    lwq_sim_prng_seed(&l->rng, seed, stream);
    return 0;
}

void lwq_sim_link_free(lwq_sim_link *l)
{
    if (l->cfg.drop_list_len)
        lwq_free(l->alloc, (void *)l->cfg.drop_list);
    lwq_free(l->alloc, l->queue);
    memset(l, 0, sizeof(*l));
}

static int in_blackout(const lwq_sim_link *l, lwq_tstamp now)
{
    for (size_t i = 0; i < l->cfg.blackouts; i++)
        if (now >= l->cfg.blackout[i].from && now < l->cfg.blackout[i].until)
            return 1;
    return 0;
}

static int masked(const lwq_sim_link *l, uint64_t k)
{
    if (l->cfg.drop_mask >> ((k - 1) % 64) & 1)
        return 1;
    for (size_t i = 0; i < l->cfg.drop_list_len; i++)
        if (l->cfg.drop_list[i] == k)
            return 1;
    return 0;
}

static int random_loss(lwq_sim_link *l)
{
    if (!lwq_sim_prng_chance(&l->rng, l->cfg.loss)) {
        l->burst = 0;
        return 0;
    }
    if (l->cfg.max_burst && l->burst >= l->cfg.max_burst) {
        l->burst = 0;
        return 0;
    }
    l->burst++;
    return 1;
}

static void queue_expire(lwq_sim_link *l, lwq_tstamp now)
{
    while (l->q_len && l->queue[l->q_head].end <= now) {
        l->q_bytes -= l->queue[l->q_head].len;
        l->q_head = (l->q_head + 1) % l->q_cap;
        l->q_len--;
    }
}

static int queue_push(lwq_sim_link *l, lwq_tstamp end, size_t len)
{
    if (l->q_len == l->q_cap) {
        size_t cap = l->q_cap ? l->q_cap * 2 : 16;
        struct lwq_sim_slot *q = lwq_malloc(l->alloc, cap * sizeof(*q));
        if (!q)
            return LWQ_ERR_NOMEM;
        for (size_t i = 0; i < l->q_len; i++)
            q[i] = l->queue[(l->q_head + i) % l->q_cap];
        lwq_free(l->alloc, l->queue);
        l->queue = q;
        l->q_cap = cap;
        l->q_head = 0;
    }
    l->queue[(l->q_head + l->q_len) % l->q_cap] = (struct lwq_sim_slot){end, len};
    l->q_len++;
    l->q_bytes += len;
    if (l->q_len > l->stats.max_queue_packets)
        l->stats.max_queue_packets = l->q_len;
    if (l->q_bytes > l->stats.max_queue_bytes)
        l->stats.max_queue_bytes = l->q_bytes;
    return 0;
}

static lwq_tstamp serialization(const lwq_sim_link *l, size_t len)
{
    if (!l->cfg.rate)
        return 0;
    return ((uint64_t)len * 8 * LWQ_SEC + l->cfg.rate - 1) / l->cfg.rate;
}

static int drop(lwq_sim_link *l, lwq_sim_pkt *pkt, lwq_sim_drop cause)
{
    l->stats.dropped[cause]++;
    lwq_free(l->alloc, pkt);
    return 0;
}

int lwq_sim_link_offer(lwq_sim_link *l, lwq_sim_pkt *pkt, lwq_tstamp now, lwq_sim_pkt *out[2])
{
    uint64_t k = ++l->ordinal;
    l->stats.offered++;
    l->stats.bytes_offered += pkt->len;
    if (l->cfg.mtu && pkt->len > l->cfg.mtu)
        return drop(l, pkt, LWQ_SIM_DROP_MTU);
    if (in_blackout(l, now))
        return drop(l, pkt, LWQ_SIM_DROP_BLACKOUT);
    if (masked(l, k))
        return drop(l, pkt, LWQ_SIM_DROP_MASK);
    if (random_loss(l))
        return drop(l, pkt, LWQ_SIM_DROP_RANDOM);

    lwq_sim_link *q = l->share ? l->share : l;
    queue_expire(q, now);
    size_t ahead = q->q_len;
    if ((q->cfg.queue_packets && ahead >= q->cfg.queue_packets) ||
        (q->cfg.queue_bytes && q->q_bytes + pkt->len > q->cfg.queue_bytes))
        return drop(l, pkt, LWQ_SIM_DROP_QUEUE);
    lwq_tstamp start = q->busy_until > now ? q->busy_until : now, end = start + serialization(q, pkt->len);
    if (end > now && queue_push(q, end, pkt->len) < 0) {
        lwq_free(l->alloc, pkt);
        return LWQ_ERR_NOMEM;
    }
    q->busy_until = end;

    if (l->cfg.ecn == LWQ_SIM_ECN_BLEACH) {
        pkt->ecn = LWQ_SIM_NOT_ECT;
    } else if (l->cfg.ecn == LWQ_SIM_ECN_MARK && pkt->ecn != LWQ_SIM_NOT_ECT && pkt->ecn != LWQ_SIM_CE &&
               ahead >= l->cfg.ce_threshold) {
        /* RFC 3168 §5: a congested router marks ECT packets instead of dropping them. */
        pkt->ecn = LWQ_SIM_CE;
        l->stats.ce_marked++;
    }
    if (pkt->len && lwq_sim_prng_chance(&l->rng, l->cfg.corrupt)) {
        uint64_t bit = lwq_sim_prng_below(&l->rng, (uint64_t)pkt->len * 8);
        pkt->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        l->stats.corrupted++;
    }

    lwq_tstamp at = end + l->cfg.delay;
    if (l->cfg.jitter)
        at += lwq_sim_prng_below(&l->rng, l->cfg.jitter + 1);
    if (lwq_sim_prng_chance(&l->rng, l->cfg.reorder)) {
        at += l->cfg.reorder_delay; /* does not hold back the datagrams behind it */
        l->stats.reordered++;
    } else {
        if (at < l->last_delivery)
            at = l->last_delivery;
        l->last_delivery = at;
    }
    pkt->deliver_at = at;
    out[0] = pkt;
    if (!lwq_sim_prng_chance(&l->rng, l->cfg.duplicate))
        return 1;
    out[1] = lwq_memdup(l->alloc, pkt, sizeof(*pkt) + pkt->len);
    if (!out[1]) {
        lwq_free(l->alloc, pkt);
        return LWQ_ERR_NOMEM;
    }
    l->stats.duplicated++;
    return 2;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

int lwq_sim_link_pcap(lwq_sim_link *l, FILE *f)
{
    uint8_t h[24];
    put_le32(h, 0xa1b23c4d); /* nanosecond-resolution pcap */
    put_le16(h + 4, 2);
    put_le16(h + 6, 4);
    put_le32(h + 8, 0);
    put_le32(h + 12, 0);
    put_le32(h + 16, 65535);
    put_le32(h + 20, 101); /* LINKTYPE_RAW: the record starts with the IP header */
    if (fwrite(h, sizeof(h), 1, f) != 1)
        return LWQ_ERR_IO;
    l->pcap = f;
    return 0;
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += lwq_get16(p + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void pcap_record(lwq_sim_link *l, const lwq_sim_pkt *pkt)
{
    uint8_t rec[16], hdr[28];
    size_t total = sizeof(hdr) + pkt->len;
    if (total > 65535)
        return;
    put_le32(rec, (uint32_t)(pkt->deliver_at / LWQ_SEC));
    put_le32(rec + 4, (uint32_t)(pkt->deliver_at % LWQ_SEC));
    put_le32(rec + 8, (uint32_t)total);
    put_le32(rec + 12, (uint32_t)total);
    /* RFC 791 §3.1 header without options, then RFC 768 with a zero (absent) checksum. */
    memset(hdr, 0, sizeof(hdr));
    hdr[0] = 0x45;
    hdr[1] = pkt->ecn & 3;
    lwq_put16(hdr + 2, (uint16_t)total);
    lwq_put16(hdr + 4, l->ip_id++);
    hdr[6] = 0x40; /* don't fragment */
    hdr[8] = 64;
    hdr[9] = 17;
    lwq_put32(hdr + 12, 0x0a000000u | pkt->from.host);
    lwq_put32(hdr + 16, 0x0a000000u | pkt->to.host);
    lwq_put16(hdr + 10, ip_checksum(hdr, 20));
    lwq_put16(hdr + 20, pkt->from.port);
    lwq_put16(hdr + 22, pkt->to.port);
    lwq_put16(hdr + 24, (uint16_t)(8 + pkt->len));
    if (fwrite(rec, sizeof(rec), 1, l->pcap) != 1 || fwrite(hdr, sizeof(hdr), 1, l->pcap) != 1 ||
        (pkt->len && fwrite(pkt->data, pkt->len, 1, l->pcap) != 1))
        l->pcap = NULL; /* a broken capture must not change the run */
}

void lwq_sim_link_share(lwq_sim_link *l, lwq_sim_link *bottleneck)
{
    l->share = bottleneck == l ? NULL : bottleneck;
}

void lwq_sim_link_delivered(lwq_sim_link *l, const lwq_sim_pkt *pkt)
{
    l->stats.delivered++;
    l->stats.bytes_delivered += pkt->len;
    if (l->pcap)
        pcap_record(l, pkt);
}

void lwq_sim_link_dropped(lwq_sim_link *l, const lwq_sim_pkt *pkt, lwq_sim_drop cause)
{
    (void)pkt;
    l->stats.dropped[cause]++;
}
