/* The NVIDIA GPU attestation report: SPDM 1.1 GET_MEASUREMENTS request (37 bytes) followed by
 * the MEASUREMENTS response (measurement record, responder nonce, NVIDIA opaque-data TLVs,
 * ECDSA P-384 signature). Layout: docs/nvidia.md. Pure parsing, no cryptography. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/nvidia.h"

#define SPDM_VERSION_11 0x11
#define SPDM_GET_MEASUREMENTS 0xE0
#define SPDM_MEASUREMENTS 0x60
#define DMTF_MEASUREMENT_SPEC 0x01

static const struct {
    unsigned id;
    const char *name;
} OPAQUE_NAMES[] = {
    {1, "cert_issuer_name"},
    {2, "cert_authority_key_identifier"},
    {3, "driver_version"},
    {4, "gpu_info"},
    {5, "sku"},
    {6, "vbios_version"},
    {7, "manufacturer_id"},
    {8, "tamper_detection"},
    {9, "smc"},
    {10, "vpr"},
    {11, "nvdec0_status"},
    {12, "measurement_count"},
    {13, "cpr_info"},
    {14, "board_id"},
    {15, "chip_sku"},
    {16, "chip_sku_mod"},
    {17, "project"},
    {18, "project_sku"},
    {19, "project_sku_mod"},
    {20, "fwid"},
    {21, "protected_pcie_status"},
    {22, "switch_pdi"},
    {23, "floorswept_ports"},
    {24, "position_id"},
    {25, "lock_switch_status"},
    {32, "gpu_link_conn"},
    {33, "sys_enable_status"},
    {34, "opaque_data_version"},
    {35, "chip_info"},
    {36, "feature_flag"},
};

const char *vt_nvidia_opaque_name(unsigned id)
{
    for (size_t i = 0; i < sizeof OPAQUE_NAMES / sizeof OPAQUE_NAMES[0]; i++)
        if (OPAQUE_NAMES[i].id == id) return OPAQUE_NAMES[i].name;
    return NULL;
}

vt_nvidia_arch vt_nvidia_arch_from_name(const char *s)
{
    if (s == NULL) return VT_NVIDIA_ARCH_UNKNOWN;
    if (strcasecmp(s, "HOPPER") == 0) return VT_NVIDIA_HOPPER;
    if (strcasecmp(s, "BLACKWELL") == 0) return VT_NVIDIA_BLACKWELL;
    return VT_NVIDIA_ARCH_UNKNOWN;
}

const char *vt_nvidia_arch_name(vt_nvidia_arch a)
{
    switch (a) {
    case VT_NVIDIA_HOPPER: return "HOPPER";
    case VT_NVIDIA_BLACKWELL: return "BLACKWELL";
    default: return "UNKNOWN";
    }
}

/* An ASCII field: printable characters, then only NULs (at least the text must be non-empty
 * unless the whole field is NUL). */
static vt_err ascii_field(vt_nvidia_tlv t, char *out, size_t cap, vt_error *err)
{
    size_t n = 0;
    while (n < t.value.len && t.value.ptr[n] != 0) {
        if (t.value.ptr[n] < 0x20 || t.value.ptr[n] > 0x7e)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque %s: byte 0x%02x at %zu is not printable ASCII",
                                vt_nvidia_opaque_name(t.type), t.value.ptr[n], n);
        n++;
    }
    if (!vt_bytes_is_zero(t.value.ptr + n, t.value.len - n))
        return vt_error_set(err, VT_E_INVALID, "report_format",
                            "opaque %s: non-NUL byte after the terminating NUL",
                            vt_nvidia_opaque_name(t.type));
    if (out != NULL) {
        if (n >= cap)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque %s: %zu characters (at most %zu)",
                                vt_nvidia_opaque_name(t.type), n, cap - 1);
        memcpy(out, t.value.ptr, n);
        out[n] = 0;
    }
    return VT_OK;
}

static vt_err le_uint(vt_nvidia_tlv t, uint64_t *out, vt_error *err)
{
    if (t.value.len < 1 || t.value.len > 8)
        return vt_error_set(err, VT_E_INVALID, "report_format",
                            "opaque %s: %zu bytes (1..8 for an integer)",
                            vt_nvidia_opaque_name(t.type), t.value.len);
    uint64_t v = 0;
    for (size_t i = t.value.len; i-- > 0;) v = (v << 8) | t.value.ptr[i];
    *out = v;
    return VT_OK;
}

static vt_err size_is(vt_nvidia_tlv t, size_t n, vt_error *err)
{
    if (t.value.len != n)
        return vt_error_set(err, VT_E_INVALID, "report_format", "opaque %s: %zu bytes (want %zu)",
                            vt_nvidia_opaque_name(t.type), t.value.len, n);
    return VT_OK;
}

