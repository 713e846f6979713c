/* Extended-report certificate table (GHCB spec 56421, SNP Extended Guest Request / MSG_REPORT_REQ:
 * entries {GUID, offset, length} ending with an all-zero entry; GUIDs for VCEK, VLEK, ASK, ARK, CRL). */
#include <string.h>

#include "veritee/snp.h"

#define ENTRY_SIZE 24u

/* GUIDs in RFC 4122 byte order (the order they are written in). */
static const struct {
    vt_snp_cert_kind kind;
    uint8_t guid[16];
} known[] = {
    {VT_SNP_CERT_VCEK, {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}},
    {VT_SNP_CERT_VLEK, {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1}},
    {VT_SNP_CERT_ASK, {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}},
    {VT_SNP_CERT_ARK, {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}},
    {VT_SNP_CERT_CRL, {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea}},
};

const uint8_t *vt_snp_cert_guid(vt_snp_cert_kind k)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].kind == k) return known[i].guid;
    return NULL;
}

static vt_snp_cert_kind kind_of(const uint8_t guid[16])
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (memcmp(known[i].guid, guid, 16) == 0) return known[i].kind;
    return VT_SNP_CERT_OTHER;
}

typedef struct raw_entry {
    uint8_t guid[16];
    uint32_t off;
    uint32_t len;
} raw_entry;

/* Read the entries up to and including the terminator; *n receives the number before it. */
static vt_err read_entries(vt_reader *r, raw_entry *e, size_t *n, vt_error *err)
{
    for (size_t i = 0;; i++) {
        raw_entry x;
        VT_GUARD(vt_read_copy(r, "entry GUID", x.guid, 16));
        VT_GUARD(vt_read_u32le(r, "entry offset", &x.off));
        VT_GUARD(vt_read_u32le(r, "entry length", &x.len));
        bool null_guid = vt_bytes_is_zero(x.guid, 16);
        if (null_guid && x.off == 0 && x.len == 0) {
            *n = i;
            return VT_OK;
        }
        if (null_guid)
            return vt_error_set(err, VT_E_INVALID, "certtable",
                                "certificate table entry %zu has a null GUID", i);
        if (i == VT_SNP_CERTTABLE_MAX)
            return vt_error_set(err, VT_E_INVALID, "certtable",
                                "certificate table has more than %d entries", VT_SNP_CERTTABLE_MAX);
        e[i] = x;
    }
}

vt_err vt_snp_certtable_parse(const uint8_t *p, size_t len, vt_snp_certtable *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (p == NULL || len == 0) return VT_OK;
    raw_entry e[VT_SNP_CERTTABLE_MAX];
    size_t n = 0;
    vt_reader r;
    vt_reader_init(&r, p, len, "SNP certificate table", err);
    VT_GUARD(read_entries(&r, e, &n, err));
    size_t header = (n + 1) * ENTRY_SIZE;
    for (size_t i = 0; i < n; i++) {
        uint64_t end = (uint64_t)e[i].off + e[i].len;
        if (e[i].len == 0 || e[i].off < header || end > len)
            return vt_error_set(err, VT_E_INVALID, "certtable",
                                "certificate table entry %zu (offset %u, length %u) lies outside "
                                "the %zu-byte table after its %zu-byte header",
                                i, e[i].off, e[i].len, len, header);
        for (size_t j = 0; j < i; j++)
            if (memcmp(e[j].guid, e[i].guid, 16) == 0)
                return vt_error_set(err, VT_E_INVALID, "certtable",
                                    "certificate table entries %zu and %zu have the same GUID", j, i);
        vt_snp_cert_entry *o = &out->entries[i];
        memcpy(o->guid, e[i].guid, 16);
        o->kind = kind_of(e[i].guid);
        o->data.ptr = p + e[i].off;
        o->data.len = e[i].len;
    }
    out->n = n;
    return VT_OK;
}
