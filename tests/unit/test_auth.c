/* Unit tests of auth: display names and tokens. */
#include <string.h>

#include "auth.h"
#include "check.h"

static const char *name_code(const char *name)
{
    static char out[200];
    bool full = false;
    const char *code = "ok";
    if (auth_check_name(name, out, sizeof(out), &full, &code) == 0)
        return full ? "full" : "ok";
    return code;
}

int main(void)
{
    char out[200];
    bool full;
    const char *code;

    CHECK_EQ_INT(auth_init(), 0);
    CHECK_EQ_INT(auth_check_name("  Sam  ", out, sizeof(out), &full, &code), 0);
    CHECK_EQ_STR(out, "Sam");
    CHECK_EQ_STR(name_code("Sam"), "ok");
    CHECK_EQ_STR(name_code("Renée"), "ok");
    CHECK_EQ_STR(name_code("Jo Smith"), "full");
    CHECK_EQ_STR(name_code("jo smith"), "ok");
    CHECK_EQ_STR(name_code("Hostile"), "ok");
    CHECK_EQ_STR(name_code("Chairlift Fan"), "full"); /* not reserved */
    CHECK_EQ_STR(name_code(""), "name_empty");
    CHECK_EQ_STR(name_code("   "), "name_empty");
    CHECK_EQ_STR(name_code("abcdefghijabcdefghijabcdefghijab"), "ok");
    CHECK_EQ_STR(name_code("abcdefghijabcdefghijabcdefghijabc"), "name_too_long");
    CHECK_EQ_STR(name_code("Sa\xe2\x80\x8bm"), "name_invalid_chars"); /* zero-width space */
    CHECK_EQ_STR(name_code("Sa\x07m"), "name_invalid_chars");
    CHECK_EQ_STR(name_code("Sa\xe2\x80\xaem"), "name_invalid_chars"); /* right-to-left override */
    CHECK_EQ_STR(name_code("Chair"), "name_reserved");
    CHECK_EQ_STR(name_code("CHAIR"), "name_reserved");
    CHECK_EQ_STR(name_code("Ch4ir"), "name_reserved");
    CHECK_EQ_STR(name_code("c h a i r"), "name_reserved");
    CHECK_EQ_STR(name_code("Co-Chair"), "name_reserved");
    CHECK_EQ_STR(name_code("ADM1N"), "name_reserved");
    CHECK_EQ_STR(name_code("Adm|n"), "name_reserved");
    CHECK_EQ_STR(name_code("H4ven"), "name_reserved");
    CHECK_EQ_STR(name_code("Host Bob"), "name_reserved");
    CHECK_EQ_STR(name_code("\xd0\xa1hair"), "name_reserved"); /* Cyrillic Es */
    CHECK_EQ_STR(name_code("Official"), "name_reserved");

    char t1[AUTH_TOKEN_HEX], t2[AUTH_TOKEN_HEX], id[AUTH_ID_HEX], h1[AUTH_HASH_HEX],
        h2[AUTH_HASH_HEX];
    auth_new_token(t1, id);
    auth_new_token(t2, id);
    CHECK_EQ_INT(strlen(t1), 64);
    CHECK_EQ_INT(strlen(id), 32);
    CHECK(strcmp(t1, t2) != 0);
    auth_token_hash(t1, h1);
    auth_token_hash(t1, h2);
    CHECK_EQ_STR(h1, h2);
    auth_token_hash(t2, h2);
    CHECK(strcmp(h1, h2) != 0);
    CHECK(strcmp(h1, t1) != 0);
    return check_done();
}
