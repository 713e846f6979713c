/* NVIDIA GPU attestation: every report of shared/vectors/nvidia_{hopper,blackwell} decodes to
 * the facts its README states and verifies from its stated instant on; the negative chains and
 * mutations the READMEs list fail with the named check; truncation at every offset and a bit
 * flip at every signed byte are rejected; the TLV rules (unknown, duplicate, overrun, missing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"
#include "veritee/x509.h"

#define H "nvidia_hopper/"
#define B "nvidia_blackwell/"

/* 2022-03-01T00:00:00Z and 2023-06-20T00:00:00Z: the latest notBefore of each chain. */
#define HOPPER_FROM 1646092800
#define BLACKWELL_FROM 1687219200
#define AT_2024 1717200000 /* 2024-06-01 */

static void load_hex(const char *rel, vt_buf *out)
{
    vt_buf t = {0};
    vt_error e;
    vt_test_load(rel, &t);
    size_t n = t.len;
    while (n > 0 && (t.ptr[n - 1] == '\n' || t.ptr[n - 1] == '\r' || t.ptr[n - 1] == ' ')) n--;
    if (vt_hex_decode((const char *)t.ptr, n, out, &e) != VT_OK) fail_msg("%s: %s", rel, e.msg);
    vt_buf_free(&t);
}

