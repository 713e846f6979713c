/* Intel PCS v4 client (Intel "Provisioning Certification Service for ECDSA Attestation" API
 * v4: /{sgx,tdx}/certification/v4/tcb, /qe/identity, /sgx/certification/v4/pckcrl). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tdx_pcs.h"
#include "veritee/x509.h"

#define PCS_MAX_BODY (8u << 20)

typedef struct fetch {
    vt_buf body;
    size_t cap;
    const char *want_header; /* issuer chain header to capture */
    char *header_value;
    bool too_big;
} fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = sz * n;
    if (f->body.len + len > PCS_MAX_BODY) {
        f->too_big = true;
        return 0;
    }
    if (f->body.len + len + 1 > f->cap) {
        size_t cap = (f->body.len + len + 1) * 2;
        uint8_t *q = realloc(f->body.ptr, cap);
        if (q == NULL) return 0;
        f->body.ptr = q;
        f->cap = cap;
    }
    memcpy(f->body.ptr + f->body.len, p, len);
    f->body.len += len;
    f->body.ptr[f->body.len] = 0;
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = sz * n, kl = f->want_header ? strlen(f->want_header) : 0;
    if (kl && len > kl + 1 && strncasecmp(p, f->want_header, kl) == 0 && p[kl] == ':' && f->header_value == NULL) {
        const char *v = p + kl + 1;
        size_t vl = len - kl - 1;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        f->header_value = strndup(v, vl);
    }
    return len;
}

/* libcurl is loaded only when collateral is fetched: linking it costs every `veritee`
 * process ~2 ms of dynamic loading (30 libraries), and verification never needs it. */
typedef struct curl_api {
    void *lib;
    CURL *(*init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    const char *(*strerror)(CURLcode);
} curl_api;

static vt_err curl_load(curl_api *a, vt_error *err)
{
    a->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_MISSING, "pcs", "libcurl.so.4 not available: cannot fetch collateral");
    *(void **)&a->init = dlsym(a->lib, "curl_easy_init");
    *(void **)&a->setopt = dlsym(a->lib, "curl_easy_setopt");
    *(void **)&a->perform = dlsym(a->lib, "curl_easy_perform");
    *(void **)&a->getinfo = dlsym(a->lib, "curl_easy_getinfo");
    *(void **)&a->cleanup = dlsym(a->lib, "curl_easy_cleanup");
    *(void **)&a->strerror = dlsym(a->lib, "curl_easy_strerror");
    if (!a->init || !a->setopt || !a->perform || !a->getinfo || !a->cleanup || !a->strerror) {
        dlclose(a->lib);
        return vt_error_set(err, VT_E_MISSING, "pcs", "libcurl.so.4 lacks the easy interface");
    }
    return VT_OK;
}

static vt_err get(const vt_tdx_pcs_opts *o, const char *url, fetch *f, vt_error *err)
{
    curl_api api = {0};
    VT_GUARD(curl_load(&api, err));
    vt_err rc = VT_OK;
    CURL *c = api.init();
    if (c == NULL) {
        dlclose(api.lib);
        return vt_error_set(err, VT_E_INTERNAL, "pcs", "cannot initialise libcurl");
    }
    api.setopt(c, CURLOPT_URL, url);
    api.setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    api.setopt(c, CURLOPT_WRITEDATA, f);
    api.setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    api.setopt(c, CURLOPT_HEADERDATA, f);
    api.setopt(c, CURLOPT_TIMEOUT, o->timeout_seconds > 0 ? o->timeout_seconds : 20L);
    api.setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    api.setopt(c, CURLOPT_NOSIGNAL, 1L);
    api.setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = api.perform(c);
    long status = 0;
    api.getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    api.cleanup(c);
    if (cc != CURLE_OK)
        rc = vt_error_set(err, VT_E_MISSING, "pcs", "fetching %s failed: %s%s", url, api.strerror(cc),
                          f->too_big ? " (response too large)" : "");
    else if (status != 200)
        rc = vt_error_set(err, VT_E_MISSING, "pcs", "fetching %s: HTTP status %ld", url, status);
    dlclose(api.lib);
    return rc;
}

