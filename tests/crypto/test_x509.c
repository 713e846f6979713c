/* The library's one validity rule (vt_valid_at, RFC 5280 4.1.2.5: notBefore through notAfter
 * inclusive) at every boundary second of every certificate and CRL of a three-level chain,
 * through vt_chain_verify, the chain verification every TEE uses. */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "veritee/pki.h"
#include "veritee/x509.h"

#define T0 1780000000 /* 2026-05-28: an arbitrary fixed instant */

typedef struct pki {
    EVP_PKEY *root_k, *ca_k, *leaf_k;
    X509 *root, *ca, *leaf;
    X509_CRL *root_crl, *ca_crl;
    STACK_OF(X509) *roots, *untrusted;
    STACK_OF(X509_CRL) *crls;
} pki;

/* Distinct windows so each boundary belongs to exactly one item:
 *   root  [T0-900, T0+900]   ca [T0-800, T0+800]   leaf [T0-700, T0+700]
 *   root CRL [T0-600, T0+600]   CA CRL [T0-500, T0+500]  */
static void make_pki(pki *p)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->root_k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->ca_k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->leaf_k, NULL), VT_OK);
    vt_pki_cert_spec rs = {.subject_cn = "Test Root", .not_before = T0 - 900, .not_after = T0 + 900, .ca = true,
                           .path_len = 1};
    vt_pki_cert_spec cs = {.subject_cn = "Test CA", .not_before = T0 - 800, .not_after = T0 + 800, .ca = true,
                           .path_len = 0};
    vt_pki_cert_spec ls = {.subject_cn = "Test Leaf", .not_before = T0 - 700, .not_after = T0 + 700, .path_len = -1};
    assert_int_equal(vt_pki_cert(&rs, p->root_k, NULL, p->root_k, &p->root, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&cs, p->ca_k, p->root, p->root_k, &p->ca, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&ls, p->leaf_k, p->ca, p->ca_k, &p->leaf, NULL), VT_OK);
    assert_int_equal(vt_pki_crl(p->root, p->root_k, T0 - 600, T0 + 600, NULL, NULL, 0, &p->root_crl, NULL), VT_OK);
    assert_int_equal(vt_pki_crl(p->ca, p->ca_k, T0 - 500, T0 + 500, NULL, NULL, 0, &p->ca_crl, NULL), VT_OK);
    p->roots = sk_X509_new_null();
    p->untrusted = sk_X509_new_null();
    p->crls = sk_X509_CRL_new_null();
    sk_X509_push(p->roots, p->root);
    sk_X509_push(p->untrusted, p->ca);
    sk_X509_CRL_push(p->crls, p->root_crl);
    sk_X509_CRL_push(p->crls, p->ca_crl);
}

static void free_pki(pki *p)
{
    sk_X509_free(p->roots);
    sk_X509_free(p->untrusted);
    sk_X509_CRL_free(p->crls);
    X509_free(p->root);
    X509_free(p->ca);
    X509_free(p->leaf);
    X509_CRL_free(p->root_crl);
    X509_CRL_free(p->ca_crl);
    EVP_PKEY_free(p->root_k);
    EVP_PKEY_free(p->ca_k);
    EVP_PKEY_free(p->leaf_k);
}

static vt_err verify_at(pki *p, vt_time at, bool with_crls, vt_error *e)
{
    vt_error_clear(e);
    vt_chain_opts o = {.at = at, .crls = with_crls ? p->crls : NULL, .crl_required = with_crls};
    return vt_chain_verify(p->leaf, p->untrusted, p->roots, &o, "test chain", e);
}

/* Each certificate's own window, without CRLs: valid at notBefore and notAfter, not one second
 * outside. The leaf's window is the narrowest, so the chain's edges are the leaf's; the CA's and
 * root's edges are probed by the per-certificate rule and by the chain with a wider leaf. */
static void test_certificate_boundaries(void **state)
{
    (void)state;
    pki p;
    make_pki(&p);
    vt_error e;
    assert_int_equal(verify_at(&p, T0 - 700, false, &e), VT_OK);
    assert_int_equal(verify_at(&p, T0 - 701, false, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "\"Test Leaf\" is not valid before"));
    assert_int_equal(verify_at(&p, T0 + 700, false, &e), VT_OK); /* notAfter itself: still valid */
    assert_int_equal(verify_at(&p, T0 + 701, false, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "\"Test Leaf\" expired on"));
    X509 *certs[3] = {p.leaf, p.ca, p.root};
    const vt_time half[3] = {700, 800, 900};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vt_x509_check_time(certs[i], T0 - half[i], &e), VT_OK);
        assert_int_equal(vt_x509_check_time(certs[i], T0 + half[i], &e), VT_OK);
        assert_int_equal(vt_x509_check_time(certs[i], T0 - half[i] - 1, &e), VT_E_EXPIRED);
        assert_int_equal(vt_x509_check_time(certs[i], T0 + half[i] + 1, &e), VT_E_EXPIRED);
    }
    free_pki(&p);
}