static vt_nvidia_verifier *verifier(const char *root_rel)
{
    vt_buf pem = {0};
    vt_error e;
    vt_nvidia_verifier *v = NULL;
    if (root_rel != NULL) vt_test_load(root_rel, &pem);
    vt_nvidia_trust t = {.device_roots_pem = pem.ptr, .device_roots_len = pem.len};
    if (vt_nvidia_verifier_new(root_rel ? &t : NULL, &v, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_buf_free(&pem);
    return v;
}

typedef struct vec {
    const char *report, *chain;
    vt_nvidia_arch arch;
    vt_time from;
    const char *nonce, *ueid, *fwid, *driver, *vbios, *meas_sha256;
    size_t len, signed_len, trailing, opaque_len;
} vec;

static const vec VECS[] = {
    {H "hopperAttestationReport.txt", H "hopper_cert_chain_case1.txt", VT_NVIDIA_HOPPER, HOPPER_FROM,
     "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
     "478176379286082186618948445787393647364802107249",
     "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d",
     "550.90.07", "96.00.9f.00.01", "d2e0f10327ad8d1a9811653fcb998095c5e41400b7ef17646bd1a0c78e496c34",
     4117, 4021, 0, 422},
    {H "hopper_coco_report1.txt", H "hopper_coco_certs1.txt", VT_NVIDIA_HOPPER, HOPPER_FROM,
     "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec",
     "706537633744677806391970670929077420064002181513",
     "f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be45576c2881cf920e2cbcc090b1cb921f7b2d",
     "580.95.05", "96.00.74.00.1a", "93774c5f5e41cb284dc08c6953ee3ebf5642aa9a91869c10ef013e3163536884",
     4130, 4033, 1, 434},
    {B "blackwellAttestationReport.txt", B "blackwell_cert_chain_case1.txt", VT_NVIDIA_BLACKWELL,
     BLACKWELL_FROM, "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e",
     "408762037488965241743361667085904172082023387885",
     "9b92cc3e53b9265259e1abde163653288c2474fcafd8e5c0fd62ce9c9036fb62723fe3715b50f4ac27c68b62e2fd9240",
     "595.58.03", "98.02.81.00.01", "b78cd6f730656916df81e6e1dd78d9294b6fe4ef67c2fad54b6ccf79846de13c",
     4140, 4044, 0, 445},
    {B "coco/blackwell_coco_report.txt", B "coco/blackwell_coco_certs.txt", VT_NVIDIA_BLACKWELL,
     BLACKWELL_FROM, "d622979b6c3ab8b8e7b30a43f2dc7f553ebbc187536231d531effa496ec03fb5",
     "547053072822519851739950566727626803442637733666",
     "9b92cc3e53b9265259e1abde163653288c2474fcafd8e5c0fd62ce9c9036fb62723fe3715b50f4ac27c68b62e2fd9240",
     "595.58.03", "98.02.74.00.01", "7b68bde2df98742d809cb3311df2204433f2d2f01bc1fe6aa1fba6af309a3cd0",
     4140, 4044, 0, 445},
};
#define NVECS (sizeof VECS / sizeof VECS[0])

static void expect_hex(const uint8_t *p, size_t n, const char *want, const char *what)
{
    char *s = vt_hex_dup(p, n);
    if (strcmp(s, want) != 0) fail_msg("%s: got %s, want %s", what, s, want);
    free(s);
}

static void t_parse_facts(void **state)
{
    for (size_t k = 0; k < NVECS; k++) {
        const vec *x = &VECS[k];
        vt_buf rep = {0};
        vt_error e;
        load_hex(x->report, &rep);
        vt_nvidia_report *r = malloc(sizeof *r);
        assert_non_null(r);
        if (vt_nvidia_report_parse(rep.ptr, rep.len, r, &e) != VT_OK) fail_msg("%s: %s", x->report, e.msg);
        assert_int_equal(rep.len, x->len);
        assert_int_equal(r->signed_part.len, x->signed_len);
        assert_int_equal(r->trailing.len, x->trailing);
        if (x->trailing) assert_int_equal(r->trailing.ptr[0], 0);
        assert_int_equal(r->opaque.len, x->opaque_len);
        assert_int_equal(r->n_blocks, 64);
        assert_int_equal(r->record_len, 3520);
        expect_hex(r->request_nonce, 32, x->nonce, "requester nonce");
        assert_string_equal(r->driver_version, x->driver);
        assert_string_equal(r->vbios_version, x->vbios);
        assert_true(r->has_fwid);
        expect_hex(r->fwid, 48, x->fwid, "fwid");
        uint8_t all[64 * 48], d[32];
        for (size_t i = 0; i < 64; i++) {
            assert_int_equal(r->blocks[i].index, i + 1);
            assert_int_equal(r->blocks[i].value_type, 0x01);
            assert_int_equal(r->blocks[i].value.len, 48);
            memcpy(all + 48 * i, r->blocks[i].value.ptr, 48);
        }
        assert_int_equal(vt_hash(VT_SHA256, all, sizeof all, d, &e), VT_OK);
        expect_hex(d, 32, x->meas_sha256, "SHA-256 over the 64 measurement values");
        if (x->arch == VT_NVIDIA_HOPPER) {
            assert_string_equal(r->project, "1010");
            assert_string_equal(r->project_sku, "0200");
            assert_string_equal(r->chip_sku, "882");
            assert_int_equal(r->nvdec0, VT_NV_NVDEC0_DISABLED);
            assert_true(vt_bytes_is_zero(r->blocks[0].value.ptr, 48));
            assert_true(vt_bytes_is_zero(r->blocks[63].value.ptr, 48));
        } else {
            assert_string_equal(r->project, "G153");
            assert_string_equal(r->project_sku, "0210");
            assert_string_equal(r->chip_sku, "895");
            assert_string_equal(r->chip_info, "GB202");
            assert_int_equal(r->nvdec0, VT_NV_NVDEC0_ENABLED);
            expect_hex(r->blocks[63].value.ptr, 8, "ffebdd1c87dfa948", "measurement[64]");
        }
        /* the responder nonce is a different value from the requester's */
        assert_memory_not_equal(r->responder_nonce, r->request_nonce, 32);
        json_t *cfg = vt_nvidia_config_json(r);
        if (k == 1) { /* coco: opaque_data_version 1, feature_flag SPT */
            assert_int_equal(json_integer_value(json_object_get(cfg, "opaque_data_version")), 1);
            assert_string_equal(json_string_value(json_object_get(cfg, "feature_flag")), "SPT");
        }
        json_decref(cfg);
        free(r);
        vt_buf_free(&rep);
    }
}

static vt_err run(vt_nvidia_verifier *v, const vec *x, const uint8_t *rep, size_t n,
                  const char *chain_rel, vt_nvidia_arch arch, vt_time at, const uint8_t *nonce,
                  vt_checks *c, json_t **claims, vt_error *e)
{
    vt_buf chain = {0};
    vt_test_load(chain_rel ? chain_rel : x->chain, &chain);
    memset(c, 0, sizeof *c);
    vt_error_clear(e);
    vt_nvidia_verify_opts o = {.at = at, .nonce = nonce, .nonce_len = nonce ? 32 : 0};
    vt_err rc = vt_nvidia_verify_device(v, arch, rep, n, chain.ptr, chain.len, &o, claims, c, e);
    vt_buf_free(&chain);
    return rc;
}

static void expect_fail(vt_err rc, const vt_checks *c, const vt_error *e, const char *check)
{
    if (rc == VT_OK) fail_msg("accepted; want failure of %s", check);
    if (strcmp(e->check, check) != 0) fail_msg("failed %s (%s); want %s", e->check, e->msg, check);
    const vt_check *k = vt_checks_find(c, check);
    if (k == NULL || k->status != VT_CHECK_FAIL) fail_msg("check %s not recorded as failed", check);
}

static void t_verify_vectors(void **state)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    vt_nvidia_verifier *pin = verifier(NULL); /* the built-in pin */
    for (size_t k = 0; k < NVECS; k++) {
        const vec *x = &VECS[k];
        vt_buf rep = {0};
        vt_checks c;
        vt_error e;
        json_t *claims = NULL;
        uint8_t nonce[32];
        load_hex(x->report, &rep);
        assert_int_equal(vt_hex_decode_fixed(x->nonce, nonce, 32, &e), VT_OK);
        vt_err rc = run(v, x, rep.ptr, rep.len, NULL, x->arch, x->from, nonce, &c, &claims, &e);
        if (rc != VT_OK) fail_msg("%s at its first valid instant: %s: %s", x->report, e.check, e.msg);
        const char *names[] = {"report_format", "report_length", "root_pinned", "cert_chain",
                               "fwid", "report_signature", "nonce"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const vt_check *ck = vt_checks_find(&c, names[i]);
            if (ck == NULL || ck->status != VT_CHECK_PASS) fail_msg("%s: check %s not passed", x->report, names[i]);
        }
        assert_string_equal(json_string_value(json_object_get(claims, "ueid")), x->ueid);
        assert_string_equal(json_string_value(json_object_get(claims, "nonce")), x->nonce);
        assert_int_equal(json_integer_value(json_object_get(claims, "trailing_bytes")), x->trailing);
        assert_int_equal(json_array_size(json_object_get(claims, "certificate_chain")), 5);
        json_decref(claims);
        /* one second earlier: the chain is not yet valid */
        rc = run(v, x, rep.ptr, rep.len, NULL, x->arch, x->from - 1, nonce, &c, NULL, &e);
        expect_fail(rc, &c, &e, "cert_chain");
        assert_int_equal(rc, VT_E_EXPIRED);
        /* later, and with the built-in pin of the root */
        rc = run(pin, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, nonce, &c, NULL, &e);
        if (rc != VT_OK) fail_msg("%s with the built-in pin: %s", x->report, e.msg);
        /* a wrong expected nonce */
        nonce[5] ^= 1;
        rc = run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, nonce, &c, NULL, &e);
        expect_fail(rc, &c, &e, "nonce");
        /* no expected nonce: verified, and the check says it was skipped */
        rc = run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, NULL, &e);
        assert_int_equal(rc, VT_OK);
        assert_int_equal(vt_checks_find(&c, "nonce")->status, VT_CHECK_SKIP);
        vt_buf_free(&rep);
    }
    vt_nvidia_verifier_free(v);
    vt_nvidia_verifier_free(pin);
}

