/* veritee audit: what audit.c (verify, show, the command line) and audit_archive.c (archive)
 * share. */
#ifndef VT_CLI_AUDIT_H
#define VT_CLI_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "veritee/audit.h"

/* Reads one archive file in order; the anchor (may be NULL) is checked when its record is in
 * the file (*anchor_seen); at_seq (0: none) asks for that record's hash (*at_found, at_hash).
 * header_only stops after the header line (then only a->after_seq, after_hash, declared). */
vt_err cli_audit_read_archive(const char *path, vt_audit_archive *a, const vt_audit_anchor *anchor, bool *anchor_seen,
                              int64_t at_seq, bool *at_found, uint8_t at_hash[VT_AUDIT_HASH_LEN], bool header_only,
                              vt_error *e);

/* The audit-*.jsonl files of an archive directory, in the order of the record each one's header
 * starts after (not by name); two starting after the same record are VT_E_VERIFY ("overlap"), a
 * file that is not an archive fails naming it. Free with cli_audit_dir_free. */
vt_err cli_audit_list_dir(const char *dir, char ***files, int *nfiles, vt_error *e);
void cli_audit_dir_free(char **files, int n);

/* What `audit archive` cuts up to: all but the newest `keep` records (keep >= 0), or the records
 * before the first one at or after `cut` (has_cut: --before, or --older-than counted back from
 * --at or the clock). */
typedef struct cli_archive_req {
    const char *out;     /* --out FILE, or NULL */
    const char *out_dir; /* --out-dir DIR, or NULL */
    long long keep;      /* -1: not given */
    bool has_cut;
    vt_time cut;
    bool json;
} cli_archive_req;
int cli_audit_archive(vt_store *s, const cli_archive_req *rq);
/* --out-dir DIR is a directory: VT_EXIT_OK, or the exit code after a message. */
int cli_audit_check_dir(const char *dir, const char *opt);

#endif
