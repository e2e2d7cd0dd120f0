/*
 * The pure parts of attendance slips (canonical form, signatures, the
 * printable page) and the signing key file, which is read or made before the
 * loop runs.  See slip_int.h.
 */
#include "slip_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

_Static_assert(sizeof(((struct slip__key *)0)->sk) == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(sizeof(((struct slip__key *)0)->pk) == crypto_sign_PUBLICKEYBYTES, "pk size");

#define SEED_HEX 64
#define MAX_SAFE_INT 9007199254740991LL /* 2^53 - 1: JCS numbers stay exact */

/* ---- the key ---- */

static void key_from_seed(struct slip__key *k, const unsigned char seed[32])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    k->has_secret = true;
    crypto_hash_sha256(h, k->pk, sizeof(k->pk));
    util_hex(k->id, h, 8);
}

static void key_from_public(struct slip__key *k, const unsigned char pk[32])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    memset(k, 0, sizeof(*k));
    memcpy(k->pk, pk, sizeof(k->pk));
    crypto_hash_sha256(h, k->pk, sizeof(k->pk));
    util_hex(k->id, h, 8);
}

/* 64 hex digits, then only white space. */
static bool parse_seed(const char *text, size_t len, unsigned char seed[32])
{
    size_t n = 0;
    while (n < len && text[n] != '\n' && text[n] != '\r' && text[n] != ' ')
        n++;
    for (size_t i = n; i < len; i++)
        if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ' && text[i] != '\t')
            return false;
    size_t got = 0;
    return n == SEED_HEX &&
           sodium_hex2bin(seed, 32, text, n, NULL, &got, NULL) == 0 && got == 32;
}

/* Make the key file: a new seed written to a temporary file next to it,
 * flushed, then linked into place, so a crash never leaves half a key and two
 * servers starting at once end up with the same one. */
static int make_key(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 16], text[SEED_HEX + 2];
    unsigned char seed[32];
    int fd = -1, rc = HV_EIO;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0) {
            util_err(err, errlen, "cannot create the directory %s: %s", dir, strerror(errno));
            goto out;
        }
    }
    snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        util_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    randombytes_buf(seed, sizeof(seed));
    util_hex(text, seed, sizeof(seed));
    text[SEED_HEX] = '\n';
    text[SEED_HEX + 1] = '\0';
    if (fchmod(fd, 0600) != 0 || write(fd, text, SEED_HEX + 1) != SEED_HEX + 1 || fsync(fd) != 0) {
        util_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (link(tmp, path) != 0 && errno != EEXIST) {
        util_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    /* The directory entry should survive a crash too. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    return rc;
}

int slip__key_file(const char *path, bool create, struct slip__key *k, bool *created, char *err,
                   size_t errlen)
{
    char text[256];
    unsigned char seed[32];
    int fd = -1, rc = HV_EIO;
    struct stat st;
    ssize_t n;

    memset(k, 0, sizeof(*k));
    *created = false;
    if (!*path) {
        util_err(err, errlen, "no key file is configured");
        return HV_EINVAL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if ((rc = make_key(path, err, errlen)))
            goto out;
        *created = true;
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    rc = HV_EIO;
    if (fd < 0) {
        util_err(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        util_err(err, errlen, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        /* Whoever can read it can sign slips in this server's name. */
        rc = HV_EINVAL;
        util_err(err, errlen, "%s may be read by group or others (mode %04o); chmod 600 it", path,
                 (unsigned)(st.st_mode & 07777));
        goto out;
    }
    n = read(fd, text, sizeof(text));
    if (n < 0) {
        util_err(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!parse_seed(text, (size_t)n, seed)) {
        rc = HV_EINVAL;
        util_err(err, errlen, "%s does not hold a key (64 hex digits)", path);
        goto out;
    }
    key_from_seed(k, seed);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(text, sizeof(text));
    sodium_memzero(seed, sizeof(seed));
    return rc;
}

int slip__key_parse(const char *text, size_t len, struct slip__key *k, char *err, size_t errlen)
{
    unsigned char seed[32], pk[32];
    size_t got = 0;
    size_t i = 0;
    memset(k, 0, sizeof(*k));
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    if (i < len && text[i] == '{') {
        json_error_t jerr;
        json_t *o = json_loadb(text, len, 0, &jerr);
        const char *alg = json_string_value(json_object_get(o, "algorithm"));
        const char *b64 = json_string_value(json_object_get(o, "public_key"));
        int bad = !b64 || (alg && strcmp(alg, "Ed25519") != 0) ||
                  sodium_base642bin(pk, sizeof(pk), b64, strlen(b64), NULL, &got, NULL,
                                    sodium_base64_VARIANT_ORIGINAL) != 0 ||
                  got != sizeof(pk);
        json_decref(o);
        if (bad) {
            util_err(err, errlen, "not an Ed25519 public key as /.well-known/haven-attendance-key "
                                  "gives it");
            return HV_EINVAL;
        }
        key_from_public(k, pk);
        return 0;
    }
    if (!parse_seed(text + i, len - i, seed)) {
        util_err(err, errlen, "neither a public key (JSON) nor a key file (64 hex digits)");
        return HV_EINVAL;
    }
    key_from_seed(k, seed);
    sodium_memzero(seed, sizeof(seed));
    return 0;
}

json_t *slip__key_json(const struct slip__key *k)
{
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), k->pk, sizeof(k->pk), sodium_base64_VARIANT_ORIGINAL);
    return json_pack("{s:s, s:s, s:s}", "algorithm", "Ed25519", "public_key", b64, "key_id",
                     k->id);
}