static void compare_claims(const char *report, const char *claims_rel, const vec *x)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    vt_buf rep = {0}, want_txt = {0};
    vt_checks c;
    vt_error e;
    json_t *claims = NULL, *want = NULL;
    load_hex(report, &rep);
    vt_test_load(claims_rel, &want_txt);
    assert_int_equal(vt_json_parse((const char *)want_txt.ptr, want_txt.len, &want, &e), VT_OK);
    assert_int_equal(run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, &claims, &e), VT_OK);
    if (!json_equal(json_object_get(claims, "config"), json_object_get(want, "config"))) {
        char *a = json_dumps(json_object_get(claims, "config"), JSON_SORT_KEYS);
        fail_msg("config differs from %s: %s", claims_rel, a);
    }
    assert_true(json_equal(json_object_get(claims, "measurements"), json_object_get(want, "measurements")));
    assert_true(json_equal(json_object_get(claims, "ueid"), json_object_get(want, "ueid")));
    json_decref(claims);
    json_decref(want);
    vt_buf_free(&rep);
    vt_buf_free(&want_txt);
    vt_nvidia_verifier_free(v);
}

/* The claims equal trustee PR 1551's expected claims (config, measurements, ueid). */
static void t_claims_match_trustee(void **state)
{
    compare_claims(VECS[0].report, H "pr1551/hopperAttestationReport-claims.txt", &VECS[0]);
    compare_claims(VECS[2].report, B "blackwellAttestationReport-claims.txt", &VECS[2]);
}

