/* Emulated NVIDIA GPUs (Hopper format): a device PKI mirroring NVIDIA's (a root with the
 * emulated organisation, a provisioner CA, one FMC leaf per GPU carrying the FWID under
 * 2.23.133.5.4.1), and GPU evidence in Trustee's device_evidence_list form: SPDM 1.1
 * GET_MEASUREMENTS request + MEASUREMENTS response with NVIDIA's opaque data, signed by the
 * GPU's leaf key. Opt-in: only a platform description with an "nvidia" section gets GPUs
 * (docs/emulate.md, docs/nvidia.md). */
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

vt_err emu_nvidia_init(const char *dir, const json_t *nv, vt_time at, vt_error *err)
{
    int gpus = 0;
    VT_GUARD(nv_gpus(nv, &gpus, err));
    const char *arch = NULL;
    VT_GUARD(nv_text(nv, "arch", "HOPPER", &arch, err));
    if (strcmp(arch, "HOPPER") != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "emulate", "nvidia.arch %s: only HOPPER is emulated", arch);
    char path[1200];
    VT_GUARD(emu_path(dir, "trust", "nvidia", path, sizeof path, err));
    if (mkdir(path, 0755) != 0 && !vt_file_exists(path))
        return vt_error_set(err, VT_E_IO, "emulate", "cannot create %s", path);
    EVP_PKEY *rk = NULL, *ik = NULL, *lk = NULL;
    X509 *root = NULL, *ica = NULL, *leaf = NULL;
    vt_buf pem = {0}, chain = {0};
    vt_err rc = VT_OK;
    vt_time nb = at - 86400, na = at + (vt_time)NV_VALIDITY_DAYS * 86400;
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &rk, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &ik, err));
    vt_pki_cert_spec rs = {.subject_cn = "Emulated NVIDIA Device Identity CA", .subject_o = VT_EMU_ORGANIZATION,
                           .not_before = nb, .not_after = na, .ca = true, .path_len = -1};
    VT_GUARD_GOTO(vt_pki_cert(&rs, rk, NULL, rk, &root, err));
    vt_pki_cert_spec is = rs;
    is.subject_cn = "Emulated NVIDIA GH100 Provisioner ICA 1";
    VT_GUARD_GOTO(vt_pki_cert(&is, ik, root, rk, &ica, err));
    VT_GUARD_GOTO(vt_pki_cert_pem(root, &pem, err));
    VT_GUARD_GOTO(emu_write(dir, "trust/nvidia", "nvidia_device_root.pem", pem.ptr, pem.len, false, err));
    /* the CA keys stay with the emulator, as its other TEEs' do: tests issue OCSP responders
     * and CRLs for the device chain with them (docs/nvidia.md, "Revocation") */
    VT_GUARD_GOTO(emu_save_key(dir, "nvidia_root.key.pem", rk, err));
    VT_GUARD_GOTO(emu_save_key(dir, "nvidia_ica.key.pem", ik, err));
    for (int g = 0; g < gpus; g++) {
        char name[64];
        uint8_t ext[50] = {0x04, 48}; /* OCTET STRING (48): the FWID is its last 48 bytes */
        VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &lk, err));
        VT_GUARD_GOTO(nv_fwid(lk, ext + 2, err));
        vt_pki_ext x = {.oid = "2.23.133.5.4.1", .der = ext, .der_len = sizeof ext};
        vt_pki_cert_spec ls = {.subject_cn = "Emulated GH100 A01 GSP FMC LF", .subject_o = VT_EMU_ORGANIZATION,
                               .not_before = nb, .not_after = na, .path_len = -1, .exts = &x, .n_exts = 1};
        VT_GUARD_GOTO(vt_pki_cert(&ls, lk, ica, ik, &leaf, err));
        snprintf(name, sizeof name, "nvidia_gpu%d.key.pem", g);
        VT_GUARD_GOTO(emu_save_key(dir, name, lk, err));
        vt_buf_free(&chain);
        VT_GUARD_GOTO(add_pem(&chain, leaf, err));
        VT_GUARD_GOTO(add_pem(&chain, ica, err));
        VT_GUARD_GOTO(add_pem(&chain, root, err));
        snprintf(name, sizeof name, "nvidia_gpu%d.chain.pem", g);
        VT_GUARD_GOTO(emu_write(dir, "keys", name, chain.ptr, chain.len, false, err));
        EVP_PKEY_free(lk);
        X509_free(leaf);
        lk = NULL;
        leaf = NULL;
    }
