/*
 * meeting_types: the one table of meeting type codes Haven accepts.
 *
 * Codes are those of Code for Recovery's Meeting Guide specification (the
 * ones that make sense for an online meeting) plus the literature and format
 * codes Narcotics Anonymous' own meeting lists use.  They are stored and
 * published exactly as listed here (case matters: "O", "SP", "LGBTQ").
 * There is no "online" code: a Haven meeting is online by being on Haven.
 * Pure data; safe from any thread.
 */
#ifndef HAVEN_MEETING_TYPES_H
#define HAVEN_MEETING_TYPES_H

#include <stddef.h>

struct meeting_type {
    const char *code;
    const char *name; /* English name, as shown to people */
};

/* The English name of a code, or NULL when the code is unknown. */
const char *meeting_types_name(const char *code);
/* The whole table (borrowed, static), and its length in *n. */
const struct meeting_type *meeting_types_all(size_t *n);

#endif
