/* Azure vTPM evidence built around the emulated TEE (docs/emulate.md): a runtime-claims JSON with
 * a fresh AK, its digest in an emulated SNP report / TD quote, an HCL report around it, a TPM quote
 * by the AK and an AAEL event log. Reaches what the real vectors cannot: a TD quote with collateral,
 * a matching event log, user-data and VMPL failures, init-data bound. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/azure.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/jose.h"
#include "veritee/json.h"
#include "veritee/x509.h"

#define T0 "2026-06-01T12:00:00Z"

typedef struct fx {
    char dir[256];
    vt_emu *emu;
    EVP_PKEY *ak;
    vt_snp_verifier *snp;
    vt_tdx_verifier *tdx;
    vt_azure_verifier *v;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    vt_error e;
    vt_test_tmpdir(f->dir, sizeof f->dir);
    json_t *p = vt_emu_default_platform();
    json_object_del(p, "cca");
    json_object_set_new(json_object_get(p, "snp"), "rsa_bits", json_integer(2048));
    char *text = json_dumps(p, 0);
    json_decref(p);
    if (vt_emu_init(f->dir, text, vt_test_at(T0), &e) != VT_OK || vt_emu_open(f->dir, &f->emu, &e) != VT_OK) {
        fprintf(stderr, "emu: %s\n", e.msg);
        return -1;
    }
    free(text);
    f->ak = EVP_RSA_gen(2048);
    /* SNP: ARK from trust/, ASK from collateral/ */
    char d[400];
    vt_snp_dir_collateral t = {0}, c = {0};
    if (vt_snp_verifier_new(&f->snp, &e) != VT_OK) return -1;
    snprintf(d, sizeof d, "%s/trust", f->dir);
    if (vt_snp_dir_collateral_load(d, &t, &e) != VT_OK) return -1;
    for (int i = 0; i < sk_X509_num(t.certs); i++) assert_int_equal(vt_snp_verifier_add_trust_cert(f->snp, sk_X509_value(t.certs, i), &e), VT_OK);
    snprintf(d, sizeof d, "%s/collateral", f->dir);
    if (vt_snp_dir_collateral_load(d, &c, &e) != VT_OK) return -1;
    for (int i = 0; i < sk_X509_num(c.certs); i++) assert_int_equal(vt_snp_verifier_add_cert(f->snp, sk_X509_value(c.certs, i), &e), VT_OK);
    vt_snp_dir_collateral_free(&t);
    vt_snp_dir_collateral_free(&c);
    /* TDX: emulated root and collateral */
    vt_tdx_collateral tc;
    if (vt_tdx_collateral_load_dir(d, &tc, &e) != VT_OK) return -1;
    vt_buf pem = {0};
    STACK_OF(X509) *roots = NULL;
    snprintf(d, sizeof d, "%s/trust/tdx_sgx_root_ca.pem", f->dir);
    if (vt_file_read(d, 1 << 20, &pem, &e) != VT_OK || vt_pem_certs(pem.ptr, pem.len, &roots, &e) != VT_OK) return -1;
    vt_buf_free(&pem);
    vt_tdx_verifier_opts o = {.roots = roots};
    if (vt_tdx_verifier_new(&o, &tc, &f->tdx, &e) != VT_OK) return -1;
    sk_X509_pop_free(roots, X509_free);
    vt_azure_trust tr = {.snp = f->snp, .tdx = f->tdx};
    if (vt_azure_verifier_new(&tr, &f->v, &e) != VT_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    vt_azure_verifier_free(f->v);
    vt_snp_verifier_free(f->snp);
    vt_tdx_verifier_free(f->tdx);
    EVP_PKEY_free(f->ak);
    vt_emu_free(f->emu);
    free(f);
    return 0;
}

/* ---- builders -------------------------------------------------------------------------------- */

static const uint8_t NONCE[48] = {0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t INIT_DATA[32] = {0x1d};

static void put_le32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24); }

