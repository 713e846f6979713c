/* veritee audit verify|show|archive: check the hash chain of a store's audit log (and of its
 * archives), print records, move the oldest records out to an archive file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_cli.h"
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

/* The archives, in order, chain from the log's first record to the store's base. */
static vt_err verify_archives(vt_store *s, char **files, int nfiles, const vt_audit_anchor *anchor, bool *anchor_seen,
                              int64_t *archived, int64_t *upto, vt_error *e)
{
    int64_t base = 0;
    uint8_t base_hash[VT_AUDIT_HASH_LEN], last_hash[VT_AUDIT_HASH_LEN] = {0}, at_hash[VT_AUDIT_HASH_LEN];
    VT_GUARD(vt_store_audit_base(s, &base, base_hash, e));
    int64_t last = 0;
    bool at_found = false;
    *archived = 0;
    for (int i = 0; i < nfiles; i++) {
        vt_audit_archive a;
        VT_GUARD(cli_audit_read_archive(files[i], &a, anchor, anchor_seen, base, &at_found, at_hash, false, e));
        if (i == 0 && a.after_seq != 0)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "%s starts after record %lld: the archives must start at record 1 (give the older "
                                "archives first)", files[i], (long long)a.after_seq);
        if (a.after_seq > last)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "gap: %s starts after record %lld, but %s ends at record %lld: records %lld to %lld are "
                                "in no archive (give the archives in order, none missing)", files[i],
                                (long long)a.after_seq, files[i - 1], (long long)last, (long long)(last + 1),
                                (long long)a.after_seq);
        if (a.after_seq < last)
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "overlap: %s starts after record %lld, inside %s, which ends at record %lld (give "
                                "the archives in order, each once)", files[i], (long long)a.after_seq, files[i - 1],
                                (long long)last);
        if (!vt_ct_eq(a.after_hash, last_hash, VT_AUDIT_HASH_LEN))
            return vt_error_set(e, VT_E_VERIFY, "audit_chain",
                                "%s does not chain to the archive before it (record %lld has another hash there)",
                                files[i], (long long)last);
        last = a.last_seq;
        memcpy(last_hash, a.last_hash, VT_AUDIT_HASH_LEN);
        *archived += a.records;
    }
    *upto = last;
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