/* The CA's and the root's edges inside the chain: a leaf valid longer than its issuers. */
static void test_issuer_boundaries(void **state)
{
    (void)state;
    pki p;
    make_pki(&p);
    X509_free(p.leaf);
    vt_pki_cert_spec ls = {.subject_cn = "Test Leaf", .not_before = T0 - 5000, .not_after = T0 + 5000, .path_len = -1};
    assert_int_equal(vt_pki_cert(&ls, p.leaf_k, p.ca, p.ca_k, &p.leaf, NULL), VT_OK);
    vt_error e;
    assert_int_equal(verify_at(&p, T0 + 800, false, &e), VT_OK); /* the CA's notAfter */
    assert_int_equal(verify_at(&p, T0 + 801, false, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "\"Test CA\" expired on"));
    assert_int_equal(verify_at(&p, T0 - 800, false, &e), VT_OK); /* the CA's notBefore */
    assert_int_equal(verify_at(&p, T0 - 801, false, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "\"Test CA\" is not valid before"));
    /* a CA valid longer still: the root's edges */
    X509_free(p.ca);
    vt_pki_cert_spec cs = {.subject_cn = "Test CA", .not_before = T0 - 5000, .not_after = T0 + 5000, .ca = true,
                           .path_len = 0};
    assert_int_equal(vt_pki_cert(&cs, p.ca_k, p.root, p.root_k, &p.ca, NULL), VT_OK);
    sk_X509_set(p.untrusted, 0, p.ca);
    X509_free(p.leaf);
    assert_int_equal(vt_pki_cert(&ls, p.leaf_k, p.ca, p.ca_k, &p.leaf, NULL), VT_OK);
    assert_int_equal(verify_at(&p, T0 + 900, false, &e), VT_OK);
    assert_int_equal(verify_at(&p, T0 + 901, false, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "\"Test Root\" expired on"));
    assert_int_equal(verify_at(&p, T0 - 900, false, &e), VT_OK);
    assert_int_equal(verify_at(&p, T0 - 901, false, &e), VT_E_EXPIRED);
    free_pki(&p);
}

/* CRLs: valid from thisUpdate through nextUpdate inclusive. */
static void test_crl_boundaries(void **state)
{
    (void)state;
    pki p;
    make_pki(&p);
    vt_error e;
    assert_int_equal(verify_at(&p, T0 + 500, true, &e), VT_OK); /* CA CRL nextUpdate */
    assert_int_equal(verify_at(&p, T0 + 501, true, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "CRL of \"Test CA\" expired on"));
    assert_int_equal(verify_at(&p, T0 - 500, true, &e), VT_OK); /* CA CRL thisUpdate */
    assert_int_equal(verify_at(&p, T0 - 501, true, &e), VT_E_EXPIRED);
    assert_int_equal(vt_crl_check_time(p.root_crl, T0 + 600, &e), VT_OK);
    assert_int_equal(vt_crl_check_time(p.root_crl, T0 + 601, &e), VT_E_EXPIRED);
    assert_int_equal(vt_crl_check_time(p.root_crl, T0 - 600, &e), VT_OK);
    assert_int_equal(vt_crl_check_time(p.root_crl, T0 - 601, &e), VT_E_EXPIRED);
    /* the root CRL's own edges in the chain: a CA CRL valid longer */
    X509_CRL_free(p.ca_crl);
    assert_int_equal(vt_pki_crl(p.ca, p.ca_k, T0 - 5000, T0 + 5000, NULL, NULL, 0, &p.ca_crl, NULL), VT_OK);
    sk_X509_CRL_set(p.crls, 1, p.ca_crl);
    assert_int_equal(verify_at(&p, T0 + 600, true, &e), VT_OK);
    assert_int_equal(verify_at(&p, T0 + 601, true, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "CRL of \"Test Root\" expired on"));
    assert_int_equal(verify_at(&p, T0 - 600, true, &e), VT_OK);
    assert_int_equal(verify_at(&p, T0 - 601, true, &e), VT_E_EXPIRED);
    free_pki(&p);
}

static void test_window_rule(void **state)
{
    (void)state;
    assert_true(vt_valid_at(10, 10, 20));
    assert_true(vt_valid_at(20, 10, 20));
    assert_false(vt_valid_at(9, 10, 20));
    assert_false(vt_valid_at(21, 10, 20));
    vt_error e;
    assert_int_equal(vt_window_check("TCB Info", 10, 20, 21, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "TCB Info expired on"));
    assert_int_equal(vt_window_check("TCB Info", 10, 20, 9, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "TCB Info is not valid before"));
}

