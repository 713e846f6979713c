/* Shared fixtures of the SEV-SNP tests: loading the vector sets of shared/vectors/snp and
 * verifying a report with its certificates at the README's reference time. */
#ifndef VT_SNP_FIXTURES_H
#define VT_SNP_FIXTURES_H

#include <string.h>

#include "testutil.h"
#include "veritee/snp.h"
#include "veritee/x509.h"

/* 2025-12-08T00:00:00Z: inside every certificate window of shared/vectors/snp (its README). */
#define SNP_REF_TIME ((vt_time)1765152000)

static inline bool snp_has_pem(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(p + i, "-----BEGIN", 10) == 0) return true;
    return false;
}

/* Certificates of a vector file (DER, or PEM with one or more). */
static inline STACK_OF(X509) *snp_load_certs(const char *rel)
{
    vt_buf b = {0};
    vt_test_load(rel, &b);
    vt_error e;
    vt_error_clear(&e);
    STACK_OF(X509) *sk = NULL;
    if (snp_has_pem(b.ptr, b.len)) {
        if (vt_pem_certs(b.ptr, b.len, &sk, &e) != VT_OK) fail_msg("%s: %s", rel, e.msg);
    } else {
        X509 *x = NULL;
        if (vt_cert_parse(b.ptr, b.len, &x, &e) != VT_OK) fail_msg("%s: %s", rel, e.msg);
        sk = sk_X509_new_null();
        sk_X509_push(sk, x);
    }
    vt_buf_free(&b);
    return sk;
}

/* Append every certificate of src to dst (new references) and free src. */
static inline void snp_append(STACK_OF(X509) *dst, STACK_OF(X509) *src)
{
    while (sk_X509_num(src) > 0) sk_X509_push(dst, sk_X509_shift(src));
    sk_X509_free(src);
}

/* Verify set/report with the certificates of the listed files (NULL-terminated) as
 * collateral, with the built-in ARK pins. */
static inline vt_err snp_verify_files(vt_snp_verifier *v, const char *report, const char *const *files,
                                      const vt_snp_verify_opts *o, vt_snp_claims *cl,
                                      vt_checks *ck, vt_error *e)
{
    vt_buf r = {0};
    vt_test_load(report, &r);
    STACK_OF(X509) *certs = sk_X509_new_null();
    for (size_t i = 0; files[i] != NULL; i++) snp_append(certs, snp_load_certs(files[i]));
    vt_snp_collateral c = {.certs = certs};
    vt_err rc = vt_snp_verify(v, r.ptr, r.len, &c, o, cl, ck, e);
    sk_X509_pop_free(certs, X509_free);
    vt_buf_free(&r);
    return rc;
}

static inline void snp_assert_hex(const uint8_t *p, size_t n, const char *hex)
{
    char buf[257];
    assert_true(n * 2 < sizeof buf);
    vt_hex_encode(p, n, buf);
    assert_string_equal(buf, hex);
}

static inline void snp_assert_hex_prefix(const uint8_t *p, const char *hex)
{
    char buf[129];
    size_t n = strlen(hex) / 2;
    vt_hex_encode(p, n, buf);
    assert_string_equal(buf, hex);
}

#endif
