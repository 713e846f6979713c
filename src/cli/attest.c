/* veritee attest: the guest side of the CoCo KBS protocol (RCAR 0.4.0, docs/attest.md): attest to
 * a KBS with evidence from a provider and fetch a secret, decrypted with the ephemeral TEE key. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "veritee/json.h"
#include "veritee/crypto.h"
#include "veritee/evidence.h"
#include "veritee/fileio.h"
#include "veritee/kbs_client.h"
#include "veritee/writer.h"

static void attest_usage(FILE *f)
{
    cli_usage(f, "attest");
}

#define MAX_RES 16

typedef struct attest_args {
    const char *kbs, *tee, *out, *token_out, *cacert, *init_data_file, *gpu_evidence, *nvml;
    const char *more_kbs[8]; /* NULL-terminated */
    size_t nkbs;
    const char *res[MAX_RES];
    size_t nres;
    vt_kbs_evidence_src src;
    vt_kbs_key_type key_type;
    long timeout, retries;
    bool bearer, verbose;
} attest_args;

static int usage_error(const char *msg)
{
    fprintf(stderr, "veritee attest: %s\n", msg);
    return VT_EXIT_USAGE;
}

static int parse(int argc, char **argv, attest_args *a)
{
    enum { O_KBS = 256, O_RES, O_TEE, O_PROV, O_EMU, O_KEY, O_BEARER, O_TOKEN, O_TIMEOUT, O_REALM, O_TSM, O_DEV, O_CACERT, O_RETRIES,
           O_TCTI, O_IMDS_URL, O_IMDS_DIR, O_EVLOG, O_AALOG, O_AK, O_INIT, O_GPU, O_NVML };
    static const struct option opts[] = {
        {"kbs", required_argument, 0, O_KBS},        {"resource", required_argument, 0, O_RES},
        {"tee", required_argument, 0, O_TEE},        {"provider", required_argument, 0, O_PROV},
        {"emulator", required_argument, 0, O_EMU},   {"key-type", required_argument, 0, O_KEY},
        {"bearer", no_argument, 0, O_BEARER},        {"token-out", required_argument, 0, O_TOKEN},
        {"timeout", required_argument, 0, O_TIMEOUT}, {"realm", required_argument, 0, O_REALM},
        {"tsm-root", required_argument, 0, O_TSM},   {"device", required_argument, 0, O_DEV},
        {"cacert", required_argument, 0, O_CACERT},  {"retries", required_argument, 0, O_RETRIES},
        {"tcti", required_argument, 0, O_TCTI},      {"imds-url", required_argument, 0, O_IMDS_URL},
        {"imds-dir", required_argument, 0, O_IMDS_DIR}, {"event-log", required_argument, 0, O_EVLOG},
        {"aa-eventlog", required_argument, 0, O_AALOG}, {"ak-handle", required_argument, 0, O_AK},
        {"init-data", required_argument, 0, O_INIT},
        {"gpu-evidence", required_argument, 0, O_GPU}, {"nvml", required_argument, 0, O_NVML},
        {"output", required_argument, 0, 'o'},       {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},               {0, 0, 0, 0}};
    int c;
    char *end;
    vt_error e;
    memset(a, 0, sizeof *a);
    a->retries = 3;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:v", opts, NULL)) != -1) {
        switch (c) {
        case O_KBS:
            if (a->kbs == NULL) a->kbs = optarg;
            else if (a->nkbs < 7) a->more_kbs[a->nkbs++] = optarg;
            else return usage_error("at most 8 --kbs");
            break;
        case O_RES:
            if (a->nres == MAX_RES) return usage_error("at most 16 --resource");
            a->res[a->nres++] = optarg;
            break;
        case O_TEE:
            if (vt_ev_tee_parse(optarg, &a->src.tee, &e) != VT_OK) return usage_error(e.msg);
            break;
        case O_PROV:
            if (vt_kbs_provider_parse(optarg, &a->src.provider, &e) != VT_OK) return usage_error(e.msg);
            break;
        case O_EMU: a->src.emulator_dir = optarg; break;
        case O_KEY:
            if (strcmp(optarg, "ec") == 0) a->key_type = VT_KBS_KEY_EC;
            else if (strcmp(optarg, "rsa") == 0) a->key_type = VT_KBS_KEY_RSA;
            else return usage_error("--key-type must be ec or rsa");
            break;
        case O_BEARER: a->bearer = true; break;
        case O_TOKEN: a->token_out = optarg; break;
        case O_CACERT: a->cacert = optarg; break;
        case O_GPU: a->gpu_evidence = optarg; break;
        case O_NVML: a->nvml = optarg; break;
        case O_TIMEOUT:
            a->timeout = strtol(optarg, &end, 10);
            if (end == optarg || *end || a->timeout < 1 || a->timeout > 3600) return usage_error("--timeout: 1..3600");
            break;
        case O_RETRIES:
            a->retries = strtol(optarg, &end, 10);
            if (end == optarg || *end || a->retries < 0 || a->retries > 100) return usage_error("--retries: 0..100");
            break;
        case O_REALM: a->src.realm = optarg; break;
        case O_TSM: a->src.tsm_root = optarg; break;
        case O_DEV: a->src.device = optarg; break;
        case O_TCTI: a->src.tcti = optarg; break;
        case O_IMDS_URL: a->src.imds_url = optarg; break;
        case O_IMDS_DIR: a->src.imds_dir = optarg; break;
        case O_EVLOG: a->src.event_log = optarg; break;
        case O_AALOG: a->src.aa_eventlog = optarg; break;
        case O_INIT: a->init_data_file = optarg; break;
        case O_AK: {
            unsigned long h = strtoul(optarg, &end, 16);
            if (end == optarg || *end != '\0' || h < 0x81000000ul || h > 0x81FFFFFFul)
                return usage_error("--ak-handle: a persistent handle, 81000000..81FFFFFF (hex)");
            a->src.ak_handle = (uint32_t)h;
            break;
        }
        case 'o': a->out = optarg; break;
        case 'v': a->verbose = true; break;
        case 'h': attest_usage(stdout); return -1;
        default: return cli_bad_option("attest", argv);
        }
    }
    if (optind != argc || a->kbs == NULL) {
        attest_usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (a->out != NULL && a->nres != 1) return usage_error("-o needs exactly one --resource");
    if (a->nres == 0 && a->token_out == NULL) return usage_error("nothing to do: give --resource or --token-out");
    return 0;
}

