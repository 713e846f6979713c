/* CCA realm and platform claim sets (RMM spec 1.0 A7.2.3.1-2, RMM 2.0 A7.2.3.1 and A7.2.3.3,
 * draft-ffm-rats-cca-token; the CCA-SSD draft profile for tokens without a realm profile). */
#include <string.h>

#include "veritee/cca.h"

/* Claim labels. */
enum {
    CHALLENGE = 10,
    UEID = 256,
    PROFILE = 265,
    P_CLIENT_ID = 2394,
    P_LIFECYCLE = 2395,
    P_IMPL_ID = 2396,
    P_SW_COMPONENTS = 2399,
    P_VERIFICATION_SERVICE = 2400,
    P_CONFIG = 2401,
    P_HASH_ALG = 2402,
    P_MANUFACTURING_CONFIG = 2403,
    P_EXTENSION = 2404,
    P_TBB_ROTPK = 2405,
    P_PEER_SIGNERS = 2406,
    R_RPV = 44235,
    R_HASH_ALG = 44236,
    R_RAK = 44237,
    R_RIM = 44238,
    R_REMS = 44239,
    R_RAK_HASH_ALG = 44240,
    R_MEC_POLICY = 44243,
    R_LFA_POLICY = 44244,
    R_DEVICES_TOKEN_HASH = 44257,
};

#define bad(err, ...) vt_error_set(err, VT_E_INVALID, "cca_claims", __VA_ARGS__)

static bool hash_size(size_t n) { return n == 32 || n == 48 || n == 64; }

static vt_err bstr_hash(vt_cbor *c, const char *field, vt_bytes *out, vt_error *err)
{
    VT_GUARD(vt_cbor_read_bstr(c, field, out));
    if (!hash_size(out->len)) return bad(err, "%s is %zu bytes, expected 32, 48 or 64", field, out->len);
    return VT_OK;
}

static vt_err bstr_exact(vt_cbor *c, const char *field, size_t want, vt_bytes *out, vt_error *err)
{
    VT_GUARD(vt_cbor_read_bstr(c, field, out));
    if (out->len != want)
        return vt_error_set(err, VT_E_INVALID, "cca_claims", "%s is %zu bytes, expected %zu",
                            field, out->len, want);
    return VT_OK;
}

static vt_err ueid(vt_cbor *c, const char *field, vt_bytes *out, vt_error *err)
{
    VT_GUARD(bstr_exact(c, field, 33, out, err));
    if (out->ptr[0] != 0x01)
        return vt_error_set(err, VT_E_INVALID, "cca_claims",
                            "%s must start with 0x01 (random UEID), found 0x%02x", field, out->ptr[0]);
    return VT_OK;
}

static vt_err small_enum(vt_cbor *c, const char *field, uint64_t max, uint64_t *out, vt_error *err)
{
    VT_GUARD(vt_cbor_read_uint(c, field, out));
    if (*out > max)
        return vt_error_set(err, VT_E_INVALID, "cca_claims", "%s is %llu, at most %llu allowed",
                            field, (unsigned long long)*out, (unsigned long long)max);
    return VT_OK;
}

/* Each claim may appear once (the CBOR layer already refuses duplicate keys). */
static vt_err missing(unsigned seen, unsigned bit, const char *name, vt_error *err)
{
    if (seen & bit) return VT_OK;
    return vt_error_set(err, VT_E_INVALID, "cca_claims", "mandatory claim %s is missing", name);
}

/* ---- realm ---- */

static vt_err realm_rak(vt_cca_realm_claims *r, vt_error *err)
{
    if (r->has_profile) { /* profiles 1.0 and 2.0: bstr .cbor COSE_Key */
        r->rak_is_cose_key = true;
        if (vt_cose_key_decode(r->rak.ptr, r->rak.len, &r->rak_key, err) != VT_OK)
            return vt_error_wrap(err, "realm public key (44237)");
        return VT_OK;
    }
    /* CCA-SSD: a SEC1 uncompressed point */
    size_t fl = r->rak.len == 65 ? 32 : r->rak.len == 97 ? 48 : r->rak.len == 133 ? 66 : 0;
    if (fl == 0 || r->rak.ptr[0] != 0x04)
        return vt_error_set(err, VT_E_INVALID, "cca_claims",
                            "realm public key (44237) is not an uncompressed EC point "
                            "(%zu bytes; a token without a realm profile carries a raw point)",
                            r->rak.len);
    r->rak_key.curve = fl == 32 ? VT_P256 : fl == 48 ? VT_P384 : VT_P521;
    r->rak_key.x = (vt_bytes){r->rak.ptr + 1, fl};
    r->rak_key.y = (vt_bytes){r->rak.ptr + 1 + fl, fl};
    return VT_OK;
}

