/* Intel PCS v4 / PCCS client for the collateral cache (include/veritee/collateral.h): fetch,
 * check each answer against the Intel root, install atomically. API: Intel "Provisioning
 * Certification Service for ECDSA Attestation" v4 (/{sgx,tdx}/certification/v4/tcb,
 * /qe/identity, /sgx/certification/v4/pckcrl, PCCS /rootcacrl); issuer chains arrive
 * percent-encoded in response headers. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "collateral_internal.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

#define CHECK "collateral_fetch"
#define INTEL_ROOT_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

static void coll_sleep_real(void *ctx, long ms)
{
    (void)ctx;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One GET with the PCS options; 429/503 waited out (Retry-After, else doubling back-off) within
 * the bounds. VT_OK only for 200. */
vt_err coll_get(const vt_coll_pcs *o, const char *url, const char *hdr, const char *hdr_alt, vt_http_reply *r,
                  vt_coll_report *rep, vt_error *err)
{
    char key[256];
    const char *headers[2] = {NULL, NULL};
    if (o->api_key != NULL) {
        if ((size_t)snprintf(key, sizeof key, "Ocp-Apim-Subscription-Key: %s", o->api_key) >= sizeof key ||
            strpbrk(o->api_key, "\r\n") != NULL)
            return vt_error_set(err, VT_E_ARG, CHECK, "the PCS API key is malformed");
        headers[0] = key;
    }
    vt_http_client_req req = {.headers = headers};
    vt_http_get_opts h = {.check = CHECK, .timeout_seconds = o->timeout_seconds, .want_header = hdr,
                          .want_header_alt = hdr_alt, .ca_file = o->ca_file, .insecure = o->insecure};
    unsigned attempts = o->max_attempts ? o->max_attempts : 4;
    long backoff = o->backoff_ms > 0 ? o->backoff_ms : 1000, bound = o->max_wait_ms > 0 ? o->max_wait_ms : 30000;
    void (*sleeper)(void *, long) = o->sleep_ms ? o->sleep_ms : coll_sleep_real;
    long waited = 0;
    for (unsigned a = 1;; a++) {
        rep->requests++;
        VT_GUARD(vt_http_do(url, &req, &h, r, err));
        if (r->status == 200) return VT_OK;
        bool busy = r->status == 429 || r->status == 503;
        long wait = r->retry_after >= 0 ? r->retry_after * 1000 : backoff;
        long status = r->status;
        vt_http_reply_free(r);
        if (!busy) return vt_error_set(err, VT_E_MISSING, CHECK, "fetching %s: HTTP status %ld", url, status);
        rep->rate_limited++;
        if (a >= attempts || waited + wait > bound)
            return vt_error_set(err, VT_E_MISSING, CHECK, "fetching %s: still HTTP %ld after %u attempts and %ld ms of waiting",
                                url, status, a, waited);
        sleeper(o->sleep_ctx, wait);
        waited += wait;
        rep->waited_ms += wait;
        backoff *= 2;
    }
}

/* The issuer chain of an answer: percent-decoded PEM, exactly [issuer, root]; the root must be
 * a trusted one (given roots, byte for byte, or the pinned Intel root) and the chain must verify
 * at now. *root_out receives the trusted root used (owned). */
static vt_err issuer_chain(const vt_coll_pcs *o, const char *url, const vt_http_reply *r, const char *hdr, vt_time now,
                           STACK_OF(X509) **out, vt_error *err)
{
    *out = NULL;
    if (r->header_value == NULL)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the answer has no %s header", url, hdr);
    char *pem = NULL;
    VT_GUARD(vt_percent_decode(r->header_value, strlen(r->header_value), &pem, err));
    STACK_OF(X509) *chain = NULL;
    vt_err rc = vt_pem_certs(pem, strlen(pem), &chain, err);
    free(pem);
    VT_GUARD(rc);
    STACK_OF(X509) *roots = sk_X509_new_null();
    if (roots == NULL) rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    else if (sk_X509_num(chain) != 2)
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the %s has %d certificates, not [issuer, root]", url, hdr,
                          sk_X509_num(chain));
    if (rc == VT_OK) {
        X509 *root = sk_X509_value(chain, 1);
        bool trusted = false;
        if (o->roots != NULL && sk_X509_num(o->roots) > 0) {
            for (int i = 0; i < sk_X509_num(o->roots) && !trusted; i++)
                trusted = X509_cmp(root, sk_X509_value(o->roots, i)) == 0;
        } else {
            uint8_t fp[32];
            trusted = vt_x509_sha256(root, fp, NULL) == VT_OK && vt_ct_eq(fp, VT_TDX_INTEL_ROOT_SHA256, 32);
        }
        if (!trusted)
            rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the %s does not end in the trusted Intel SGX Root CA", url, hdr);
        else if (X509_up_ref(root) != 1 || sk_X509_push(roots, root) <= 0)
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    if (rc == VT_OK) {
        vt_chain_opts co = {.at = now};
        rc = vt_chain_verify(sk_X509_value(chain, 0), NULL, roots, &co, hdr, err);
        if (rc != VT_OK) vt_error_name(err, CHECK);
    }
    sk_X509_pop_free(roots, X509_free);
    if (rc != VT_OK) {
        sk_X509_pop_free(chain, X509_free);
        return rc;
    }
    *out = chain;
    return VT_OK;
}

