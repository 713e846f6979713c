/* veritee measure: SNP/SEV-ES/SEV digests against the 15 published rows of
 * vectors/snp_measure, OVMF parser edge cases, TDX MRTD on a synthetic TDVF image, CCA RIM
 * on synthetic inputs cross-checked against an independent derivation (docs/measure.md). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
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

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
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
    /* Sections past the 4 GiB their GPAs can name, or over 4 GiB in all: refused before the
     * digest folds a measurement per page of them. */
    static const uint8_t sec0[12] = {0x00, 0x00, 0x80, 0x00, 0x00, 0x90, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
    size_t at = 0;
    for (size_t i = 0; i + 12 <= amd.len && at == 0; i++)
        if (memcmp(amd.ptr + i, sec0, 12) == 0) at = i;
    assert_true(at > 0);
    memcpy(m, amd.ptr, amd.len);
    put_le32(m + at + 4, 0xFFFFF000u); /* 0x800000 + that wraps the 32-bit space */
    assert_int_equal(vt_ovmf_parse(m, amd.len, &o, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "section 0 (GPA 0x800000, 0xfffff000 bytes) runs past 4 GiB"));
    memcpy(m, amd.ptr, amd.len);
    put_le32(m + at, 0);
    put_le32(m + at + 4, 0xFFFFF000u); /* fits alone; with the next section, over 4 GiB */
    assert_int_equal(vt_ovmf_parse(m, amd.len, &o, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "section 1 "));
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

/* ---------------- TDX: MRTD of a synthetic TDVF image ----------------
 * A 64 KiB image laid out like OVMF's TDX build: CFV (variable store) at file offset 0 mapped
 * at 0xFFFF0000 (not MR.EXTENDed), BFV at file offset 0x8000 mapped at 0xFFFF8000 and
 * MR.EXTENDed, a TD_HOB and TEMP_MEM (added, contents not measured) and a PAGE_AUG TEMP_MEM
 * section (neither added nor extended before MRTD is final). The TDVF descriptor sits at
 * 0xF000 inside the BFV; the footer table ends 32 bytes before the end with the TDVF
 * metadata-offset entry. */
#define TDVF_LEN 0x10000u

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static const uint32_t tdvf_secs[5][6] = {
    /* data_offset, raw_size, gpa (low 32), mem_size, type, attributes */
    {0x8000, 0x8000, 0xFFFF8000u, 0x8000, 0, 1},
    {0x0000, 0x4000, 0xFFFF0000u, 0x4000, 1, 0},
    {0, 0, 0x809000, 0x2000, 2, 0},
    {0, 0, 0x80B000, 0x3000, 3, 0},
    {0, 0, 0x900000, 0x1000, 3, 2},
};

static uint8_t *build_tdvf(void)
{
    uint8_t *img = malloc(TDVF_LEN);
    assert_non_null(img);
    for (size_t i = 0; i < TDVF_LEN; i++) img[i] = (uint8_t)(i * 31 + 7 + (i >> 8));
    uint8_t *d = img + 0xF000;
    memcpy(d, "TDVF", 4);
    put32(d + 4, 16 + 5 * 32);
    put32(d + 8, 1);
    put32(d + 12, 5);
    for (int i = 0; i < 5; i++) {
        uint8_t *s = d + 16 + 32 * i;
        put32(s, tdvf_secs[i][0]);
        put32(s + 4, tdvf_secs[i][1]);
        put64(s + 8, tdvf_secs[i][2]);
        put64(s + 16, tdvf_secs[i][3]);
        put32(s + 24, tdvf_secs[i][4]);
        put32(s + 28, tdvf_secs[i][5]);
    }
    vt_error e;
    uint8_t *f = img + TDVF_LEN - 32 - 18; /* footer entry: u16 total length, GUID */
    put32(f - 18 - 4, TDVF_LEN - 0xF000); /* TDVF entry data: descriptor offset from the end */
    f[-18] = 22;
    f[-17] = 0;
    assert_int_equal(vt_guid_parse("e47a6535-984a-4798-865e-4685a7bf8ec2", f - 16, &e), VT_OK);
    f[0] = 18 + 22;
    f[1] = 0;
    assert_int_equal(vt_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082d", f + 2, &e), VT_OK);
    return img;
}

/* The MRTD stream written out in full, then hashed once (the library streams it). */
static void mrtd_reference(const uint8_t *img, bool two_pass, uint8_t out[48])
{
    size_t cap = 1u << 20, n = 0;
    uint8_t *st = calloc(1, cap);
    assert_non_null(st);
    for (int i = 0; i < 5; i++) {
        uint64_t gpa = tdvf_secs[i][2], pages = tdvf_secs[i][3] / 4096;
        bool add = !(tdvf_secs[i][5] & 2), ext = tdvf_secs[i][5] & 1;
        for (int pass = 0; pass < (two_pass ? 2 : 1); pass++)
            for (uint64_t p = 0; p < pages; p++) {
                if (add && (!two_pass || pass == 0)) {
                    memcpy(st + n, "MEM.PAGE.ADD", 12);
                    put64(st + n + 16, gpa + p * 4096);
                    n += 128;
                }
                for (int c = 0; ext && (!two_pass || pass == 1) && c < 16; c++) {
                    memcpy(st + n, "MR.EXTEND", 9);
                    put64(st + n + 16, gpa + p * 4096 + c * 256u);
                    memcpy(st + n + 128, img + tdvf_secs[i][0] + p * 4096 + c * 256u, 256);
                    n += 384;
                }
            }
    }
    assert_true(n < cap);
    vt_error e;
    assert_int_equal(vt_hash(VT_SHA384, st, n, out, &e), VT_OK);
    free(st);
}

static void test_tdx_mrtd_synthetic(void **state)
{
    (void)state;
    uint8_t *img = build_tdvf();
    vt_tdvf t;
    vt_error e;
    if (vt_tdvf_parse(img, TDVF_LEN, &t, &e) != VT_OK) fail_msg("%s", e.msg);
    assert_int_equal(t.n_sections, 5);
    assert_int_equal(t.sections[0].gpa, 0xFFFF8000u);
    assert_int_equal(t.sections[4].attributes, VT_TDVF_ATTR_PAGE_AUG);
    uint8_t got[48], want[48], two[48];
    assert_int_equal(vt_measure_tdx_mrtd(img, TDVF_LEN, &t, VT_TDX_ORDER_SINGLE, got, &e), VT_OK);
    mrtd_reference(img, false, want);
    assert_memory_equal(got, want, 48);
    assert_int_equal(vt_measure_tdx_mrtd(img, TDVF_LEN, &t, VT_TDX_ORDER_TWO_PASS, two, &e), VT_OK);
    mrtd_reference(img, true, want);
    assert_memory_equal(two, want, 48);
    assert_memory_not_equal(got, two, 48);
    /* MRTD depends on the BFV bytes, not on the CFV bytes (CFV is added, not extended). */
    img[0x9000] ^= 1;
    assert_int_equal(vt_measure_tdx_mrtd(img, TDVF_LEN, &t, VT_TDX_ORDER_SINGLE, two, &e), VT_OK);
    assert_memory_not_equal(got, two, 48);
    img[0x9000] ^= 1;
    img[0x100] ^= 1;
    assert_int_equal(vt_measure_tdx_mrtd(img, TDVF_LEN, &t, VT_TDX_ORDER_SINGLE, two, &e), VT_OK);
    assert_memory_equal(got, two, 48);
    free(img);
}

static void test_tdx_tdvf_rejects(void **state)
{
    (void)state;
    uint8_t *img = build_tdvf();
    vt_tdvf t;
    vt_error e;
    struct { size_t off; uint32_t val; int code; const char *msg; } cases[] = {
        {0xF000, 0x46564454 ^ 1, VT_E_INVALID, "signature"},       /* "TDVF" */
        {0xF008, 2, VT_E_UNSUPPORTED, "version 2"},
        {0xF00C, 0, VT_E_INVALID, "0 sections"},
        {0xF00C, 6, VT_E_INVALID, "cannot hold 6"},
        {0xF010 + 24, 5, VT_E_UNSUPPORTED, "type 5"},                /* BFV type -> PAYLOAD */
        {0xF010 + 0, 0x9000, VT_E_INVALID, "outside"},               /* BFV data past the end */
        {0xF010 + 32 * 2 + 28, 1, VT_E_INVALID, "MR_EXTEND"},        /* TD_HOB extended */
        {0xF010 + 8, 0xFFFF8010u, VT_E_INVALID, "aligned"},
        {0xF010 + 4, 0x9000, VT_E_INVALID, "raw size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *m = build_tdvf();
        put32(m + cases[i].off, cases[i].val);
        vt_error_clear(&e);
        assert_int_equal(vt_tdvf_parse(m, TDVF_LEN, &t, &e), cases[i].code);
        if (strstr(e.msg, cases[i].msg) == NULL) fail_msg("case %zu: %s", i, e.msg);
        free(m);
    }
    /* No TDVF entry in the footer table. */
    img[TDVF_LEN - 32 - 18 - 16] ^= 0xFF;
    assert_int_equal(vt_tdvf_parse(img, TDVF_LEN, &t, &e), VT_E_INVALID);
    free(img);
    /* Mutation sweep over descriptor and footer. */
    img = build_tdvf();
    for (size_t i = 0; i < TDVF_LEN; i++) {
        if (!(i >= 0xF000 && i < 0xF0C0) && i < TDVF_LEN - 96) continue;
        uint8_t saved = img[i];
        img[i] ^= 0x80;
        vt_error_clear(&e);
        vt_err rc = vt_tdvf_parse(img, TDVF_LEN, &t, &e);
        if (rc != VT_OK) assert_true(rc == VT_E_INVALID || rc == VT_E_UNSUPPORTED);
        img[i] = saved;
    }
    free(img);
}

/* ---------------- CCA RIM on synthetic inputs ----------------
 * Expected values come from the independent Python derivation in docs/measure.md
 * ("Cross-check"), written from the RMM descriptor tables with struct.pack. */
static void rim_blobs(uint8_t *kernel, uint8_t *dtb)
{
    for (size_t i = 0; i < 10000; i++) kernel[i] = (uint8_t)((i * 7 + 3) % 256);
    for (size_t i = 0; i < 300; i++) dtb[i] = (uint8_t)((i * 13 + 1) % 256);
}

static void test_cca_rim_synthetic(void **state)
{
    (void)state;
    static uint8_t kernel[10000], dtb[300];
    rim_blobs(kernel, dtb);
    const uint64_t gprs[8] = {0x8FE00010};
    vt_cca_rim st;
    vt_error e;
    /* Case 1: RMM 1.0, SHA-256, 40-bit IPA, 6 breakpoints / 6 watchpoints. */
    vt_cca_realm_params p = {.alg = VT_SHA256, .ipa_bits = 40, .num_bps = 6, .num_wps = 6};
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_1_0, &p, &e), VT_OK);
    assert_hex(st.rim, 32, "df8c2fc7f035ba1f9f78747e99b95d419a657d2b70e126efa4441a455ab73dfd");
    assert_int_equal(vt_cca_block_sizes(40), 0x40201000ull);
    assert_int_equal(vt_cca_rim_init_ripas(&st, 0x80000000, 0xC0201000, &e), VT_OK);
    assert_hex(st.rim, 32, "29fcf6f64f3d74b6798ef561da42a31864711765d68f6644d61ada972e3ef31e");
    assert_int_equal(vt_cca_rim_data(&st, 0x80080000, kernel, sizeof kernel, true, &e), VT_OK);
    assert_int_equal(vt_cca_rim_data(&st, 0x8FE00010, dtb, sizeof dtb, true, &e), VT_OK);
    assert_int_equal(vt_cca_rim_rec(&st, true, 0x80080000, gprs, &e), VT_OK);
    assert_int_equal(vt_cca_rim_len(&st), 32);
    assert_hex(st.rim, 32, "71e33d03fb4591f4dfbcca873cc119f7191b66b52fe958b04e6a95325df929e3");
    assert_true(vt_bytes_is_zero(st.rim + 32, 32));
    /* Case 2: INIT_RIPAS from an unaligned start: 511 pages, then one 2 MiB block. */
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_1_0, &p, &e), VT_OK);
    assert_int_equal(vt_cca_rim_init_ripas(&st, 0x1000, 0x400000, &e), VT_OK);
    assert_hex(st.rim, 32, "14ea826ee2f24a65e6596db2f87a0360cbe767da2456c31cb21e69164a71400b");
    /* Case 3: RMM 2.0, SHA-512, LPA2, SVE 512, PMU with 6 counters, 16 bps / 4 wps, 52 bits;
     * INIT_RIPAS is not measured under RMM 2.0. */
    vt_cca_realm_params p3 = {.alg = VT_SHA512, .ipa_bits = 52, .lpa2 = true, .sve_vl = 512,
                              .pmu = true, .pmu_num_ctrs = 6, .num_bps = 16, .num_wps = 4};
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_2_0, &p3, &e), VT_OK);
    assert_int_equal(vt_cca_rim_init_ripas(&st, 0x80000000, 0xC0000000, &e), VT_OK);
    assert_int_equal(vt_cca_rim_data(&st, 0x80080000, kernel, sizeof kernel, true, &e), VT_OK);
    assert_int_equal(vt_cca_rim_data(&st, 0x8FE00010, dtb, sizeof dtb, true, &e), VT_OK);
    assert_int_equal(vt_cca_rim_rec(&st, true, 0x80080000, gprs, &e), VT_OK);
    assert_hex(st.rim, 64,
               "ad3ad6844b5a1428e0d8fa8a8c5552bcccc69e9b2f963230f37225585060d592"
               "94ce931e848dbcbe4222000a2c336aa403bf43c8a7d5f9ccb27ba8a9ecbd3b65");
    /* Case 4: RMM 2.0, SHA-384, 48-bit IPA. */
    vt_cca_realm_params p4 = {.alg = VT_SHA384, .ipa_bits = 48, .num_bps = 2, .num_wps = 2};
    const uint64_t g4[8] = {0x48000000};
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_2_0, &p4, &e), VT_OK);
    assert_int_equal(vt_cca_rim_data(&st, 0x40000000, kernel, sizeof kernel, true, &e), VT_OK);
    assert_int_equal(vt_cca_rim_rec(&st, true, 0x40000000, g4, &e), VT_OK);
    assert_hex(st.rim, 48,
               "79af77cf56de9ec0a508ee5fdc0e74ee30f80b5834b8dc84a35eda5b2c480637"
               "c3165d3a9eabaf212f750305c9d4c7b5");
    /* Rejections: SHA-384 under RMM 1.0, 1 breakpoint, IPA beyond the realm, empty blob. */
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_1_0, &p4, &e), VT_E_ARG);
    vt_cca_realm_params bad = p;
    bad.num_bps = 1;
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_1_0, &bad, &e), VT_E_ARG);
    assert_int_equal(vt_cca_rim_init(&st, VT_CCA_RMM_1_0, &p, &e), VT_OK);
    assert_int_equal(vt_cca_rim_data(&st, 1ull << 40, dtb, sizeof dtb, true, &e), VT_E_ARG);
    assert_int_equal(vt_cca_rim_data(&st, 0x1000, dtb, 0, true, &e), VT_E_ARG);
    assert_int_equal(vt_cca_rim_init_ripas(&st, 0x1800, 0x4000, &e), VT_E_ARG);
    assert_int_equal(vt_cca_block_sizes(48), 0x8040201000ull);
    assert_int_equal(vt_cca_block_sizes(33), 0x201000ull);
}

