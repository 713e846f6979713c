/* SEV-SNP ID block and ID authentication information structure (SNP ABI spec, SNP_LAUNCH_FINISH
 * Tables "ID_BLOCK" and "ID_AUTH_INFO"; ECDSA P-384 public key and signature formats). */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <string.h>

#include "mhash.h"
#include "veritee/measure.h"

#define ALGO_ECDSA_P384_SHA384 1u
#define CURVE_P384 2u
#define COMPONENT 72u /* each of Qx, Qy, R, S: little-endian, zero-padded to 72 bytes */
#define SIG_LEN 0x200u

static void reverse_into(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[n - 1 - i];
}

static vt_err check_p384(EVP_PKEY *key, const char *role, vt_error *err)
{
    vt_curve c;
    if (key == NULL || vt_ec_curve_of(key, &c, NULL) != VT_OK || c != VT_P384)
        return vt_error_set(err, VT_E_ARG, "id_key", "the %s key must be an EC P-384 key", role);
    return VT_OK;
}

vt_err vt_snp_pubkey_encode(EVP_PKEY *key, uint8_t out[VT_SNP_PUBKEY_LEN], vt_error *err)
{
    VT_GUARD(check_p384(key, "public", err));
    uint8_t xy[96];
    size_t n = 0;
    VT_GUARD(vt_ec_pub_xy(key, xy, sizeof xy, &n, err));
    if (n != 96) return vt_error_set(err, VT_E_INTERNAL, "id_key", "unexpected P-384 point size");
    memset(out, 0, VT_SNP_PUBKEY_LEN);
    vt_put_u32le(out, CURVE_P384);
    reverse_into(out + 4, xy, 48);
    reverse_into(out + 4 + COMPONENT, xy + 48, 48);
    return VT_OK;
}

/* ECDSA P-384 / SHA-384 over msg, written as SNP signature {R, S little-endian, reserved}. */
static vt_err sign_snp(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t out[SIG_LEN],
                       vt_error *err)
{
    uint8_t rs[96];
    size_t len = 0;
    vt_err rc = vt_ecdsa_sign_raw(key, VT_SHA384, msg, n, rs, sizeof rs, &len, err);
    if (rc == VT_OK && len != sizeof rs)
        rc = vt_error_set(err, VT_E_INTERNAL, "id_block_sign", "ID key is not P-384");
    if (rc != VT_OK) {
        if (err != NULL) vt_error_name(err, "id_block_sign");
        return rc;
    }
    memset(out, 0, SIG_LEN);
    reverse_into(out, rs, 48); /* big-endian r, s -> little-endian, zero-padded to COMPONENT */
    reverse_into(out + COMPONENT, rs + 48, 48);
    return VT_OK;
}

vt_err vt_snp_id_block_build(const vt_snp_id_block_in *in, EVP_PKEY *id_key,
                             EVP_PKEY *author_key, vt_snp_id_block_out *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    VT_GUARD(check_p384(id_key, "ID", err));
    if (author_key != NULL) VT_GUARD(check_p384(author_key, "author", err));

    uint8_t *b = out->id_block; /* ID_BLOCK */
    memcpy(b + 0x00, in->ld, 48);
    memcpy(b + 0x30, in->family_id, 16);
    memcpy(b + 0x40, in->image_id, 16);
    vt_put_u32le(b + 0x50, 1); /* VERSION */
    vt_put_u32le(b + 0x54, in->guest_svn);
    vt_put_u64le(b + 0x58, in->policy);

    uint8_t *a = out->id_auth; /* ID_AUTH_INFO */
    vt_put_u32le(a + 0x00, ALGO_ECDSA_P384_SHA384);
    vt_put_u32le(a + 0x04, author_key ? ALGO_ECDSA_P384_SHA384 : 0);
    VT_GUARD(sign_snp(id_key, b, VT_SNP_ID_BLOCK_LEN, a + 0x40, err));
    VT_GUARD(vt_snp_pubkey_encode(id_key, a + 0x240, err));
    VT_GUARD(vt_hash(VT_SHA384, a + 0x240, VT_SNP_PUBKEY_LEN, out->id_key_digest, err));
    if (author_key != NULL) {
        VT_GUARD(sign_snp(author_key, a + 0x240, VT_SNP_PUBKEY_LEN, a + 0x680, err));
        VT_GUARD(vt_snp_pubkey_encode(author_key, a + 0x880, err));
        VT_GUARD(vt_hash(VT_SHA384, a + 0x880, VT_SNP_PUBKEY_LEN, out->author_key_digest, err));
        out->has_author_key = true;
    }
    return VT_OK;
}
