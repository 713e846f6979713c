/* SEV-SNP verification against the real reports of shared/vectors/snp and peer_samples/snp_*,
 * with the facts their READMEs state, and the negative cases those sources derive. */
#include "snp_fixtures.h"

#include "veritee/codec.h"
#include "veritee/crypto.h"

#define MILAN_CHAIN "snp/chains/milan_ask_ark.pem"
#define MILAN_VLEK_CHAIN "snp/chains/milan_asvk_ark.pem"
#define GENOA_CHAIN "snp/chains/genoa_ask_ark.pem"

typedef struct expect {
    const char *report;
    const char *files[3];
    vt_time at;
    uint32_t version;
    vt_snp_product product;
    vt_snp_signing_key signer;
    uint32_t vmpl;
    uint64_t policy;
    uint64_t platform_info;
    uint64_t reported_tcb;
    uint8_t bl, tee, snp, ucode, fmc;
    const char *chip_prefix;
    const char *measurement; /* full or prefix */
    const char *fw;          /* current firmware major.minor.build */
    uint8_t fam, mod, step;  /* 0 for v2 */
    uint64_t mit;            /* v5: launch and current mitigation vector */
} expect;

static const expect sets[] = {
    {"snp/milan_v2_gosevguest/report.bin", {"snp/milan_v2_gosevguest/vcek.der", MILAN_CHAIN}, 0,
     2, VT_SNP_MILAN, VT_SNP_KEY_VCEK, 0, 0xb0000, 0x1, 0x4405000000000002, 2, 0, 5, 68, 0,
     "3ac3fe21e13fb099",
     "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
     "1.49.3", 0, 0, 0, 0},
    {"snp/milan_v2_trustee/report.bin", {"snp/milan_v2_trustee/vcek.der", MILAN_CHAIN}, 0, 2,
     VT_SNP_MILAN, VT_SNP_KEY_VCEK, 0, 0x3001f, 0x1, 0x7308000000000003, 3, 0, 8, 115, 0,
     "c38427a30d4c7af9",
     "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
     "1.52.4", 0, 0, 0, 0},
    {"snp/milan_v3_vlek_trustee/report.bin", {"snp/milan_v3_vlek_trustee/vlek.der", MILAN_VLEK_CHAIN},
     0, 3, VT_SNP_MILAN, VT_SNP_KEY_VLEK, 1, 0x30000, 0x27, 0xd918000000000004, 4, 0, 24, 217, 0,
     "0000000000000000",
     "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
     "1.55.29", 0x19, 0x01, 1, 0},
    {"snp/milan_v3_routex/report.bin", {"snp/milan_v3_routex/vcek_chain.pem"}, 0, 3, VT_SNP_MILAN,
     VT_SNP_KEY_VCEK, 0, 0x30000, 0x25, 0xdb18000000000004, 4, 0, 24, 219, 0, "a3fdc2c64dc299ab",
     "195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3",
     "1.55.29", 0x19, 0x01, 1, 0},
    {"snp/milan_v5_gcp_teekit/report_vmpl0.bin", {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN},
     0, 5, VT_SNP_MILAN, VT_SNP_KEY_VCEK, 0, 0x30000, 0x25, 0xde1b000000000004, 4, 0, 27, 222, 0,
     "980cf7b61876cb37", NULL, "1.55.35", 0x19, 0x01, 1, 0xb},
    {"snp/milan_v5_gcp_teekit/report_vmpl1.bin", {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN},
     0, 5, VT_SNP_MILAN, VT_SNP_KEY_VCEK, 1, 0x30000, 0x25, 0xde1b000000000004, 4, 0, 27, 222, 0,
     "980cf7b61876cb37",
     "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3",
     "1.55.35", 0x19, 0x01, 1, 0xb},
    /* VMPL 1 decoded here (the README does not state it). */
    {"snp/milan_v5_gcp_teekit/report_x25519_bound.bin",
     {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN}, 0, 5, VT_SNP_MILAN, VT_SNP_KEY_VCEK, 1,
     0x30000, 0x25, 0xde1b000000000004, 4, 0, 27, 222, 0, "980cf7b61876cb37", NULL, "1.55.35",
     0x19, 0x01, 1, 0xb},
    {"snp/genoa_v3_siena_trustee/report.bin", {"snp/genoa_v3_siena_trustee/vcek.der", GENOA_CHAIN},
     0, 3, VT_SNP_GENOA, VT_SNP_KEY_VCEK, 0, 0x30000, 0x25, 0x191700000000000a, 10, 0, 23, 25, 0,
     "371c55d6d15cb50f",
     "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e",
     "1.55.40", 0x19, 0xa0, 2, 0},
    {"snp/genoa_v3_routex/report.bin", {"snp/genoa_v3_routex/vcek_chain.pem"}, 0, 3, VT_SNP_GENOA,
     VT_SNP_KEY_VCEK, 0, 0x30000, 0x25, 0x4817000000000009, 9, 0, 23, 72, 0, "9dc99962c063029e",
     "b0f5d097b5c7addd4ee06a6f5fd04a745c5415d77363ca74857b44226a1bd7da50329549def0897c234695e37b8c2793",
     "1.55.39", 0x19, 0x11, 1, 0},
    {"snp/genoa_v5_routex/report.bin", {"snp/genoa_v5_routex/vcek_chain.pem"}, 0, 5, VT_SNP_GENOA,
     VT_SNP_KEY_VCEK, 0, 0x30000, 0x25, 0x581b00000000000a, 10, 0, 27, 88, 0, "e0234bedb3918431",
     "bece7399a4da054a63a2e3fa1a47ff98c88e391d4379126fc4e75c677f25b6cd6bfd8ef609a8638049633ac7e00e4ac1",
     "1.55.49", 0x19, 0x11, 1, 0xb},
    {"snp/turin_v5_routex/report.bin", {"snp/turin_v5_routex/vcek_chain.pem"}, 0, 5, VT_SNP_TURIN,
     VT_SNP_KEY_VCEK, 0, 0x30000, 0x67, 0x4700000002000100, 1, 0, 2, 71, 0,
     "3b42092f69c656d30000000000000000",
     "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624",
     "1.55.61", 0x1a, 0x02, 1, 0},
    /* Peer samples: the Genoa VCEK starts 2026-01-11, so they are verified at 2026-06-01. */
    {"peer_samples/snp_genoa_tinfoil/report.bin",
     {"peer_samples/snp_genoa_tinfoil/vcek.der", "peer_samples/snp_genoa_tinfoil/cert_chain.pem"},
     1780272000, 3, VT_SNP_GENOA, VT_SNP_KEY_VCEK, 0, 0, 0, 0x541700000000000a, 10, 0, 23, 84, 0,
     "1af1aa6c1f56037a", NULL, NULL, 0x19, 0x11, 0xff, 0},
    {"peer_samples/snp_milan_virtee/report.bin",
     {"peer_samples/snp_milan_virtee/vcek.der", "peer_samples/snp_milan_virtee/cert_chain.pem"},
     1780272000, 2, VT_SNP_MILAN, VT_SNP_KEY_VCEK, 0, 0, 0, 0x7308000000000003, 3, 0, 8, 115, 0,
     "d49554ec717f4e5b", NULL, NULL, 0, 0, 0, 0},
};

