/* The guest side of the CoCo KBS protocol RCAR 0.4.0 (specs/kbs-protocol.md §§4-11): an
 * ephemeral TEE key as a JWK, /auth, the runtime-data binding (JCS + SHA-384 into 64 bytes of
 * report data), evidence in the per-TEE JSON shapes CoCo guests send, /attest, and resource
 * fetches decrypted from the JWE. Written from the protocol note, not from the server code. */
#ifndef VERITEE_KBS_CLIENT_H
#define VERITEE_KBS_CLIENT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/evidence.h"
#include "veritee/rcar.h"

VT_BEGIN_DECLS

#define VT_KBS_CLIENT_COOKIE_MAX 128
#define VT_KBS_CLIENT_TOKEN_MAX (256u << 10)

/* ---- the TEE key (§6: runtime-data.tee-pubkey) -------------------------------------------- */

typedef enum vt_kbs_key_type {
    VT_KBS_KEY_EC = 0,  /* P-256, alg ECDH-ES+A256KW (what current guests send) */
    VT_KBS_KEY_RSA = 1, /* RSA-2048, alg RSA-OAEP-256 */
} vt_kbs_key_type;

typedef struct vt_kbs_tee_key {
    EVP_PKEY *pkey; /* the private key: never leaves the guest */
    json_t *jwk;    /* public JWK: EC {kty, crv, alg, x, y} or RSA {kty, alg, n, e} */
} vt_kbs_tee_key;

/* A fresh key pair. Errors: VT_E_ARG, VT_E_INTERNAL. */
VT_MUST_USE vt_err vt_kbs_tee_key_new(vt_kbs_key_type type, vt_kbs_tee_key *out, vt_error *err);
/* Frees (OpenSSL wipes the private key on free); accepts NULL. */
void vt_kbs_tee_key_free(vt_kbs_tee_key *k);

/* Where evidence comes from. */
typedef enum vt_kbs_provider {
    VT_KBS_PROVIDER_AUTO = 0, /* emulated with an emulator, vtpm for the vTPM TEEs, else
                                 configfs-tsm when present, else ioctl */
    VT_KBS_PROVIDER_EMULATED,
    VT_KBS_PROVIDER_TSM,
    VT_KBS_PROVIDER_IOCTL,
    VT_KBS_PROVIDER_VTPM,     /* a TPM through tpm2-tss (Azure CVMs, TPM hosts; vtpm.h) */
} vt_kbs_provider;

/* "auto", "emulated", "tsm", "ioctl", "vtpm"; VT_E_ARG otherwise. */
VT_MUST_USE vt_err vt_kbs_provider_parse(const char *s, vt_kbs_provider *out, vt_error *err);

typedef struct vt_kbs_evidence_src {
    vt_ev_tee tee;             /* required for the emulated TEE and ioctls; tsm: checked */
    vt_kbs_provider provider;
    const char *emulator_dir;  /* the emulated TEE (`veritee emulate init`) */
    const char *tsm_root;      /* NULL: VT_TSM_ROOT_DEFAULT */
    const char *device;        /* ioctl device, NULL: the default */
    const char *realm;         /* CCA emulated: realm name (NULL: realm0) */
    /* vtpm (az-snp-vtpm, az-tdx-vtpm, tpm): see vt_vtpm_evidence_opts */
    const char *tcti;          /* NULL: device:/dev/tpmrm0 */
    uint32_t ak_handle;        /* 0: the kind's default */
    const char *imds_url, *imds_dir;
    /* event logs sent as cc_eventlog (vtpm, and TDX through configfs-tsm): the firmware log
     * (NULL: the TPM's binary_bios_measurements, for TDX the ACPI CCEL, each when present) and
     * the attestation agent's (NULL: /run/attestation-agent/eventlog when present); "" for none */
    const char *event_log, *aa_eventlog;
} vt_kbs_evidence_src;

/* Evidence over report_data in the TEE's JSON shape (primary_evidence). report_data holds the
 * binding digest (rd_len bytes, 32..64) zero-padded to 64: hardware reports take all 64, the
 * Azure vTPM quotes the rd_len bytes unpadded (as CoCo's attester: its limit is 50) and `tpm`
 * the 64. *tee_out (may be NULL) receives the TEE the evidence is for. TDX through ioctl is
 * refused (a TDREPORT cannot be verified remotely: use configfs-tsm). Errors: VT_E_ARG,
 * VT_E_MISSING (no provider), VT_E_IO. */
VT_MUST_USE vt_err vt_kbs_evidence_get(const vt_kbs_evidence_src *src, const uint8_t report_data[64], size_t rd_len,
                                       json_t **out, vt_ev_tee *tee_out, vt_error *err);

/* Additional evidence (Trustee's composite evidence) over the device runtime data
 * (vt_rcar_device_binding): the GPUs of the emulated TEE's "nvidia" section as
 * {"nvidia":{"device_evidence_list":[...]}} text, each report's nonce the first 32 bytes of
 * device_rd. *out owned (free()). Errors: VT_E_ARG (no emulator), VT_E_MISSING (no GPUs). */
