/*
 * log: levelled lines on stderr, one per event, as text
 *   2026-11-22T22:40:00.123Z info  [store] connected
 * or, with log.format json, as one JSON object per line for log shippers
 *   {"ts":"2026-11-22T22:40:00.123Z","level":"info","sub":"store","msg":"connected"}
 * Callers name their subsystem.  Never pass message text, tokens or passwords:
 * logs are read by operators, and recovery meetings are confidential.  Client
 * addresses go through log_client() only, which applies log.client_addresses.
 * Loop thread only (no locking).
 */
#ifndef HAVEN_LOG_H
#define HAVEN_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
/* Same order as the choices of log.format and log.client_addresses. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
enum log_addresses { LOG_ADDR_NONE, LOG_ADDR_TRUNCATED, LOG_ADDR_FULL };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "debug", "info", "warn" or "error"; -1 when unknown. */
int log_level_parse(const char *s);
void log_set_format(enum log_format format);
void log_set_addresses(enum log_addresses mode);

/* " from <addr>" as log.client_addresses allows (full, or only the network:
 * 192.0.2.0/24, 2001:db8:1::/48), or "" (the default, none).  Returns a
 * static buffer: use it once per log call. */
const char *log_client(const char *addr);

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
