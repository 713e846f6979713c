/* veritee rim: NVIDIA reference integrity manifests (verify: XML signature and signer chain at
 * an instant; match: a GPU report's measurements against verified driver/VBIOS RIMs). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"

static void rim_usage(FILE *f)
{
    cli_usage(f, "rim");
}

static void print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL) printf("%s\n", s);
    free(s);
}

static json_t *rim_json(const char *file, const vt_nvidia_rim *r, bool ok, const vt_checks *c,
                        const vt_error *e)
{
    json_t *o = json_pack("{s:s, s:b}", "file", file, "verified", ok);
    if (o == NULL) return NULL;
    if (ok) {
        size_t active = 0;
        for (size_t i = 0; i < r->n; i++) active += r->entries[i].active;
        json_object_set_new(o, "tag_id", json_string(r->tag_id));
        json_object_set_new(o, "name", json_string(r->name));
        json_object_set_new(o, "version", json_string(r->version));
        json_object_set_new(o, "signer", json_string(r->signer));
        json_object_set_new(o, "signer_not_after", vt_json_time_string(r->signer_not_after));
        json_object_set_new(o, "measurements", json_integer((json_int_t)r->n));
        json_object_set_new(o, "active", json_integer((json_int_t)active));
    } else {
        json_object_set_new(o, "error", json_pack("{s:s, s:s, s:s}", "code", vt_code_name(e->code), "check",
                                                  e->check, "message", e->msg));
    }
    json_object_set_new(o, "checks", vt_checks_json(c));
    return o;
}

/* Verify one RIM file; prints the text form unless json. */
static vt_err verify_one(vt_nvidia_rim_verifier *v, const char *file, vt_time at, bool json,
                         vt_nvidia_rim *rim, json_t *out, vt_error *e)
{
    vt_buf x = {0};
    vt_checks c = {0};
    vt_err rc = vt_file_read(file, VT_FILE_MAX, &x, e);
    if (rc == VT_OK) rc = vt_nvidia_rim_verify(v, x.ptr, x.len, at, rim, &c, e);
    vt_buf_free(&x);
    if (json) {
        json_array_append_new(out, rim_json(file, rim, rc == VT_OK, &c, e));
    } else if (rc == VT_OK) {
        size_t active = 0;
        for (size_t i = 0; i < rim->n; i++) active += rim->entries[i].active;
        printf("%s: RIM %s version %s VERIFIED (%zu measurements, %zu active)\n", file, rim->name,
               rim->version, rim->n, active);
        cli_print_checks(stdout, &c);
    } else {
        printf("%s: RIM REJECTED\n", file);
        cli_print_checks(stdout, &c);
    }
    if (rc != VT_OK) fprintf(stderr, "veritee rim: %s: %s: %s\n", file, e->check, e->msg);
    return rc;
}

/* REPORT: evidence JSON (first device), hex text or raw bytes. */
static vt_err load_report(const char *file, vt_buf *raw, vt_error *e)
{
    vt_buf t = {0};
    VT_GUARD(vt_file_read(file, VT_FILE_MAX, &t, e));
    vt_err rc;
    size_t n = t.len;
    while (n > 0 && (t.ptr[n - 1] == '\n' || t.ptr[n - 1] == ' ' || t.ptr[n - 1] == '\r')) n--;
    if (n > 0 && t.ptr[0] == '{') {
        json_t *doc = NULL, *list = NULL;
        const char *ev = NULL;
        rc = vt_json_parse((const char *)t.ptr, t.len, &doc, e);
        if (rc == VT_OK) rc = vt_json_arr(doc, "device_evidence_list", "evidence", &list, e);
        if (rc == VT_OK && json_array_size(list) == 0)
            rc = vt_error_set(e, VT_E_INVALID, "evidence_format", "empty device_evidence_list");
        if (rc == VT_OK) rc = vt_json_str(json_array_get(list, 0), "evidence", "device_evidence_list[0]", &ev, e);
        if (rc == VT_OK) {
            size_t l = strlen(ev);
            rc = vt_hex_decode(ev, l, raw, e);
            if (rc != VT_OK) rc = vt_b64_decode(ev, l, raw, e);
        }
        json_decref(doc);
    } else if (n > 0 && t.ptr[0] != 0x11) {
        rc = vt_hex_decode((const char *)t.ptr, n, raw, e); /* raw reports start with 0x11 (SPDM 1.1) */
    } else {
        rc = vt_buf_set(raw, t.ptr, t.len, e);
    }
    vt_buf_free(&t);
    return rc;
}

