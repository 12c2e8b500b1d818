/* lwquic-server's HTTP helpers: content types by file extension, validators (RFC 9110 §8.8) and
 * conditional requests (§13). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "lwquic-server/srv.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},   {"xml", "application/xml"},
    {"svg", "image/svg+xml"},             {"png", "image/png"},
    {"jpg", "image/jpeg"},                {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},                 {"webp", "image/webp"},
    {"avif", "image/avif"},               {"ico", "image/vnd.microsoft.icon"},
    {"wasm", "application/wasm"},         {"pdf", "application/pdf"},
    {"zip", "application/zip"},           {"gz", "application/gzip"},
    {"tar", "application/x-tar"},         {"mp4", "video/mp4"},
    {"webm", "video/webm"},               {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},                 {"wav", "audio/wav"},
    {"woff", "font/woff"},                {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},                  {"otf", "font/otf"},
};

const char *srv_content_type(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

void srv_http_date(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm); /* IMF-fixdate, RFC 9110 §5.6.7 */
}

int srv_parse_http_date(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    *out = timegm(&tm);
    return 0;
}

void srv_etag(const struct stat *st, char *buf, size_t cap)
{
    snprintf(buf, cap, "\"%llx-%llx\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ull + (unsigned long long)st->st_mtim.tv_nsec);
}

/* RFC 9110 §13.1.2: a comma-separated list of entity tags (weak ones compare weakly), or "*". */
static int etag_listed(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == strlen(etag) && !memcmp(p, etag, n))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int srv_not_modified(const char *if_none_match, const char *if_modified_since, const struct stat *st)
{
    char etag[64];
    srv_etag(st, etag, sizeof(etag));
    if (if_none_match) /* §13.1.2: If-None-Match wins over If-Modified-Since */
        return etag_listed(if_none_match, etag);
    time_t since;
    return if_modified_since && !srv_parse_http_date(if_modified_since, &since) && st->st_mtim.tv_sec <= since;
}
