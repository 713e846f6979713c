/* libFuzzer: an audit archive file (JSON Lines) read line by line as `veritee audit verify
 * --archive` reads it. Whatever the bytes, the reader ends with a clean error or with an
 * archive whose count and sequence numbers agree with its header. */
#include <stdlib.h>
#include <string.h>

#include "veritee/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_audit_archive a;
    memset(&a, 0, sizeof a);
    vt_error e = {0};
    const char *p = (const char *)data, *end = p + size;
    vt_err rc = VT_OK;
    while (rc == VT_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        rc = vt_audit_archive_line(&a, p, len, &e);
        p += len + (nl != NULL);
    }
    if (rc == VT_OK) rc = vt_audit_archive_end(&a, &e);
    if (rc == VT_OK && (a.records != a.declared || a.last_seq != a.after_seq + a.records)) abort();
    if (rc != VT_OK && e.msg[0] == 0) abort(); /* every refusal says why */
    return 0;
}