static void pem_append(BIO *b, X509 *c) { assert_int_equal(PEM_write_bio_X509(b, c), 1); }

/* vt_pem_certs_known: a block equal to a held certificate yields that object; other blocks are
 * decoded; non-certificate blocks and text outside blocks are skipped; a broken block fails. */
static void test_pem_certs_known(void **state)
{
    (void)state;
    pki p;
    make_pki(&p);
    BIO *b = BIO_new(BIO_s_mem());
    BIO_puts(b, "leading text\n");
    pem_append(b, p.leaf);
    BIO_puts(b, "-----BEGIN PRIVATE NOTE-----\nAAAA\n-----END PRIVATE NOTE-----\n");
    pem_append(b, p.ca);
    pem_append(b, p.root);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    STACK_OF(X509) *chain = NULL;
    vt_error e = {0};
    assert_int_equal(vt_pem_certs_known(pem, (size_t)n, p.roots, &chain, &e), VT_OK);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_ptr_equal(sk_X509_value(chain, 2), p.root); /* taken, not decoded again */
    assert_ptr_not_equal(sk_X509_value(chain, 1), p.ca);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), p.leaf), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), p.ca), 0);
    sk_X509_pop_free(chain, X509_free);
    /* the same text without a known set decodes all three */
    assert_int_equal(vt_pem_certs(pem, (size_t)n, &chain, &e), VT_OK);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_ptr_not_equal(sk_X509_value(chain, 2), p.root);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), p.root), 0);
    sk_X509_pop_free(chain, X509_free);
    BIO_free(b);
    /* a certificate block whose body is not a certificate */
    const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(vt_pem_certs_known(bad, strlen(bad), p.roots, &chain, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "certificate 1 of the PEM chain does not decode"));
    assert_int_equal(vt_pem_certs_known("no pem here", 11, p.roots, &chain, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "no PEM certificate found"));
    free_pki(&p);
}

/* Certificates from every decoder, used for the first time by four threads at once. OpenSSL
 * fills a certificate's extension cache on first use, and two threads that do it together
 * both write it (openssl/openssl#32609: a data race under `make tsan`, seen first in the Azure
 * verifier's VCEK cache); the decoders settle each certificate so that threads only read. */
#define SETTLE_THREADS 4
typedef struct settle_arg {
    pthread_barrier_t *go;
    X509 *leaf, *ca, *root;
    int issued, ca_ok, self_signed;
} settle_arg;

static void *first_use(void *p)
{
    settle_arg *a = p;
    pthread_barrier_wait(a->go);
    a->issued = X509_check_issued(a->ca, a->leaf);
    a->ca_ok = X509_check_ca(a->ca);
    a->self_signed = X509_self_signed(a->root, 0);
    return NULL;
}

static X509 *der_copy(X509 *c)
{
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der);
    assert_true(n > 0);
    X509 *out = NULL;
    vt_error e = {0};
    assert_int_equal(vt_cert_parse(der, (size_t)n, &out, &e), VT_OK);
    OPENSSL_free(der);
    return out;
}

static void test_decoded_certs_shared_by_threads(void **state)
{
    (void)state;
    pki p;
    make_pki(&p);
    BIO *b = BIO_new(BIO_s_mem());
    pem_append(b, p.leaf);
    pem_append(b, p.ca);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    STACK_OF(X509) *chain = NULL;
    vt_error e = {0};
    assert_int_equal(vt_pem_certs(pem, (size_t)n, &chain, &e), VT_OK);
    BIO_free(b);
    /* the leaf and CA from PEM, the root from DER */
    X509 *root = der_copy(p.root);
    pthread_barrier_t go;
    assert_int_equal(pthread_barrier_init(&go, NULL, SETTLE_THREADS), 0);
    pthread_t t[SETTLE_THREADS];
    settle_arg a[SETTLE_THREADS];
    for (int i = 0; i < SETTLE_THREADS; i++) {
        a[i] = (settle_arg){.go = &go, .leaf = sk_X509_value(chain, 0), .ca = sk_X509_value(chain, 1), .root = root};
        assert_int_equal(pthread_create(&t[i], NULL, first_use, &a[i]), 0);
    }
    for (int i = 0; i < SETTLE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].issued, X509_V_OK);
        assert_int_equal(a[i].ca_ok, 1);
        assert_int_equal(a[i].self_signed, 1);
    }
    pthread_barrier_destroy(&go);
    X509_free(root);
    sk_X509_pop_free(chain, X509_free);
    free_pki(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_rule),
        cmocka_unit_test(test_certificate_boundaries),
        cmocka_unit_test(test_issuer_boundaries),
        cmocka_unit_test(test_crl_boundaries),
        cmocka_unit_test(test_pem_certs_known),
        cmocka_unit_test(test_decoded_certs_shared_by_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