static vt_err signer_is_tcb_signing(X509 *leaf, const char *url, vt_error *err)
{
    char cn[96];
    vt_x509_subject_cn(leaf, cn, sizeof cn);
    if (strcmp(cn, "Intel SGX TCB Signing") != 0)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: signed by \"%s\", not by the Intel SGX TCB Signing certificate",
                            url, cn);
    return VT_OK;
}

/* A TCB Info or QE Identity answer: parsed, of the kind and FMSPC asked for, signed by the TCB
 * Signing certificate of a verified [TCB Signing, Root] chain, current at now. */
static vt_err check_signed_json(const vt_coll_pcs *o, const vt_coll_tdx_want *w, const char *url, bool tcb,
                                const vt_http_reply *r, vt_time now, STACK_OF(X509) **chain_out, vt_error *err)
{
    vt_tcb_info t;
    vt_qe_identity q;
    const char *text = (const char *)r->body.ptr;
    const uint8_t *sig;
    vt_bytes body;
    vt_time next;
    if (tcb) {
        VT_GUARD(vt_tcb_info_parse(text, r->body.len, &t, err));
        const char *want = strcmp(w->tee, "tdx") == 0 ? "TDX" : "SGX";
        vt_err rc = VT_OK;
        if (strcmp(t.id, want) != 0)
            rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: TCB Info id is %s, %s was asked for", url, t.id, want);
        else if (memcmp(t.fmspc, w->fmspc, 6) != 0) {
            char a[13], b[13];
            coll_fmspc_hex(t.fmspc, a);
            coll_fmspc_hex(w->fmspc, b);
            rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: TCB Info is for FMSPC %s, %s was asked for", url, a, b);
        }
        if (rc != VT_OK) {
            vt_tcb_info_clear(&t);
            return rc;
        }
        sig = t.signature, body = t.signed_body, next = t.next_update;
    } else {
        VT_GUARD(vt_qe_identity_parse(text, r->body.len, &q, err));
        const char *want = strcmp(w->tee, "tdx") == 0 ? "TD_QE" : "QE";
        if (strcmp(q.id, want) != 0) {
            vt_qe_identity_clear(&q);
            return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: QE Identity id is %s, %s was asked for", url, q.id, want);
        }
        sig = q.signature, body = q.signed_body, next = q.next_update;
    }
    STACK_OF(X509) *chain = NULL;
    vt_err rc = issuer_chain(o, url, r, tcb ? "TCB-Info-Issuer-Chain" : "SGX-Enclave-Identity-Issuer-Chain", now, &chain, err);
    if (rc == VT_OK) rc = signer_is_tcb_signing(sk_X509_value(chain, 0), url, err);
    if (rc == VT_OK) {
        rc = vt_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(chain, 0)), VT_SHA256, body.ptr, body.len, sig, 64,
                                 tcb ? "TCB Info signature" : "QE Identity signature", err);
        if (rc != VT_OK) vt_error_name(err, CHECK);
    }
    if (rc == VT_OK && now > next) {
        char nu[21];
        vt_time_format(next, nu);
        rc = vt_error_set(err, VT_E_EXPIRED, CHECK, "%s: the answer expired at %s (nextUpdate)", url, nu);
    }
    if (tcb) vt_tcb_info_clear(&t);
    else vt_qe_identity_clear(&q);
    if (rc != VT_OK) sk_X509_pop_free(chain, X509_free);
    else *chain_out = chain;
    return rc;
}