static void t_negative_chains(void **state)
{
    static const struct {
        size_t vec;
        const char *chain, *check;
        vt_nvidia_arch arch;
    } NEG[] = {
        {0, H "hopper_cert_chain_case2.txt", "cert_chain", VT_NVIDIA_HOPPER}, /* root only */
        {0, H "hopper_cert_chain_case3.txt", "cert_chain", VT_NVIDIA_HOPPER}, /* ICA missing */
        {0, H "hopper_cert_chain_case4.txt", "fwid", VT_NVIDIA_HOPPER},       /* FMC leaf missing */
        {0, H "hopper_coco_certs1.txt", "fwid", VT_NVIDIA_HOPPER},            /* another GPU's chain */
        {2, B "blackwell_cert_chain_case2.txt", "cert_chain", VT_NVIDIA_BLACKWELL},
        {2, B "blackwell_cert_chain_case3.txt", "cert_chain", VT_NVIDIA_BLACKWELL},
        {2, NULL, "fwid", VT_NVIDIA_HOPPER}, /* Hopper FWID rule on a Blackwell leaf */
        {0, NULL, "fwid", VT_NVIDIA_BLACKWELL}, /* and the other way round */
        {3, B "blackwell_cert_chain_case1.txt", "report_signature", VT_NVIDIA_BLACKWELL}, /* same FWID, other GPU */
    };
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    for (size_t i = 0; i < sizeof NEG / sizeof NEG[0]; i++) {
        const vec *x = &VECS[NEG[i].vec];
        vt_buf rep = {0};
        vt_checks c;
        vt_error e;
        load_hex(x->report, &rep);
        vt_err rc = run(v, x, rep.ptr, rep.len, NEG[i].chain, NEG[i].arch, AT_2024, NULL, &c, NULL, &e);
        expect_fail(rc, &c, &e, NEG[i].check);
        if (i == 0 || i == 4) assert_non_null(strstr(e.msg, "must have 2"));
        vt_buf_free(&rep);
    }
    vt_nvidia_verifier_free(v);
    /* a verifier pinning another root refuses the NVIDIA chain */
    vt_nvidia_verifier *other = verifier(H "anchors/verifier_RIM_root.pem");
    vt_buf rep = {0};
    vt_checks c;
    vt_error e;
    load_hex(VECS[0].report, &rep);
    expect_fail(run(other, &VECS[0], rep.ptr, rep.len, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e),
                &c, &e, "root_pinned");
    vt_buf_free(&rep);
    vt_nvidia_verifier_free(other);
}

/* The report signed by the leaf does not verify with the BROM (second) certificate's key. */
static void t_signature_not_brom(void **state)
{
    vt_buf rep = {0}, chain = {0};
    vt_error e;
    STACK_OF(X509) *certs = NULL;
    load_hex(VECS[0].report, &rep);
    vt_test_load(VECS[0].chain, &chain);
    assert_int_equal(vt_pem_certs(chain.ptr, chain.len, &certs, &e), VT_OK);
    vt_nvidia_report *r = malloc(sizeof *r);
    assert_int_equal(vt_nvidia_report_parse(rep.ptr, rep.len, r, &e), VT_OK);
    assert_int_equal(vt_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(certs, 0)), VT_SHA384,
                                         r->signed_part.ptr, r->signed_part.len, r->signature.ptr, 96,
                                         "leaf", &e), VT_OK);
    assert_int_equal(vt_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(certs, 1)), VT_SHA384,
                                         r->signed_part.ptr, r->signed_part.len, r->signature.ptr, 96,
                                         "brom", &e), VT_E_VERIFY);
    free(r);
    sk_X509_pop_free(certs, X509_free);
    vt_buf_free(&rep);
    vt_buf_free(&chain);
}

/* The trailing-byte rule (docs/nvidia.md): exactly one 0x00 after a Hopper report's signature is
 * accepted (the coco capture); a second byte, a non-zero byte, a Blackwell report or the
 * strict option reject. */
