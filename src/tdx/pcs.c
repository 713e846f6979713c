/* Intel PCS v4 client (Intel "Provisioning Certification Service for ECDSA Attestation" API
 * v4: /{sgx,tdx}/certification/v4/tcb, /qe/identity, /sgx/certification/v4/pckcrl). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/tdx_pcs.h"
#include "veritee/x509.h"

/* One GET; anything but 200 is collateral missing. */
static vt_err get(const vt_tdx_pcs_opts *o, const char *url, const char *want_header,
                  vt_http_reply *r, vt_error *err)
{
    vt_http_get_opts h = {.check = "pcs", .timeout_seconds = o->timeout_seconds, .want_header = want_header};
    VT_GUARD(vt_http_get(url, &h, r, err));
    if (r->status == 200) return VT_OK;
    vt_err rc = vt_error_set(err, VT_E_MISSING, "pcs", "fetching %s: HTTP status %ld", url, r->status);
    vt_http_reply_free(r);
    return rc;
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
    vt_http_reply r;
    VT_GUARD(get(o, url, chain_header, &r, err));
    vt_err rc = save(o, name, r.body.ptr, r.body.len, err);
    if (rc == VT_OK && chain_header != NULL) {
        char *pem = NULL;
        if (r.header_value && vt_percent_decode(r.header_value, strlen(r.header_value), &pem, NULL) != VT_OK) pem = NULL;
        if (pem == NULL) rc = vt_error_set(err, VT_E_MISSING, "pcs", "%s: response lacks the %s header", url, chain_header);
        else if (chain_name != NULL) rc = save(o, chain_name, pem, strlen(pem), err);
        free(pem);
    }
    vt_http_reply_free(&r);
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
