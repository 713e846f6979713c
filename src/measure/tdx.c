/* TDX: TDVF metadata (TDVF design guide §11, QEMU hw/i386/tdvf.c) and MRTD as the TDX module
 * builds it from TDH.MEM.PAGE.ADD / TDH.MR.EXTEND (TDX module ABI; specs/measurements.md §2). */
#include <string.h>

#include "mhash.h"
#include "veritee/measure.h"

#define TDVF_META_GUID "e47a6535-984a-4798-865e-4685a7bf8ec2"
#define TDVF_DESC_HDR 16u
#define TDVF_SECTION_LEN 32u
#define MR_CHUNK 256u

static vt_err section_check(const vt_tdvf_section *s, size_t i, size_t image_len,
                            uint64_t *pages, vt_error *err)
{
    const char *c = "tdvf_section";
    if (s->type > VT_TDVF_TEMP_MEM)
        return vt_error_set(err, VT_E_UNSUPPORTED, c,
                            "TDVF section %zu has type %u (QEMU loads only types 0-3)", i, s->type);
    if (s->attributes & ~(VT_TDVF_ATTR_MR_EXTEND | VT_TDVF_ATTR_PAGE_AUG))
        return vt_error_set(err, VT_E_UNSUPPORTED, c, "TDVF section %zu has attributes 0x%x", i,
                            s->attributes);
    if (s->gpa % VT_MEASURE_PAGE != 0 || s->mem_size % VT_MEASURE_PAGE != 0 || s->mem_size == 0)
        return vt_error_set(err, VT_E_INVALID, c,
                            "TDVF section %zu: GPA 0x%llx / size 0x%llx not 4 KiB aligned or empty",
                            i, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
    if ((uint64_t)s->raw_size > s->mem_size)
        return vt_error_set(err, VT_E_INVALID, c,
                            "TDVF section %zu: raw size 0x%x exceeds memory size 0x%llx", i,
                            s->raw_size, (unsigned long long)s->mem_size);
    if (s->gpa + s->mem_size < s->gpa)
        return vt_error_set(err, VT_E_INVALID, c, "TDVF section %zu: GPA range wraps", i);
    bool loaded = s->type == VT_TDVF_BFV || s->type == VT_TDVF_CFV;
    if (!loaded && (s->raw_size != 0 || (s->attributes & VT_TDVF_ATTR_MR_EXTEND)))
        return vt_error_set(err, VT_E_INVALID, c,
                            "TDVF section %zu (TD_HOB/TEMP_MEM) carries data or MR_EXTEND", i);
    /* QEMU hands the TDX module mem_size bytes of the image from data_offset for BFV/CFV. */
    uint64_t need = loaded ? s->mem_size : 0;
    if ((uint64_t)s->data_offset + need > image_len)
        return vt_error_set(err, VT_E_INVALID, c,
                            "TDVF section %zu: data 0x%x+0x%llx is outside the %zu-byte image", i,
                            s->data_offset, (unsigned long long)need, image_len);
    *pages += s->mem_size / VT_MEASURE_PAGE;
    if (*pages > VT_TDVF_MAX_PAGES)
        return vt_error_set(err, VT_E_INVALID, c, "TDVF metadata adds more than %u pages",
                            VT_TDVF_MAX_PAGES);
    return VT_OK;
}

vt_err vt_tdvf_parse(const uint8_t *image, size_t len, vt_tdvf *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_ovmf o;
    /* The footer table is shared with OVMF; the SEV parts are ignored for TDX. */
    VT_GUARD(vt_ovmf_parse(image, len, &o, err));
    const vt_ovmf_entry *e = vt_ovmf_find(&o, TDVF_META_GUID);
    if (e == NULL)
        return vt_error_set(err, VT_E_INVALID, "tdvf_metadata",
                            "firmware has no TDVF metadata entry in its OVMF footer table (not a "
                            "TDX build of OVMF?)");
    vt_reader r, d;
    uint32_t from_end, length, version, count;
    uint8_t sig[4];
    vt_reader_init(&r, image, len, "TDVF image", err);
    VT_GUARD(vt_read_skip(&r, "TDVF metadata entry", e->off));
    VT_GUARD(vt_read_sub(&r, "TDVF metadata entry", e->len, &d));
    VT_GUARD(vt_read_u32le(&d, "TDVF metadata offset", &from_end));
    if (from_end < TDVF_DESC_HDR || from_end > len)
        return vt_error_set(err, VT_E_INVALID, "tdvf_metadata",
                            "TDVF descriptor offset %u from the end is outside the %zu-byte image",
                            from_end, len);
    vt_reader_init(&r, image, len, "TDVF descriptor", err);
    VT_GUARD(vt_read_skip(&r, "TDVF descriptor", len - from_end));
    VT_GUARD(vt_read_copy(&r, "TDVF signature", sig, 4));
    VT_GUARD(vt_read_u32le(&r, "TDVF length", &length));
    VT_GUARD(vt_read_u32le(&r, "TDVF version", &version));
    VT_GUARD(vt_read_u32le(&r, "TDVF section count", &count));
    if (memcmp(sig, "TDVF", 4) != 0)
        return vt_error_set(err, VT_E_INVALID, "tdvf_metadata", "TDVF descriptor signature is not 'TDVF'");
    if (version != 1)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tdvf_metadata",
                            "TDVF descriptor version %u (only 1 is defined)", version);
    if (count == 0 || count > VT_TDVF_MAX_SECTIONS)
        return vt_error_set(err, VT_E_INVALID, "tdvf_metadata",
                            "TDVF descriptor declares %u sections (1..%d)", count,
                            VT_TDVF_MAX_SECTIONS);
    if (length < TDVF_DESC_HDR + count * TDVF_SECTION_LEN)
        return vt_error_set(err, VT_E_INVALID, "tdvf_metadata",
                            "TDVF descriptor length %u cannot hold %u sections", length, count);
    uint64_t pages = 0;
    for (uint32_t i = 0; i < count; i++) {
        vt_tdvf_section *s = &out->sections[i];
        VT_GUARD(vt_read_u32le(&r, "DataOffset", &s->data_offset));
        VT_GUARD(vt_read_u32le(&r, "RawDataSize", &s->raw_size));
        VT_GUARD(vt_read_u64le(&r, "MemoryAddress", &s->gpa));
        VT_GUARD(vt_read_u64le(&r, "MemoryDataSize", &s->mem_size));
        VT_GUARD(vt_read_u32le(&r, "Type", &s->type));
        VT_GUARD(vt_read_u32le(&r, "Attributes", &s->attributes));
        VT_GUARD(section_check(s, i, len, &pages, err));
    }
    out->n_sections = count;
    out->image_len = len;
    return VT_OK;
}