VT_MUST_USE vt_err vt_kbs_gpu_evidence_get(const vt_kbs_evidence_src *src, const uint8_t device_rd[64], char **out,
                                           vt_error *err);

/* ---- the exchange ------------------------------------------------------------------------- */

/* Produces primary evidence for report_data (the binding digest, rd_len bytes, zero-padded to
 * 64); *out owned by the caller. */
typedef vt_err (*vt_kbs_evidence_fn)(void *ud, const uint8_t report_data[64], size_t rd_len, json_t **out,
                                     vt_error *err);
/* Produces the additional_evidence text (a JSON map of device TEE to evidence, "" for none) over
 * the device runtime data; *out owned (free()). */
typedef vt_err (*vt_kbs_additional_fn)(void *ud, const uint8_t device_rd[64], char **out, vt_error *err);

typedef struct vt_kbs_client_opts {
    const char *url;               /* KBS base URL, e.g. http://127.0.0.1:8080 (no trailing /kbs/v0) */
    const char *const *more_urls;  /* further nodes sharing one store (NULL-terminated, may be NULL):
                                      successive requests rotate over url and these, as a
                                      round-robin load balancer would (at most 7) */
    const char *tee;               /* RCAR tee name: "tdx", "snp", "cca", ... */
    vt_kbs_key_type key_type;
    vt_kbs_evidence_fn evidence;   /* required */
    vt_kbs_additional_fn additional; /* NULL: no additional evidence. Called first, with
                                      H(JCS({nonce, tee-pubkey})); the primary evidence then binds
                                      its text (as guest-components' RCAR client does) */
    void *evidence_ud;              /* passed to both */
    long timeout_seconds;          /* per request; 0: 20 */
    const char *ca_file;           /* HTTPS: CA certificate(s) of the KBS (PEM); NULL: system store */
    const char *init_data_toml;    /* CoCo init-data (the TOML of the io.katacontainers.config.
                                      runtime.cc_init_data annotation, decoded) sent as
                                      {"format": "toml", "body": ...}; NULL: null */
} vt_kbs_client_opts;

typedef struct vt_kbs_client vt_kbs_client;

/* A client (keeps one HTTP connection). Borrowed strings in o must outlive it. Errors:
 * VT_E_ARG, VT_E_MISSING (libcurl missing). */
VT_MUST_USE vt_err vt_kbs_client_new(const vt_kbs_client_opts *o, vt_kbs_client **out, vt_error *err);
void vt_kbs_client_free(vt_kbs_client *c); /* wipes the TEE key and the token; accepts NULL */

/* One RCAR handshake with a fresh TEE key: /auth, binding, evidence, /attest. Errors:
 * VT_E_VERIFY (the KBS refused: 401, its detail in the message), VT_E_UNSUPPORTED (version
 * refused), VT_E_INVALID (malformed answer), VT_E_IO (transport, timeout). */
VT_MUST_USE vt_err vt_kbs_client_attest(vt_kbs_client *c, vt_error *err);
/* The attestation token (EAR JWT) of the last handshake, NULL before one (borrowed). */
const char *vt_kbs_client_token(const vt_kbs_client *c);
/* Whether the last failed request may pass when the round is tried again from /auth: the KBS
 * could not be reached, the connection broke or timed out, or it answered 429, 500, 502, 503 or
 * 504 (a node or its store going away behind a load balancer). A refusal (401/403), a missing
 * resource (404), a malformed answer or a TLS verification failure is not. Retrying the whole
 * round is safe: a new session and nonce, and a resource fetched twice is released (and audited)
 * twice, never without its record. */
bool vt_kbs_client_retryable(const vt_kbs_client *c);
/* What the last token says, for a person (NOT verified: the client has no EAR key): one line per
 * submod, "cpu0: contraindicated (policy P)", then one line per check that did not pass,
 * "  [fail] measurements: executables 33: mr_td ... not in the reference values". Owned string in
 * *out (free()); VT_E_MISSING before a handshake, VT_E_INVALID for an unreadable token. */
VT_MUST_USE vt_err vt_kbs_client_token_summary(const vt_kbs_client *c, char **out, vt_error *err);
/* The JSON sent as the last /attest body (borrowed; tests), NULL before one. */
const json_t *vt_kbs_client_last_attestation(const vt_kbs_client *c);

/* GET /kbs/v0/resource/<path> (path = repo/type/tag), with the session cookie or, when bearer,
 * Authorization: Bearer <token> and no cookie; decrypts the JWE with the TEE key. secret owned
 * (wipe with vt_buf_free_secret). Errors: VT_E_VERIFY (401: policy denied, token invalid or
 * expired: re-attest), VT_E_MISSING (404), VT_E_ARG (bad path), VT_E_INVALID (bad JWE), VT_E_IO. */
VT_MUST_USE vt_err vt_kbs_client_get_resource(vt_kbs_client *c, const char *path, bool bearer, vt_buf *secret,
                                  vt_error *err);

VT_END_DECLS

#endif