static void fetch_free(fetch *f)
{
    vt_buf_free(&f->body);
    free(f->header_value);
}

/* PCS sends issuer chains URL-encoded (RFC 3986 percent-encoding). */
static char *url_decode(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *q = o;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            uint8_t b;
            char hx[3] = {s[i + 1], s[i + 2], 0};
            if (vt_hex_decode_fixed(hx, &b, 1, NULL) == VT_OK) {
                *q++ = (char)b;
                i += 2;
                continue;
            }
        }
        *q++ = s[i];
    }
    *q = 0;
    return o;
}

static vt_err save(const vt_tdx_pcs_opts *o, const char *name, const void *p, size_t n, vt_error *err)
{
    char path[4096];
    VT_GUARD(vt_path_join(path, sizeof path, o->cache_dir, name, err));
    return vt_file_write(path, p, n, err);
}

static bool cached(const vt_tdx_pcs_opts *o, const char *name)
{
    char path[4096];
    return !o->refresh && vt_path_join(path, sizeof path, o->cache_dir, name, NULL) == VT_OK && vt_file_exists(path);
}

static vt_err fetch_item(const vt_tdx_pcs_opts *o, const char *url, const char *name, const char *chain_header,
                         const char *chain_name, vt_error *err)
{
    if (cached(o, name)) return VT_OK;
    fetch f = {.want_header = chain_header};
    vt_err rc = get(o, url, &f, err);
    if (rc == VT_OK) rc = save(o, name, f.body.ptr, f.body.len, err);
    if (rc == VT_OK && chain_header != NULL) {
        char *pem = f.header_value ? url_decode(f.header_value) : NULL;
        if (pem == NULL) rc = vt_error_set(err, VT_E_MISSING, "pcs", "%s: response lacks the %s header", url, chain_header);
        else if (chain_name != NULL) rc = save(o, chain_name, pem, strlen(pem), err);
        free(pem);
    }
    fetch_free(&f);
    return rc;
}

vt_err vt_tdx_pcs_fetch(const vt_tdx_pcs_opts *o, const vt_tdx_quote *q, vt_error *err)
{
    if (o->base_url == NULL || o->cache_dir == NULL)
        return vt_error_set(err, VT_E_ARG, "pcs", "--pcs-url needs --cache DIR");
    if (mkdir(o->cache_dir, 0700) != 0 && errno != EEXIST)
        return vt_error_set(err, VT_E_IO, "pcs", "cannot create %s: %s", o->cache_dir, strerror(errno));
    STACK_OF(X509) *chain = NULL;
    VT_GUARD(vt_pem_certs(q->pck_chain.ptr, q->pck_chain.len, &chain, err));
    vt_sgx_pck_ext ext;
    char issuer[64];
    vt_x509_issuer_cn(sk_X509_value(chain, 0), issuer, sizeof issuer);
    vt_err rc = vt_sgx_pck_ext_parse(sk_X509_value(chain, 0), &ext, err);
    sk_X509_pop_free(chain, X509_free);
    VT_GUARD(rc);
    const char *tee = vt_tdx_quote_is_td(q) ? "tdx" : "sgx";
    char fm[13], url[1024], name[64];
    vt_hex_encode(ext.fmspc, 6, fm);
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", o->base_url, tee, fm);
    snprintf(name, sizeof name, "tcbinfo_%s.json", fm);
    VT_GUARD(fetch_item(o, url, name, "TCB-Info-Issuer-Chain", "tcb_signing_chain.pem", err));
    snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", o->base_url, tee);
    VT_GUARD(fetch_item(o, url, "qe_identity.json", "SGX-Enclave-Identity-Issuer-Chain", NULL, err));
    const char *ca = strstr(issuer, "Processor") != NULL ? "processor" : "platform";
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", o->base_url, ca);
    VT_GUARD(fetch_item(o, url, "pck_crl.der", "SGX-PCK-CRL-Issuer-Chain", "pck_crl_issuer_chain.pem", err));
    if (strstr(o->base_url, "api.trustedservices.intel.com") != NULL)
        snprintf(url, sizeof url, "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der");
    else
        snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", o->base_url);
    return fetch_item(o, url, "root_ca_crl.der", NULL, NULL, err);
}
