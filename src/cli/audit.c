/* veritee audit verify|show|archive: check the hash chain of a store's audit log (and of its
 * archives), print records, move the oldest records out to an archive file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "veritee/audit.h"
#include "veritee/crypto.h"
#include "veritee/store.h"

static void audit_usage(FILE *f)
{
    cli_usage(f, "audit");
}

static int open_db(const char *url, vt_store **s)
{
    vt_error e = {0};
    /* never create; no KEK (the log holds no sealed values); only archive writes */
    vt_store_opts o = {.existing = true};
    if (vt_store_open(url, &o, s, &e) != VT_OK) {
        fprintf(stderr, "veritee audit: %s\n", e.msg);
        return cli_exit_for(e.code);
    }
    return VT_EXIT_OK;
}

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

/* Reads one archive file in order; the anchor (may be NULL) is checked when its record is in
 * the file (*anchor_seen); at_seq (0: none) asks for that record's hash (*at_found, at_hash). */
static vt_err read_archive(const char *path, vt_audit_archive *a, const vt_audit_anchor *anchor, bool *anchor_seen,
                           int64_t at_seq, bool *at_found, uint8_t at_hash[VT_AUDIT_HASH_LEN], vt_error *e)
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
    if (rc == VT_OK) rc = vt_audit_archive_end(a, e);
    free(line);
    fclose(f);
    if (rc != VT_OK) vt_error_wrap(e, "%s", path);
    return rc;
}

/* The archives, in order, chain from the log's first record to the store's base. */
static vt_err verify_archives(vt_store *s, char **files, int nfiles, const vt_audit_anchor *anchor, bool *anchor_seen,
                              int64_t *archived, vt_error *e)
{
    int64_t base = 0;
    uint8_t base_hash[VT_AUDIT_HASH_LEN], last_hash[VT_AUDIT_HASH_LEN] = {0}, at_hash[VT_AUDIT_HASH_LEN];
    VT_GUARD(vt_store_audit_base(s, &base, base_hash, e));
    int64_t last = 0;
    bool at_found = false;
    *archived = 0;
    for (int i = 0; i < nfiles; i++) {
        vt_audit_archive a;
        VT_GUARD(read_archive(files[i], &a, anchor, anchor_seen, base, &at_found, at_hash, e));
        if (i == 0 && a.after_seq != 0)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "%s starts after record %lld: the archives must start at record 1 (give the older "
                                "archives first)", files[i], (long long)a.after_seq);
        if (a.after_seq != last)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "%s starts after record %lld, but the archive before it ends at record %lld (give "
                                "the archives in order, none missing)", files[i], (long long)a.after_seq, (long long)last);
        if (!vt_ct_eq(a.after_hash, last_hash, VT_AUDIT_HASH_LEN))
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "%s does not chain to the archive before it (record %lld has another hash there)",
                                files[i], (long long)last);
        last = a.last_seq;
        memcpy(last_hash, a.last_hash, VT_AUDIT_HASH_LEN);
        *archived += a.records;
    }
    if (last < base)
        return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                            "the archives end at record %lld but the store starts after record %lld: an archive is missing",
                            (long long)last, (long long)base);
    if (base > 0 && (!at_found || !vt_ct_eq(at_hash, base_hash, VT_AUDIT_HASH_LEN)))
        return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                            "record %lld of the archives is not the store's archive base (another history)",
                            (long long)base);
    if (last > base) { /* an archive whose cut stopped part of the way: its end is still stored */
        vt_audit_record *r = NULL;
        size_t n = 0;
        VT_GUARD(vt_store_audit_page(s, last - 1, 1, &r, &n, e));
        bool same = n == 1 && r[0].seq == last && vt_ct_eq(r[0].hash, last_hash, VT_AUDIT_HASH_LEN);
        vt_audit_records_free(r, n);
        if (!same)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "the archives end at record %lld, which the store holds with another hash (another "
                                "history)", (long long)last);
    }
    return VT_OK;
}

