/* Loading a collateral directory laid out as PCS serves the items (docs/tdx.md). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/fileio.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

#define COLLATERAL_MAX (4u << 20)

static bool has_prefix_suffix(const char *n, const char *pre, const char *suf)
{
    size_t nl = strlen(n), pl = strlen(pre), sl = strlen(suf);
    return nl >= pl + sl && strncmp(n, pre, pl) == 0 && strcmp(n + nl - sl, suf) == 0;
}

static vt_err keep_text(vt_tdx_collateral *c, vt_buf *b, char **out, vt_error *err)
{
    for (size_t i = 0; i < sizeof c->texts / sizeof c->texts[0]; i++)
        if (c->texts[i] == NULL) {
            c->texts[i] = (char *)b->ptr;
            *out = c->texts[i];
            b->ptr = NULL;
            b->len = 0;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_INVALID, "collateral", "too many collateral JSON files");
}

static vt_err load_json_item(vt_tdx_collateral *c, const char *path, bool tcb_info, vt_error *err)
{
    vt_buf b = {0};
    char *text = NULL;
    VT_GUARD(vt_file_read(path, COLLATERAL_MAX, &b, err));
    size_t len = b.len;
    vt_err rc = keep_text(c, &b, &text, err);
    vt_buf_free(&b);
    VT_GUARD(rc);
    if (tcb_info) {
        if (c->n_tcb_infos == VT_TDX_MAX_TCB_INFOS)
            return vt_error_set(err, VT_E_INVALID, "collateral", "too many TCB Info files");
        vt_tcb_info *more = realloc(c->tcb_infos, (c->n_tcb_infos + 1) * sizeof *more);
        if (more == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        c->tcb_infos = more;
        rc = vt_tcb_info_parse(text, len, &c->tcb_infos[c->n_tcb_infos], err);
        if (rc == VT_OK) c->n_tcb_infos++;
    } else {
        if (c->n_qe_identities == 2)
            return vt_error_set(err, VT_E_INVALID, "collateral", "too many QE Identity files");
        rc = vt_qe_identity_parse(text, len, &c->qe_identities[c->n_qe_identities], err);
        if (rc == VT_OK) c->n_qe_identities++;
    }
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static vt_err load_crl(const char *path, X509_CRL **out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, COLLATERAL_MAX, &b, err));
    vt_err rc = vt_crl_parse(b.ptr, b.len, out, err);
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static vt_err load_chain(const char *path, STACK_OF(X509) **out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, COLLATERAL_MAX, &b, err));
    vt_err rc = vt_pem_certs(b.ptr, b.len, out, err);
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static vt_err load_entry(vt_tdx_collateral *c, const char *dir, const char *name, vt_error *err)
{
    char path[4096];
    VT_GUARD(vt_path_join(path, sizeof path, dir, name, err));
    if (has_prefix_suffix(name, "tcbinfo", ".json")) return load_json_item(c, path, true, err);
    if (has_prefix_suffix(name, "qe_identity", ".json")) return load_json_item(c, path, false, err);
    if (strcmp(name, "tcb_signing_chain.pem") == 0) return load_chain(path, &c->tcb_signing_chain, err);
    if (has_prefix_suffix(name, "root_ca_crl", ".der") || has_prefix_suffix(name, "root_ca_crl", ".pem"))
        return load_crl(path, &c->root_ca_crl, err);
    if (has_prefix_suffix(name, "pck_crl", ".der") || has_prefix_suffix(name, "pck_crl", ".pem")) {
        if (strstr(name, "issuer") != NULL) return VT_OK; /* the issuer chain is in the PCK chain */
        X509_CRL *crl = NULL;
        VT_GUARD(load_crl(path, &crl, err));
        if (c->pck_crls == NULL) c->pck_crls = sk_X509_CRL_new_null();
        if (c->pck_crls == NULL || sk_X509_CRL_push(c->pck_crls, crl) <= 0) {
            X509_CRL_free(crl);
            return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        }
    }
    return VT_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

vt_err vt_tdx_collateral_load_dir(const char *dir, vt_tdx_collateral *c, vt_error *err)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (d == NULL) return vt_error_set(err, VT_E_MISSING, "collateral", "cannot open collateral directory %s", dir);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256)
        if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names); /* deterministic order */
    vt_err rc = VT_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == VT_OK && names[i] != NULL) rc = load_entry(c, dir, names[i], err);
        free(names[i]);
    }
    if (rc != VT_OK) vt_tdx_collateral_clear(c);
    return rc;
}

void vt_tdx_collateral_clear(vt_tdx_collateral *c)
{
    if (c == NULL) return;
    for (size_t i = 0; i < c->n_tcb_infos; i++) vt_tcb_info_clear(&c->tcb_infos[i]);
    free(c->tcb_infos);
    for (size_t i = 0; i < c->n_qe_identities; i++) vt_qe_identity_clear(&c->qe_identities[i]);
    for (size_t i = 0; i < sizeof c->texts / sizeof c->texts[0]; i++) free(c->texts[i]);
    sk_X509_pop_free(c->tcb_signing_chain, X509_free);
    sk_X509_CRL_pop_free(c->pck_crls, X509_CRL_free);
    X509_CRL_free(c->root_ca_crl);
    memset(c, 0, sizeof *c);
}
