/* libFuzzer: JSON from a guest — JWK parsing, JCS canonicalisation, JWE decryption (alone and
 * through a decryptor that keeps the ephemeral key between JWEs). */
#include <openssl/evp.h>

#include "veritee/jcs.h"
#include "veritee/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (j == NULL) return 0;
    vt_error e;
    vt_buf b = {0};
    if (vt_jcs(j, &b, &e) == VT_OK) vt_buf_free(&b);
    EVP_PKEY *k = NULL;
    if (vt_jwk_to_pkey(j, false, &k, &e) == VT_OK) {
        json_t *back = NULL;
        if (vt_jwk_from_pkey(k, NULL, &back, &e) == VT_OK) json_decref(back);
        vt_buf pt = {0};
        if (vt_jwe_decrypt(j, k, &pt, &e) == VT_OK) vt_buf_free(&pt);
        /* a decryptor, twice: the second JWE's ephemeral point set on the first one's key */
        vt_jwe_decryptor *d = NULL;
        if (vt_jwe_decryptor_new(NULL, &d, &e) == VT_OK) {
            for (int i = 0; i < 2; i++)
                if (vt_jwe_decryptor_decrypt(d, j, k, &pt, &e) == VT_OK) vt_buf_free(&pt);
            vt_jwe_decryptor_free(d);
        }
        EVP_PKEY_free(k);
    }
    json_t *jwk = json_object_get(j, "epk");
    if (jwk != NULL && vt_jwk_to_pkey(jwk, false, &k, &e) == VT_OK) EVP_PKEY_free(k);
    json_decref(j);
    return 0;
}
