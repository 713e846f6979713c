/* veritee audit archive: the oldest records out to a file (named by the caller, or in a
 * directory under a name of its own), flushed, read back, and only then cut from the store. */
#define _GNU_SOURCE /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_cli.h"
#include "cli.h"
#include "veritee/crypto.h"
#include "veritee/store.h"

static vt_err write_all(void *ctx, const char *data, size_t len, vt_error *err)
{
    if (fwrite(data, 1, len, (FILE *)ctx) != len)
        return vt_error_set(err, VT_E_IO, "audit_archive", "write: %s", strerror(errno));
    return VT_OK;
}

static vt_err sync_dir(const char *dir, vt_error *e)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 || fsync(d) != 0) {
        if (d >= 0) close(d);
        return vt_error_set(e, VT_E_IO, "audit_archive", "cannot sync the directory %s", dir);
    }
    close(d);
    return VT_OK;
}

int cli_audit_check_dir(const char *dir, const char *opt)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "veritee audit: %s %s: %s\n", opt, dir, strerror(errno));
        return VT_EXIT_MISSING;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "veritee audit: %s %s: not a directory\n", opt, dir);
        return VT_EXIT_USAGE;
    }
    return VT_EXIT_OK;
}

/* The file the records go to: --out as given, or DIR/audit-FIRST-LAST.jsonl with both numbers
 * zero-padded to 19 digits (every int64), so that names sort in the order of the log. */
static int archive_path(const cli_archive_req *rq, int64_t first, int64_t last, char *path, size_t cap,
                        char *dir, size_t dcap)
{
    int n;
    if (rq->out_dir != NULL) {
        n = snprintf(path, cap, "%s/audit-%019lld-%019lld.jsonl", rq->out_dir, (long long)first, (long long)last);
        if (n > 0 && (size_t)n < cap) n = snprintf(dir, dcap, "%s", rq->out_dir);
    } else {
        n = snprintf(path, cap, "%s", rq->out);
        const char *slash = strrchr(rq->out, '/');
        if (n > 0 && (size_t)n < cap)
            n = slash == NULL ? snprintf(dir, dcap, ".")
                : slash == rq->out ? snprintf(dir, dcap, "/")
                : snprintf(dir, dcap, "%.*s", (int)(slash - rq->out), rq->out);
    }
    if (n < 0 || (size_t)n >= cap || (size_t)n >= dcap) {
        fprintf(stderr, "veritee audit: the archive's path is too long\n");
        return VT_EXIT_USAGE;
    }
    return VT_EXIT_OK;
}

/* Writes records base+1..upto to tmp (new, 0600), flushed to disk, then reads it back: the
 * file must hold exactly those records, chaining from the base. */
static vt_err write_archive(vt_store *s, const char *tmp, int64_t base, int64_t upto, int64_t *n,
                            uint8_t last_hash[VT_AUDIT_HASH_LEN], vt_error *e)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return vt_error_set(e, VT_E_IO, "audit_archive", "cannot create %s: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return vt_error_set(e, VT_E_IO, "audit_archive", "cannot write %s", tmp);
    }
    vt_err rc = vt_audit_export(s, upto, write_all, f, n, e);
    if (rc == VT_OK && (fflush(f) != 0 || fsync(fd) != 0))
        rc = vt_error_set(e, VT_E_IO, "audit_archive", "cannot flush %s: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && rc == VT_OK) rc = vt_error_set(e, VT_E_IO, "audit_archive", "close %s", tmp);
    /* what is on disk, read back, before a single record leaves the store */
    vt_audit_archive a;
    bool unused = false, found = false;
    if (rc == VT_OK) rc = cli_audit_read_archive(tmp, &a, NULL, &unused, upto, &found, last_hash, false, e);
    if (rc == VT_OK && (a.records != *n || !found || a.after_seq != base))
        rc = vt_error_set(e, VT_E_VERIFY, "audit_archive", "%s does not read back as written", tmp);
    return rc;
}

/* The cut point: the last record to archive (<= base: nothing to do). */
static vt_err archive_upto(vt_store *s, const cli_archive_req *rq, int64_t *base, int64_t *head, int64_t *upto,
                           vt_error *e)
{
    uint8_t bh[VT_AUDIT_HASH_LEN], hh[VT_AUDIT_HASH_LEN];
    VT_GUARD(vt_store_audit_base(s, base, bh, e));
    VT_GUARD(vt_store_audit_head(s, head, hh, e));
    if (rq->has_cut) {
        int64_t first = 0;
        VT_GUARD(vt_store_audit_first_at(s, rq->cut, &first, e));
        *upto = first == 0 ? *head : first - 1;
    } else {
        *upto = rq->keep >= *head ? 0 : *head - rq->keep;
    }
    return VT_OK;
}

