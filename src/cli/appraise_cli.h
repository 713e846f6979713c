/* veritee appraise: internal interface between argument handling (appraise.c) and the
 * per-TEE verification that yields normalized claims (appraise_tee.c). */
#ifndef VT_CLI_APPRAISE_H
#define VT_CLI_APPRAISE_H

#include "cli.h"
#include "veritee/claims.h"
#include "veritee/policy.h"

typedef struct appraise_args {
    const char *policy_file;
    const char *refvals[16];
    size_t n_refvals;
    const char *trust_dir, *collateral_dir, *certs_dir, *cpak_file, *product, *tee;
    const char *pcs_url, *kds_url, *cache_dir; /* online collateral, as for veritee verify */
    const char *nonce_hex, *init_data_hex;
    const char *gpu_evidence, *gpu_nonce_hex, *ocsp; /* NVIDIA GPUs beside the CPU evidence */
    cli_nv_sources nv; /* their revocation and RIM sources (--ocsp, --crl, --rim-service, ...), as verify's */
    const char *ear_key, *ear_out, *ear_alg, *naming;
    int64_t ttl;
    bool json, allow_missing_crl, checks_in_ear;
    vt_time at;
} appraise_args;

/* Verify one evidence file into claims. tee may be "auto". Fills checks (may be NULL). */
vt_err appraise_verify(const appraise_args *a, const vt_policy *p, const char *file, const vt_buf *ev,
                       vt_claims *out, vt_checks *checks, vt_error *err);

/* The GPUs of Trustee's device_evidence_list JSON in file, verified as one list (vt_verify, tee
 * nvidia) with nonce (may be NULL): *gpus (owned, free()) receives one claims per device. */
vt_err appraise_verify_gpus(const appraise_args *a, const char *file, const vt_buf *nonce, vt_claims **gpus,
                            size_t *n, vt_error *err);

#endif
