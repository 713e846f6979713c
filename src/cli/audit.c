/* veritee audit verify|show: check the hash chain of a store's audit log, print records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/audit.h"
#include "veritee/store.h"

static void audit_usage(FILE *f)
{
    cli_usage(f, "audit");
}

static int open_db(const char *url, vt_store **s)
{
    vt_error e = {0};
    vt_store_opts o = {.existing = true}; /* read-only use: never create; no KEK (the log holds no sealed values) */
    if (vt_store_open(url, &o, s, &e) != VT_OK) {
        fprintf(stderr, "veritee audit: %s\n", e.msg);
        return cli_exit_for(e.code);
    }
    return VT_EXIT_OK;
}

static int do_verify(vt_store *s, const char *anchor_s, bool json)
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
    vt_audit_report rep;
    vt_err rc = vt_audit_verify(s, ap, &rep, &e);
    char head[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(rep.head_hash, VT_AUDIT_HASH_LEN, head);
    if (json) {
        json_t *j = json_pack("{sb sI sI ss}", "verified", rc == VT_OK, "records", (json_int_t)rep.records,
                              "head_seq", (json_int_t)rep.head_seq, "head_hash", head);
        if (rc != VT_OK) {
            json_object_set_new(j, "bad_record", json_integer(rep.bad_seq));
            json_object_set_new(j, "error", json_string(e.msg));
        }
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else if (rc == VT_OK) {
        printf("audit chain intact: %lld records\nhead %lld:%s\n", (long long)rep.records,
               (long long)rep.head_seq, head);
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

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        audit_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    const char *sub = argv[1], *db = NULL, *anchor = NULL;
    long tail = 20;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc) db = argv[++i];
        else if (strcmp(a, "--anchor") == 0 && i + 1 < argc) anchor = argv[++i];
        else if (strcmp(a, "--tail") == 0 && i + 1 < argc) {
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
            return cli_bad_arg(strcmp(sub, "show") == 0 ? "audit show" : "audit verify", a);
        }
    }
    bool verify = strcmp(sub, "verify") == 0, show = strcmp(sub, "show") == 0;
    if (!verify && !show) {
        fprintf(stderr, "veritee audit: unknown subcommand '%s'\n", sub);
        audit_usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (db == NULL) {
        fprintf(stderr, "veritee audit: --db URL is required\n");
        return VT_EXIT_USAGE;
    }
    vt_store *s = NULL;
    int rc = open_db(db, &s);
    if (rc != VT_EXIT_OK) return rc;
    rc = verify ? do_verify(s, anchor, json) : do_show(s, tail, json);
    vt_store_close(s);
    return rc;
}
