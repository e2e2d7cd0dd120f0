/*
 * log: levelled lines on stderr, one per event:
 *   2026-11-22T22:40:00.123Z info  [store] connected
 * Callers name their subsystem.  Never pass message text, tokens or passwords:
 * logs are read by operators, and recovery meetings are confidential.
 * Loop thread only (no locking).
 */
#ifndef HAVEN_LOG_H
#define HAVEN_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "debug", "info", "warn" or "error"; -1 when unknown. */
int log_level_parse(const char *s);

void log_msg(enum log_level level, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As log_msg at LOG_WARN, with ": strerror(errno)" appended. */
void log_warn(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log at LOG_ERROR and exit(1); startup code only. */
void log_fatalx(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define log_debug(sub, ...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, sub, __VA_ARGS__); } while (0)
#define log_info(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_warnx(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)

#endif
