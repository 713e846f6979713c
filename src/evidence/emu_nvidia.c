/* Emulated NVIDIA GPUs, Hopper and Blackwell: a device PKI mirroring NVIDIA's (one root with the
 * emulated organisation; Hopper: a provisioner CA and one FMC leaf per GPU carrying the FWID as
 * the last 48 bytes of 2.23.133.5.4.1; Blackwell: an identity CA, a provisioner CA, a BROM CA
 * per GPU and its FMC leaf carrying the FWID in the DiceTcbInfo fwids list of
 * 2.23.133.5.4.1.1, five certificates as on a GB202), and GPU evidence in Trustee's
 * device_evidence_list form: SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response with the
 * architecture's opaque data (PPCIe mode: the switch PDIs), signed by the GPU's leaf key.
 * Opt-in: only a platform description with an "nvidia" section gets GPUs (docs/emulate.md,
 * docs/nvidia.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/json.h"

#define NV_BLOCKS 64
#define NV_MAX_GPUS 8
#define NV_MAX_SWITCHES 8
#define NV_VALIDITY_DAYS 3650

/* The "nvidia" section of the platform description, read with the core getters: an absent key
 * keeps the default, a wrong type is an error naming nvidia.<key>. */
static vt_err nv_text(const json_t *nv, const char *k, const char *d, const char **out, vt_error *err)
{
    vt_json_in in;
    *out = d;
    VT_GUARD(vt_json_in_init(&in, nv, "nvidia", "emulate", err));
    return vt_json_get_str(&in, k, VT_JSON_OPTIONAL, out, NULL);
}

static vt_err nv_flag(const json_t *nv, const char *k, bool *out, vt_error *err)
{
    vt_json_in in;
    *out = false;
    VT_GUARD(vt_json_in_init(&in, nv, "nvidia", "emulate", err));
    return vt_json_get_bool(&in, k, VT_JSON_OPTIONAL, out, NULL);
}

/* The GPU's FWID: SHA-384 of its leaf public key (recomputed when evidence is made). */
static vt_err nv_fwid(EVP_PKEY *k, uint8_t out[48], vt_error *err)
{
    uint8_t xy[96];
    size_t n;
    VT_GUARD(vt_ec_pub_xy(k, xy, sizeof xy, &n, err));
    return vt_hash(VT_SHA384, xy, n, out, err);
}

static vt_err nv_gpus(const json_t *nv, int *out, vt_error *err)
{
    vt_json_in in;
    int64_t g = 1;
    VT_GUARD(vt_json_in_init(&in, nv, "nvidia", "emulate", err));
    VT_GUARD(vt_json_get_int(&in, "gpus", VT_JSON_OPTIONAL, 1, NV_MAX_GPUS, &g, NULL));
    *out = (int)g;
    return VT_OK;
}

static vt_err add_pem(vt_buf *acc, X509 *c, vt_error *err)
{
    vt_buf p = {0};
    VT_GUARD(vt_pki_cert_pem(c, &p, err));
    uint8_t *n = realloc(acc->ptr, acc->len + p.len);
    if (n == NULL) {
        vt_buf_free(&p);
        return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    }
    memcpy(n + acc->len, p.ptr, p.len);
    acc->ptr = n;
    acc->len += p.len;
    vt_buf_free(&p);
    return VT_OK;
}

/* GPU g's architecture: nvidia.arch is one name for every GPU or a list of one name per GPU
 * (a mixed set); absent: HOPPER. */
static vt_err nv_arch(const json_t *nv, int g, int gpus, bool *blackwell, vt_error *err)
{
    const json_t *a = json_object_get(nv, "arch");
    *blackwell = false;
    if (a == NULL) return VT_OK;
    if (json_is_array(a) && json_array_size(a) != (size_t)gpus)
        return vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.arch: a list of %d names (one per GPU) expected",
                            gpus);
    const json_t *x = json_is_array(a) ? json_array_get(a, (size_t)g) : a;
    const char *n = json_string_value(x);
    if (n != NULL && strcmp(n, "HOPPER") == 0) return VT_OK;
    if (n != NULL && strcmp(n, "BLACKWELL") == 0) {
        *blackwell = true;
        return VT_OK;
    }
    return vt_error_set(err, VT_E_INVALID, "emulate",
                        "nvidia.arch: expected \"HOPPER\", \"BLACKWELL\" or a list of them (one per GPU)");
}

