/* Internal to src/snp: certificate roles in the AMD SEV-SNP PKI (ARK -> ASK|ASVK -> VCEK|VLEK,
 * AMD VCEK spec 57230, "Certificate Chain") and the chain verifier shared by verify.c. */
#ifndef VT_SNP_INTERNAL_H
#define VT_SNP_INTERNAL_H

#include "veritee/snp.h"

typedef enum snp_role {
    SNP_ROLE_UNKNOWN = 0,
    SNP_ROLE_ARK,
    SNP_ROLE_ASK,
    SNP_ROLE_ASVK,
    SNP_ROLE_VCEK,
    SNP_ROLE_VLEK,
} snp_role;

typedef struct snp_class {
    snp_role role;
    vt_snp_product product; /* from the subject CN (ARK/ASK/ASVK) or the issuer CN (VCEK/VLEK) */
} snp_class;

/* Classify by common names: ARK-<P>, SEV-<P>, SEV-VLEK-<P>, SEV-VCEK, SEV-VLEK. */
void snp_cert_classify(const X509 *c, snp_class *out);
const char *snp_role_name(snp_role r);

/* A verified chain, as cached by the verifier. */
typedef struct snp_chain {
    uint8_t leaf_sha256[32];
    X509 *leaf;               /* owned references */
    X509 *ask;
    X509 *ark;
    EVP_PKEY *leaf_key;       /* borrowed from leaf */
    snp_role leaf_role;       /* VCEK or VLEK */
    vt_snp_product product;
    vt_snp_cert_ext ext;
    uint8_t ark_sha256[32];
    vt_time not_before;       /* intersection of the three validity windows */
    vt_time not_after;
} snp_chain;

void snp_chain_clear(snp_chain *c);
/* Copy with new references. */
void snp_chain_copy(snp_chain *dst, const snp_chain *src);

/* Find (in the cache) or build and verify the chain of leaf: names, RSA-PSS signatures
 * ARK->ARK, ARK->ASK/ASVK, ASK/ASVK->leaf, the ARK pinned or an anchor. Validity is not checked
 * here (it depends on the instant): the windows are returned. The caller owns *out. */
vt_err snp_chain_get(vt_snp_verifier *v, X509 *leaf, STACK_OF(X509) *extra, snp_chain *out,
                     vt_checks *checks, vt_error *err);
/* Revocation of the ASK/ASVK through CRLs issued by the chain's ARK (verifier CRLs plus extra). */
vt_err snp_chain_revocation(vt_snp_verifier *v, const snp_chain *c, STACK_OF(X509_CRL) *extra,
                            vt_time at, bool required, vt_checks *checks, vt_error *err);

#endif
