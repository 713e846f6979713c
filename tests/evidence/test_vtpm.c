/* The guest's cc_eventlog (vt_cc_eventlog_build, vt_vtpm_event_logs_read): firmware log and the
 * attestation agent's log joined into one TCG2 log that replays to what each part says
 * (shared/vectors/aael and ccel_gcp_gke READMEs); hostile parts refused. The TPM commands
 * themselves run against swtpm in tests/cli/cli_vtpm.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tpm.h"
#include "veritee/vtpm.h"

static void hex_eq(const uint8_t *p, size_t n, const char *want)
{
    char h[129];
    vt_hex_encode(p, n, h);
    assert_string_equal(h, want);
}

/* A firmware CCEL with FF fill: the fill goes, the terminator comes back, nothing else changes. */
static void test_ccel_alone(void **state)
{
    (void)state;
    vt_buf fw = {0}, out = {0};
    vt_error e;
    vt_test_load("ccel_gcp_gke/CCEL_data_gcp", &fw);
    assert_int_equal(vt_cc_eventlog_build(fw.ptr, fw.len, NULL, 0, &out, &e), VT_OK);
    assert_int_equal(out.len, 20349 + 8);
    assert_memory_equal(out.ptr, fw.ptr, 20349);
    vt_tcg2_replay r;
    assert_int_equal(vt_tcg2_replay_log(out.ptr, out.len, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, &r, &e), VT_OK);
    hex_eq(r.reg[1], 48, "3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b304f");
    vt_buf_free(&fw);
    vt_buf_free(&out);
}

/* Firmware log (PCR 17) then the agent's (PCR 23, its own header dropped): both replay. */
static void test_join_vtpm_logs(void **state)
{
    (void)state;
    vt_buf fw = {0}, aa = {0}, out = {0};
    vt_error e;
    vt_test_load("aael/vtpm-synthetic/aael-pcr17-pull-image.bin", &fw);
    vt_test_load("aael/vtpm-synthetic/aael-pcr23-pull-image.bin", &aa);
    assert_int_equal(vt_cc_eventlog_build(fw.ptr, fw.len, aa.ptr, aa.len, &out, &e), VT_OK);
    assert_true(out.len < fw.len + aa.len); /* one header, one terminator */
    vt_tcg2_replay r;
    assert_int_equal(vt_tcg2_replay_log(out.ptr, out.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, &r, &e), VT_OK);
    assert_true(r.touched[17] && r.touched[23]);
    hex_eq(r.reg[17], 32, "3ccfec1f1a0b9d532a2966c952036e75a57f9f6f15b6655e7e4dcb74baf6601e");
    hex_eq(r.reg[23], 32, "4c8ca947d9ec3dd8692435cd7f99900f96363da802bf1227a794ad0c2c806b8b");
    vt_buf_free(&out);
    /* only the agent's log: it keeps its header and is sent as it is */
    assert_int_equal(vt_cc_eventlog_build(NULL, 0, aa.ptr, aa.len, &out, &e), VT_OK);
    assert_int_equal(out.len, aa.len);
    assert_memory_equal(out.ptr, aa.ptr, aa.len);
    vt_buf_free(&out);
    /* neither: nothing to send */
    assert_int_equal(vt_cc_eventlog_build(NULL, 0, NULL, 0, &out, &e), VT_OK);
    assert_int_equal(out.len, 0);
    vt_buf_free(&fw);
    vt_buf_free(&aa);
}

/* Where each record of a TCG2 log ends (the header's included). */
typedef struct record_ends {
    const uint8_t *log;
    size_t at[64];
    size_t n;
} record_ends;

static vt_err record_end(const vt_tcg2_event *ev, void *ctx, vt_error *err)
{
    (void)err;
    record_ends *r = ctx;
    assert_true(r->n < 64);
    r->at[r->n++] = (size_t)(ev->data.ptr - r->log) + ev->data.len;
    return VT_OK;
}

/* Hostile parts: a truncated firmware log, an agent log that is not TCG2, one truncated inside
 * a record: each refused, nothing returned. */
static void test_hostile(void **state)
{
    (void)state;
    vt_buf fw = {0}, aa = {0}, out = {0};
    vt_error e;
    vt_test_load("aael/vtpm-synthetic/aael-pcr17-pull-image.bin", &fw);
    vt_test_load("aael/vtpm-synthetic/aael-multi-pcr17-pcr23.bin", &aa);
    assert_int_not_equal(vt_cc_eventlog_build(fw.ptr, 40, NULL, 0, &out, &e), VT_OK);
    assert_null(out.ptr);
    static const uint8_t junk[] = "github.com/confidential-containers PullImage {}";
    assert_int_equal(vt_cc_eventlog_build(fw.ptr, fw.len, junk, sizeof junk - 1, &out, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "not a TCG2 log"));
    assert_null(out.ptr);
    /* the agent's log cut at every length: accepted exactly when the cut falls between two of its
     * records (then it must replay), refused with nothing returned when it falls inside one */
    record_ends ends = {.log = aa.ptr};
    size_t aa_end = 0;
    assert_int_equal(vt_tcg2_log_iterate(aa.ptr, aa.len, NULL, &aa_end, record_end, &ends, &e), VT_OK);
    assert_true(ends.n >= 3); /* the header and at least two records */
    size_t refused = 0;
    for (size_t len = 1; len < aa_end; len++) {
        vt_err rc = vt_cc_eventlog_build(fw.ptr, fw.len, aa.ptr, len, &out, &e);
        bool between = false;
        for (size_t i = 0; i < ends.n; i++) between |= ends.at[i] == len;
        if (!between) {
            assert_int_equal(rc, VT_E_INVALID);
            assert_null(out.ptr);
            refused++;
            continue;
        }
        assert_int_equal(rc, VT_OK);
        vt_tcg2_replay r;
        assert_int_equal(vt_tcg2_replay_log(out.ptr, out.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, &r, &e), VT_OK);
        vt_buf_free(&out);
    }
    assert_true(refused > 0);
    /* an EventSize far beyond the buffer in the agent's header */
    vt_buf bad = {0};
    assert_int_equal(vt_buf_set(&bad, aa.ptr, aa.len, &e), VT_OK);
    bad.ptr[28] = 0xff, bad.ptr[29] = 0xff, bad.ptr[30] = 0xff, bad.ptr[31] = 0x7f;
    assert_int_equal(vt_cc_eventlog_build(fw.ptr, fw.len, bad.ptr, bad.len, &out, &e), VT_E_INVALID);
    vt_buf_free(&bad);
    vt_buf_free(&fw);
    vt_buf_free(&aa);
}

