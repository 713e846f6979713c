/* Emulated Arm CCA platform: the CPAK (platform attestation key, P-384) and its trust-anchor
 * entry in the rust-ccatoken store form vt_cca_trust_load_dir reads, bound to the platform's
 * implementation and instance ids (docs/emulate.md). Tokens: emu_cca_token.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/json.h"

static json_t *pattern(uint8_t seed, size_t n) { return emu_pattern_json(seed, 11, n); }

static json_t *sw(const char *type, uint8_t seed, const char *version)
{
    return json_pack("{s:s, s:o, s:s, s:o, s:s}", "type", type, "measurement", pattern(seed, 32), "version", version,
                     "signer_id", pattern((uint8_t)(seed ^ 0x5a), 32), "hash_alg", "sha-256");
}

json_t *emu_cca_default(void)
{
    json_t *c = json_object();
    json_object_set_new(c, "profile", json_string("1.0"));
    json_object_set_new(c, "token_tag", json_integer(399));
    json_object_set_new(c, "implementation_id", pattern(0x7f, 32));
    json_object_set_new(c, "platform_config", json_string("cfe7a1b3"));
    json_object_set_new(c, "lifecycle", json_string("0x3000"));
    json_object_set_new(c, "platform_hash_alg", json_string("sha-256"));
    json_object_set_new(c, "verification_service", json_string("https://veraison.example/.well-known/veraison"));
    json_t *a = json_array();
    json_array_append_new(a, sw("BL", 0x10, "2.12.0"));
    json_array_append_new(a, sw("PRoT", 0x20, "1.0.0"));
    json_array_append_new(a, sw("ARoT", 0x30, "1.0.0"));
    json_array_append_new(a, sw("RMM", 0x40, "0.6.0"));
    json_object_set_new(c, "sw_components", a);
    json_object_set_new(c, "realm_hash_alg", json_string("sha-256"));
    json_object_set_new(c, "rak_hash_alg", json_string("sha-256"));
    json_object_set_new(c, "rim", pattern(0xa1, 32));
    json_t *r = json_array();
    for (int i = 0; i < 4; i++) json_array_append_new(r, pattern((uint8_t)(0xb0 + 16 * i), 32));
    json_object_set_new(c, "rem", r);
    json_object_set_new(c, "rpv", pattern(0x00, 64));
    json_object_set_new(c, "realms", json_object());
    return c;
}

vt_err emu_cca_instance_id(EVP_PKEY *cpak, uint8_t out[33], vt_error *err)
{
    uint8_t pt[97];
    size_t n;
    pt[0] = 0x04;
    VT_GUARD(vt_ec_pub_xy(cpak, pt + 1, sizeof pt - 1, &n, err));
    out[0] = 0x01; /* random-type UEID: 0x01 || SHA-256(public key), as TF-M derives it */
    return vt_hash(VT_SHA256, pt, n + 1, out + 1, err);
}

/* The CPAK as a JWK (RFC 7518 6.2.1). */
static json_t *jwk(EVP_PKEY *k, vt_error *err)
{
    uint8_t xy[96];
    size_t n;
    if (vt_ec_pub_xy(k, xy, sizeof xy, &n, err) != VT_OK || n != 96) return NULL;
    char *x = vt_b64_encode(xy, 48, true), *y = vt_b64_encode(xy + 48, 48, true);
    json_t *j = x && y ? json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-384", "x", x, "y", y) : NULL;
    free(x);
    free(y);
    return j;
}

vt_err emu_cca_init(const char *dir, const json_t *c, vt_time at, vt_error *err)
{
    (void)at; /* a CPAK has no validity window: it is endorsed by the trust store */
    uint8_t impl[32], inst[33];
    json_t *d = emu_cca_default();
    vt_err rc = vt_json_hex(d, "implementation_id", "cca", impl, 32, err);
    json_decref(d);
    VT_GUARD(rc);
    vt_json_in in;
    VT_GUARD(vt_json_in_init(&in, c, "cca", "emulate", err));
    VT_GUARD(vt_json_get_hex(&in, "implementation_id", VT_JSON_OPTIONAL, impl, 32, NULL));
    EVP_PKEY *k = NULL;
    vt_buf pem = {0};
    json_t *store = NULL;
    char *text = NULL;
    VT_GUARD(vt_pki_ec_key(VT_P384, &k, err));
    VT_GUARD_GOTO(emu_cca_instance_id(k, inst, err));
    VT_GUARD_GOTO(emu_save_key(dir, "cca_cpak.key.pem", k, err));
    json_t *pkey = jwk(k, err);
    if (pkey == NULL) {
        rc = vt_error_set(err, VT_E_INTERNAL, "emulate", "cannot express the CPAK as a JWK");
        goto out;
    }
    /* "emulated": the verifier flags tokens endorsed by this entry as test evidence */
    store = json_pack("[{s:o, s:o, s:o, s:b}]", "implementation-id", vt_json_hex_string(impl, 32), "instance-id",
                      vt_json_hex_string(inst, 33), "pkey", pkey, "emulated", 1);
    text = store ? json_dumps(store, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        goto out;
    }
    VT_GUARD_GOTO(emu_write(dir, "trust", "cca_cpak.json", text, strlen(text), false, err));
    /* The same key as a PEM SubjectPublicKeyInfo (`verify --cpak`); not in trust/ or collateral/,
     * whose certificate loaders would take a PUBLIC KEY block for a malformed certificate */
    VT_GUARD_GOTO(vt_pki_key_pem(k, false, &pem, err));
    VT_GUARD_GOTO(emu_write(dir, "keys", "cca_cpak.pub.pem", pem.ptr, pem.len, false, err));
out:
    free(text);
    json_decref(store);
    vt_buf_free(&pem);
    EVP_PKEY_free(k);
    return rc;
}