static vt_err realm_rems(vt_cbor *c, vt_cca_realm_claims *r, vt_error *err)
{
    size_t n;
    VT_GUARD(vt_cbor_read_array(c, "REMs (44239)", &n));
    if (n != 4) return bad(err, "%s has %zu entries, expected 4", "REMs (44239)", n);
    static const char *const names[4] = {"REM0", "REM1", "REM2", "REM3"};
    for (size_t i = 0; i < 4; i++) VT_GUARD(bstr_hash(c, names[i], &r->rem[i], err));
    return VT_OK;
}

static vt_err realm_claim(vt_cbor *c, int64_t key, vt_cca_realm_claims *r, unsigned *seen,
                          vt_error *err)
{
    switch (key) {
    case CHALLENGE: *seen |= 1; return bstr_exact(c, "realm challenge (10)", 64, &r->challenge, err);
    case R_RPV: *seen |= 2; return bstr_exact(c, "personalization value (44235)", 64, &r->personalization, err);
    case R_HASH_ALG: *seen |= 4; return vt_cbor_read_tstr(c, "realm hash algorithm (44236)", &r->hash_alg_id);
    case R_RAK: *seen |= 8; return vt_cbor_read_bstr(c, "realm public key (44237)", &r->rak);
    case R_RIM: *seen |= 16; return bstr_hash(c, "RIM (44238)", &r->rim, err);
    case R_REMS: *seen |= 32; return realm_rems(c, r, err);
    case R_RAK_HASH_ALG: *seen |= 64; return vt_cbor_read_tstr(c, "RAK hash algorithm (44240)", &r->rak_hash_alg_id);
    case PROFILE: r->has_profile = true; return vt_cbor_read_tstr(c, "realm profile (265)", &r->profile);
    case UEID: r->has_instance_id = true; return ueid(c, "realm instance id (256)", &r->instance_id, err);
    case R_MEC_POLICY: r->has_mec_policy = true; return small_enum(c, "MEC policy (44243)", 1, &r->mec_policy, err);
    case R_LFA_POLICY: r->has_lfa_policy = true; return small_enum(c, "LFA policy (44244)", 1, &r->lfa_policy, err);
    case R_DEVICES_TOKEN_HASH:
        r->has_devices_token_hash = true;
        return bstr_hash(c, "devices token hash (44257)", &r->devices_token_hash, err);
    default: return vt_cbor_skip(c, "unknown realm claim", NULL); /* EAT: ignore unknown claims */
    }
}

static vt_cca_profile profile_of(vt_bytes p, const char *v1, const char *v2, const char *ssd)
{
    if (p.len == strlen(v1) && memcmp(p.ptr, v1, p.len) == 0) return VT_CCA_PROFILE_1_0;
    if (p.len == strlen(v2) && memcmp(p.ptr, v2, p.len) == 0) return VT_CCA_PROFILE_2_0;
    if (ssd != NULL && p.len == strlen(ssd) && memcmp(p.ptr, ssd, p.len) == 0)
        return VT_CCA_PROFILE_SSD;
    return VT_CCA_PROFILE_UNKNOWN;
}

static vt_err read_key(vt_cbor *c, const char *what, int64_t *key, bool *is_int)
{
    vt_cbor_head h;
    VT_GUARD(vt_cbor_peek(c, &h));
    *is_int = h.major == VT_CBOR_UINT || h.major == VT_CBOR_NINT;
    if (*is_int) return vt_cbor_read_int(c, what, key);
    return vt_cbor_skip(c, what, NULL);
}

