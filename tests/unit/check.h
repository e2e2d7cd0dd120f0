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

#define CHECK_EQ_STR(a, b)                                                                     \
    do {                                                                                       \
        const char *check_a = (a), *check_b = (b);                                             \
        check_n++;                                                                             \
        if (check_a && check_b && strcmp(check_a, check_b) == 0) {                             \
            printf("ok %d - %s == \"%s\"\n", check_n, #a, check_b);                            \
        } else {                                                                               \
            check_failed++;                                                                    \
            printf("not ok %d - %s: \"%s\" != \"%s\" (%s:%d)\n", check_n, #a,                  \
                   check_a ? check_a : "(null)", check_b ? check_b : "(null)", __FILE__,       \
                   __LINE__);                                                                  \
        }                                                                                      \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_n);
    return check_failed ? 1 : 0;
}

#endif
