/* QUIC-LB in a whole connection: every connection ID a server issues (its handshake SCID and the
 * NEW_CONNECTION_ID ones) carries its server ID and shard, at the configured length, and
 * lwq_context_cid_shard finds the shard in the client's short-header datagrams, also after the
 * client moved to a new path with a new CID. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "conn_pair.h"
#include "quic/cid.h"

static int confirmed(pair *p)
{
    return pair_established(p) && p->client->handshake_confirmed && lwq_cids_spare(p->client);
}

static void check_server_cids(pair *p, const lwq_quic_lb *lb, uint8_t shard)
{
    size_t n = 0;
    for (size_t i = 0; i < LWQ_CIDS_LOCAL_MAX; i++) {
        const lwq_local_cid *l = &p->server->cids.local[i];
        if (!l->used)
            continue;
        uint8_t sid[LWQ_QUIC_LB_SID_MAX];
        ck_assert_uint_eq(l->cid.len, lwq_quic_lb_cid_len(lb));
        ck_assert_int_eq(lwq_quic_lb_decode(lb, l->cid.id, l->cid.len, sid, NULL), 0);
        ck_assert_mem_eq(sid, lb->server_id, lb->server_id_len - 1u);
        ck_assert_uint_eq(sid[lb->server_id_len - 1], (uint8_t)(lb->server_id[lb->server_id_len - 1] + shard));
        n++;
    }
    ck_assert_uint_ge(n, 2); /* sequence 0 and NEW_CONNECTION_ID ones */
}

/* The client's next datagram: its DCID names the server's shard. */
static void check_client_dgram(pair *p, uint8_t shard, uint8_t *dcid)
{
    uint8_t buf[PAIR_DGRAM];
    lwq_path path;
    size_t seg;
    uint8_t ecn;
    int64_t id;
    ck_assert_int_eq(lwq_stream_open(p->client, 1, &id), 0);
    ck_assert_int_eq(lwq_stream_write(p->client, id, (const uint8_t *)"x", 1, 1), 1);
    ssize_t n = lwq_conn_send(p->client, &path, buf, sizeof(buf), 1, &seg, &ecn, p->now);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(lwq_context_cid_shard(p->sctx, buf, (size_t)n), shard);
    memcpy(dcid, buf + 1, LWQ_CID_MAX);
    lwq_conn *c = NULL;
    ck_assert_int_eq(lwq_server_recv(p->srv, &path, buf, (size_t)n, 0, p->now, &c, NULL), 0);
    ck_assert_ptr_eq(c, p->server);
}

static void run(const char *config, uint8_t shard, uint64_t seed)
{
    pair p;
    pair_init(&p, seed);
    lwq_quic_lb lb;
    memset(&lb, 0, sizeof(lb));
    if (config) {
        ck_assert_int_eq(lwq_quic_lb_parse(&lb, config), 0);
        p.scfg.quic_lb = lb;
    } else {
        lb.server_id_len = 1; /* the shards' default: a one-byte server ID, plaintext, 8-byte CIDs */
        lb.nonce_len = 6;
    }
    pair_start(&p);
    lwq_server_set_cid_tag(p.srv, shard);
    ck_assert(pair_run(&p, confirmed, 5 * LWQ_SEC));
    check_server_cids(&p, &lb, shard);
    uint8_t before[LWQ_CID_MAX], after[LWQ_CID_MAX];
    check_client_dgram(&p, shard, before);
    /* a move to a new path uses the next CID (RFC 9000 §9.5): still the same shard */
    lwq_path moved = p.path;
    ((struct sockaddr_in *)&moved.remote)->sin_port = htons(6000);
    ck_assert_int_eq(lwq_conn_migrate(p.client, &moved), 0);
    check_client_dgram(&p, shard, after);
    ck_assert(memcmp(before, after, lwq_quic_lb_cid_len(&lb)) != 0);
    pair_free(&p);
}

START_TEST(test_plaintext) { run("cr=1,sid=0a0b0c,noncelen=5", 0, 1); }
END_TEST
START_TEST(test_four_pass_sharded) { run("cr=2,sid=0a0b0c,noncelen=8,key=000102030405060708090a0b0c0d0e0f", 3, 2); }
END_TEST
START_TEST(test_single_pass_sharded)
{
    run("cr=0,sid=01020304050607f0,noncelen=8,key=8f95f09245765f80256934e50c66207f", 17, 3);
}
END_TEST
START_TEST(test_default_shards) { run(NULL, 5, 4); }
END_TEST

START_TEST(test_bad_config_refused)
{
    lwq_config cfg;
    lwq_config_init(&cfg, 1);
    static const char *alpn[] = {"test"};
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.quic_lb.server_id_len = 2;
    cfg.quic_lb.nonce_len = 3; /* below 4 */
    lwq_context *ctx = NULL;
    const char *why = NULL;
    ck_assert_int_eq(lwq_context_new(&ctx, &cfg, &why), LWQ_ERR_INVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(ctx);
}
END_TEST

/* lwq_context_cid_shard reads short headers of this host's configuration only. */
START_TEST(test_shard_of_datagrams)
{
    pair p;
    pair_init(&p, 5);
    ck_assert_int_eq(lwq_quic_lb_parse(&p.scfg.quic_lb, "cr=3,sid=0a05,noncelen=6"), 0);
    pair_start(&p);
    uint8_t d[32];
    memset(d, 0x55, sizeof(d));
    d[0] = 0x40;                    /* short header */
    d[1] = 3 << 5 | 8;              /* configuration 3, 8 bytes follow */
    d[2] = 0x0a;
    d[3] = 0x07;                    /* shard 2 */
    ck_assert_int_eq(lwq_context_cid_shard(p.sctx, d, sizeof(d)), 2);
    ck_assert_int_eq(lwq_context_cid_shard(p.sctx, d, 1 + 8), LWQ_ERR_TRUNCATED);
    d[2] = 0x0b; /* another host */
    ck_assert_int_eq(lwq_context_cid_shard(p.sctx, d, sizeof(d)), LWQ_ERR_NOT_FOUND);
    d[2] = 0x0a;
    d[1] = 2 << 5 | 8; /* another configuration */
    ck_assert_int_eq(lwq_context_cid_shard(p.sctx, d, sizeof(d)), LWQ_ERR_NOT_FOUND);
    d[1] = 3 << 5 | 8;
    ck_assert_int_eq(lwq_context_cid_shard(p.cctx, d, sizeof(d)), LWQ_ERR_NOT_FOUND); /* a client's */
    d[0] = 0xc0; /* a long header */
    ck_assert_int_eq(lwq_context_cid_shard(p.sctx, d, sizeof(d)), LWQ_ERR_NOT_FOUND);
    pair_free(&p);
}
END_TEST

Suite *suite_conn_lb(void)
{
    Suite *s = suite_create("conn_lb");
    TCase *tc = lwq_test_tcase("conn_lb");
    tcase_add_test(tc, test_plaintext);
    tcase_add_test(tc, test_four_pass_sharded);
    tcase_add_test(tc, test_single_pass_sharded);
    tcase_add_test(tc, test_default_shards);
    tcase_add_test(tc, test_bad_config_refused);
    tcase_add_test(tc, test_shard_of_datagrams);
    suite_add_tcase(s, tc);
    return s;
}