/* Files: absent ones are skipped; the 2024 text AAEL becomes aa_eventlog text. */
static void test_read_files(void **state)
{
    (void)state;
    char dir[256], fw[300], aa[300], p17[400];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(fw, sizeof fw, "%s/none", dir);
    snprintf(aa, sizeof aa, "%s/aael.txt", dir);
    vt_buf log = {0};
    char *text = NULL;
    vt_error e;
    assert_int_equal(vt_vtpm_event_logs_read(fw, aa, &log, &text, &e), VT_OK);
    assert_int_equal(log.len, 0);
    assert_null(text);
    static const char legacy[] = "INIT sha384/00\ndomain op content";
    assert_int_equal(vt_file_write(aa, legacy, sizeof legacy - 1, &e), VT_OK);
    assert_int_equal(vt_vtpm_event_logs_read(fw, aa, &log, &text, &e), VT_OK);
    assert_string_equal(text, legacy);
    assert_int_equal(log.len, 0);
    free(text);
    if (!vt_test_vector_path("aael/vtpm-synthetic/aael-pcr17-pull-image.bin", p17, sizeof p17)) skip();
    assert_int_equal(vt_vtpm_event_logs_read(p17, NULL, &log, &text, &e), VT_OK);
    assert_true(log.len > 0);
    assert_null(text);
    vt_buf_free(&log);
}

/* The NV index's bytes as the guest checks them: the vectors' reports pass for their own kind,
 * name the right TEE for the other, and every truncation or overrun is refused. */
static void test_hcl_check(void **state)
{
    (void)state;
    vt_buf snp = {0}, tdx = {0};
    vt_error e;
    vt_test_load("az_snp_vtpm/hcl-report.bin", &snp);
    vt_test_load("az_tdx_vtpm/hcl-report.bin", &tdx);
    assert_int_equal(vt_vtpm_hcl_check(snp.ptr, snp.len, VT_VTPM_AZ_SNP, &e), VT_OK);
    assert_int_equal(vt_vtpm_hcl_check(tdx.ptr, tdx.len, VT_VTPM_AZ_TDX, &e), VT_OK);
    assert_int_equal(vt_vtpm_hcl_check(snp.ptr, snp.len, VT_VTPM_AZ_TDX, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "az-snp-vtpm"));
    assert_int_equal(vt_vtpm_hcl_check(tdx.ptr, tdx.len, VT_VTPM_AZ_SNP, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "az-tdx-vtpm"));
    /* var data ends at 0x4D4 + 1110: one byte less is an overrun, every shorter prefix refused */
    assert_int_equal(vt_vtpm_hcl_check(snp.ptr, 0x4D4 + 1110, VT_VTPM_AZ_SNP, &e), VT_OK);
    for (size_t n = 0; n < 0x4D4 + 1110; n += (n < 0x4E0 ? 1 : 97))
        assert_int_equal(vt_vtpm_hcl_check(snp.ptr, n, VT_VTPM_AZ_SNP, &e), VT_E_INVALID);
    snp.ptr[0x4D0 + 3] = 0x80; /* variable_data_size 2^31 + ... */
    assert_int_equal(vt_vtpm_hcl_check(snp.ptr, snp.len, VT_VTPM_AZ_SNP, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "overruns"));
    tdx.ptr[0] = 'X';
    assert_int_equal(vt_vtpm_hcl_check(tdx.ptr, tdx.len, VT_VTPM_AZ_TDX, &e), VT_E_INVALID);
    vt_buf_free(&snp);
    vt_buf_free(&tdx);
}

/* Arguments the TPM is never asked with. */
static void test_args(void **state)
{
    (void)state;
    json_t *j = NULL;
    vt_error e;
    uint8_t n[64] = {1};
    vt_vtpm_evidence_opts o = {.kind = VT_VTPM_AZ_SNP, .nonce = n, .nonce_len = 51, .tcti = "none"};
    assert_int_equal(vt_vtpm_evidence(&o, &j, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "50 bytes"));
    o.nonce_len = 0;
    assert_int_equal(vt_vtpm_evidence(&o, &j, &e), VT_E_ARG);
    o.nonce_len = 32, o.kind = 0;
    assert_int_equal(vt_vtpm_evidence(&o, &j, &e), VT_E_ARG);
    assert_null(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ccel_alone),   cmocka_unit_test(test_join_vtpm_logs), cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_read_files),   cmocka_unit_test(test_hcl_check), cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
