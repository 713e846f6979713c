/* veritee collateral fetch|show|refresh|prune: the live collateral cache (docs/collateral.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/collateral.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/verify.h"
#include "veritee/x509.h"

static void usage(FILE *f)
{
    cli_usage(f, "collateral");
}

enum { O_PCS = 256, O_PCCS, O_PCCS_CA, O_PCCS_INSECURE, O_KEY, O_CACHE, O_FORCE, O_AT, O_JSON, O_PLATFORM,
       O_GRACE, O_TRUST, O_MARGIN, O_KDS, O_CHIP, O_TCB, O_PRODUCT };

#define WANTS_MAX 64

/* One platform: Intel (TDX/SGX) or AMD (SEV-SNP). */
typedef struct want {
    bool snp;
    vt_coll_tdx_want t;
    vt_coll_snp_want s;
} want;

typedef struct args {
    vt_coll_pcs up, kds;
    const char *cache, *trust, *chip, *tcb, *product;
    bool force, json;
    vt_time at;
    int64_t grace, margin;
    want wants[WANTS_MAX];
    size_t n_wants;
    const char *quotes[64];
    size_t n_quotes;
} args;

static int fail(const char *what, const vt_error *e)
{
    fprintf(stderr, "veritee collateral %s: %s\n", what, e->msg);
    return cli_exit_for(e->code);
}

static int parse(int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        {"pcs-url", required_argument, 0, O_PCS},         {"pccs-url", required_argument, 0, O_PCCS},
        {"pccs-cacert", required_argument, 0, O_PCCS_CA}, {"pccs-insecure", no_argument, 0, O_PCCS_INSECURE},
        {"api-key", required_argument, 0, O_KEY},         {"cache", required_argument, 0, O_CACHE},
        {"force", no_argument, 0, O_FORCE},               {"at", required_argument, 0, O_AT},
        {"json", no_argument, 0, O_JSON},                 {"platform", required_argument, 0, O_PLATFORM},
        {"grace", required_argument, 0, O_GRACE},         {"trust", required_argument, 0, O_TRUST},
        {"margin", required_argument, 0, O_MARGIN},       {"help", no_argument, 0, 'h'},
        {"kds-url", required_argument, 0, O_KDS},         {"chip", required_argument, 0, O_CHIP},
        {"tcb", required_argument, 0, O_TCB},             {"product", required_argument, 0, O_PRODUCT},
        {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->at = (vt_time)time(NULL);
    a->grace = 30 * 86400;
    a->margin = VT_COLL_DEFAULT_MARGIN;
    vt_error e;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_PCS: a->up.base_url = optarg; a->up.pccs = false; break;
        case O_PCCS: a->up.base_url = optarg; a->up.pccs = true; break;
        case O_PCCS_CA: a->up.ca_file = optarg; break;
        case O_PCCS_INSECURE: a->up.insecure = true; break;
        case O_KEY: a->up.api_key = optarg; break;
        case O_CACHE: a->cache = optarg; break;
        case O_FORCE: a->force = true; break;
        case O_JSON: a->json = true; break;
        case O_TRUST: a->trust = optarg; break;
        case O_KDS: a->kds.base_url = optarg; break;
        case O_CHIP: a->chip = optarg; break;
        case O_TCB: a->tcb = optarg; break;
        case O_PRODUCT: a->product = optarg; break;
        case O_AT:
            if (vt_time_parse_rfc3339(optarg, &a->at, &e) != VT_OK) {
                fprintf(stderr, "veritee collateral: --at: %s\n", e.msg);
                return -VT_EXIT_USAGE;
            }
            break;
        case O_GRACE:
        case O_MARGIN: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*optarg == 0 || *end != 0 || v < 0 || v > 10LL * 366 * 86400) {
                fprintf(stderr, "veritee collateral: --%s takes seconds (0..10 years)\n", c == O_GRACE ? "grace" : "margin");
                return -VT_EXIT_USAGE;
            }
            if (c == O_GRACE) a->grace = v;
            else a->margin = v;
            break;
        }
        case O_PLATFORM: {
            want *w = &a->wants[a->n_wants];
            memset(w, 0, sizeof *w);
            w->snp = strncmp(optarg, "snp:", 4) == 0;
            if (a->n_wants == WANTS_MAX || (w->snp ? vt_coll_snp_want_parse(optarg, &w->s, &e)
                                                   : vt_coll_tdx_want_parse(optarg, &w->t, &e)) != VT_OK) {
                fprintf(stderr, "veritee collateral: --platform %s: %s\n", optarg,
                        a->n_wants == WANTS_MAX ? "too many platforms" : e.msg);
                return -VT_EXIT_USAGE;
            }
            a->n_wants++;
            break;
        }
        case 'h': usage(stdout); return -VT_EXIT_OK - 100;
        default: {
            char path[64];
            snprintf(path, sizeof path, "collateral %s", argv[0]);
            return -cli_bad_option(path, argv);
        }
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->n_quotes == 64) {
            fprintf(stderr, "veritee collateral: too many quotes\n");
            return -VT_EXIT_USAGE;
        }
        a->quotes[a->n_quotes++] = argv[i];
    }
    if (a->cache == NULL) {
        fprintf(stderr, "veritee collateral: --cache DIR is required\n");
        return -VT_EXIT_USAGE;
    }
    if ((a->chip != NULL) != (a->tcb != NULL)) {
        fprintf(stderr, "veritee collateral: --chip and --tcb go together (a VCEK is per chip and TCB)\n");
        return -VT_EXIT_USAGE;
    }
    if (a->chip != NULL) {
        char spec[256];
        want *w = &a->wants[a->n_wants];
        memset(w, 0, sizeof *w);
        w->snp = true;
        snprintf(spec, sizeof spec, "snp:%s:%s:%s", a->product ? a->product : "", a->chip, a->tcb);
        if (a->product == NULL || a->n_wants == WANTS_MAX || vt_coll_snp_want_parse(spec, &w->s, &e) != VT_OK) {
            fprintf(stderr, "veritee collateral: --chip %s --tcb %s: %s\n", a->chip, a->tcb,
                    a->product == NULL ? "--product milan|genoa|turin is needed" : a->n_wants == WANTS_MAX ? "too many platforms" : e.msg);
            return -VT_EXIT_USAGE;
        }
        a->n_wants++;
    }
    return 0;
}

