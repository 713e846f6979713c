/* Arm CCA Realm Initial Measurement as the RMM computes it: RMI_REALM_CREATE, RMI_RTT_INIT_RIPAS
 * (RMM 1.0 only), RMI_DATA_CREATE, RMI_REC_CREATE (RMM spec DEN0137 1.0-rel0 B4.3.9.4,
 * B4.3.12.4, C1.1 measurement descriptors; specs/measurements.md §3). */
#include <string.h>

#include "mhash.h"
#include "veritee/measure.h"

#define DESC_LEN 0x100u
enum { DESC_DATA = 0, DESC_REC = 1, DESC_RIPAS = 2 };

size_t vt_cca_rim_len(const vt_cca_rim *st) { return vt_hash_len(st->alg); }

uint64_t vt_cca_block_sizes(uint32_t ipa_bits)
{
    if (ipa_bits < 32 || ipa_bits > 52) return 0;
    uint32_t table_bits = ipa_bits - 12, per_level = 9;
    uint32_t levels = (table_bits + per_level - 1) / per_level;
    /* KVM concatenates up to 16 start-level tables instead of adding a level. */
    if (table_bits - per_level * (levels - 1) <= 4) levels--;
    uint64_t sizes = 0;
    for (uint32_t l = 4 - levels; l < 4; l++) sizes |= (uint64_t)VT_MEASURE_PAGE << (9 * (3 - l));
    return sizes;
}

/* Measurement = H(p) zero-padded to 64 bytes. */
static vt_err measure(vt_hash_alg alg, const void *p, size_t n, uint8_t out[64], vt_error *err)
{
    uint8_t d[64] = {0};
    VT_GUARD(vt_hash(alg, p, n, d, err));
    memcpy(out, d, 64);
    return VT_OK;
}

vt_err vt_cca_realm_params_bytes(const vt_cca_realm_params *p, uint8_t out[VT_MEASURE_PAGE],
                                 vt_error *err)
{
    const char *c = "realm_params";
    if (p->ipa_bits < 32 || p->ipa_bits > 52)
        return vt_error_set(err, VT_E_ARG, c, "IPA width %u outside 32..52", p->ipa_bits);
    if (p->num_bps < 2 || p->num_bps > 16 || p->num_wps < 2 || p->num_wps > 16)
        return vt_error_set(err, VT_E_ARG, c, "breakpoints %u / watchpoints %u outside 2..16",
                            p->num_bps, p->num_wps);
    if (p->sve_vl != 0 && (p->sve_vl % 128 != 0 || p->sve_vl > 2048))
        return vt_error_set(err, VT_E_ARG, c, "SVE vector length %u bits: a multiple of 128 up to 2048",
                            p->sve_vl);
    if (p->pmu_num_ctrs > 31)
        return vt_error_set(err, VT_E_ARG, c, "PMU counters %u outside 0..31", p->pmu_num_ctrs);
    uint8_t algo;
    switch (p->alg) {
    case VT_SHA256: algo = 0; break;
    case VT_SHA512: algo = 1; break;
    case VT_SHA384: algo = 2; break;
    default: return vt_error_set(err, VT_E_ARG, c, "unknown measurement algorithm");
    }
    uint64_t flags = (p->lpa2 ? 1u : 0u) | (p->sve_vl ? 2u : 0u) | (p->pmu ? 4u : 0u);
    memset(out, 0, VT_MEASURE_PAGE);
    vt_put_u64le(out + 0x00, flags);
    vt_put_u64le(out + 0x08, p->ipa_bits);
    vt_put_u64le(out + 0x10, p->sve_vl ? p->sve_vl / 128 - 1 : 0);
    vt_put_u64le(out + 0x18, p->num_bps - 1);
    vt_put_u64le(out + 0x20, p->num_wps - 1);
    vt_put_u64le(out + 0x28, p->pmu_num_ctrs);
    out[0x30] = algo;
    return VT_OK;
}

vt_err vt_cca_rim_init(vt_cca_rim *st, vt_cca_rmm_version rmm, const vt_cca_realm_params *p,
                       vt_error *err)
{
    memset(st, 0, sizeof *st);
    if (rmm != VT_CCA_RMM_1_0 && rmm != VT_CCA_RMM_2_0)
        return vt_error_set(err, VT_E_ARG, "rmm_version", "unknown RMM version %d", (int)rmm);
    if (rmm == VT_CCA_RMM_1_0 && p->alg == VT_SHA384)
        return vt_error_set(err, VT_E_ARG, "realm_params",
                            "SHA-384 realms need RMM 2.0 (RMM 1.0: SHA-256 or SHA-512)");
    uint8_t params[VT_MEASURE_PAGE];
    VT_GUARD(vt_cca_realm_params_bytes(p, params, err));
    st->rmm = rmm;
    st->alg = p->alg;
    st->ipa_bits = p->ipa_bits;
    st->block_sizes = vt_cca_block_sizes(p->ipa_bits);
    return measure(st->alg, params, sizeof params, st->rim, err);
}

