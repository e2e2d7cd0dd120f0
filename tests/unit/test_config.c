/* Unit tests of config: defaults, file, environment and flags, and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/haven-test-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int load_text(struct config *cfg, const char *text, char *err, size_t len)
{
    char *path = write_tmp(text);
    int rc = config_load_file(cfg, path, err, len);
    unlink(path);
    return rc;
}

int main(void)
{
    struct config cfg;
    char err[512];

    config_init(&cfg);
    CHECK_EQ_INT(cfg.listen_port, 8080);
    CHECK_EQ_STR(cfg.listen_address, "127.0.0.1");
    CHECK_EQ_INT(cfg.ws_max_frame_bytes, 16384);
    CHECK_EQ_INT(cfg.ws_max_text_chars, 4000);
    CHECK_EQ_INT((int)cfg.http_allowed_origins.n, 0);
    CHECK_EQ_INT(config_validate(&cfg, err, sizeof(err)), 0);

    /* file < env < flag */
    CHECK_EQ_INT(load_text(&cfg, "{\"listen\": {\"port\": 9001}, \"log\": {\"level\": \"debug\"},"
                                 " \"http\": {\"allowed_origins\": [\"https://a.example\"]}}",
                           err, sizeof(err)),
                 0);
    CHECK_EQ_INT(cfg.listen_port, 9001);
    CHECK_EQ_INT((int)cfg.http_allowed_origins.n, 1);
    setenv("HAVEN_LISTEN_PORT", "9002", 1);
    setenv("HAVEN_HTTP_ALLOWED_ORIGINS", "https://b.example, https://c.example", 1);
    CHECK_EQ_INT(config_load_env(&cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.listen_port, 9002);
    CHECK_EQ_INT((int)cfg.http_allowed_origins.n, 2);
    CHECK_EQ_STR(cfg.http_allowed_origins.v[1], "https://c.example");
    CHECK_EQ_INT(config_set_flag(&cfg, "listen-port", "9003", "--listen-port", err, sizeof(err)),
                 0);
    CHECK_EQ_INT(cfg.listen_port, 9003);
    CHECK_EQ_INT(config_set_flag(&cfg, "ws.rate_per_sec", "2.5", "flag", err, sizeof(err)), 0);
    CHECK(cfg.ws_rate_per_sec == 2.5);
    unsetenv("HAVEN_LISTEN_PORT");
    unsetenv("HAVEN_HTTP_ALLOWED_ORIGINS");

    /* errors name the key, the expectation and the source */
    CHECK(config_set_flag(&cfg, "listen-port", "70000", "--listen-port", err, sizeof(err)) != 0);
    CHECK(strstr(err, "listen.port") && strstr(err, "1 to 65535") && strstr(err, "--listen-port"));
    CHECK(config_set_flag(&cfg, "listen-port", "12abc", "x", err, sizeof(err)) != 0);
    CHECK(config_set_flag(&cfg, "log-level", "loud", "x", err, sizeof(err)) != 0);
    CHECK(strstr(err, "debug, info, warn, error") != NULL);
    CHECK(config_set_flag(&cfg, "no-such-key", "1", "x", err, sizeof(err)) != 0);
    CHECK(strstr(err, "unknown option") != NULL);
    CHECK(load_text(&cfg, "{\"listen\": {\"port\": \"80\"}}", err, sizeof(err)) != 0);
    CHECK(strstr(err, "listen.port") != NULL);
    CHECK(load_text(&cfg, "{\"listen\": {\"prot\": 80}}", err, sizeof(err)) != 0);
    CHECK(strstr(err, "listen.prot: unknown key") != NULL);
    CHECK(load_text(&cfg, "{\"listen\": 5}", err, sizeof(err)) != 0);
    CHECK(strstr(err, "expected an object") != NULL);
    CHECK(load_text(&cfg, "{\"listen\": {\"port\": 80,}}", err, sizeof(err)) != 0);
    CHECK(strstr(err, "line 1") != NULL);
    CHECK(load_text(&cfg, "[1]", err, sizeof(err)) != 0);
    CHECK(load_text(&cfg, "{\"http\": {\"allowed_origins\": [1]}}", err, sizeof(err)) != 0);
    CHECK(config_load_file(&cfg, "/nonexistent/haven.json", err, sizeof(err)) != 0);

    /* secrets are not echoed */
    CHECK(config_set_flag(&cfg, "database-url", "postgresql://u:hunter2@x/db", "x", err,
                          sizeof(err)) == 0);
    char *dump = config_dump(&cfg);
    CHECK(strstr(dump, "hunter2") == NULL);
    free(dump);

    /* cross-key checks */
    config_set_flag(&cfg, "ws-ping-interval-secs", "50", "x", err, sizeof(err));
    CHECK(config_validate(&cfg, err, sizeof(err)) != 0);
    CHECK(strstr(err, "ws.ping_timeout_secs") != NULL);
    config_set_flag(&cfg, "ws-ping-interval-secs", "30", "x", err, sizeof(err));
    config_set_flag(&cfg, "http-allowed-origins", "example.org", "x", err, sizeof(err));
    CHECK(config_validate(&cfg, err, sizeof(err)) != 0);

    config_cleanup(&cfg);

    /* booleans and choices: defaults, file, text, errors naming the choices */
    config_init(&cfg);
    CHECK(cfg.metrics_enabled);
    CHECK_EQ_INT(cfg.log_format, 0);
    CHECK_EQ_INT(cfg.log_client_addresses, 0);
    CHECK_EQ_INT((int)cfg.metrics_allow.n, 2);
    CHECK_EQ_INT(load_text(&cfg, "{\"metrics\": {\"enabled\": false}, \"log\": {\"format\": "
                                 "\"json\", \"client_addresses\": \"truncated\"}}",
                           err, sizeof(err)),
                 0);
    CHECK(!cfg.metrics_enabled);
    CHECK_EQ_INT(cfg.log_format, 1);
    CHECK_EQ_INT(cfg.log_client_addresses, 1);
    CHECK_EQ_INT(config_set_flag(&cfg, "metrics-enabled", "yes", "x", err, sizeof(err)), 0);
    CHECK(cfg.metrics_enabled);
    CHECK(config_set_flag(&cfg, "metrics-enabled", "maybe", "x", err, sizeof(err)) != 0);
    CHECK(strstr(err, "true or false") != NULL);
    CHECK(load_text(&cfg, "{\"metrics\": {\"enabled\": \"true\"}}", err, sizeof(err)) != 0);
    CHECK(config_set_flag(&cfg, "log-format", "xml", "--log-format", err, sizeof(err)) != 0);
    CHECK(strstr(err, "log.format") && strstr(err, "one of text, json"));
    CHECK_EQ_INT(config_set_flag(&cfg, "log-client-addresses", "full", "x", err, sizeof(err)),
                 0);
    CHECK_EQ_INT(cfg.log_client_addresses, 2);
    dump = config_dump(&cfg);
    CHECK(strstr(dump, "\"format\": \"json\"") && strstr(dump, "\"enabled\": true"));
    free(dump);
    config_set_flag(&cfg, "metrics-allow", "10.0.0.0/8, 300.1.1.1", "x", err, sizeof(err));
    CHECK(config_validate(&cfg, err, sizeof(err)) != 0);
    CHECK(strstr(err, "metrics.allow") && strstr(err, "300.1.1.1"));
    config_cleanup(&cfg);

    /* sources: file < environment < flags, then validation */
    {
        char *path = write_tmp("{\"ws\": {\"rate_burst\": 7, \"max_text_chars\": 99}}");
        const char *flags[] = {"ws-rate-burst"}, *values[] = {"9"};
        struct config_sources src = {path, 1, flags, values};
        struct config fresh;
        setenv("HAVEN_WS_MAX_TEXT_CHARS", "100", 1);
        CHECK_EQ_INT(config_load_sources(&cfg, &src, err, sizeof(err)), 0);
        CHECK_EQ_INT(cfg.ws_rate_burst, 9);
        CHECK_EQ_INT(cfg.ws_max_text_chars, 100);
        unsetenv("HAVEN_WS_MAX_TEXT_CHARS");

        /* a reload: live keys move, restart keys stay, the fresh struct keeps the old */
        values[0] = "3";
        FILE *f = fopen(path, "w");
        fputs("{\"ws\": {\"ping_interval_secs\": 5}, \"listen\": {\"port\": 9999},"
              " \"http\": {\"allowed_origins\": [\"https://a.example\"]}}", f);
        fclose(f);
        CHECK_EQ_INT(config_load_sources(&fresh, &src, err, sizeof(err)), 0);
        int applied = -1, restart = -1;
        config_apply_live(&cfg, &fresh, &applied, &restart);
        CHECK_EQ_INT(applied, 3); /* rate_burst, max_text_chars (back to 4000), origins */
        CHECK_EQ_INT(restart, 2); /* listen.port, ws.ping_interval_secs */
        CHECK_EQ_INT(cfg.ws_rate_burst, 3);
        CHECK_EQ_INT(cfg.ws_max_text_chars, 4000);
        CHECK_EQ_INT(cfg.listen_port, 8080);
        CHECK_EQ_INT(cfg.ws_ping_interval_secs, 30);
        CHECK_EQ_INT((int)cfg.http_allowed_origins.n, 1);
        CHECK_EQ_STR(cfg.http_allowed_origins.v[0], "https://a.example");
        CHECK_EQ_INT((int)fresh.http_allowed_origins.n, 0);
        config_cleanup(&fresh);
        /* nothing changed: nothing to report */
        CHECK_EQ_INT(config_load_sources(&fresh, &src, err, sizeof(err)), 0);
        config_apply_live(&cfg, &fresh, &applied, &restart);
        CHECK_EQ_INT(applied, 0);
        CHECK_EQ_INT(restart, 2);
        config_cleanup(&fresh);

        /* an invalid file or flag is an error, with the key named */
        f = fopen(path, "w");
        fputs("{\"ws\": {\"rate_burst\": 0}}", f);
        fclose(f);
        CHECK(config_load_sources(&fresh, &src, err, sizeof(err)) != 0);
        CHECK(strstr(err, "ws.rate_burst") != NULL);
        config_cleanup(&fresh);
        unlink(path);
    }
    config_cleanup(&cfg);
    return check_done();
}
