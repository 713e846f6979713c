/* Hostile-input sweeps over SEV-SNP evidence: truncation at every offset, every byte of real
 * reports flipped (each region must fail with the outcome its spec role implies), every byte of
 * the VCEK and ASK flipped, and the extended-report certificate table's framing rules. */
#include "snp_fixtures.h"

enum { OK = 1 << VT_OK, INV = 1 << VT_E_INVALID, UNS = 1 << VT_E_UNSUPPORTED, VER = 1 << VT_E_VERIFY };

/* Outcomes allowed when bit 0 of byte `off` of a valid report of `version` is flipped
 * (SEV-SNP ABI "ATTESTATION_REPORT" table: signed fields fail the signature or a binding check,
 * must-be-zero ranges fail the parse, version/algorithm changes are unsupported). */
static int expected(size_t off, uint32_t version)
{
    if (off == 0x000) return VER | INV;                    /* VERSION 2<->3, 4<->5 */
    if (off < 0x004) return UNS;
    if (off >= 0x00c && off < 0x010) return INV;           /* POLICY 63:32 */
    if (off >= 0x034 && off < 0x038) return UNS;           /* SIGNATURE_ALGO */
    if (off >= 0x049 && off < 0x050) return INV;           /* KEY_INFO 31:8, reserved 0x4C */
    if (off >= 0x188 && off < 0x1a0) {
        if (version < 3 || off >= 0x18b) return INV;
        return off == 0x188 ? UNS : VER;                   /* family -> unknown product */
    }
    if (off == 0x1eb || off == 0x1ef) return INV;
    if (off >= 0x1f8 && off < 0x208) return version >= 5 ? VER : INV;
    if (off >= 0x208 && off < 0x2a0) return INV;
    if ((off >= 0x2d0 && off < 0x2e8) || off >= 0x318) return INV; /* r, s padding, 0x330.. */
    return VER;
}

typedef struct sweep_set {
    const char *report;
    const char *files[3];
} sweep_set;

static const sweep_set sweep_sets[] = {
    {"snp/milan_v2_trustee/report.bin", {"snp/milan_v2_trustee/vcek.der", "snp/chains/milan_ask_ark.pem"}},
    {"snp/milan_v3_vlek_trustee/report.bin",
     {"snp/milan_v3_vlek_trustee/vlek.der", "snp/chains/milan_asvk_ark.pem"}},
    {"snp/genoa_v5_routex/report.bin", {"snp/genoa_v5_routex/vcek_chain.pem"}},
    {"snp/turin_v5_routex/report.bin", {"snp/turin_v5_routex/vcek_chain.pem"}},
};

static void test_report_bit_flips(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof sweep_sets / sizeof sweep_sets[0]; s++) {
        vt_buf r = {0};
        vt_test_load(sweep_sets[s].report, &r);
        STACK_OF(X509) *certs = sk_X509_new_null();
        for (size_t i = 0; sweep_sets[s].files[i] != NULL; i++)
            snp_append(certs, snp_load_certs(sweep_sets[s].files[i]));
        vt_snp_verifier *v = NULL;
        vt_error e;
        assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
        vt_snp_collateral c = {.certs = certs};
        vt_snp_verify_opts o = {.at = SNP_REF_TIME};
        assert_int_equal(vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, NULL, &e), VT_OK);
        uint32_t version = r.ptr[0];
        for (size_t off = 0; off < r.len; off++) {
            r.ptr[off] ^= 1;
            vt_checks ck = {0};
            vt_err rc = vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, &ck, &e);
            if (!((1 << rc) & expected(off, version)))
                fail_msg("%s: byte 0x%03zx flipped: %s (%s: %s), expected mask 0x%x",
                         sweep_sets[s].report, off, vt_code_name(rc), e.check, e.msg,
                         expected(off, version));
            /* the failing check is in the list, marked failed */
            const vt_check *k = vt_checks_find(&ck, e.check);
            if (k == NULL) fail_msg("byte 0x%03zx: check %s not listed", off, e.check);
            assert_int_equal(k->status, VT_CHECK_FAIL);
            r.ptr[off] ^= 1;
        }
        assert_int_equal(vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, NULL, &e), VT_OK);
        vt_snp_verifier_free(v);
        sk_X509_pop_free(certs, X509_free);
        vt_buf_free(&r);
    }
}

