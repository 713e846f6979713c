/* OVMF firmware tables: the GUIDed footer table, SEV metadata ("ASEV"), SEV-ES reset block
 * and kernel-hash-table address (specs/measurements.md §1.4; edk2 OvmfPkg/ResetVector). */
#include <ctype.h>
#include <string.h>

#include "veritee/measure.h"

#define FOOTER_GUID "96b582de-1fb2-45f7-baea-a366c55a082d"
#define SEV_META_GUID "dc886566-984a-4798-a75e-5585a7bf67cc"
#define HASH_TABLE_GUID "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define RESET_BLOCK_GUID "00f771de-1a7e-4fcb-890e-68c77e2fb44e"

#define ENTRY_TRAILER 18u /* u16 length + GUID */
#define FOOTER_GAP 32u    /* the table ends 32 bytes before the end of the image */
#define SEV_META_HDR 16u
#define SEV_META_DESC 12u

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

vt_err vt_guid_parse(const char *text, uint8_t out[16], vt_error *err)
{
    /* Text order 8-4-4-4-12; the first three groups are stored little-endian. */
    static const int pos[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    uint8_t be[16];
    size_t k = 0;
    if (text == NULL || strlen(text) != 36)
        return vt_error_set(err, VT_E_ARG, "guid", "GUID must be 36 characters");
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return vt_error_set(err, VT_E_ARG, "guid", "GUID '%s' malformed", text);
            i++;
            continue;
        }
        int hi = hexval((unsigned char)text[i]), lo = hexval((unsigned char)text[i + 1]);
        if (hi < 0 || lo < 0 || k >= 16)
            return vt_error_set(err, VT_E_ARG, "guid", "GUID '%s' malformed", text);
        be[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    for (size_t i = 0; i < 16; i++) out[i] = be[pos[i]];
    return VT_OK;
}

/* A reader over image[off, off + n), reached through the bounds-checked reader. */
static vt_err sub_at(const uint8_t *image, size_t len, size_t off, size_t n, const char *what,
                     vt_error *err, vt_reader *sub)
{
    vt_reader r;
    vt_reader_init(&r, image, len, "OVMF image", err);
    VT_GUARD(vt_read_skip(&r, what, off));
    return vt_read_sub(&r, what, n, sub);
}

const vt_ovmf_entry *vt_ovmf_find(const vt_ovmf *o, const char *guid_text)
{
    uint8_t g[16];
    if (o == NULL || vt_guid_parse(guid_text, g, NULL) != VT_OK) return NULL;
    for (size_t i = 0; i < o->n_entries; i++)
        if (memcmp(o->entries[i].guid, g, 16) == 0) return &o->entries[i];
    return NULL;
}

static vt_err parse_table(const uint8_t *image, size_t len, vt_ovmf *o, vt_error *err)
{
    uint8_t footer_guid[16];
    VT_GUARD(vt_guid_parse(FOOTER_GUID, footer_guid, err));
    if (len < FOOTER_GAP + ENTRY_TRAILER) return VT_OK; /* too small to hold a table */
    size_t footer = len - FOOTER_GAP - ENTRY_TRAILER;
    vt_reader r;
    uint16_t total;
    uint8_t guid[16];
    VT_GUARD(sub_at(image, len, footer, ENTRY_TRAILER, "footer entry", err, &r));
    VT_GUARD(vt_read_u16le(&r, "footer table length", &total));
    VT_GUARD(vt_read_copy(&r, "footer GUID", guid, 16));
    if (memcmp(guid, footer_guid, 16) != 0) return VT_OK; /* no table: not an error */
    if (total < ENTRY_TRAILER || total - ENTRY_TRAILER > footer)
        return vt_error_set(err, VT_E_INVALID, "ovmf_table",
                            "OVMF footer table length %u does not fit the %zu-byte image", total,
                            len);
    o->has_table = true;
    size_t start = footer - (total - ENTRY_TRAILER);
    size_t end = footer; /* entries are walked backwards from here */
    while (end - start >= ENTRY_TRAILER) {
        uint16_t elen;
        vt_ovmf_entry e;
        VT_GUARD(sub_at(image, len, end - ENTRY_TRAILER, ENTRY_TRAILER, "table entry", err, &r));
        VT_GUARD(vt_read_u16le(&r, "table entry length", &elen));
        VT_GUARD(vt_read_copy(&r, "table entry GUID", e.guid, 16));
        if (elen < ENTRY_TRAILER || elen > end - start)
            return vt_error_set(err, VT_E_INVALID, "ovmf_table",
                                "OVMF table entry at offset %zu has length %u (trailer 18, %zu "
                                "bytes left in the table)",
                                end - ENTRY_TRAILER, elen, end - start);
        if (o->n_entries == VT_OVMF_MAX_ENTRIES)
            return vt_error_set(err, VT_E_INVALID, "ovmf_table",
                                "OVMF table has more than %d entries", VT_OVMF_MAX_ENTRIES);
        e.off = end - elen;
        e.len = elen - ENTRY_TRAILER;
        o->entries[o->n_entries++] = e;
        end -= elen;
    }
    return VT_OK;
}

static vt_err entry_u32(const uint8_t *image, size_t len, const vt_ovmf_entry *e, const char *what,
                        uint32_t *out, vt_error *err)
{
    vt_reader r;
    VT_GUARD(sub_at(image, len, e->off, e->len, what, err, &r));
    return vt_read_u32le(&r, what, out);
}

static vt_err parse_sev_metadata(const uint8_t *image, size_t len, vt_ovmf *o, vt_error *err)
{
    const vt_ovmf_entry *e = vt_ovmf_find(o, SEV_META_GUID);
    if (e == NULL) return VT_OK;
    uint32_t from_end, size, version, count;
    uint8_t sig[4];
    VT_GUARD(entry_u32(image, len, e, "SEV metadata offset", &from_end, err));
    if (from_end < SEV_META_HDR || from_end > len)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SEV metadata offset %u from the end is outside the %zu-byte image",
                            from_end, len);
    size_t start = len - from_end;
    vt_reader r;
    VT_GUARD(sub_at(image, len, start, from_end, "SEV metadata", err, &r));
    VT_GUARD(vt_read_copy(&r, "SEV metadata signature", sig, 4));
    VT_GUARD(vt_read_u32le(&r, "SEV metadata size", &size));
    VT_GUARD(vt_read_u32le(&r, "SEV metadata version", &version));
    VT_GUARD(vt_read_u32le(&r, "SEV metadata count", &count));
    if (memcmp(sig, "ASEV", 4) != 0)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SEV metadata signature is not 'ASEV'");
    if (version != 1)
        return vt_error_set(err, VT_E_UNSUPPORTED, "sev_metadata",
                            "SEV metadata version %u (only 1 is defined)", version);
    if (count > VT_OVMF_MAX_SECTIONS)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SEV metadata declares %u sections (at most %d)", count,
                            VT_OVMF_MAX_SECTIONS);
    if (size < SEV_META_HDR || (size - SEV_META_HDR) / SEV_META_DESC < count)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SEV metadata size %u cannot hold %u sections", size, count);
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        vt_ovmf_section *s = &o->sections[i];
        VT_GUARD(vt_read_u32le(&r, "section GPA", &s->gpa));
        VT_GUARD(vt_read_u32le(&r, "section size", &s->size));
        VT_GUARD(vt_read_u32le(&r, "section type", &s->type));
        /* the launch digest folds one measurement per page of a section: bounded by the 4 GiB the
         * sections' 32-bit GPAs can name, so a hostile image costs seconds, not minutes */
        total += s->size;
        if ((uint64_t)s->gpa + s->size > (1ull << 32) || total > (1ull << 32))
            return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                                "SEV metadata section %u (GPA 0x%x, 0x%x bytes) runs past 4 GiB, or the "
                                "sections cover more than 4 GiB in all", i, s->gpa, s->size);
    }
    o->n_sections = count;
    o->has_sev_metadata = true;
    return VT_OK;
}

vt_err vt_ovmf_parse(const uint8_t *image, size_t len, vt_ovmf *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (image == NULL || len == 0 || len % VT_MEASURE_PAGE != 0 || (uint64_t)len > (1ull << 32))
        return vt_error_set(err, VT_E_INVALID, "ovmf_size",
                            "firmware image of %zu bytes: must be a non-zero multiple of 4096 and "
                            "at most 4 GiB",
                            len);
    out->image_len = len;
    out->gpa = (1ull << 32) - (uint64_t)len;
    VT_GUARD(parse_table(image, len, out, err));
    VT_GUARD(parse_sev_metadata(image, len, out, err));
    const vt_ovmf_entry *e = vt_ovmf_find(out, RESET_BLOCK_GUID);
    if (e != NULL) {
        VT_GUARD(entry_u32(image, len, e, "SEV-ES reset EIP", &out->reset_eip, err));
        out->has_reset_eip = true;
    }
    e = vt_ovmf_find(out, HASH_TABLE_GUID);
    if (e != NULL) {
        VT_GUARD(entry_u32(image, len, e, "kernel hash table GPA", &out->hash_table_gpa, err));
        out->has_hash_table = true;
    }
    return VT_OK;
}
