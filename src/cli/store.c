/* veritee store rekey: rotate the key-encryption key of a key broker's store. */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/audit.h"
#include "veritee/store.h"

static void store_usage(FILE *f)
{
    cli_usage(f, "store rekey");
}

int cmd_store(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "rekey") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        store_usage(help ? stdout : stderr);
        return help ? 0 : VT_EXIT_USAGE;
    }
    static const struct option opts[] = {{"db", required_argument, 0, 'd'}, {"kek-file", required_argument, 0, 'k'},
                                         {"new-kek-file", required_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *old_path = NULL, *new_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 'k') old_path = optarg;
        else if (c == 'n') new_path = optarg;
        else if (c == 'h') {
            store_usage(stdout);
            return VT_EXIT_OK;
        } else {
            return cli_bad_option("store rekey", argv + 1);
        }
    }
    if (db == NULL || old_path == NULL || new_path == NULL || optind != argc - 1) {
        store_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_kek *oldk = NULL, *newk = NULL;
    vt_store *s = NULL;
    int ex = VT_EXIT_USAGE;
    size_t n = 0;
    char oid[2 * VT_KEK_ID_LEN + 1], nid[2 * VT_KEK_ID_LEN + 1];
    if (vt_kek_load_file(old_path, &oldk, &e) != VT_OK || vt_kek_load_file(new_path, &newk, &e) != VT_OK) goto fail;
    vt_kek_id_hex(oldk, oid);
    vt_kek_id_hex(newk, nid);
    if (strcmp(oid, nid) == 0) {
        vt_error_set(&e, VT_E_ARG, "kek", "the new key is the current key");
        goto fail;
    }
    vt_store_opts o = {.kek = oldk, .existing = true}; /* rekeying a store that does not exist is a typo */
    if (vt_store_open(db, &o, &s, &e) != VT_OK) goto fail;
    if (vt_store_rekey(s, newk, &n, &e) != VT_OK) goto fail;
    json_t *d = json_pack("{s:s, s:s, s:I}", "from_kek_id", oid, "to_kek_id", nid, "values", (json_int_t)n);
    vt_err rc = vt_audit_append(s, (vt_time)time(NULL), "operator:local", "store.rekey", "kek", "ok", d, NULL, &e);
    json_decref(d);
    if (rc != VT_OK) fprintf(stderr, "veritee store rekey: re-sealed, but the audit record failed: %s\n", e.msg);
    printf("re-sealed %zu resource values: KEK id %s -> %s\n", n, oid, nid);
    ex = VT_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "veritee store rekey: %s\n", e.msg);
    ex = cli_exit_for(e.code);
out:
    vt_store_close(s);
    vt_kek_free(oldk);
    vt_kek_free(newk);
    return ex;
}