/* Validate one known TLV and fill the decoded fields of the report. */
static vt_err decode_tlv(vt_nvidia_report *r, vt_nvidia_tlv t, vt_error *err)
{
    uint64_t u;
    switch (t.type) {
    case VT_NV_OPAQUE_DRIVER_VERSION:
        VT_GUARD(ascii_field(t, r->driver_version, sizeof r->driver_version, err));
        if (r->driver_version[0] == 0)
            return vt_error_set(err, VT_E_INVALID, "report_format", "opaque driver_version is empty");
        return VT_OK;
    case VT_NV_OPAQUE_CHIP_SKU: return ascii_field(t, r->chip_sku, sizeof r->chip_sku, err);
    case VT_NV_OPAQUE_PROJECT: return ascii_field(t, r->project, sizeof r->project, err);
    case VT_NV_OPAQUE_PROJECT_SKU: return ascii_field(t, r->project_sku, sizeof r->project_sku, err);
    case VT_NV_OPAQUE_CHIP_INFO: return ascii_field(t, r->chip_info, sizeof r->chip_info, err);
    case VT_NV_OPAQUE_CHIP_SKU_MOD: return ascii_field(t, NULL, 0, err);
    case VT_NV_OPAQUE_VBIOS_VERSION: {
        VT_GUARD(size_is(t, 8, err));
        const uint8_t *b = t.value.ptr;
        snprintf(r->vbios_version, sizeof r->vbios_version, "%02x.%02x.%02x.%02x.%02x", b[3], b[2],
                 b[1], b[0], b[4]);
        return VT_OK;
    }
    case VT_NV_OPAQUE_NVDEC0_STATUS:
        VT_GUARD(size_is(t, 1, err));
        if (t.value.ptr[0] == 0xAA) r->nvdec0 = VT_NV_NVDEC0_ENABLED;
        else if (t.value.ptr[0] == 0x55) r->nvdec0 = VT_NV_NVDEC0_DISABLED;
        else
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque nvdec0_status 0x%02x (0xAA enabled, 0x55 disabled)",
                                t.value.ptr[0]);
        return VT_OK;
    case VT_NV_OPAQUE_MSRSCNT:
        if (t.value.len % 4 != 0 || t.value.len / 4 > VT_NVIDIA_MAX_BLOCKS)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque measurement_count: %zu bytes (a multiple of 4, at most %d entries)",
                                t.value.len, VT_NVIDIA_MAX_BLOCKS);
        return VT_OK;
    case VT_NV_OPAQUE_FWID:
        VT_GUARD(size_is(t, VT_NVIDIA_FWID_LEN, err));
        memcpy(r->fwid, t.value.ptr, VT_NVIDIA_FWID_LEN);
        r->has_fwid = true;
        return VT_OK;
    case VT_NV_OPAQUE_SWITCH_PDI:
        if (t.value.len % 8 != 0)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque switch_pdi: %zu bytes (a multiple of 8)", t.value.len);
        return VT_OK;
    case VT_NV_OPAQUE_OPAQUE_DATA_VERSION: return le_uint(t, &u, err);
    case VT_NV_OPAQUE_FEATURE_FLAG:
        VT_GUARD(le_uint(t, &u, err));
        if (u > 2)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque feature_flag %llu (0 SPT, 1 MPT, 2 PPCIE)", (unsigned long long)u);
        return VT_OK;
    default: return VT_OK; /* known id carried as hex */
    }
}

static vt_err parse_opaque(vt_nvidia_report *r, vt_error *err)
{
    vt_reader rd;
    vt_reader_init(&rd, r->opaque.ptr, r->opaque.len, "NVIDIA opaque data", err);
    while (vt_reader_remaining(&rd) > 0) {
        size_t at = rd.off;
        uint16_t type, size;
        vt_nvidia_tlv t;
        VT_GUARD(vt_read_u16le(&rd, "DataType", &type));
        VT_GUARD(vt_read_u16le(&rd, "DataSize", &size));
        VT_GUARD(vt_read_view(&rd, "Data", size, &t.value));
        t.type = type;
        if (vt_nvidia_opaque_name(type) == NULL)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "opaque data: unknown TLV id %u at offset %zu", type, at);
        for (size_t i = 0; i < r->n_tlv; i++)
            if (r->tlv[i].type == type)
                return vt_error_set(err, VT_E_INVALID, "report_format",
                                    "opaque data: duplicate TLV id %u (%s) at offset %zu", type,
                                    vt_nvidia_opaque_name(type), at);
        if (r->n_tlv >= VT_NVIDIA_MAX_TLVS) /* unreachable: distinct known ids are fewer */
            return vt_error_set(err, VT_E_INVALID, "report_format", "opaque data: too many TLVs");
        VT_GUARD(decode_tlv(r, t, err));
        r->tlv[r->n_tlv++] = t;
    }
    if (r->driver_version[0] == 0)
        return vt_error_set(err, VT_E_INVALID, "report_format", "opaque data: no driver_version (id 3)");
    if (r->vbios_version[0] == 0)
        return vt_error_set(err, VT_E_INVALID, "report_format", "opaque data: no vbios_version (id 6)");
    return VT_OK;
}

