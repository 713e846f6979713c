/* Emulated Arm CCA attestation token (RMM spec 1.0 A7.2 / 2.0 A7.2, draft-ffm-rats-cca-token):
 * platform token signed by the CPAK, realm token signed by the realm's RAK, both COSE_Sign1
 * ES384, in a tag-399 collection {44234: bstr, 44241: bstr} or a tag-907 CMW collection
 * {44234: [263, bstr], 44241: [263, bstr]}. Platform challenge = H(RAK claim bytes). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/cbor.h"
#include "veritee/cca.h"
#include "veritee/cose.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/measure.h"

typedef struct cca_ctx {
    const json_t *cca, *realm, *dflt;
    vt_json_in cca_in, realm_in, dflt_in; /* the same objects, with their JSON paths */
    char realm_name[40];
    vt_cca_profile profile;
    /* strings read once (setup) */
    const char *platform_hash_alg, *realm_hash_alg, *rak_hash_alg, *verification_service;
} cca_ctx;

/* Where a key is read: the realm's overrides, else the cca section, else the built-in default. */
static const vt_json_in *holder(const cca_ctx *c, const char *key)
{
    if (c->realm != NULL && json_object_get(c->realm, key) != NULL) return &c->realm_in;
    if (json_object_get(c->cca, key) != NULL) return &c->cca_in;
    return &c->dflt_in;
}

static const json_t *get(const cca_ctx *c, const char *key) { return json_object_get(holder(c, key)->obj, key); }

/* A string the defaults always carry (so: required), or an optional one ("" when absent). */
static vt_err gstr(const cca_ctx *c, const char *key, vt_json_need need, const char **out)
{
    *out = "";
    return vt_json_get_str(holder(c, key), key, need, out, NULL);
}

static vt_err ghex(const cca_ctx *c, const char *key, uint8_t *out, size_t cap, size_t *len, vt_error *err)
{
    (void)err; /* the holder's error record is err */
    return vt_json_get_hexn(holder(c, key), key, VT_JSON_REQUIRED, out, 0, cap, len, NULL);
}

static vt_err hash_alg(const char *name, const char *key, vt_hash_alg *out, vt_error *err)
{
    if (strcmp(name, "sha-256") == 0) *out = VT_SHA256;
    else if (strcmp(name, "sha-384") == 0) *out = VT_SHA384;
    else if (strcmp(name, "sha-512") == 0) *out = VT_SHA512;
    else return vt_error_set(err, VT_E_INVALID, "emulate", "cca.%s: \"%s\" (sha-256, sha-384, sha-512)", key, name);
    return VT_OK;
}

/* A measurement of exactly the realm hash length. */
static vt_err measurement(const cca_ctx *c, const json_t *v, const char *what, size_t want, vt_cbor_writer *w,
                          vt_error *err)
{
    uint8_t m[64];
    const char *h = json_string_value(v);
    if (h == NULL || strlen(h) != 2 * want || vt_hex_decode_fixed(h, m, want, err) != VT_OK)
        return vt_error_set(err, VT_E_INVALID, "emulate", "cca.%s: expected %zu bytes of hex (the %s length)", what,
                            want, c->realm_hash_alg);
    vt_cbor_put_bstr(w, m, want);
    return VT_OK;
}

