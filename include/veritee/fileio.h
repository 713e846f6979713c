/* Whole-file reads with a size bound (the io layer: used by collateral and trust loaders). */
#ifndef VERITEE_FILEIO_H
#define VERITEE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_FILE_MAX (64u << 20)

/* Read a whole file (at most max bytes) into an owned, NUL-terminated buffer (len excludes
 * the NUL). A missing file is VT_E_MISSING; other failures VT_E_IO. */
VT_MUST_USE vt_err vt_file_read(const char *path, size_t max, vt_buf *out, vt_error *err);
/* Read fd to EOF (read(2), EINTR retried; at most max bytes) into an owned, NUL-terminated
 * buffer. `what` names the source and `check` the failed check in messages; more than max
 * bytes is VT_E_INVALID, a read error VT_E_IO. The caller closes fd. */
VT_MUST_USE vt_err vt_fd_read(int fd, size_t max, const char *what, const char *check, vt_buf *out, vt_error *err);
VT_MUST_USE vt_err vt_file_write(const char *path, const void *p, size_t n, vt_error *err);
bool vt_file_exists(const char *path);
/* path = dir + "/" + name into out (needs size cap); fails when too long. */
VT_MUST_USE vt_err vt_path_join(char *out, size_t cap, const char *dir, const char *name, vt_error *err);

/* Replaces path with n bytes all at once: written to a temporary file in the same directory,
 * flushed to disk, renamed over path, and the directory flushed, so a crash (kill -9, power
 * loss) leaves either the old file or the new one, never a torn one. mode: permission bits of
 * the new file (e.g. 0644). Errors: VT_E_IO naming the path. */
VT_MUST_USE vt_err vt_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, vt_error *err);
/* mkdir -p with mode for the directories it creates. Errors: VT_E_IO naming the directory. */
VT_MUST_USE vt_err vt_mkdirs(const char *path, unsigned mode, vt_error *err);

VT_END_DECLS

#endif