/* The Blackwell leaf's DiceTcbInfo (2.23.133.5.4.1.1) as NVIDIA's GB20X FMC leaf shapes it:
 * SEQUENCE { [0] vendor, [1] model, [6] fwids: { SEQUENCE { sha384, OCTET STRING fwid } } }. */
static size_t dice_tcb_info(const uint8_t fwid[48], uint8_t *out, size_t cap)
{
    static const uint8_t sha384[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
    static const char vendor[] = "NVIDIA", model[] = "Emulated GB20X A01 GSP";
    uint8_t body[160];
    size_t n = 0;
    body[n++] = 0x80, body[n++] = (uint8_t)(sizeof vendor - 1);
    memcpy(body + n, vendor, sizeof vendor - 1), n += sizeof vendor - 1;
    body[n++] = 0x81, body[n++] = (uint8_t)(sizeof model - 1);
    memcpy(body + n, model, sizeof model - 1), n += sizeof model - 1;
    size_t fw_len = sizeof sha384 + 2 + 48; /* OID, OCTET STRING (48) */
    body[n++] = 0xA6, body[n++] = (uint8_t)(fw_len + 2);
    body[n++] = 0x30, body[n++] = (uint8_t)fw_len;
    memcpy(body + n, sha384, sizeof sha384), n += sizeof sha384;
    body[n++] = 0x04, body[n++] = 48;
    memcpy(body + n, fwid, 48), n += 48;
    if (n + 2 > cap || n > 127) return 0;
    out[0] = 0x30, out[1] = (uint8_t)n;
    memcpy(out + 2, body, n);
    return n + 2;
}

/* The CAs of one architecture's device PKI below the shared root: Hopper one provisioner CA,
 * Blackwell an identity CA and a provisioner CA (the GB20X shape). */
typedef struct nv_cas {
    EVP_PKEY *k[2];
    X509 *c[2];
    int n;
} nv_cas;

static void nv_cas_free(nv_cas *c)
{
    for (int i = 0; i < 2; i++) EVP_PKEY_free(c->k[i]), X509_free(c->c[i]);
    memset(c, 0, sizeof *c);
}

static vt_err nv_ca(const char *dir, const vt_pki_cert_spec *base, const char *cn, const char *keyfile, X509 *issuer,
                    EVP_PKEY *issuer_key, EVP_PKEY **k, X509 **c, vt_error *err)
{
    vt_pki_cert_spec s = *base;
    s.subject_cn = cn;
    VT_GUARD(vt_pki_ec_key(VT_P384, k, err));
    VT_GUARD(vt_pki_cert(&s, *k, issuer, issuer_key, c, err));
    /* the CA keys stay with the emulator, as its other TEEs' do: tests issue OCSP responders
     * and CRLs for the device chain with them (docs/nvidia.md, "Revocation") */
    return emu_save_key(dir, keyfile, *k, err);
}

/* GPU g's leaf (and, Blackwell, its BROM CA) under the architecture's CAs; writes the key and
 * the chain leaf first, root last. */
static vt_err nv_device(const char *dir, int g, bool blackwell, const vt_pki_cert_spec *base, X509 *root,
                        const nv_cas *cas, vt_error *err)
{
    EVP_PKEY *lk = NULL, *bk = NULL;
    X509 *leaf = NULL, *brom = NULL;
    vt_buf chain = {0};
    vt_err rc = VT_OK;
    char name[64];
    uint8_t fwid[48], ext[200];
    size_t ext_len;
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &lk, err));
    VT_GUARD_GOTO(nv_fwid(lk, fwid, err));
    X509 *issuer = cas->c[cas->n - 1];
    EVP_PKEY *issuer_key = cas->k[cas->n - 1];
    if (blackwell) {
        VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &bk, err));
        vt_pki_cert_spec bs = *base;
        bs.subject_cn = "Emulated GB20X A01 GSP BROM";
        VT_GUARD_GOTO(vt_pki_cert(&bs, bk, issuer, issuer_key, &brom, err));
        snprintf(name, sizeof name, "nvidia_gpu%d.brom.key.pem", g);
        VT_GUARD_GOTO(emu_save_key(dir, name, bk, err));
        issuer = brom, issuer_key = bk;
        ext_len = dice_tcb_info(fwid, ext, sizeof ext);
    } else {
        ext[0] = 0x04, ext[1] = 48; /* OCTET STRING (48): the FWID is its last 48 bytes */
        memcpy(ext + 2, fwid, 48);
        ext_len = 50;
    }
    vt_pki_ext x = {.oid = blackwell ? "2.23.133.5.4.1.1" : "2.23.133.5.4.1", .der = ext, .der_len = ext_len};
    vt_pki_cert_spec ls = *base;
    ls.subject_cn = blackwell ? "Emulated GB20X A01 GSP FMC LF" : "Emulated GH100 A01 GSP FMC LF";
    ls.ca = false;
    ls.exts = &x, ls.n_exts = 1;
    VT_GUARD_GOTO(vt_pki_cert(&ls, lk, issuer, issuer_key, &leaf, err));
    snprintf(name, sizeof name, "nvidia_gpu%d.key.pem", g);
    VT_GUARD_GOTO(emu_save_key(dir, name, lk, err));
    VT_GUARD_GOTO(add_pem(&chain, leaf, err));
    if (brom != NULL) VT_GUARD_GOTO(add_pem(&chain, brom, err));
    for (int i = cas->n - 1; i >= 0; i--) VT_GUARD_GOTO(add_pem(&chain, cas->c[i], err));
    VT_GUARD_GOTO(add_pem(&chain, root, err));
    snprintf(name, sizeof name, "nvidia_gpu%d.chain.pem", g);
    VT_GUARD_GOTO(emu_write(dir, "keys", name, chain.ptr, chain.len, false, err));
