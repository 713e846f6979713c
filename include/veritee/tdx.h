/* Intel TDX and SGX DCAP ECDSA quotes: parse (pure) and verify down to the Intel SGX Root CA
 * with PCS collateral. Follows Intel's "TDX DCAP Quoting Library API" (quote v4/v5 layouts),
 * the SGX ECDSA quote library reference (v3), and the PCS v4 API (TCB Info v3, QE Identity v2). */
#ifndef VERITEE_TDX_H
#define VERITEE_TDX_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"
#include "veritee/writer.h"

VT_BEGIN_DECLS

#define VT_TDX_TEE_SGX 0x00000000u
#define VT_TDX_TEE_TDX 0x00000081u
#define VT_TDX_ATT_KEY_ECDSA_P256 2
#define VT_TDX_CERT_PCK_CHAIN 5
#define VT_TDX_CERT_QE_REPORT 6
#define VT_TDX_BODY_SGX 1
#define VT_TDX_BODY_TD10 2
#define VT_TDX_BODY_TD15 3
/* Sizes of the quote's parts (DCAP Quoting Library API, appendix "Quote format"). */
#define VT_TDX_QUOTE_HEADER_SIZE 48
#define VT_SGX_REPORT_SIZE 384  /* SGX REPORT_BODY: v3 body and every QE report */
#define VT_TDX_TD10_BODY_SIZE 584
#define VT_TDX_TD15_BODY_SIZE 648
/* QE vendor ID of Intel's quoting enclaves (header field). */
extern const uint8_t VT_TDX_INTEL_QE_VENDOR_ID[16];

/* SGX REPORT_BODY (384 bytes): the v3 quote body and every QE report. */
typedef struct vt_sgx_report {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
} vt_sgx_report;

/* TD report body: TDX 1.0 (584 bytes) and TDX 1.5 (648 bytes) fields. */
typedef struct vt_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    bool tdx15;                /* the two fields below are present */
    uint8_t tee_tcb_svn2[16];
    uint8_t mr_service_td[48];
} vt_td_report;

/* A parsed quote. Views point into the caller's buffer, which must outlive the struct. */
typedef struct vt_tdx_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint16_t body_type;   /* v5 only; v3 = SGX, v4 = TD 1.0 implied */
    uint32_t body_size;
    vt_sgx_report enclave; /* SGX quotes */
    vt_td_report td;       /* TDX quotes */
    vt_bytes signed_region;
    uint8_t signature[64];
    uint8_t attest_key[64];
    vt_bytes qe_report_raw;
    vt_sgx_report qe_report;
    uint8_t qe_report_sig[64];
    vt_bytes qe_auth_data;
    vt_bytes pck_chain; /* PEM text of the PCK certificate chain (type 5) */
    size_t trailing;    /* bytes after the signature data (not covered by anything) */
} vt_tdx_quote;

/* Parse an SGX v3, TDX v4 or TDX v5 ECDSA quote. Pure: no crypto. */
VT_MUST_USE vt_err vt_tdx_quote_parse(const uint8_t *p, size_t len, vt_tdx_quote *q, vt_error *err);
bool vt_tdx_quote_is_td(const vt_tdx_quote *q);

/* The inverse of the parser for the parts a quote generator lays out (used by the emulator):
 * an SGX REPORT_BODY (reserved bytes zero), and the signed region of a quote = header (with
 * body type and size for v5, from q->body_type) + body (q->enclave or q->td; td->tdx15 must
 * match the body type). Errors come from the writer (vt_writer_status). */
VT_MUST_USE vt_err vt_tdx_sgx_report_write(vt_writer *w, const vt_sgx_report *s);
VT_MUST_USE vt_err vt_tdx_quote_signed_write(vt_writer *w, const vt_tdx_quote *q);

/* SGX PCK certificate extensions (OID 1.2.840.113741.1.13.1). */
typedef struct vt_sgx_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16];
    uint16_t pce_svn;
    uint8_t cpu_svn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    int sgx_type; /* 0 standard, 1 scalable, 2 scalable with integrity */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16];
    bool has_configuration;
    bool dynamic_platform, cached_keys, smt_enabled;
} vt_sgx_pck_ext;

VT_MUST_USE vt_err vt_sgx_pck_ext_parse(const X509 *pck, vt_sgx_pck_ext *out, vt_error *err);
/* The same from the raw extension value (DER of the SEQUENCE), for fuzzing. */
VT_MUST_USE vt_err vt_sgx_pck_ext_parse_der(const uint8_t *p, size_t len, vt_sgx_pck_ext *out, vt_error *err);