/* PCCS answers the root CA CRL as hex text; Intel serves DER; accept PEM too. */
static vt_err crl_from_body(const vt_buf *b, X509_CRL **out, vt_buf *der, vt_error *err)
{
    size_t n = b->len;
    while (n > 0 && (b->ptr[n - 1] == '\n' || b->ptr[n - 1] == '\r' || b->ptr[n - 1] == ' ')) n--;
    bool hex = n > 0 && n % 2 == 0;
    for (size_t i = 0; hex && i < n; i++) hex = strchr("0123456789abcdefABCDEF", b->ptr[i]) != NULL && b->ptr[i];
    if (hex) VT_GUARD(vt_hex_decode((const char *)b->ptr, n, der, err));
    else VT_GUARD(vt_buf_set(der, b->ptr, b->len, err));
    vt_err rc = vt_crl_parse(der->ptr, der->len, out, err);
    if (rc != VT_OK) vt_buf_free(der);
    return rc;
}

/* A CRL answer: signed by issuer (whose chain was verified), issued by it, current at now. */
static vt_err check_crl(X509_CRL *crl, X509 *issuer, const char *url, vt_time now, vt_error *err)
{
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the CRL is not issued by its issuer chain's certificate", url);
    if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the CRL signature does not verify", url);
    vt_time tu, nu;
    VT_GUARD(vt_crl_times(crl, &tu, &nu, err));
    if (now < tu || now > nu) {
        char a[21], b[21];
        vt_time_format(tu, a);
        vt_time_format(nu, b);
        return vt_error_set(err, VT_E_EXPIRED, CHECK, "%s: the CRL is valid from %s to %s only", url, a, b);
    }
    return VT_OK;
}

vt_err coll_install(const char *dir, const char *name, const void *p, size_t n, vt_time now, vt_coll_report *rep,
                      vt_error *err)
{
    char path[4096];
    VT_GUARD(vt_path_join(path, sizeof path, dir, name, err));
    VT_GUARD(vt_file_write_atomic(path, p, n, 0644, err));
    /* the item's fetch time is the caller's instant (time is a parameter), not the file system's */
    struct timespec ts[2] = {{.tv_sec = (time_t)now}, {.tv_sec = (time_t)now}};
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
        return vt_error_set(err, VT_E_IO, CHECK, "%s: cannot set its time: %s", path, strerror(errno));
    rep->installed++;
    return VT_OK;
}

static vt_err install_chain(const char *dir, STACK_OF(X509) *chain, vt_time now, vt_coll_report *rep, vt_error *err)
{
    BIO *m = BIO_new(BIO_s_mem());
    bool ok = m != NULL;
    for (int i = 0; ok && i < sk_X509_num(chain); i++) ok = PEM_write_bio_X509(m, sk_X509_value(chain, i)) == 1;
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(m, &p) : 0;
    vt_err rc = ok && n > 0 ? coll_install(dir, "tcb_signing_chain.pem", p, (size_t)n, now, rep, err)
                            : vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    BIO_free(m);
    return rc;
}

/* Whether the cached file is fresh enough to keep. */
static bool fresh(const char *dir, const char *name, vt_time now, int64_t margin, int64_t interval)
{
    vt_coll_item it;
    if (coll_item_read(dir, name, &it) != VT_OK) return false;
    return strcmp(vt_coll_item_state(&it, now, margin, interval), "valid") == 0;
}