out:
    EVP_PKEY_free(lk), EVP_PKEY_free(bk);
    X509_free(leaf), X509_free(brom);
    vt_buf_free(&chain);
    return rc;
}

vt_err emu_nvidia_init(const char *dir, const json_t *nv, vt_time at, vt_error *err)
{
    int gpus = 0;
    VT_GUARD(nv_gpus(nv, &gpus, err));
    bool any_bw = false, any_hop = false;
    for (int g = 0; g < gpus; g++) {
        bool bw;
        VT_GUARD(nv_arch(nv, g, gpus, &bw, err));
        any_bw = any_bw || bw, any_hop = any_hop || !bw;
    }
    char path[1200];
    VT_GUARD(emu_path(dir, "trust", "nvidia", path, sizeof path, err));
    if (mkdir(path, 0755) != 0 && !vt_file_exists(path))
        return vt_error_set(err, VT_E_IO, "emulate", "cannot create %s", path);
    EVP_PKEY *rk = NULL;
    X509 *root = NULL;
    nv_cas hop = {0}, bw = {0};
    vt_buf pem = {0};
    vt_err rc = VT_OK;
    vt_time nb = at - 86400, na = at + (vt_time)NV_VALIDITY_DAYS * 86400;
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &rk, err));
    vt_pki_cert_spec rs = {.subject_cn = "Emulated NVIDIA Device Identity CA", .subject_o = VT_EMU_ORGANIZATION,
                           .not_before = nb, .not_after = na, .ca = true, .path_len = -1};
    VT_GUARD_GOTO(vt_pki_cert(&rs, rk, NULL, rk, &root, err));
    VT_GUARD_GOTO(vt_pki_cert_pem(root, &pem, err));
    VT_GUARD_GOTO(emu_write(dir, "trust/nvidia", "nvidia_device_root.pem", pem.ptr, pem.len, false, err));
    VT_GUARD_GOTO(emu_save_key(dir, "nvidia_root.key.pem", rk, err));
    if (any_hop) {
        VT_GUARD_GOTO(nv_ca(dir, &rs, "Emulated NVIDIA GH100 Provisioner ICA 1", "nvidia_ica.key.pem", root, rk,
                            &hop.k[0], &hop.c[0], err));
        hop.n = 1;
    }
    if (any_bw) {
        VT_GUARD_GOTO(nv_ca(dir, &rs, "Emulated NVIDIA GB20X Identity", "nvidia_bw_identity.key.pem", root, rk,
                            &bw.k[0], &bw.c[0], err));
        VT_GUARD_GOTO(nv_ca(dir, &rs, "Emulated NVIDIA GB202 Provisioner ICA 00000", "nvidia_bw_ica.key.pem",
                            bw.c[0], bw.k[0], &bw.k[1], &bw.c[1], err));
        bw.n = 2;
    }
    for (int g = 0; g < gpus; g++) {
        bool b;
        VT_GUARD_GOTO(nv_arch(nv, g, gpus, &b, err));
        VT_GUARD_GOTO(nv_device(dir, g, b, &rs, root, b ? &bw : &hop, err));
    }
