/* The CRL check memo (src/crypto/crl_memo.c) through vt_chain_verify: what it remembers saves
 * only a repeated CRL signature check; revocation, tampering and CRL expiry are still caught
 * with a memo that holds a pass for the same CRL issuer. */
#include <string.h>

#include "testutil.h"
#include "veritee/pki.h"
#include "veritee/x509.h"

#define T0 1780000000 /* 2026-05-28: an arbitrary fixed instant */

static const uint8_t REVOKED_SERIAL[] = {0x0a, 0x11, 0xce, 0x02};

/* root -> ca -> leaf, and root -> ca2 -> leaf2 where the root's CRL revokes ca2.
 *   root CRL [T0-600, T0+600]; the CAs' CRLs [T0-5000, T0+5000] (so the root CRL is the one
 *   that expires first) */
typedef struct pki {
    EVP_PKEY *root_k, *ca_k, *ca2_k, *leaf_k;
    X509 *root, *ca, *ca2, *leaf, *leaf2;
    X509_CRL *root_crl, *ca_crl, *ca2_crl;
    STACK_OF(X509) *roots, *untrusted, *untrusted2;
    STACK_OF(X509_CRL) *crls;
} pki;

static void make_pki(pki *p)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->root_k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->ca_k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->ca2_k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &p->leaf_k, NULL), VT_OK);
    vt_pki_cert_spec rs = {.subject_cn = "Memo Root", .not_before = T0 - 9000, .not_after = T0 + 9000, .ca = true,
                           .path_len = 1};
    vt_pki_cert_spec cs = {.subject_cn = "Memo CA", .not_before = T0 - 9000, .not_after = T0 + 9000, .ca = true,
                           .path_len = 0};
    vt_pki_cert_spec c2s = {.subject_cn = "Memo CA 2", .serial = REVOKED_SERIAL, .serial_len = sizeof REVOKED_SERIAL,
                            .not_before = T0 - 9000, .not_after = T0 + 9000, .ca = true, .path_len = 0};
    vt_pki_cert_spec ls = {.subject_cn = "Memo Leaf", .not_before = T0 - 9000, .not_after = T0 + 9000, .path_len = -1};
    assert_int_equal(vt_pki_cert(&rs, p->root_k, NULL, p->root_k, &p->root, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&cs, p->ca_k, p->root, p->root_k, &p->ca, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&c2s, p->ca2_k, p->root, p->root_k, &p->ca2, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&ls, p->leaf_k, p->ca, p->ca_k, &p->leaf, NULL), VT_OK);
    assert_int_equal(vt_pki_cert(&ls, p->leaf_k, p->ca2, p->ca2_k, &p->leaf2, NULL), VT_OK);
    const uint8_t *revoked[] = {REVOKED_SERIAL};
    size_t revoked_len[] = {sizeof REVOKED_SERIAL};
    assert_int_equal(vt_pki_crl(p->root, p->root_k, T0 - 600, T0 + 600, revoked, revoked_len, 1, &p->root_crl, NULL),
                     VT_OK);
    assert_int_equal(vt_pki_crl(p->ca, p->ca_k, T0 - 5000, T0 + 5000, NULL, NULL, 0, &p->ca_crl, NULL), VT_OK);
    assert_int_equal(vt_pki_crl(p->ca2, p->ca2_k, T0 - 5000, T0 + 5000, NULL, NULL, 0, &p->ca2_crl, NULL), VT_OK);
    p->roots = sk_X509_new_null();
    p->untrusted = sk_X509_new_null();
    p->untrusted2 = sk_X509_new_null();
    p->crls = sk_X509_CRL_new_null();
    sk_X509_push(p->roots, p->root);
    sk_X509_push(p->untrusted, p->ca);
    sk_X509_push(p->untrusted2, p->ca2);
    sk_X509_CRL_push(p->crls, p->root_crl);
    sk_X509_CRL_push(p->crls, p->ca_crl);
    sk_X509_CRL_push(p->crls, p->ca2_crl);
}

static void free_pki(pki *p)
{
    sk_X509_free(p->roots);
    sk_X509_free(p->untrusted);
    sk_X509_free(p->untrusted2);
    sk_X509_CRL_free(p->crls);
    X509 *certs[] = {p->root, p->ca, p->ca2, p->leaf, p->leaf2};
    for (size_t i = 0; i < sizeof certs / sizeof *certs; i++) X509_free(certs[i]);
    X509_CRL_free(p->root_crl);
    X509_CRL_free(p->ca_crl);
    X509_CRL_free(p->ca2_crl);
    EVP_PKEY_free(p->root_k);
    EVP_PKEY_free(p->ca_k);
    EVP_PKEY_free(p->ca2_k);
    EVP_PKEY_free(p->leaf_k);
}

static vt_err verify(pki *p, X509 *leaf, STACK_OF(X509) *untrusted, vt_time at, vt_crl_memo *m, vt_error *e)
{
    vt_error_clear(e);
    vt_chain_opts o = {.at = at, .crls = p->crls, .crl_required = true, .crl_memo = m};
    return vt_chain_verify(leaf, untrusted, p->roots, &o, "memo chain", e);
}

/* Every test: the PKI and a fresh memo (setup), both freed after it (teardown). */
typedef struct memo_fx {
    pki p;
    vt_crl_memo *m;
} memo_fx;

