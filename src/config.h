/*
 * config: havend's settings.
 *
 * One table of directives (config.c) gives every key its JSON path, type,
 * range, default, documentation and the field it fills.  The file loader, the
 * HAVEN_* environment overrides, the command-line flags, --print-config and the
 * generated config/README.md all come from that table.  Precedence: defaults <
 * file < environment < flags.  Errors name the key, what was expected and where
 * the value came from; secret values are never echoed.
 *
 * SIGHUP builds a new config from the same sources (config_load_sources) and
 * moves the values that may change live into the running one
 * (config_apply_live): every module keeps a pointer to that one struct and
 * reads what it needs when it needs it.
 */
#ifndef HAVEN_CONFIG_H
#define HAVEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct strlist {
    char **v;
    size_t n;
};

struct config {
    char *listen_address;
    int listen_port;
    char *http_web_root;
    struct strlist http_allowed_origins;
    struct strlist http_trusted_proxies;
    char *http_public_url;
    char *http_crisis_file;
    char *tls_cert;
    char *tls_key;
    int limits_connections_per_address;
    int limits_handshake_timeout_secs;
    int limits_max_header_bytes;
    char *database_url;
    char *database_migrations_dir;
    int database_connect_timeout_ms;
    int database_reconnect_max_ms;
    int store_batch_max;
    int store_queue_max;
    int log_level;
    int log_format;           /* enum log_format */
    int log_client_addresses; /* enum log_addresses */
    bool metrics_enabled;
    struct strlist metrics_allow;
    int ws_max_frame_bytes;
    int ws_max_text_chars;
    int ws_ping_interval_secs;
    int ws_ping_timeout_secs;
    int ws_send_queue_max;
    double ws_rate_per_sec;
    int ws_rate_burst;
    int ws_max_bad_frames;
    int rooms_history_on_join;
    int rooms_recent_events;
    int rooms_reconnect_grace_secs;
    int rooms_waiting_opens_minutes;
    int rooms_auto_end_minutes;
    int identity_token_ttl_days;
    int identity_account_token_ttl_days;
    int identity_login_failures_per_account;
    int identity_login_failures_per_address;
    int identity_login_window_secs;
    int transcripts_purge_interval_secs;
    int transcripts_purge_batch;
    char *slips_key_file;
    bool cluster_enabled;
    char *cluster_node_id;
};

/* Fill cfg with the built-in defaults. */
void config_init(struct config *cfg);
void config_cleanup(struct config *cfg);

/* Apply a JSON file.  Returns 0, or HV_EINVAL with err filled. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Apply a JSON document held in memory; source names it in errors. */
int config_load_buffer(struct config *cfg, const char *text, size_t len, const char *source,
                       char *err, size_t errlen);
/* Apply HAVEN_* variables from the process environment. */
int config_load_env(struct config *cfg, char *err, size_t errlen);
/* Set one key from text, as a flag does.  flag is the option name without the
 * leading dashes ("listen-port") or a dotted key; source is used in errors. */
int config_set_flag(struct config *cfg, const char *flag, const char *value, const char *source,
                    char *err, size_t errlen);
/* True when flag names a config directive. */
bool config_is_flag(const char *flag);
/* Checks across keys, after everything was applied. */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* Where a config comes from: the file (or NULL), then the environment, then
 * the flags in order (names without dashes, as config_set_flag takes them).
 * main() fills it from argv and keeps it for reloads. */
struct config_sources {
    const char *path;
    int nflags;
    const char **flags;
    const char **values;
};

/* config_init, then the file, the environment and the flags, then
 * config_validate.  Touches nothing but cfg (safe off the loop thread).
 * Returns 0, or HV_EINVAL with err filled. */
int config_load_sources(struct config *cfg, const struct config_sources *src, char *err,
                        size_t errlen);
/* Reload: move every live value of fresh that differs into cfg (fresh keeps
 * the old ones, to be freed with it) and log each change; a changed value
 * that needs a restart is logged as such and left alone.  Reports the counts
 * (either pointer may be NULL).  Loop thread; borrowed strings of cfg that
 * changed are freed with fresh, so nothing may keep them across callbacks. */
void config_apply_live(struct config *cfg, struct config *fresh, int *applied, int *restart);
/* Apply log.level, log.format and log.client_addresses to the log module. */
void config_apply_logging(const struct config *cfg);

/* The effective config as a JSON object text (new string, free() it); secret
 * values are masked. */
char *config_dump(const struct config *cfg);
/* Markdown documentation of every key. */
void config_write_doc(FILE *out);

#endif