vt_err vt_coll_tdx_fetch(const vt_coll_pcs *o, const char *cache_dir, const vt_coll_tdx_want *w, vt_time now,
                         int64_t margin, int64_t interval, bool force, vt_coll_report *rep, vt_error *err)
{
    vt_coll_report local;
    if (rep == NULL) rep = &local;
    memset(rep, 0, sizeof *rep);
    if (o == NULL || o->base_url == NULL || cache_dir == NULL)
        return vt_error_set(err, VT_E_ARG, CHECK, "fetching collateral needs an upstream URL and a cache directory");
    if (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0)
        return vt_error_set(err, VT_E_ARG, CHECK, "the collateral service URL must be http:// or https://");
    if (strcmp(w->tee, "tdx") != 0 && strcmp(w->tee, "sgx") != 0)
        return vt_error_set(err, VT_E_ARG, CHECK, "TEE must be tdx or sgx");
    if (strcmp(w->ca, "platform") != 0 && strcmp(w->ca, "processor") != 0)
        return vt_error_set(err, VT_E_ARG, CHECK, "PCK CA must be platform or processor");
    char dir[4096], base[1024], url[1400], fm[13], name[64];
    VT_GUARD(vt_path_join(dir, sizeof dir, cache_dir, VT_COLL_TDX_DIR, err));
    VT_GUARD(vt_mkdirs(dir, 0755, err));
    snprintf(base, sizeof base, "%s", o->base_url);
    for (size_t l = strlen(base); l > 0 && base[l - 1] == '/'; l--) base[l - 1] = 0;
    coll_fmspc_hex(w->fmspc, fm);
    char names[COLL_ITEMS][64];
    coll_item_names(w, names);
    vt_http_reply r;
    STACK_OF(X509) *chain = NULL;
    vt_err rc = VT_OK;

    /* TCB Info of the FMSPC, and the TCB signing chain that signs it */
    snprintf(name, sizeof name, "%s", names[COLL_TCB_INFO]);
    if (!force && fresh(dir, name, now, margin, interval)) {
        rep->fresh++;
    } else {
        snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", base, w->tee, fm);
        VT_GUARD(coll_get(o, url, "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", &r, rep, err));
        rc = check_signed_json(o, w, url, true, &r, now, &chain, err);
        if (rc == VT_OK) rc = coll_install(dir, name, r.body.ptr, r.body.len, now, rep, err);
        if (rc == VT_OK) rc = install_chain(dir, chain, now, rep, err);
        sk_X509_pop_free(chain, X509_free);
        chain = NULL;
        vt_http_reply_free(&r);
        VT_GUARD(rc);
    }

    /* QE Identity of the TEE's quoting enclave */
    snprintf(name, sizeof name, "%s", names[COLL_QE_IDENTITY]);
    if (!force && fresh(dir, name, now, margin, interval)) {
        rep->fresh++;
    } else {
        snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", base, w->tee);
        VT_GUARD(coll_get(o, url, "SGX-Enclave-Identity-Issuer-Chain", "Enclave-Identity-Issuer-Chain", &r, rep, err));
        rc = check_signed_json(o, w, url, false, &r, now, &chain, err);
        if (rc == VT_OK) rc = coll_install(dir, name, r.body.ptr, r.body.len, now, rep, err);
        sk_X509_pop_free(chain, X509_free);
        chain = NULL;
        vt_http_reply_free(&r);
        VT_GUARD(rc);
    }

    /* PCK CRL of the PCK's issuing CA */
    snprintf(name, sizeof name, "%s", names[COLL_PCK_CRL]);
    if (!force && fresh(dir, name, now, margin, interval)) {
        rep->fresh++;
    } else {
        snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, w->ca);
        VT_GUARD(coll_get(o, url, "SGX-PCK-CRL-Issuer-Chain", NULL, &r, rep, err));
        X509_CRL *crl = NULL;
        vt_buf der = {0};
        rc = crl_from_body(&r.body, &crl, &der, err);
        if (rc == VT_OK) rc = issuer_chain(o, url, &r, "SGX-PCK-CRL-Issuer-Chain", now, &chain, err);
        if (rc == VT_OK) {
            char cn[96];
            vt_x509_subject_cn(sk_X509_value(chain, 0), cn, sizeof cn);
            bool platform = strstr(cn, "Platform") != NULL, processor = strstr(cn, "Processor") != NULL;
            if (strcmp(w->ca, "platform") == 0 ? !platform : !processor)
                rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the CRL issuer is \"%s\", not the %s CA", url, cn, w->ca);
        }
        if (rc == VT_OK) rc = check_crl(crl, sk_X509_value(chain, 0), url, now, err);
        if (rc == VT_OK) rc = coll_install(dir, name, der.ptr, der.len, now, rep, err);
        X509_CRL_free(crl);
        vt_buf_free(&der);
        sk_X509_pop_free(chain, X509_free);
        chain = NULL;
        vt_http_reply_free(&r);
        VT_GUARD(rc);
    }

    /* Root CA CRL, signed by the root the TCB signing chain ends in */
    snprintf(name, sizeof name, "%s", names[COLL_ROOT_CRL]);
    if (!force && fresh(dir, name, now, margin, interval)) {
        rep->fresh++;
        return VT_OK;
    }
    if (o->pccs) snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", base);
    else snprintf(url, sizeof url, "%s", INTEL_ROOT_CRL_URL);
    STACK_OF(X509) *signing = NULL;
    char chain_path[4096];
    VT_GUARD(vt_path_join(chain_path, sizeof chain_path, dir, "tcb_signing_chain.pem", err));
    vt_buf cb = {0};
    rc = vt_file_read(chain_path, 1u << 20, &cb, err);
    if (rc == VT_OK) rc = vt_pem_certs(cb.ptr, cb.len, &signing, err);
    vt_buf_free(&cb);
    if (rc == VT_OK && sk_X509_num(signing) != 2)
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "the cached TCB signing chain is not [TCB Signing, Root]");
    if (rc != VT_OK) {
        sk_X509_pop_free(signing, X509_free);
        return rc;
    }
    rc = coll_get(o, url, NULL, NULL, &r, rep, err);
    if (rc == VT_OK) {
        X509_CRL *crl = NULL;
        vt_buf der = {0};
        rc = crl_from_body(&r.body, &crl, &der, err);
        if (rc == VT_OK) rc = check_crl(crl, sk_X509_value(signing, 1), url, now, err);
        if (rc == VT_OK) rc = coll_install(dir, name, der.ptr, der.len, now, rep, err);
        X509_CRL_free(crl);
        vt_buf_free(&der);
        vt_http_reply_free(&r);
    }
    sk_X509_pop_free(signing, X509_free);
    return rc;
}

