/* libFuzzer: a duration from the command line or a service's settings (vt_duration_parse); an
 * accepted one is within (0, VT_DURATION_MAX] and says the same when printed back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/vtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1); /* exactly its length: ASan sees any read past the end */
    if (s == NULL) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    vt_error e;
    int64_t d = 0, again = 0;
    if (vt_duration_parse(s, &d, &e) == VT_OK) {
        if (d <= 0 || d > VT_DURATION_MAX) abort();
        char back[32];
        snprintf(back, sizeof back, "%llds", (long long)d);
        if (vt_duration_parse(back, &again, &e) != VT_OK || again != d) abort();
    }
    free(s);
    return 0;
}
