/* The TPM kinds through the one verification entry (verify.h, src/verify/verify_tpm.c and
 * claims_tpm.c): the real Azure and tpm vectors decode to their READMEs' facts as normalized
 * claims and their must-fail mutations are refused by the named check; emulated Azure CVMs
 * reach what the vectors cannot (collateral, event log, init-data); the init-data option for
 * every kind it applies to. */
#include <openssl/pem.h>
#include <pthread.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/json.h"
#include "veritee/tpm.h"
#include "veritee/verify.h"

#define T0 "2026-06-01T12:00:00Z"

static vt_time at(const char *s)
{
    vt_time t = 0;
    assert_int_equal(vt_time_parse_rfc3339(s, &t, NULL), VT_OK);
    return t;
}

static void hex_is(const uint8_t *p, size_t n, const char *hex)
{
    char *h = vt_hex_dup(p, n);
    assert_string_equal(h, hex);
    free(h);
}

static vt_buf unhex(const char *h)
{
    vt_buf b = {0};
    assert_int_equal(vt_hex_decode(h, strlen(h), &b, NULL), VT_OK);
    return b;
}

static vt_verifier *verifier(const char *trust, const char *coll, const char *aks)
{
    vt_verify_sources s = {.trust_dir = trust, .collateral_dir = coll, .tpm_aks = aks};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&s, &v, &e), VT_OK);
    return v;
}

static vt_err run(vt_verifier *v, const vt_buf *ev, const vt_verify_opts *o, vt_verify_result *r, vt_error *e)
{
    vt_error_clear(e);
    vt_verify_result_clear(r);
    return vt_verify(v, ev->ptr, ev->len, o, r, e);
}

static const char *PCR0_V1 = "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced";
static const char *MEAS_V1 = "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e";