static vt_err sw_components(const cca_ctx *c, vt_cbor_writer *w, vt_error *err)
{
    const json_t *a = get(c, "sw_components");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > VT_CCA_SW_MAX)
        return vt_error_set(err, VT_E_INVALID, "emulate", "cca.sw_components: expected 1..%d objects", VT_CCA_SW_MAX);
    vt_cbor_put_array(w, json_array_size(a));
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i);
        uint8_t m[64], sid[64];
        const char *mh = json_string_value(json_object_get(o, "measurement"));
        const char *sh = json_string_value(json_object_get(o, "signer_id"));
        size_t ml = mh ? strlen(mh) / 2 : 0, sl = sh ? strlen(sh) / 2 : 0;
        if (ml == 0 || ml > 64 || sl == 0 || sl > 64 || vt_hex_decode_fixed(mh, m, ml, err) != VT_OK ||
            vt_hex_decode_fixed(sh, sid, sl, err) != VT_OK)
            return vt_error_set(err, VT_E_INVALID, "emulate",
                                "cca.sw_components[%zu]: measurement and signer_id are 1..64 bytes of hex", i);
        const char *type = NULL, *ver = NULL, *alg = NULL;
        vt_json_in in;
        const vt_json_in *h = holder(c, "sw_components");
        VT_GUARD(vt_json_elem_obj(h, "sw_components", a, i, &in));
        VT_GUARD(vt_json_get_str(&in, "type", VT_JSON_OPTIONAL, &type, NULL));
        VT_GUARD(vt_json_get_str(&in, "version", VT_JSON_OPTIONAL, &ver, NULL));
        VT_GUARD(vt_json_get_str(&in, "hash_alg", VT_JSON_OPTIONAL, &alg, NULL));
        vt_cbor_put_map(w, 2 + (type != NULL) + (ver != NULL) + (alg != NULL));
        if (type) {
            vt_cbor_put_uint(w, 1);
            vt_cbor_put_tstr(w, type);
        }
        vt_cbor_put_uint(w, 2);
        vt_cbor_put_bstr(w, m, ml);
        if (ver) {
            vt_cbor_put_uint(w, 4);
            vt_cbor_put_tstr(w, ver);
        }
        vt_cbor_put_uint(w, 5);
        vt_cbor_put_bstr(w, sid, sl);
        if (alg) {
            vt_cbor_put_uint(w, 6);
            vt_cbor_put_tstr(w, alg);
        }
    }
    return VT_OK;
}

static vt_err platform_claims(const cca_ctx *c, EVP_PKEY *cpak, const uint8_t *pch, size_t pch_len, vt_buf *out,
                              vt_error *err)
{
    uint8_t impl[32], inst[33], cfg[256];
    size_t il, cl;
    uint64_t lc;
    VT_GUARD(ghex(c, "implementation_id", impl, sizeof impl, &il, err));
    if (il != 32) return vt_error_set(err, VT_E_INVALID, "emulate", "cca.implementation_id: expected 32 bytes");
    VT_GUARD(ghex(c, "platform_config", cfg, sizeof cfg, &cl, err));
    VT_GUARD(emu_cca_instance_id(cpak, inst, err));
    lc = 0x3000;
    VT_GUARD(vt_json_get_u64(&c->cca_in, "lifecycle", VT_JSON_OPTIONAL, UINT16_MAX, &lc, NULL));
    const char *vsi = c->verification_service;
    const char *profile = c->profile == VT_CCA_PROFILE_SSD ? VT_CCA_PROFILE_PLATFORM_SSD
                          : c->profile == VT_CCA_PROFILE_2_0 ? VT_CCA_PROFILE_PLATFORM_2_0
                                                             : VT_CCA_PROFILE_PLATFORM_1_0;
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 8 + (vsi[0] != '\0'));
    vt_cbor_put_uint(&w, 265);
    vt_cbor_put_tstr(&w, profile);
    vt_cbor_put_uint(&w, 10);
    vt_cbor_put_bstr(&w, pch, pch_len);
    vt_cbor_put_uint(&w, 2396);
    vt_cbor_put_bstr(&w, impl, 32);
    vt_cbor_put_uint(&w, 256);
    vt_cbor_put_bstr(&w, inst, 33);
    vt_cbor_put_uint(&w, 2401);
    vt_cbor_put_bstr(&w, cfg, cl);
    vt_cbor_put_uint(&w, 2395);
    vt_cbor_put_uint(&w, lc);
    vt_cbor_put_uint(&w, 2399);
    vt_err rc = sw_components(c, &w, err);
    if (vsi[0] != '\0') {
        vt_cbor_put_uint(&w, 2400);
        vt_cbor_put_tstr(&w, vsi);
    }
    vt_cbor_put_uint(&w, 2402);
    vt_cbor_put_tstr(&w, c->platform_hash_alg);
    if (rc != VT_OK) {
        vt_cbor_writer_free(&w);
        return rc;
    }
    return vt_cbor_writer_finish(&w, out, err);
}