vt_err vt_cca_realm_claims_parse(vt_bytes payload, vt_cca_realm_claims *r, vt_error *err)
{
    memset(r, 0, sizeof *r);
    vt_cbor c;
    size_t n;
    unsigned seen = 0;
    vt_cbor_init(&c, payload.ptr, payload.len, NULL, "realm claims", err);
    VT_GUARD(vt_cbor_read_map(&c, "realm claims", &n));
    for (size_t i = 0; i < n; i++) {
        int64_t key = 0;
        bool is_int;
        VT_GUARD(read_key(&c, "realm claim key", &key, &is_int));
        if (!is_int) VT_GUARD(vt_cbor_skip(&c, "realm claim", NULL));
        else VT_GUARD(realm_claim(&c, key, r, &seen, err));
    }
    VT_GUARD(vt_cbor_expect_end(&c));
    VT_GUARD(missing(seen, 1, "realm challenge (10)", err));
    VT_GUARD(missing(seen, 2, "personalization value (44235)", err));
    VT_GUARD(missing(seen, 4, "realm hash algorithm (44236)", err));
    VT_GUARD(missing(seen, 8, "realm public key (44237)", err));
    VT_GUARD(missing(seen, 16, "RIM (44238)", err));
    VT_GUARD(missing(seen, 32, "REMs (44239)", err));
    VT_GUARD(missing(seen, 64, "RAK hash algorithm (44240)", err));
    r->profile_id = r->has_profile ? profile_of(r->profile, VT_CCA_PROFILE_REALM_1_0,
                                                VT_CCA_PROFILE_REALM_2_0, NULL)
                                   : VT_CCA_PROFILE_SSD;
    if (r->profile_id == VT_CCA_PROFILE_2_0) { /* RMM 2.0 A7.2.3.1: both mandatory */
        if (!r->has_instance_id)
            return vt_error_set(err, VT_E_INVALID, "cca_claims",
                                "mandatory claim realm instance id (256) is missing (profile 2.0)");
        if (!r->has_mec_policy)
            return vt_error_set(err, VT_E_INVALID, "cca_claims",
                                "mandatory claim MEC policy (44243) is missing (profile 2.0)");
    }
    return realm_rak(r, err);
}

/* ---- platform ---- */

static vt_err sw_component(vt_cbor *c, vt_cca_sw_component *s, vt_error *err)
{
    size_t n;
    unsigned seen = 0;
    VT_GUARD(vt_cbor_read_map(c, "software component", &n));
    for (size_t i = 0; i < n; i++) {
        int64_t key = 0;
        bool is_int;
        VT_GUARD(read_key(c, "software component key", &key, &is_int));
        if (!is_int) { VT_GUARD(vt_cbor_skip(c, "software component", NULL)); continue; }
        switch (key) {
        case 1: s->has_type = true; VT_GUARD(vt_cbor_read_tstr(c, "component type (1)", &s->type)); break;
        case 2:
            seen |= 1;
            VT_GUARD(vt_cbor_read_bstr(c, "measurement value (2)", &s->measurement));
            if (s->measurement.len == 0 || s->measurement.len > 64)
                return bad(err, "%s is %zu bytes (1..64)", "measurement value (2)", s->measurement.len);
            break;
        case 4: s->has_version = true; VT_GUARD(vt_cbor_read_tstr(c, "version (4)", &s->version)); break;
        case 5:
            seen |= 2;
            VT_GUARD(vt_cbor_read_bstr(c, "signer id (5)", &s->signer_id));
            if (s->signer_id.len == 0 || s->signer_id.len > 64)
                return bad(err, "%s is %zu bytes (1..64)", "signer id (5)", s->signer_id.len);
            break;
        case 6: s->has_description = true; VT_GUARD(vt_cbor_read_tstr(c, "measurement description (6)", &s->description)); break;
        default: VT_GUARD(vt_cbor_skip(c, "software component", NULL)); break;
        }
    }
    VT_GUARD(missing(seen, 1, "software component measurement value (2)", err));
    return missing(seen, 2, "software component signer id (5)", err);
}

static vt_err sw_components(vt_cbor *c, vt_cca_platform_claims *p, vt_error *err)
{
    size_t n;
    VT_GUARD(vt_cbor_read_array(c, "software components (2399)", &n));
    if (n == 0) return bad(err, "%s is empty (%zu entries)", "software components (2399)", n);
    if (n > VT_CCA_SW_MAX)
        return vt_error_set(err, VT_E_UNSUPPORTED, "cca_claims",
                            "%zu software components (at most %d supported)", n, VT_CCA_SW_MAX);
    for (size_t i = 0; i < n; i++) {
        vt_err rc = sw_component(c, &p->sw[i], err);
        if (rc != VT_OK) return vt_error_wrap(err, "software component %zu", i);
    }
    p->n_sw = n;
    return VT_OK;
}