static void t_trailing_bytes(void **state)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    vt_buf rep = {0}, chain = {0};
    vt_checks c;
    vt_error e;
    load_hex(VECS[1].report, &rep);
    uint8_t *buf = malloc(rep.len + 1);
    memcpy(buf, rep.ptr, rep.len);
    buf[rep.len] = 0;
    expect_fail(run(v, &VECS[1], buf, rep.len + 1, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e), &c,
                &e, "report_length");
    buf[rep.len - 1] = 0x01;
    expect_fail(run(v, &VECS[1], buf, rep.len, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e), &c,
                &e, "report_length");
    buf[rep.len - 1] = 0;
    assert_int_equal(run(v, &VECS[1], buf, rep.len - 1, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e),
                     VT_OK); /* without the pad byte */
    vt_test_load(VECS[1].chain, &chain);
    vt_nvidia_verify_opts strict = {.at = AT_2024, .strict_length = true};
    memset(&c, 0, sizeof c);
    vt_err rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, buf, rep.len, chain.ptr, chain.len, &strict,
                                        NULL, &c, &e);
    expect_fail(rc, &c, &e, "report_length");
    free(buf);
    vt_buf_free(&rep);
    vt_buf_free(&chain);
    /* Blackwell: no allowance */
    load_hex(VECS[2].report, &rep);
    buf = malloc(rep.len + 1);
    memcpy(buf, rep.ptr, rep.len);
    buf[rep.len] = 0;
    expect_fail(run(v, &VECS[2], buf, rep.len + 1, NULL, VT_NVIDIA_BLACKWELL, AT_2024, NULL, &c, NULL, &e),
                &c, &e, "report_length");
    free(buf);
    vt_buf_free(&rep);
    vt_nvidia_verifier_free(v);
}

/* Byte 52 (block 1's value), a requester-nonce byte, the FWID TLV: the README's mutations. */
static void t_mutations(void **state)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    for (size_t k = 0; k < NVECS; k += 2) {
        const vec *x = &VECS[k];
        vt_buf rep = {0};
        vt_checks c;
        vt_error e;
        load_hex(x->report, &rep);
        rep.ptr[52] ^= 1;
        expect_fail(run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, NULL, &e), &c, &e,
                    "report_signature");
        rep.ptr[52] ^= 1;
        rep.ptr[10] ^= 0x80;
        expect_fail(run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, NULL, &e), &c, &e,
                    "report_signature");
        rep.ptr[10] ^= 0x80;
        /* FWID TLV value set to 48 zero bytes (trustee's test): FWID mismatch */
        vt_nvidia_report *r = malloc(sizeof *r);
        assert_int_equal(vt_nvidia_report_parse(rep.ptr, rep.len, r, &e), VT_OK);
        size_t off = 0;
        for (size_t i = 0; i < r->n_tlv; i++)
            if (r->tlv[i].type == VT_NV_OPAQUE_FWID) off = (size_t)(r->tlv[i].value.ptr - rep.ptr);
        assert_true(off > 0);
        memset(rep.ptr + off, 0, 48);
        expect_fail(run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, NULL, &e), &c, &e, "fwid");
        /* no FWID TLV at all (id 20 renamed to 5, a defined id): fail, not skip */
        memcpy(rep.ptr + off - 4, "\x05\x00", 2);
        expect_fail(run(v, x, rep.ptr, rep.len, NULL, x->arch, AT_2024, NULL, &c, NULL, &e), &c, &e, "fwid");
        free(r);
        vt_buf_free(&rep);
    }
    vt_nvidia_verifier_free(v);
}

/* Every truncation fails to parse; every one-bit flip over the signed range and the signature
 * is rejected by the verifier. */
static void t_truncation_and_flips(void **state)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    vt_buf rep = {0}, chain = {0};
    vt_error e;
    vt_checks c;
    load_hex(VECS[0].report, &rep);
    vt_test_load(VECS[0].chain, &chain);
    vt_nvidia_report *r = malloc(sizeof *r);
    for (size_t n = 0; n < rep.len; n++)
        if (vt_nvidia_report_parse(rep.ptr, n, r, &e) == VT_OK) fail_msg("truncated to %zu bytes: parsed", n);
    vt_nvidia_verify_opts o = {.at = AT_2024};
    size_t flips = 0;
    for (size_t i = 0; i < rep.len; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        rep.ptr[i] ^= bit;
        memset(&c, 0, sizeof c);
        vt_err rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, rep.ptr, rep.len, chain.ptr, chain.len, &o,
                                            NULL, &c, &e);
        if (rc == VT_OK) fail_msg("bit 0x%02x of byte %zu flipped: accepted", bit, i);
        rep.ptr[i] ^= bit;
        flips++;
    }
    assert_int_equal(flips, 4117);
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, rep.ptr, rep.len, chain.ptr, chain.len,
                                             &o, NULL, &c, &e), VT_OK);
    free(r);
    vt_buf_free(&rep);
    vt_buf_free(&chain);
    vt_nvidia_verifier_free(v);
}