/* A realm "launch" description: the RIM computed from the realm config and the blobs, exactly
 * as `veritee measure cca` does, instead of a configured "rim" value. */
static vt_err launch_rim(const json_t *launch, vt_hash_alg ha, uint8_t rim[64], vt_error *err)
{
    static const char *const names[3] = {"kernel", "initrd", "dtb"};
    vt_buf data[3] = {{0}, {0}, {0}};
    vt_cca_blob blobs[3];
    size_t nb = 0;
    vt_err rc = VT_OK;
    const json_t *cfg = json_object_get(launch, "realm_config");
    if (!json_is_object(cfg)) return vt_error_set(err, VT_E_INVALID, "emulate", "cca.launch.realm_config: expected an object");
    for (int i = 0; i < 3 && rc == VT_OK; i++) {
        const char *path = json_string_value(json_object_get(launch, names[i]));
        if (path == NULL) continue;
        rc = vt_file_read(path, 256u << 20, &data[i], err);
        if (rc == VT_OK) blobs[nb++] = (vt_cca_blob){.name = names[i], .path = path, .data = data[i].ptr, .len = data[i].len};
    }
    vt_cca_rim st;
    if (rc == VT_OK) rc = vt_cca_rim_from_config(cfg, blobs, nb, &st, NULL, err);
    if (rc == VT_OK && st.alg != ha)
        rc = vt_error_set(err, VT_E_INVALID, "emulate", "cca.launch: realm config hash_algo %s differs from realm_hash_alg",
                          vt_hash_name(st.alg));
    if (rc == VT_OK) memcpy(rim, st.rim, 64);
    else vt_error_wrap(err, "cca.launch");
    for (int i = 0; i < 3; i++) vt_buf_free(&data[i]);
    return rc;
}

static vt_err realm_claims(const cca_ctx *c, const uint8_t challenge[64], const vt_buf *rak, vt_buf *out,
                           vt_error *err)
{
    vt_hash_alg ha;
    VT_GUARD(hash_alg(c->realm_hash_alg, "realm_hash_alg", &ha, err));
    uint8_t rpv[64], inst[33];
    size_t rl;
    VT_GUARD(ghex(c, "rpv", rpv, sizeof rpv, &rl, err));
    if (rl != 64) return vt_error_set(err, VT_E_INVALID, "emulate", "cca.rpv: expected 64 bytes of hex");
    const json_t *rem = get(c, "rem");
    if (!json_is_array(rem) || json_array_size(rem) != 4)
        return vt_error_set(err, VT_E_INVALID, "emulate", "cca.rem: expected 4 hex strings");
    bool rmm2 = c->profile == VT_CCA_PROFILE_2_0;
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 7 + (c->profile != VT_CCA_PROFILE_SSD) + (rmm2 ? 2 : 0));
    vt_cbor_put_uint(&w, 10);
    vt_cbor_put_bstr(&w, challenge, 64);
    if (c->profile != VT_CCA_PROFILE_SSD) {
        vt_cbor_put_uint(&w, 265);
        vt_cbor_put_tstr(&w, rmm2 ? VT_CCA_PROFILE_REALM_2_0 : VT_CCA_PROFILE_REALM_1_0);
    }
    vt_cbor_put_uint(&w, 44235);
    vt_cbor_put_bstr(&w, rpv, 64);
    vt_cbor_put_uint(&w, 44236);
    vt_cbor_put_tstr(&w, c->realm_hash_alg);
    vt_cbor_put_uint(&w, 44237);
    vt_cbor_put_bstr(&w, rak->ptr, rak->len);
    vt_cbor_put_uint(&w, 44238);
    vt_err rc = VT_OK;
    const json_t *launch = get(c, "launch");
    if (launch != NULL) {
        uint8_t rim[64];
        rc = launch_rim(launch, ha, rim, err);
        vt_cbor_put_bstr(&w, rim, vt_hash_len(ha));
    } else {
        rc = measurement(c, get(c, "rim"), "rim", vt_hash_len(ha), &w, err);
    }
    vt_cbor_put_uint(&w, 44239);
    vt_cbor_put_array(&w, 4);
    for (size_t i = 0; i < 4 && rc == VT_OK; i++) rc = measurement(c, json_array_get(rem, i), "rem", vt_hash_len(ha), &w, err);
    vt_cbor_put_uint(&w, 44240);
    vt_cbor_put_tstr(&w, c->rak_hash_alg);
    if (rmm2 && rc == VT_OK) {
        inst[0] = 0x01; /* RMM 2.0 realm instance id: a random UEID; here derived from the RAK */
        rc = vt_hash(VT_SHA256, rak->ptr, rak->len, inst + 1, err);
        vt_cbor_put_uint(&w, 256);
        vt_cbor_put_bstr(&w, inst, 33);
        vt_cbor_put_uint(&w, 44243);
        vt_cbor_put_uint(&w, 0); /* MEC policy: shared */
    }
    if (rc != VT_OK) {
        vt_cbor_writer_free(&w);
        return rc;
    }
    return vt_cbor_writer_finish(&w, out, err);
}

