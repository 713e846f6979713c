/* veritee verify --tee nvidia: Trustee's GPU evidence list ({"device_evidence_list":[...]})
 * verified against the NVIDIA Device Identity CA (built-in pin, or --trust ROOT.pem). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"

static void print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL) printf("%s\n", s);
    free(s);
}

/* --trust: a PEM file, or a directory holding nvidia_device_root.pem. */
static vt_err load_root(const char *path, vt_buf *pem, vt_error *e)
{
    struct stat st;
    char p[4096];
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        VT_GUARD(vt_path_join(p, sizeof p, path, "nvidia_device_root.pem", e));
        path = p;
    }
    vt_err rc = vt_file_read(path, VT_FILE_MAX, pem, e);
    if (rc != VT_OK) {
        e->code = VT_E_MISSING; /* the trust anchor named is not there: exit 3 */
        return VT_E_MISSING;
    }
    return VT_OK;
}

static void print_text(const cli_verify_args *a, json_t *claims, const vt_checks *c)
{
    json_t *devs = json_object_get(claims, "devices"), *d;
    size_t i;
    printf("%s: NVIDIA GPU evidence (%zu device%s) VERIFIED\n", a->file, json_array_size(devs),
           json_array_size(devs) == 1 ? "" : "s");
    json_array_foreach(devs, i, d) {
        json_t *cfg = json_object_get(d, "config");
        printf("  gpu%zu %-10s ueid %s\n", i, json_string_value(json_object_get(d, "arch")),
               json_string_value(json_object_get(d, "ueid")));
        printf("    %-20s %s\n", "uuid (unverified)",
               json_is_string(json_object_get(d, "uuid")) ? json_string_value(json_object_get(d, "uuid")) : "-");
        printf("    %-20s %s\n", "nonce", json_string_value(json_object_get(d, "nonce")));
        printf("    %-20s %s\n", "driver_version", json_string_value(json_object_get(cfg, "driver_version")));
        printf("    %-20s %s\n", "vbios_version", json_string_value(json_object_get(cfg, "vbios_version")));
        printf("    %-20s %zu (see --json)\n", "measurements",
               json_object_size(json_object_get(d, "measurements")));
    }
    printf("checks:\n");
    cli_print_checks(stdout, c);
    json_array_foreach(devs, i, d) {
        if (json_is_true(json_object_get(d, "emulated"))) {
            printf("EMULATED GPU: test evidence, not hardware (gpu%zu)\n", i);
        }
    }
}

int cli_verify_nvidia(cli_verify_args *a)
{
    vt_error e;
    vt_error_clear(&e);
    vt_buf nonce = {0}, root = {0};
    vt_nvidia_verifier *v = NULL;
    vt_checks *checks = calloc(1, sizeof *checks);
    json_t *claims = NULL;
    int ex;
    if (checks == NULL) return VT_EXIT_USAGE;
    if (a->nonce_hex != NULL &&
        (vt_hex_decode(a->nonce_hex, strlen(a->nonce_hex), &nonce, &e) != VT_OK || nonce.len == 0 ||
         nonce.len > 64)) {
        vt_error_set(&e, VT_E_ARG, "nonce", "--nonce must be 1..64 bytes of hex");
        ex = cli_report_error(a, "nvidia", &e, NULL);
        goto out;
    }
    if (a->trust_dir != NULL && load_root(a->trust_dir, &root, &e) != VT_OK) {
        ex = cli_report_error(a, "nvidia", &e, NULL);
        goto out;
    }
    vt_nvidia_trust t = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    if (vt_nvidia_verifier_new(a->trust_dir != NULL ? &t : NULL, &v, &e) != VT_OK) {
        ex = cli_report_error(a, "nvidia", &e, NULL);
        goto out;
    }
    a->nv.cache_dir = a->cache_dir;
    if (cli_nv_load(&a->nv, true, a->at, checks, &e) != VT_OK) {
        ex = cli_report_error(a, "nvidia", &e, checks);
        goto out;
    }
    vt_nvidia_verify_opts o = {.at = a->at, .nonce = nonce.ptr, .nonce_len = nonce.len,
                               .revocation = a->nv.rev, .rims = a->nv.rim_ptrs, .n_rims = a->nv.n_rims};
    if (a->nv.rim_service || (a->nv.rim_verifier != NULL && a->cache_dir != NULL)) {
        o.rim_verifier = a->nv.rim_verifier;
        o.rim_source = a->nv.rim_source;
    }
    if (vt_nvidia_verify(v, a->evidence.ptr, a->evidence.len, &o, &claims, checks, &e) != VT_OK) {
        ex = cli_report_error(a, "nvidia", &e, checks);
        goto out;
    }
    if (a->json) {
        json_t *j = json_pack("{s:s, s:s, s:b}", "file", a->file, "tee", "nvidia", "verified", 1);
        if (j != NULL) {
            json_object_update(j, claims);
            json_object_set_new(j, "checks", vt_checks_json(checks));
            json_object_set_new(j, "sources", cli_nv_stats_json(&a->nv));
        }
        print_json(j);
        json_decref(j);
    } else {
        print_text(a, claims, checks);
    }
    ex = VT_EXIT_OK;
out:
    cli_nv_free(&a->nv);
    json_decref(claims);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&nonce);
    vt_buf_free(&root);
    free(checks);
    return ex;
}
