/* Revocation of NVIDIA certificate chains (device identity and RIM signers): OCSP (RFC 6960)
 * responses given offline, issuer CRLs (RFC 5280), cached responses, and NVIDIA's responder
 * asked online (POST application/ocsp-request, one CertID per request, with a nonce), every
 * response verified in full before it counts. OpenSSL does the ASN.1 and the signatures;
 * which response may speak for which certificate, and when, is decided here. */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvidia_int.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/x509.h"

#define MAX_OFFLINE 32
#define OCSP_MAX_BYTES (64u * 1024u)
#define NONCE_LEN 32

typedef enum { ST_NONE = 0, ST_GOOD, ST_REVOKED, ST_UNKNOWN } cert_status;

static vt_err asn1_to_time(const ASN1_TIME *a, vt_time *out, vt_error *err)
{
    struct tm tm;
    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return vt_error_set(err, VT_E_INVALID, "ocsp", "malformed time in an OCSP response");
    int64_t days = vt_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
    *out = (vt_time)(days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    return VT_OK;
}

/* A DER OCSPResponse -> its basic response; anything else (trailing bytes, a non-successful
 * responseStatus, another response type) is rejected. *rstatus gets the responseStatus. */
static vt_err basic_parse(const uint8_t *p, size_t n, OCSP_BASICRESP **out, int *rstatus, vt_error *err)
{
    *out = NULL;
    *rstatus = -1;
    if (n == 0 || n > OCSP_MAX_BYTES)
        return vt_error_set(err, VT_E_INVALID, "ocsp", "OCSP response of %zu bytes (1..%u)", n, OCSP_MAX_BYTES);
    const unsigned char *q = p;
    OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &q, (long)n);
    vt_err rc = VT_OK;
    if (r == NULL || q != p + n) {
        rc = vt_error_set(err, VT_E_INVALID, "ocsp", "not a DER OCSP response (or trailing bytes)");
    } else if ((*rstatus = OCSP_response_status(r)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rc = vt_error_set(err, VT_E_MISSING, "ocsp", "the responder answered '%s'",
                          OCSP_response_status_str(*rstatus));
    } else if ((*out = OCSP_response_get1_basic(r)) == NULL) {
        rc = vt_error_set(err, VT_E_INVALID, "ocsp", "not a basic OCSP response");
    }
    OCSP_RESPONSE_free(r);
    ERR_clear_error();
    return rc;
}

/* The status `bs` gives for `id`, after checking who signed it and when it holds:
 * signed by the issuer or a delegated responder (OCSP_basic_verify: id-kp-OCSPSigning, issued
 * by the issuer, path to the trusted root at `at`), thisUpdate - skew <= at <= nextUpdate.
 * VT_OK with ST_NONE when bs does not cover id. */
static vt_err judge(OCSP_BASICRESP *bs, OCSP_CERTID *id, STACK_OF(X509) *path, X509_STORE *store, vt_time at,
                    long skew, const char *cn, cert_status *st, int *reason, vt_error *err)
{
    int status = -1;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    *st = ST_NONE;
    if (OCSP_resp_find_status(bs, id, &status, reason, &rev, &thisupd, &nextupd) != 1) return VT_OK;
    if (OCSP_basic_verify(bs, path, store, 0) != 1) {
        char why[160];
        vt_openssl_reason(why, sizeof why);
        ERR_clear_error();
        return vt_error_set(err, VT_E_VERIFY, "ocsp",
                            "the OCSP response for '%s' is not signed by its issuer or a responder the issuer "
                            "delegated, valid at the instant (%s)", cn, why);
    }
    vt_time tu, nu;
    VT_GUARD(asn1_to_time(thisupd, &tu, err));
    if (nextupd == NULL)
        return vt_error_set(err, VT_E_EXPIRED, "ocsp", "the OCSP response for '%s' has no nextUpdate", cn);
    VT_GUARD(asn1_to_time(nextupd, &nu, err));
    if (!vt_valid_at(at, tu > (vt_time)skew ? tu - (vt_time)skew : 0, nu)) {
        char a[21], b[21], c[21];
        vt_time_format(tu, a), vt_time_format(nu, b), vt_time_format(at, c);
        return vt_error_set(err, VT_E_EXPIRED, "ocsp",
                            "the OCSP response for '%s' holds %s..%s, not at %s", cn, a, b, c);
    }
    *st = status == V_OCSP_CERTSTATUS_GOOD ? ST_GOOD : status == V_OCSP_CERTSTATUS_REVOKED ? ST_REVOKED : ST_UNKNOWN;
    return VT_OK;
}

/* An offline response covering cert, whatever CertID hash it uses. */
static vt_err from_responses(OCSP_BASICRESP **bs, size_t nbs, X509 *cert, X509 *issuer, STACK_OF(X509) *path,
                             X509_STORE *store, vt_time at, long skew, const char *cn, cert_status *st, int *reason,
                             vt_error *err)
{
    const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
    *st = ST_NONE;
    for (size_t k = 0; k < nbs && *st == ST_NONE; k++)
        for (size_t i = 0; i < sizeof mds / sizeof mds[0] && *st == ST_NONE; i++) {
            OCSP_CERTID *id = OCSP_cert_to_id(mds[i], cert, issuer);
            if (id == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            vt_err rc = judge(bs[k], id, path, store, at, skew, cn, st, reason, err);
            OCSP_CERTID_free(id);
            VT_GUARD(rc);
        }
    return VT_OK;
}

/* A CRL of the issuer (its name, signed by its key) current at `at`. */
static vt_err from_crls(X509_CRL **crls, size_t n, X509 *cert, X509 *issuer, vt_time at, const char *cn,
                        cert_status *st, vt_error *err)
{
    *st = ST_NONE;
    for (size_t k = 0; k < n; k++) {
        X509_CRL *crl = crls[k];
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) continue;
        if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
            ERR_clear_error();
            return vt_error_set(err, VT_E_VERIFY, "crl", "the CRL naming the issuer of '%s' is not signed by it", cn);
        }
        VT_GUARD(vt_crl_check_time(crl, at, err));
        X509_REVOKED *r = NULL;
        *st = X509_CRL_get0_by_cert(crl, &r, cert) == 1 ? ST_REVOKED : ST_GOOD;
        return VT_OK;
    }
    return VT_OK;
}