static int load_trust(args *a, STACK_OF(X509) **roots)
{
    *roots = NULL;
    if (a->trust == NULL) return 0;
    vt_buf b = {0};
    vt_error e;
    if (vt_file_read(a->trust, 1u << 20, &b, &e) != VT_OK || vt_pem_certs(b.ptr, b.len, roots, &e) != VT_OK) {
        vt_buf_free(&b);
        return fail("--trust", &e);
    }
    vt_buf_free(&b);
    a->up.roots = *roots; /* the Intel root and/or AMD ARKs: each upstream matches its own */
    a->kds.roots = *roots;
    return 0;
}

static void print_report(const args *a, const char *id, const vt_coll_report *r, const vt_error *e, json_t *arr)
{
    if (a->json) {
        json_t *o = json_pack("{ss si si si si sI}", "platform", id, "requests", r->requests, "installed", r->installed,
                              "fresh", r->fresh, "rate_limited", r->rate_limited, "waited_ms", (json_int_t)r->waited_ms);
        if (o && e) json_object_set_new(o, "error", json_string(e->msg));
        json_array_append_new(arr, o);
        return;
    }
    if (e) printf("%s: FAILED: %s\n", id, e->msg);
    else printf("%s: %u installed, %u fresh, %u requests%s\n", id, r->installed, r->fresh, r->requests,
                r->rate_limited ? " (rate-limited, waited)" : "");
}