static size_t tlv_off(const vt_nvidia_report *r, const uint8_t *base, unsigned type)
{
    for (size_t i = 0; i < r->n_tlv; i++)
        if (r->tlv[i].type == type) return (size_t)(r->tlv[i].value.ptr - base) - 4;
    fail_msg("no TLV %u", type);
    return 0;
}

static void expect_parse_fail(const uint8_t *p, size_t n, const char *needle)
{
    vt_nvidia_report *r = malloc(sizeof *r);
    vt_error e;
    vt_error_clear(&e);
    vt_err rc = vt_nvidia_report_parse(p, n, r, &e);
    free(r);
    if (rc == VT_OK) fail_msg("parsed; want failure '%s'", needle);
    if (strstr(e.msg, needle) == NULL) fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void t_tlv_rules(void **state)
{
    vt_buf rep = {0};
    vt_error e;
    load_hex(VECS[0].report, &rep);
    vt_nvidia_report *r = malloc(sizeof *r);
    assert_int_equal(vt_nvidia_report_parse(rep.ptr, rep.len, r, &e), VT_OK);
    uint8_t *m = malloc(rep.len);
    size_t o6 = tlv_off(r, rep.ptr, 6), o14 = tlv_off(r, rep.ptr, 14), o3 = tlv_off(r, rep.ptr, 3),
           o21 = tlv_off(r, rep.ptr, 21), o11 = tlv_off(r, rep.ptr, 11);
#define MUT(stmt, needle)                    \
    do {                                     \
        memcpy(m, rep.ptr, rep.len);         \
        stmt;                                \
        expect_parse_fail(m, rep.len, needle); \
    } while (0)
    MUT(m[o6] = 99, "unknown TLV id 99");
    MUT(m[o6] = 26, "unknown TLV id 26");
    MUT(m[o14] = 6, "duplicate TLV id 6");
    MUT(m[o21 + 2] = 2, "opaque data truncated"); /* last TLV runs past L2 */
    MUT(m[o3] = 5, "no driver_version");
    MUT(m[o6] = 5, "no vbios_version");
    MUT(m[o11 + 4] = 0x12, "nvdec0_status");
    MUT(m[o3 + 4] = 0x01, "printable");
    MUT(m[o3 + 4 + 3] = 0, "after the terminating NUL"); /* "550\0.90.07\0" */
    /* measurement record: size mismatch, wrong spec, duplicate index, record length */
    MUT(m[37 + 8 + 2] = 52, "MeasurementSize");
    MUT(m[37 + 8 + 1] = 2, "specification");
    MUT(m[37 + 8 + 55] = 1, "duplicate index");
    MUT(m[37 + 5] = 0xbf, "Measurement needs 51 bytes"); /* L1 - 1 */
    MUT(m[37 + 4] = 63, "left after");    /* one block fewer than the record holds */
    MUT(m[0] = 0x10, "SPDMVersion");
    MUT(m[1] = 0xE1, "RequestResponseCode");
    MUT(m[37] = 0x12, "SPDMVersion");
    MUT(m[38] = 0x61, "RequestResponseCode");
    MUT(m[2] = 0, "signature");
#undef MUT
    free(m);
    free(r);
    vt_buf_free(&rep);
}

static char *evidence_json(const char *const *reports, const char *const *chains, const char *const *archs,
                           size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        vt_buf rep = {0}, chain = {0};
        load_hex(reports[i], &rep);
        vt_test_load(chains[i], &chain);
        char *ev = i % 2 ? vt_b64_encode(rep.ptr, rep.len, false) : vt_hex_dup(rep.ptr, rep.len);
        char *ce = vt_b64_encode(chain.ptr, chain.len, false);
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-%zu", i);
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "arch", archs[i], "uuid", uuid,
                                              "evidence", ev, "certificate", ce));
        free(ev);
        free(ce);
        vt_buf_free(&rep);
        vt_buf_free(&chain);
    }
    json_t *o = json_pack("{s:o}", "device_evidence_list", list);
    char *s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