static vt_err cache_path(const char *dir, OCSP_CERTID *id, char *out, size_t cap, vt_error *err)
{
    unsigned char *der = NULL;
    int n = i2d_OCSP_CERTID(id, &der);
    if (n <= 0) return vt_error_set(err, VT_E_INTERNAL, "ocsp", "cannot encode a CertID");
    uint8_t h[32];
    vt_err rc = vt_hash(VT_SHA256, der, (size_t)n, h, err);
    OPENSSL_free(der);
    VT_GUARD(rc);
    char hex[65], rel[128];
    vt_hex_encode(h, sizeof h, hex);
    snprintf(rel, sizeof rel, "nvidia/ocsp/%s.der", hex);
    return vt_path_join(out, cap, dir, rel, err);
}

/* A cached response still valid at `at` (verified again: the cache is not trusted). A stale,
 * unreadable or foreign file is ignored, and replaced by a fetch when online. */
static void from_cache(const vt_nvidia_revocation *rev, OCSP_CERTID *id, STACK_OF(X509) *path, X509_STORE *store,
                       vt_time at, const char *cn, cert_status *st, int *reason)
{
    char file[4096];
    vt_error e;
    vt_error_clear(&e);
    vt_buf b = {0};
    OCSP_BASICRESP *bs = NULL;
    int rs;
    *st = ST_NONE;
    if (cache_path(rev->cache_dir, id, file, sizeof file, &e) != VT_OK ||
        vt_file_read(file, OCSP_MAX_BYTES, &b, &e) != VT_OK || basic_parse(b.ptr, b.len, &bs, &rs, &e) != VT_OK ||
        judge(bs, id, path, store, at, rev->clock_skew_seconds, cn, st, reason, &e) != VT_OK)
        *st = ST_NONE;
    OCSP_BASICRESP_free(bs);
    vt_buf_free(&b);
}

/* Keep a verified response for its CertID. Best effort: a cache that cannot be written costs a
 * request next time, never a verdict. */
static void cache_store(const char *cache_dir, OCSP_CERTID *id, const uint8_t *der, size_t n)
{
    char file[4096], dir[4096];
    vt_error ce;
    vt_error_clear(&ce);
    if (vt_path_join(dir, sizeof dir, cache_dir, "nvidia/ocsp", &ce) != VT_OK || vt_mkdirs(dir, 0755, &ce) != VT_OK ||
        cache_path(cache_dir, id, file, sizeof file, &ce) != VT_OK)
        return;
    if (vt_file_write_atomic(file, der, n, 0644, &ce) != VT_OK) {
        /* best effort: the verdict stands; the next verification asks again */
    }
}

