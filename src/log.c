#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static enum log_level current = LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static enum log_addresses addresses = LOG_ADDR_NONE;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    current = level;
}

enum log_level log_get_level(void)
{
    return current;
}

void log_set_format(enum log_format f)
{
    format = f;
}

void log_set_addresses(enum log_addresses mode)
{
    addresses = mode;
}

const char *log_client(const char *addr)
{
    static char out[96];
    char net[64];
    switch (addresses) {
    case LOG_ADDR_FULL:
        snprintf(out, sizeof(out), " from %.64s", addr && *addr ? addr : "?");
        return out;
    case LOG_ADDR_TRUNCATED:
        util_addr_truncate(addr ? addr : "", net, sizeof(net));
        snprintf(out, sizeof(out), " from %s", net);
        return out;
    case LOG_ADDR_NONE:
        break;
    }
    return "";
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Append s to out as the inside of a JSON string.  Control characters are
 * escaped and bytes that are not UTF-8 become U+FFFD, so every line parses
 * whatever a caller (or lws, or libpq) passed in. */
static size_t json_escape(char *out, size_t pos, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && pos + 8 < cap) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
            p++;
        } else if (c == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            out[pos++] = (char)c;
            p++;
        } else {
            /* The length of a well-formed sequence at p, or 0. */
            int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            for (int i = 1; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                    n = 0;
            if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
                n = 0;
            if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
                n = 0;
            if (n) {
                memcpy(out + pos, p, (size_t)n);
                pos += (size_t)n;
                p += n;
            } else {
                memcpy(out + pos, "\xef\xbf\xbd", 3);
                pos += 3;
                p++;
            }
        }
    }
    out[pos] = '\0';
    return pos;
}

static void vlog(enum log_level level, const char *sub, const char *suffix, const char *fmt,
                 va_list ap)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    char line[1024];

    if (level < current)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(line, sizeof(line), fmt, ap);
    /* One fprintf per line so concurrent writers (tests capture stderr) never
     * see half lines. */
    if (format == LOG_FORMAT_JSON) {
        char json[4 * sizeof(line) + 256];
        size_t n = (size_t)snprintf(json, sizeof(json),
                                    "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"sub\":\"", stamp,
                                    ts.tv_nsec / 1000000L, names[level]);
        n = json_escape(json, n, sizeof(json), sub);
        n += (size_t)snprintf(json + n, sizeof(json) - n, "\",\"msg\":\"");
        n = json_escape(json, n, sizeof(json), line);
        if (suffix) {
            n = json_escape(json, n, sizeof(json), ": ");
            n = json_escape(json, n, sizeof(json), suffix);
        }
        fprintf(stderr, "%s\"}\n", json);
        return;
    }
    fprintf(stderr, "%s.%03ldZ %-5s [%s] %s%s%s\n", stamp, ts.tv_nsec / 1000000L, names[level],
            sub, line, suffix ? ": " : "", suffix ? suffix : "");
}

void log_msg(enum log_level level, const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, sub, NULL, fmt, ap);
    va_end(ap);
}

void log_warn(const char *sub, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_WARN, sub, strerror(saved), fmt, ap);
    va_end(ap);
}

void log_fatalx(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_ERROR, sub, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
