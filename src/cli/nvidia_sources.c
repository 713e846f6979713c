/* The NVIDIA revocation and RIM source options of 'veritee verify --tee nvidia' and 'veritee rim'
 * (--ocsp[=URL], --ocsp-response, --crl, --allow-revocation-unknown, --rim-service[=URL],
 * --rim-trust, --rim, --cache) turned into the nvidia layer's settings. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"

static bool push(const char **list, size_t *n, const char *v, const char *flag, const char *cmd)
{
    if (*n >= CLI_NV_MAX_FILES) {
        fprintf(stderr, "veritee %s: %s given more than %d times\n", cmd, flag, CLI_NV_MAX_FILES);
        return false;
    }
    list[(*n)++] = v;
    return true;
}

bool cli_nv_option(cli_nv_sources *s, int code, const char *arg, const char *cmd)
{
    switch (code) {
    case CLI_NV_O_OCSP: s->ocsp = true, s->ocsp_url = arg; return true;
    case CLI_NV_O_OCSP_RESPONSE: return push(s->ocsp_files, &s->n_ocsp_files, arg, "--ocsp-response", cmd);
    case CLI_NV_O_CRL: return push(s->crl_files, &s->n_crl_files, arg, "--crl", cmd);
    case CLI_NV_O_ALLOW_UNKNOWN: s->allow_unknown = true; return true;
    case CLI_NV_O_RIM_SERVICE: s->rim_service = true, s->rim_service_url = arg; return true;
    case CLI_NV_O_RIM_TRUST: s->rim_trust = arg; return true;
    case CLI_NV_O_RIM: return push(s->rim_files, &s->n_rim_files, arg, "--rim", cmd);
    default: return false;
    }
}

bool cli_nv_revocation_given(const cli_nv_sources *s)
{
    return s->ocsp || s->n_ocsp_files > 0 || s->n_crl_files > 0 || s->allow_unknown;
}

bool cli_nv_rim_given(const cli_nv_sources *s)
{
    return s->rim_service || s->rim_trust != NULL || s->n_rim_files > 0;
}

/* Randomness for the OCSP nonce (the library takes it as a parameter). */
static vt_err os_random(void *ctx, uint8_t *out, size_t n, vt_error *err)
{
    (void)ctx;
    if (RAND_bytes(out, (int)n) != 1) return vt_error_set(err, VT_E_INTERNAL, "random", "no randomness");
    return VT_OK;
}

static vt_err read_flag_file(const char *path, const char *flag, vt_buf *out, vt_error *e)
{
    vt_err rc = vt_file_read(path, VT_FILE_MAX, out, e);
    if (rc != VT_OK) {
        vt_error_wrap(e, "%s", flag);
        e->code = rc = VT_E_MISSING; /* a file named on the command line is not there: exit 3 */
    }
    return rc;
}

vt_err cli_nv_load(cli_nv_sources *s, bool want_rims, vt_time at, vt_checks *checks, vt_error *e)
{
    s->stats = calloc(1, sizeof *s->stats);
    s->rev = calloc(1, sizeof *s->rev);
    s->rim_source = calloc(1, sizeof *s->rim_source);
    if (s->stats == NULL || s->rev == NULL || s->rim_source == NULL)
        return vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < s->n_ocsp_files; i++, k++) {
        VT_GUARD(read_flag_file(s->ocsp_files[i], "--ocsp-response", &s->bufs[k], e));
        s->responses[i] = (vt_bytes){s->bufs[k].ptr, s->bufs[k].len};
    }
    for (size_t i = 0; i < s->n_crl_files; i++, k++) {
        VT_GUARD(read_flag_file(s->crl_files[i], "--crl", &s->bufs[k], e));
        s->crls[i] = (vt_bytes){s->bufs[k].ptr, s->bufs[k].len};
    }
    *s->rev = (vt_nvidia_revocation){.responses = s->responses, .n_responses = s->n_ocsp_files, .crls = s->crls,
                                     .n_crls = s->n_crl_files, .online = s->ocsp, .ocsp_url = s->ocsp_url,
                                     .cache_dir = s->cache_dir, .random = os_random,
                                     .allow_unknown = s->allow_unknown,
                                     .require = cli_nv_revocation_given(s) && !s->allow_unknown,
                                     .stats = s->stats, .clock_skew_seconds = s->clock_skew};
    *s->rim_source = (vt_nvidia_rim_source){.online = s->rim_service, .service_url = s->rim_service_url,
                                            .cache_dir = s->cache_dir, .stats = s->stats};
    if (!want_rims || !cli_nv_rim_given(s)) return VT_OK;
    if (s->rim_trust == NULL)
        return vt_error_set(e, VT_E_MISSING, "rim_chain",
                            "--rim-service and --rim need --rim-trust ROOT.pem (the NVIDIA CoRIM signing Root CA)");
    vt_buf root = {0};
    VT_GUARD(read_flag_file(s->rim_trust, "--rim-trust", &root, e));
    vt_err rc = vt_nvidia_rim_verifier_new(root.ptr, root.len, &s->rim_verifier, e);
    vt_buf_free(&root);
    VT_GUARD(rc);
    /* the RIM signer chains get the same revocation settings as the device chain */
    if (cli_nv_revocation_given(s)) vt_nvidia_rim_verifier_set_revocation(s->rim_verifier, s->rev);
    if (s->n_rim_files == 0) return VT_OK;
    s->rims = calloc(s->n_rim_files, sizeof *s->rims);
    s->rim_ptrs = calloc(s->n_rim_files, sizeof *s->rim_ptrs);
    if (s->rims == NULL || s->rim_ptrs == NULL) return vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    for (size_t i = 0; i < s->n_rim_files; i++) {
        vt_buf x = {0};
        VT_GUARD(read_flag_file(s->rim_files[i], "--rim", &x, e));
        rc = vt_nvidia_rim_verify(s->rim_verifier, x.ptr, x.len, at, &s->rims[i], checks, e);
        vt_buf_free(&x);
        if (rc != VT_OK) return vt_error_wrap(e, "--rim %s", s->rim_files[i]);
        s->rim_ptrs[i] = &s->rims[i];
    }
    s->n_rims = s->n_rim_files;
    return VT_OK;
}

void cli_nv_free(cli_nv_sources *s)
{
    for (size_t i = 0; i < 2 * CLI_NV_MAX_FILES; i++) vt_buf_free(&s->bufs[i]);
    vt_nvidia_rim_verifier_free(s->rim_verifier);
    free(s->rims);
    free(s->rim_ptrs);
    free(s->rev);
    free(s->rim_source);
    free(s->stats);
    s->rim_verifier = NULL, s->rims = NULL, s->rim_ptrs = NULL, s->rev = NULL, s->rim_source = NULL, s->stats = NULL;
}

json_t *cli_nv_stats_json(const cli_nv_sources *s)
{
    const vt_nvidia_source_stats z = {0}, *st = s->stats != NULL ? s->stats : &z;
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "ocsp_fetched", (json_int_t)st->ocsp_fetched, "ocsp_cache_hits",
                     (json_int_t)st->ocsp_cache_hits, "ocsp_offline", (json_int_t)st->ocsp_offline, "rim_fetched",
                     (json_int_t)st->rim_fetched, "rim_cache_hits", (json_int_t)st->rim_cache_hits);
}
