/* Shared helpers for the cmocka tests: locating vectors, loading files. */
#ifndef VT_TESTUTIL_H
#define VT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "veritee/codec.h"

/* $VERITEE_VECTORS (or ../shared/vectors). */
const char *vt_test_vectors(void);
/* Path under the vectors folder; returns false (and prints a skip line) when absent. */
bool vt_test_vector_path(const char *rel, char *out, size_t cap);
/* Load a vector file; calls skip() when the vectors are absent, fails on other errors. */
void vt_test_load(const char *rel, vt_buf *out);
/* Temporary directory created for the test (removed by the OS tmp cleaner). */
void vt_test_tmpdir(char *out, size_t cap);

#endif