/* ---------------- SNP ID block ---------------- */
/* Realm config numbers read one way (core JSON getters): "0100" is decimal one hundred,
 * past num_bps's 64 (the old strtoull base 0 read it as octal 64 and accepted it); a
 * wrong-typed member is refused, never skipped. */
static void test_cca_config_fields(void **state)
{
    (void)state;
    static const struct { const char *cfg, *want; } bad[] = {
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"num_bps\":\"0100\"}",
         "num_bps: expected an integer 0..64"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"unmeasured\":{}}",
         "unmeasured: expected an array"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"ram\":[7]}",
         "ram[0]: expected an object"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"rec\":{\"gprs\":[\"-1\"]}}",
         "rec.gprs[0]: expected an integer"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\"}", "ipa_bits: missing"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"colour\":1}",
         "colour: unknown key"},
        /* a size that would keep the measurement busy for hours, at once or in parts (found by
         * fuzz_cca_realm_config: 4 TB of unmeasured data hung it), and RAM initialised twice */
        {"{\"rmm_version\":\"2.0\",\"hash_algo\":\"sha512\",\"ipa_bits\":48,"
         "\"unmeasured\":[{\"ipa\":\"0x90000000\",\"size\":4444444448192}]}",
         "unmeasured[0]: more than 1 GiB of unmeasured data in all"},
        {"{\"rmm_version\":\"2.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"unmeasured\":["
         "{\"ipa\":\"0x80000000\",\"size\":\"0x30000000\"},{\"ipa\":\"0xb0000000\",\"size\":\"0x10000001\"}]}",
         "unmeasured[1]: more than 1 GiB"},
        {"{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,\"ram\":["
         "{\"base\":\"0x80000000\",\"size\":\"0x40000000\"},{\"base\":\"0x40000000\",\"size\":\"0x40001000\"}]}",
         "ram: ranges 0x40000000..0x80001000 and 0x80000000..0xc0000000 overlap"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cfg = json_loads(bad[i].cfg, 0, NULL);
        assert_non_null(cfg);
        vt_cca_rim st;
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = vt_cca_rim_from_config(cfg, NULL, 0, &st, NULL, &e);
        json_decref(cfg);
        if (rc != VT_E_INVALID || strstr(e.msg, bad[i].want) == NULL)
            fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, e.msg, bad[i].want);
    }
    /* the same value in decimal and hex strings is the same configuration */
    static const char *const ok[] = {"\"0x10\"", "\"016\"", "16", "\"0x0e\""};
    uint8_t rim[4][64];
    for (size_t i = 0; i < 4; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"rmm_version\":\"1.0\",\"hash_algo\":\"sha256\",\"ipa_bits\":40,"
                 "\"num_bps\":%s}", ok[i]);
        json_t *cfg = json_loads(text, 0, NULL);
        vt_cca_rim st;
        vt_error e;
        if (vt_cca_rim_from_config(cfg, NULL, 0, &st, NULL, &e) != VT_OK) fail_msg("%s: %s", ok[i], e.msg);
        json_decref(cfg);
        memcpy(rim[i], st.rim, sizeof rim[i]);
    }
    assert_memory_equal(rim[0], rim[1], 64);
    assert_memory_equal(rim[0], rim[2], 64);
    assert_memory_not_equal(rim[0], rim[3], 64); /* "016" is not octal 14 */
}

