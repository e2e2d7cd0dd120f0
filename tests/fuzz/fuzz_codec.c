/* libFuzzer: a client frame through the decoder and validator, and the
 * encoders it feeds. */
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "codec.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct codec_limits lim = {.max_text_chars = 4000};
    struct msg m;
    struct codec_error err;
    if (codec_decode((const char *)data, size, &lim, &m, &err) == 0) {
        if (m.text)
            (void)codec_utf8_chars(m.text, strlen(m.text));
        msg_cleanup(&m);
    } else {
        struct frame *f = codec_error_frame(err.id, err.code, err.message, err.field, -1);
        frame_unref(f);
        codec_error_cleanup(&err);
    }
    return 0;
}
