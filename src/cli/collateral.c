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
#include "veritee/x509.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: veritee collateral fetch UPSTREAM --cache DIR [--force] [--at T] [--json]\n"
            "                                (QUOTE | --platform TEE:FMSPC:CA)...\n"
            "       veritee collateral refresh UPSTREAM --cache DIR [--force] [--at T] [--json]\n"
            "       veritee collateral show --cache DIR [--at T] [--json]\n"
            "       veritee collateral prune --cache DIR [--grace SECONDS] [--at T]\n"
            "\n"
            "Keeps a cache of Intel PCS/PCCS collateral (TCB Info, QE Identity, PCK and root CA\n"
            "CRLs) that 'veritee verify --collateral DIR/tdx' and 'veritee serve --cache DIR' read.\n"
            "Every answer is checked against the Intel root before it is written (atomically).\n"
            "\n"
            "  fetch      what the quotes (or platforms) need and the cache lacks or holds stale\n"
            "  refresh    every platform the cache holds, for items due (see show)\n"
            "  show       each item: for whom, valid until when, state (valid, refresh, expired)\n"
            "  prune      remove items expired for longer than --grace (default 30 days)\n"
            "\n"
            "UPSTREAM (one of):\n"
            "  --pcs-url URL        Intel PCS v4 (https://api.trustedservices.intel.com)\n"
            "  --pccs-url URL       a PCCS (its /sgx/certification/v4/... API)\n"
            "  --pccs-cacert FILE   trust only this CA for the PCCS's HTTPS certificate\n"
            "  --pccs-insecure      accept any HTTPS certificate of the PCCS (self-signed); the\n"
            "                       collateral itself is still verified against the Intel root\n"
            "  --api-key KEY        Intel PCS subscription key (Ocp-Apim-Subscription-Key)\n"
            "  --trust FILE         the Intel SGX Root CA (PEM); default: the pinned Intel root\n"
            "options:\n"
            "  --platform T:F:C     a platform by TEE (tdx, sgx), FMSPC (12 hex) and PCK CA\n"
            "                       (platform, processor), e.g. tdx:B0C06F000000:platform\n"
            "  --force              fetch even items that are fresh\n"
            "  --margin SECONDS     refresh items expiring within this (default 7 days)\n"
            "  --at T               the instant (RFC 3339) for validity checks (default: now)\n"
            "  --json               JSON output\n"
            "exit: 0 done, 1 an answer failed its check (the cache keeps the previous item),\n"
            "      2 usage, 3 upstream unreachable or no such collateral\n");
}

enum { O_PCS = 256, O_PCCS, O_PCCS_CA, O_PCCS_INSECURE, O_KEY, O_CACHE, O_FORCE, O_AT, O_JSON, O_PLATFORM,
       O_GRACE, O_TRUST, O_MARGIN };

typedef struct args {
    vt_coll_pcs up;
    const char *cache, *trust;
    bool force, json;
    vt_time at;
    int64_t grace, margin;
    vt_coll_tdx_want wants[64];
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
        case O_PLATFORM:
            if (a->n_wants == 64 || vt_coll_tdx_want_parse(optarg, &a->wants[a->n_wants], &e) != VT_OK) {
                fprintf(stderr, "veritee collateral: --platform %s: %s\n", optarg,
                        a->n_wants == 64 ? "too many platforms" : e.msg);
                return -VT_EXIT_USAGE;
            }
            a->n_wants++;
            break;
        case 'h': usage(stdout); return -VT_EXIT_OK - 100;
        default:
            fprintf(stderr, "veritee collateral: see 'veritee collateral --help'\n");
            return -VT_EXIT_USAGE;
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
    a->up.roots = *roots;
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

static int fetch_all(args *a)
{
    if (a->up.base_url == NULL) {
        fprintf(stderr, "veritee collateral: give --pcs-url URL or --pccs-url URL\n");
        return VT_EXIT_USAGE;
    }
    vt_error e;
    for (size_t i = 0; i < a->n_quotes; i++) {
        vt_buf q = {0};
        if (a->n_wants == 64) {
            fprintf(stderr, "veritee collateral: too many platforms\n");
            return VT_EXIT_USAGE;
        }
        if (vt_file_read(a->quotes[i], 1u << 20, &q, &e) != VT_OK) return fail("fetch", &e);
        vt_err rc = vt_coll_tdx_want_from_quote(q.ptr, q.len, &a->wants[a->n_wants], &e);
        vt_buf_free(&q);
        if (rc != VT_OK) {
            fprintf(stderr, "veritee collateral fetch: %s: %s\n", a->quotes[i], e.msg);
            return VT_EXIT_USAGE;
        }
        a->n_wants++;
    }
    if (a->n_wants == 0) {
        fprintf(stderr, "veritee collateral: nothing to fetch (give quotes or --platform)\n");
        return VT_EXIT_USAGE;
    }
    int worst = VT_EXIT_OK;
    json_t *arr = a->json ? json_array() : NULL;
    for (size_t i = 0; i < a->n_wants; i++) {
        for (size_t j = 0; j < i; j++)
            if (memcmp(&a->wants[i], &a->wants[j], sizeof a->wants[i]) == 0) goto next;
        char id[40];
        vt_coll_tdx_want_id(&a->wants[i], id);
        vt_coll_report r;
        vt_err rc = vt_coll_tdx_fetch(&a->up, a->cache, &a->wants[i], a->at, a->margin, VT_COLL_DEFAULT_INTERVAL,
                                      a->force, &r, &e);
        print_report(a, id, &r, rc == VT_OK ? NULL : &e, arr);
        if (rc != VT_OK) {
            int x = cli_exit_for(rc);
            if (worst == VT_EXIT_OK || x == VT_EXIT_REJECTED) worst = x;
        }
    next:;
    }
    if (arr) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        if (s) puts(s);
        free(s);
        json_decref(arr);
    }
    return worst;
}

/* refresh: every TDX/SGX platform the cache holds (TCB Infos x the PCK CAs whose CRLs it holds). */
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
    for (size_t i = 0; i < n && a->n_wants < 62; i++) {
        if (strcmp(items[i].kind, "tcb_info") != 0 || !items[i].readable) continue;
        for (int k = 0; k < 2; k++) {
            if (!(k == 0 ? ca_platform : ca_processor)) continue;
            char spec[128];
            snprintf(spec, sizeof spec, "%s:%s:%s", items[i].tee, items[i].id, k == 0 ? "platform" : "processor");
            if (vt_coll_tdx_want_parse(spec, &a->wants[a->n_wants], NULL) == VT_OK) a->n_wants++;
        }
    }
    free(items);
    if (a->n_wants == 0) {
        printf("nothing to refresh: the cache holds no TCB Info\n");
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
        printf("%-4s %-18s %-26s %-21s %-10s %s\n", "TEE", "KIND", "ID", "VALID UNTIL", "STATE", "PATH");
        for (size_t i = 0; i < n; i++) {
            char nu[21] = "-";
            if (items[i].readable) vt_time_format(items[i].next_update, nu);
            printf("%-4s %-18s %-26.26s %-21s %-10s %s\n", items[i].tee, items[i].kind, items[i].id, nu,
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
        strcmp(sub, "prune") != 0) {
        fprintf(stderr, "veritee collateral: unknown subcommand '%s' (fetch, refresh, show, prune)\n", sub);
        return VT_EXIT_USAGE;
    }
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
