/* The JOSE context's members, shared by jwk.c and jwe.c. */
#ifndef VT_JOSE_INTERNAL_H
#define VT_JOSE_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "veritee/crypto.h"
#include "veritee/jose.h"

struct vt_jose_ctx {
    vt_ec_params *ec;      /* P-256/384/521 parameters: key import and ephemeral keys */
    EVP_CIPHER *gcm, *wrap; /* AES-256-GCM, AES-256 key wrap, fetched once */
    EVP_KDF *sskdf;        /* the Concat KDF */
};

#endif
