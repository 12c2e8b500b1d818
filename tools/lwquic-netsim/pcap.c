#include <string.h>
#include "lwquic-netsim/netsim.h"

#define LINKTYPE_RAW 101

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

size_t ns_ip_udp_header(uint8_t *hdr, const ns_ep *src, const ns_ep *dst, uint8_t ecn, const uint8_t *p, size_t n)
{
    size_t udp_len = n + 8, ip_len;
    uint32_t pseudo;
    uint8_t *udp;
    if (src->v6) {
        ip_len = 40;
        memset(hdr, 0, 40);
        hdr[0] = 0x60 | (uint8_t)((ecn & 3) >> 4); /* traffic class 0x0X: ECN bits low */
        hdr[1] = (uint8_t)((ecn & 3) << 4);
        put16(hdr + 4, (uint32_t)udp_len);
        hdr[6] = 17;
        hdr[7] = 64;
        memcpy(hdr + 8, src->ip, 16);
        memcpy(hdr + 24, dst->ip, 16);
        pseudo = sum16(0, hdr + 8, 32) + 17 + (uint32_t)udp_len; /* RFC 8200 §8.1 */
    } else {
        ip_len = 20;
        memset(hdr, 0, 20);
        hdr[0] = 0x45;
        hdr[1] = ecn & 3;
        put16(hdr + 2, (uint32_t)(20 + udp_len));
        hdr[6] = 0x40; /* DF */
        hdr[8] = 64;
        hdr[9] = 17;
        memcpy(hdr + 12, src->ip, 4);
        memcpy(hdr + 16, dst->ip, 4);
        put16(hdr + 10, fold(sum16(0, hdr, 20)));
        pseudo = sum16(0, hdr + 12, 8) + 17 + (uint32_t)udp_len;
    }
    udp = hdr + ip_len;
    put16(udp, src->port);
    put16(udp + 2, dst->port);
    put16(udp + 4, (uint32_t)udp_len);
    put16(udp + 6, 0);
    uint16_t ck = fold(sum16(sum16(pseudo, udp, 8), p, n));
    put16(udp + 6, ck ? ck : 0xffff);
    return ip_len + 8;
}

int ns_pcap_header(FILE *f)
{
    uint8_t h[24];
    put32le(h, 0xa1b23c4d); /* nanosecond timestamps */
    h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0;
    put32le(h + 8, 0);
    put32le(h + 12, 0);
    put32le(h + 16, 65535 + 48);
    put32le(h + 20, LINKTYPE_RAW);
    return fwrite(h, 1, sizeof(h), f) == sizeof(h) ? 0 : -1;
}

int ns_pcap_record(FILE *f, uint64_t ns, const ns_ep *src, const ns_ep *dst, uint8_t ecn, const uint8_t *p, size_t n)
{
    uint8_t rec[16], hdr[48];
    if (n > 65535 - 48)
        return -1;
    size_t hl = ns_ip_udp_header(hdr, src, dst, ecn, p, n);
    put32le(rec, (uint32_t)(ns / 1000000000ull));
    put32le(rec + 4, (uint32_t)(ns % 1000000000ull));
    put32le(rec + 8, (uint32_t)(hl + n));
    put32le(rec + 12, (uint32_t)(hl + n));
    if (fwrite(rec, 1, 16, f) != 16 || fwrite(hdr, 1, hl, f) != hl || fwrite(p, 1, n, f) != n)
        return -1;
    return 0;
}