/* ---- canonical form (RFC 8785, for what a slip can hold) ---- */

/* Next code point of UTF-8 text (jansson's strings are valid UTF-8). */
static unsigned next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned cp;
    int extra;
    if (s[0] < 0x80) {
        cp = s[0];
        extra = 0;
    } else if (s[0] < 0xE0) {
        cp = s[0] & 0x1F;
        extra = 1;
    } else if (s[0] < 0xF0) {
        cp = s[0] & 0x0F;
        extra = 2;
    } else {
        cp = s[0] & 0x07;
        extra = 3;
    }
    s++;
    for (int i = 0; i < extra && *s; i++)
        cp = (cp << 6) | (*s++ & 0x3F);
    *p = s;
    return cp;
}

/* JCS sorts keys by their UTF-16 code units: above U+FFFF a character sorts
 * as its high surrogate (0xD800-0xDBFF), before U+E000-U+FFFF. */
static int cmp_keys(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a;
    const unsigned char *y = *(const unsigned char *const *)b;
    while (*x && *y) {
        unsigned cx = next_cp(&x), cy = next_cp(&y);
        unsigned ux = cx > 0xFFFF ? 0xD800 + ((cx - 0x10000) >> 10) : cx;
        unsigned uy = cy > 0xFFFF ? 0xD800 + ((cy - 0x10000) >> 10) : cy;
        if (ux != uy)
            return ux < uy ? -1 : 1;
        if (cx != cy) /* same high surrogate: the low ones decide */
            return (cx & 0x3FF) < (cy & 0x3FF) ? -1 : 1;
    }
    return *x ? 1 : *y ? -1 : 0;
}

static void canon_string(struct buf *b, const char *s, size_t len)
{
    buf_adds(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            buf_adds(b, "\\\"");
            break;
        case '\\':
            buf_adds(b, "\\\\");
            break;
        case '\b':
            buf_adds(b, "\\b");
            break;
        case '\f':
            buf_adds(b, "\\f");
            break;
        case '\n':
            buf_adds(b, "\\n");
            break;
        case '\r':
            buf_adds(b, "\\r");
            break;
        case '\t':
            buf_adds(b, "\\t");
            break;
        default:
            if (c < 0x20)
                buf_printf(b, "\\u%04x", c);
            else
                buf_add(b, &s[i], 1);
        }
    }
    buf_adds(b, "\"");
}

static bool canon(struct buf *b, json_t *v, bool top, int depth)
{
    if (depth > 16)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = 0;
        const char *key;
        json_t *val;
        const char **keys = xcalloc(json_object_size(v) + 1, sizeof(char *));
        bool ok = true;
        json_object_foreach(v, key, val) {
            if (!(top && strcmp(key, "signature") == 0))
                keys[n++] = key;
        }
        qsort(keys, n, sizeof(char *), cmp_keys);
        buf_adds(b, "{");
        for (size_t i = 0; i < n && ok; i++) {
            if (i)
                buf_adds(b, ",");
            canon_string(b, keys[i], strlen(keys[i]));
            buf_adds(b, ":");
            ok = canon(b, json_object_get(v, keys[i]), false, depth + 1);
        }
        buf_adds(b, "}");
        free(keys);
        return ok;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        buf_adds(b, "[");
        json_array_foreach(v, i, e) {
            if (i)
                buf_adds(b, ",");
            if (!canon(b, e, false, depth + 1))
                return false;
        }
        buf_adds(b, "]");
        return true;
    }
    case JSON_STRING:
        canon_string(b, json_string_value(v), json_string_length(v));
        return true;
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        if (x > MAX_SAFE_INT || x < -MAX_SAFE_INT)
            return false;
        buf_printf(b, "%lld", (long long)x);
        return true;
    }
    case JSON_TRUE:
        buf_adds(b, "true");
        return true;
    case JSON_FALSE:
        buf_adds(b, "false");
        return true;
    case JSON_NULL:
        buf_adds(b, "null");
        return true;
    default: /* JSON_REAL: no slip has one */
        return false;
    }
}

