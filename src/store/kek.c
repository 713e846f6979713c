/* Key-encryption key for resource values at rest: AES-256-GCM (OpenSSL EVP), a fresh
 * 96-bit nonce per record, AAD = "veritee-resource-v1" NUL path NUL u64be(version). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/writer.h"

struct vt_kek {
    uint8_t key[VT_KEK_LEN];
    uint8_t id[VT_KEK_ID_LEN];
};

/* Sealed blob: "VTK1" || kek id (8) || nonce (12) || ciphertext || tag (16). */
#define SEAL_MAGIC "VTK1"
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_HDR (4 + VT_KEK_ID_LEN + SEAL_NONCE)

vt_err vt_kek_from_bytes(const uint8_t *key, size_t len, vt_kek **out, vt_error *err)
{
    if (len != VT_KEK_LEN)
        return vt_error_set(err, VT_E_ARG, "kek", "key-encryption key must be %d bytes, got %zu",
                            VT_KEK_LEN, len);
    vt_kek *k = calloc(1, sizeof *k);
    if (k == NULL) return vt_error_set(err, VT_E_NOMEM, "kek", "out of memory");
    memcpy(k->key, key, VT_KEK_LEN);
    uint8_t d[32];
    vt_err rc = vt_hash2(VT_SHA256, "veritee-kek-id", 14, k->key, VT_KEK_LEN, d, err);
    if (rc != VT_OK) {
        vt_kek_free(k);
        return rc;
    }
    memcpy(k->id, d, VT_KEK_ID_LEN);
    *out = k;
    return VT_OK;
}

/* Text forms: 64 hex digits or base64 of 32 bytes; surrounding whitespace ignored. */
static vt_err kek_from_text(const char *t, size_t n, const char *where, vt_kek **out, vt_error *err)
{
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ')) n--;
    while (n && (*t == ' ' || *t == '\t')) t++, n--;
    vt_buf b = {0};
    vt_err rc;
    vt_error e2;
    if (n == 2 * VT_KEK_LEN && vt_hex_decode(t, n, &b, &e2) == VT_OK) {
        rc = vt_kek_from_bytes(b.ptr, b.len, out, err);
    } else if (vt_b64_decode(t, n, &b, &e2) == VT_OK && b.len == VT_KEK_LEN) {
        rc = vt_kek_from_bytes(b.ptr, b.len, out, err);
    } else {
        rc = vt_error_set(err, VT_E_ARG, "kek",
                          "%s: expected 32 raw bytes, 64 hex digits or base64 of 32 bytes", where);
    }
    vt_buf_free_secret(&b);
    return rc;
}

vt_err vt_kek_load_file(const char *path, vt_kek **out, vt_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_error_set(err, VT_E_IO, "kek", "%s: %s", path, strerror(errno));
    if ((st.st_mode & 077) != 0)
        return vt_error_set(err, VT_E_ARG, "kek",
                            "%s is readable by group or others (mode %03o); chmod 600 it",
                            path, (unsigned)(st.st_mode & 0777));
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, 4096, &b, err));
    vt_err rc;
    if (b.len == VT_KEK_LEN)
        rc = vt_kek_from_bytes(b.ptr, b.len, out, err);
    else
        rc = kek_from_text((const char *)b.ptr, b.len, path, out, err);
    vt_buf_free_secret(&b);
    return rc;
}

vt_err vt_kek_load_env(const char *name, vt_kek **out, vt_error *err)
{
    if (name == NULL) name = VT_KEK_ENV;
    const char *v = getenv(name);
    if (v == NULL || *v == 0)
        return vt_error_set(err, VT_E_MISSING, "kek", "environment variable %s is not set", name);
    return kek_from_text(v, strlen(v), name, out, err);
}

void vt_kek_id_hex(const vt_kek *k, char out[2 * VT_KEK_ID_LEN + 1])
{
    vt_hex_encode(k->id, VT_KEK_ID_LEN, out);
}

void vt_kek_free(vt_kek *k)
{
    if (k == NULL) return;
    vt_wipe(k, sizeof *k);
    free(k);
}

static vt_err aad_for(const char *path, int64_t version, vt_buf *aad, vt_error *err)
{
    static const char label[] = "veritee-resource-v1";
    size_t pl = strlen(path);
    vt_writer w;
    vt_writer_init(&w, "resource AAD", err);
    vt_write_bytes(&w, "label", label, sizeof label); /* includes the NUL separator */
    vt_write_bytes(&w, "path", path, pl);
    vt_write_u8(&w, "separator", 0);
    vt_write_u64be(&w, "version", (uint64_t)version);
    return vt_writer_take(&w, &aad->ptr, &aad->len);
}

