/* POST /api/v1/explore (docs/console.md): the request body checked member by member, the
 * collateral and trust files it carries written to private temporary directories that are
 * removed before the answer leaves, then the analysis. Nothing is kept. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/ui.h"
#include "ui_internal.h"

#define MAX_FILES 32

static bool file_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 128 || n[0] == '.') return false;
    for (size_t i = 0; i < l; i++)
        if (!(n[i] == '_' || n[i] == '-' || n[i] == '.' || (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
              (n[i] >= '0' && n[i] <= '9')))
            return false;
    return true;
}

static void rmdir_files(const char *dir)
{
    if (dir[0] == 0) return;
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* {"name": base64, ...} into a new private directory dir[64]. */
static vt_err write_files(const json_t *files, const char *what, char dir[64], vt_error *err)
{
    if (!json_is_object(files)) return vt_error_set(err, VT_E_INVALID, what, "%s must be an object {file name: base64}", what);
    if (json_object_size(files) > MAX_FILES) return vt_error_set(err, VT_E_INVALID, what, "%s: at most %d files", what, MAX_FILES);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, 64, "%.40s/vt-ui-XXXXXX", tmp && tmp[0] && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        dir[0] = 0;
        return vt_error_set(err, VT_E_IO, what, "cannot create a temporary directory");
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)files, k, v) {
        if (!file_name_ok(k)) return vt_error_set(err, VT_E_INVALID, what, "%s: bad file name (letters, digits, . _ -)", what);
        if (!json_is_string(v)) return vt_error_set(err, VT_E_INVALID, what, "%s.%s must be base64", what, k);
        vt_buf b = {0};
        char p[256];
        VT_GUARD(vt_b64_decode(json_string_value(v), json_string_length(v), &b, err));
        vt_err rc = vt_path_join(p, sizeof p, dir, k, err);
        if (rc == VT_OK) rc = vt_file_write(p, b.ptr, b.len, err);
        vt_buf_free(&b);
        if (rc != VT_OK) return rc;
    }
    return VT_OK;
}

static char *text_member(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (v == NULL || json_is_null(v)) return NULL;
    if (json_is_string(v)) return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT);
}

static vt_err explore(const vt_verify_sources *s, const json_t *req, vt_time now, json_t **out, char cdir[64],
                      char tdir[64], vt_error *err)
{
    static const char *const known[] = {"evidence", "tee", "at", "nonce", "policy", "reference_values", "collateral", "trust"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++) ok |= strcmp(k, known[i]) == 0;
        if (!ok) return vt_error_set(err, VT_E_INVALID, "explore", "unknown member '%.40s'", k);
    }
    const char *ev64;
    VT_GUARD(vt_json_str(req, "evidence", "explore.evidence", &ev64, err));
    vt_ui_explore_in in = {.at = now};
    in.tee = json_string_value(json_object_get(req, "tee"));
    if (in.tee && strcmp(in.tee, "tdx") && strcmp(in.tee, "sgx") && strcmp(in.tee, "snp") && strcmp(in.tee, "cca"))
        return vt_error_set(err, VT_E_INVALID, "explore.tee", "tee must be tdx, sgx, snp or cca");
    const char *at = json_string_value(json_object_get(req, "at"));
    if (at) VT_GUARD(vt_time_parse_rfc3339(at, &in.at, err));
    vt_buf ev = {0}, nonce = {0};
    vt_err rc = vt_b64_decode(ev64, strlen(ev64), &ev, err);
    if (rc == VT_OK && ev.len > VT_UI_EVIDENCE_MAX)
        rc = vt_error_set(err, VT_E_INVALID, "explore.evidence", "evidence larger than %u bytes", VT_UI_EVIDENCE_MAX);
    const char *n = json_string_value(json_object_get(req, "nonce"));
    if (rc == VT_OK && n) {
        rc = vt_hex_decode(n, strlen(n), &nonce, err);
        if (rc == VT_OK && (nonce.len == 0 || nonce.len > 64))
            rc = vt_error_set(err, VT_E_INVALID, "explore.nonce", "nonce must be 1..64 bytes of hex");
        in.nonce = nonce.ptr;
        in.nonce_len = nonce.len;
    }
    vt_verify_sources src = *s;
    if (rc == VT_OK && json_object_get(req, "collateral")) {
        rc = write_files(json_object_get(req, "collateral"), "explore.collateral", cdir, err);
        src.collateral_dir = cdir;
        src.certs_dir = cdir;
    }
    if (rc == VT_OK && json_object_get(req, "trust")) {
        rc = write_files(json_object_get(req, "trust"), "explore.trust", tdir, err);
        src.trust_dir = tdir;
    }
    char *pol = text_member(req, "policy"), *rv = text_member(req, "reference_values");
    in.policy_text = pol;
    in.refvals_text = rv;
    if (rc == VT_OK) rc = vt_ui_analyze(&src, &in, ev.ptr, ev.len, out, err);
    free(pol);
    free(rv);
    vt_buf_free(&ev);
    vt_buf_free(&nonce);
    return rc;
}

vt_err vt_ui_explore(const vt_verify_sources *s, const uint8_t *body, size_t len, vt_time now, int *status,
                     json_t **out, vt_error *err)
{
    *out = NULL;
    *status = 400;
    if (len > VT_UI_EXPLORE_MAX_BODY) {
        *status = 413;
        vt_error_set(err, VT_E_INVALID, "explore", "request larger than %u bytes", VT_UI_EXPLORE_MAX_BODY);
        *out = json_pack("{ss ss}", "type", "veritee:explore:too-large", "detail", err->msg);
        return err->code;
    }
    json_t *req = NULL;
    char cdir[64] = "", tdir[64] = "";
    vt_err rc = vt_json_parse((const char *)body, len, &req, err);
    if (rc == VT_OK && !json_is_object(req)) rc = vt_error_set(err, VT_E_INVALID, "explore", "body must be a JSON object");
    if (rc == VT_OK) rc = explore(s, req, now, out, cdir, tdir, err);
    rmdir_files(cdir);
    rmdir_files(tdir);
    json_decref(req);
    if (rc == VT_OK) {
        *status = 200;
        return VT_OK;
    }
    *out = json_pack("{ss ss ss}", "type", "veritee:explore:bad-request", "check", err->check, "detail", err->msg);
    return rc;
}