/* Ask the responder about one CertID; verify the answer (nonce included) and cache it. */
static vt_err fetch(const vt_nvidia_revocation *rev, OCSP_CERTID *id, STACK_OF(X509) *path, X509_STORE *store,
                    vt_time at, const char *cn, cert_status *st, int *reason, vt_error *err)
{
    const char *url = rev->ocsp_url != NULL ? rev->ocsp_url : VT_NVIDIA_OCSP_URL;
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *dup = OCSP_CERTID_dup(id);
    OCSP_BASICRESP *bs = NULL;
    unsigned char *der = NULL;
    uint8_t nonce[NONCE_LEN];
    vt_http_reply reply;
    memset(&reply, 0, sizeof reply);
    vt_err rc = VT_OK;
    *st = ST_NONE;
    if (req == NULL || dup == NULL || OCSP_request_add0_id(req, dup) == NULL) {
        OCSP_CERTID_free(dup);
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    if (rev->random != NULL) {
        VT_GUARD_GOTO(rev->random(rev->random_ctx, nonce, sizeof nonce, err));
        if (OCSP_request_add1_nonce(req, nonce, sizeof nonce) != 1) {
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
    }
    int n = i2d_OCSP_REQUEST(req, &der);
    if (n <= 0) {
        rc = vt_error_set(err, VT_E_INTERNAL, "ocsp", "cannot encode the OCSP request");
        goto out;
    }
    vt_http_client_req hr = {.method = "POST", .content_type = "application/ocsp-request", .body = der,
                             .body_len = (size_t)n};
    vt_http_get_opts ho = {.check = "ocsp", .timeout_seconds = rev->timeout_seconds, .max_body = OCSP_MAX_BYTES,
                           .ca_file = rev->ca_file, .fail_code = VT_E_MISSING};
    if (rev->stats != NULL) rev->stats->ocsp_fetched++;
    rc = vt_http_do(url, &hr, &ho, &reply, err);
    if (rc != VT_OK) {
        vt_error_wrap(err, "OCSP responder %s unreachable", url);
        err->code = rc = VT_E_MISSING;
        goto out;
    }
    if (reply.status != 200) {
        rc = vt_error_set(err, VT_E_MISSING, "ocsp", "OCSP responder %s answered HTTP %ld", url, reply.status);
        goto out;
    }
    int rs;
    VT_GUARD_GOTO(basic_parse(reply.body.ptr, reply.body.len, &bs, &rs, err));
    if (rev->random != NULL && OCSP_check_nonce(req, bs) != 1) {
        rc = vt_error_set(err, VT_E_VERIFY, "ocsp", "the OCSP response for '%s' does not echo the request's nonce", cn);
        goto out;
    }
    VT_GUARD_GOTO(judge(bs, id, path, store, at, rev->clock_skew_seconds, cn, st, reason, err));
    if (*st == ST_NONE) {
        rc = vt_error_set(err, VT_E_VERIFY, "ocsp", "the OCSP response does not answer for '%s' (CertID mismatch)", cn);
        goto out;
    }
    if (rev->cache_dir != NULL) cache_store(rev->cache_dir, id, reply.body.ptr, reply.body.len);
out:
    OPENSSL_cleanse(nonce, sizeof nonce);
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
    OCSP_BASICRESP_free(bs);
    vt_http_reply_free(&reply);
    ERR_clear_error();
    return rc;
}

static bool any_source(const vt_nvidia_revocation *rev)
{
    return rev->n_responses > 0 || rev->n_crls > 0 || rev->online; /* the cache serves the online source */
}

vt_err nv_revocation(const vt_nvidia_revocation *rev, STACK_OF(X509) *path, vt_time at, const char *check,
                     const char *dev, vt_checks *checks, vt_error *err)
{
    if (rev == NULL || !any_source(rev)) {
        if (rev != NULL && rev->require) {
            return vt_check_step_of(checks, err, dev, check,
                                    vt_error_set(err, VT_E_MISSING, check,
                                                 "no OCSP responses, CRLs or responder given for the chain"),
                                    "%s", "");
        }
        vt_check_skip(checks, check, "%snot checked: no OCSP responses, CRLs or responder given", dev);
        return VT_OK;
    }
    if ((rev->n_responses > 0 && rev->responses == NULL) || (rev->n_crls > 0 && rev->crls == NULL) ||
        rev->n_responses > MAX_OFFLINE || rev->n_crls > MAX_OFFLINE)
        return vt_error_set(err, VT_E_ARG, check, "0..%d OCSP responses and CRLs expected", MAX_OFFLINE);
    if (rev->clock_skew_seconds < 0 || rev->clock_skew_seconds > 3600)
        return vt_error_set(err, VT_E_ARG, check, "OCSP clock skew of %ld s (0..3600)", rev->clock_skew_seconds);
    int n = sk_X509_num(path);
    OCSP_BASICRESP *bs[MAX_OFFLINE] = {0};
    X509_CRL *crls[MAX_OFFLINE] = {0};
    X509_STORE *store = X509_STORE_new();
    vt_err rc = VT_OK;
    char cn[128] = "", unknown[256] = "";
    unsigned good = 0, offline = 0, cached = 0, online = 0;
    if (n < 2 || store == NULL || X509_STORE_add_cert(store, sk_X509_value(path, n - 1)) != 1) {
        rc = vt_error_set(err, n < 2 ? VT_E_ARG : VT_E_NOMEM, check, "a chain of at least 2 certificates is needed");
        goto out;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)at);
    for (size_t i = 0; i < rev->n_responses; i++) {
        int rs;
        rc = basic_parse(rev->responses[i].ptr, rev->responses[i].len, &bs[i], &rs, err);
        if (rc != VT_OK) {
            vt_error_wrap(err, "OCSP response %zu", i);
            err->code = rc = VT_E_INVALID; /* a given file that is not a usable answer */
            goto out;
        }
    }
    for (size_t i = 0; i < rev->n_crls; i++) {
        rc = vt_crl_parse(rev->crls[i].ptr, rev->crls[i].len, &crls[i], err);
        if (rc != VT_OK) {
            vt_error_wrap(err, "CRL %zu", i);
            goto out;
        }
    }
    for (int c = 0; c < n - 1; c++) {
        X509 *cert = sk_X509_value(path, c), *issuer = sk_X509_value(path, c + 1);
        vt_x509_subject_cn(cert, cn, sizeof cn);
        cert_status st = ST_NONE;
        int reason = -1;
        VT_GUARD_GOTO(from_responses(bs, rev->n_responses, cert, issuer, path, store, at, rev->clock_skew_seconds, cn,
                                     &st, &reason, err));
        if (st == ST_NONE) VT_GUARD_GOTO(from_crls(crls, rev->n_crls, cert, issuer, at, cn, &st, err));
        if (st != ST_NONE) offline++;
        OCSP_CERTID *id = NULL;
        if (st == ST_NONE && rev->online) {
            id = OCSP_cert_to_id(EVP_sha1(), cert, issuer); /* SHA-1 CertID: what responders index */
            if (id == NULL) {
                rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
                goto out;
            }
        }
        if (st == ST_NONE && rev->online && rev->cache_dir != NULL) {
            from_cache(rev, id, path, store, at, cn, &st, &reason);
            if (st != ST_NONE) cached++;
        }
        vt_err fr = VT_OK;
        vt_error fe;
        vt_error_clear(&fe);
        if (st == ST_NONE && rev->online) {
            fr = fetch(rev, id, path, store, at, cn, &st, &reason, &fe);
            if (fr == VT_OK) online++;
        }
        OCSP_CERTID_free(id);
        if (fr != VT_OK && (fr != VT_E_MISSING || !rev->allow_unknown)) {
            *err = fe;
            rc = fr;
            goto out;
        }
        if (st == ST_REVOKED) {
            rc = vt_error_set(err, VT_E_REVOKED, check, "'%s' is revoked (reason %d)", cn, reason);
            goto out;
        }
        if (st == ST_GOOD) {
            good++;
            continue;
        }
        /* no status: unknown */
        const char *why = fr != VT_OK ? fe.msg : st == ST_UNKNOWN ? "the responder answered 'unknown'"
                                                                 : "no OCSP response or CRL covers it";
        if (!rev->allow_unknown) {
            rc = vt_error_set(err, st == ST_UNKNOWN ? VT_E_VERIFY : VT_E_MISSING, check,
                              "revocation status of '%s' unknown: %s", cn, why);
            goto out;
        }
        if (unknown[0] == 0) snprintf(unknown, sizeof unknown, "'%.60s': %.150s", cn, why);
    }
    if (rev->stats != NULL) {
        rev->stats->ocsp_offline += offline;
        rev->stats->ocsp_cache_hits += cached;
    }
    if (unknown[0] != 0)
        vt_check_skip(checks, check, "%srevocation unknown (allowed): %s; %u of %d good", dev, unknown,
                      good, n - 1);
    else
        vt_check_pass(checks, check,
                      "%s%u certificate(s) not revoked at the instant (%u offline, %u cached, %u fetched)", dev,
                      good, offline, cached, online);
out:
    if (rc != VT_OK) {
        (void)vt_check_step_of(checks, err, dev, check, rc, "%s", ""); /* renames err to this check */
    }
    for (size_t i = 0; i < MAX_OFFLINE; i++) {
        OCSP_BASICRESP_free(bs[i]);
        X509_CRL_free(crls[i]);
    }
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

vt_err vt_nvidia_revocation_check(const vt_nvidia_revocation *rev, const void *chain_pem, size_t chain_len,
                                  vt_time at, const char *check, vt_checks *checks, vt_error *err)
{
    if (rev == NULL || chain_pem == NULL || check == NULL)
        return vt_error_set(err, VT_E_ARG, "args", "revocation settings, chain and check name are required");
    STACK_OF(X509) *path = NULL;
    VT_GUARD(vt_pem_certs(chain_pem, chain_len, &path, err));
    vt_err rc = nv_revocation(rev, path, at, check, "", checks, err);
    sk_X509_pop_free(path, X509_free);
    return rc;
}
