/* veritee audit: the archive files (JSON Lines, written by `audit archive`), read one at a time
 * with a bounded line buffer, and the archives of a directory put in the order of the log. Both
 * `audit verify` (audit.c) and `audit archive` (audit_archive.c) read them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cli.h"
#include "veritee/audit.h"
#include "veritee/crypto.h"

/* One line of f without its newline into buf (VT_AUDIT_ARCHIVE_LINE_MAX bytes): 1, or 0 at the
 * end of the file, -1 for a last line without a newline, -2 for a longer line (never read whole). */
static int read_line(FILE *f, char *buf, size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) {
        if (c == '\n') {
            *len = n;
            return 1;
        }
        if (n == VT_AUDIT_ARCHIVE_LINE_MAX) return -2;
        buf[n++] = (char)c;
    }
    *len = n;
    return n == 0 ? 0 : -1;
}

vt_err cli_audit_read_archive(const char *path, vt_audit_archive *a, const vt_audit_anchor *anchor, bool *anchor_seen,
                              int64_t at_seq, bool *at_found, uint8_t at_hash[VT_AUDIT_HASH_LEN], bool header_only,
                              vt_error *e)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return vt_error_set(e, VT_E_MISSING, "audit_archive", "cannot open %s: %s", path, strerror(errno));
    memset(a, 0, sizeof *a);
    char *line = malloc(VT_AUDIT_ARCHIVE_LINE_MAX);
    vt_err rc = line != NULL ? VT_OK : vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    size_t len = 0;
    int got;
    while (rc == VT_OK && (got = read_line(f, line, &len)) != 0) {
        if (got < 0) {
            a->lines++;
            rc = vt_error_set(e, got == -1 ? VT_E_VERIFY : VT_E_INVALID, got == -1 ? "audit_chain" : "audit_archive",
                              "archive line %lld: %s", (long long)a->lines,
                              got == -1 ? "no newline at its end (cut short)" : "longer than 1 MiB");
            break;
        }
        rc = vt_audit_archive_line(a, line, len, e);
        if (rc == VT_OK && header_only) break;
        if (rc == VT_OK && a->records > 0 && anchor != NULL && a->last_seq == anchor->seq) {
            *anchor_seen = true;
            if (!vt_ct_eq(a->last_hash, anchor->hash, VT_AUDIT_HASH_LEN))
                rc = vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                  "record %lld differs from the anchor kept outside the database (history rewritten)",
                                  (long long)anchor->seq);
        }
        if (rc == VT_OK && a->records > 0 && at_seq != 0 && a->last_seq == at_seq) {
            *at_found = true;
            memcpy(at_hash, a->last_hash, VT_AUDIT_HASH_LEN);
        }
    }
    if (rc == VT_OK && ferror(f)) rc = vt_error_set(e, VT_E_IO, "audit_archive", "cannot read %s", path);
    if (rc == VT_OK && !header_only) rc = vt_audit_archive_end(a, e);
    if (rc == VT_OK && header_only && !a->header)
        rc = vt_error_set(e, VT_E_INVALID, "audit_archive", "not an audit archive (empty)");
    free(line);
    fclose(f);
    if (rc != VT_OK) vt_error_wrap(e, "%s", path);
    return rc;
}

/* An archive directory (--archive-dir): its audit-*.jsonl files, ordered by the record each
 * starts after as its header says (not by name); two starting at one record overlap. */
typedef struct dir_entry {
    char *path;
    int64_t after;
} dir_entry;

static int by_after(const void *x, const void *y)
{
    const dir_entry *a = x, *b = y;
    return a->after < b->after ? -1 : a->after > b->after;
}

static bool archive_name(const char *n)
{
    size_t len = strlen(n);
    return len > strlen("audit-.jsonl") && strncmp(n, "audit-", 6) == 0 && strcmp(n + len - 6, ".jsonl") == 0;
}

#define MAX_DIR_ARCHIVES 100000

void cli_audit_dir_free(char **files, int n)
{
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
}

vt_err cli_audit_list_dir(const char *dir, char ***files, int *nfiles, vt_error *e)
{
    *files = NULL;
    *nfiles = 0;
    DIR *d = opendir(dir);
    if (d == NULL) return vt_error_set(e, VT_E_MISSING, "audit_archive", "cannot open %s: %s", dir, strerror(errno));
    dir_entry *ents = NULL;
    size_t n = 0, cap = 0;
    vt_err rc = VT_OK;
    struct dirent *de;
    while (rc == VT_OK && (de = readdir(d)) != NULL) {
        if (!archive_name(de->d_name)) continue;
        if (n == MAX_DIR_ARCHIVES) {
            rc = vt_error_set(e, VT_E_INVALID, "audit_archive", "%s: more than %d archives", dir, MAX_DIR_ARCHIVES);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            dir_entry *g = realloc(ents, cap * sizeof *ents);
            if (g == NULL) {
                rc = vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
                break;
            }
            ents = g;
        }
        size_t len = strlen(dir) + 1 + strlen(de->d_name) + 1;
        ents[n].path = malloc(len);
        if (ents[n].path == NULL) {
            rc = vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
            break;
        }
        snprintf(ents[n].path, len, "%s/%s", dir, de->d_name);
        vt_audit_archive a;
        bool unused = false;
        rc = cli_audit_read_archive(ents[n].path, &a, NULL, &unused, 0, &unused, NULL, true, e);
        ents[n].after = a.after_seq;
        n++;
    }
    closedir(d);
    if (rc == VT_OK && n > 1) qsort(ents, n, sizeof *ents, by_after); /* ents is NULL for none */
    for (size_t i = 1; rc == VT_OK && i < n; i++)
        if (ents[i].after == ents[i - 1].after)
            rc = vt_error_set(e, VT_E_VERIFY, "audit_chain",
                              "overlap: %s and %s both start after record %lld (one archive twice, or a second "
                              "history)", ents[i - 1].path, ents[i].path, (long long)ents[i].after);
    char **out = rc == VT_OK && n > 0 ? calloc(n, sizeof *out) : NULL;
    if (rc == VT_OK && n > 0 && out == NULL) rc = vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (rc == VT_OK) out[i] = ents[i].path;
        else free(ents[i].path);
    }
    free(ents);
    if (rc != VT_OK) return rc;
    *files = out;
    *nfiles = (int)n;
    return VT_OK;
}
