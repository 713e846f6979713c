/* RIMs from NVIDIA's RIM service (GET <base>/<id>, JSON carrying the base64 SWID XML), kept
 * in a cache directory: a RIM is verified before it is cached and again whenever it is read
 * back, so the cache is a convenience, never a trust anchor (docs/nvidia.md, "RIM service"). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"

#define RIM_SERVICE_MAX (4u << 20) /* JSON answer; the XML inside is at most 3 MiB */
#define RIM_ID_MAX 128

vt_err vt_nvidia_rim_service_parse(const uint8_t *body, size_t len, const char *want_id, vt_buf *xml,
                                   vt_error *err)
{
    memset(xml, 0, sizeof *xml);
    if (body == NULL || len == 0 || len > RIM_SERVICE_MAX)
        return vt_error_set(err, VT_E_INVALID, "rim_fetch", "RIM service answer of %zu bytes (1..%u)", len,
                            RIM_SERVICE_MAX);
    json_t *doc = NULL;
    vt_err rc = vt_json_parse((const char *)body, len, &doc, err);
    if (rc != VT_OK) {
        err->code = VT_E_INVALID;
        vt_error_name(err, "rim_fetch");
        return VT_E_INVALID;
    }
    const char *rim = NULL;
    json_t *id = json_object_get(doc, "id"), *sha = json_object_get(doc, "sha256");
    if (!json_is_object(doc)) {
        rc = vt_error_set(err, VT_E_INVALID, "rim_fetch", "the RIM service answer is not a JSON object");
        goto out;
    }
    rc = vt_json_str(doc, "rim", "RIM service answer", &rim, err);
    if (rc != VT_OK) {
        err->code = rc = VT_E_INVALID;
        vt_error_name(err, "rim_fetch");
        goto out;
    }
    if (id != NULL && (!json_is_string(id) || (want_id != NULL && strcmp(json_string_value(id), want_id) != 0))) {
        rc = vt_error_set(err, VT_E_INVALID, "rim_fetch", "the RIM service answered for id '%.128s', not '%.128s'",
                          json_is_string(id) ? json_string_value(id) : "(not a string)", want_id ? want_id : "");
        goto out;
    }
    if (sha != NULL && !json_is_string(sha) && !json_is_null(sha)) {
        rc = vt_error_set(err, VT_E_INVALID, "rim_fetch", "RIM service answer: sha256 is not a string");
        goto out;
    }
    rc = vt_b64_decode(rim, strlen(rim), xml, err);
    if (rc != VT_OK) {
        vt_error_wrap(err, "RIM service answer: rim");
        err->code = rc = VT_E_INVALID;
        vt_error_name(err, "rim_fetch");
        goto out;
    }
    if (json_is_string(sha)) {
        uint8_t h[32];
        char hex[65];
        VT_GUARD_GOTO(vt_hash(VT_SHA256, xml->ptr, xml->len, h, err));
        vt_hex_encode(h, sizeof h, hex);
        if (strlen(json_string_value(sha)) != 64 || strncasecmp(hex, json_string_value(sha), 64) != 0) {
            rc = vt_error_set(err, VT_E_INVALID, "rim_fetch", "the RIM's SHA-256 is not the answer's sha256");
            goto out;
        }
    }
out:
    if (rc != VT_OK) vt_buf_free(xml);
    json_decref(doc);
    return rc;
}

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > RIM_ID_MAX || id[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* The verified RIM from the cache, or VT_E_MISSING when there is none usable. */
static vt_err from_cache(vt_nvidia_rim_verifier *v, const vt_nvidia_rim_source *src, const char *file,
                         vt_time at, vt_nvidia_rim *out, vt_buf *xml, vt_checks *checks)
{
    vt_error e;
    vt_error_clear(&e);
    if (vt_file_read(file, RIM_SERVICE_MAX, xml, &e) != VT_OK) return VT_E_MISSING;
    vt_checks *scratch = calloc(1, sizeof *scratch); /* a stale cached copy is not a failure */
    vt_err rc = scratch == NULL ? VT_E_NOMEM : vt_nvidia_rim_verify(v, xml->ptr, xml->len, at, out, scratch, &e);
    if (rc == VT_OK) {
        for (size_t i = 0; checks != NULL && i < scratch->n; i++)
            vt_checks_add(checks, scratch->items[i].name, scratch->items[i].status, "%s", scratch->items[i].detail);
        if (src->stats != NULL) src->stats->rim_cache_hits++;
    } else {
        vt_buf_free(xml);
        rc = VT_E_MISSING;
    }
    free(scratch);
    return rc;
}

vt_err vt_nvidia_rim_get(vt_nvidia_rim_verifier *v, const vt_nvidia_rim_source *src, const char *id, vt_time at,
                         vt_nvidia_rim *out, vt_buf *xml_out, vt_checks *checks, vt_error *err)
{
    if (xml_out != NULL) memset(xml_out, 0, sizeof *xml_out);
    if (v == NULL || src == NULL || id == NULL || out == NULL)
        return vt_error_set(err, VT_E_ARG, "args", "verifier, source, id and output are required");
    if (!id_ok(id))
        return vt_error_set(err, VT_E_ARG, "rim_fetch", "RIM id '%.40s' is not 1..%d of [A-Za-z0-9._-]", id, RIM_ID_MAX);
    char file[4096] = "", rel[RIM_ID_MAX + 32];
    snprintf(rel, sizeof rel, "nvidia/rim/%s.swidtag", id);
    if (src->cache_dir != NULL) VT_GUARD(vt_path_join(file, sizeof file, src->cache_dir, rel, err));
    vt_buf xml = {0};
    vt_err rc;
    if (file[0] != 0 && from_cache(v, src, file, at, out, &xml, checks) == VT_OK) {
        vt_check_pass(checks, "rim_fetch", "%s from the cache", id);
        goto done;
    }
    if (!src->online) {
        return vt_check_fail(checks, err, "rim_fetch", VT_E_MISSING, "RIM %s is not in the cache%s", id,
                             src->cache_dir == NULL ? " (no cache given)" : "");
    }
    const char *base = src->service_url != NULL ? src->service_url : VT_NVIDIA_RIM_SERVICE_URL;
    char url[2048];
    size_t bl = strlen(base);
    if ((size_t)snprintf(url, sizeof url, "%s%s%s", base, bl > 0 && base[bl - 1] == '/' ? "" : "/", id) >= sizeof url)
        return vt_error_set(err, VT_E_ARG, "rim_fetch", "RIM service URL too long");
    vt_http_reply reply;
    vt_http_get_opts ho = {.check = "rim_fetch", .timeout_seconds = src->timeout_seconds, .max_body = RIM_SERVICE_MAX,
                           .ca_file = src->ca_file, .fail_code = VT_E_MISSING};
    if (src->stats != NULL) src->stats->rim_fetched++;
    rc = vt_http_get(url, &ho, &reply, err);
    if (rc == VT_OK && reply.status != 200)
        rc = vt_error_set(err, VT_E_MISSING, "rim_fetch", "RIM service answered HTTP %ld for %s", reply.status, id);
    if (rc == VT_OK) rc = vt_nvidia_rim_service_parse(reply.body.ptr, reply.body.len, id, &xml, err);
    vt_http_reply_free(&reply);
    if (rc != VT_OK) {
        if (rc != VT_E_MISSING && rc != VT_E_INVALID) err->code = rc = VT_E_MISSING; /* unreachable: exit 3 */
        return vt_check_step(checks, err, "rim_fetch", rc, "%s", "");
    }
    rc = vt_nvidia_rim_verify(v, xml.ptr, xml.len, at, out, checks, err);
    if (rc != VT_OK) {
        vt_error_wrap(err, "RIM %s from the RIM service", id);
        vt_buf_free(&xml);
        return rc;
    }
    vt_check_pass(checks, "rim_fetch", "%s from %s", id, base);
    if (file[0] != 0) { /* best effort: a cache that cannot be written costs a fetch next time */
        char dir[4096];
        vt_error ce;
        vt_error_clear(&ce);
        if (vt_path_join(dir, sizeof dir, src->cache_dir, "nvidia/rim", &ce) == VT_OK && vt_mkdirs(dir, 0755, &ce) == VT_OK &&
            vt_file_write_atomic(file, xml.ptr, xml.len, 0644, &ce) != VT_OK) {
            /* the RIM is verified and returned all the same */
        }
    }
done:
    if (xml_out != NULL) *xml_out = xml;
    else vt_buf_free(&xml);
    return VT_OK;
}