/* Binding checks name themselves: CHIP_ID -> chip_id, REPORTED_TCB fields -> reported_tcb. */
static void test_region_checks(void **state)
{
    (void)state;
    vt_buf r = {0};
    vt_test_load("snp/turin_v5_routex/report.bin", &r);
    STACK_OF(X509) *certs = snp_load_certs("snp/turin_v5_routex/vcek_chain.pem");
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_collateral c = {.certs = certs};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    static const struct { size_t off; const char *check; } cases[] = {
        {0x1a0, "chip_id"}, {0x1a7, "chip_id"}, {0x1a8, "chip_id"}, /* Turin: 8-byte hwID, rest zero */
        {0x180, "reported_tcb"}, {0x181, "reported_tcb"}, {0x183, "reported_tcb"},
        {0x187, "reported_tcb"}, {0x184, "report_signature"}, /* Turin reserved TCB byte */
        {0x050, "report_signature"}, {0x031, "vmpl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.ptr[cases[i].off] ^= 1;
        assert_int_equal(vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
        if (strcmp(e.check, cases[i].check) != 0)
            fail_msg("byte 0x%zx: failed %s, expected %s", cases[i].off, e.check, cases[i].check);
        r.ptr[cases[i].off] ^= 1;
    }
    vt_snp_verifier_free(v);
    sk_X509_pop_free(certs, X509_free);
    vt_buf_free(&r);
}

static void test_truncation(void **state)
{
    (void)state;
    vt_buf r = {0};
    vt_test_load("snp/genoa_v5_routex/report.bin", &r);
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_snp_report rep;
    for (size_t n = 0; n < r.len; n++) {
        assert_int_equal(vt_snp_report_parse(r.ptr, n, &rep, &e), VT_E_INVALID);
        assert_int_equal(vt_snp_verify(v, r.ptr, n, NULL, &o, NULL, NULL, &e), VT_E_INVALID);
    }
    /* A report followed by bytes that are not a certificate table. */
    uint8_t big[VT_SNP_REPORT_SIZE + 48];
    memcpy(big, r.ptr, r.len);
    memset(big + r.len, 0xa5, 48);
    for (size_t n = r.len + 1; n <= sizeof big; n++)
        assert_int_equal(vt_snp_verify(v, big, n, NULL, &o, NULL, NULL, &e), VT_E_INVALID);
    assert_int_equal(vt_snp_report_parse(big, sizeof big, &rep, &e), VT_E_INVALID);
    vt_snp_verifier_free(v);
    vt_buf_free(&r);
}

/* Every byte of the VCEK and of the ASK flipped: the chain never verifies. */
static void sweep_cert(const char *what, int which)
{
    vt_buf r = {0};
    vt_test_load("snp/turin_v5_routex/report.bin", &r);
    STACK_OF(X509) *chain = snp_load_certs("snp/turin_v5_routex/vcek_chain.pem");
    X509 *target = sk_X509_value(chain, which);
    unsigned char *der = NULL;
    int n = i2d_X509(target, &der);
    assert_true(n > 0);
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    for (int off = 0; off < n; off++) {
        der[off] ^= 1;
        X509 *bad = NULL;
        if (vt_cert_parse(der, (size_t)n, &bad, &e) == VT_OK) {
            STACK_OF(X509) *certs = sk_X509_new_null();
            for (int i = 0; i < sk_X509_num(chain); i++) {
                X509 *x = i == which ? bad : sk_X509_value(chain, i);
                if (i != which) X509_up_ref(x);
                sk_X509_push(certs, x);
            }
            vt_snp_collateral c = {.certs = certs};
            vt_err rc = vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, NULL, &e);
            if (rc == VT_OK) fail_msg("%s byte %d flipped: verified", what, off);
            sk_X509_pop_free(certs, X509_free);
            vt_snp_verifier_flush(v);
        }
        der[off] ^= 1;
    }
    OPENSSL_free(der);
    vt_snp_verifier_free(v);
    sk_X509_pop_free(chain, X509_free);
    vt_buf_free(&r);
}

static void test_vcek_bit_flips(void **state)
{
    (void)state;
    sweep_cert("VCEK", 0);
}

static void test_ask_bit_flips(void **state)
{
    (void)state;
    sweep_cert("ASK", 1);
}

/* ---- certificate table ---- */

static const uint8_t guid_vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t guid_ask[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t guid_ark[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A table {VCEK, ASK, ARK} of the Turin chain; returns its size. */
static size_t build_table(uint8_t *out, size_t cap)
{
    STACK_OF(X509) *chain = snp_load_certs("snp/turin_v5_routex/vcek_chain.pem");
    const uint8_t *guids[3] = {guid_vcek, guid_ask, guid_ark};
    size_t off = 4 * 24;
    memset(out, 0, off);
    for (int i = 0; i < 3; i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(sk_X509_value(chain, i), &der);
        assert_true(n > 0 && off + (size_t)n <= cap);
        memcpy(out + i * 24, guids[i], 16);
        put32(out + i * 24 + 16, (uint32_t)off);
        put32(out + i * 24 + 20, (uint32_t)n);
        memcpy(out + off, der, (size_t)n);
        off += (size_t)n;
        OPENSSL_free(der);
    }
    sk_X509_pop_free(chain, X509_free);
    return off;
}

static void test_certtable(void **state)
{
    (void)state;
    static uint8_t ev[VT_SNP_REPORT_SIZE + 8192];
    vt_buf r = {0};
    vt_test_load("snp/turin_v5_routex/report.bin", &r);
    memcpy(ev, r.ptr, r.len);
    vt_buf_free(&r);
    uint8_t *t = ev + VT_SNP_REPORT_SIZE;
    size_t tl = build_table(t, sizeof ev - VT_SNP_REPORT_SIZE);
    vt_snp_certtable ct;
    vt_error e;
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_OK);
    assert_int_equal(ct.n, 3);
    assert_int_equal(ct.entries[0].kind, VT_SNP_CERT_VCEK);
    assert_int_equal(ct.entries[1].kind, VT_SNP_CERT_ASK);
    assert_int_equal(ct.entries[2].kind, VT_SNP_CERT_ARK);

    /* Evidence with its certificates attached verifies without any other collateral. */
    vt_snp_verifier *v = NULL;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_checks ck = {0};
    assert_int_equal(vt_snp_verify(v, ev, VT_SNP_REPORT_SIZE + tl, NULL, &o, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "certtable")->status, VT_CHECK_PASS);
    vt_snp_verifier_flush(v);
    /* Without the table, nothing to verify with. */
    assert_int_equal(vt_snp_verify(v, ev, VT_SNP_REPORT_SIZE, NULL, &o, NULL, NULL, &e), VT_E_MISSING);

    /* Every proper prefix of the table is malformed (the last blob ends the table). */
    for (size_t n = 1; n < tl; n++)
        assert_int_equal(vt_snp_certtable_parse(t, n, &ct, &e), VT_E_INVALID);
    assert_int_equal(vt_snp_certtable_parse(t, 0, &ct, &e), VT_OK);
    assert_int_equal(ct.n, 0);

    uint8_t save[24];
    memcpy(save, t + 24, 24);
    put32(t + 24 + 16, 24); /* ASK blob inside the header */
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_E_INVALID);
    put32(t + 24 + 16, 0xffffffff); /* offset + length overflows 32 bits */
    put32(t + 24 + 20, 0xffffffff);
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_E_INVALID);
    memcpy(t + 24, save, 24);
    put32(t + 24 + 20, 0); /* empty blob */
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_E_INVALID);
    memcpy(t + 24, save, 24);
    memcpy(t + 24, guid_vcek, 16); /* duplicate GUID */
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_E_INVALID);
    memset(t + 24, 0, 16); /* null GUID with a blob */
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_E_INVALID);
    memcpy(t + 24, save, 24);
    t[24 + 15] ^= 1; /* unknown GUID: kept as "other", ignored by the verifier */
    assert_int_equal(vt_snp_certtable_parse(t, tl, &ct, &e), VT_OK);
    assert_int_equal(ct.entries[1].kind, VT_SNP_CERT_OTHER);
    assert_int_equal(vt_snp_verify(v, ev, VT_SNP_REPORT_SIZE + tl, NULL, &o, NULL, NULL, &e), VT_E_MISSING);
    memcpy(t + 24, save, 24);
    t[24 * 2 + 16 + 0] ^= 1; /* ARK blob shifted by one byte: does not decode */
    assert_int_equal(vt_snp_verify(v, ev, VT_SNP_REPORT_SIZE + tl, NULL, &o, NULL, NULL, &e), VT_E_INVALID);
    assert_string_equal(e.check, "certtable");
    t[24 * 2 + 16 + 0] ^= 1;

    /* More than VT_SNP_CERTTABLE_MAX entries. */
    uint8_t many[(VT_SNP_CERTTABLE_MAX + 2) * 24 + 1];
    memset(many, 0, sizeof many);
    for (int i = 0; i <= VT_SNP_CERTTABLE_MAX; i++) {
        memcpy(many + i * 24, guid_ark, 16);
        many[i * 24] = (uint8_t)i;
        put32(many + i * 24 + 16, (VT_SNP_CERTTABLE_MAX + 2) * 24);
        put32(many + i * 24 + 20, 1);
    }
    assert_int_equal(vt_snp_certtable_parse(many, sizeof many, &ct, &e), VT_E_INVALID);
    vt_snp_verifier_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_bit_flips), cmocka_unit_test(test_region_checks),
        cmocka_unit_test(test_truncation),       cmocka_unit_test(test_vcek_bit_flips),
        cmocka_unit_test(test_ask_bit_flips),    cmocka_unit_test(test_certtable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
