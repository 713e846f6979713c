/* libFuzzer target: the KBS request parsers (kbs-protocol.md §4, §6, §7.4, §8): the /auth
 * Request, the /attest Attestation with its runtime-data and device bindings, its additional
 * (GPU) evidence map and init-data TOML, the SNP serde-struct decoder, the resource policy
 * checker, the resource path rule and the Trustee admin token (compatibility mode,
 * docs/coco.md): as sent, and its claims signed here so the checks behind the signature run
 * too. The first byte selects the parser; the rest is the input. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/json.h"
#include "veritee/kbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    vt_error e;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 8) {
    case 0: {
        vt_rcar_request r;
        (void)vt_rcar_request_parse(p, n, &r, &e);
        break;
    }
    case 1: {
        vt_rcar_attestation a;
        if (vt_rcar_attestation_parse(p, n, &a, &e) == VT_OK) {
            uint8_t rd[64], d[64];
            size_t dl;
            json_t *claims = NULL;
            (void)vt_rcar_binding(a.nonce, a.tee_pubkey, a.additional, NULL, rd, NULL, &e);
            (void)vt_rcar_device_binding(a.nonce, a.tee_pubkey, NULL, rd, &e);
            json_t *add = NULL; /* the composite evidence map (GPUs) */
            if (vt_rcar_additional_parse(a.additional, &add, &e) == VT_OK) json_decref(add);
            if (a.has_init_data && vt_rcar_initdata_digest(a.init_data_body, a.init_data_len, d, &dl, &claims, &e) == VT_OK)
                json_decref(claims);
            vt_rcar_attestation_clear(&a);
        }
        break;
    }
    case 2: {
        uint8_t d[64];
        size_t dl;
        json_t *claims = NULL;
        if (vt_rcar_initdata_digest((const char *)p, n, d, &dl, &claims, &e) == VT_OK) json_decref(claims);
        break;
    }
    case 3: {
        json_t *j = NULL;
        if (vt_json_parse((const char *)p, n, &j, &e) == VT_OK) {
            static uint8_t rep[VT_SNP_REPORT_SIZE];
            STACK_OF(X509) *certs = sk_X509_new_null();
            (void)vt_rcar_snp_from_json(j, rep, certs, &e);
            sk_X509_pop_free(certs, X509_free);
            json_decref(j);
        }
        break;
    }
    case 4: {
        if (vt_kbs_rpolicy_check((const char *)p, n, &e) == VT_OK) {
            char *t = strndup((const char *)p, n);
            json_t *ear = json_pack("{s{s{ss s{s{s{ss}} sb}}}}", "submods", "cpu0", "ear.status", "affirming",
                                    "ear.veraison.annotated-evidence", "tdx", "measurements", "mr_td", "00", "emulated", 1);
            if (t && ear) (void)vt_kbs_rpolicy_eval(t, ear, "a/b/c", &e);
            json_decref(ear);
            free(t);
        }
        break;
    }
    case 5: {
        /* a fixed Ed25519 public key: the framing and header checks before the signature
         * (the claims behind it: case 7) */
        static const uint8_t pub[32] = {0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a,
                                        0xa7, 0x4d, 0x1b, 0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4,
                                        0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c};
        EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof pub);
        json_t *c = NULL;
        if (k && vt_kbs_trustee_token_verify(k, (const char *)p, n, 1800000000, &c, &e) == VT_OK) json_decref(c);
        EVP_PKEY_free(k);
        break;
    }
    case 7: {
        /* the input is the claims JSON, signed here with a fixed Ed25519 key: the claim checks
         * (types, lifetime, iat/nbf/exp against now, no htu/jti) run on every input */
        static const uint8_t seed[32] = {7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1,
                                         7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1, 7, 1};
        static const char hdr[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
        EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
        char *h = vt_b64_encode((const uint8_t *)hdr, strlen(hdr), true), *c = vt_b64_encode(p, n, true);
        size_t in_len = h && c ? strlen(h) + 1 + strlen(c) : 0;
        char *in = in_len ? malloc(in_len + 1) : NULL, *s = NULL, *tok = NULL;
        uint8_t sig[64];
        size_t sl = sizeof sig;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (k && in && md) {
            snprintf(in, in_len + 1, "%s.%s", h, c);
            if (EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
                EVP_DigestSign(md, sig, &sl, (const uint8_t *)in, in_len) == 1 && (s = vt_b64_encode(sig, sl, true)))
                tok = malloc(in_len + 1 + strlen(s) + 1);
        }
        if (tok) {
            snprintf(tok, in_len + 1 + strlen(s) + 1, "%s.%s", in, s);
            json_t *cl = NULL;
            if (vt_kbs_trustee_token_verify(k, tok, strlen(tok), 1800000000, &cl, &e) == VT_OK) json_decref(cl);
        }
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(k);
        free(h);
        free(c);
        free(in);
        free(s);
        free(tok);
        break;
    }
    default: {
        char *t = strndup((const char *)p, n);
        if (t) vt_rcar_resource_path_ok(t);
        free(t);
        break;
    }
    }
    return 0;
}