/* The realm's RAK: made on the realm's first token, as the RMM makes one per realm. */
static vt_err realm_key(const char *dir, const char *realm, EVP_PKEY **out, vt_error *err)
{
    char name[64], path[1200];
    snprintf(name, sizeof name, "cca_rak_%s.key.pem", realm);
    VT_GUARD(emu_path(dir, "keys", name, path, sizeof path, err));
    if (vt_file_exists(path)) return emu_load_key(dir, name, out, err);
    VT_GUARD(vt_pki_ec_key(VT_P384, out, err));
    vt_err rc = emu_save_key(dir, name, *out, err);
    if (rc != VT_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The RAK claim: a COSE_Key with a profile, the raw SEC1 point in pre-profile (SSD) tokens. */
static vt_err rak_claim(EVP_PKEY *rak, vt_cca_profile p, vt_buf *out, vt_error *err)
{
    if (p != VT_CCA_PROFILE_SSD) return vt_cose_key_encode(rak, out, err);
    uint8_t pt[97];
    size_t n;
    pt[0] = 0x04;
    VT_GUARD(vt_ec_pub_xy(rak, pt + 1, sizeof pt - 1, &n, err));
    return vt_buf_set(out, pt, n + 1, err);
}

static vt_err setup(vt_emu *e, const vt_emu_cca_opts *o, cca_ctx *c, int *tag, vt_error *err)
{
    c->cca = json_object_get(e->platform, "cca");
    if (c->cca == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the emulated platform has no CCA section");
    const char *realm = o && o->realm ? o->realm : "realm0";
    size_t n = strlen(realm);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)realm[i]) && realm[i] != '-' && realm[i] != '_') n = 0;
    if (n == 0 || n > 32)
        return vt_error_set(err, VT_E_ARG, "emulate", "realm name: 1..32 letters, digits, '-' or '_'");
    snprintf(c->realm_name, sizeof c->realm_name, "%s", realm);
    VT_GUARD(vt_json_in_init(&c->cca_in, c->cca, "cca", "emulate", err));
    VT_GUARD(vt_json_in_init(&c->dflt_in, c->dflt, "cca", "emulate", err));
    vt_json_in realms;
    bool given;
    VT_GUARD(vt_json_get_obj(&c->cca_in, "realms", VT_JSON_OPTIONAL, &realms, &given));
    if (given) VT_GUARD(vt_json_get_obj(&realms, realm, VT_JSON_OPTIONAL, &c->realm_in, &given));
    c->realm = given ? c->realm_in.obj : NULL;
    const char *p = "1.0";
    VT_GUARD(vt_json_get_str(&c->cca_in, "profile", VT_JSON_OPTIONAL, &p, NULL));
    if (strcmp(p, "1.0") == 0) c->profile = VT_CCA_PROFILE_1_0;
    else if (strcmp(p, "2.0") == 0) c->profile = VT_CCA_PROFILE_2_0;
    else if (strcmp(p, "ssd") == 0) c->profile = VT_CCA_PROFILE_SSD;
    else return vt_error_set(err, VT_E_INVALID, "emulate", "cca.profile: \"1.0\", \"2.0\" or \"ssd\"");
    int64_t t = VT_CCA_TAG_COLLECTION;
    if (o && o->tag) t = o->tag;
    else VT_GUARD(vt_json_get_int(&c->cca_in, "token_tag", VT_JSON_OPTIONAL, INT32_MIN, INT32_MAX, &t, NULL));
    *tag = (int)t;
    VT_GUARD(gstr(c, "platform_hash_alg", VT_JSON_REQUIRED, &c->platform_hash_alg));
    VT_GUARD(gstr(c, "realm_hash_alg", VT_JSON_REQUIRED, &c->realm_hash_alg));
    VT_GUARD(gstr(c, "rak_hash_alg", VT_JSON_REQUIRED, &c->rak_hash_alg));
    VT_GUARD(gstr(c, "verification_service", VT_JSON_OPTIONAL, &c->verification_service));
    if (*tag != VT_CCA_TAG_COLLECTION && *tag != VT_CCA_TAG_CMW)
        return vt_error_set(err, VT_E_ARG, "emulate", "CCA token tag %d (399 or 907)", *tag);
    return VT_OK;
}