/* The platform of one evidence file: a TDX/SGX quote (its PCK certificate) or an SNP report. */
static int want_of_file(args *a, const char *file)
{
    vt_buf q = {0};
    vt_error e;
    if (a->n_wants == WANTS_MAX) {
        fprintf(stderr, "veritee collateral: too many platforms\n");
        return VT_EXIT_USAGE;
    }
    if (vt_file_read(file, 1u << 20, &q, &e) != VT_OK) return fail("fetch", &e);
    want *w = &a->wants[a->n_wants];
    memset(w, 0, sizeof *w);
    const char *kind = vt_evidence_detect(q.ptr, q.len);
    w->snp = kind != NULL && strcmp(kind, "snp") == 0;
    vt_err rc = w->snp ? vt_coll_snp_want_from_report(q.ptr, q.len, a->product, &w->s, &e)
                       : vt_coll_tdx_want_from_quote(q.ptr, q.len, &w->t, &e);
    vt_buf_free(&q);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee collateral fetch: %s: %s\n", file, e.msg);
        return VT_EXIT_USAGE;
    }
    a->n_wants++;
    return VT_EXIT_OK;
}

static int fetch_all(args *a)
{
    for (size_t i = 0; i < a->n_quotes; i++) {
        int x = want_of_file(a, a->quotes[i]);
        if (x != VT_EXIT_OK) return x;
    }
    if (a->n_wants == 0) {
        fprintf(stderr, "veritee collateral: nothing to fetch (give quotes, reports, --platform or --chip)\n");
        return VT_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->n_wants; i++) {
        if (a->wants[i].snp ? a->kds.base_url == NULL : a->up.base_url == NULL) {
            fprintf(stderr, "veritee collateral: %s\n", a->wants[i].snp ? "SEV-SNP collateral comes from --kds-url URL"
                                                                         : "give --pcs-url URL or --pccs-url URL");
            return VT_EXIT_USAGE;
        }
    }
    vt_error e;
    int worst = VT_EXIT_OK;
    json_t *arr = a->json ? json_array() : NULL;
    for (size_t i = 0; i < a->n_wants; i++) {
        const want *w = &a->wants[i];
        for (size_t j = 0; j < i; j++)
            if (memcmp(w, &a->wants[j], sizeof *w) == 0) goto next;
        char id[180];
        vt_coll_report r;
        vt_err rc;
        if (w->snp) {
            vt_coll_snp_want_id(&w->s, id);
            rc = vt_coll_snp_fetch(&a->kds, a->cache, &w->s, a->at, a->margin, VT_COLL_DEFAULT_INTERVAL, a->force, &r, &e);
        } else {
            vt_coll_tdx_want_id(&w->t, id);
            rc = vt_coll_tdx_fetch(&a->up, a->cache, &w->t, a->at, a->margin, VT_COLL_DEFAULT_INTERVAL, a->force, &r, &e);
        }
        print_report(a, id, &r, rc == VT_OK ? NULL : &e, arr);
        if (rc != VT_OK) {
            int x = cli_exit_for(rc);
            if (worst == VT_EXIT_OK || x == VT_EXIT_REJECTED) worst = x;
        }
    next:;
    }
    if (arr) {
        char *js = json_dumps(arr, JSON_INDENT(2));
        if (js) puts(js);
        free(js);
        json_decref(arr);
    }
    return worst;
}

/* refresh: every TDX/SGX platform the cache holds (TCB Infos x the PCK CAs whose CRLs it holds)
 * with an Intel upstream, every SNP platform (chains, VCEKs) with AMD KDS. */
