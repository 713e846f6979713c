/* Test helpers (tests/testutil.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/fileio.h"

const char *vt_test_vectors(void)
{
    const char *v = getenv("VERITEE_VECTORS");
    return v && *v ? v : "../shared/vectors";
}

bool vt_test_vector_path(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", vt_test_vectors(), rel);
    if (vt_file_exists(out)) return true;
    printf("SKIP: vector %s not found (set VERITEE_VECTORS)\n", out);
    return false;
}

void vt_test_load(const char *rel, vt_buf *out)
{
    char path[1024];
    if (!vt_test_vector_path(rel, path, sizeof path)) {
        skip();
        return;
    }
    vt_error e;
    vt_error_clear(&e);
    if (vt_file_read(path, VT_FILE_MAX, out, &e) != VT_OK) fail_msg("%s: %s", path, e.msg);
}

void vt_test_tmpdir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/vt-test-XXXXXX");
    if (mkdtemp(out) == NULL) fail_msg("mkdtemp failed");
}