static void be_from_le(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[n - 1 - i];
}

static void check_snp_sig(EVP_PKEY *k, const uint8_t *msg, size_t n, const uint8_t *sig)
{
    uint8_t raw[96];
    vt_error e;
    assert_true(vt_bytes_is_zero(sig + 48, 72 - 48)); /* R padded to 72 bytes */
    be_from_le(raw, sig, 48);
    be_from_le(raw + 48, sig + 72, 48);
    if (vt_ecdsa_verify_raw(k, VT_SHA384, msg, n, raw, 96, "id block", &e) != VT_OK)
        fail_msg("%s", e.msg);
}

static void test_snp_id_block(void **state)
{
    (void)state;
    EVP_PKEY *id = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *author = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(id);
    assert_non_null(author);
    assert_non_null(p256);
    vt_snp_id_block_in in = {.guest_svn = 7, .policy = 0x30000};
    memset(in.ld, 0xAB, 48);
    memset(in.family_id, 0x01, 16);
    memset(in.image_id, 0x02, 16);
    vt_snp_id_block_out *out = malloc(sizeof *out);
    assert_non_null(out);
    vt_error e;
    assert_int_equal(vt_snp_id_block_build(&in, id, author, out, &e), VT_OK);
    assert_memory_equal(out->id_block, in.ld, 48);
    assert_int_equal(out->id_block[0x50], 1);   /* VERSION */
    assert_int_equal(out->id_block[0x54], 7);   /* GUEST_SVN */
    assert_int_equal(out->id_block[0x5A], 3);   /* POLICY 0x30000 */
    assert_int_equal(out->id_auth[0], 1);       /* ID_KEY_ALGO */
    assert_int_equal(out->id_auth[4], 1);       /* AUTH_KEY_ALGO */
    check_snp_sig(id, out->id_block, VT_SNP_ID_BLOCK_LEN, out->id_auth + 0x40);
    check_snp_sig(author, out->id_auth + 0x240, VT_SNP_PUBKEY_LEN, out->id_auth + 0x680);
    uint8_t pub[VT_SNP_PUBKEY_LEN], d[48];
    assert_int_equal(vt_snp_pubkey_encode(id, pub, &e), VT_OK);
    assert_memory_equal(pub, out->id_auth + 0x240, VT_SNP_PUBKEY_LEN);
    assert_int_equal(pub[0], 2); /* curve P-384 */
    assert_int_equal(vt_hash(VT_SHA384, pub, sizeof pub, d, &e), VT_OK);
    assert_memory_equal(d, out->id_key_digest, 48);
    assert_true(out->has_author_key);
    /* Without an author key the author fields stay zero. */
    assert_int_equal(vt_snp_id_block_build(&in, id, NULL, out, &e), VT_OK);
    assert_int_equal(out->id_auth[4], 0);
    assert_true(vt_bytes_is_zero(out->id_auth + 0x680, 0x1000 - 0x680));
    assert_int_equal(vt_snp_id_block_build(&in, p256, NULL, out, &e), VT_E_ARG);
    free(out);
    EVP_PKEY_free(id);
    EVP_PKEY_free(author);
    EVP_PKEY_free(p256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_measure_vectors),
        cmocka_unit_test(test_snp_ovmf_hash_seed),
        cmocka_unit_test(test_ovmf_parse_facts),
        cmocka_unit_test(test_guid_and_sig),
        cmocka_unit_test(test_tdx_mrtd_synthetic),
        cmocka_unit_test(test_tdx_tdvf_rejects),
        cmocka_unit_test(test_cca_rim_synthetic),
        cmocka_unit_test(test_cca_config_fields),
        cmocka_unit_test(test_snp_id_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