typedef enum vt_tcb_status {
    VT_TCB_UP_TO_DATE = 0,
    VT_TCB_SW_HARDENING_NEEDED,
    VT_TCB_CONFIGURATION_NEEDED,
    VT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    VT_TCB_OUT_OF_DATE,
    VT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    VT_TCB_REVOKED,
} vt_tcb_status;

const char *vt_tcb_status_name(vt_tcb_status s);
VT_MUST_USE vt_err vt_tcb_status_parse(const char *s, vt_tcb_status *out, vt_error *err);

#define VT_TDX_MAX_LEVELS 64
#define VT_TDX_MAX_MODULES 8
#define VT_TDX_MAX_ADVISORIES 64

/* One TCB level of TCB Info (SGX components, PCESVN, TDX components). */
typedef struct vt_tcb_level {
    uint8_t sgx_comp[16];
    uint16_t pce_svn;
    uint8_t tdx_comp[16];
    vt_tcb_status status;
    vt_time tcb_date;
    const json_t *advisory_ids; /* array of strings (borrowed from the collateral) or NULL */
} vt_tcb_level;

/* An enclave/module TCB level: by ISVSVN. */
typedef struct vt_isv_level {
    uint16_t isv_svn;
    vt_tcb_status status;
    vt_time tcb_date;
    const json_t *advisory_ids;
} vt_isv_level;