char *slip__canonical(json_t *doc, size_t *len)
{
    struct buf b;
    buf_init(&b);
    if (!json_is_object(doc) || !canon(&b, doc, true, 0)) {
        buf_cleanup(&b);
        return NULL;
    }
    buf_reserve(&b, 0);
    b.data[b.len] = '\0';
    *len = b.len;
    return b.data;
}

bool slip__digest(json_t *doc, char hex[65])
{
    size_t len;
    unsigned char h[crypto_hash_sha256_BYTES];
    char *c = slip__canonical(doc, &len);
    if (!c)
        return false;
    crypto_hash_sha256(h, (const unsigned char *)c, len);
    free(c);
    util_hex(hex, h, sizeof(h));
    return true;
}

int slip__sign(json_t *doc, const struct slip__key *k)
{
    unsigned char sig[crypto_sign_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    size_t len;
    if (!k->has_secret)
        return HV_EINVAL;
    char *c = slip__canonical(doc, &len);
    if (!c)
        return HV_EINVAL;
    crypto_sign_detached(sig, NULL, (const unsigned char *)c, len, k->sk);
    free(c);
    sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
    json_object_set_new(doc, "signature", json_string(b64));
    return 0;
}

bool slip__is_id(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == SLIP_ID_HEX - 1;
}

static bool has_string(json_t *doc, const char *key)
{
    return json_is_string(json_object_get(doc, key));
}

static bool has_count(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

const char *slip__check(json_t *doc, const struct slip__key *k)
{
    static const char *const strings[] = {
        "issuer", "key_id", "meeting_name", "meeting_slug", "group", "time_zone", "date",
        "started_at", "ended_at", "name", "issued_at", "signature", NULL};
    unsigned char sig[crypto_sign_BYTES];
    size_t got = 0, len;
    json_t *chair = json_object_get(doc, "chair");
    const char *type = json_string_value(json_object_get(doc, "type"));

    if (!json_is_object(doc) || !type || strcmp(type, SLIP_TYPE) != 0 ||
        json_integer_value(json_object_get(doc, "version")) != SLIP_VERSION ||
        !slip__is_id(json_string_value(json_object_get(doc, "slip_id"))) ||
        !has_count(doc, "session_minutes") || !has_count(doc, "minutes_present") ||
        !(json_is_string(chair) || json_is_null(chair)))
        return "malformed";
    for (int i = 0; strings[i]; i++)
        if (!has_string(doc, strings[i]))
            return "malformed";
    const char *b64 = json_string_value(json_object_get(doc, "signature"));
    if (sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof(sig))
        return "malformed";
    if (strcmp(json_string_value(json_object_get(doc, "key_id")), k->id) != 0)
        return "other_key";
    char *c = slip__canonical(doc, &len);
    if (!c)
        return "malformed";
    int bad = crypto_sign_verify_detached(sig, (const unsigned char *)c, len, k->pk);
    free(c);
    return bad ? "bad_signature" : NULL;
}

void slip__id_keys(const char *id_hex, unsigned char lookup[32], unsigned char seal[32])
{
    static const char find[] = "haven attendance slip: lookup v1";
    static const char box[] = "haven attendance slip: seal v1";
    unsigned char id[16];
    size_t got = 0;
    memset(id, 0, sizeof(id));
    sodium_hex2bin(id, sizeof(id), id_hex, strlen(id_hex), NULL, &got, NULL);
    crypto_generichash(lookup, 32, (const unsigned char *)find, sizeof(find) - 1, id, sizeof(id));
    crypto_generichash(seal, 32, (const unsigned char *)box, sizeof(box) - 1, id, sizeof(id));
    sodium_memzero(id, sizeof(id));
}

/* ---- the printable page ---- */

static void esc(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        case '\'':
            buf_adds(b, "&#39;");
            break;
        default:
            buf_add(b, s, 1);
        }
    }
}

static const char *str(json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s ? s : "";
}

/* "2026-03-10" as "Tuesday, 10 March 2026" (the proleptic Gregorian calendar). */
static void long_date(struct buf *b, const char *iso)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    static const char *const months[] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    int y, m, d;
    if (sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
        esc(b, iso);
        return;
    }
    int yy = m < 3 ? y - 1 : y;
    int wd = (yy + yy / 4 - yy / 100 + yy / 400 + t[m - 1] + d) % 7;
    buf_printf(b, "%s, %d %s %d", days[wd], d, months[m - 1], y);
}

/* "2026-03-10T19:00:00-05:00" -> "19:00"; the offset -> "UTC-05:00". */
static void clock_of(struct buf *b, const char *iso)
{
    if (strlen(iso) >= 16 && iso[10] == 'T')
        buf_add(b, iso + 11, 5);
    else
        esc(b, iso);
}