static int fx_setup(void **state)
{
    memo_fx *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    make_pki(&f->p);
    vt_error e;
    if (vt_crl_memo_new(&f->m, &e) != VT_OK) {
        free_pki(&f->p);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    memo_fx *f = *state;
    vt_crl_memo_free(f->m);
    free_pki(&f->p);
    free(f);
    return 0;
}

/* The memo answers the root CRL's second check in a chain (the root's own, after the CA's),
 * and in a second verification every CRL check (the CA's CRL for the leaf, the root's twice). */
static void test_memo_reuses_a_pass(void **state)
{
    memo_fx *f = *state;
    pki *p = &f->p;
    vt_crl_memo *m = f->m;
    vt_error e;
    assert_int_equal(vt_crl_memo_hits(m), 0);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_OK);
    assert_int_equal(vt_crl_memo_hits(m), 1);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_OK);
    assert_int_equal(vt_crl_memo_hits(m), 4); /* 1 + the three CRL checks of the second chain */
    vt_crl_memo_free(NULL);
}

/* A certificate listed in a CRL whose check the memo answers is still revoked: the memo skips
 * the CRL's signature check, never the lookup of the certificate in it. */
static void test_revoked_through_memoised_crl(void **state)
{
    memo_fx *f = *state;
    pki *p = &f->p;
    vt_crl_memo *m = f->m;
    vt_error e;
    assert_int_equal(verify(p, p->leaf2, p->untrusted2, T0, NULL, &e), VT_E_REVOKED); /* without a memo */
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_OK);
    unsigned long before = vt_crl_memo_hits(m);
    assert_int_equal(verify(p, p->leaf2, p->untrusted2, T0, m, &e), VT_E_REVOKED);
    assert_true(vt_crl_memo_hits(m) > before); /* the root CRL's check came from the memo */
    assert_non_null(strstr(e.msg, "Memo CA 2"));
    /* and again, now that every check of that chain is remembered */
    assert_int_equal(verify(p, p->leaf2, p->untrusted2, T0, m, &e), VT_E_REVOKED);
}

/* A tampered or forged root CRL is rejected after the genuine one passed with the same memo. */
static void test_tampered_crl_after_a_pass(void **state)
{
    memo_fx *f = *state;
    pki *p = &f->p;
    vt_crl_memo *m = f->m;
    vt_error e;
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_OK);
    assert_true(vt_crl_memo_hits(m) > 0);
    /* the genuine CRL's bytes with the signature's last byte flipped */
    vt_buf der = {0};
    assert_int_equal(vt_pki_crl_der(p->root_crl, &der, &e), VT_OK);
    der.ptr[der.len - 1] ^= 0x01;
    X509_CRL *tampered = NULL;
    assert_int_equal(vt_crl_parse(der.ptr, der.len, &tampered, &e), VT_OK);
    vt_buf_free(&der);
    sk_X509_CRL_set(p->crls, 0, tampered);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "CRL signature failure"));
    /* a CRL in the root's name signed by another key, listing nothing */
    EVP_PKEY *other = NULL;
    X509_CRL *forged = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P256, &other, NULL), VT_OK);
    assert_int_equal(vt_pki_crl(p->root, other, T0 - 600, T0 + 600, NULL, NULL, 0, &forged, NULL), VT_OK);
    sk_X509_CRL_set(p->crls, 0, forged);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "CRL signature failure"));
    /* the genuine one still passes */
    sk_X509_CRL_set(p->crls, 0, p->root_crl);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0, m, &e), VT_OK);
    X509_CRL_free(tampered);
    X509_CRL_free(forged);
    EVP_PKEY_free(other);
}

/* A pass remembered at one instant does not carry a verification at another: past the root
 * CRL's nextUpdate it has expired, memo or not. */
static void test_expired_crl_at_another_instant(void **state)
{
    memo_fx *f = *state;
    pki *p = &f->p;
    vt_crl_memo *m = f->m;
    vt_error e;
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 599, m, &e), VT_OK);
    assert_int_equal(vt_crl_memo_hits(m), 1);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 601, m, &e), VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "CRL of \"Memo Root\" expired on"));
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 - 601, m, &e), VT_E_EXPIRED);
    assert_int_equal(vt_crl_memo_hits(m), 1);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 599, m, &e), VT_OK);
    assert_int_equal(vt_crl_memo_hits(m), 4);
}

/* A pass that needed the verify callback's leave (the nextUpdate second itself, which OpenSSL
 * counts as expired and veritee's rule keeps valid) is not remembered: only clean passes are. */
static void test_forgiven_pass_not_remembered(void **state)
{
    memo_fx *f = *state;
    pki *p = &f->p;
    vt_crl_memo *m = f->m;
    vt_error e;
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 600, m, &e), VT_OK);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 600, m, &e), VT_OK);
    /* only the CA CRL's check (clean at that second) came from the memo, not the root CRL's */
    assert_int_equal(vt_crl_memo_hits(m), 1);
    /* one second earlier all of them are clean passes: 1 + 1, then 3 */
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 599, m, &e), VT_OK);
    assert_int_equal(verify(p, p->leaf, p->untrusted, T0 + 599, m, &e), VT_OK);
    assert_int_equal(vt_crl_memo_hits(m), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memo_reuses_a_pass, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_through_memoised_crl, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tampered_crl_after_a_pass, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_expired_crl_at_another_instant, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_forgiven_pass_not_remembered, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