/* The evidence callback: providers through the library; remembers the TEE the evidence is for. */
typedef struct ev_ctx {
    const vt_kbs_evidence_src *src;
    const char *gpu_evidence; /* "nvml", "emulated" or a file of Trustee's device_evidence_list JSON */
    const char *nvml;         /* the NVML library (NULL: the default) */
    bool verbose;
} ev_ctx;

/* --gpu-evidence: this guest's GPUs through NVML or the emulated TEE's, over the device nonce,
 * or a file sent as it is (GPU evidence collected elsewhere, e.g. by NVIDIA's tools over the
 * same nonce). */
static vt_err additional(void *ud, const uint8_t rd[64], char **out, vt_error *err)
{
    ev_ctx *x = ud;
    *out = NULL;
    bool nvml = strcmp(x->gpu_evidence, "nvml") == 0;
    if (x->verbose && (nvml || strcmp(x->gpu_evidence, "emulated") == 0)) {
        char h[65];
        vt_hex_encode(rd, 32, h);
        fprintf(stderr, "veritee attest: GPU nonce %s\n", h);
    }
    if (!nvml && strcmp(x->gpu_evidence, "emulated") == 0) return vt_kbs_gpu_evidence_get(x->src, rd, out, err);
    vt_buf b = {0};
    json_t *doc = NULL, *map = NULL;
    if (nvml) { /* the first 32 bytes of the device runtime data: the SPDM nonce */
        vt_nvml_opts o = {.library = cli_nvml_library(x->nvml), .nonce = rd};
        VT_GUARD(vt_nvml_gpu_evidence(&o, &b, err));
    } else {
        VT_GUARD(cli_read_input(x->gpu_evidence, 1u << 20, &b, err));
    }
    vt_err rc = vt_json_parse((const char *)b.ptr, b.len, &doc, err);
    vt_buf_free(&b);
    if (rc == VT_OK && !json_is_array(json_object_get(doc, "device_evidence_list")))
        rc = vt_error_set(err, VT_E_INVALID, "gpu_evidence", "%s: expected {\"device_evidence_list\": [...]}",
                          x->gpu_evidence);
    if (rc == VT_OK && ((map = json_pack("{s:O}", "nvidia", doc)) == NULL || (*out = json_dumps(map, JSON_COMPACT)) == NULL))
        rc = vt_error_set(err, VT_E_NOMEM, "gpu_evidence", "out of memory");
    json_decref(map);
    json_decref(doc);
    return rc;
}