static vt_err check_range(const vt_cca_rim *st, uint64_t base, uint64_t top, const char *what,
                          vt_error *err)
{
    if (st->block_sizes == 0)
        return vt_error_set(err, VT_E_ARG, what, "realm not created (vt_cca_rim_init first)");
    if (top <= base || top > (1ull << st->ipa_bits))
        return vt_error_set(err, VT_E_ARG, what,
                            "IPA range 0x%llx..0x%llx empty or beyond the %u-bit IPA space",
                            (unsigned long long)base, (unsigned long long)top, st->ipa_bits);
    return VT_OK;
}

/* Largest RTT block that starts at `start`, is aligned to its size and fits below `top`. */
static uint64_t block_size(uint64_t start, uint64_t top, uint64_t sizes)
{
    if (start != 0) sizes &= (start & (~start + 1)) * 2 - 1; /* sizes dividing start */
    while (sizes != 0) {
        uint64_t b = 1ull << (63 - __builtin_clzll(sizes));
        if (top - start >= b) return b;
        sizes &= ~b;
    }
    return 0;
}

vt_err vt_cca_rim_init_ripas(vt_cca_rim *st, uint64_t base, uint64_t top, vt_error *err)
{
    VT_GUARD(check_range(st, base, top, "init_ripas", err));
    if ((base | top) % VT_MEASURE_PAGE != 0)
        return vt_error_set(err, VT_E_ARG, "init_ripas", "RIPAS range not granule aligned");
    if (st->rmm != VT_CCA_RMM_1_0) return VT_OK; /* RMM 2.0 does not measure INIT_RIPAS */
    for (uint64_t cur = base; cur < top;) {
        uint64_t b = block_size(cur, top, st->block_sizes);
        if (b == 0) return vt_error_set(err, VT_E_INTERNAL, "init_ripas", "no RTT block fits");
        uint8_t d[DESC_LEN] = {0};
        d[0] = DESC_RIPAS;
        vt_put_u64le(d + 0x08, DESC_LEN);
        memcpy(d + 0x10, st->rim, 64);
        vt_put_u64le(d + 0x50, cur);
        vt_put_u64le(d + 0x58, cur + b);
        VT_GUARD(measure(st->alg, d, sizeof d, st->rim, err));
        cur += b;
    }
    return VT_OK;
}

static vt_err data_granule(vt_cca_rim *st, uint64_t ipa, const uint8_t *granule, bool content,
                           vt_error *err)
{
    uint8_t d[DESC_LEN] = {0};
    d[0] = DESC_DATA;
    vt_put_u64le(d + 0x08, DESC_LEN);
    memcpy(d + 0x10, st->rim, 64);
    vt_put_u64le(d + 0x50, ipa);
    vt_put_u64le(d + 0x58, content ? 1 : 0);
    if (content) VT_GUARD(measure(st->alg, granule, VT_MEASURE_PAGE, d + 0x60, err));
    return measure(st->alg, d, sizeof d, st->rim, err);
}

vt_err vt_cca_rim_data(vt_cca_rim *st, uint64_t ipa, const uint8_t *data, size_t len,
                       bool measure_content, vt_error *err)
{
    if (len == 0 || (data == NULL && measure_content))
        return vt_error_set(err, VT_E_ARG, "data_create", "empty blob at IPA 0x%llx",
                            (unsigned long long)ipa);
    if (ipa + len < ipa) return vt_error_set(err, VT_E_ARG, "data_create", "IPA range wraps");
    VT_GUARD(check_range(st, ipa, ipa + len, "data_create", err));
    uint64_t first = ipa & ~(uint64_t)(VT_MEASURE_PAGE - 1);
    size_t lead = (size_t)(ipa - first); /* zero fill before the blob in its first granule */
    vt_reader r;
    vt_reader_init(&r, data, measure_content ? len : 0, "realm blob", err);
    for (uint64_t g = first; g < ipa + len; g += VT_MEASURE_PAGE) {
        uint8_t granule[VT_MEASURE_PAGE] = {0};
        size_t at = g == first ? lead : 0;
        size_t take = VT_MEASURE_PAGE - at;
        if (measure_content) {
            if (take > vt_reader_remaining(&r)) take = vt_reader_remaining(&r);
            VT_GUARD(vt_read_copy(&r, "blob granule", granule + at, take));
        }
        VT_GUARD(data_granule(st, g, granule, measure_content, err));
    }
    return VT_OK;
}

vt_err vt_cca_rim_rec(vt_cca_rim *st, bool runnable, uint64_t pc, const uint64_t gprs[8],
                      vt_error *err)
{
    if (st->block_sizes == 0)
        return vt_error_set(err, VT_E_ARG, "rec_create", "realm not created (vt_cca_rim_init first)");
    uint8_t params[VT_MEASURE_PAGE] = {0};
    vt_put_u64le(params + 0x000, runnable ? 1 : 0);
    vt_put_u64le(params + 0x200, pc);
    for (int i = 0; i < 8; i++) vt_put_u64le(params + 0x300 + 8 * i, gprs ? gprs[i] : 0);
    uint8_t d[DESC_LEN] = {0};
    d[0] = DESC_REC;
    vt_put_u64le(d + 0x08, DESC_LEN);
    memcpy(d + 0x10, st->rim, 64);
    VT_GUARD(measure(st->alg, params, sizeof params, d + 0x50, err));
    return measure(st->alg, d, sizeof d, st->rim, err);
}
