/* TPM 2.0 attestation: the structures of TPM 2.0 Library Part 2 a verifier meets (TPMS_ATTEST
 * of a quote, TPML_PCR_SELECTION, TPMT_SIGNATURE, TPMT_PUBLIC), quote verification (signature by
 * the attestation key, nonce in extraData, PCR digest over the reported PCR values), the TCG2
 * crypto-agile event log (TCG PC Client PFP, TCG_PCR_EVENT / TCG_PCR_EVENT2) with replay into
 * PCRs or CC measurement registers, the CoCo attestation-agent event log (AAEL: EV_EVENT_TAG
 * records and the legacy text form), and the `tpm` evidence of CoCo's TpmAttester.
 *
 * All TPM structures are big-endian ("TPM marshalling"); event logs are little-endian. Parse
 * first (pure, no crypto), then verify. */
#ifndef VERITEE_TPM_H
#define VERITEE_TPM_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_TPM_GENERATED_VALUE 0xff544347u /* "\xffTCG" */
#define VT_TPM_ST_ATTEST_QUOTE 0x8018u

/* TPM_ALG_ID values (TPM 2.0 Part 2, table 9; TCG algorithm registry). */
#define VT_TPM_ALG_RSA 0x0001u
#define VT_TPM_ALG_SHA1 0x0004u
#define VT_TPM_ALG_SHA256 0x000Bu
#define VT_TPM_ALG_SHA384 0x000Cu
#define VT_TPM_ALG_SHA512 0x000Du
#define VT_TPM_ALG_NULL 0x0010u
#define VT_TPM_ALG_SM3_256 0x0012u
#define VT_TPM_ALG_RSASSA 0x0014u
#define VT_TPM_ALG_RSAPSS 0x0016u
#define VT_TPM_ALG_ECDSA 0x0018u
#define VT_TPM_ALG_ECC 0x0023u

#define VT_TPM_ECC_NIST_P256 0x0003u
#define VT_TPM_ECC_NIST_P384 0x0004u
#define VT_TPM_ECC_NIST_P521 0x0005u

#define VT_TPM_PCR_SELECT_MAX 4   /* bitmap bytes per bank (PCR 0..31) */
#define VT_TPM_BANKS_MAX 4        /* TPMS_PCR_SELECTION entries we accept */
#define VT_TPM_PCRS_MAX (VT_TPM_BANKS_MAX * 8 * VT_TPM_PCR_SELECT_MAX)

/* Digest size of a TPM hash algorithm (SHA-1/256/384/512, SM3-256); 0 when unknown. */
size_t vt_tpm_alg_digest_len(uint16_t alg);
/* "sha1", "sha256", "sha384", "sha512", "sm3_256", or "0x%04x"-style "unknown". */
const char *vt_tpm_alg_name(uint16_t alg);
/* H(a || b) with a TPM hash algorithm (OpenSSL; SM3 where the provider has it). out holds
 * vt_tpm_alg_digest_len(alg) bytes. VT_E_UNSUPPORTED for other algorithms. */
VT_MUST_USE vt_err vt_tpm_hash2(uint16_t alg, const void *a, size_t an, const void *b, size_t bn, uint8_t *out,
                    vt_error *err);

/* ---- structures ---------------------------------------------------------------------------- */

typedef struct vt_tpms_pcr_selection {
    uint16_t hash_alg;
    uint8_t size_of_select;                 /* 1..VT_TPM_PCR_SELECT_MAX */
    uint8_t pcr_select[VT_TPM_PCR_SELECT_MAX]; /* byte j bit b => PCR 8j+b */
} vt_tpms_pcr_selection;

typedef struct vt_tpml_pcr_selection {
    uint32_t count;
    vt_tpms_pcr_selection sel[VT_TPM_BANKS_MAX];
} vt_tpml_pcr_selection;

/* Read a TPML_PCR_SELECTION from r (count <= VT_TPM_BANKS_MAX, sizeofSelect 1..4). */
VT_MUST_USE vt_err vt_tpml_pcr_selection_read(vt_reader *r, vt_tpml_pcr_selection *out, vt_error *err);
/* Number of PCRs the selection names (all banks). */
size_t vt_tpml_pcr_selection_count(const vt_tpml_pcr_selection *s);

/* TPMS_ATTEST carrying TPMS_QUOTE_INFO. Views point into the caller's buffer. */
typedef struct vt_tpms_attest {
    uint32_t magic;
    uint16_t type;
    vt_bytes qualified_signer;  /* TPM2B_NAME contents */
    vt_bytes extra_data;        /* TPM2B_DATA contents: the qualifyingData (nonce) */
    uint64_t clock;             /* TPMS_CLOCK_INFO */
    uint32_t reset_count;
    uint32_t restart_count;
    uint8_t safe;
    uint64_t firmware_version;
    vt_tpml_pcr_selection pcr_select;
    vt_bytes pcr_digest;        /* TPM2B_DIGEST contents */
} vt_tpms_attest;