static void report(const cli_archive_req *rq, const char *path, int64_t base, int64_t upto, int64_t n,
                   const uint8_t h[VT_AUDIT_HASH_LEN])
{
    char hex[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(h, VT_AUDIT_HASH_LEN, hex);
    if (rq->json) {
        json_t *j = json_pack("{ss sI sI sI ss}", "archive", path, "first_seq", (json_int_t)(base + 1), "last_seq",
                              (json_int_t)upto, "records", (json_int_t)n, "base_hash", hex);
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        printf("archived records %lld to %lld (%lld) to %s\nthe store now starts after %lld:%s\n",
               (long long)(base + 1), (long long)upto, (long long)n, path, (long long)upto, hex);
    }
}

static void nothing(const cli_archive_req *rq, int64_t base, int64_t head)
{
    if (rq->json) {
        json_t *j = json_pack("{sb sI sI}", "archived", 0, "base_seq", (json_int_t)base, "head_seq", (json_int_t)head);
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else if (head == base) {
        printf("nothing to archive: no record is stored after record %lld\n", (long long)base);
    } else {
        printf("nothing to archive: the store holds records %lld to %lld, none %s\n", (long long)(base + 1),
               (long long)head, rq->has_cut ? "older than the cut" : "beyond the newest to keep");
    }
}

/* tmp becomes path, never over an existing file: a hard link (then tmp is removed), or where the
 * file system has none (some network and FUSE ones), renameat2's RENAME_NOREPLACE. */
static int place(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0) return 0;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK) return -1;
    return renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
}

/* Takes the directory's lock (flock, released at exit): two runs into one directory, say the
 * timer and an operator, would write overlapping archives. */
static int lock_dir(const char *dir, int *fd)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        fprintf(stderr, "veritee audit: cannot open %s: %s\n", dir, strerror(errno));
        return VT_EXIT_MISSING;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "veritee audit: another 'audit archive' is writing into %s (nothing archived)\n", dir);
        close(*fd);
        *fd = -1;
        return VT_EXIT_MISSING;
    }
    return VT_EXIT_OK;
}

/* An earlier run into this directory whose cut stopped part of the way (a busy or lost database)
 * left a file whose last records are still stored: its cut is finished first, once the file is
 * checked to be this store's history (the base's hash in it, its last record as stored), so that
 * the run after it does not write an archive overlapping that file. */
static vt_err finish_cut(vt_store *s, const char *path, int64_t base, const uint8_t base_hash[VT_AUDIT_HASH_LEN],
                         int64_t *done, vt_error *e)
{
    vt_audit_archive a;
    bool unused = false, at_found = false;
    uint8_t at_hash[VT_AUDIT_HASH_LEN];
    *done = 0;
    VT_GUARD(cli_audit_read_archive(path, &a, NULL, &unused, base, &at_found, at_hash, false, e));
    if (a.after_seq > base || a.last_seq <= base) return VT_OK; /* not across the base */
    bool joins = a.after_seq == base ? vt_ct_eq(a.after_hash, base_hash, VT_AUDIT_HASH_LEN)
                                     : at_found && vt_ct_eq(at_hash, base_hash, VT_AUDIT_HASH_LEN);
    if (!joins)
        return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                            "%s holds record %lld with another hash than the store's archive base (another history): "
                            "nothing archived", path, (long long)base);
    vt_audit_record *r = NULL;
    size_t n = 0;
    VT_GUARD(vt_store_audit_page(s, a.last_seq - 1, 1, &r, &n, e));
    bool same = n == 1 && r[0].seq == a.last_seq && vt_ct_eq(r[0].hash, a.last_hash, VT_AUDIT_HASH_LEN);
    vt_audit_records_free(r, n);
    if (!same)
        return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                            "%s ends at record %lld, which the store does not hold with that hash: nothing archived",
                            path, (long long)a.last_seq);
    VT_GUARD(vt_audit_cut(s, a.last_seq, e));
    *done = a.last_seq;
    return VT_OK;
}