out:
    EVP_PKEY_free(rk);
    X509_free(root);
    nv_cas_free(&hop), nv_cas_free(&bw);
    vt_buf_free(&pem);
    return rc;
}

json_t *emu_nvidia_default(void)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:b}", "arch", "HOPPER", "gpus", 1, "driver_version", "550.90.07",
                     "vbios_version", "96.00.9f.00.01", "nvdec0_enabled", 0);
}

typedef struct wbuf {
    uint8_t b[8192];
    size_t n;
} wbuf;

static void w(wbuf *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n); /* callers stay far below the capacity (about 4.2 KiB) */
    o->n += n;
}
static void w8(wbuf *o, unsigned v) { o->b[o->n++] = (uint8_t)v; }
static void w16(wbuf *o, unsigned v) { w8(o, v & 0xff), w8(o, (v >> 8) & 0xff); }
static void tlv(wbuf *o, unsigned type, const void *p, size_t n)
{
    w16(o, type), w16(o, (unsigned)n), w(o, p, n);
}

/* "96.00.9f.00.01" -> the 8-byte opaque encoding (bytes 0..3 reversed, then byte 4). */
static vt_err vbios_bytes(const char *s, uint8_t out[8], vt_error *err)
{
    unsigned v[5];
    if (sscanf(s, "%2x.%2x.%2x.%2x.%2x", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5 || strlen(s) != 14)
        return vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.vbios_version '%s' is not xx.xx.xx.xx.xx", s);
    memset(out, 0, 8);
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)v[3 - i];
    out[4] = (uint8_t)v[4];
    return VT_OK;
}

/* nvidia.feature: the CC mode the reports name (opaque feature_flag): SPT (default), MPT, PPCIE. */
static vt_err nv_feature(const json_t *nv, uint8_t *out, vt_error *err)
{
    const char *f = NULL;
    VT_GUARD(nv_text(nv, "feature", "SPT", &f, err));
    static const char *const names[] = {"SPT", "MPT", "PPCIE"};
    for (uint8_t i = 0; i < 3; i++)
        if (strcmp(f, names[i]) == 0) {
            *out = i;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.feature: expected SPT, MPT or PPCIE");
}

/* GPU g is listed in nvidia.<key> (a list of GPU indices). */
static vt_err nv_listed(const json_t *nv, const char *key, int g, bool *in, vt_error *err)
{
    vt_json_in in_;
    const json_t *list = NULL;
    *in = false;
    VT_GUARD(vt_json_in_init(&in_, nv, "nvidia", "emulate", err));
    VT_GUARD(vt_json_get_arr(&in_, key, VT_JSON_OPTIONAL, 0, NV_MAX_GPUS, &list, NULL));
    for (size_t i = 0; list != NULL && i < json_array_size(list); i++) {
        const json_t *x = json_array_get(list, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= NV_MAX_GPUS)
            return vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.%s[%zu]: expected a GPU index 0..%d", key, i,
                                NV_MAX_GPUS - 1);
        if (json_integer_value(x) == g) *in = true;
    }
    return VT_OK;
}

/* PPCIe: the switch_pdi TLV (opaque id 22) of GPU g: the PDIs of the nvidia.switches (default 4,
 * the HGX shape) emulated NVSwitches, 8 bytes each, the same for every GPU of the system; a GPU
 * listed in nvidia.other_switch names a switch no other GPU is attached to instead of the last. */
static vt_err nv_switch_pdis(const json_t *nv, int g, uint8_t *out, size_t *n, vt_error *err)
{
    vt_json_in in;
    int64_t sw = 4;
    bool other = false;
    VT_GUARD(vt_json_in_init(&in, nv, "nvidia", "emulate", err));
    VT_GUARD(vt_json_get_int(&in, "switches", VT_JSON_OPTIONAL, 1, NV_MAX_SWITCHES, &sw, NULL));
    VT_GUARD(nv_listed(nv, "other_switch", g, &other, err));
    for (int64_t i = 0; i < sw; i++) {
        uint8_t *p = out + 8 * i;
        bool odd = other && i == sw - 1;
        /* an emulated PDI: "NVSW", the switch number, a marker for the odd one out */
        memcpy(p, "NVSW", 4);
        p[4] = (uint8_t)i, p[5] = odd ? (uint8_t)(0x80 | g) : 0, p[6] = 0xE5, p[7] = 0x01;
    }
    *n = (size_t)sw * 8;
    return VT_OK;
}