/* A TCG2 log with the attestation agent's zero-signature header (SHA-256 only) and AAEL records
 * at PCR 23; *pcr23 receives the replayed value. */
static size_t make_log(uint8_t *b, const char *const *texts, size_t n, uint8_t pcr23[32], bool bad_digest)
{
    size_t o = 0;
    vt_error e;
    put_le32(b + o, 0), put_le32(b + o + 4, 3), o += 8;
    memset(b + o, 0, 20), o += 20;
    put_le32(b + o, 33), o += 4;
    memset(b + o, 0, 16), o += 16;
    put_le32(b + o, 0), o += 4;
    b[o++] = 0, b[o++] = 2, b[o++] = 0, b[o++] = 2;
    put_le32(b + o, 1), o += 4;
    b[o++] = 0x0b, b[o++] = 0, b[o++] = 32, b[o++] = 0;
    b[o++] = 0;
    memset(pcr23, 0, 32);
    for (size_t i = 0; i < n; i++) {
        uint8_t data[256];
        size_t tl = strlen(texts[i]);
        memcpy(data, "\x4c\x45\x41\x41", 4);
        put_le32(data + 4, (uint32_t)tl);
        memcpy(data + 8, texts[i], tl);
        uint8_t dg[32];
        assert_int_equal(vt_hash(VT_SHA256, data, 8 + tl, dg, &e), VT_OK);
        put_le32(b + o, 23), put_le32(b + o + 4, 6), put_le32(b + o + 8, 1), o += 12;
        b[o++] = 0x0b, b[o++] = 0;
        memcpy(b + o, dg, 32), o += 32;
        put_le32(b + o, (uint32_t)(8 + tl)), o += 4;
        memcpy(b + o, data, 8 + tl), o += 8 + tl;
        assert_int_equal(vt_hash2(VT_SHA256, pcr23, 32, dg, 32, pcr23, &e), VT_OK);
        if (bad_digest) b[o - 1] ^= 1; /* text changed after it was measured */
    }
    memset(b + o, 0xff, 8);
    return o + 8;
}

typedef struct build {
    vt_az_kind kind;
    uint32_t vmpl;
    bool wrong_user_data;
    bool with_log, bad_log_digest, wrong_pcr23;
} build;

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

