/* SEV-SNP collateral from a directory: VCEK/VLEK, ASK/ASVK/ARK certificates (DER or PEM, several
 * per PEM file) and AMD KDS CRLs, laid out as in the vector sets or as `snpguest fetch` writes. */
#include <dirent.h>
#include <sys/stat.h>
#include <string.h>

#include "veritee/fileio.h"
#include "veritee/snp.h"
#include "veritee/x509.h"

#define DIR_FILES_MAX 256
#define FILE_MAX (1u << 20)

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* PEM text may start with comments ("# SEV-VCEK" in the routex chains). */
static bool has_pem(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(p + i, "-----BEGIN", 10) == 0) return true;
    return false;
}

/* "crl.der", and "<x>_crl.der" as a shared collateral directory also names other TEEs' CRLs
 * (TDX pck_crl.der, root_ca_crl.der): they load as CRLs and only an ARK's CRL is ever used. */
static bool is_crl_name(const char *n)
{
    return ends_with(n, ".crl") || ends_with(n, "crl.der") || ends_with(n, "crl.pem");
}

static bool is_cert_name(const char *n)
{
    return ends_with(n, ".pem") || ends_with(n, ".der") || ends_with(n, ".cer") ||
           ends_with(n, ".crt");
}

static vt_err add_file(const char *path, const char *name, vt_snp_dir_collateral *c, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, FILE_MAX, &b, err));
    vt_err rc = VT_OK;
    if (is_crl_name(name)) {
        X509_CRL *crl = NULL;
        rc = vt_crl_parse(b.ptr, b.len, &crl, err);
        if (rc == VT_OK && sk_X509_CRL_push(c->crls, crl) <= 0) {
            X509_CRL_free(crl);
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        }
    } else if (has_pem(b.ptr, b.len)) {
        STACK_OF(X509) *sk = NULL;
        rc = vt_pem_certs(b.ptr, b.len, &sk, err);
        while (rc == VT_OK && sk_X509_num(sk) > 0) {
            X509 *x = sk_X509_shift(sk);
            if (sk_X509_push(c->certs, x) <= 0) {
                X509_free(x);
                rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            }
        }
        sk_X509_pop_free(sk, X509_free);
    } else {
        X509 *x = NULL;
        rc = vt_cert_parse(b.ptr, b.len, &x, err);
        if (rc == VT_OK && sk_X509_push(c->certs, x) <= 0) {
            X509_free(x);
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        }
    }
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

vt_err vt_snp_dir_collateral_load(const char *dir, vt_snp_dir_collateral *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (dir != NULL && stat(dir, &st) == 0 && S_ISREG(st.st_mode)) {
        /* one file: a PEM chain (VCEK/VLEK, ASK, ARK) or a single certificate or CRL */
        const char *base = strrchr(dir, '/');
        out->certs = sk_X509_new_null();
        out->crls = sk_X509_CRL_new_null();
        vt_err rc = out->certs && out->crls ? add_file(dir, base ? base + 1 : dir, out, err)
                                            : vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        if (rc == VT_OK && sk_X509_num(out->certs) == 0 && sk_X509_CRL_num(out->crls) == 0)
            rc = vt_error_set(err, VT_E_MISSING, "collateral", "no certificate in %s", dir);
        if (rc != VT_OK) vt_snp_dir_collateral_free(out);
        return rc;
    }
    DIR *d = dir ? opendir(dir) : NULL;
    if (d == NULL)
        return vt_error_set(err, VT_E_MISSING, "collateral", "cannot open directory %s",
                            dir ? dir : "(none)");
    out->certs = sk_X509_new_null();
    out->crls = sk_X509_CRL_new_null();
    vt_err rc = VT_OK;
    if (out->certs == NULL || out->crls == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !(is_cert_name(e->d_name) || is_crl_name(e->d_name))) continue;
        if (++files > DIR_FILES_MAX) {
            rc = vt_error_set(err, VT_E_INVALID, "collateral", "%s holds more than %d files", dir,
                              DIR_FILES_MAX);
            goto out;
        }
        char path[4096];
        VT_GUARD_GOTO(vt_path_join(path, sizeof path, dir, e->d_name, err));
        VT_GUARD_GOTO(add_file(path, e->d_name, out, err));
    }
    if (sk_X509_num(out->certs) == 0)
        rc = vt_error_set(err, VT_E_MISSING, "collateral", "no certificate in %s", dir);
out:
    closedir(d);
    if (rc != VT_OK) vt_snp_dir_collateral_free(out);
    return rc;
}

void vt_snp_dir_collateral_free(vt_snp_dir_collateral *c)
{
    if (c == NULL) return;
    sk_X509_pop_free(c->certs, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    c->certs = NULL;
    c->crls = NULL;
}
