/* The CoCo KBS protocol RCAR 0.4.0 (specs/kbs-protocol.md) as both sides use it: the message
 * parsers, the runtime-data binding, init-data, the per-TEE evidence JSON forms (TDX quote +
 * event log, the `sev` crate's serde form of the SNP report, the CCA token) and the resource
 * path rule. The broker (kbs.h) and the guest agent (kbs_client.h) both build on this; neither
 * has its own copy. No transport, no clock. */
#ifndef VERITEE_RCAR_H
#define VERITEE_RCAR_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/snp.h"

VT_BEGIN_DECLS

#define VT_RCAR_VERSION "0.4.0"
#define VT_RCAR_COOKIE "kbs-session-id"
#define VT_RCAR_ERROR_NS "https://github.com/confidential-containers/kbs/errors/"

/* ---- messages (§2, §4, §6) ---- */

typedef struct vt_rcar_request {
    char tee[24];
} vt_rcar_request;

/* The /auth Request. VT_E_UNSUPPORTED for a version other than 0.4.0 (message as Trustee's),
 * VT_E_INVALID for shape errors, unknown extra-params "id". */
VT_MUST_USE vt_err vt_rcar_request_parse(const uint8_t *body, size_t len, vt_rcar_request *out, vt_error *err);

typedef struct vt_rcar_attestation {
    json_t *root;               /* owned parse */
    const char *nonce;          /* runtime-data.nonce */
    const json_t *tee_pubkey;   /* runtime-data.tee-pubkey (as received) */
    const json_t *primary;      /* tee-evidence.primary_evidence */
    const char *additional;     /* tee-evidence.additional_evidence ("" when none; its text is what
                                   the primary evidence binds: vt_rcar_additional_parse reads it) */
    bool has_init_data;
    const char *init_data_body; /* init-data.body (TOML text) */
    size_t init_data_len;
} vt_rcar_attestation;

VT_MUST_USE vt_err vt_rcar_attestation_parse(const uint8_t *body, size_t len, vt_rcar_attestation *out, vt_error *err);
void vt_rcar_attestation_clear(vt_rcar_attestation *a);

/* ---- bindings (§7) ---- */

/* report_data = H(JCS({"additional-evidence": additional, "nonce": nonce, "tee-pubkey": jwk}))
 * zero-padded to 64 bytes. hash_alg: "sha256", "sha384" (NULL: the default), "sha512"
 * (case-insensitive); VT_E_UNSUPPORTED otherwise. canonical (may be NULL) receives the hashed
 * text. The guest computes it to fill report data; the broker recomputes it to check. */
VT_MUST_USE vt_err vt_rcar_binding(const char *nonce, const json_t *jwk, const char *additional, const char *hash_alg,
                       uint8_t report_data[64], vt_buf *canonical, vt_error *err);

/* The runtime data every device beside the primary TEE binds (Trustee's composite evidence):
 * H(JCS({"nonce": nonce, "tee-pubkey": jwk})), zero-padded to 64 bytes (hash_alg as above).
 * An NVIDIA GPU's SPDM request nonce is its first 32 bytes. */
VT_MUST_USE vt_err vt_rcar_device_binding(const char *nonce, const json_t *jwk, const char *hash_alg,
                                          uint8_t report_data[64], vt_error *err);

/* tee-evidence.additional_evidence: a JSON text mapping a device TEE name to its evidence
 * ({"nvidia": {"device_evidence_list": [...]}}, as guest-components' attester sends it). ""
 * gives *out NULL; otherwise *out is the owned object. A TEE other than "nvidia", a value that
 * is not an object, or more than 4 entries: VT_E_UNSUPPORTED / VT_E_INVALID. */
VT_MUST_USE vt_err vt_rcar_additional_parse(const char *additional, json_t **out, vt_error *err);

/* Init-data (§7.4): the TOML's `algorithm` (sha256/sha384/sha512) hashes the raw text into
 * digest (its length in *len); *data (may be NULL) receives the [data] table as a JSON object
 * of strings. */
VT_MUST_USE vt_err vt_rcar_initdata_digest(const char *toml, size_t len, uint8_t digest[64], size_t *dlen, json_t **data,
                               vt_error *err);

/* ---- evidence JSON forms (§8) ---- */

/* {"quote": base64 std, "cc_eventlog": base64 std | null}. */
VT_MUST_USE vt_err vt_rcar_tdx_evidence_json(const uint8_t *quote, size_t len, const uint8_t *ccel, size_t ccel_len,
                                 json_t **out, vt_error *err);
/* {"attestation_report": {serde form of the sev crate}, "cert_chain": [{cert_type, data}] | null}
 * from a 1184-byte report and a certificate table (may be empty: cert_chain null). Reports the
 * serde form cannot carry (non-zero reserved TCB bytes, signature bytes past r/s, mitigation
 * vectors >= 2^63) are refused with VT_E_UNSUPPORTED: the broker could not rebuild them. */
VT_MUST_USE vt_err vt_rcar_snp_evidence_json(const uint8_t *report, size_t len, const uint8_t *certtable, size_t ct_len,
                                 json_t **out, vt_error *err);
/* {"token": [numbers]} of a CBOR CCA token. */
VT_MUST_USE vt_err vt_rcar_cca_evidence_json(const uint8_t *token, size_t len, json_t **out, vt_error *err);
/* Raw evidence as the JSON form of tee: tdx ({quote, cc_eventlog: null}), sgx ({quote}),
 * snp (a trailing certificate table becomes cert_chain), cca. */
VT_MUST_USE vt_err vt_rcar_evidence_json(const char *tee, const uint8_t *ev, size_t len, json_t **out, vt_error *err);

/* The reverse of vt_rcar_snp_evidence_json, for the broker: rebuilds the 1184-byte report;
 * cert_chain certificates (VCEK/VLEK/ASK/ARK) are appended to *certs (owned X509, may be NULL);
 * CRL and other entries are shape-checked and skipped. */
VT_MUST_USE vt_err vt_rcar_snp_from_json(const json_t *ev, uint8_t report[VT_SNP_REPORT_SIZE], STACK_OF(X509) *certs,
                             vt_error *err);

/* ---- resources (§3) ---- */

/* Resource path rule: three segments, each [A-Za-z0-9_-][A-Za-z0-9_.-]*. */
bool vt_rcar_resource_path_ok(const char *path);

VT_END_DECLS

#endif