typedef struct vt_tdx_module_identity {
    char id[16]; /* "TDX_01" */
    uint8_t mr_signer[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    vt_isv_level levels[VT_TDX_MAX_LEVELS];
    size_t n_levels;
} vt_tdx_module_identity;

/* TCB Info (PCS v4, version 3; id "SGX" or "TDX"). */
typedef struct vt_tcb_info {
    json_t *root;        /* the whole PCS response (owns everything borrowed) */
    vt_bytes signed_body; /* exact bytes of the "tcbInfo" value, as signed */
    uint8_t signature[64];
    char id[8];
    int version;
    vt_time issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int64_t tcb_type;
    int64_t tcb_eval_num;
    bool has_tdx_module;
    uint8_t tdx_module_mr_signer[48];
    uint8_t tdx_module_attributes[8];
    uint8_t tdx_module_attributes_mask[8];
    vt_tdx_module_identity modules[VT_TDX_MAX_MODULES];
    size_t n_modules;
    vt_tcb_level levels[VT_TDX_MAX_LEVELS];
    size_t n_levels;
    bool signature_ok; /* set once verified against the TCB signing chain */
} vt_tcb_info;

/* QE Identity (PCS v4, enclaveIdentity version 2; id "QE", "TD_QE" or "QVE"). */
typedef struct vt_qe_identity {
    json_t *root;
    vt_bytes signed_body;
    uint8_t signature[64];
    char id[8];
    int version;
    vt_time issue_date, next_update;
    int64_t tcb_eval_num;
    uint32_t misc_select, misc_select_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    vt_isv_level levels[VT_TDX_MAX_LEVELS];
    size_t n_levels;
    bool signature_ok;
} vt_qe_identity;

/* Parse PCS response JSON ({"tcbInfo":{...},"signature":"hex"}), keeping the signed bytes.
 * text must outlive the result (signed_body points into it). Free with _clear. */
VT_MUST_USE vt_err vt_tcb_info_parse(const char *text, size_t len, vt_tcb_info *out, vt_error *err);
void vt_tcb_info_clear(vt_tcb_info *t);
VT_MUST_USE vt_err vt_qe_identity_parse(const char *text, size_t len, vt_qe_identity *out, vt_error *err);
void vt_qe_identity_clear(vt_qe_identity *q);

#define VT_TDX_MAX_TCB_INFOS 8

/* A collateral set, as PCS serves it (see docs/tdx.md for the directory layout). Owns what
 * it points to (free with vt_tdx_collateral_clear); moved by copying the struct and zeroing
 * the source. */
typedef struct vt_tdx_collateral {
    char *texts[VT_TDX_MAX_TCB_INFOS + 2]; /* owned JSON texts the parsed items point into */
    /* n_tcb_infos parsed TCB Infos (at most VT_TDX_MAX_TCB_INFOS), allocated as loaded: a
     * set holds one or two, and 8 inline ones (135 KiB) were zeroed and copied at every load */
    vt_tcb_info *tcb_infos;
    size_t n_tcb_infos;
    vt_qe_identity qe_identities[2]; /* TD_QE and/or QE */
    size_t n_qe_identities;
    STACK_OF(X509) *tcb_signing_chain;   /* TCB Info / QE Identity issuer chain */
    STACK_OF(X509_CRL) *pck_crls;        /* Platform and/or Processor CA CRLs */
    X509_CRL *root_ca_crl;
} vt_tdx_collateral;

/* Load a collateral directory: tcbinfo_<fmspc>.json (any number), qe_identity*.json,
 * tcb_signing_chain.pem, pck_crl*.der|pem, root_ca_crl.der|pem. Absent files are left empty
 * (verification reports what it misses); malformed files fail. */
VT_MUST_USE vt_err vt_tdx_collateral_load_dir(const char *dir, vt_tdx_collateral *c, vt_error *err);
void vt_tdx_collateral_clear(vt_tdx_collateral *c);

/* The verifier: trust anchors, collateral (signatures checked once) and a cache of verified
 * PCK chains. Thread-safe: one verifier may serve several threads at once (its caches are
 * locked; a cache miss verifies the chain under that lock). */
typedef struct vt_tdx_verifier vt_tdx_verifier;

typedef struct vt_tdx_verifier_opts {
    STACK_OF(X509) *roots; /* trusted Intel SGX Root CA(s); NULL = built-in pinned fingerprint */
    bool allow_missing_pck_crl; /* revocation "unknown" accepted (reported as a skipped check) */
} vt_tdx_verifier_opts;

/* Takes ownership of *coll (zeroed on return); roots are up-referenced. */
VT_MUST_USE vt_err vt_tdx_verifier_new(const vt_tdx_verifier_opts *opts, vt_tdx_collateral *coll,
                           vt_tdx_verifier **out, vt_error *err);
void vt_tdx_verifier_free(vt_tdx_verifier *v);

typedef struct vt_tdx_result {
    vt_tdx_quote quote;
    vt_sgx_pck_ext pck;
    char pck_issuer[64];
    vt_tcb_status tcb_status;      /* merged, as Intel's QVL reports it */
    vt_tcb_status platform_status; /* the matching TCB Info level */
    vt_tcb_status qe_status;
    bool has_module_status;
    vt_tcb_status module_status;
    vt_time tcb_date;
    char advisory_ids[VT_TDX_MAX_ADVISORIES][32];
    size_t n_advisory_ids;
    vt_time collateral_expiry; /* earliest nextUpdate / notAfter of everything used */
    bool revocation_checked;
    bool emulated; /* verified against veritee's emulated TEE, not Intel: test evidence */
    vt_checks checks;
} vt_tdx_result;

/* Verify a quote at instant `at`. On success the result holds the claims and the checks;
 * on failure the checks so far, the failing one last, and err names it. The quote buffer must
 * outlive the result. A verified quote returns VT_OK whatever its TCB status, except
 * Revoked (VT_E_REVOKED). */
VT_MUST_USE vt_err vt_tdx_verify(vt_tdx_verifier *v, const uint8_t *quote, size_t len, vt_time at,
                     vt_tdx_result *res, vt_error *err);

/* Per-call options of vt_tdx_verify_with. */
typedef struct vt_tdx_verify_opts {
    vt_time at;                 /* verification instant */
    const uint8_t *report_data; /* expected REPORTDATA (nonce); NULL: not checked (a skipped check) */
    size_t report_data_len;     /* 1..64; the bytes after it must be zero */
} vt_tdx_verify_opts;

/* vt_tdx_verify with options: with report_data, a quote whose REPORTDATA is not that value
 * (zero-padded) fails the "report_data" check (VT_E_VERIFY); a length outside 1..64 is VT_E_ARG. */
VT_MUST_USE vt_err vt_tdx_verify_with(vt_tdx_verifier *v, const uint8_t *quote, size_t len, const vt_tdx_verify_opts *opts,
                          vt_tdx_result *res, vt_error *err);

/* Claims as JSON (snake_case keys; see docs/tdx.md). NULL on allocation failure. */
json_t *vt_tdx_result_json(const vt_tdx_result *r);

/* Intel SGX Root CA SHA-256 fingerprint built in as the default trust anchor. */
extern const uint8_t VT_TDX_INTEL_ROOT_SHA256[32];

VT_END_DECLS

#endif