/* The whole evidence JSON (v2). */
static char *make_evidence(fx *f, const build *bo)
{
    vt_error e;
    /* runtime claims with the AK */
    json_t *jwk = NULL;
    assert_int_equal(vt_jwk_from_pkey(f->ak, NULL, &jwk, &e), VT_OK);
    json_object_set_new(jwk, "kid", json_string("HCLAkPub"));
    json_object_set_new(jwk, "key_ops", json_pack("[s]", "sign"));
    uint8_t ud[64] = {0};
    memcpy(ud, NONCE, 48);
    if (bo->wrong_user_data) ud[0] ^= 1;
    char udh[129];
    vt_hex_encode(ud, 64, udh);
    json_t *rt = json_pack("{s:[o], s:{s:b, s:b, s:s}, s:s}", "keys", jwk, "vm-configuration", "secure-boot", 1,
                           "tpm-enabled", 1, "vmUniqueId", "00000000-0000-0000-0000-000000000001", "user-data", udh);
    char *var = json_dumps(rt, JSON_COMPACT);
    json_decref(rt);
    size_t vl = strlen(var);
    uint8_t rd[64] = {0};
    assert_int_equal(vt_hash(VT_SHA256, var, vl, rd, &e), VT_OK);

    /* hardware report */
    uint8_t hw[1184] = {0};
    vt_buf hwq = {0};
    if (bo->kind == VT_AZ_SNP) {
        vt_emu_snp_opts so = {.version = 3, .has_vmpl = true, .vmpl = bo->vmpl};
        assert_int_equal(vt_emu_snp_report(f->emu, rd, &so, &hwq, &e), VT_OK);
        assert_int_equal(hwq.len, 1184);
        memcpy(hw, hwq.ptr, 1184);
    } else {
        assert_int_equal(vt_emu_tdx_quote(f->emu, rd, 4, &hwq, &e), VT_OK);
        vt_tdx_quote q;
        assert_int_equal(vt_tdx_quote_parse(hwq.ptr, hwq.len, &q, &e), VT_OK);
        hw[0] = 0x81;
        memcpy(hw + 128, q.td.report_data, 64);
        memcpy(hw + 512, q.td.td_attributes, 8);
        memcpy(hw + 520, q.td.xfam, 8);
        memcpy(hw + 528, q.td.mr_td, 48);
        memcpy(hw + 576, q.td.mr_config_id, 48);
        memcpy(hw + 624, q.td.mr_owner, 48);
        memcpy(hw + 672, q.td.mr_owner_config, 48);
        memcpy(hw + 720, q.td.rtmr, 4 * 48);
    }
    /* HCL report (2600 bytes, zero padded) */
    size_t hl = 2600;
    uint8_t *hcl = calloc(1, hl);
    memcpy(hcl, "HCLA", 4);
    put_le32(hcl + 4, 2);
    put_le32(hcl + 8, (uint32_t)(32 + 1184 + 20 + vl));
    put_le32(hcl + 12, 2);
    memcpy(hcl + 0x20, hw, 1184);
    put_le32(hcl + 0x4C0, (uint32_t)(20 + vl));
    put_le32(hcl + 0x4C4, 1);
    put_le32(hcl + 0x4C8, bo->kind == VT_AZ_SNP ? 2 : 4);
    put_le32(hcl + 0x4CC, 1);
    put_le32(hcl + 0x4D0, (uint32_t)vl);
    assert_true(0x4D4 + vl <= hl);
    memcpy(hcl + 0x4D4, var, vl);
    free(var);

    /* PCRs, event log, TPM quote */
    uint8_t pcrs[24][32] = {{0}};
    for (int i = 0; i < 8; i++) memset(pcrs[i], 0x10 + i, 32);
    uint8_t z[32] = {0};
    assert_int_equal(vt_hash2(VT_SHA256, z, 32, INIT_DATA, 32, pcrs[8], &e), VT_OK);
    for (int i = 17; i <= 22; i++) memset(pcrs[i], 0xff, 32);
    uint8_t log[1024];
    size_t ll = 0;
    if (bo->with_log) {
        static const char *const t[] = {"github.com/confidential-containers PullImage {\"image\":\"docker.io/library/busybox\"}",
                                        "github.com/confidential-containers CreateContainer {\"id\":\"c1\"}"};
        ll = make_log(log, t, 2, pcrs[23], bo->bad_log_digest);
        if (bo->wrong_pcr23) pcrs[23][0] ^= 1;
    }
    uint8_t msg[256];
    size_t o = 0;
    be16(msg, 0xff54), be16(msg + 2, 0x4347), be16(msg + 4, 0x8018), o = 6;
    be16(msg + o, 34), be16(msg + o + 2, 0x000b), o += 4;
    memset(msg + o, 0x5a, 32), o += 32;
    be16(msg + o, 48), o += 2;
    memcpy(msg + o, NONCE, 48), o += 48;
    memset(msg + o, 0, 25), o += 25;
    msg[o++] = 0, msg[o++] = 0, msg[o++] = 0, msg[o++] = 1;
    be16(msg + o, 0x000b), o += 2;
    msg[o++] = 3, msg[o++] = 0xff, msg[o++] = 0xff, msg[o++] = 0xff;
    be16(msg + o, 32), o += 2;
    assert_int_equal(vt_hash(VT_SHA256, pcrs, sizeof pcrs, msg + o, &e), VT_OK);
    o += 32;
    uint8_t sig[256];
    size_t sl = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, f->ak, NULL), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &sl, msg, o), 1);
    EVP_MD_CTX_free(c);

    json_t *pj = json_array();
    for (int i = 0; i < 24; i++) json_array_append_new(pj, vt_json_hex_string(pcrs[i], 32));
    char *h64 = vt_b64_encode(hcl, hl, true);
    json_t *ev = json_pack("{s:i, s:{s:o, s:o, s:o}, s:s}", "version", 2, "tpm_quote", "signature",
                           vt_json_hex_string(sig, sl), "message", vt_json_hex_string(msg, o), "pcrs", pj, "hcl_report", h64);
    free(h64);
    free(hcl);
    if (bo->kind == VT_AZ_SNP) {
        vt_buf tab = {0};
        vt_snp_certtable ct;
        assert_int_equal(vt_emu_snp_certtable(f->emu, false, &tab, &e), VT_OK);
        assert_int_equal(vt_snp_certtable_parse(tab.ptr, tab.len, &ct, &e), VT_OK);
        for (size_t i = 0; i < ct.n; i++)
            if (ct.entries[i].kind == VT_SNP_CERT_VCEK) {
                char *v64 = vt_b64_encode(ct.entries[i].data.ptr, ct.entries[i].data.len, true);
                json_object_set_new(ev, "vcek", json_string(v64));
                free(v64);
            }
        vt_buf_free(&tab);
    } else {
        char *q64 = vt_b64_encode(hwq.ptr, hwq.len, true);
        json_object_set_new(ev, "td_quote", json_string(q64));
        free(q64);
    }
    vt_buf_free(&hwq);
    if (bo->with_log) {
        char *l64 = vt_b64_encode(log, ll, false);
        json_object_set_new(ev, "cc_eventlog", json_string(l64));
        free(l64);
    }
    char *s = json_dumps(ev, 0);
    json_decref(ev);
    return s;
}