static void row(struct buf *b, const char *term, const char *value)
{
    buf_adds(b, "<dt>");
    esc(b, term);
    buf_adds(b, "</dt><dd>");
    esc(b, value);
    buf_adds(b, "</dd>\n");
}

char *slip__html(json_t *doc, enum slip__page kind)
{
    struct buf b;
    const char *issuer = str(doc, "issuer"), *id = str(doc, "slip_id");
    const char *start = str(doc, "started_at"), *end = str(doc, "ended_at");
    const char *chair = json_string_value(json_object_get(doc, "chair"));
    long long present = json_integer_value(json_object_get(doc, "minutes_present"));
    long long total = json_integer_value(json_object_get(doc, "session_minutes"));
    char num[64];

    buf_init(&b);
    buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<meta name=\"robots\" content=\"noindex\">\n<title>Proof of attendance: ");
    esc(&b, str(doc, "meeting_name"));
    buf_adds(&b, ", ");
    esc(&b, str(doc, "date"));
    buf_adds(&b, "</title>\n<link rel=\"stylesheet\" href=\"");
    esc(&b, issuer);
    buf_adds(&b, "/slip.css\">\n</head>\n<body>\n<main class=\"slip\">\n");
    if (kind == SLIP_PAGE_VERIFIED) {
        buf_adds(&b, "<p class=\"slip-verified\" role=\"status\">This server issued this slip "
                     "and its signature is valid. Every line of the slip you were shown must "
                     "read exactly as below.</p>\n");
    }
    buf_adds(&b, "<h1>Proof of attendance</h1>\n<p class=\"slip-summary\">");
    esc(&b, str(doc, "name"));
    buf_printf(&b, " was present for %lld of the %lld minutes of the online recovery meeting "
                   "&ldquo;", present, total);
    esc(&b, str(doc, "meeting_name"));
    buf_adds(&b, "&rdquo; on ");
    long_date(&b, str(doc, "date"));
    buf_adds(&b, ".</p>\n<dl class=\"slip-facts\">\n");
    row(&b, "Name used in the meeting", str(doc, "name"));
    row(&b, "Meeting", str(doc, "meeting_name"));
    if (*str(doc, "group"))
        row(&b, "Group", str(doc, "group"));
    buf_adds(&b, "<dt>Date</dt><dd>");
    long_date(&b, str(doc, "date"));
    buf_adds(&b, "</dd>\n<dt>Time</dt><dd>");
    clock_of(&b, start);
    buf_adds(&b, "&ndash;");
    clock_of(&b, end);
    buf_adds(&b, " ");
    esc(&b, str(doc, "time_zone"));
    if (strlen(start) == 25) {
        buf_adds(&b, " (UTC");
        esc(&b, start + 19);
        buf_adds(&b, ")");
    }
    buf_adds(&b, "</dd>\n");
    snprintf(num, sizeof(num), "%lld of %lld", present, total);
    row(&b, "Minutes present", num);
    row(&b, "Chair", chair ? chair : "not recorded");
    buf_adds(&b, "<dt>Slip number</dt><dd><code class=\"slip-id\">");
    esc(&b, id);
    buf_adds(&b, "</code></dd>\n");
    row(&b, "Issued", str(doc, "issued_at"));
    buf_adds(&b, "</dl>\n<section class=\"slip-check\">\n<h2>How to check this slip</h2>\n"
                 "<p>Open <a href=\"");
    esc(&b, issuer);
    buf_adds(&b, "/verify/");
    esc(&b, id);
    buf_adds(&b, ".html\"><code>");
    esc(&b, issuer);
    buf_adds(&b, "/verify/");
    esc(&b, id);
    buf_adds(&b, ".html</code></a>: the server shows the slip as it issued it.</p>\n"
                 "<p>The file version of this slip (JSON) is signed with the server's Ed25519 "
                 "key <code>");
    esc(&b, str(doc, "key_id"));
    buf_adds(&b, "</code>, published at <code>");
    esc(&b, issuer);
    buf_adds(&b, "/.well-known/haven-attendance-key</code>, and can be checked without the "
                 "server.</p>\n</section>\n<section class=\"slip-privacy\">\n"
                 "<h2>About anonymity</h2>\n<p>Recovery meetings are anonymous. This slip shows "
                 "only the name the attendee chose for the meeting and the chair's meeting "
                 "name; the server keeps no list of who asked for slips. Please do not ask the "
                 "group who else attended.</p>\n</section>\n");
    char *pretty = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    buf_adds(&b, "<section class=\"slip-json\">\n<h2>The signed slip</h2>\n<pre>");
    esc(&b, pretty);
    free(pretty);
    buf_adds(&b, "</pre>\n</section>\n</main>\n</body>\n</html>\n");
    return b.data;
}