static vt_err nv_report(const json_t *nv, int g, bool bw, EVP_PKEY *k, const uint8_t nonce[32], vt_buf *out,
                        vt_error *err)
{
    wbuf *o = calloc(1, sizeof *o);
    if (o == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    vt_err rc = VT_OK;
    uint8_t vb[8], fwid[48], rnd[32], pdis[NV_MAX_SWITCHES * 8];
    size_t n_pdis = 0;
    const char *drv = NULL, *vbios = NULL;
    bool nvdec0 = false, cc_off = false;
    uint8_t feature = 0;
    char dz[64];
    VT_GUARD_GOTO(nv_listed(nv, "cc_off", g, &cc_off, err));
    VT_GUARD_GOTO(nv_feature(nv, &feature, err));
    VT_GUARD_GOTO(nv_text(nv, "driver_version", bw ? "595.58.03" : "550.90.07", &drv, err));
    VT_GUARD_GOTO(nv_text(nv, "vbios_version", bw ? "98.02.81.00.01" : "96.00.9f.00.01", &vbios, err));
    VT_GUARD_GOTO(nv_flag(nv, "nvdec0_enabled", &nvdec0, err));
    VT_GUARD_GOTO(vbios_bytes(vbios, vb, err));
    VT_GUARD_GOTO(nv_fwid(k, fwid, err));
    if (feature == 2 && !cc_off) VT_GUARD_GOTO(nv_switch_pdis(nv, g, pdis, &n_pdis, err));
    if (strlen(drv) + 1 > sizeof dz) {
        rc = vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.driver_version too long");
        goto out;
    }
    memcpy(dz, drv, strlen(drv) + 1);
    /* request */
    w8(o, 0x11), w8(o, 0xE0), w8(o, 0x01), w8(o, 0xFF), w(o, nonce, 32), w8(o, 0);
    /* response header, record */
    w8(o, 0x11), w8(o, 0x60), w8(o, 0), w8(o, 0), w8(o, NV_BLOCKS);
    unsigned l1 = NV_BLOCKS * 55;
    w8(o, l1 & 0xff), w8(o, (l1 >> 8) & 0xff), w8(o, l1 >> 16);
    for (int i = 1; i <= NV_BLOCKS; i++) {
        uint8_t v[48];
        for (int j = 0; j < 48; j++)
            v[j] = (uint8_t)(i == 1 || i == NV_BLOCKS ? 0 : i * 7 + j * 3 + g + (bw ? 0x5B : 0));
        w8(o, (unsigned)i), w8(o, 0x01), w16(o, 51), w8(o, 0x01), w16(o, 48), w(o, v, 48);
    }
    for (int j = 0; j < 32; j++) rnd[j] = (uint8_t)(0xC3 ^ (j * 13) ^ g);
    w(o, rnd, 32);
    size_t l2_at = o->n;
    w16(o, 0);
    uint8_t cnt[NV_BLOCKS * 4] = {0};
    for (int i = 1; i < NV_BLOCKS - 1; i++) cnt[4 * i] = (uint8_t)(bw && i % 5 == 0 ? 3 : 1);
    uint8_t nvdec = nvdec0 ? 0xAA : 0x55;
    /* the TLVs in the order each architecture's firmware writes them (the vectors' reports) */
    tlv(o, 6, vb, 8);
    if (bw) {
        tlv(o, 14, "\x52\x06\x00\x00", 4);
        tlv(o, 15, "895\0\0\0\0\0\0", 9);
        tlv(o, 16, "0\0\0\0\0", 5);
        tlv(o, 17, "G153\0", 5);
        tlv(o, 18, "0210\0", 5);
        tlv(o, 19, "0\0", 2);
        tlv(o, 3, dz, strlen(dz) + 1);
        tlv(o, 4, "\xb0\x01\x00\x00\x02\x00\x00\x00", 8);
        tlv(o, 12, cnt, sizeof cnt);
        tlv(o, 13, "\x00\x00\x00\x00", 4);
        tlv(o, 11, &nvdec, 1);
        tlv(o, 20, fwid, 48);
        tlv(o, 33, "\x07\x00", 2);
        tlv(o, 35, "GB202\0", 6);
        if (n_pdis > 0) tlv(o, 22, pdis, n_pdis);
        if (!cc_off) {
            uint8_t ver[2] = {1, 0}, ff[2] = {feature, 0};
            tlv(o, 34, ver, 2);
            tlv(o, 36, ff, 2);
        }
    } else {
        tlv(o, 14, "\xb1\x03\x00\x00", 4);
        tlv(o, 15, "882\0\0\0\0\0\0", 9);
        tlv(o, 16, "0\0\0\0\0", 5);
        tlv(o, 17, "1010\0", 5);
        tlv(o, 18, "0200\0", 5);
        tlv(o, 19, "\x00\x00", 2);
        tlv(o, 3, dz, strlen(dz) + 1);
        tlv(o, 4, "\x80\x01\x00\x00\x00\x00\x00\x00", 8);
        tlv(o, 12, cnt, sizeof cnt);
        tlv(o, 13, "\x00\xc0\x01\x00", 4);
        tlv(o, 11, &nvdec, 1);
        tlv(o, 20, fwid, 48);
        tlv(o, 21, "\x55", 1);
        if (n_pdis > 0) tlv(o, 22, pdis, n_pdis);
        if (!cc_off) {
            uint8_t ver[4] = {1, 0, 0, 0}, ff[4] = {feature, 0, 0, 0};
            tlv(o, 34, ver, 4);
            tlv(o, 36, ff, 4);
        }
    }
    size_t l2 = o->n - l2_at - 2;
    o->b[l2_at] = (uint8_t)l2, o->b[l2_at + 1] = (uint8_t)(l2 >> 8);
    size_t sl = 0;
    VT_GUARD_GOTO(vt_ecdsa_sign_raw(k, VT_SHA384, o->b, o->n, o->b + o->n, 96, &sl, err));
    o->n += sl;
    rc = vt_buf_set(out, o->b, o->n, err);
out:
    free(o);
    return rc;
}

vt_err vt_emu_nvidia_evidence(vt_emu *e, const uint8_t nonce[32], vt_buf *out, vt_error *err)
{
    const json_t *nv = json_object_get(vt_emu_platform(e), "nvidia");
    if (nv == NULL)
        return vt_error_set(err, VT_E_MISSING, "emulate",
                            "the emulated platform has no GPUs (add an \"nvidia\" section and re-run init)");
    int gpus = 0;
    VT_GUARD(nv_gpus(nv, &gpus, err));
    json_t *list = json_array();
    vt_err rc = VT_OK;
    for (int g = 0; list != NULL && g < gpus; g++) {
        char name[64], uuid[48];
        EVP_PKEY *k = NULL;
        vt_buf rep = {0}, chain = {0};
        snprintf(name, sizeof name, "nvidia_gpu%d.key.pem", g);
        rc = emu_load_key(vt_emu_dir(e), name, &k, err);
        snprintf(name, sizeof name, "nvidia_gpu%d.chain.pem", g);
        if (rc == VT_OK) rc = emu_read(vt_emu_dir(e), "keys", name, &chain, err);
        bool bw = false;
        if (rc == VT_OK) rc = nv_arch(nv, g, gpus, &bw, err);
        if (rc == VT_OK) rc = nv_report(nv, g, bw, k, nonce, &rep, err);
        char *hex = rc == VT_OK ? vt_hex_dup(rep.ptr, rep.len) : NULL;
        char *b64 = rc == VT_OK ? vt_b64_encode(chain.ptr, chain.len, false) : NULL;
        snprintf(uuid, sizeof uuid, "GPU-emulated-%d", g);
        if (rc == VT_OK && (hex == NULL || b64 == NULL))
            rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        if (rc == VT_OK)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "arch", bw ? "BLACKWELL" : "HOPPER", "uuid", uuid,
                                                  "evidence", hex, "certificate", b64));
        free(hex), free(b64);
        EVP_PKEY_free(k);
        vt_buf_free(&rep), vt_buf_free(&chain);
        if (rc != VT_OK) break;
    }
    /* nvidia.replay: GPU 0's report listed once more, as a guest replaying a report would */
    bool replay = false;
    if (rc == VT_OK) rc = nv_flag(nv, "replay", &replay, err);
    if (rc == VT_OK && replay && json_array_size(list) > 0)
        json_array_append_new(list, json_deep_copy(json_array_get(list, 0)));
    json_t *doc = rc == VT_OK && list != NULL ? json_pack("{s:o}", "device_evidence_list", list) : NULL;
    if (doc == NULL) json_decref(list);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (rc == VT_OK) rc = text != NULL ? vt_buf_set(out, text, strlen(text), err)
                                       : vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    free(text);
    json_decref(doc);
    return rc;
}