/* Parse a quote's TPMS_ATTEST: magic TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE, every
 * length bounded by what remains, no trailing bytes. Errors: VT_E_INVALID. */
VT_MUST_USE vt_err vt_tpms_attest_parse(const uint8_t *p, size_t len, vt_tpms_attest *out, vt_error *err);

/* TPMT_SIGNATURE (RSASSA, RSAPSS: one TPM2B; ECDSA: TPM2B r, TPM2B s). Views into the buffer. */
typedef struct vt_tpmt_signature {
    uint16_t sig_alg;
    uint16_t hash_alg;
    vt_bytes rsa;       /* RSA signature */
    vt_bytes ecc_r;     /* ECDSA r, s (big-endian, possibly shorter than the field) */
    vt_bytes ecc_s;
} vt_tpmt_signature;

/* Parse a marshalled TPMT_SIGNATURE (whole buffer, no trailing bytes). VT_E_UNSUPPORTED for a
 * sigAlg other than RSASSA, RSAPSS, ECDSA. */
VT_MUST_USE vt_err vt_tpmt_signature_parse(const uint8_t *p, size_t len, vt_tpmt_signature *out, vt_error *err);

/* TPMT_PUBLIC of an RSA or ECC key (the AK). Views into the buffer. */
typedef struct vt_tpmt_public {
    uint16_t type;              /* VT_TPM_ALG_RSA or VT_TPM_ALG_ECC */
    uint16_t name_alg;
    uint32_t object_attributes;
    vt_bytes auth_policy;
    uint16_t symmetric;         /* TPM_ALG_NULL for a signing key */
    uint16_t scheme;            /* RSASSA, RSAPSS, ECDSA or NULL */
    uint16_t scheme_hash;       /* when scheme is not NULL */
    uint16_t key_bits;          /* RSA */
    uint32_t exponent;          /* RSA: 0 means 65537 */
    vt_bytes modulus;           /* RSA unique */
    uint16_t curve_id;          /* ECC */
    vt_bytes x, y;              /* ECC unique */
} vt_tpmt_public;

/* Parse a TPMT_PUBLIC (whole buffer) or a TPM2B_PUBLIC (u16 size prefix, when sized is true).
 * Errors: VT_E_INVALID, VT_E_UNSUPPORTED (key type other than RSA/ECC, symmetric parameters). */
VT_MUST_USE vt_err vt_tpmt_public_parse(const uint8_t *p, size_t len, bool sized, vt_tpmt_public *out,
                            vt_error *err);
/* The public key (EVP_PKEY, caller frees) of a parsed TPMT_PUBLIC. */
VT_MUST_USE vt_err vt_tpmt_public_to_pkey(const vt_tpmt_public *pub, EVP_PKEY **out, vt_error *err);

/* ---- quote verification --------------------------------------------------------------------- */

/* A quote as evidence carries it: the signed TPMS_ATTEST, the signature (a marshalled
 * TPMT_SIGNATURE, or a raw RSASSA-PKCS1-v1_5/SHA-256 signature as Azure's vTPM evidence has
 * it) and the PCR values in selection order. All borrowed. */
typedef struct vt_tpm_quote {
    vt_bytes message;
    vt_bytes signature;
    bool signature_raw;         /* raw RSA signature, not a TPMT_SIGNATURE */
    const vt_bytes *pcrs;       /* n_pcrs values, in selection order */
    size_t n_pcrs;
} vt_tpm_quote;

typedef enum vt_tpm_nonce_rule {
    VT_TPM_NONCE_EXACT = 0,     /* extraData == nonce, same length (Azure; trustee PR 295) */
    VT_TPM_NONCE_ZERO_PADDED,   /* also nonce || zero bytes up to 32 or 64 bytes (the CoCo
                                   TpmAttester's padding, pre- and post-Aug-2025), or the
                                   first 32 bytes of a longer nonce (its truncation since) */
} vt_tpm_nonce_rule;

typedef struct vt_tpm_quote_opts {
    const uint8_t *nonce;       /* expected qualifyingData; NULL: not checked (reported skipped) */
    size_t nonce_len;
    vt_tpm_nonce_rule nonce_rule;
    uint16_t hash_alg;          /* required signature hash; 0 = SHA-256 */
} vt_tpm_quote_opts;

/* One quoted PCR value. */
typedef struct vt_tpm_pcr {
    uint16_t bank;              /* hash algorithm */
    uint8_t index;
    uint8_t value[64];
    size_t len;
} vt_tpm_pcr;