static vt_err platform_claim(vt_cbor *c, int64_t key, vt_cca_platform_claims *p, unsigned *seen,
                             vt_error *err)
{
    switch (key) {
    case PROFILE: *seen |= 1; return vt_cbor_read_tstr(c, "platform profile (265)", &p->profile);
    case CHALLENGE: *seen |= 2; return bstr_hash(c, "platform challenge (10)", &p->challenge, err);
    case P_IMPL_ID: *seen |= 4; return bstr_exact(c, "implementation id (2396)", 32, &p->implementation_id, err);
    case UEID: *seen |= 8; return ueid(c, "instance id (256)", &p->instance_id, err);
    case P_CONFIG: *seen |= 16; return vt_cbor_read_bstr(c, "platform config (2401)", &p->config);
    case P_LIFECYCLE: *seen |= 32; return small_enum(c, "security lifecycle (2395)", 0xffff, &p->lifecycle, err);
    case P_SW_COMPONENTS: *seen |= 64; return sw_components(c, p, err);
    case P_HASH_ALG: *seen |= 128; return vt_cbor_read_tstr(c, "platform hash algorithm (2402)", &p->hash_alg_id);
    case P_VERIFICATION_SERVICE:
        p->has_verification_service = true;
        return vt_cbor_read_tstr(c, "verification service (2400)", &p->verification_service);
    case P_CLIENT_ID: p->has_client_id = true; return vt_cbor_read_int(c, "client id (2394)", &p->client_id);
    case P_MANUFACTURING_CONFIG:
        return vt_cbor_read_bstr(c, "manufacturing config (2403)", &p->manufacturing_config);
    case P_EXTENSION: return vt_cbor_skip(c, "platform extension (2404)", &p->extension);
    case P_TBB_ROTPK: return vt_cbor_skip(c, "TBB RoTPK (2405)", &p->tbb_rotpk);
    case P_PEER_SIGNERS: return vt_cbor_skip(c, "peer signers (2406)", &p->peer_signers);
    default: return vt_cbor_skip(c, "unknown platform claim", NULL);
    }
}

vt_err vt_cca_platform_claims_parse(vt_bytes payload, vt_cca_platform_claims *p, vt_error *err)
{
    memset(p, 0, sizeof *p);
    vt_cbor c;
    size_t n;
    unsigned seen = 0;
    vt_cbor_init(&c, payload.ptr, payload.len, NULL, "platform claims", err);
    VT_GUARD(vt_cbor_read_map(&c, "platform claims", &n));
    for (size_t i = 0; i < n; i++) {
        int64_t key = 0;
        bool is_int;
        VT_GUARD(read_key(&c, "platform claim key", &key, &is_int));
        if (!is_int) VT_GUARD(vt_cbor_skip(&c, "platform claim", NULL));
        else VT_GUARD(platform_claim(&c, key, p, &seen, err));
    }
    VT_GUARD(vt_cbor_expect_end(&c));
    VT_GUARD(missing(seen, 1, "platform profile (265)", err));
    VT_GUARD(missing(seen, 2, "platform challenge (10)", err));
    VT_GUARD(missing(seen, 4, "implementation id (2396)", err));
    VT_GUARD(missing(seen, 8, "instance id (256)", err));
    VT_GUARD(missing(seen, 16, "platform config (2401)", err));
    VT_GUARD(missing(seen, 32, "security lifecycle (2395)", err));
    VT_GUARD(missing(seen, 64, "software components (2399)", err));
    VT_GUARD(missing(seen, 128, "platform hash algorithm (2402)", err));
    p->profile_id = profile_of(p->profile, VT_CCA_PROFILE_PLATFORM_1_0, VT_CCA_PROFILE_PLATFORM_2_0,
                               VT_CCA_PROFILE_PLATFORM_SSD);
    return VT_OK;
}

/* ---- small helpers shared with verify and json ---- */

const char *vt_cca_profile_name(vt_cca_profile p)
{
    switch (p) {
    case VT_CCA_PROFILE_SSD: return "cca-ssd";
    case VT_CCA_PROFILE_1_0: return "1.0";
    case VT_CCA_PROFILE_2_0: return "2.0";
    default: return "unknown";
    }
}

vt_err vt_cca_hash_alg(vt_bytes id, vt_hash_alg *out, vt_error *err)
{
    static const struct { const char *name; vt_hash_alg alg; } algs[] = {
        {"sha-256", VT_SHA256}, {"sha-384", VT_SHA384}, {"sha-512", VT_SHA512}};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (id.len == strlen(algs[i].name) && memcmp(id.ptr, algs[i].name, id.len) == 0) {
            *out = algs[i].alg;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_UNSUPPORTED, "hash_alg",
                        "hash algorithm '%.*s' is not supported (sha-256, sha-384, sha-512)",
                        (int)(id.len > 32 ? 32 : id.len), id.len ? (const char *)id.ptr : "");
}

bool vt_cca_lifecycle_secured(uint64_t lc) { return lc >= 0x3000 && lc <= 0x30ff; }

const char *vt_cca_lifecycle_name(uint64_t lc)
{
    switch (lc >> 8) {
    case 0x00: return "unknown";
    case 0x10: return "assembly_and_test";
    case 0x20: return "cca_platform_rot_provisioning";
    case 0x30: return "secured";
    case 0x40: return "non_cca_platform_debug";
    case 0x50: return "recoverable_cca_platform_debug";
    case 0x60: return "decommissioned";
    default: return "invalid";
    }
}