static vt_err collection(int tag, const vt_buf *ps, const vt_buf *rs, vt_buf *out, vt_error *err)
{
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_tag(&w, (uint64_t)tag);
    vt_cbor_put_map(&w, 2);
    const vt_buf *parts[2] = {ps, rs};
    for (int i = 0; i < 2; i++) {
        vt_cbor_put_uint(&w, i == 0 ? VT_CCA_KEY_PLATFORM : VT_CCA_KEY_REALM);
        if (tag == VT_CCA_TAG_CMW) {
            vt_cbor_put_array(&w, 2);
            vt_cbor_put_uint(&w, 263); /* application/eat+cwt */
        }
        vt_cbor_put_bstr(&w, parts[i]->ptr, parts[i]->len);
    }
    return vt_cbor_writer_finish(&w, out, err);
}

vt_err vt_emu_cca_token(vt_emu *e, const uint8_t challenge[64], const vt_emu_cca_opts *o, vt_buf *out,
                        vt_error *err)
{
    cca_ctx c;
    memset(&c, 0, sizeof c);
    int tag = 0;
    c.dflt = emu_cca_default();
    EVP_PKEY *cpak = NULL, *rak = NULL;
    vt_buf rakc = {0}, pc = {0}, rc_ = {0}, ps = {0}, rs = {0};
    vt_err rc = setup(e, o, &c, &tag, err);
    if (rc != VT_OK) goto out;
    vt_hash_alg rha;
    uint8_t pch[64];
    VT_GUARD_GOTO(hash_alg(c.rak_hash_alg, "rak_hash_alg", &rha, err));
    VT_GUARD_GOTO(emu_load_key(e->dir, "cca_cpak.key.pem", &cpak, err));
    VT_GUARD_GOTO(realm_key(e->dir, c.realm_name, &rak, err));
    VT_GUARD_GOTO(rak_claim(rak, c.profile, &rakc, err));
    VT_GUARD_GOTO(vt_hash(rha, rakc.ptr, rakc.len, pch, err));
    VT_GUARD_GOTO(realm_claims(&c, challenge, &rakc, &rc_, err));
    VT_GUARD_GOTO(platform_claims(&c, cpak, pch, vt_hash_len(rha), &pc, err));
    vt_cose_sign_opts so = {.alg = VT_COSE_ALG_ES384};
    VT_GUARD_GOTO(vt_cose_sign1_sign(cpak, &so, pc.ptr, pc.len, &ps, err));
    VT_GUARD_GOTO(vt_cose_sign1_sign(rak, &so, rc_.ptr, rc_.len, &rs, err));
    rc = collection(tag, &ps, &rs, out, err);
out:
    json_decref((json_t *)c.dflt);
    EVP_PKEY_free(cpak);
    EVP_PKEY_free(rak);
    vt_buf_free(&rakc);
    vt_buf_free(&pc);
    vt_buf_free(&rc_);
    vt_buf_free(&ps);
    vt_buf_free(&rs);
    return rc;
}