static vt_err evidence(void *ud, const uint8_t rd[64], size_t rd_len, json_t **out, vt_error *err)
{
    ev_ctx *x = ud;
    if (x->verbose) {
        char h[129];
        vt_hex_encode(rd, 64, h);
        fprintf(stderr, "veritee attest: report data %s\n", h);
    }
    return vt_kbs_evidence_get(x->src, rd, rd_len, out, NULL, err);
}

static int fail(const char *step, const vt_error *e)
{
    fprintf(stderr, "veritee attest: %s: %s\n", step, e->msg);
    return cli_exit_for(e->code);
}

static int write_secret(const char *path, const vt_buf *s)
{
    if (path == NULL) return fwrite(s->ptr, 1, s->len, stdout) == s->len && fflush(stdout) == 0 ? 0 : VT_EXIT_USAGE;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "veritee attest: %s: %s\n", path, strerror(errno));
        return VT_EXIT_USAGE;
    }
    size_t off = 0;
    while (off < s->len) {
        ssize_t w = write(fd, s->ptr + off, s->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = off == s->len && close(fd) == 0;
    if (!ok) fprintf(stderr, "veritee attest: writing %s failed\n", path);
    return ok ? 0 : VT_EXIT_USAGE;
}

/* What the KBS's attestation result says (status, the checks that did not pass), on stderr. */
static void print_result(const vt_kbs_client *c, const char *why)
{
    char *sum = NULL;
    vt_error e;
    if (vt_kbs_client_token_summary(c, &sum, &e) == VT_OK)
        fprintf(stderr, "veritee attest: %s (attestation result, as the KBS sent it):\n%s", why, sum);
    free(sum);
}

/* The TEE name for /auth: --tee, else what configfs-tsm reports. */
static int resolve_tee(attest_args *a)
{
    if (a->src.tee != VT_EV_TEE_UNKNOWN) return 0;
    vt_kbs_provider p = a->src.provider;
    if (p == VT_KBS_PROVIDER_EMULATED || (p == VT_KBS_PROVIDER_AUTO && a->src.emulator_dir != NULL))
        return usage_error("the emulated TEE needs --tee tdx|snp|cca");
    uint8_t rd[64] = {0};
    json_t *ev = NULL;
    vt_error e;
    if (vt_kbs_evidence_get(&a->src, rd, 64, &ev, &a->src.tee, &e) != VT_OK) return fail("evidence", &e);
    json_decref(ev);
    return 0;
}

/* One round: attest, then fetch the resources not yet received (*got of them are). Returns 0, or
 * -1 with *e set and *what naming the step. */
static int one_round(const attest_args *a, vt_kbs_client *c, const char *tee, size_t *got, const char **what,
                     int *rc, vt_error *e)
{
    *rc = 0;
    if (vt_kbs_client_attest(c, e) != VT_OK) {
        *what = "attestation";
        return -1;
    }
    const char *tok = vt_kbs_client_token(c);
    if (a->verbose) {
        fprintf(stderr, "veritee attest: %s guest attested to %s (%s key); token %zu bytes\n", tee, a->kbs,
                a->key_type == VT_KBS_KEY_RSA ? "RSA-OAEP-256" : "EC P-256", strlen(tok));
        print_result(c, "appraisal");
    }
    if (a->token_out != NULL) {
        vt_buf t = {.ptr = (uint8_t *)tok, .len = strlen(tok)};
        if ((*rc = write_secret(a->token_out, &t)) != 0) return 0;
    }
    for (; *got < a->nres; (*got)++) {
        vt_buf s = {0};
        const char *r = a->res[*got];
        if (vt_kbs_client_get_resource(c, r, a->bearer, &s, e) != VT_OK) {
            *what = r;
            return -1;
        }
        if (a->verbose)
            fprintf(stderr, "veritee attest: %s: %zu bytes (JWE decrypted, %s)\n", r, s.len,
                    a->bearer ? "bearer token" : "session cookie");
        *rc = write_secret(a->out, &s);
        vt_buf_free_secret(&s);
        if (*rc != 0) return 0;
    }
    return 0;
}

int cmd_attest(int argc, char **argv)
{
    attest_args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0) return rc < 0 ? 0 : rc;
    if (a.src.tcti == NULL) a.src.tcti = cli_tcti_default();
    if ((rc = resolve_tee(&a)) != 0) return rc;
    vt_buf init = {0};
    vt_error ie;
    if (a.init_data_file != NULL) { /* the TOML, as the initdata annotation carries it decoded */
        if (vt_file_read(a.init_data_file, 1u << 20, &init, &ie) != VT_OK) return fail("--init-data", &ie);
        if (memchr(init.ptr, 0, init.len) != NULL || vt_buf_append(&init, "", 1, &ie) != VT_OK) {
            vt_buf_free(&init);
            return usage_error("--init-data: a TOML text file");
        }
    }
    ev_ctx x = {.src = &a.src, .gpu_evidence = a.gpu_evidence, .nvml = a.nvml, .verbose = a.verbose};
    vt_kbs_client_opts o = {.url = a.kbs, .more_urls = a.more_kbs, .tee = vt_ev_tee_name(a.src.tee), .key_type = a.key_type,
                            .evidence = evidence, .additional = a.gpu_evidence ? additional : NULL, .evidence_ud = &x, .timeout_seconds = a.timeout,
                            .ca_file = a.cacert, .init_data_toml = init.ptr != NULL ? (const char *)init.ptr : NULL};
    vt_kbs_client *c = NULL;
    vt_error e;
    vt_error_clear(&e);
    if (vt_kbs_client_new(&o, &c, &e) != VT_OK) {
        vt_buf_free(&init);
        return fail("client", &e);
    }
    /* A round that failed where a new one may pass (the KBS unreachable, a node gone behind a load
     * balancer, 5xx while its store restarts) begins again from /auth, with a growing pause;
     * resources already received are not fetched again. */
    size_t got = 0;
    for (long attempt = 0;; attempt++) {
        const char *what = NULL;
        if (one_round(&a, c, o.tee, &got, &what, &rc, &e) == 0) break;
        if (vt_kbs_client_retryable(c) && attempt < a.retries) {
            long ms = 200L << (attempt < 4 ? attempt : 4); /* 0.2, 0.4, 0.8, 1.6, 3.2 s */
            if (a.verbose)
                fprintf(stderr, "veritee attest: %s: %s; again in %ld ms (%ld of %ld)\n", what, e.msg, ms,
                        attempt + 1, a.retries);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            vt_error_clear(&e);
            continue;
        }
        rc = fail(what, &e);
        if (what != NULL && strcmp(what, "attestation") != 0 && e.code == VT_E_VERIFY &&
            !a.verbose) /* with -v the result was printed after attesting */
            fprintf(stderr, "veritee attest: -v prints the attestation status and the checks that failed\n");
        break;
    }
    vt_kbs_client_free(c);
    vt_buf_free(&init);
    return rc;
}