static void check_facts(const expect *x, const vt_snp_claims *c)
{
    const vt_snp_report *r = &c->report;
    assert_int_equal(r->version, x->version);
    assert_int_equal(c->product, x->product);
    assert_int_equal(c->signer, x->signer);
    assert_int_equal(r->signing_key, x->signer);
    assert_int_equal(r->vmpl, x->vmpl);
    assert_int_equal(r->signature_algo, 1);
    if (x->policy) assert_int_equal(r->policy.raw, x->policy);
    if (x->platform_info) assert_int_equal(r->platform_info.raw, x->platform_info);
    assert_int_equal(r->reported_tcb, x->reported_tcb);
    assert_int_equal(c->reported_tcb.boot_loader, x->bl);
    assert_int_equal(c->reported_tcb.tee, x->tee);
    assert_int_equal(c->reported_tcb.snp, x->snp);
    assert_int_equal(c->reported_tcb.microcode, x->ucode);
    assert_int_equal(c->reported_tcb.has_fmc, x->product == VT_SNP_TURIN);
    assert_int_equal(c->reported_tcb.fmc, x->fmc);
    snp_assert_hex_prefix(r->chip_id, x->chip_prefix);
    if (x->measurement) snp_assert_hex_prefix(r->measurement, x->measurement);
    if (x->fw) {
        char fw[16];
        snprintf(fw, sizeof fw, "%u.%u.%u", r->current_version.major, r->current_version.minor,
                 r->current_version.build);
        assert_string_equal(fw, x->fw);
    }
    assert_int_equal(r->has_cpuid, x->version >= 3);
    assert_int_equal(r->cpuid_fam_id, x->fam);
    assert_int_equal(r->cpuid_mod_id, x->mod);
    if (x->fam && x->step != 0xff) assert_int_equal(r->cpuid_step, x->step);
    assert_int_equal(r->has_mit_vectors, x->version >= 5);
    assert_int_equal(r->launch_mit_vector, x->mit);
    assert_int_equal(r->current_mit_vector, x->mit);
}