/* One 128-byte MRTD record: ASCII operation name, GPA at offset 16, zeros. */
static vt_err record(vt_mhash *h, const char *op, uint64_t gpa, vt_error *err)
{
    uint8_t rec[128] = {0};
    memcpy(rec, op, strlen(op));
    vt_put_u64le(rec + 16, gpa);
    return vt_mhash_update(h, rec, sizeof rec, err);
}

static vt_err page_add(vt_mhash *h, const vt_tdvf_section *s, uint64_t page, vt_error *err)
{
    if (s->attributes & VT_TDVF_ATTR_PAGE_AUG) return VT_OK; /* added after MRTD is final */
    return record(h, "MEM.PAGE.ADD", s->gpa + page * VT_MEASURE_PAGE, err);
}

static vt_err page_extend(vt_mhash *h, const vt_reader *img, const vt_tdvf_section *s,
                          uint64_t page, vt_error *err)
{
    if (!(s->attributes & VT_TDVF_ATTR_MR_EXTEND)) return VT_OK;
    vt_reader r = *img;
    vt_bytes pg;
    VT_GUARD(vt_read_skip(&r, "TDVF section data", s->data_offset + page * VT_MEASURE_PAGE));
    VT_GUARD(vt_read_view(&r, "TDVF page", VT_MEASURE_PAGE, &pg));
    vt_reader c;
    vt_reader_init(&c, pg.ptr, pg.len, "TDVF page", err);
    for (uint32_t off = 0; off < VT_MEASURE_PAGE; off += MR_CHUNK) {
        vt_bytes chunk;
        VT_GUARD(record(h, "MR.EXTEND", s->gpa + page * VT_MEASURE_PAGE + off, err));
        VT_GUARD(vt_read_view(&c, "MR.EXTEND chunk", MR_CHUNK, &chunk));
        VT_GUARD(vt_mhash_update(h, chunk.ptr, chunk.len, err));
    }
    return VT_OK;
}

vt_err vt_measure_tdx_mrtd(const uint8_t *image, size_t len, const vt_tdvf *tdvf,
                           vt_tdx_page_order order, uint8_t out[48], vt_error *err)
{
    if (tdvf->image_len != len)
        return vt_error_set(err, VT_E_ARG, "tdvf", "metadata was parsed from a different image");
    vt_reader img;
    vt_reader_init(&img, image, len, "TDVF image", err);
    vt_mhash h;
    vt_err rc;
    VT_GUARD(vt_mhash_init(&h, VT_SHA384, err));
    for (size_t i = 0; i < tdvf->n_sections; i++) {
        const vt_tdvf_section *s = &tdvf->sections[i];
        uint64_t n = s->mem_size / VT_MEASURE_PAGE;
        if (order == VT_TDX_ORDER_TWO_PASS) {
            for (uint64_t p = 0; p < n; p++) VT_GUARD_GOTO(page_add(&h, s, p, err));
            for (uint64_t p = 0; p < n; p++) VT_GUARD_GOTO(page_extend(&h, &img, s, p, err));
        } else {
            for (uint64_t p = 0; p < n; p++) {
                VT_GUARD_GOTO(page_add(&h, s, p, err));
                VT_GUARD_GOTO(page_extend(&h, &img, s, p, err));
            }
        }
    }
    return vt_mhash_final(&h, out, err);
out:
    vt_mhash_free(&h);
    return rc;
}

vt_err vt_measure_tdx_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48], vt_error *err)
{
    uint8_t buf[96];
    memcpy(buf, rtmr, 48);
    memcpy(buf + 48, digest, 48);
    return vt_hash(VT_SHA384, buf, sizeof buf, rtmr, err);
}