/* az_snp_vtpm/README.md: the facts, read from normalized claims (auto-detected kind). */
static void test_az_snp_vectors(void **state)
{
    (void)state;
    char anchors[1024];
    if (!vt_test_vector_path("az_snp_vtpm/anchors", anchors, sizeof anchors)) skip();
    vt_verifier *v = verifier(anchors, NULL, NULL);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    struct {
        const char *file, *nonce, *pcr0, *meas, *pcr8;
        int version;
    } rows[] = {
        {"az_snp_vtpm/evidence-v0.json", "6368616c6c656e6765", PCR0_V1, MEAS_V1, NULL, 0},
        {"az_snp_vtpm/evidence-v1.json", "6368616c6c656e6765", PCR0_V1, MEAS_V1, NULL, 1},
        {"az_snp_vtpm/evidence-v2.json",
         "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef",
         "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7",
         "5b0ce64ad1c1f6375dbda5f760b98526ca1bcf91b8195091afc28e7b024251d68fe32e05af34048d6607678cd23283ff", NULL, 2},
        {"az_snp_vtpm/evidence-genoa.json",
         "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f",
         "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338",
         "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
         "16f09f1e315b0b9bc69e654df58927aad7eaffeebd92f458f1b079b44e97207f", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vt_buf ev = {0}, n = unhex(rows[i].nonce);
        vt_test_load(rows[i].file, &ev);
        vt_verify_opts o = {.at = at("2026-01-01T00:00:00Z"), .nonce = n.ptr, .nonce_len = n.len};
        vt_err rc = run(v, &ev, &o, r, &e);
        if (rc != VT_OK) fail_msg("%s: %s: %s", rows[i].file, e.check, e.msg);
        const vt_claims *c = &r->claims;
        assert_int_equal(c->tee, VT_TEE_AZ_SNP_VTPM);
        assert_int_equal(vt_tee_hw(c->tee), VT_TEE_SNP);
        assert_true(c->verified && !c->emulated && c->tpm.present);
        assert_int_equal(c->tpm.evidence_version, rows[i].version);
        assert_int_equal(c->tpm.n_pcrs, 24);
        hex_is(vt_claims_pcr_get(c, VT_TPM_ALG_SHA256, 0)->value, 32, rows[i].pcr0);
        for (unsigned k = 17; k <= 22; k++) {
            const vt_claims_pcr *p = vt_claims_pcr_get(c, VT_TPM_ALG_SHA256, k);
            for (int b = 0; b < 32; b++) assert_int_equal(p->value[b], 0xff);
        }
        hex_is(vt_claims_meas(c, "measurement")->value, 48, rows[i].meas);
        assert_int_equal(c->u.snp.vmpl, 0);
        assert_int_equal(c->u.snp.policy, 0x3001F);
        /* freshness: the quote's qualifying data; init-data: PCR8 */
        assert_memory_equal(c->report_data, n.ptr, n.len);
        assert_int_equal(c->report_data_len, n.len);
        assert_string_equal(c->init_data_name, "pcr8");
        if (rows[i].pcr8 != NULL) hex_is(c->init_data, 32, rows[i].pcr8);
        else assert_true(vt_bytes_is_zero(c->init_data, 32));
        assert_true(c->tpm.has_runtime_claims);
        assert_int_equal(c->tpm.tpm_enabled, 1);
        if (rows[i].version == 2) {
            assert_int_equal(c->tpm.user_data_len, 64);
            assert_memory_equal(c->tpm.user_data, n.ptr, n.len);
            assert_non_null(vt_checks_find(&r->checks, "hcl_user_data"));
        }
        json_t *j = vt_claims_json(c);
        assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(j, "tpm"), "pcrs"), "sha256"), "0")),
                            rows[i].pcr0);
        json_decref(j);
        vt_buf_free(&ev);
        vt_buf_free(&n);
    }
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* The README's must-fail mutations of evidence-v1, each refused by its check through vt_verify. */
static void test_az_snp_mutations(void **state)
{
    (void)state;
    char anchors[1024];
    if (!vt_test_vector_path("az_snp_vtpm/anchors", anchors, sizeof anchors)) skip();
    vt_verifier *v = verifier(anchors, NULL, NULL);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    vt_buf ev = {0}, n = unhex("6368616c6c656e6765"), wrong = unhex("6368616c6c656e6766");
    vt_test_load("az_snp_vtpm/evidence-v1.json", &ev);
    json_t *j = NULL;
    assert_int_equal(vt_json_parse((const char *)ev.ptr, ev.len, &j, &e), VT_OK);
    vt_verify_opts o = {.tee = "az-snp-vtpm", .at = at("2026-01-01T00:00:00Z"), .nonce = n.ptr, .nonce_len = n.len};
    struct {
        const char *field; /* "signature", "message", "pcr" */
        size_t hex_at;
        const char *check;
    } m[] = {{"signature", 0, "tpm_quote_signature"}, {"message", 80, "tpm_quote_signature"}, {"pcr", 0, "tpm_pcr_digest"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        json_t *c = json_deep_copy(j), *q = json_object_get(c, "tpm_quote");
        json_t *s = strcmp(m[i].field, "pcr") == 0 ? json_array_get(json_object_get(q, "pcrs"), 0) : json_object_get(q, m[i].field);
        char *t = strdup(json_string_value(s));
        t[m[i].hex_at] = t[m[i].hex_at] == '0' ? '1' : '0';
        json_string_set(s, t);
        free(t);
        char *text = json_dumps(c, JSON_COMPACT);
        vt_buf mut = {(uint8_t *)text, strlen(text)};
        assert_int_not_equal(run(v, &mut, &o, r, &e), VT_OK);
        assert_string_equal(e.check, m[i].check);
        free(text);
        json_decref(c);
    }
    /* expected nonce "challengf" */
    vt_verify_opts ow = o;
    ow.nonce = wrong.ptr;
    assert_int_equal(run(v, &ev, &ow, r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* before the VCEK's notBefore */
    vt_verify_opts ot = o;
    ot.at = at("2025-01-28T16:26:54Z");
    assert_int_not_equal(run(v, &ev, &ot, r, &e), VT_OK);
    /* TDX evidence named az-snp-vtpm: refused before anything is believed */
    vt_buf tdx = {0};
    vt_test_load("az_tdx_vtpm/evidence-v1.json", &tdx);
    assert_int_equal(run(v, &tdx, &o, r, &e), VT_E_ARG);
    vt_buf_free(&tdx);
    json_decref(j);
    vt_buf_free(&ev);
    vt_buf_free(&n);
    vt_buf_free(&wrong);
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* az_tdx_vtpm: no Intel collateral in the set -> every offline check passes, VT_E_MISSING. */
static void test_az_tdx_vectors(void **state)
{
    (void)state;
    vt_buf ev = {0}, n = unhex("6368616c6c656e6765");
    vt_test_load("az_tdx_vtpm/evidence-v1.json", &ev);
    vt_verifier *v = verifier(NULL, NULL, NULL);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    vt_verify_opts o = {.at = at("2026-01-01T00:00:00Z"), .nonce = n.ptr, .nonce_len = n.len};
    assert_int_equal(run(v, &ev, &o, r, &e), VT_E_MISSING);
    const char *passed[] = {"tpm_quote_signature", "tpm_quote_nonce", "tpm_pcr_digest", "td_quote_signature",
                            "hcl_report_data", "hcl_tdreport"};
    for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
        const vt_check *c = vt_checks_find(&r->checks, passed[i]);
        if (c == NULL || c->status != VT_CHECK_PASS) fail_msg("%s did not pass", passed[i]);
    }
    assert_non_null(r->tdx); /* the TD quote as far as it was verified */
    hex_is(r->tdx->quote.td.mr_td, 48,
           "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b");
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
    vt_buf_free(&ev);
    vt_buf_free(&n);
}

/* tpm: trusted AKs are a source; the 64-byte extraData is the 48-byte nonce zero-padded. */
static void test_tpm_vector(void **state)
{
    (void)state;
    vt_buf ev = {0}, der = {0};
    vt_test_load("tpm/tpm_evidence.json", &ev);
    json_t *j = NULL;
    vt_error e;
    assert_int_equal(vt_json_parse((const char *)ev.ptr, ev.len, &j, &e), VT_OK);
    const char *b64 = json_string_value(json_object_get(j, "ak_public"));
    assert_int_equal(vt_b64_decode(b64, strlen(b64), &der, &e), VT_OK);
    const unsigned char *q = der.ptr;
    EVP_PKEY *ak = d2i_PUBKEY(NULL, &q, (long)der.len);
    assert_non_null(ak);
    char dir[256], path[300];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ak.pem", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, ak), 1);
    fclose(f);
    vt_buf n = unhex("a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120");
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_verify_opts o = {.at = at(T0), .nonce = n.ptr, .nonce_len = n.len};
    /* no AK trusted: missing */
    vt_verifier *none = verifier(NULL, NULL, NULL);
    assert_int_equal(run(none, &ev, &o, r, &e), VT_E_MISSING);
    assert_string_equal(e.check, "ak_trusted");
    vt_verifier *v = verifier(NULL, NULL, dir);
    assert_int_equal(run(v, &ev, &o, r, &e), VT_OK);
    const vt_claims *c = &r->claims;
    assert_int_equal(c->tee, VT_TEE_TPM);
    assert_true(c->tpm.has_ak_sha256);
    hex_is(c->tpm.ak_sha256, 32, "a517f03ffdaee469aef1a19569547e330726335d0461c3ef6383409c6295679e");
    assert_int_equal(c->report_data_len, 64);
    assert_memory_equal(c->report_data, n.ptr, 48);
    assert_int_equal(c->tpm.n_pcrs, 24);
    assert_true(vt_bytes_is_zero(c->init_data, 32)); /* a fresh TPM: nothing bound */
    /* options a TPM quote cannot use */
    vt_verify_opts crl = o;
    crl.crl_required = true;
    assert_int_equal(run(v, &ev, &crl, r, &e), VT_E_ARG);
    json_decref(j);
    EVP_PKEY_free(ak);
    vt_buf_free(&der);
    vt_buf_free(&ev);
    vt_buf_free(&n);
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
    vt_verifier_free(none);
}

typedef struct emu_fx {
    char dir[256];
    vt_emu *emu;
    uint8_t host_data[32];   /* SNP HOSTDATA = SHA-256 of an init-data TOML */
    uint8_t config_id[48];   /* TDX MRCONFIGID = SHA-384 of another */
} emu_fx;

static int emu_setup(void **state)
{
    emu_fx *f = calloc(1, sizeof *f);
    vt_error e;
    vt_test_tmpdir(f->dir, sizeof f->dir);
    if (vt_hash(VT_SHA256, "snp init-data", 13, f->host_data, NULL) != VT_OK ||
        vt_hash(VT_SHA384, "tdx init-data", 13, f->config_id, NULL) != VT_OK)
        return -1;
    json_t *p = vt_emu_default_platform();
    json_object_del(p, "cca");
    json_object_set_new(json_object_get(p, "snp"), "rsa_bits", json_integer(2048));
    json_object_set_new(json_object_get(p, "snp"), "host_data", vt_json_hex_string(f->host_data, 32));
    json_object_set_new(json_object_get(p, "tdx"), "mr_config_id", vt_json_hex_string(f->config_id, 48));
    char *text = json_dumps(p, 0);
    json_decref(p);
    vt_err rc = vt_emu_init(f->dir, text, at(T0), &e);
    free(text);
    if (rc != VT_OK || vt_emu_open(f->dir, &f->emu, &e) != VT_OK) {
        fprintf(stderr, "emu: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int emu_teardown(void **state)
{
    emu_fx *f = *state;
    vt_emu_free(f->emu);
    free(f);
    return 0;
}

static vt_verifier *emu_verifier(const emu_fx *f)
{
    char trust[300], coll[300];
    snprintf(trust, sizeof trust, "%s/trust", f->dir);
    snprintf(coll, sizeof coll, "%s/collateral", f->dir);
    return verifier(trust, coll, NULL);
}

/* Emulated Azure CVMs: the full verdict (TD quote with collateral), the event log's records as
 * claims, init-data in PCR8 (a SHA-256 digest only). */
static void test_az_emulated(void **state)
{
    emu_fx *f = *state;
    vt_verifier *v = emu_verifier(f);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    uint8_t nonce[48], id[32], other[32] = {1};
    for (int i = 0; i < 48; i++) nonce[i] = (uint8_t)(0x30 + i);
    assert_int_equal(vt_hash(VT_SHA256, "init-data toml", 14, id, NULL), VT_OK);
    const char *aael[] = {"github.com/confidential-containers PullImage {\"image\":\"busybox\"}",
                          "github.com/confidential-containers CreateContainer {\"id\":\"c1\"}"};
    vt_emu_az_opts ao = {.init_data_hash = id, .aael = aael, .n_aael = 2};
    const vt_emu_az_kind kinds[2] = {VT_EMU_AZ_SNP, VT_EMU_AZ_TDX};
    const vt_tee tees[2] = {VT_TEE_AZ_SNP_VTPM, VT_TEE_AZ_TDX_VTPM};
    for (int k = 0; k < 2; k++) {
        vt_buf ev = {0};
        assert_int_equal(vt_emu_az_evidence(f->emu, kinds[k], nonce, sizeof nonce, &ao, &ev, &e), VT_OK);
        vt_verify_opts o = {.at = at("2026-06-02T00:00:00Z"), .nonce = nonce, .nonce_len = 48, .init_data = id,
                            .init_data_len = 32};
        if (run(v, &ev, &o, r, &e) != VT_OK) fail_msg("%s: %s: %s", vt_tee_name(tees[k]), e.check, e.msg);
        const vt_claims *c = &r->claims;
        assert_int_equal(c->tee, tees[k]);
        assert_true(c->emulated);
        assert_int_equal(c->tpm.evidence_version, 2);
        assert_true(vt_claims_init_data_binds(c, id, 32));
        assert_false(vt_claims_init_data_binds(c, other, 32));
        assert_non_null(vt_checks_find(&r->checks, "init_data"));
        assert_true(c->tpm.has_event_log);
        assert_int_equal(c->tpm.n_events, 2);
        assert_true(c->tpm.events[0].aael);
        assert_int_equal(c->tpm.events[0].pcr, 23);
        assert_string_equal(c->tpm.events[0].domain, "github.com/confidential-containers");
        assert_string_equal(c->tpm.events[0].operation, "PullImage");
        assert_string_equal(c->tpm.events[1].content, "{\"id\":\"c1\"}");
        if (k == 1) { /* the TDX verdict: collateral checked, TCB status known */
            assert_true(c->has_tcb_status);
            assert_non_null(vt_claims_meas(c, "mr_td"));
        }
        /* another init-data digest: refused naming init_data */
        vt_verify_opts bad = o;
        bad.init_data = other;
        assert_int_equal(run(v, &ev, &bad, r, &e), VT_E_VERIFY);
        assert_string_equal(e.check, "init_data");
        /* a SHA-384 digest cannot be in PCR8: the option cannot apply */
        uint8_t d48[48] = {0};
        bad.init_data = d48;
        bad.init_data_len = 48;
        assert_int_equal(run(v, &ev, &bad, r, &e), VT_E_ARG);
        vt_buf_free(&ev);
    }
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* Azure evidence verified by several threads at once on one verifier, while another thread
 * makes it rebuild from its sources: each thread's own nonce passes, another's is refused.
 * The TPM kinds run outside the verifier's lock, so a rebuild, and the Azure verifier
 * rebuilt when the second hardware verifier is built after it, must wait for them (ASan
 * reports the use after free otherwise). */
#define AZ_WORKERS 4
#define AZ_ROUNDS 6

typedef struct az_worker {
    vt_verifier *v;
    int id;
    uint8_t nonce[32], other[32];
    vt_buf ev[2];
    int good;
    char bad[300];
    vt_test_ticker *reloader;
    int reloads_before; /* the reloader's calls when the workers were started */
} az_worker;

static const vt_tee az_tees[2] = {VT_TEE_AZ_SNP_VTPM, VT_TEE_AZ_TDX_VTPM};

static void *az_work(void *arg)
{
    az_worker *w = arg;
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    for (int round = 0; r != NULL && round < AZ_ROUNDS; round++)
        for (int j = 0; j < 2; j++) {
            if (round == AZ_ROUNDS / 2 && j == 0 && !vt_test_ticker_wait_past(w->reloader, w->reloads_before) &&
                w->bad[0] == 0)
                snprintf(w->bad, sizeof w->bad, "worker %d: no rebuild within 30 s while it ran", w->id);
            int k = (j + w->id) % 2;
            vt_verify_opts o = {.at = at("2026-06-02T00:00:00Z"), .nonce = w->nonce, .nonce_len = 32};
            vt_error_clear(&e);
            vt_err rc = vt_verify(w->v, w->ev[k].ptr, w->ev[k].len, &o, r, &e);
            if (rc != VT_OK || r->claims.tee != az_tees[k]) {
                if (w->bad[0] == 0)
                    snprintf(w->bad, sizeof w->bad, "worker %d %s own nonce: %.40s: %.200s", w->id, vt_tee_name(az_tees[k]),
                             e.check, e.msg);
            } else {
                w->good++;
            }
            vt_verify_result_clear(r);
            o.nonce = w->other;
            vt_error_clear(&e);
            if (vt_verify(w->v, w->ev[k].ptr, w->ev[k].len, &o, r, &e) != VT_E_VERIFY) {
                if (w->bad[0] == 0)
                    snprintf(w->bad, sizeof w->bad, "worker %d %s: another nonce not refused", w->id,
                             vt_tee_name(az_tees[k]));
            } else {
                w->good++;
            }
            vt_verify_result_clear(r);
        }
    free(r);
    return NULL;
}

static bool az_reload(void *v)
{
    vt_verifier_invalidate(v);
    return true;
}

static void test_az_concurrent(void **state)
{
    emu_fx *f = *state;
    vt_verifier *v = emu_verifier(f);
    az_worker w[AZ_WORKERS];
    memset(w, 0, sizeof w);
    vt_error e;
    const vt_emu_az_kind kinds[2] = {VT_EMU_AZ_SNP, VT_EMU_AZ_TDX};
    for (int i = 0; i < AZ_WORKERS; i++) {
        w[i].v = v;
        w[i].id = i;
        for (int b = 0; b < 32; b++) w[i].nonce[b] = (uint8_t)(0x11 * i + b + 1);
        for (int k = 0; k < 2; k++) {
            vt_emu_az_opts ao = {0};
            assert_int_equal(vt_emu_az_evidence(f->emu, kinds[k], w[i].nonce, 32, &ao, &w[i].ev[k], &e), VT_OK);
        }
    }
    for (int i = 0; i < AZ_WORKERS; i++) memcpy(w[i].other, w[(i + 1) % AZ_WORKERS].nonce, 32);
    vt_test_ticker *rl = vt_test_ticker_start(az_reload, v, 2, 400); /* rebuilds, 2 ms apart */
    /* the second half of each worker's rounds runs after a rebuild forced while the workers ran:
     * under load the reloader's thread was not always run before they had all finished */
    int before = vt_test_ticker_calls(rl);
    pthread_t th[AZ_WORKERS];
    for (int i = 0; i < AZ_WORKERS; i++) {
        w[i].reloader = rl;
        w[i].reloads_before = before;
        assert_int_equal(pthread_create(&th[i], NULL, az_work, &w[i]), 0);
    }
    for (int i = 0; i < AZ_WORKERS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    int reloads = vt_test_ticker_stop(rl, NULL);
    for (int i = 0; i < AZ_WORKERS; i++) {
        if (w[i].bad[0] != 0) fail_msg("%s", w[i].bad);
        assert_int_equal(w[i].good, AZ_ROUNDS * 2 * 2);
        for (int k = 0; k < 2; k++) vt_buf_free(&w[i].ev[k]);
    }
    assert_true(reloads > 0);
    vt_verifier_free(v);
}

/* --init-data for the hardware kinds: HOSTDATA (SNP, pad/truncate to 32), MRCONFIGID (TDX, 48). */
static void test_init_data_hw(void **state)
{
    emu_fx *f = *state;
    vt_verifier *v = emu_verifier(f);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    uint8_t rd[64] = {7};
    vt_buf snp = {0}, tdx = {0};
    vt_emu_snp_opts so = {.with_certtable = true};
    assert_int_equal(vt_emu_snp_report(f->emu, rd, &so, &snp, &e), VT_OK);
    assert_int_equal(vt_emu_tdx_quote(f->emu, rd, 4, &tdx, &e), VT_OK);
    vt_verify_opts o = {.at = at("2026-06-02T00:00:00Z"), .init_data = f->host_data, .init_data_len = 32};
    assert_int_equal(run(v, &snp, &o, r, &e), VT_OK);
    assert_int_equal(vt_checks_find(&r->checks, "init_data")->status, VT_CHECK_PASS);
    o.init_data = f->config_id;
    o.init_data_len = 48;
    assert_int_equal(run(v, &tdx, &o, r, &e), VT_OK);
    assert_int_equal(vt_checks_find(&r->checks, "init_data")->status, VT_CHECK_PASS);
    /* crossed: each field binds only its own digest */
    assert_int_equal(run(v, &snp, &o, r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "init_data");
    o.init_data = f->host_data;
    o.init_data_len = 32;
    assert_int_equal(run(v, &tdx, &o, r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "init_data");
    vt_buf_free(&snp);
    vt_buf_free(&tdx);
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* vt_claims_add_tpm refuses what it cannot represent, naming it. */
static void test_claims_json_refused(void **state)
{
    (void)state;
    static vt_claims c;
    vt_error e;
    const char *bad[] = {
        "{\"tpm\": {\"pcr99\": \"00\"}, \"report_data\": \"00\"}",
        "{\"tpm\": {\"md5.pcr01\": \"00\"}, \"report_data\": \"00\"}",
        "{\"tpm\": {\"pcr01\": \"zz\"}, \"report_data\": \"00\"}",
        "{\"report_data\": \"00\"}",
        "{\"tpm\": {\"pcr01\": \"00\"}, \"report_data\": \"00\", \"event_log\": [{\"index\": 1, \"aael\": {\"domain\": 1}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        memset(&c, 0, sizeof c);
        assert_int_equal(vt_claims_add_tpm(VT_TEE_AZ_SNP_VTPM, j, &c, &e), VT_E_INVALID);
        json_decref(j);
    }
    json_t *j = json_loads("{\"pcrs\": {}, \"report_data\": \"00\"}", 0, NULL);
    assert_int_equal(vt_claims_add_tpm(VT_TEE_SNP, j, &c, &e), VT_E_ARG);
    json_decref(j);
}

/* The tpm builder writes every PCR and event entry it fills whole: claims full of junk before
 * (the reset leaves the entry arrays as they are) give the same claims as zeroed ones. */
static void test_claims_from_junk(void **state)
{
    (void)state;
    static vt_claims junk, zero;
    vt_error e;
    json_t *j = json_loads("{\"pcrs\": {\"pcr08\": \"abcd\", \"sha1.pcr01\": \"01\"}, \"report_data\": \"0011\","
                           " \"event_log\": [{\"index\": 1, \"pcr\": 8, \"type\": 13, \"digests\": {\"sha256\": \"ee\"}},"
                           " {\"index\": 2, \"pcr\": 23, \"type\": 13, \"aael\": {\"domain\": \"d\", \"operation\": \"o\","
                           " \"content\": \"c\"}}]}",
                           0, NULL);
    assert_non_null(j);
    memset(&junk, 0xa5, sizeof junk);
    memset(&zero, 0, sizeof zero);
    assert_int_equal(vt_claims_add_tpm(VT_TEE_TPM, j, &junk, &e), VT_OK);
    assert_int_equal(vt_claims_add_tpm(VT_TEE_TPM, j, &zero, &e), VT_OK);
    json_decref(j);
    assert_int_equal(junk.tpm.n_pcrs, 2);
    assert_int_equal(junk.tpm.n_events, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_memory_equal(&junk.tpm.pcrs[i], &zero.tpm.pcrs[i], sizeof junk.tpm.pcrs[i]);
        assert_memory_equal(&junk.tpm.events[i], &zero.tpm.events[i], sizeof junk.tpm.events[i]);
    }
    assert_false(junk.tpm.events_truncated);
    assert_int_equal(junk.n_meas + junk.n_advisories, 0);
    json_t *a = vt_claims_json(&junk), *b = vt_claims_json(&zero);
    assert_non_null(a);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

/* The kind of a JSON form by its top-level keys only: a key nested or a value that looks like a
 * key does not count; broken JSON is no kind. */
static void test_detect(void **state)
{
    (void)state;
    struct {
        const char *json, *kind;
    } rows[] = {
        {" {\"version\":1,\"vcek\":\"AA\",\"hcl_report\":\"BB\",\"tpm_quote\":{}}", "az-snp-vtpm"},
        {"{\"quote\":{},\"report\":[1,2],\"vcek\":\"-----BEGIN\"}", "az-snp-vtpm"},
        {"{\"tpm_quote\":{\"pcrs\":[]},\"hcl_report\":\"x\",\"td_quote\":\"y\"}", "az-tdx-vtpm"},
        {"{\"ak_public\":\"x\",\"tpm_quote\":{\"message\":\"\\\"vcek\\\"\"}}", "tpm"},
        {"{\"x\":{\"vcek\":1,\"report\":2}}", NULL},
        {"{\"note\":\"vcek\",\"report\":1}", NULL},
        {"{\"vcek\":\"a\",\"report\":1", NULL},
        {"[{\"vcek\":1,\"report\":2}]", NULL},
        {"{\"vcek\":\"a\\\"},\"report\":1}", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *k = vt_evidence_detect((const uint8_t *)rows[i].json, strlen(rows[i].json));
        if ((k == NULL) != (rows[i].kind == NULL) || (k != NULL && strcmp(k, rows[i].kind) != 0))
            fail_msg("%s: %s, expected %s", rows[i].json, k ? k : "none", rows[i].kind ? rows[i].kind : "none");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_az_snp_vectors),
        cmocka_unit_test(test_az_snp_mutations),
        cmocka_unit_test(test_az_tdx_vectors),
        cmocka_unit_test(test_tpm_vector),
        cmocka_unit_test_setup_teardown(test_az_emulated, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(test_init_data_hw, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(test_az_concurrent, emu_setup, emu_teardown),
        cmocka_unit_test(test_claims_json_refused),
        cmocka_unit_test(test_claims_from_junk),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
