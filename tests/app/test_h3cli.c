/* The blocking HTTP/3 client against lwquic-server (the tool, started from the build's bin/): byte-exact
 * GET, HEAD, POST, 404, one connection shared by 8 threads, reconnection with session resumption after an
 * idle close, remote_address, the body limit, a streamed body, bad URLs, an untrusted certificate. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "lwquic/app.h"

static pid_t srv_pid;
static char root[64];
static int port;
static uint8_t file[300000];

static int early_data; /* start servers with --early-data */

/* The client's idle timeout in the reconnection tests, and a wait that outlasts it (generous: under
 * ASan on a loaded machine a handshake has taken more than a second). */
#define IDLE (2 * LWQ_SEC)
#define IDLE_WAIT 4500000

/* A UDP port nobody holds now (the kernel's pick); the server binds it with SO_REUSEPORT, so a fixed
 * port could be shared silently with another test's server. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t spawn(const char *bin, const char *listen)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--cert", lwq_test_data_path("certs/server-ecdsa.pem"), "--key",
              lwq_test_data_path("certs/server-ecdsa.key"), "--listen", listen, "--root", root, "-q",
              early_data ? "--early-data" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static char server_bin[4200], server_listen[64];

static void start_server(void)
{
    char exe[4096], bin[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0; /* BUILD/tests */
    *strrchr(exe, '/') = 0; /* BUILD */
    snprintf(bin, sizeof(bin), "%s/bin/lwquic-server", exe);
    snprintf(server_bin, sizeof(server_bin), "%s", bin);
    ck_assert_msg(access(bin, X_OK) == 0, "%s missing: run make tools", bin);
    snprintf(root, sizeof(root), "/tmp/lwq-h3cli-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[128];
    snprintf(path, sizeof(path), "%s/file.bin", root);
    for (size_t i = 0; i < sizeof(file); i++)
        file[i] = (uint8_t)(i * 31 + i / 251);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(file, 1, sizeof(file), f);
    fclose(f);
    port = free_port();
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(server_listen, sizeof(server_listen), "%s", listen);
    srv_pid = spawn(bin, listen);
    usleep(300000);
}