static vt_err expect_u8(vt_reader *rd, const char *field, uint8_t want, uint8_t *got, vt_error *err)
{
    uint8_t v;
    VT_GUARD(vt_read_u8(rd, field, &v));
    if (v != want)
        return vt_error_set(err, v == 0x10 || v == 0x12 || v == 0x13 ? VT_E_UNSUPPORTED : VT_E_INVALID,
                            "report_format", "%s at offset %zu is 0x%02x (want 0x%02x)", field,
                            rd->off - 1, v, want);
    if (got != NULL) *got = v;
    return VT_OK;
}

static vt_err parse_record(vt_nvidia_report *r, vt_reader *rec, size_t n_blocks, vt_error *err)
{
    for (size_t i = 0; i < n_blocks; i++) {
        vt_nvidia_block *b = &r->blocks[i];
        uint8_t spec;
        uint16_t msize, vsize;
        VT_GUARD(vt_read_u8(rec, "measurement Index", &b->index));
        if (b->index == 0 || b->index == 0xFF)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "measurement block %zu: index %u (1..254)", i, b->index);
        for (size_t j = 0; j < i; j++)
            if (r->blocks[j].index == b->index)
                return vt_error_set(err, VT_E_INVALID, "report_format",
                                    "measurement block %zu: duplicate index %u", i, b->index);
        VT_GUARD(vt_read_u8(rec, "MeasurementSpecification", &spec));
        if (spec != DMTF_MEASUREMENT_SPEC)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "measurement block %u: specification 0x%02x (want 0x01 DMTF)",
                                b->index, spec);
        VT_GUARD(vt_read_u16le(rec, "MeasurementSize", &msize));
        vt_reader m;
        VT_GUARD(vt_read_sub(rec, "Measurement", msize, &m));
        VT_GUARD(vt_read_u8(&m, "DMTFSpecMeasurementValueType", &b->value_type));
        VT_GUARD(vt_read_u16le(&m, "DMTFSpecMeasurementValueSize", &vsize));
        if ((size_t)msize != 3u + vsize)
            return vt_error_set(err, VT_E_INVALID, "report_format",
                                "measurement block %u: MeasurementSize %u != 3 + ValueSize %u",
                                b->index, msize, vsize);
        VT_GUARD(vt_read_view(&m, "DMTFSpecMeasurementValue", vsize, &b->value));
    }
    if (vt_reader_remaining(rec) != 0)
        return vt_error_set(err, VT_E_INVALID, "report_format",
                            "measurement record: %zu bytes left after %zu blocks",
                            vt_reader_remaining(rec), n_blocks);
    r->n_blocks = n_blocks;
    return VT_OK;
}