static void test_vectors_verify(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const expect *x = &sets[i];
        vt_snp_verify_opts o = {.at = x->at ? x->at : SNP_REF_TIME};
        vt_snp_claims cl;
        vt_checks ck = {0};
        vt_error_clear(&e);
        vt_err rc = snp_verify_files(v, x->report, x->files, &o, &cl, &ck, &e);
        if (rc != VT_OK) fail_msg("%s: %s: %s", x->report, e.check, e.msg);
        print_message("verified %s\n", x->report);
        check_facts(x, &cl);
        for (size_t k = 0; k < ck.n; k++) assert_int_not_equal(ck.items[k].status, VT_CHECK_FAIL);
        assert_int_equal(vt_checks_find(&ck, "report_signature")->status, VT_CHECK_PASS);
        assert_int_equal(vt_checks_find(&ck, "reported_tcb")->status, VT_CHECK_PASS);
        assert_int_equal(vt_checks_find(&ck, "ark_trusted")->status, VT_CHECK_PASS);
        assert_int_equal(vt_checks_find(&ck, "revocation")->status, VT_CHECK_SKIP);
        assert_int_equal(vt_checks_find(&ck, "chip_id")->status,
                         x->signer == VT_SNP_KEY_VLEK ? VT_CHECK_SKIP : VT_CHECK_PASS);
    }
    vt_snp_verifier_free(v);
}

/* The encoder is the parser's inverse: every real report (versions 2, 3, 5; Milan, Genoa,
 * Turin; VCEK and VLEK) re-encodes byte for byte from its parsed fields (Table 23 once). */
static void test_report_encode_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        vt_buf b = {0};
        vt_test_load(sets[i].report, &b);
        vt_snp_report r;
        vt_error e;
        uint8_t out[VT_SNP_REPORT_SIZE];
        if (vt_snp_report_parse(b.ptr, b.len, &r, &e) != VT_OK) fail_msg("%s: %s", sets[i].report, e.msg);
        assert_int_equal(vt_snp_report_encode(&r, out, &e), VT_OK);
        if (memcmp(out, b.ptr, VT_SNP_REPORT_SIZE) != 0) fail_msg("%s re-encodes differently", sets[i].report);
        /* a field lands at its table offset */
        assert_memory_equal(out + VT_SNP_OFF_MEASUREMENT, r.measurement, 48);
        assert_memory_equal(out + VT_SNP_OFF_CHIP_ID, r.chip_id, 64);
        vt_buf_free(&b);
    }
}