typedef struct vt_tpm_quote_result {
    vt_tpms_attest attest;      /* views into q->message */
    vt_tpm_pcr pcrs[VT_TPM_PCRS_MAX];
    size_t n_pcrs;
    bool nonce_checked;
    bool nonce_padded;          /* matched only through the zero-padding rule */
    bool nonce_truncated;       /* matched only as the first 32 bytes of the nonce */
} vt_tpm_quote_result;

/* Verify a quote with the attestation key ak: the signature over message (checks
 * "tpm_quote_signature"), the TPMS_ATTEST structure ("tpm_quote_parse"), the nonce
 * ("tpm_quote_nonce") and the PCR digest: H(PCR values in selection order) == pcrDigest, with
 * as many values as the selection names, each of its bank's size ("tpm_pcr_digest"). The
 * signature is checked first: nothing of an unsigned message is believed. Errors: VT_E_INVALID,
 * VT_E_UNSUPPORTED (scheme or hash), VT_E_VERIFY. */
VT_MUST_USE vt_err vt_tpm_quote_verify(EVP_PKEY *ak, const vt_tpm_quote *q, const vt_tpm_quote_opts *opts,
                           vt_tpm_quote_result *res, vt_checks *checks, vt_error *err);
/* The value of PCR `index` of bank `bank` in a verified result; NULL when not quoted. */
const vt_tpm_pcr *vt_tpm_quote_pcr(const vt_tpm_quote_result *res, uint16_t bank, unsigned index);
/* CoCo init-data binding: PCR8 (SHA-256 bank) == SHA-256(32 zero bytes || init_data_hash).
 * Check "init_data". VT_E_VERIFY on mismatch or when PCR8 was not quoted. */
VT_MUST_USE vt_err vt_tpm_check_init_data(const vt_tpm_quote_result *res, const uint8_t init_data_hash[32],
                              vt_checks *checks, vt_error *err);
/* {"pcrNN": hex, ...} of the SHA-256 bank (other banks as "<alg>.pcrNN"). */
json_t *vt_tpm_pcrs_json(const vt_tpm_quote_result *res);

/* ---- TCG2 crypto-agile event log ----------------------------------------------------------- */

#define VT_TCG2_ALGS_MAX 8
#define VT_TCG_EV_IPL 0x0000000Du
#define VT_TCG_EV_EVENT_TAG 0x00000006u
#define VT_TCG_EV_NOACTION 0x00000003u
#define VT_AAEL_TAG 0x4141454Cu /* "LEAA" on the wire: the CoCo AAEL tagged event id */

typedef struct vt_tcg2_spec_id {
    bool firmware_signature;    /* "Spec ID Event03"; false: the all-zero signature of the
                                   attestation agent's synthetic header */
    uint32_t platform_class;
    uint8_t spec_minor, spec_major, errata, uintn_size;
    uint32_t n_algs;
    uint16_t alg[VT_TCG2_ALGS_MAX];
    uint16_t size[VT_TCG2_ALGS_MAX];
} vt_tcg2_spec_id;

typedef struct vt_tcg2_event {
    size_t index;               /* 0 = the Spec ID header event */
    size_t offset;
    uint32_t pcr_index;         /* PCR, or CC measurement register index */
    uint32_t event_type;
    uint32_t n_digests;
    uint16_t digest_alg[VT_TCG2_ALGS_MAX];
    vt_bytes digest[VT_TCG2_ALGS_MAX];
    vt_bytes data;
} vt_tcg2_event;

typedef vt_err (*vt_tcg2_cb)(const vt_tcg2_event *ev, void *ctx, vt_error *err);

/* Walk a TCG2 log: the SHA-1-format header with the Spec ID event (firmware signature or the
 * all-zero one), then TCG_PCR_EVENT2 records until an 8-byte all-FF or all-zero marker or the
 * end. Only algorithms the header announces are accepted, with its digest sizes. spec (may be
 * NULL) receives the header; *end (may be NULL) the offset where the log ends. cb may be NULL.
 * Errors: VT_E_INVALID, VT_E_UNSUPPORTED, or the callback's. */
VT_MUST_USE vt_err vt_tcg2_log_iterate(const uint8_t *log, size_t len, vt_tcg2_spec_id *spec, size_t *end,
                           vt_tcg2_cb cb, void *ctx, vt_error *err);

typedef enum vt_tcg2_seed {
    VT_TCG2_SEED_ZERO = 0,      /* every register starts at zero (CC measurement registers) */
    VT_TCG2_SEED_TPM,           /* TPM PCRs: 17..22 start at all-FF (DRTM reset value) */
} vt_tcg2_seed;

#define VT_TCG2_REGS_MAX 32

