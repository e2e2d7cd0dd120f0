/*
 * util: allocation that aborts on exhaustion, clocks, small byte buffers and
 * the project's error codes.
 *
 * Everything here is usable from any module and any callback; nothing does I/O
 * except the clocks.
 */
#ifndef HAVEN_UTIL_H
#define HAVEN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Error codes: 0 is success, negative values are failures. libuv codes are
 * passed through unchanged (they are negative errno values too). */
enum {
    HV_OK = 0,
    HV_EINVAL = -1001,  /* bad argument or input */
    HV_ENOENT = -1002,  /* no such thing */
    HV_ELIMIT = -1003,  /* a configured limit was reached */
    HV_EIO = -1004,     /* I/O or database failure */
    HV_ESTATE = -1005,  /* not allowed in the current state */
};

#define HV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HV_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Allocate or abort: the server cannot do anything useful once the heap is
 * exhausted, so callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Monotonic milliseconds (for timers and rate limits) and wall-clock
 * milliseconds since the epoch (for timestamps people see). */
uint64_t util_mono_ms(void);
int64_t util_wall_ms(void);

/* Lower-case hex of n bytes into out, which must hold 2n+1 bytes. */
void util_hex(char *out, const unsigned char *in, size_t n);

/* Client addresses as text ("192.0.2.7", "2001:db8::1").  Does addr lie in
 * spec, an address or a prefix ("127.0.0.0/8", "::1", "fd00::/8")?  Returns 1
 * or 0 (0 too when addr is not an address; an IPv4-mapped IPv6 address counts
 * as IPv4), or HV_EINVAL when spec is neither.  Pure. */
int util_addr_match(const char *spec, const char *addr);
/* addr without its host part, for logs: "192.0.2.0/24" or "2001:db8:1::/48";
 * "?" when addr is not an address.  Pure. */
void util_addr_truncate(const char *addr, char *out, size_t len);

/* Fill a caller's error buffer; a NULL buffer is allowed. */
void util_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growable byte buffer; len excludes the NUL that is always kept after the
 * data so the contents may be used as a C string. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_cleanup(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