/* Evidence JSON: verified like 'veritee verify --tee nvidia' (checks go to ck); a bare report:
 * nothing to verify with, *verified stays false. */
static vt_err verify_evidence(const char *file, const char *dev_trust, const char *nonce_hex, vt_time at,
                              bool *verified, vt_checks *ck, vt_error *e)
{
    vt_buf t = {0}, root = {0}, nonce = {0};
    vt_nvidia_verifier *v = NULL;
    json_t *claims = NULL;
    VT_GUARD(vt_file_read(file, VT_FILE_MAX, &t, e));
    vt_err rc = VT_OK;
    if (t.len == 0 || t.ptr[0] != '{') goto out;
    if (nonce_hex != NULL && (vt_hex_decode(nonce_hex, strlen(nonce_hex), &nonce, e) != VT_OK || nonce.len == 0 ||
                              nonce.len > 64)) {
        rc = vt_error_set(e, VT_E_ARG, "nonce", "--nonce must be 1..64 bytes of hex");
        goto out;
    }
    if (dev_trust != NULL && vt_file_read(dev_trust, VT_FILE_MAX, &root, e) != VT_OK) {
        rc = e->code = VT_E_MISSING;
        goto out;
    }
    vt_nvidia_trust tr = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    rc = vt_nvidia_verifier_new(dev_trust != NULL ? &tr : NULL, &v, e);
    vt_nvidia_verify_opts o = {.at = at, .nonce = nonce.ptr, .nonce_len = nonce.len};
    if (rc == VT_OK) rc = vt_nvidia_verify(v, t.ptr, t.len, &o, &claims, ck, e);
    *verified = rc == VT_OK;
out:
    json_decref(claims);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&t);
    vt_buf_free(&root);
    vt_buf_free(&nonce);
    return rc;
}

/* rim fetch: each id from the cache or the RIM service, verified (vt_nvidia_rim_get). */
static int fetch_all(vt_nvidia_rim_verifier *v, cli_nv_sources *nv, char **ids, int n, vt_time at, bool json,
                     const char *outdir)
{
    json_t *out = json_array();
    vt_nvidia_rim *rim = malloc(sizeof *rim);
    vt_checks *c = malloc(sizeof *c);
    int ex = VT_EXIT_OK;
    if (out == NULL || rim == NULL || c == NULL) {
        ex = VT_EXIT_USAGE;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        vt_error e;
        vt_error_clear(&e);
        memset(c, 0, sizeof *c);
        vt_buf xml = {0};
        vt_err rc = vt_nvidia_rim_get(v, nv->rim_source, ids[i], at, rim, &xml, c, &e);
        char path[4096], name[200];
        snprintf(name, sizeof name, "%.160s.swidtag", ids[i]);
        if (rc == VT_OK && outdir != NULL &&
            (vt_path_join(path, sizeof path, outdir, name, &e) != VT_OK ||
             vt_file_write_atomic(path, xml.ptr, xml.len, 0644, &e) != VT_OK))
            rc = e.code = VT_E_IO;
        vt_buf_free(&xml);
        if (json) {
            json_t *o = rim_json(ids[i], rim, rc == VT_OK, c, &e);
            json_array_append_new(out, o);
        } else {
            printf("%s: %s\n", ids[i], rc == VT_OK ? "VERIFIED" : "NOT AVAILABLE OR REJECTED");
            if (rc == VT_OK) printf("  RIM %s version %s, signer '%s'\n", rim->name, rim->version, rim->signer);
            cli_print_checks(stdout, c);
        }
        if (rc != VT_OK) {
            fprintf(stderr, "veritee rim fetch: %s: %s: %s\n", ids[i], e.check, e.msg);
            int x = cli_exit_for(rc);
            if (ex == VT_EXIT_OK || x == VT_EXIT_REJECTED) ex = x;
        }
    }
    if (json) {
        json_t *o = json_pack("{s:O, s:o}", "rims", out, "sources", cli_nv_stats_json(nv));
        print_json(o);
        json_decref(o);
    }
out:
    json_decref(out);
    free(rim);
    free(c);
    return ex;
}

