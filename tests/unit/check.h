/*
 * check.h: the smallest TAP producer.  CHECK(cond) records one test point;
 * CHECK_EQ_INT / CHECK_EQ_STR print both sides on failure.  check_done()
 * prints the plan and returns the exit status.
 */
#ifndef HAVEN_CHECK_H
#define HAVEN_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_n, check_failed;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        check_n++;                                                                             \
        if (cond) {                                                                            \
            printf("ok %d - %s\n", check_n, #cond);                                            \
        } else {                                                                               \
            check_failed++;                                                                    \
            printf("not ok %d - %s (%s:%d)\n", check_n, #cond, __FILE__, __LINE__);            \
        }                                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                     \
    do {                                                                                       \
        long long check_a = (long long)(a), check_b = (long long)(b);                          \
        check_n++;                                                                             \
        if (check_a == check_b) {                                                              \
            printf("ok %d - %s == %s\n", check_n, #a, #b);                                     \
        } else {                                                                               \
            check_failed++;                                                                    \
            printf("not ok %d - %s == %s: %lld != %lld (%s:%d)\n", check_n, #a, #b, check_a,   \
                   check_b, __FILE__, __LINE__);                                               \
        }                                                                                      \
    } while (0)

/* Print s quoted, control characters escaped, so that a value never breaks
 * the TAP line it is on. */
static inline void check_put_str(const char *s)
{
    if (!s) {
        fputs("(null)", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

#define CHECK_EQ_STR(a, b)                                                                     \
    do {                                                                                       \
        const char *check_a = (a), *check_b = (b);                                             \
        check_n++;                                                                             \
        if (check_a && check_b && strcmp(check_a, check_b) == 0) {                             \
            printf("ok %d - %s == ", check_n, #a);                                             \
            check_put_str(check_b);                                                            \
            putchar('\n');                                                                     \
        } else {                                                                               \
            check_failed++;                                                                    \
            printf("not ok %d - %s: ", check_n, #a);                                           \
            check_put_str(check_a);                                                            \
            fputs(" != ", stdout);                                                             \
            check_put_str(check_b);                                                            \
            printf(" (%s:%d)\n", __FILE__, __LINE__);                                          \
        }                                                                                      \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_n);
    return check_failed ? 1 : 0;
}

#endif
