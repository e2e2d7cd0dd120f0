/* Unit tests of log: JSON lines that always parse, and client addresses as configured. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "util.h"

static char path[64];

/* Everything written to stderr since the last call. */
static char *captured(void)
{
    static long done;
    fflush(stderr);
    FILE *f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    fseek(f, done, SEEK_SET);
    char *text = xcalloc(1, (size_t)(end - done) + 1);
    size_t n = fread(text, 1, (size_t)(end - done), f);
    text[n] = '\0';
    fclose(f);
    done = end;
    return text;
}

/* The one line captured, parsed; NULL when it is not exactly one JSON object line. */
static json_t *one_json_line(void)
{
    char *text = captured();
    size_t len = strlen(text);
    json_t *o = NULL;
    if (len && text[len - 1] == '\n' && !memchr(text, '\n', len - 1))
        o = json_loadb(text, len, 0, NULL);
    free(text);
    return json_is_object(o) ? o : NULL;
}

int main(void)
{
    char out[64];

    /* Addresses, for metrics.allow and the log. */
    CHECK_EQ_INT(util_addr_match("127.0.0.0/8", "127.3.4.5"), 1);
    CHECK_EQ_INT(util_addr_match("127.0.0.0/8", "128.0.0.1"), 0);
    CHECK_EQ_INT(util_addr_match("127.0.0.1", "::ffff:127.0.0.1"), 1);
    CHECK_EQ_INT(util_addr_match("::1", "::1"), 1);
    CHECK_EQ_INT(util_addr_match("::1", "127.0.0.1"), 0);
    CHECK_EQ_INT(util_addr_match("fd00::/8", "fd12:3456::1"), 1);
    CHECK_EQ_INT(util_addr_match("fd00::/8", "fe80::1"), 0);
    CHECK_EQ_INT(util_addr_match("0.0.0.0/0", "203.0.113.9"), 1);
    CHECK_EQ_INT(util_addr_match("192.0.2.0/24", "not an address"), 0);
    CHECK_EQ_INT(util_addr_match("192.0.2.0/33", "192.0.2.1"), HV_EINVAL);
    CHECK_EQ_INT(util_addr_match("192.0.2.0/", "192.0.2.1"), HV_EINVAL);
    CHECK_EQ_INT(util_addr_match("example.org", "192.0.2.1"), HV_EINVAL);
    util_addr_truncate("192.0.2.77", out, sizeof(out));
    CHECK_EQ_STR(out, "192.0.2.0/24");
    util_addr_truncate("2001:db8:1:2:3::9", out, sizeof(out));
    CHECK_EQ_STR(out, "2001:db8:1::/48");
    util_addr_truncate("", out, sizeof(out));
    CHECK_EQ_STR(out, "?");

    CHECK_EQ_STR(log_client("192.0.2.77"), "");
    log_set_addresses(LOG_ADDR_TRUNCATED);
    CHECK_EQ_STR(log_client("192.0.2.77"), " from 192.0.2.0/24");
    log_set_addresses(LOG_ADDR_FULL);
    CHECK_EQ_STR(log_client("192.0.2.77"), " from 192.0.2.77");
    log_set_addresses(LOG_ADDR_NONE);

    /* stderr into a file, to read back what the log wrote. */
    snprintf(path, sizeof(path), "/tmp/haven-test-log-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || dup2(fd, 2) < 0)
        return 1;
    close(fd);

    log_msg(LOG_INFO, "test", "plain text");
    char *text = captured();
    CHECK(strstr(text, " info  [test] plain text\n") != NULL);
    free(text);

    log_set_format(LOG_FORMAT_JSON);
    log_msg(LOG_WARN, "store", "quote \" backslash \\ newline \n tab \t bell \a done");
    json_t *o = one_json_line();
    CHECK(o != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "level")), "warn");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "sub")), "store");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "msg")),
                 "quote \" backslash \\ newline \n tab \t bell \a done");
    CHECK(strlen(json_string_value(json_object_get(o, "ts"))) == 24);
    CHECK_EQ_INT((int)json_object_size(o), 4);
    json_decref(o);

    /* Valid UTF-8 passes; bytes that are not UTF-8 become U+FFFD. */
    log_msg(LOG_INFO, "x",
            "caf\xc3\xa9 \xf0\x9f\x98\x80 bad \xff\xc3( overlong \xc0\xaf end \xe2\x82");
    o = one_json_line();
    CHECK(o != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "msg")),
                 "caf\xc3\xa9 \xf0\x9f\x98\x80 bad \xef\xbf\xbd\xef\xbf\xbd( overlong "
                 "\xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd");
    json_decref(o);

    /* A message longer than the line buffer still makes one valid line. */
    char big[3000];
    memset(big, '\x01', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_msg(LOG_ERROR, "x", "%s", big);
    o = one_json_line();
    CHECK(o != NULL);
    json_decref(o);

    /* Below the level: nothing. */
    log_msg(LOG_DEBUG, "x", "hidden");
    text = captured();
    CHECK_EQ_STR(text, "");
    free(text);
    unlink(path);
    return check_done();
}