static void t_evidence_list(void **state)
{
    vt_nvidia_verifier *v = verifier(B "anchors/nvidia_device_root.pem");
    const char *reps[] = {VECS[0].report, VECS[2].report, VECS[3].report};
    const char *chains[] = {VECS[0].chain, VECS[2].chain, VECS[3].chain};
    const char *archs[] = {"HOPPER", "BLACKWELL", "BLACKWELL"};
    char *s = evidence_json(reps, chains, archs, 3);
    vt_nvidia_verify_opts o = {.at = AT_2024};
    vt_checks c = {0};
    vt_error e;
    json_t *claims = NULL;
    vt_err rc = vt_nvidia_verify(v, (const uint8_t *)s, strlen(s), &o, &claims, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    json_t *devs = json_object_get(claims, "devices");
    assert_int_equal(json_array_size(devs), 3);
    /* one entry per check, whatever the number of devices */
    assert_int_equal(c.n, 10);
    assert_non_null(strstr(vt_checks_find(&c, "report_signature")->detail, "gpu0..2: "));
    assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 1), "uuid")), "GPU-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 2), "ueid")), VECS[3].ueid);
    json_decref(claims);
    free(s);
    /* the same Blackwell report twice (different uuid): a replay */
    const char *reps2[] = {VECS[2].report, VECS[2].report};
    const char *chains2[] = {VECS[2].chain, VECS[2].chain};
    s = evidence_json(reps2, chains2, archs + 1, 2);
    memset(&c, 0, sizeof c);
    rc = vt_nvidia_verify(v, (const uint8_t *)s, strlen(s), &o, &claims, &c, &e);
    expect_fail(rc, &c, &e, "ueid_unique");
    assert_null(claims);
    free(s);
    /* an LS10 switch, an unknown arch, empty list, not JSON */
    static const char *const BAD[] = {
        "{\"device_evidence_list\":[{\"arch\":\"LS10\",\"evidence\":\"11\",\"certificate\":\"\"}]}",
        "{\"device_evidence_list\":[]}",
        "{\"device_evidence_list\":[{\"arch\":\"HOPPER\",\"evidence\":\"zz\",\"certificate\":\"\"}]}",
        "{\"device_evidence_list\":[{\"arch\":\"HOPPER\",\"evidence\":\"1100\"}]}",
        "[1]",
        "not json",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        memset(&c, 0, sizeof c);
        rc = vt_nvidia_verify(v, (const uint8_t *)BAD[i], strlen(BAD[i]), &o, &claims, &c, &e);
        if (rc == VT_OK) fail_msg("accepted %s", BAD[i]);
        assert_null(claims);
    }
    vt_nvidia_verifier_free(v);
}

/* The chain cache keeps the time window: a cached chain is not valid before its notBefore. */
static void t_cache_window(void **state)
{
    vt_nvidia_verifier *v = verifier(H "anchors/nvidia_device_root.pem");
    vt_buf rep = {0};
    vt_checks c;
    vt_error e;
    load_hex(VECS[0].report, &rep);
    assert_int_equal(run(v, &VECS[0], rep.ptr, rep.len, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e), VT_OK);
    assert_int_equal(run(v, &VECS[0], rep.ptr, rep.len, NULL, VT_NVIDIA_HOPPER, AT_2024, NULL, &c, NULL, &e), VT_OK);
    assert_non_null(strstr(vt_checks_find(&c, "cert_chain")->detail, "cached"));
    expect_fail(run(v, &VECS[0], rep.ptr, rep.len, NULL, VT_NVIDIA_HOPPER, HOPPER_FROM - 1, NULL, &c, NULL, &e),
                &c, &e, "cert_chain");
    /* the cached entry is per architecture: the Blackwell rule still applies */
    expect_fail(run(v, &VECS[0], rep.ptr, rep.len, NULL, VT_NVIDIA_BLACKWELL, AT_2024, NULL, &c, NULL, &e),
                &c, &e, "fwid");
    vt_buf_free(&rep);
    vt_nvidia_verifier_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_facts),        cmocka_unit_test(t_verify_vectors),
        cmocka_unit_test(t_claims_match_trustee), cmocka_unit_test(t_negative_chains),
        cmocka_unit_test(t_signature_not_brom), cmocka_unit_test(t_trailing_bytes),
        cmocka_unit_test(t_mutations),          cmocka_unit_test(t_truncation_and_flips),
        cmocka_unit_test(t_tlv_rules),          cmocka_unit_test(t_evidence_list),
        cmocka_unit_test(t_cache_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