static int do_verify(vt_store *s, const char *anchor_s, char **files, int nfiles, const char *dir, bool json)
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
    char **listed = NULL;
    int listed_n = 0;
    vt_err rc = VT_OK;
    if (dir != NULL) {
        rc = cli_audit_list_dir(dir, &listed, &nfiles, &e);
        files = listed;
        listed_n = rc == VT_OK ? nfiles : 0;
    }
    bool archives = dir != NULL || nfiles > 0;
    int64_t archived_to = 0;
    if (rc == VT_OK && archives) rc = verify_archives(s, files, nfiles, ap, &anchor_seen, &archived, &archived_to, &e);
    cli_audit_dir_free(listed, listed_n);
    if (rc == VT_OK) rc = vt_audit_verify(s, anchor_seen ? NULL : ap, &rep, &e);
    char head[2 * VT_AUDIT_HASH_LEN + 1], base[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(rep.head_hash, VT_AUDIT_HASH_LEN, head);
    vt_hex_encode(rep.base_hash, VT_AUDIT_HASH_LEN, base);
    if (json) {
        json_t *j = json_pack("{sb sI sI ss sI ss}", "verified", rc == VT_OK, "records", (json_int_t)rep.records,
                              "head_seq", (json_int_t)rep.head_seq, "head_hash", head, "base_seq",
                              (json_int_t)rep.base_seq, "base_hash", base);
        if (archives) json_object_set_new(j, "archived_records", json_integer(archived));
        if (archives) json_object_set_new(j, "archive_files", json_integer(nfiles));
        if (archives) json_object_set_new(j, "archived_to", json_integer(archived_to));
        if (rc != VT_OK) {
            json_object_set_new(j, "bad_record", json_integer(rep.bad_seq));
            json_object_set_new(j, "error", json_string(e.msg));
        }
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else if (rc == VT_OK) {
        if (archives && nfiles == 0)
            printf("no archive%s%s, none needed: nothing is archived\n", dir ? " in " : "", dir ? dir : "");
        else if (archives)
            printf("archives intact: %lld records, 1 to %lld, in %d file%s\n", (long long)archived,
                   (long long)archived_to, nfiles, nfiles == 1 ? "" : "s");
        if (archives && archived_to > rep.base_seq)
            printf("records %lld to %lld are also still in the store (a cut stopped part of the way: the next "
                   "'audit archive --out-dir' finishes it)\n",
                   (long long)(rep.base_seq + 1), (long long)archived_to);
        printf("audit chain intact: %lld records\n", (long long)rep.records);
        if (rep.base_seq > 0 && !archives)
            printf("records 1 to %lld are archived (not checked here: give the archives with --archive or "
                   "--archive-dir)\n",
                   (long long)rep.base_seq);
        printf("head %lld:%s\n", (long long)rep.head_seq, head);
    } else {
        fprintf(stderr, "audit chain BROKEN: %s\n", e.msg);
    }
    if (rc == VT_OK) return VT_EXIT_OK;
    return cli_exit_for(e.code);
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

/* --older-than DURATION, counted back from --at TIME or the clock, is a cut time like --before. */
static int cut_time(const char *before, const char *older, const char *at, cli_archive_req *rq)
{
    vt_error e = {0};
    if (before != NULL) {
        if (vt_time_parse_rfc3339(before, &rq->cut, &e) != VT_OK) {
            fprintf(stderr, "veritee audit: --before: %s\n", e.msg);
            return VT_EXIT_USAGE;
        }
        rq->has_cut = true;
        return VT_EXIT_OK;
    }
    if (older == NULL) return VT_EXIT_OK;
    int64_t span = 0;
    vt_time now = (vt_time)time(NULL);
    if (vt_duration_parse(older, &span, &e) != VT_OK) {
        fprintf(stderr, "veritee audit: --older-than: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    if (at != NULL && vt_time_parse_rfc3339(at, &now, &e) != VT_OK) {
        fprintf(stderr, "veritee audit: --at: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    rq->cut = now - span; /* both bounded (RFC 3339 years 0-9999, spans of 100 years): no overflow */
    rq->has_cut = true;
    return VT_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        audit_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    const char *sub = argv[1], *db = NULL, *anchor = NULL, *before = NULL, *older = NULL, *at = NULL, *dir = NULL;
    cli_archive_req rq = {.keep = -1};
    char *archives[MAX_ARCHIVES];
    int narchives = 0;
    long tail = 20;
    bool verify = strcmp(sub, "verify") == 0, show = strcmp(sub, "show") == 0, archive = strcmp(sub, "archive") == 0;
    const char *cmd = show ? "audit show" : archive ? "audit archive" : "audit verify";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc) db = argv[++i];
        else if (verify && strcmp(a, "--anchor") == 0 && i + 1 < argc) anchor = argv[++i];
        else if (verify && strcmp(a, "--archive") == 0 && i + 1 < argc) {
            if (narchives == MAX_ARCHIVES) {
                fprintf(stderr, "veritee audit: at most %d --archive files (or give their directory: --archive-dir)\n",
                        MAX_ARCHIVES);
                return VT_EXIT_USAGE;
            }
            archives[narchives++] = argv[++i];
        } else if (verify && strcmp(a, "--archive-dir") == 0 && i + 1 < argc) dir = argv[++i];
        else if (archive && strcmp(a, "--out") == 0 && i + 1 < argc) rq.out = argv[++i];
        else if (archive && strcmp(a, "--out-dir") == 0 && i + 1 < argc) rq.out_dir = argv[++i];
        else if (archive && strcmp(a, "--before") == 0 && i + 1 < argc) before = argv[++i];
        else if (archive && strcmp(a, "--older-than") == 0 && i + 1 < argc) older = argv[++i];
        else if (archive && strcmp(a, "--at") == 0 && i + 1 < argc) at = argv[++i];
        else if (archive && strcmp(a, "--keep") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            rq.keep = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || rq.keep < 0 || errno == ERANGE || argv[i][0] == '-' || argv[i][0] == '+' ||
                argv[i][0] == ' ') {
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
        } else if (strcmp(a, "--json") == 0) rq.json = true;
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
    if (verify && dir != NULL && narchives > 0) {
        fprintf(stderr, "veritee audit: --archive and --archive-dir exclude each other\n");
        return VT_EXIT_USAGE;
    }
    if (archive) {
        int given = (rq.keep >= 0) + (before != NULL) + (older != NULL);
        if ((rq.out == NULL) == (rq.out_dir == NULL) || given != 1) {
            fprintf(stderr, "veritee audit: archive needs one of --out FILE or --out-dir DIR, and one of --keep N, "
                            "--before TIME or --older-than DURATION\n");
            return VT_EXIT_USAGE;
        }
        if (at != NULL && older == NULL) {
            fprintf(stderr, "veritee audit: --at counts --older-than back from TIME: give --older-than\n");
            return VT_EXIT_USAGE;
        }
        int x = cut_time(before, older, at, &rq);
        if (x == VT_EXIT_OK && rq.out_dir != NULL) x = cli_audit_check_dir(rq.out_dir, "--out-dir");
        if (x != VT_EXIT_OK) return x;
    }
    if (dir != NULL) {
        int x = cli_audit_check_dir(dir, "--archive-dir");
        if (x != VT_EXIT_OK) return x;
    }
    vt_store *s = NULL;
    int rc = open_db(db, &s);
    if (rc != VT_EXIT_OK) return rc;
    if (verify) rc = do_verify(s, anchor, archives, narchives, dir, rq.json);
    else if (show) rc = do_show(s, tail, rq.json);
    else rc = cli_audit_archive(s, &rq);
    vt_store_close(s);
    return rc;
}