static vt_err run(fx *f, const build *b, json_t **claims, vt_checks *ck, vt_error *e)
{
    char *ev = make_evidence(f, b);
    vt_azure_verify_opts o = {.at = vt_test_at(T0) + 86400, .nonce = NONCE, .nonce_len = 48, .init_data_hash = INIT_DATA};
    vt_err rc = b->kind == VT_AZ_SNP ? vt_az_snp_vtpm_verify(f->v, (const uint8_t *)ev, strlen(ev), &o, claims, ck, e)
                                     : vt_az_tdx_vtpm_verify(f->v, (const uint8_t *)ev, strlen(ev), &o, claims, ck, e);
    free(ev);
    return rc;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_emulated_snp_with_aael(void **state)
{
    fx *f = *state;
    vt_error e;
    json_t *c = NULL;
    vt_checks ck = {0};
    build b = {.kind = VT_AZ_SNP, .with_log = true};
    vt_err rc = run(f, &b, &c, &ck, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_true(json_is_true(json_object_get(json_object_get(c, "snp"), "emulated")));
    json_t *log = json_object_get(c, "event_log");
    assert_int_equal(json_array_size(log), 2);
    json_t *a = json_object_get(json_array_get(log, 0), "aael");
    assert_string_equal(json_string_value(json_object_get(a, "operation")), "PullImage");
    assert_int_equal(vt_checks_find(&ck, "init_data")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&ck, "event_log")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&ck, "hcl_user_data")->status, VT_CHECK_PASS);
    json_decref(c);

    struct { build b; int code; const char *check; } bad[] = {
        {{.kind = VT_AZ_SNP, .vmpl = 1}, VT_E_VERIFY, "hcl_vmpl"},
        {{.kind = VT_AZ_SNP, .wrong_user_data = true}, VT_E_VERIFY, "hcl_user_data"},
        {{.kind = VT_AZ_SNP, .with_log = true, .bad_log_digest = true}, VT_E_VERIFY, "event_log"},
        {{.kind = VT_AZ_SNP, .with_log = true, .wrong_pcr23 = true}, VT_E_VERIFY, "event_log"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = run(f, &bad[i].b, NULL, NULL, &e);
        if (rc != bad[i].code || strcmp(e.check, bad[i].check) != 0)
            fail_msg("case %zu: rc %d check %s (%s), expected %s", i, rc, e.check, e.msg, bad[i].check);
    }
}

static void test_emulated_tdx_with_collateral(void **state)
{
    fx *f = *state;
    vt_error e;
    json_t *c = NULL;
    vt_checks ck = {0};
    build b = {.kind = VT_AZ_TDX, .with_log = true};
    vt_err rc = run(f, &b, &c, &ck, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    json_t *tdx = json_object_get(c, "tdx");
    assert_non_null(tdx);
    assert_true(json_is_true(json_object_get(tdx, "emulated")));
    assert_int_equal(vt_checks_find(&ck, "td_pck_chain")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&ck, "hcl_tdreport")->status, VT_CHECK_PASS);
    assert_int_equal(json_array_size(json_object_get(c, "event_log")), 2);
    json_decref(c);
    build w = {.kind = VT_AZ_TDX, .wrong_user_data = true};
    assert_int_equal(run(f, &w, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "hcl_user_data");
}

/* The library's emulated Azure CVM (vt_emu_az_evidence, what `veritee evidence get --tee
 * az-snp-vtpm --emulator DIR` prints) verifies, with its AAEL entries in the claims. */
static void test_emu_az_evidence(void **state)
{
    fx *f = *state;
    vt_error e;
    static const char *const aael[] = {"github.com/confidential-containers PullImage {\"image\":\"nginx\"}"};
    vt_emu_az_opts eo = {.init_data_hash = INIT_DATA, .aael = aael, .n_aael = 1};
    for (int k = VT_EMU_AZ_SNP; k <= VT_EMU_AZ_TDX; k++) {
        vt_buf ev = {0};
        assert_int_equal(vt_emu_az_evidence(f->emu, (vt_emu_az_kind)k, NONCE, 48, &eo, &ev, &e), VT_OK);
        assert_string_equal(vt_az_evidence_detect(ev.ptr, ev.len), k == VT_EMU_AZ_SNP ? "az-snp-vtpm" : "az-tdx-vtpm");
        vt_azure_verify_opts o = {.at = vt_test_at(T0) + 3600, .nonce = NONCE, .nonce_len = 48, .init_data_hash = INIT_DATA};
        json_t *c = NULL;
        vt_err rc = k == VT_EMU_AZ_SNP ? vt_az_snp_vtpm_verify(f->v, ev.ptr, ev.len, &o, &c, NULL, &e)
                                       : vt_az_tdx_vtpm_verify(f->v, ev.ptr, ev.len, &o, &c, NULL, &e);
        if (rc != VT_OK) fail_msg("kind %d: %s: %s", k, e.check, e.msg);
        json_t *a = json_object_get(json_array_get(json_object_get(c, "event_log"), 0), "aael");
        assert_string_equal(json_string_value(json_object_get(a, "content")), "{\"image\":\"nginx\"}");
        json_decref(c);
        /* another nonce is refused */
        o.nonce_len = 47;
        rc = k == VT_EMU_AZ_SNP ? vt_az_snp_vtpm_verify(f->v, ev.ptr, ev.len, &o, NULL, NULL, &e)
                                : vt_az_tdx_vtpm_verify(f->v, ev.ptr, ev.len, &o, NULL, NULL, &e);
        assert_int_equal(rc, VT_E_VERIFY);
        assert_string_equal(e.check, "tpm_quote_nonce");
        vt_buf_free(&ev);
    }
    uint8_t big[64] = {0};
    vt_buf ev = {0};
    assert_int_equal(vt_emu_az_evidence(f->emu, VT_EMU_AZ_SNP, big, 64, NULL, &ev, &e), VT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emulated_snp_with_aael),
        cmocka_unit_test(test_emulated_tdx_with_collateral),
        cmocka_unit_test(test_emu_az_evidence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
