/* Certificates from a directory or file (include/veritee/certdir.h). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/certdir.h"
#include "veritee/fileio.h"
#include "veritee/x509.h"

static bool cert_file(const char *n)
{
    size_t l = strlen(n);
    return (l > 4 && (strcmp(n + l - 4, ".pem") == 0 || strcmp(n + l - 4, ".crt") == 0 ||
                      strcmp(n + l - 4, ".der") == 0 || strcmp(n + l - 4, ".cer") == 0));
}

static vt_err load_file(const char *path, STACK_OF(X509) *sk, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, 1u << 20, &b, err));
    vt_err rc;
    if (b.len >= 10 && memcmp(b.ptr, "-----BEGIN", 10) == 0) {
        STACK_OF(X509) *got = NULL;
        rc = vt_pem_certs(b.ptr, b.len, &got, err);
        while (rc == VT_OK && sk_X509_num(got) > 0) {
            X509 *c = sk_X509_shift(got);
            if (sk_X509_push(sk, c) <= 0) X509_free(c);
        }
        sk_X509_pop_free(got, X509_free);
    } else {
        X509 *c = NULL;
        rc = vt_cert_parse(b.ptr, b.len, &c, err);
        if (rc == VT_OK && sk_X509_push(sk, c) <= 0) X509_free(c);
    }
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

vt_err vt_certs_load_path(const char *path, STACK_OF(X509) **out, vt_error *err)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (sk == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    struct stat st;
    vt_err rc = VT_OK;
    if (stat(path, &st) != 0) {
        rc = vt_error_set(err, VT_E_MISSING, "trust", "%s does not exist", path);
    } else if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (rc == VT_OK && d != NULL && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || !cert_file(de->d_name)) continue;
            char p[4096];
            rc = vt_path_join(p, sizeof p, path, de->d_name, err);
            if (rc == VT_OK) rc = load_file(p, sk, err);
        }
        if (d != NULL) closedir(d);
    } else {
        rc = load_file(path, sk, err);
    }
    if (rc == VT_OK && sk_X509_num(sk) == 0)
        rc = vt_error_set(err, VT_E_MISSING, "trust", "no certificate found in %s", path);
    if (rc != VT_OK) {
        sk_X509_pop_free(sk, X509_free);
        return rc;
    }
    *out = sk;
    return VT_OK;
}