static int do_verify(vt_store *s, const char *anchor_s, char **files, int nfiles, bool json)
{
    vt_error e = {0};
    vt_audit_anchor anchor, *ap = NULL;
    if (anchor_s) {
        if (vt_audit_anchor_parse(anchor_s, &anchor, &e) != VT_OK) {
            fprintf(stderr, "veritee audit: %s\n", e.msg);
            return VT_EXIT_USAGE;
        }
        ap = &anchor;
    }
    bool anchor_seen = false;
    int64_t archived = 0;
    vt_audit_report rep;
    memset(&rep, 0, sizeof rep);
    vt_err rc = nfiles > 0 ? verify_archives(s, files, nfiles, ap, &anchor_seen, &archived, &e) : VT_OK;
    if (rc == VT_OK) rc = vt_audit_verify(s, anchor_seen ? NULL : ap, &rep, &e);
    char head[2 * VT_AUDIT_HASH_LEN + 1], base[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(rep.head_hash, VT_AUDIT_HASH_LEN, head);
    vt_hex_encode(rep.base_hash, VT_AUDIT_HASH_LEN, base);
    if (json) {
        json_t *j = json_pack("{sb sI sI ss sI ss}", "verified", rc == VT_OK, "records", (json_int_t)rep.records,
                              "head_seq", (json_int_t)rep.head_seq, "head_hash", head, "base_seq",
                              (json_int_t)rep.base_seq, "base_hash", base);
        if (nfiles > 0) json_object_set_new(j, "archived_records", json_integer(archived));
        if (rc != VT_OK) {
            json_object_set_new(j, "bad_record", json_integer(rep.bad_seq));
            json_object_set_new(j, "error", json_string(e.msg));
        }
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else if (rc == VT_OK) {
        if (nfiles > 0)
            printf("archives intact: %lld records, 1 to %lld\n", (long long)archived, (long long)rep.base_seq);
        printf("audit chain intact: %lld records\n", (long long)rep.records);
        if (rep.base_seq > 0 && nfiles == 0)
            printf("records 1 to %lld are archived (not checked here: give the archive files with --archive)\n",
                   (long long)rep.base_seq);
        printf("head %lld:%s\n", (long long)rep.head_seq, head);
    } else {
        fprintf(stderr, "audit chain BROKEN: %s\n", e.msg);
    }
    if (rc == VT_OK) return VT_EXIT_OK;
    return cli_exit_for(e.code);
}

static vt_err write_all(void *ctx, const char *data, size_t len, vt_error *err)
{
    if (fwrite(data, 1, len, (FILE *)ctx) != len)
        return vt_error_set(err, VT_E_IO, "audit_archive", "write: %s", strerror(errno));
    return VT_OK;
}

static vt_err sync_dir_of(const char *path, vt_error *e)
{
    char *copy = strdup(path);
    if (copy == NULL) return vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    int d = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (d < 0 || fsync(d) != 0) {
        if (d >= 0) close(d);
        return vt_error_set(e, VT_E_IO, "audit_archive", "cannot sync the directory of %s", path);
    }
    close(d);
    return VT_OK;
}

/* Records up to `upto` to a new file, flushed to disk and read back, then cut from the store. */
static int do_archive(vt_store *s, const char *out, long long keep, const char *before, bool json)
{
    vt_error e = {0};
    int64_t base = 0, head = 0, upto = 0;
    uint8_t bh[VT_AUDIT_HASH_LEN], hh[VT_AUDIT_HASH_LEN];
    vt_err rc = vt_store_audit_base(s, &base, bh, &e);
    if (rc == VT_OK) rc = vt_store_audit_head(s, &head, hh, &e);
    if (rc == VT_OK && before != NULL) {
        vt_time t = 0;
        rc = vt_time_parse_rfc3339(before, &t, &e);
        int64_t first = 0;
        if (rc == VT_OK) rc = vt_store_audit_first_at(s, t, &first, &e);
        upto = first == 0 ? head : first - 1;
    } else if (rc == VT_OK) {
        upto = keep >= head ? 0 : head - keep;
    }
    if (rc != VT_OK) {
        fprintf(stderr, "veritee audit: %s\n", e.msg);
        return cli_exit_for(e.code);
    }
    if (upto <= base) {
        if (head == base) printf("nothing to archive: no record is stored after record %lld\n", (long long)base);
        else printf("nothing to archive: the store holds records %lld to %lld\n", (long long)(base + 1), (long long)head);
        return VT_EXIT_OK;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "veritee audit: cannot create %s: %s%s\n", out, strerror(errno),
                errno == EEXIST ? " (an archive is never overwritten)" : "");
        return errno == EEXIST ? VT_EXIT_USAGE : VT_EXIT_MISSING;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(out);
        fprintf(stderr, "veritee audit: cannot write %s\n", out);
        return VT_EXIT_MISSING;
    }
    int64_t n = 0;
    rc = vt_audit_export(s, upto, write_all, f, &n, &e);
    if (rc == VT_OK && (fflush(f) != 0 || fsync(fd) != 0))
        rc = vt_error_set(&e, VT_E_IO, "audit_archive", "cannot flush %s: %s", out, strerror(errno));
    if (fclose(f) != 0 && rc == VT_OK) rc = vt_error_set(&e, VT_E_IO, "audit_archive", "close %s", out);
    if (rc == VT_OK) rc = sync_dir_of(out, &e);
    /* what is on disk, read back, before a single record leaves the store */
    vt_audit_archive a;
    bool unused = false, found = false;
    uint8_t h[VT_AUDIT_HASH_LEN];
    if (rc == VT_OK) rc = read_archive(out, &a, NULL, &unused, upto, &found, h, &e);
    if (rc == VT_OK && (a.records != n || !found || a.after_seq != base))
        rc = vt_error_set(&e, VT_E_VERIFY, "audit_archive", "%s does not read back as written", out);
    if (rc != VT_OK) {
        unlink(out);
        fprintf(stderr, "veritee audit: %s (nothing was archived)\n", e.msg);
        return cli_exit_for(e.code);
    }
    rc = vt_audit_cut(s, upto, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee audit: %s (keep %s: the store may have been cut part of the way)\n", e.msg, out);
        return cli_exit_for(e.code);
    }
    char hex[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(h, VT_AUDIT_HASH_LEN, hex);
    if (json) {
        json_t *j = json_pack("{ss sI sI sI ss}", "archive", out, "first_seq", (json_int_t)(base + 1), "last_seq",
                              (json_int_t)upto, "records", (json_int_t)n, "base_hash", hex);
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        printf("archived records %lld to %lld (%lld) to %s\nthe store now starts after %lld:%s\n",
               (long long)(base + 1), (long long)upto, (long long)n, out, (long long)upto, hex);
    }
    return VT_EXIT_OK;
}

static int do_show(vt_store *s, long tail, bool json)
{
    vt_error e = {0};
    vt_audit_record *r = NULL;
    size_t n = 0;
    if (vt_audit_tail(s, (size_t)tail, &r, &n, &e) != VT_OK) {
        fprintf(stderr, "veritee audit: %s\n", e.msg);
        return VT_EXIT_MISSING;
    }
    for (size_t i = 0; i < n; i++) {
        if (json) {
            json_t *j = vt_audit_record_json(&r[i]);
            char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
            if (t) printf("%s\n", t);
            free(t);
            json_decref(j);
        } else {
            char ts[21];
            vt_time_format(r[i].time, ts);
            printf("%6lld %s %-8s %-20s %-28s %s %s\n", (long long)r[i].seq, ts, r[i].outcome, r[i].action,
                   r[i].subject, r[i].actor, r[i].details);
        }
    }
    vt_audit_records_free(r, n);
    return VT_EXIT_OK;
}

#define MAX_ARCHIVES 256

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        audit_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    const char *sub = argv[1], *db = NULL, *anchor = NULL, *out = NULL, *before = NULL;
    char *archives[MAX_ARCHIVES];
    int narchives = 0;
    long tail = 20;
    long long keep = -1;
    bool json = false;
    bool verify = strcmp(sub, "verify") == 0, show = strcmp(sub, "show") == 0, archive = strcmp(sub, "archive") == 0;
    const char *cmd = show ? "audit show" : archive ? "audit archive" : "audit verify";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc) db = argv[++i];
        else if (verify && strcmp(a, "--anchor") == 0 && i + 1 < argc) anchor = argv[++i];
        else if (verify && strcmp(a, "--archive") == 0 && i + 1 < argc) {
            if (narchives == MAX_ARCHIVES) {
                fprintf(stderr, "veritee audit: at most %d --archive files\n", MAX_ARCHIVES);
                return VT_EXIT_USAGE;
            }
            archives[narchives++] = argv[++i];
        } else if (archive && strcmp(a, "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (archive && strcmp(a, "--before") == 0 && i + 1 < argc) before = argv[++i];
        else if (archive && strcmp(a, "--keep") == 0 && i + 1 < argc) {
            char *end = NULL;
            keep = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || keep < 0) {
                fprintf(stderr, "veritee audit: --keep wants a number of records, 0 or more\n");
                return VT_EXIT_USAGE;
            }
        } else if (show && strcmp(a, "--tail") == 0 && i + 1 < argc) {
            char *end = NULL;
            tail = strtol(argv[++i], &end, 10);
            if (*end || tail < 1 || tail > 1000000) {
                fprintf(stderr, "veritee audit: --tail wants a number from 1 to 1000000\n");
                return VT_EXIT_USAGE;
            }
        } else if (strcmp(a, "--json") == 0) json = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            audit_usage(stdout);
            return VT_EXIT_OK;
        } else {
            return cli_bad_arg(cmd, a);
        }
    }
    if (!verify && !show && !archive) {
        fprintf(stderr, "veritee audit: unknown subcommand '%s'\n", sub);
        audit_usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (db == NULL) {
        fprintf(stderr, "veritee audit: --db URL is required\n");
        return VT_EXIT_USAGE;
    }
    if (archive && (out == NULL || (keep < 0) == (before == NULL))) {
        fprintf(stderr, "veritee audit: archive needs --out FILE and one of --keep N or --before TIME\n");
        return VT_EXIT_USAGE;
    }
    vt_store *s = NULL;
    int rc = open_db(db, &s);
    if (rc != VT_EXIT_OK) return rc;
    if (verify) rc = do_verify(s, anchor, archives, narchives, json);
    else if (show) rc = do_show(s, tail, json);
    else rc = do_archive(s, out, keep, before, json);
    vt_store_close(s);
    return rc;
}