bool vt_coll_is_intel_pcs(const char *url)
{
    return url != NULL && strstr(url, "api.trustedservices.intel.com") != NULL;
}

vt_err vt_coll_tdx_want_from_quote(const uint8_t *quote, size_t len, vt_coll_tdx_want *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_tdx_quote q;
    VT_GUARD(vt_tdx_quote_parse(quote, len, &q, err));
    if (q.pck_chain.len == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK, "the quote carries no PCK certificate chain (certification data type 5)");
    STACK_OF(X509) *chain = NULL;
    VT_GUARD(vt_pem_certs(q.pck_chain.ptr, q.pck_chain.len, &chain, err));
    vt_sgx_pck_ext ext;
    char issuer[96];
    vt_x509_issuer_cn(sk_X509_value(chain, 0), issuer, sizeof issuer);
    vt_err rc = vt_sgx_pck_ext_parse(sk_X509_value(chain, 0), &ext, err);
    sk_X509_pop_free(chain, X509_free);
    VT_GUARD(rc);
    snprintf(out->tee, sizeof out->tee, "%s", vt_tdx_quote_is_td(&q) ? "tdx" : "sgx");
    memcpy(out->fmspc, ext.fmspc, 6);
    snprintf(out->ca, sizeof out->ca, "%s", strstr(issuer, "Processor") != NULL ? "processor" : "platform");
    return VT_OK;
}

void vt_coll_tdx_want_id(const vt_coll_tdx_want *w, char out[40])
{
    char fm[13];
    coll_fmspc_hex(w->fmspc, fm);
    snprintf(out, 40, "%s:%s:%s", w->tee, fm, w->ca);
}

vt_err vt_coll_tdx_want_parse(const char *s, vt_coll_tdx_want *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    char tee[8], fm[16], ca[16];
    if (s == NULL || strlen(s) > 40 || sscanf(s, "%7[a-z]:%15[0-9a-fA-F]:%15[a-z]", tee, fm, ca) != 3 ||
        strlen(fm) != 12 || (strcmp(tee, "tdx") != 0 && strcmp(tee, "sgx") != 0) ||
        (strcmp(ca, "platform") != 0 && strcmp(ca, "processor") != 0))
        return vt_error_set(err, VT_E_ARG, CHECK, "expected TEE:FMSPC:CA (e.g. tdx:B0C06F000000:platform)");
    VT_GUARD(vt_hex_decode_fixed(fm, out->fmspc, 6, err));
    memcpy(out->tee, tee, 4); /* "tdx" or "sgx", checked above */
    memcpy(out->ca, ca, strlen(ca) + 1); /* "platform" or "processor" */
    return VT_OK;
}