vt_err vt_nvidia_report_parse(const uint8_t *buf, size_t len, vt_nvidia_report *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL) return vt_error_set(err, VT_E_ARG, "report_format", "no report");
    vt_reader rd;
    vt_reader_init(&rd, buf, len, "NVIDIA attestation report", err);
    /* request */
    VT_GUARD(expect_u8(&rd, "request SPDMVersion", SPDM_VERSION_11, NULL, err));
    VT_GUARD(expect_u8(&rd, "request RequestResponseCode", SPDM_GET_MEASUREMENTS, NULL, err));
    uint8_t param1;
    VT_GUARD(vt_read_u8(&rd, "request Param1", &param1));
    if ((param1 & 0x01) == 0)
        return vt_error_set(err, VT_E_INVALID, "report_format",
                            "request Param1 0x%02x does not ask for a signature", param1);
    VT_GUARD(vt_read_u8(&rd, "request Param2", &out->request_param2));
    VT_GUARD(vt_read_copy(&rd, "request Nonce", out->request_nonce, VT_NVIDIA_NONCE_LEN));
    VT_GUARD(vt_read_u8(&rd, "request SlotIDParam", &out->slot));
    /* response */
    VT_GUARD(expect_u8(&rd, "response SPDMVersion", SPDM_VERSION_11, NULL, err));
    VT_GUARD(expect_u8(&rd, "response RequestResponseCode", SPDM_MEASUREMENTS, NULL, err));
    uint8_t p1, p2, nblocks, l1[3];
    VT_GUARD(vt_read_u8(&rd, "response Param1", &p1));
    VT_GUARD(vt_read_u8(&rd, "response Param2", &p2));
    VT_GUARD(vt_read_u8(&rd, "NumberOfBlocks", &nblocks));
    VT_GUARD(vt_read_copy(&rd, "MeasurementRecordLength", l1, 3));
    out->record_len = (uint32_t)l1[0] | (uint32_t)l1[1] << 8 | (uint32_t)l1[2] << 16;
    if (out->request_param2 == 0xFF && nblocks == 0)
        return vt_error_set(err, VT_E_INVALID, "report_format",
                            "all blocks were requested but the response carries none");
    vt_reader rec;
    VT_GUARD(vt_read_sub(&rd, "MeasurementRecord", out->record_len, &rec));
    VT_GUARD(parse_record(out, &rec, nblocks, err));
    VT_GUARD(vt_read_copy(&rd, "responder Nonce", out->responder_nonce, VT_NVIDIA_NONCE_LEN));
    uint16_t l2;
    VT_GUARD(vt_read_u16le(&rd, "OpaqueLength", &l2));
    VT_GUARD(vt_read_view(&rd, "OpaqueData", l2, &out->opaque));
    out->signed_part.ptr = buf;
    out->signed_part.len = rd.off;
    VT_GUARD(vt_read_view(&rd, "Signature", VT_NVIDIA_SIG_LEN, &out->signature));
    out->trailing.ptr = buf + rd.off;
    out->trailing.len = vt_reader_remaining(&rd);
    return parse_opaque(out, err);
}

static json_t *hex_json(vt_bytes b)
{
    char *s = vt_hex_dup(b.ptr, b.len);
    json_t *j = s != NULL ? json_string(s) : NULL;
    free(s);
    return j;
}

static json_t *tlv_json(const vt_nvidia_report *r, vt_nvidia_tlv t)
{
    uint64_t u = 0;
    switch (t.type) {
    case VT_NV_OPAQUE_DRIVER_VERSION:
    case VT_NV_OPAQUE_CHIP_SKU:
    case VT_NV_OPAQUE_CHIP_SKU_MOD:
    case VT_NV_OPAQUE_PROJECT:
    case VT_NV_OPAQUE_PROJECT_SKU:
    case VT_NV_OPAQUE_CHIP_INFO: {
        size_t n = 0;
        while (n < t.value.len && t.value.ptr[n] != 0) n++;
        return json_stringn((const char *)t.value.ptr, n);
    }
    case VT_NV_OPAQUE_VBIOS_VERSION: return json_string(r->vbios_version);
    case VT_NV_OPAQUE_NVDEC0_STATUS:
        return json_string(r->nvdec0 == VT_NV_NVDEC0_ENABLED ? "enabled" : "disabled");
    case VT_NV_OPAQUE_MSRSCNT: {
        json_t *o = json_object();
        for (size_t i = 0; o != NULL && i < t.value.len / 4; i++) {
            const uint8_t *p = t.value.ptr + 4 * i;
            uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            char k[24];
            snprintf(k, sizeof k, "%zu", i + 1);
            json_object_set_new(o, k, json_integer(v));
        }
        return o;
    }
    case VT_NV_OPAQUE_SWITCH_PDI: {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < t.value.len / 8; i++)
            json_array_append_new(a, hex_json((vt_bytes){t.value.ptr + 8 * i, 8}));
        return a;
    }
    case VT_NV_OPAQUE_OPAQUE_DATA_VERSION:
        (void)le_uint(t, &u, NULL);
        return json_integer((json_int_t)u);
    case VT_NV_OPAQUE_FEATURE_FLAG: {
        static const char *const FLAGS[] = {"SPT", "MPT", "PPCIE"};
        (void)le_uint(t, &u, NULL);
        return json_string(u < 3 ? FLAGS[u] : "unknown");
    }
    default: return hex_json(t.value);
    }
}

json_t *vt_nvidia_config_json(const vt_nvidia_report *r)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < r->n_tlv; i++)
        json_object_set_new(o, vt_nvidia_opaque_name(r->tlv[i].type), tlv_json(r, r->tlv[i]));
    return o;
}

json_t *vt_nvidia_measurements_json(const vt_nvidia_report *r)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < r->n_blocks; i++) {
        char k[24];
        snprintf(k, sizeof k, "%u", r->blocks[i].index);
        json_object_set_new(o, k, hex_json(r->blocks[i].value));
    }
    return o;
}