static void stop_server(void)
{
    kill(srv_pid, SIGKILL);
    waitpid(srv_pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    ck_assert_int_eq(system(cmd), 0);
}

static lwq_h3cli *make_client(lwq_tstamp idle, size_t max_body, const char *remote)
{
    lwq_h3cli_config cfg;
    lwq_h3cli_config_init(&cfg);
    cfg.enable_0rtt = early_data;
    cfg.alloc = lwq_test_alloc;
    cfg.ca_file = lwq_test_data_path("certs/ca.pem");
    cfg.timeout = 10 * LWQ_SEC;
    cfg.idle_timeout = idle;
    cfg.remote_address = remote;
    if (max_body)
        cfg.max_body = max_body;
    lwq_h3cli *c;
    ck_assert_int_eq(lwq_h3cli_new(&c, &cfg), 0);
    return c;
}

static int get(lwq_h3cli *c, const char *method, const char *path, lwq_h3cli_response *resp, char *err)
{
    char url[256];
    snprintf(url, sizeof(url), "https://localhost:%d%s", port, path);
    lwq_h3cli_header h[] = {{"User-Agent", "lwquic-test"}};
    lwq_h3cli_request r = {.method = method, .url = url, .headers = h, .header_count = 1, .urgency = 1};
    if (!strcmp(method, "POST")) {
        r.body = (const uint8_t *)"posted body";
        r.body_len = 11;
    }
    return lwq_h3cli_request_run(c, &r, resp, err, 256);
}

START_TEST(test_requests)
{
    start_server();
    lwq_h3cli *c = make_client(0, 0, NULL);
    lwq_h3cli_response resp;
    char err[256];
    ck_assert_msg(get(c, "GET", "/file.bin?x=1&y=2", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_uint_eq(resp.body_len, sizeof(file));
    ck_assert(!memcmp(resp.body, file, sizeof(file)));
    lwq_h3cli_response_free(&resp);
    ck_assert_msg(get(c, "HEAD", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_uint_eq(resp.body_len, 0);
    lwq_h3cli_response_free(&resp);
    ck_assert_msg(get(c, "GET", "/missing", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.status, 404);
    lwq_h3cli_response_free(&resp);
    ck_assert_msg(get(c, "POST", "/echo", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_uint_eq(resp.body_len, 11);
    ck_assert(!memcmp(resp.body, "posted body", 11));
    lwq_h3cli_response_free(&resp);
    ck_assert_msg(get(c, "DELETE", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.status, 405);
    int allow = 0;
    for (size_t i = 0; i < resp.header_count; i++)
        allow |= !strcmp(resp.headers[i].name, "allow");
    ck_assert(allow);
    lwq_h3cli_response_free(&resp);
    ck_assert_uint_eq(lwq_h3cli_connections(c), 1);
    lwq_h3cli_del(c);
    stop_server();
}
END_TEST

static lwq_h3cli *shared;
static int thread_ok[8];

static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < 10; i++) {
        lwq_h3cli_response resp;
        char err[256];
        if (get(shared, "GET", "/file.bin", &resp, err) == 0 && resp.body_len == sizeof(file) &&
            !memcmp(resp.body, file, sizeof(file)))
            thread_ok[k]++;
        lwq_h3cli_response_free(&resp);
    }
    return NULL;
}

START_TEST(test_threads_share_one_connection)
{
    start_server();
    shared = make_client(0, 0, NULL);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(thread_ok[i], 10);
    ck_assert_uint_eq(lwq_h3cli_connections(shared), 1);
    lwq_h3cli_del(shared);
    stop_server();
}
END_TEST

/* Two origins (the same server as localhost and as 127.0.0.1) used by 8 threads at once: one connection
 * each, opened while the other's strand delivers events. */
static void *worker_two(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < 10; i++) {
        char url[128];
        snprintf(url, sizeof(url), "https://%s:%d/file.bin", (i + k) % 2 ? "localhost" : "127.0.0.1", port);
        lwq_h3cli_request r = {.method = "GET", .url = url, .urgency = -1};
        lwq_h3cli_response resp;
        char err[256];
        if (lwq_h3cli_request_run(shared, &r, &resp, err, sizeof(err)) == 0 && resp.body_len == sizeof(file))
            thread_ok[k]++;
        lwq_h3cli_response_free(&resp);
    }
    return NULL;
}

START_TEST(test_two_origins_threads)
{
    start_server();
    shared = make_client(0, 0, NULL);
    memset(thread_ok, 0, sizeof(thread_ok));
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, worker_two, (void *)(intptr_t)i);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(thread_ok[i], 10);
    ck_assert_uint_eq(lwq_h3cli_connections(shared), 2);
    lwq_h3cli_del(shared);
    stop_server();
}
END_TEST

START_TEST(test_reconnect_resumes)
{
    start_server();
    lwq_h3cli *c = make_client(IDLE, 0, NULL);
    lwq_h3cli_response resp;
    char err[256];
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.resumed, 0);
    lwq_h3cli_response_free(&resp);
    usleep(IDLE_WAIT); /* the idle timeout closes the connection */
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_uint_eq(resp.body_len, sizeof(file));
    ck_assert_int_eq(resp.resumed, 1);
    lwq_h3cli_response_free(&resp);
    ck_assert_uint_ge(lwq_h3cli_connections(c), 2);
    lwq_h3cli_del(c);
    stop_server();
}
END_TEST

/* With a ticket that allows early data, the request on the resumed connection goes in 0-RTT. */
START_TEST(test_zero_rtt)
{
    early_data = 1;
    start_server();
    lwq_h3cli *c = make_client(IDLE, 0, NULL);
    lwq_h3cli_response resp;
    char err[256];
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.early_data, 0);
    lwq_h3cli_response_free(&resp);
    usleep(IDLE_WAIT);
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_uint_eq(resp.body_len, sizeof(file));
    ck_assert(!memcmp(resp.body, file, sizeof(file)));
    ck_assert_int_eq(resp.resumed, 1);
    ck_assert_int_eq(resp.early_data, 1);
    lwq_h3cli_response_free(&resp);
    usleep(IDLE_WAIT); /* an unsafe method never goes early */
    ck_assert_msg(get(c, "POST", "/echo", &resp, err) == 0, "%s", err);
    ck_assert_int_eq(resp.early_data, 0);
    ck_assert_uint_eq(resp.body_len, 11);
    lwq_h3cli_response_free(&resp);
    ck_assert_uint_ge(lwq_h3cli_connections(c), 3);
    lwq_h3cli_del(c);
    stop_server();
    early_data = 0;
}
END_TEST

/* The server goes away (SIGTERM: GOAWAY, close, exit) and a second one starts on its port (lwquic-server
 * refuses a port another process holds, so only after the first exited): the next request opens a new
 * connection, which the second one serves. (lwquic-server closes an idle connection right after
 * its GOAWAY, so this does not show the client closing it; the GOAWAY path itself is in close_if_done.) */
START_TEST(test_goaway_reconnects)
{
    start_server();
    lwq_h3cli *c = make_client(0, 0, NULL);
    lwq_h3cli_response resp;
    char err[256];
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    lwq_h3cli_response_free(&resp);
    lwq_tstamp t0 = lwq_loop_now();
    kill(srv_pid, SIGTERM);
    waitpid(srv_pid, NULL, 0);
    /* GOAWAY, then the idle connection closes: no request is cut, nothing waits for the 5 s drain */
    ck_assert_uint_lt(lwq_loop_now() - t0, 3 * LWQ_SEC);
    srv_pid = spawn(server_bin, server_listen);
    usleep(300000);
    ck_assert_msg(get(c, "GET", "/file.bin", &resp, err) == 0, "%s", err);
    ck_assert_uint_eq(resp.body_len, sizeof(file));
    lwq_h3cli_response_free(&resp);
    ck_assert_uint_ge(lwq_h3cli_connections(c), 2); /* a request never sent may retry on a third */
    lwq_h3cli_del(c);
    stop_server();
}
END_TEST

static size_t streamed;
static int count_body(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        if (p[i] != file[streamed + i])
            return 1;
    streamed += n;
    return 0;
}

START_TEST(test_limits_and_remote_address)
{
    start_server();
    char remote[64], err[256];
    snprintf(remote, sizeof(remote), "127.0.0.1:%d", port);
    lwq_h3cli *c = make_client(0, 100000, remote);
    lwq_h3cli_request r = {.method = "GET", .url = "https://localhost:1/file.bin", .urgency = -1};
    lwq_h3cli_response resp;
    ck_assert_int_eq(lwq_h3cli_request_run(c, &r, &resp, err, sizeof(err)), LWQ_ERR_LIMIT);
    ck_assert_msg(strstr(err, "max_body"), "%s", err);
    streamed = 0;
    r.on_body = count_body;
    ck_assert_msg(lwq_h3cli_request_run(c, &r, &resp, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(streamed, sizeof(file));
    ck_assert_uint_eq(resp.body_len, 0);
    lwq_h3cli_response_free(&resp);
    r.url = "ftp://localhost/x";
    ck_assert_int_eq(lwq_h3cli_request_run(c, &r, &resp, err, sizeof(err)), LWQ_ERR_INVAL);
    lwq_h3cli_del(c);

    /* no CA given: the system bundle does not trust the test CA */
    lwq_h3cli_config cfg;
    lwq_h3cli_config_init(&cfg);
    cfg.timeout = 5 * LWQ_SEC;
    ck_assert_int_eq(lwq_h3cli_new(&c, &cfg), 0);
    char url[128];
    snprintf(url, sizeof(url), "https://localhost:%d/file.bin", port);
    r = (lwq_h3cli_request){.url = url, .urgency = -1};
    ck_assert_int_ne(lwq_h3cli_request_run(c, &r, &resp, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "closed"), "%s", err);
    r.url = "https://no-such-host.invalid/";
    ck_assert_int_ne(lwq_h3cli_request_run(c, &r, &resp, err, sizeof(err)), 0);
    ck_assert_msg(strstr(err, "resolve"), "%s", err);
    lwq_h3cli_del(c);
    stop_server();
}
END_TEST

Suite *suite_app_h3cli(void)
{
    Suite *s = suite_create("app_h3cli");
    TCase *tc = lwq_test_tcase("app_h3cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_requests);
    tcase_add_test(tc, test_threads_share_one_connection);
    tcase_add_test(tc, test_two_origins_threads);
    tcase_add_test(tc, test_reconnect_resumes);
    tcase_add_test(tc, test_goaway_reconnects);
    tcase_add_test(tc, test_zero_rtt);
    tcase_add_test(tc, test_limits_and_remote_address);
    suite_add_tcase(s, tc);
    return s;
}
