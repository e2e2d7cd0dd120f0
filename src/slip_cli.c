/*
 * The slip command line:
 *   havend slip verify FILE [--key KEY]   check a slip (JSON) offline
 *   havend slip key [--key KEY]           print the public key as the server publishes it
 * KEY is the public key as GET /.well-known/haven-attendance-key gives it, or
 * a server's key file; without --key, this server's slips.key_file (read,
 * never made).  No database and no network: a slip carries its signature.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "slip.h"
#include "slip_int.h"
#include "util.h"

static int usage(void)
{
    fprintf(stderr, "usage: havend slip verify FILE [--key KEY]\n"
                    "       havend slip key [--key KEY]\n"
                    "KEY: the public key from https://SERVER/.well-known/haven-attendance-key,\n"
                    "or a server's key file; by default slips.key_file.\n");
    return 2;
}

/* The whole of a small file ("-": standard input) as a new buffer, or NULL. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    struct buf b;
    char chunk[4096];
    size_t n;
    if (!f) {
        fprintf(stderr, "havend: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= max)
        buf_add(&b, chunk, n);
    if (f != stdin)
        fclose(f);
    if (b.len > max) {
        fprintf(stderr, "havend: %s: too large for a slip\n", path);
        buf_cleanup(&b);
        return NULL;
    }
    buf_reserve(&b, 0);
    b.data[b.len] = '\0';
    *len = b.len;
    return b.data;
}

static int load_key(const struct config *cfg, const char *key_path, struct slip__key *k)
{
    char err[512];
    bool created;
    size_t len;
    if (!key_path) {
        if (slip__key_file(cfg->slips_key_file, false, k, &created, err, sizeof(err))) {
            fprintf(stderr, "havend: slips.key_file: %s\n", err);
            return 1;
        }
        return 0;
    }
    char *text = slurp(key_path, 4096, &len);
    if (!text)
        return 1;
    int rc = slip__key_parse(text, len, k, err, sizeof(err));
    free(text);
    if (rc) {
        fprintf(stderr, "havend: %s: %s\n", key_path, err);
        return 1;
    }
    return 0;
}

static const char *reason(const char *why)
{
    if (strcmp(why, "malformed") == 0)
        return "this is not an attendance slip (a field is missing or of the wrong kind)";
    if (strcmp(why, "other_key") == 0)
        return "the slip names another signing key than the one given";
    return "the signature does not match: the slip was changed after it was signed, or "
           "someone else signed it";
}

static int verify(const struct config *cfg, const char *path, const char *key_path)
{
    struct slip__key k;
    json_error_t jerr;
    size_t len;
    int rc = 1;
    json_t *doc = NULL;
    char *text = NULL;

    if (load_key(cfg, key_path, &k))
        goto out;
    if (!(text = slurp(path, SLIP_DOC_MAX, &len)))
        goto out;
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        printf("invalid: %s is not JSON (line %d: %s)\n", path, jerr.line, jerr.text);
        goto out;
    }
    const char *why = slip__check(doc, &k);
    if (why) {
        printf("invalid: %s\n", reason(why));
        goto out;
    }
    const char *chair = json_string_value(json_object_get(doc, "chair"));
    printf("valid: slip %s\n"
           "  name used:       %s\n"
           "  meeting:         %s (%s)\n"
           "  date and time:   %s, %s to %s (%s)\n"
           "  minutes present: %lld of %lld\n"
           "  chair:           %s\n"
           "  issued:          %s by %s\n"
           "  signed with key: %s\n",
           json_string_value(json_object_get(doc, "slip_id")),
           json_string_value(json_object_get(doc, "name")),
           json_string_value(json_object_get(doc, "meeting_name")),
           json_string_value(json_object_get(doc, "meeting_slug")),
           json_string_value(json_object_get(doc, "date")),
           json_string_value(json_object_get(doc, "started_at")),
           json_string_value(json_object_get(doc, "ended_at")),
           json_string_value(json_object_get(doc, "time_zone")),
           (long long)json_integer_value(json_object_get(doc, "minutes_present")),
           (long long)json_integer_value(json_object_get(doc, "session_minutes")),
           chair ? chair : "not recorded", json_string_value(json_object_get(doc, "issued_at")),
           json_string_value(json_object_get(doc, "issuer")), k.id);
    rc = 0;
out:
    json_decref(doc);
    free(text);
    return rc;
}

int slip_cli(const struct config *cfg, int argc, char **argv)
{
    const char *key_path = NULL, *args[2] = {NULL, NULL};
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key_path = argv[++i];
        else if (strncmp(argv[i], "--key=", 6) == 0)
            key_path = argv[i] + 6;
        else if (nargs < 2 && strncmp(argv[i], "--", 2) != 0)
            args[nargs++] = argv[i];
        else
            return usage();
    }
    if (nargs == 2 && strcmp(args[0], "verify") == 0)
        return verify(cfg, args[1], key_path);
    if (nargs == 1 && strcmp(args[0], "key") == 0) {
        struct slip__key k;
        if (load_key(cfg, key_path, &k))
            return 1;
        json_t *pub = slip__key_json(&k);
        char *text = json_dumps(pub, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(pub);
        return 0;
    }
    return usage();
}