static vt_err gcm(bool enc, const vt_kek *k, const uint8_t *nonce, const vt_buf *aad,
                  const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag, vt_error *err)
{
    if (n > INT32_MAX) return vt_error_set(err, VT_E_ARG, "kek", "value too large");
    vt_err rc = VT_OK;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    if (c == NULL) return vt_error_set(err, VT_E_NOMEM, "kek", "out of memory");
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, k->key, nonce, enc ? 1 : 0) != 1 ||
        EVP_CipherUpdate(c, NULL, &len, aad->ptr, (int)aad->len) != 1 ||
        (n > 0 && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)) {
        rc = vt_error_set(err, VT_E_INTERNAL, "kek", "AES-256-GCM setup failed");
        goto out;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1) {
        rc = vt_error_set(err, VT_E_INTERNAL, "kek", "AES-256-GCM tag setup failed");
        goto out;
    }
    if (EVP_CipherFinal_ex(c, out + (n > 0 ? (size_t)len : 0), &len) != 1) {
        rc = vt_error_set(err, VT_E_VERIFY, "resource_unseal",
                          "resource value does not authenticate (altered, or moved to another path/version)");
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) != 1)
        rc = vt_error_set(err, VT_E_INTERNAL, "kek", "AES-256-GCM tag failed");
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

vt_err store_seal(const vt_kek *k, const char *path, int64_t version, const uint8_t *p, size_t n,
                  vt_buf *out, vt_error *err)
{
    if (k == NULL)
        return vt_error_set(err, VT_E_MISSING, "kek",
                            "no key-encryption key loaded: cannot store resource values");
    vt_buf aad = {0};
    VT_GUARD(aad_for(path, version, &aad, err));
    vt_err rc = VT_OK;
    out->len = SEAL_HDR + n + SEAL_TAG;
    out->ptr = malloc(out->len);
    if (out->ptr == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "kek", "out of memory");
        goto out;
    }
    memcpy(out->ptr, SEAL_MAGIC, 4);
    memcpy(out->ptr + 4, k->id, VT_KEK_ID_LEN);
    uint8_t *nonce = out->ptr + 4 + VT_KEK_ID_LEN;
    if (RAND_bytes(nonce, SEAL_NONCE) != 1) {
        rc = vt_error_set(err, VT_E_INTERNAL, "kek", "no randomness for the GCM nonce");
        goto out;
    }
    rc = gcm(true, k, nonce, &aad, p, n, out->ptr + SEAL_HDR, out->ptr + SEAL_HDR + n, err);
out:
    if (rc != VT_OK) vt_buf_free(out);
    vt_buf_free(&aad);
    return rc;
}

vt_err store_open_sealed(const vt_kek *k, const char *path, int64_t version, const uint8_t *blob,
                         size_t n, vt_buf *out, vt_error *err)
{
    if (k == NULL)
        return vt_error_set(err, VT_E_MISSING, "kek",
                            "no key-encryption key loaded: cannot open resource values");
    if (n < SEAL_HDR + SEAL_TAG || memcmp(blob, SEAL_MAGIC, 4) != 0)
        return vt_error_set(err, VT_E_INVALID, "resource_unseal",
                            "%s version %lld: stored value is not a sealed record", path,
                            (long long)version);
    if (!vt_ct_eq(blob + 4, k->id, VT_KEK_ID_LEN)) {
        char have[2 * VT_KEK_ID_LEN + 1], want[2 * VT_KEK_ID_LEN + 1];
        vt_hex_encode(blob + 4, VT_KEK_ID_LEN, want);
        vt_kek_id_hex(k, have);
        return vt_error_set(err, VT_E_VERIFY, "kek",
                            "wrong key-encryption key: %s version %lld is sealed under KEK id %s, loaded KEK id is %s",
                            path, (long long)version, want, have);
    }
    vt_buf aad = {0};
    VT_GUARD(aad_for(path, version, &aad, err));
    size_t cn = n - SEAL_HDR - SEAL_TAG;
    vt_err rc = VT_OK;
    out->ptr = malloc(cn ? cn : 1);
    out->len = cn;
    if (out->ptr == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "kek", "out of memory");
        goto out;
    }
    uint8_t tag[SEAL_TAG];
    memcpy(tag, blob + SEAL_HDR + cn, SEAL_TAG);
    rc = gcm(false, k, blob + 4 + VT_KEK_ID_LEN, &aad, blob + SEAL_HDR, cn, out->ptr, tag, err);
out:
    if (rc != VT_OK) vt_buf_free_secret(out);
    vt_buf_free(&aad);
    return rc;
}
