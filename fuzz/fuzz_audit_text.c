/* libFuzzer: untrusted text (a token's sub, a client address) made into an audit field; the
 * result must always be accepted as a field: valid UTF-8, no control character, within max. */
#include <stdlib.h>
#include <string.h>

#include "veritee/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[512], out[300];
    size_t n = size < sizeof in - 2 ? size : sizeof in - 2;
    memcpy(in, data, n);
    in[n] = 0;
    size_t max = n ? (uint8_t)in[0] : 80;
    size_t got = vt_audit_text(in + (n ? 1 : 0), max, out, sizeof out);
    if (got != strlen(out) || got > max || got >= sizeof out) abort();
    for (size_t i = 0; i < got; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) abort();
    json_t *s = json_string(out); /* NULL when not UTF-8 */
    if (s == NULL) abort();
    json_decref(s);
    return 0;
}
