/* libFuzzer: request paths against the API's route patterns, and display
 * names through their checks.  The input is "pattern\npath" or a name. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/api/meetings", "/api/meetings/{}", "/api/meetings/{}.ics", "/api/meetings/{}/sessions",
    "/api/sessions/{}/transcript", "/api/login", "/healthz", "/{}/{}/{}/{}/{}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char params[4][128];
    int n;
    memcpy(s, data, size);
    s[size] = '\0';
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        (void)api_match(patterns[i], s, params, &n);
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        (void)api_match(s, nl + 1, params, &n);
        *nl = '\n';
    }
    /* auth_check_name expects valid UTF-8, as jansson delivers it. */
    char out[200];
    bool full;
    const char *code;
    if (size < 512 && !memchr(s, '\0', size)) {
        bool utf8 = true;
        for (size_t i = 0; i < size && utf8;) {
            unsigned char c = (unsigned char)s[i];
            size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
            if (!len || i + len > size)
                utf8 = false;
            for (size_t k = 1; utf8 && k < len; k++)
                utf8 = ((unsigned char)s[i + k] >> 6) == 2;
            i += len ? len : 1;
        }
        if (utf8)
            (void)auth_check_name(s, out, sizeof(out), &full, &code);
    }
    free(s);
    return 0;
}
