/* libFuzzer: a config document through the loader and the checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[512];
    config_init(&cfg);
    if (config_load_buffer(&cfg, (const char *)data, size, "fuzz", err, sizeof(err)) == 0 &&
        config_validate(&cfg, err, sizeof(err)) == 0) {
        char *dump = config_dump(&cfg);
        free(dump);
    }
    config_cleanup(&cfg);
    return 0;
}