typedef struct vt_tcg2_replay {
    uint16_t alg;
    size_t digest_len;
    bool touched[VT_TCG2_REGS_MAX];
    uint8_t reg[VT_TCG2_REGS_MAX][64];
    size_t events;              /* records extended */
    size_t aael_events;         /* AAEL records among them */
} vt_tcg2_replay;

/* Replay a log into registers: for each record (EV_NO_ACTION skipped) with a digest of alg,
 * reg[index] = H(reg[index] || digest) from the seed. AAEL records (EV_EVENT_TAG with the AAEL
 * tag) must carry a digest equal to H(event data), and their text must parse, else VT_E_VERIFY.
 * VT_E_INVALID when a replayed record lacks a digest of alg or its index is >= 32. */
VT_MUST_USE vt_err vt_tcg2_replay_log(const uint8_t *log, size_t len, uint16_t alg, vt_tcg2_seed seed,
                          vt_tcg2_replay *out, vt_error *err);

/* One AAEL entry "<domain> <operation> <content>". Views into the text. */
typedef struct vt_aael_entry {
    vt_bytes domain, operation, content;
} vt_aael_entry;

/* Split an AAEL text at its first two spaces: domain and operation non-empty, no whitespace;
 * content without LF; all printable ASCII (content may hold UTF-8 bytes >= 0x80). */
VT_MUST_USE vt_err vt_aael_entry_parse(const uint8_t *p, size_t len, vt_aael_entry *out, vt_error *err);
/* The AAEL entry of an EV_EVENT_TAG event's data (tag id, u32 size, text); VT_E_INVALID when the
 * data is not an AAEL tagged event. */
VT_MUST_USE vt_err vt_aael_event_parse(const vt_bytes *data, vt_aael_entry *out, vt_error *err);

/* The legacy text AAEL (trustee <= Jul 2025): "INIT sha384/<hex>" then entry lines separated
 * by LF. Replay: S = H(init || H(init line)); S = H(S || H(line)) per entry. *n_entries receives
 * the entry count. SHA-384 only. */
VT_MUST_USE vt_err vt_aael_legacy_replay(const uint8_t *text, size_t len, uint8_t out[48], size_t *n_entries,
                             vt_error *err);

/* Event log entries as claims: [{"index","pcr","type","digest":{alg: hex},
 * "aael":{"domain","operation","content"}?}], the whole log (NULL on malformed input). */
json_t *vt_tcg2_log_json(const uint8_t *log, size_t len, vt_error *err);

/* ---- `tpm` evidence (CoCo TpmAttester) ---------------------------------------------------- */

/* {"ak_public": b64 SPKI DER, "tpm_quote": {"message": b64, "signature": b64 TPMT_SIGNATURE,
 * "pcrs": [64 hex] x n}} verified with an AK the caller trusts. */
typedef struct vt_tpm_verifier vt_tpm_verifier;

/* A verifier trusting the attestation keys in pem (one or more PEM public keys or
 * certificates; NULL/0: no key, every verification fails with VT_E_MISSING). Free with
 * vt_tpm_verifier_free. */
VT_MUST_USE vt_err vt_tpm_verifier_new(const void *pem, size_t len, vt_tpm_verifier **out, vt_error *err);
/* Trust the keys of more PEM text (PUBLIC KEY or CERTIFICATE blocks; at least one). */
VT_MUST_USE vt_err vt_tpm_verifier_add_pem(vt_tpm_verifier *v, const void *pem, size_t len, vt_error *err);
/* Trust one more AK (up-referenced). */
VT_MUST_USE vt_err vt_tpm_verifier_add_ak(vt_tpm_verifier *v, EVP_PKEY *ak, vt_error *err);
void vt_tpm_verifier_free(vt_tpm_verifier *v);

typedef struct vt_tpm_verify_opts {
    vt_time at;                         /* unused by the checks (no certificates); kept for the
                                           common shape */
    const uint8_t *nonce;               /* expected report data; NULL: not checked (skipped) */
    size_t nonce_len;
    const uint8_t *init_data_hash;      /* 32 bytes; NULL: PCR8 not checked */
} vt_tpm_verify_opts;

/* Verify `tpm` evidence JSON: the AK it names must be one the verifier trusts (check
 * "ak_trusted", VT_E_VERIFY otherwise), the quote as vt_tpm_quote_verify with the zero-padding
 * nonce rule, init-data. claims (may be NULL) receives {"tee":"tpm","ak_public_sha256",
 * "report_data","pcrs":{...},"init_data","clock","safe"} on success (caller decrefs). */
VT_MUST_USE vt_err vt_tpm_verify(vt_tpm_verifier *v, const uint8_t *evidence, size_t len,
                     const vt_tpm_verify_opts *opts, json_t **claims, vt_checks *checks,
                     vt_error *err);

VT_END_DECLS

#endif
