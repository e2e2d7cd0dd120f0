#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "havend: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

uint64_t util_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t util_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Parse an address into 16 bytes; IPv4 (and IPv4-mapped IPv6) fill the
 * first 4 and return 4, IPv6 returns 16, anything else 0. */
static int addr_parse(const char *s, unsigned char out[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) != 1)
        return 0;
    if (memcmp(out, mapped, sizeof(mapped)) == 0) {
        memmove(out, out + 12, 4);
        return 4;
    }
    return 16;
}

int util_addr_match(const char *spec, const char *addr)
{
    char host[64];
    unsigned char net[16], a[16];
    const char *slash = strchr(spec, '/');
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl >= sizeof(host))
        return HV_EINVAL;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    int family = addr_parse(host, net);
    if (!family)
        return HV_EINVAL;
    long bits = family * 8;
    if (slash) {
        char *end;
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0 || bits > family * 8)
            return HV_EINVAL;
    }
    if (addr_parse(addr, a) != family)
        return 0;
    for (long i = 0; i < bits; i++) {
        unsigned char bit = (unsigned char)(0x80u >> (i % 8));
        if ((net[i / 8] & bit) != (a[i / 8] & bit))
            return 0;
    }
    return 1;
}

void util_addr_truncate(const char *addr, char *out, size_t len)
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];
    int family = addr_parse(addr, a);
    if (!family) {
        snprintf(out, len, "?");
        return;
    }
    /* Keep what says which network a client is on, never who it is. */
    int keep = family == 4 ? 3 : 6;
    memset(a + keep, 0, (size_t)(family - keep));
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, text, sizeof(text));
    snprintf(out, len, "%s/%d", text, keep * 8);
}

void util_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reserve(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) /* p may be NULL when n is 0, and memcpy must not see it */
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