out:
    EVP_PKEY_free(rk), EVP_PKEY_free(ik), EVP_PKEY_free(lk);
    X509_free(root), X509_free(ica), X509_free(leaf);
    vt_buf_free(&pem), vt_buf_free(&chain);
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

/* GPU g is listed in nvidia.cc_off: its report names no CC mode (no feature flag), as a GPU
 * outside CC mode (docs/nvidia.md, "CC mode"). */
static vt_err nv_cc_off(const json_t *nv, int g, bool *off, vt_error *err)
{
    vt_json_in in;
    const json_t *list = NULL;
    *off = false;
    VT_GUARD(vt_json_in_init(&in, nv, "nvidia", "emulate", err));
    VT_GUARD(vt_json_get_arr(&in, "cc_off", VT_JSON_OPTIONAL, 0, NV_MAX_GPUS, &list, NULL));
    for (size_t i = 0; list != NULL && i < json_array_size(list); i++) {
        const json_t *x = json_array_get(list, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= NV_MAX_GPUS)
            return vt_error_set(err, VT_E_INVALID, "emulate", "nvidia.cc_off[%zu]: expected a GPU index 0..%d", i,
                                NV_MAX_GPUS - 1);
        if (json_integer_value(x) == g) *off = true;
    }
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

static vt_err nv_report(const json_t *nv, int g, EVP_PKEY *k, const uint8_t nonce[32], vt_buf *out, vt_error *err)
{
    wbuf *o = calloc(1, sizeof *o);
    if (o == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    vt_err rc = VT_OK;
    uint8_t vb[8], fwid[48], rnd[32];
    const char *drv = NULL, *vbios = NULL;
    bool nvdec0 = false, cc_off = false;
    uint8_t feature = 0;
    char dz[64];
    VT_GUARD_GOTO(nv_cc_off(nv, g, &cc_off, err));
    VT_GUARD_GOTO(nv_feature(nv, &feature, err));
    VT_GUARD_GOTO(nv_text(nv, "driver_version", "550.90.07", &drv, err));
    VT_GUARD_GOTO(nv_text(nv, "vbios_version", "96.00.9f.00.01", &vbios, err));
    VT_GUARD_GOTO(nv_flag(nv, "nvdec0_enabled", &nvdec0, err));
    VT_GUARD_GOTO(vbios_bytes(vbios, vb, err));
    VT_GUARD_GOTO(nv_fwid(k, fwid, err));
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
        for (int j = 0; j < 48; j++) v[j] = (uint8_t)(i == 1 || i == NV_BLOCKS ? 0 : i * 7 + j * 3 + g);
        w8(o, (unsigned)i), w8(o, 0x01), w16(o, 51), w8(o, 0x01), w16(o, 48), w(o, v, 48);
    }
    for (int j = 0; j < 32; j++) rnd[j] = (uint8_t)(0xC3 ^ (j * 13) ^ g);
    w(o, rnd, 32);
    size_t l2_at = o->n;
    w16(o, 0);
    uint8_t cnt[NV_BLOCKS * 4] = {0};
    for (int i = 1; i < NV_BLOCKS - 1; i++) cnt[4 * i] = 1;
    uint8_t nvdec = nvdec0 ? 0xAA : 0x55;
    tlv(o, 6, vb, 8);
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
    if (!cc_off) {
        uint8_t ver[4] = {1, 0, 0, 0}, ff[4] = {feature, 0, 0, 0};
        tlv(o, 34, ver, 4);
        tlv(o, 36, ff, 4);
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
        if (rc == VT_OK) rc = nv_report(nv, g, k, nonce, &rep, err);
        char *hex = rc == VT_OK ? vt_hex_dup(rep.ptr, rep.len) : NULL;
        char *b64 = rc == VT_OK ? vt_b64_encode(chain.ptr, chain.len, false) : NULL;
        snprintf(uuid, sizeof uuid, "GPU-emulated-%d", g);
        if (rc == VT_OK && (hex == NULL || b64 == NULL))
            rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        if (rc == VT_OK)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "arch", "HOPPER", "uuid", uuid,
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