int cmd_rim(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        rim_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    bool match = strcmp(argv[1], "match") == 0, fetch = strcmp(argv[1], "fetch") == 0;
    if (!match && !fetch && strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "veritee rim: unknown subcommand '%s'\n", argv[1]);
        rim_usage(stderr);
        return VT_EXIT_USAGE;
    }
    const char *sub = match ? "rim match" : fetch ? "rim fetch" : "rim verify";
    enum { O_TRUST = 256, O_AT, O_JSON, O_DRIVER, O_VBIOS, O_DEVTRUST, O_NONCE, O_CACHE, O_SERVICE, O_OFFLINE,
           O_OUTPUT };
    static const struct option match_opts[] = {
        {"trust", required_argument, 0, O_TRUST}, {"at", required_argument, 0, O_AT},
        {"json", no_argument, 0, O_JSON},         {"driver", required_argument, 0, O_DRIVER},
        {"vbios", required_argument, 0, O_VBIOS}, {"help", no_argument, 0, 'h'},
        {"device-trust", required_argument, 0, O_DEVTRUST}, {"nonce", required_argument, 0, O_NONCE},
        {0, 0, 0, 0}};
    /* verify and fetch: the signer chains' revocation sources too */
    static const struct option verify_opts[] = {
        {"trust", required_argument, 0, O_TRUST}, {"at", required_argument, 0, O_AT},
        {"json", no_argument, 0, O_JSON},         {"help", no_argument, 0, 'h'},
        {"cache", required_argument, 0, O_CACHE}, {"ocsp", optional_argument, 0, CLI_NV_O_OCSP},
        {"ocsp-response", required_argument, 0, CLI_NV_O_OCSP_RESPONSE},
        {"crl", required_argument, 0, CLI_NV_O_CRL},
        {"allow-revocation-unknown", no_argument, 0, CLI_NV_O_ALLOW_UNKNOWN},
        {"service", required_argument, 0, O_SERVICE}, {"offline", no_argument, 0, O_OFFLINE},
        {"output", required_argument, 0, O_OUTPUT},
        {0, 0, 0, 0}};
    const char *trust = NULL, *driver = NULL, *vbios = NULL, *dev_trust = NULL, *nonce_hex = NULL, *outdir = NULL;
    vt_time at = (vt_time)time(NULL);
    bool json = false, offline = false;
    cli_nv_sources nv;
    memset(&nv, 0, sizeof nv);
    vt_error e;
    vt_error_clear(&e);
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, fetch ? "ho:" : "h", match ? match_opts : verify_opts, NULL)) != -1) {
        if ((c == O_SERVICE || c == O_OFFLINE || c == O_OUTPUT || c == 'o') && !fetch)
            return cli_bad_option(sub, argv + 1);
        switch (c) {
        case O_CACHE: nv.cache_dir = optarg; break;
        case O_SERVICE: nv.rim_service_url = optarg; break;
        case O_OFFLINE: offline = true; break;
        case 'o':
        case O_OUTPUT: outdir = optarg; break;
        case CLI_NV_O_OCSP: case CLI_NV_O_OCSP_RESPONSE: case CLI_NV_O_CRL: case CLI_NV_O_ALLOW_UNKNOWN:
            if (!cli_nv_option(&nv, c, optarg, sub)) return VT_EXIT_USAGE;
            break;
        case O_TRUST: trust = optarg; break;
        case O_JSON: json = true; break;
        case O_DRIVER: driver = optarg; break;
        case O_VBIOS: vbios = optarg; break;
        case O_DEVTRUST: dev_trust = optarg; break;
        case O_NONCE: nonce_hex = optarg; break;
        case O_AT:
            if (vt_time_parse_rfc3339(optarg, &at, &e) != VT_OK) {
                fprintf(stderr, "veritee rim: --at: %s\n", e.msg);
                return VT_EXIT_USAGE;
            }
            break;
        case 'h': rim_usage(stdout); return VT_EXIT_OK;
        default: return cli_bad_option(sub, argv + 1);
        }
    }
    int first = optind + 1, nfiles = argc - first;
    if ((!match && nfiles < 1) || (match && (nfiles != 1 || (driver == NULL && vbios == NULL)))) {
        rim_usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (trust == NULL) {
        fprintf(stderr, "veritee rim: --trust ROOT.pem is required (the pinned RIM root)\n");
        return VT_EXIT_MISSING;
    }
    vt_buf root = {0};
    vt_nvidia_rim_verifier *v = NULL;
    if (vt_file_read(trust, VT_FILE_MAX, &root, &e) != VT_OK) {
        fprintf(stderr, "veritee rim: --trust: %s\n", e.msg);
        return VT_EXIT_MISSING;
    }
    vt_err rc = vt_nvidia_rim_verifier_new(root.ptr, root.len, &v, &e);
    vt_buf_free(&root);
    if (rc == VT_OK) rc = cli_nv_load(&nv, false, at, NULL, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee rim: %s\n", e.msg);
        vt_nvidia_rim_verifier_free(v);
        cli_nv_free(&nv);
        return cli_exit_for(rc);
    }
    if (cli_nv_revocation_given(&nv)) vt_nvidia_rim_verifier_set_revocation(v, nv.rev);
    if (fetch) {
        nv.rim_source->online = !offline;
        int fx = fetch_all(v, &nv, argv + first, nfiles, at, json, outdir);
        vt_nvidia_rim_verifier_free(v);
        cli_nv_free(&nv);
        return fx;
    }
    json_t *out = json_array();
    vt_nvidia_rim *rims = calloc(2, sizeof *rims);
    int ex = VT_EXIT_OK;
    if (out == NULL || rims == NULL) {
        ex = VT_EXIT_USAGE;
        goto done;
    }
    if (!match) {
        for (int i = first; i < argc; i++) {
            rc = verify_one(v, argv[i], at, json, &rims[0], out, &e);
            if (rc != VT_OK && (ex == VT_EXIT_OK || cli_exit_for(rc) == VT_EXIT_REJECTED)) ex = cli_exit_for(rc);
        }
        if (json) print_json(json_array_size(out) == 1 ? json_array_get(out, 0) : out);
        goto done;
    }
    const char *files[2] = {driver, vbios};
    for (int k = 0; k < 2; k++) {
        if (files[k] == NULL) continue;
        rc = verify_one(v, files[k], at, json, &rims[k], out, &e);
        if (rc != VT_OK) {
            ex = cli_exit_for(rc);
            if (json) print_json(out);
            goto done;
        }
    }
    vt_buf raw = {0};
    vt_nvidia_report *r = malloc(sizeof *r);
    json_t *res = NULL;
    vt_checks ck = {0};
    bool verified = false;
    rc = verify_evidence(argv[first], dev_trust, nonce_hex, at, &verified, &ck, &e);
    if (rc != VT_OK) {
        ex = cli_exit_for(rc);
        if (!json) {
            printf("%s: GPU evidence REJECTED\n", argv[first]);
            cli_print_checks(stdout, &ck);
        }
        fprintf(stderr, "veritee rim match: %s: %s: %s\n", argv[first], e.check, e.msg);
        goto matched;
    }
    rc = r == NULL ? VT_E_NOMEM : load_report(argv[first], &raw, &e);
    if (rc == VT_OK) rc = vt_nvidia_report_parse(raw.ptr, raw.len, r, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee rim match: %s: %s\n", argv[first], e.msg);
        ex = VT_EXIT_USAGE;
    } else {
        rc = vt_nvidia_rim_match(r, driver ? &rims[0] : NULL, vbios ? &rims[1] : NULL, &res, &ck, &e);
        ex = cli_exit_for(rc);
        if (json) {
            json_t *o = json_pack("{s:s, s:b, s:b, s:o, s:o}", "report", argv[first], "matched", rc == VT_OK,
                                  "report_verified", verified, "rims", out,
                                  "result", res ? res : json_null());
            out = NULL;
            res = NULL;
            if (o != NULL) json_object_set_new(o, "checks", vt_checks_json(&ck));
            print_json(o);
            json_decref(o);
        } else {
            printf("%s: report (%s) driver %s, VBIOS %s: measurements %s\n", argv[first],
                   verified ? "VERIFIED" : "parsed, NOT verified", r->driver_version, r->vbios_version,
                   rc == VT_OK ? "MATCH" : "DO NOT MATCH");
            cli_print_checks(stdout, &ck);
            size_t i;
            json_t *m;
            json_array_foreach(json_object_get(res, "mismatched"), i, m)
                printf("  mismatch: index %lld (%s RIM): runtime %s\n",
                       (long long)json_integer_value(json_object_get(m, "index")),
                       json_string_value(json_object_get(m, "rim")),
                       json_is_string(json_object_get(m, "runtime")) ? json_string_value(json_object_get(m, "runtime")) : "absent");
        }
        if (rc != VT_OK) fprintf(stderr, "veritee rim match: %s: %s\n", e.check, e.msg);
    }
matched:
    json_decref(res);
    free(r);
    vt_buf_free(&raw);
done:
    json_decref(out);
    free(rims);
    vt_nvidia_rim_verifier_free(v);
    cli_nv_free(&nv);
    return ex;
}
