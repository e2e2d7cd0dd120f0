#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level current = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    current = level;
}

enum log_level log_get_level(void)
{
    return current;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
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
