/* A strict JSON (RFC 8259) recognizer for the fuzz targets that check what lwquic writes (qlog): ASCII
 * text only, as the qlog writer escapes everything else. json_check_value returns the end of the value
 * at p (after leading white space), or NULL when p does not start with a valid value. The text must be
 * NUL-terminated; nesting deeper than 64 levels is refused. */
#ifndef LWQ_FUZZ_JSON_CHECK_H
#define LWQ_FUZZ_JSON_CHECK_H

#include <string.h>

static const char *json_check_value(const char *p, int depth);

static inline const char *json_check_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static inline int json_check_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline const char *json_check_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (;;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20 || c >= 0x7f)
            return NULL;
        if (c != '\\') {
            p++;
            continue;
        }
        p++;
        if (*p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!json_check_hex(p[i]))
                    return NULL;
            p += 5;
        } else if (*p && strchr("\"\\/bfnrt", *p)) {
            p++;
        } else {
            return NULL;
        }
    }
}

static inline const char *json_check_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return NULL;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return NULL;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* The members of an object (keyed) or an array, p at its opening bracket. */
static inline const char *json_check_members(const char *p, int depth, char close, int keyed)
{
    p = json_check_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = json_check_string(p)))
                return NULL;
            p = json_check_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_check_value(p, depth + 1)))
            return NULL;
        p = json_check_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_check_ws(p);
    }
}

static const char *json_check_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_check_ws(p);
    switch (*p) {
    case '{': return json_check_members(p, depth, '}', 1);
    case '[': return json_check_members(p, depth, ']', 0);
    case '"': return json_check_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return json_check_number(p);
    }
}

#endif