/* Facts beyond the table: debug policy, ID-key digest, family/image id, TCB values that differ. */
static void test_vector_details(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_snp_claims cl;
    const char *gsg[] = {"snp/milan_v2_gosevguest/vcek.der", MILAN_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_gosevguest/report.bin", gsg, &o, &cl, NULL, &e), VT_OK);
    assert_true(cl.report.policy.debug);
    assert_true(cl.report.policy.smt);
    assert_false(cl.report.policy.migrate_ma);
    assert_string_equal(cl.leaf_ext.product_name, "Milan-B0");
    assert_int_equal(cl.leaf_ext.hwid_len, 64);
    assert_true(vt_bytes_is_zero(cl.report.host_data, 32));
    assert_true(vt_bytes_is_zero(cl.report.id_key_digest, 48));
    snp_assert_hex_prefix(cl.ark_sha256, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");

    const char *tru[] = {"snp/milan_v2_trustee/vcek.der", MILAN_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_trustee/report.bin", tru, &o, &cl, NULL, &e), VT_OK);
    assert_int_equal(cl.report.guest_svn, 4);
    assert_false(cl.report.policy.debug);
    assert_int_equal(cl.report.policy.abi_minor, 31);
    snp_assert_hex(cl.report.family_id, 16, "01000000000000000000000000000000");
    snp_assert_hex(cl.report.image_id, 16, "02000000000000000000000000000000");
    snp_assert_hex_prefix(cl.report.report_data,
                          "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2");
    assert_true(vt_bytes_is_zero(cl.report.report_data + 32, 32));
    snp_assert_hex_prefix(cl.report.id_key_digest, "0356215882a82527");
    assert_int_equal(cl.current_tcb.microcode, 206);
    assert_int_equal(cl.reported_tcb.microcode, 115);
    assert_int_equal(cl.report.committed_version.major, 1);

    const char *vlek[] = {"snp/milan_v3_vlek_trustee/vlek.der", MILAN_VLEK_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_vlek_trustee/report.bin", vlek, &o, &cl, NULL, &e), VT_OK);
    assert_int_equal(cl.current_tcb.raw, 0xdc18000000000004);
    assert_int_equal(cl.committed_tcb.raw, 0xdb18000000000004);
    assert_int_equal(cl.launch_tcb.raw, 0xdb18000000000004);
    assert_int_equal(cl.leaf_ext.hwid_len, 0);
    assert_string_equal(cl.leaf_ext.csp_id, "CN=cc-us-east-2.amazonaws.com");
    assert_string_equal(cl.leaf_ext.product_name, "Milan");
    assert_int_equal(cl.leaf_ext.ucode_spl, 217);
    assert_true(cl.report.platform_info.smt_en && cl.report.platform_info.tsme_en);
    assert_true(cl.report.platform_info.ecc_en && cl.report.platform_info.alias_check_complete);

    const char *tur[] = {"snp/turin_v5_routex/vcek_chain.pem", NULL};
    assert_int_equal(snp_verify_files(v, "snp/turin_v5_routex/report.bin", tur, &o, &cl, NULL, &e), VT_OK);
    assert_int_equal(cl.leaf_ext.hwid_len, 8);
    snp_assert_hex(cl.leaf_ext.hwid, 8, "3b42092f69c656d3");
    assert_true(cl.leaf_ext.has_fmc);
    assert_int_equal(cl.leaf_ext.struct_version, 1);
    assert_int_equal(cl.report.platform_info.other_bits, 0x40);
    vt_snp_verifier_free(v);
}

/* REPORT_DATA of the go-sev-guest report is the nonce 01..05 followed by zeros. */
static void test_nonce(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    const char *f[] = {"snp/milan_v2_gosevguest/vcek.der", MILAN_CHAIN, NULL};
    uint8_t nonce[5] = {1, 2, 3, 4, 5};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME, .report_data = nonce, .report_data_len = 5};
    vt_checks ck = {0};
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_gosevguest/report.bin", f, &o, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "report_data")->status, VT_CHECK_PASS);
    nonce[4] = 6;
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_gosevguest/report.bin", f, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "report_data");
    o.report_data_len = 4; /* a prefix with non-zero bytes after it */
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_gosevguest/report.bin", f, &o, NULL, NULL, &e), VT_E_VERIFY);
    vt_snp_verifier_free(v);
}

/* teekit: REPORT_DATA of the x25519-bound report = SHA-512(NONCE || X25519_KEY). */
static void test_x25519_binding(void **state)
{
    (void)state;
    vt_buf txt = {0};
    vt_test_load("snp/milan_v5_gcp_teekit/x25519_binding.txt", &txt);
    const char *n = strstr((const char *)txt.ptr, "NONCE="), *k = strstr((const char *)txt.ptr, "X25519_KEY=");
    assert_non_null(n);
    assert_non_null(k);
    uint8_t in[64], rd[64];
    vt_error e;
    char hx[65] = {0};
    memcpy(hx, n + 6, 64);
    assert_int_equal(vt_hex_decode_fixed(hx, in, 32, &e), VT_OK);
    memcpy(hx, k + 11, 64);
    assert_int_equal(vt_hex_decode_fixed(hx, in + 32, 32, &e), VT_OK);
    assert_int_equal(vt_hash(VT_SHA512, in, sizeof in, rd, &e), VT_OK);
    vt_buf_free(&txt);
    vt_snp_verifier *v = NULL;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    const char *f[] = {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN, NULL};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME, .report_data = rd, .report_data_len = 64};
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_x25519_bound.bin", f, &o, NULL, NULL, &e), VT_OK);
    rd[63] ^= 1;
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_x25519_bound.bin", f, &o, NULL, NULL, &e), VT_E_VERIFY);
    vt_snp_verifier_free(v);
}

/* Verify raw report bytes (mutated by the caller) with the trustee VCEK chain. */
static vt_err verify_bytes(vt_snp_verifier *v, const uint8_t *p, size_t n, const char *const *files,
                           const vt_snp_verify_opts *o, vt_error *e)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    for (size_t i = 0; files[i] != NULL; i++) snp_append(certs, snp_load_certs(files[i]));
    vt_snp_collateral c = {.certs = certs};
    vt_err rc = vt_snp_verify(v, p, n, &c, o, NULL, NULL, e);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

/* trustee tests: check_report_signature_failure, check_report_tcb_failure,
 * check_vcek_signature_failure, check_milan_chain_signature_failure. */
static void test_trustee_negatives(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_buf r = {0};
    vt_test_load("snp/milan_v2_trustee/report.bin", &r);
    const char *f[] = {"snp/milan_v2_trustee/vcek.der", MILAN_CHAIN, NULL};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    r.ptr[42]++;
    assert_int_equal(verify_bytes(v, r.ptr, r.len, f, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "report_signature");
    r.ptr[42]--;
    r.ptr[0x180]++;
    assert_int_equal(verify_bytes(v, r.ptr, r.len, f, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "reported_tcb");
    r.ptr[0x180]--;
    assert_int_equal(verify_bytes(v, r.ptr, r.len, f, &o, &e), VT_OK);

    /* VCEK byte 42 changed: the chain must fail (or the certificate not decode). */
    vt_buf vc = {0};
    vt_test_load("snp/milan_v2_trustee/vcek.der", &vc);
    vc.ptr[42]++;
    X509 *bad = NULL;
    if (vt_cert_parse(vc.ptr, vc.len, &bad, &e) == VT_OK) {
        STACK_OF(X509) *chain = snp_load_certs(MILAN_CHAIN);
        vt_snp_collateral c = {.leaf = bad, .certs = chain};
        vt_err rc = vt_snp_verify(v, r.ptr, r.len, &c, &o, NULL, NULL, &e);
        assert_int_not_equal(rc, VT_OK);
        sk_X509_pop_free(chain, X509_free);
        X509_free(bad);
    }
    vt_buf_free(&vc);

    /* The VCEK under ARK + ASVK instead of ARK + ASK (a fresh verifier: the first one has
     * this VCEK's chain cached, and a cached chain stays verified whatever else is given). */
    const char *asvk[] = {"snp/milan_v2_trustee/vcek.der", MILAN_VLEK_CHAIN, NULL};
    vt_snp_verifier *v3 = NULL;
    assert_int_equal(vt_snp_verifier_new(&v3, &e), VT_OK);
    assert_int_equal(verify_bytes(v3, r.ptr, r.len, asvk, &o, &e), VT_E_MISSING);
    assert_string_equal(e.check, "leaf_signed_by_ask");
    vt_snp_verifier_free(v3);
    /* The VCEK of another chip (same product and TCB). */
    const char *other[] = {"peer_samples/snp_milan_virtee/vcek.der", MILAN_CHAIN, NULL};
    assert_int_equal(verify_bytes(v, r.ptr, r.len, other, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "chip_id");
    /* The VCEK of another chip and TCB. */
    const char *other2[] = {"snp/milan_v2_gosevguest/vcek.der", MILAN_CHAIN, NULL};
    assert_int_equal(verify_bytes(v, r.ptr, r.len, other2, &o, &e), VT_E_VERIFY);
    /* No ARK available: the built-in pins are fingerprints, the certificate must be given. */
    STACK_OF(X509) *ask_only = snp_load_certs(MILAN_CHAIN);
    X509_free(sk_X509_pop(ask_only));
    STACK_OF(X509) *leafs = snp_load_certs("snp/milan_v2_trustee/vcek.der");
    X509 *leaf = sk_X509_value(leafs, 0);
    vt_snp_verifier *v2 = NULL;
    assert_int_equal(vt_snp_verifier_new(&v2, &e), VT_OK);
    vt_snp_collateral c = {.leaf = leaf, .certs = ask_only};
    assert_int_equal(vt_snp_verify(v2, r.ptr, r.len, &c, &o, NULL, NULL, &e), VT_E_MISSING);
    assert_string_equal(e.check, "ask_signed_by_ark");
    vt_snp_verifier_free(v2);
    sk_X509_pop_free(ask_only, X509_free);
    sk_X509_pop_free(leafs, X509_free);
    vt_buf_free(&r);
    vt_snp_verifier_free(v);
}

/* A VLEK-signed report is accepted only with a VLEK chain, and a VCEK-signed one only with a
 * VCEK (SIGNING_KEY must agree with the certificate kind). */
static void test_vlek_vcek_kinds(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_checks ck = {0};
    const char *vcek_for_vlek[] = {"snp/milan_v3_routex/vcek_chain.pem", MILAN_VLEK_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_vlek_trustee/report.bin", vcek_for_vlek, &o,
                                      NULL, &ck, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "signing_key");
    assert_int_equal(vt_checks_find(&ck, "signing_key")->status, VT_CHECK_FAIL);
    const char *vlek_for_vcek[] = {"snp/milan_v3_vlek_trustee/vlek.der", MILAN_VLEK_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_routex/report.bin", vlek_for_vcek, &o, NULL,
                                      NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "signing_key");
    /* The VLEK with the ASK chain (not the ASVK): no issuer. */
    const char *vlek_ask[] = {"snp/milan_v3_vlek_trustee/vlek.der", MILAN_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_vlek_trustee/report.bin", vlek_ask, &o, NULL,
                                      NULL, &e), VT_E_MISSING);
    /* SIGNING_KEY flipped to VCEK in a VLEK report, VLEK given: kind mismatch. */
    vt_buf r = {0};
    vt_test_load("snp/milan_v3_vlek_trustee/report.bin", &r);
    r.ptr[0x48] &= (uint8_t)~0x1c;
    assert_int_equal(verify_bytes(v, r.ptr, r.len, vlek_for_vcek, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "signing_key");
    r.ptr[0x48] |= 0x1c; /* SIGNING_KEY 7: not signed */
    assert_int_equal(verify_bytes(v, r.ptr, r.len, vlek_for_vcek, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "signing_key");
    vt_buf_free(&r);
    vt_snp_verifier_free(v);
}

/* Validity at the verification time: the 1-year VLEK expires 2025-12-10T22:14:21Z; the GCP
 * VCEK starts 2025-12-05T06:04:27Z. */
static void test_validity(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_time t;
    assert_int_equal(vt_time_parse_rfc3339("2025-12-10T22:14:22Z", &t, &e), VT_OK);
    vt_snp_verify_opts o = {.at = t};
    const char *vlek[] = {"snp/milan_v3_vlek_trustee/vlek.der", MILAN_VLEK_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_vlek_trustee/report.bin", vlek, &o, NULL, NULL, &e),
                     VT_E_EXPIRED);
    assert_string_equal(e.check, "cert_validity");
    assert_non_null(strstr(e.msg, "expired"));
    o.at = t - 2; /* 22:14:20, inside */
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_vlek_trustee/report.bin", vlek, &o, NULL, NULL, &e),
                     VT_OK);
    assert_int_equal(vt_time_parse_rfc3339("2025-12-05T06:04:26Z", &o.at, &e), VT_OK);
    const char *gcp[] = {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_vmpl0.bin", gcp, &o, NULL, NULL, &e),
                     VT_E_EXPIRED);
    assert_non_null(strstr(e.msg, "not yet valid"));
    vt_snp_verifier_free(v);
}

/* Product: from CPUID (v3+), else the argument or the VCEK issuer; all must agree. */
static void test_product(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME, .product = VT_SNP_GENOA};
    const char *m3[] = {"snp/milan_v3_routex/vcek_chain.pem", NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_routex/report.bin", m3, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "product");
    const char *m2[] = {"snp/milan_v2_trustee/vcek.der", MILAN_CHAIN, NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_trustee/report.bin", m2, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "product");
    o.product = VT_SNP_MILAN;
    vt_checks ck = {0};
    assert_int_equal(snp_verify_files(v, "snp/milan_v2_trustee/report.bin", m2, &o, NULL, &ck, &e), VT_OK);
    assert_non_null(strstr(vt_checks_find(&ck, "product")->detail, "argument"));
    /* A Genoa VCEK for a Milan (CPUID) report. */
    o.product = VT_SNP_PRODUCT_UNKNOWN;
    const char *g[] = {"snp/genoa_v3_routex/vcek_chain.pem", NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_routex/report.bin", g, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "product");

    assert_int_equal(vt_snp_product_from_cpuid(0x19, 0x01), VT_SNP_MILAN);
    assert_int_equal(vt_snp_product_from_cpuid(0x19, 0x11), VT_SNP_GENOA);
    assert_int_equal(vt_snp_product_from_cpuid(0x19, 0xa0), VT_SNP_GENOA);
    assert_int_equal(vt_snp_product_from_cpuid(0x1a, 0x02), VT_SNP_TURIN);
    assert_int_equal(vt_snp_product_from_cpuid(0x17, 0x31), VT_SNP_PRODUCT_UNKNOWN);
    vt_snp_product p;
    assert_int_equal(vt_snp_product_parse("TURIN", &p, &e), VT_OK);
    assert_int_equal(p, VT_SNP_TURIN);
    assert_int_equal(vt_snp_product_parse("rome", &p, &e), VT_E_ARG);
    vt_snp_verifier_free(v);
}

/* --trust: explicit ARK anchors replace the built-in pins. */
static void test_trust_anchors(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    vt_buf pem = {0};
    vt_test_load(GENOA_CHAIN, &pem);
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_add_trust_pem(v, pem.ptr, pem.len, &e), VT_OK);
    vt_buf_free(&pem);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    /* Genoa leaf alone: the ASK comes from the trust store. */
    const char *g[] = {"snp/genoa_v3_siena_trustee/vcek.der", NULL};
    assert_int_equal(snp_verify_files(v, "snp/genoa_v3_siena_trustee/report.bin", g, &o, NULL, NULL, &e), VT_OK);
    /* Milan chain supplied, but ARK-Milan is not an anchor. */
    const char *m[] = {"snp/milan_v3_routex/vcek_chain.pem", NULL};
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_routex/report.bin", m, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ark_trusted");
    assert_non_null(strstr(e.msg, "trusted root"));
    vt_test_load(MILAN_CHAIN, &pem);
    assert_int_equal(vt_snp_verifier_add_trust_pem(v, pem.ptr, pem.len, &e), VT_OK);
    vt_buf_free(&pem);
    assert_int_equal(snp_verify_files(v, "snp/milan_v3_routex/report.bin", m, &o, NULL, NULL, &e), VT_OK);
    vt_snp_verifier_free(v);
}

/* The verifier caches verified chains: the second report of a chip costs no chain work. */
static void test_cache(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    const char *gcp[] = {"snp/milan_v5_gcp_teekit/vcek.pem", MILAN_CHAIN, NULL};
    assert_int_equal(vt_snp_verifier_cached(v), 0);
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_vmpl0.bin", gcp, &o, NULL, NULL, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_cached(v), 1);
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_vmpl1.bin", gcp, &o, NULL, NULL, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_cached(v), 1);
    /* A cached chain is still checked against the instant and the report. */
    o.at = 1600000000;
    assert_int_equal(snp_verify_files(v, "snp/milan_v5_gcp_teekit/report_vmpl1.bin", gcp, &o, NULL, NULL, &e), VT_E_EXPIRED);
    vt_snp_verifier_flush(v);
    assert_int_equal(vt_snp_verifier_cached(v), 0);
    vt_snp_verifier_free(v);
}

/* routex "Rejects invalid attestation report": the signature area replaced by 'W' bytes. */
static void test_signature_garbage(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_buf r = {0};
    vt_test_load("snp/genoa_v5_routex/report.bin", &r);
    const char *f[] = {"snp/genoa_v5_routex/vcek_chain.pem", NULL};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    memset(r.ptr + 0x2a0, 'W', 0x200);
    assert_int_equal(verify_bytes(v, r.ptr, r.len, f, &o, &e), VT_E_INVALID);
    memset(r.ptr + 0x2a0 + 48, 0, 0x200 - 48); /* well-formed padding, r and s still 'W's */
    memset(r.ptr + 0x2e8, 'W', 48);
    assert_int_equal(verify_bytes(v, r.ptr, r.len, f, &o, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "report_signature");
    vt_buf_free(&r);
    vt_snp_verifier_free(v);
}

/* trustee check_vcek_parsing_{legacy,new}: hwID raw or in an OCTET STRING; signatures invalid. */
static void test_parser_only_certs(void **state)
{
    (void)state;
    const char *files[] = {"snp/parser_only/vcek_fake_hwid_raw.der",
                           "snp/parser_only/vcek_fake_hwid_octetstring.der"};
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    for (size_t i = 0; i < 2; i++) {
        STACK_OF(X509) *sk = snp_load_certs(files[i]);
        vt_snp_cert_ext x;
        assert_int_equal(vt_snp_cert_ext_parse(sk_X509_value(sk, 0), &x, &e), VT_OK);
        assert_int_equal(x.hwid_len, 64);
        for (int k = 0; k < 64; k++) assert_int_equal(x.hwid[k], k);
        assert_true(x.has_bl && x.has_tee && x.has_snp && x.has_ucode);
        const char *f[] = {files[i], MILAN_CHAIN, NULL};
        vt_snp_verify_opts o = {.at = SNP_REF_TIME};
        assert_int_equal(snp_verify_files(v, "snp/milan_v2_trustee/report.bin", f, &o, NULL, NULL, &e),
                         VT_E_VERIFY);
        assert_string_equal(e.check, "leaf_signed_by_ask");
        sk_X509_pop_free(sk, X509_free);
    }
    vt_snp_verifier_free(v);
}

static void test_field_decoders(void **state)
{
    (void)state;
    vt_error e;
    vt_snp_policy p;
    assert_int_equal(vt_snp_policy_decode(0x10000, &p, &e), VT_E_INVALID);      /* bit 17 clear */
    assert_int_equal(vt_snp_policy_decode(0x4020000, &p, &e), VT_E_INVALID);    /* bit 26 */
    assert_int_equal(vt_snp_policy_decode(0x3ff1f02, &p, &e), VT_OK);
    assert_true(p.smt && p.migrate_ma && p.debug && p.single_socket && p.cxl_allow);
    assert_true(p.mem_aes_256_xts && p.rapl_dis && p.ciphertext_hiding && p.page_swap_disable);
    assert_int_equal(p.abi_major, 0x1f);
    assert_int_equal(p.abi_minor, 2);
    vt_snp_tcb t;
    vt_snp_tcb_decode(0x4700000002000100, VT_SNP_TURIN, &t);
    assert_int_equal(t.fmc, 0);
    assert_int_equal(t.boot_loader, 1);
    assert_int_equal(t.snp, 2);
    assert_int_equal(t.microcode, 71);
    assert_int_equal(vt_snp_tcb_encode(&t, VT_SNP_TURIN), 0x4700000002000100);
    t.fmc = 9;
    assert_int_equal(vt_snp_tcb_encode(&t, VT_SNP_TURIN), 0x4700000002000109);
    vt_snp_tcb_decode(0x7308000000000003, VT_SNP_MILAN, &t);
    assert_false(t.has_fmc);
    assert_int_equal(t.boot_loader, 3);
    assert_int_equal(t.snp, 8);
    assert_int_equal(t.microcode, 115);
    assert_int_equal(vt_snp_tcb_encode(&t, VT_SNP_GENOA), 0x7308000000000003);
    vt_snp_platform_info pi;
    vt_snp_platform_info_decode(0xff, &pi);
    assert_true(pi.tio_en && pi.alias_check_complete && pi.rapl_dis);
    assert_int_equal(pi.other_bits, 0x40);
}

static void test_json(void **state)
{
    (void)state;
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_snp_claims cl;
    const char *tur[] = {"snp/turin_v5_routex/vcek_chain.pem", NULL};
    assert_int_equal(snp_verify_files(v, "snp/turin_v5_routex/report.bin", tur, &o, &cl, NULL, &e), VT_OK);
    json_t *j = vt_snp_claims_json(&cl);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "product")), "Turin");
    assert_string_equal(json_string_value(json_object_get(j, "signer")), "vcek");
    assert_string_equal(json_string_value(json_object_get(j, "current_version")), "1.55.61");
    json_t *tcb = json_object_get(j, "reported_tcb");
    assert_int_equal(json_integer_value(json_object_get(tcb, "fmc")), 0);
    assert_int_equal(json_integer_value(json_object_get(tcb, "boot_loader")), 1);
    assert_int_equal(json_integer_value(json_object_get(tcb, "microcode")), 71);
    assert_string_equal(json_string_value(json_object_get(j, "measurement")),
                        "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624");
    assert_false(json_boolean_value(json_object_get(json_object_get(j, "policy"), "debug")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "certificate"), "hwid")),
                        "3b42092f69c656d3");
    json_decref(j);
    vt_snp_verifier_free(v);
}

static void test_collateral_dir(void **state)
{
    (void)state;
    char dir[1024];
    if (!vt_test_vector_path("snp/milan_v3_routex", dir, sizeof dir)) skip();
    vt_snp_dir_collateral c;
    vt_error e;
    assert_int_equal(vt_snp_dir_collateral_load(dir, &c, &e), VT_OK);
    assert_int_equal(sk_X509_num(c.certs), 3);
    assert_int_equal(sk_X509_CRL_num(c.crls), 0);
    vt_snp_dir_collateral_free(&c);
    vt_snp_dir_collateral_free(&c);
    assert_int_equal(vt_snp_dir_collateral_load("/nonexistent/snp", &c, &e), VT_E_MISSING);
    assert_int_equal(vt_snp_dir_collateral_load(NULL, &c, &e), VT_E_MISSING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_verify),  cmocka_unit_test(test_report_encode_roundtrip),  cmocka_unit_test(test_vector_details),
        cmocka_unit_test(test_nonce),           cmocka_unit_test(test_trustee_negatives),
        cmocka_unit_test(test_x25519_binding),
        cmocka_unit_test(test_vlek_vcek_kinds), cmocka_unit_test(test_validity),
        cmocka_unit_test(test_product),         cmocka_unit_test(test_trust_anchors),
        cmocka_unit_test(test_cache),           cmocka_unit_test(test_signature_garbage),
        cmocka_unit_test(test_parser_only_certs), cmocka_unit_test(test_field_decoders),
        cmocka_unit_test(test_json),            cmocka_unit_test(test_collateral_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