static int refresh(args *a)
{
    vt_coll_item *items = NULL;
    size_t n = 0;
    vt_error e;
    if (vt_coll_list(a->cache, &items, &n, &e) != VT_OK) return fail("refresh", &e);
    bool ca_platform = false, ca_processor = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].kind, "pck_crl") == 0) {
            ca_platform |= strcmp(items[i].id, "platform") == 0;
            ca_processor |= strcmp(items[i].id, "processor") == 0;
        }
    if (!ca_platform && !ca_processor) ca_platform = true;
    for (size_t i = 0; i < n && a->n_wants < WANTS_MAX - 1 && a->up.base_url != NULL; i++) {
        if (strcmp(items[i].kind, "tcb_info") != 0 || !items[i].readable) continue;
        for (int k = 0; k < 2; k++) {
            if (!(k == 0 ? ca_platform : ca_processor)) continue;
            char spec[128];
            snprintf(spec, sizeof spec, "%s:%s:%s", items[i].tee, items[i].id, k == 0 ? "platform" : "processor");
            want *w = &a->wants[a->n_wants];
            memset(w, 0, sizeof *w);
            if (vt_coll_tdx_want_parse(spec, &w->t, NULL) == VT_OK) a->n_wants++;
        }
    }
    free(items);
    if (a->kds.base_url != NULL) {
        vt_coll_snp_want sw[WANTS_MAX];
        size_t k = 0;
        if (vt_coll_snp_known(a->cache, sw, WANTS_MAX - a->n_wants, &k, &e) != VT_OK) return fail("refresh", &e);
        for (size_t i = 0; i < k; i++) {
            want *w = &a->wants[a->n_wants++];
            memset(w, 0, sizeof *w);
            w->snp = true;
            w->s = sw[i];
        }
    }
    if (a->up.base_url == NULL && a->kds.base_url == NULL) {
        fprintf(stderr, "veritee collateral: give --pcs-url URL or --pccs-url URL, and/or --kds-url URL\n");
        return VT_EXIT_USAGE;
    }
    if (a->n_wants == 0) {
        printf("nothing to refresh: the cache holds no %s\n", a->kds.base_url && !a->up.base_url ? "SNP chain or VCEK"
                                                                                                : "TCB Info");
        return VT_EXIT_OK;
    }
    return fetch_all(a);
}

static int show(const args *a)
{
    vt_coll_item *items = NULL;
    size_t n = 0;
    vt_error e;
    if (vt_coll_list(a->cache, &items, &n, &e) != VT_OK) return fail("show", &e);
    if (a->json) {
        json_t *j = vt_coll_items_json(items, n, a->at, a->margin, VT_COLL_DEFAULT_INTERVAL);
        char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(j);
    } else {
        printf("%-4s %-18s %-34s %-21s %-10s %s\n", "TEE", "KIND", "ID", "VALID UNTIL", "STATE", "PATH");
        for (size_t i = 0; i < n; i++) {
            char nu[21] = "-";
            if (items[i].readable) vt_time_format(items[i].next_update, nu);
            printf("%-4s %-18s %-34.34s %-21s %-10s %s\n", items[i].tee, items[i].kind, items[i].id, nu,
                   vt_coll_item_state(&items[i], a->at, a->margin, VT_COLL_DEFAULT_INTERVAL), items[i].path);
        }
        if (n == 0) printf("(the cache %s holds no collateral)\n", a->cache);
    }
    free(items);
    return VT_EXIT_OK;
}

int cmd_collateral(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "fetch") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "refresh") != 0 &&
        strcmp(sub, "prune") != 0)
        return cli_bad_arg("collateral", sub);
    args a;
    int r = parse(argc - 1, argv + 1, &a);
    if (r == -VT_EXIT_OK - 100) return VT_EXIT_OK;
    if (r < 0) return -r;
    STACK_OF(X509) *roots = NULL;
    if ((r = load_trust(&a, &roots)) != 0) return r;
    int rc;
    if (strcmp(sub, "show") == 0) {
        rc = show(&a);
    } else if (strcmp(sub, "prune") == 0) {
        size_t removed = 0;
        vt_error e;
        if (vt_coll_prune(a.cache, a.at, a.grace, &removed, &e) != VT_OK) rc = fail("prune", &e);
        else {
            printf("pruned %zu item(s)\n", removed);
            rc = VT_EXIT_OK;
        }
    } else if (strcmp(sub, "refresh") == 0) {
        rc = refresh(&a);
    } else {
        rc = fetch_all(&a);
    }
    sk_X509_pop_free(roots, X509_free);
    return rc;
}