static int resume(vt_store *s, const char *dir, bool json)
{
    vt_error e = {0};
    char **files = NULL;
    int nfiles = 0;
    int64_t base = 0, done = 0;
    uint8_t bh[VT_AUDIT_HASH_LEN];
    vt_err rc = vt_store_audit_base(s, &base, bh, &e);
    if (rc == VT_OK) rc = cli_audit_list_dir(dir, &files, &nfiles, &e); /* none listed on failure */
    for (int i = 0; rc == VT_OK && i < nfiles && done == 0; i++) {
        rc = finish_cut(s, files[i], base, bh, &done, &e);
        if (rc == VT_OK && done > 0)
            fprintf(json ? stderr : stdout, "finished the cut of %s: records %lld to %lld were still stored (an "
                    "earlier run stopped part of the way); the store now starts after %lld\n", files[i],
                    (long long)(base + 1), (long long)done, (long long)done);
    }
    cli_audit_dir_free(files, nfiles);
    if (rc == VT_OK) return VT_EXIT_OK;
    fprintf(stderr, "veritee audit: %s\n", e.msg);
    return cli_exit_for(e.code);
}

int cli_audit_archive(vt_store *s, const cli_archive_req *rq)
{
    vt_error e = {0};
    int64_t base = 0, head = 0, upto = 0;
    char path[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32];
    int lockfd = -1;
    if (rq->out_dir != NULL) {
        int x = lock_dir(rq->out_dir, &lockfd);
        if (x == VT_EXIT_OK) x = resume(s, rq->out_dir, rq->json);
        if (x != VT_EXIT_OK) {
            if (lockfd >= 0) close(lockfd);
            return x;
        }
    }
    int ex = VT_EXIT_OK;
    vt_err rc = archive_upto(s, rq, &base, &head, &upto, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee audit: %s\n", e.msg);
        ex = cli_exit_for(e.code);
        goto out;
    }
    if (upto <= base) {
        nothing(rq, base, head);
        goto out;
    }
    ex = archive_path(rq, base + 1, upto, path, sizeof path, dir, sizeof dir);
    if (ex != VT_EXIT_OK) goto out;
    if (access(path, F_OK) == 0) { /* early: the link below is what guarantees it */
        fprintf(stderr, "veritee audit: %s exists (an archive is never overwritten; nothing archived)\n", path);
        ex = VT_EXIT_USAGE;
        goto out;
    }
    /* written under a hidden name beside it, renamed only once complete and read back: a crash
     * never leaves a partial audit-*.jsonl for 'verify --archive-dir' to stumble on */
    snprintf(tmp, sizeof tmp, "%s/.audit-archive-%ld.tmp", dir, (long)getpid());
    int64_t n = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    rc = write_archive(s, tmp, base, upto, &n, h, &e);
    if (rc == VT_OK && place(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        fprintf(stderr, "veritee audit: cannot create %s: %s%s (nothing archived)\n", path, strerror(err),
                err == EEXIST ? " (an archive is never overwritten)" : "");
        ex = err == EEXIST ? VT_EXIT_USAGE : VT_EXIT_MISSING;
        goto out;
    }
    bool linked = rc == VT_OK;
    unlink(tmp);
    if (rc == VT_OK) rc = sync_dir(dir, &e);
    /* the base moved since the export (another run cut the store): this file overlaps its archive */
    int64_t now_base = 0;
    uint8_t nb[VT_AUDIT_HASH_LEN];
    if (rc == VT_OK) rc = vt_store_audit_base(s, &now_base, nb, &e);
    if (rc == VT_OK && now_base != base)
        rc = vt_error_set(&e, VT_E_IO, "audit_archive",
                          "the store's base moved from %lld to %lld while writing (another 'audit archive' ran)",
                          (long long)base, (long long)now_base);
    if (rc != VT_OK) {
        if (linked) unlink(path); /* nothing cut: the file must not stay to block or overlap the next run */
        fprintf(stderr, "veritee audit: %s (nothing was archived)\n", e.msg);
        ex = cli_exit_for(e.code);
        goto out;
    }
    rc = vt_audit_cut(s, upto, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee audit: %s (keep %s: the store may have been cut part of the way)\n", e.msg, path);
        ex = cli_exit_for(e.code);
        goto out;
    }
    report(rq, path, base, upto, n, h);
out:
    if (lockfd >= 0) close(lockfd);
    return ex;
}
