/* The explorer's analysis (docs/console.md): evidence bytes -> decoded fields grouped as the
 * vendor specs group them, the verifier's named checks, the chain of trust at the instant used,
 * TCB status and advisories, and with a policy the appraisal. Decoding never depends on
 * verification succeeding: a quote that fails its signature still shows every field. */
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/cca.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/policy.h"
#include "veritee/refvals.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
#include "veritee/ui.h"
#include "veritee/x509.h"
#include "ui_internal.h"

static void group(json_t *groups, const char *name, const char *ref, json_t *fields)
{
    json_array_append_new(groups, json_pack("{ss ss so}", "group", name, "spec", ref, "fields", fields ? fields : json_object()));
}

static json_t *hexj(const uint8_t *p, size_t n) { return vt_json_hex_string(p, n); }

/* ---- TDX / SGX ---- */

static const char *const TDX_VERIFY_KEYS[] = {
    "tee", "verified", "emulated", "tcb_status", "advisory_ids", "platform_tcb_status", "qe_tcb_status",
    "tdx_module_tcb_status", "tcb_date", "collateral_expiry", "revocation_checked", "fmspc", "pce_id", "pce_svn",
    "sgx_tcb_components", "sgx_type", "platform_instance_id", "pck_issuer", "checks", "qe_mr_signer", "qe_isv_svn",
    "header_user_data", "quote_version", "body_type"};

static json_t *sgx_report_fields(const vt_sgx_report *s)
{
    return json_pack("{so so so sI sI so so sI so sI so so so}", "CPUSVN", hexj(s->cpu_svn, 16), "ATTRIBUTES",
                     hexj(s->attributes, 16), "ATTRIBUTES.DEBUG", json_boolean(s->attributes[0] & 0x02), "MISCSELECT",
                     (json_int_t)s->misc_select, "ISVPRODID", (json_int_t)s->isv_prod_id, "MRENCLAVE",
                     hexj(s->mr_enclave, 32), "MRSIGNER", hexj(s->mr_signer, 32), "ISVSVN", (json_int_t)s->isv_svn,
                     "CONFIGID", hexj(s->config_id, 64), "CONFIGSVN", (json_int_t)s->config_svn, "ISVEXTPRODID",
                     hexj(s->isv_ext_prod_id, 16), "ISVFAMILYID", hexj(s->isv_family_id, 16), "REPORTDATA",
                     hexj(s->report_data, 64));
}

static vt_err decode_tdx(const uint8_t *ev, size_t len, json_t *groups, STACK_OF(X509) **chain, vt_error *err)
{
    vt_tdx_quote q;
    VT_GUARD(vt_tdx_quote_parse(ev, len, &q, err));
    bool td = vt_tdx_quote_is_td(&q);
    json_t *h = json_pack("{sI sI ss sI sI so so}", "Version", (json_int_t)q.version, "Attestation Key Type",
                          (json_int_t)q.att_key_type, "TEE Type", td ? "0x81 (TDX)" : "0x00 (SGX)", "QE SVN",
                          (json_int_t)q.qe_svn, "PCE SVN", (json_int_t)q.pce_svn, "QE Vendor ID",
                          hexj(q.qe_vendor_id, 16), "User Data", hexj(q.user_data, 20));
    if (q.version == 5) {
        json_object_set_new(h, "Body Type", json_integer(q.body_type));
        json_object_set_new(h, "Body Size", json_integer(q.body_size));
    }
    group(groups, "Quote Header", "Intel TDX DCAP Quoting Library API, A.3.1 / SGX ECDSA Quote v3 A.4", h);
    if (td) {
        /* the body fields, through the TDX decoder, with everything verification adds left out */
        vt_tdx_result *r = calloc(1, sizeof *r);
        if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
        r->quote = q;
        json_t *b = vt_tdx_result_json(r);
        free(r);
        for (size_t i = 0; b && i < sizeof TDX_VERIFY_KEYS / sizeof *TDX_VERIFY_KEYS; i++)
            json_object_del(b, TDX_VERIFY_KEYS[i]);
        json_t *attrs = json_object();
        static const char *const A[] = {"debug", "sept_ve_disable", "pks", "key_locker", "perfmon"};
        for (size_t i = 0; b && i < 5; i++) {
            json_object_set(attrs, A[i], json_object_get(b, A[i]));
            json_object_del(b, A[i]);
        }
        group(groups, q.version == 5 && q.body_type == 3 ? "TD Quote Body (TDX 1.5)" : "TD Quote Body (TDX 1.0)",
              "Intel TDX DCAP Quoting Library API, A.3.2 (TD Quote Body)", b);
        group(groups, "TD_ATTRIBUTES (decoded)", "Intel TDX Module ABI, TDATTRIBUTES", attrs);
    } else {
        group(groups, "ISV Enclave Report Body", "SGX ECDSA Quote v3, A.4 (Report Body)", sgx_report_fields(&q.enclave));
    }
    json_t *sig = json_pack("{so so}", "ECDSA Signature", hexj(q.signature, 64), "ECDSA Attestation Key", hexj(q.attest_key, 64));
    group(groups, "Quote Signature Data", "A.4.1 (ECDSA 256-bit Quote Signature Data)", sig);
    group(groups, "QE Report", "A.4.1 (QE Report: SGX Report Body of the Quoting Enclave)", sgx_report_fields(&q.qe_report));
    json_t *cert = json_pack("{sI sI}", "QE Authentication Data size", (json_int_t)q.qe_auth_data.len,
                             "PCK certificate chain (PEM) size", (json_int_t)q.pck_chain.len);
    if (q.trailing) json_object_set_new(cert, "Trailing bytes (unsigned)", json_integer((json_int_t)q.trailing));
    if (q.pck_chain.len > 0) {
        vt_error e2 = {0};
        if (vt_pem_certs(q.pck_chain.ptr, q.pck_chain.len, chain, &e2) == VT_OK && sk_X509_num(*chain) > 0) {
            vt_sgx_pck_ext x;
            if (vt_sgx_pck_ext_parse(sk_X509_value(*chain, 0), &x, &e2) == VT_OK) {
                json_object_set_new(cert, "FMSPC", hexj(x.fmspc, 6));
                json_object_set_new(cert, "PCE ID", hexj(x.pce_id, 2));
                json_object_set_new(cert, "PCK PCESVN", json_integer(x.pce_svn));
                json_object_set_new(cert, "PCK CPUSVN components", hexj(x.comp_svn, 16));
                json_object_set_new(cert, "SGX Type", json_integer(x.sgx_type));
            }
        }
    }
    group(groups, "Certification Data", "A.4.7 (type 5: PCK certificate chain) and the PCK SGX Extensions", cert);
    return VT_OK;
}

/* ---- SEV-SNP ---- */

static const char *const SNP_GUEST[] = {"version", "guest_svn", "policy", "family_id", "image_id", "vmpl",
                                        "report_data", "measurement", "host_data", "id_key_digest",
                                        "author_key_digest", "report_id", "report_id_ma"};
static const char *const SNP_PLATFORM[] = {"signature_algo", "current_tcb", "platform_info", "author_key_en",
                                           "mask_chip_key", "signing_key", "reported_tcb", "cpuid_fam_id",
                                           "cpuid_mod_id", "cpuid_step", "chip_id", "committed_tcb",
                                           "current_version", "committed_version", "launch_tcb",
                                           "launch_mit_vector", "current_mit_vector"};

static json_t *pick(json_t *from, const char *const *keys, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(from, keys[i]);
        if (v) json_object_set(o, keys[i], v);
    }
    return o;
}

static vt_err decode_snp(const vt_verify_sources *s, const uint8_t *ev, size_t len, json_t *groups,
                         STACK_OF(X509) **chain, vt_error *err)
{
    vt_bytes rep, tab;
    vt_snp_report r;
    VT_GUARD(vt_snp_evidence_split(ev, len, &rep, &tab, err));
    VT_GUARD(vt_snp_report_parse(rep.ptr, rep.len, &r, err));
    vt_snp_product p = VT_SNP_PRODUCT_UNKNOWN;
    if (r.has_cpuid) p = vt_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
    if (p == VT_SNP_PRODUCT_UNKNOWN && s->snp_product) {
        vt_error e2;
        if (vt_snp_product_parse(s->snp_product, &p, &e2) != VT_OK) p = VT_SNP_PRODUCT_UNKNOWN;
    }
    json_t *j = vt_snp_report_json(&r, p);
    if (j == NULL) return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    json_t *g = pick(j, SNP_GUEST, sizeof SNP_GUEST / sizeof *SNP_GUEST);
    json_object_set_new(g, "product (from CPUID)", json_string(vt_snp_product_name(p)));
    group(groups, "Guest", "SEV-SNP Firmware ABI, Table 23 ATTESTATION_REPORT (guest-provided and launch fields)", g);
    group(groups, "Platform and TCB", "SEV-SNP Firmware ABI, Table 23 (platform fields), TCB_VERSION, PLATFORM_INFO",
          pick(j, SNP_PLATFORM, sizeof SNP_PLATFORM / sizeof *SNP_PLATFORM));
    json_t *sig = json_object_get(j, "signature");
    group(groups, "Signature", "SEV-SNP Firmware ABI, Table 139 (ECDSA P-384 with SHA-384)", sig ? json_incref(sig) : NULL);
    json_decref(j);
    json_t *ct = json_object();
    json_object_set_new(ct, "present", json_boolean(tab.len > 0));
    if (tab.len > 0) {
        vt_snp_certtable t;
        vt_error e2 = {0};
        if (vt_snp_certtable_parse(tab.ptr, tab.len, &t, &e2) == VT_OK) {
            json_t *ents = json_array();
            for (size_t i = 0; i < t.n; i++) {
                json_array_append_new(ents, json_pack("{ss so sI}", "kind", vt_snp_cert_kind_name(t.entries[i].kind),
                                                      "guid", hexj(t.entries[i].guid, 16), "length",
                                                      (json_int_t)t.entries[i].data.len));
                X509 *c = NULL;
                if (t.entries[i].kind != VT_SNP_CERT_CRL &&
                    vt_cert_parse(t.entries[i].data.ptr, t.entries[i].data.len, &c, &e2) == VT_OK) {
                    if (*chain == NULL) *chain = sk_X509_new_null();
                    if (*chain == NULL || !sk_X509_push(*chain, c)) X509_free(c);
                }
            }
            json_object_set_new(ct, "entries", ents);
        } else {
            json_object_set_new(ct, "error", json_string(e2.msg));
        }
    }
    group(groups, "Certificate table", "GHCB spec, SNP extended guest request (certificate table GUIDs)", ct);
    return VT_OK;
}

/* ---- CCA ---- */

static vt_err decode_cca(const uint8_t *ev, size_t len, json_t *groups, vt_error *err)
{
    vt_cca_token t;
    VT_GUARD(vt_cca_token_parse(ev, len, &t, err));
    json_t *j = vt_cca_claims_json(&t);
    if (j == NULL) return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    json_t *top = json_pack("{sO sO sO sO}", "collection_tag", json_object_get(j, "collection_tag"), "profile",
                            json_object_get(j, "profile"), "platform_alg", json_object_get(j, "platform_alg"),
                            "realm_alg", json_object_get(j, "realm_alg"));
    group(groups, "CCA attestation token", "Arm CCA Security Model (DEN0096) / RMM spec A7.2, CBOR tag 399 or 907", top);
    json_t *pl = json_object_get(j, "platform");
    json_t *re = json_object_get(j, "realm");
    group(groups, "Platform claims", "Arm CCA platform token (PSA profile claims)", pl ? json_incref(pl) : NULL);
    group(groups, "Realm claims", "RMM spec A7.2.3 (Realm token claims)", re ? json_incref(re) : NULL);
    json_decref(j);
    return VT_OK;
}

/* ---- chain of trust ---- */

/* Certificates from the files of a directory (PEM bundles or DER), added to *all. */
static void dir_certs(const char *dir, STACK_OF(X509) **all)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    for (int n = 0; d && n < 64 && (de = readdir(d)) != NULL; n++) {
        if (de->d_name[0] == '.') continue;
        char p[512];
        vt_buf b = {0};
        vt_error e = {0};
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (vt_file_read(p, 1u << 20, &b, &e) != VT_OK) continue;
        STACK_OF(X509) *sk = NULL;
        X509 *one = NULL;
        if (*all == NULL) *all = sk_X509_new_null();
        if (*all && vt_pem_certs(b.ptr, b.len, &sk, &e) == VT_OK) {
            while (sk_X509_num(sk) > 0) {
                X509 *c = sk_X509_shift(sk);
                if (!sk_X509_push(*all, c)) X509_free(c);
            }
        } else if (*all && vt_cert_parse(b.ptr, b.len, &one, &e) == VT_OK) {
            if (!sk_X509_push(*all, one)) X509_free(one);
        }
        sk_X509_pop_free(sk, X509_free);
        vt_buf_free(&b);
    }
    if (d) closedir(d);
}

/* The path from the SNP signing certificate (VCEK/VLEK) up through its issuers, from the pool. */
static STACK_OF(X509) *snp_path(STACK_OF(X509) *pool)
{
    STACK_OF(X509) *out = sk_X509_new_null();
    X509 *cur = NULL;
    for (int i = 0; pool && i < sk_X509_num(pool) && cur == NULL; i++) {
        char cn[128];
        vt_x509_subject_cn(sk_X509_value(pool, i), cn, sizeof cn);
        if (strstr(cn, "VCEK") || strstr(cn, "VLEK")) cur = sk_X509_value(pool, i);
    }
    for (int depth = 0; out && cur && depth < 6; depth++) {
        if (X509_up_ref(cur) != 1 || !sk_X509_push(out, cur)) break;
        if (X509_check_issued(cur, cur) == X509_V_OK) break;
        X509 *next = NULL;
        for (int i = 0; i < sk_X509_num(pool) && next == NULL; i++)
            if (sk_X509_value(pool, i) != cur && X509_check_issued(sk_X509_value(pool, i), cur) == X509_V_OK)
                next = sk_X509_value(pool, i);
        cur = next;
    }
    return out;
}

static bool pinned(const uint8_t fp[32], const char *tee)
{
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) return CRYPTO_memcmp(fp, VT_TDX_INTEL_ROOT_SHA256, 32) == 0;
    size_t n = 0;
    const vt_snp_ark_pin *p = vt_snp_builtin_ark_pins(&n);
    for (size_t i = 0; i < n; i++)
        if (CRYPTO_memcmp(fp, p[i].sha256, 32) == 0) return true;
    return false;
}

static bool in_stack(STACK_OF(X509) *sk, X509 *c)
{
    for (int i = 0; sk && i < sk_X509_num(sk); i++)
        if (X509_cmp(sk_X509_value(sk, i), c) == 0) return true;
    return false;
}

/* trusted: the certificates of the trust directory given (may be NULL). */
static json_t *chain_json(STACK_OF(X509) *chain, STACK_OF(X509) *trusted, const char *tee, vt_time at,
                          const vt_checks *checks)
{
    json_t *a = json_array();
    char crl[260] = "unknown";
    for (size_t i = 0; checks && i < checks->n; i++)
        if (strstr(checks->items[i].name, "crl") || strstr(checks->items[i].name, "revocation") ||
            (strstr(checks->items[i].detail, "CRL") && strcmp(crl, "unknown") == 0))
            snprintf(crl, sizeof crl, "%s: %s", vt_check_status_name(checks->items[i].status), checks->items[i].detail);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        char sub[256], iss[256], nb[21], na[21];
        uint8_t fp[32];
        vt_time t1 = 0, t2 = 0;
        vt_error e;
        vt_x509_subject_cn(c, sub, sizeof sub);
        vt_x509_issuer_cn(c, iss, sizeof iss);
        if (vt_x509_validity(c, &t1, &t2, &e) != VT_OK) t1 = t2 = 0;
        vt_time_format(t1, nb);
        vt_time_format(t2, na);
        if (vt_x509_sha256(c, fp, &e) != VT_OK) memset(fp, 0, sizeof fp);
        bool self = X509_check_issued(c, c) == X509_V_OK;
        bool pin = self && pinned(fp, tee), given = in_stack(trusted, c);
        json_array_append_new(a, json_pack("{ss ss ss ss sb ss so sb sb sb ss ss*}", "subject", sub, "issuer", iss,
                                           "not_before", nb, "not_after", na, "valid_at_instant", t1 <= at && at <= t2,
                                           "window", at < t1 ? "not yet valid" : at > t2 ? "expired" : "valid",
                                           "sha256", hexj(fp, 32), "self_signed", self, "pinned", pin,
                                           "emulated", vt_x509_is_emulated(c), "crl", crl, "anchor",
                                           pin ? "built-in pin" : given ? "trust anchor given" : NULL));
    }
    return a;
}

/* ---- the verification step, through one adapter ----
 * The library's one entry, vt_verify(verifier, evidence, {tee, at, nonce, certs}) -> claims +
 * checks, with a verifier built from the request's sources for this call (nothing is kept). */
static vt_err verify_adapter(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                             const vt_ui_explore_in *in, vt_claims *claims, vt_checks *checks, vt_error *err)
{
    vt_verifier *v = NULL;
    vt_verify_result *r = calloc(1, sizeof *r);
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    vt_verify_opts o = {.tee = tee, .at = in->at, .nonce = in->nonce, .nonce_len = in->nonce_len,
                        .certs = strcmp(tee, "snp") == 0 ? s->snp_certs : NULL};
    vt_err rc = vt_verifier_new(s, &v, err);
    if (rc == VT_OK) rc = vt_verify(v, ev, len, &o, r, err);
    *checks = r->checks;
    if (rc == VT_OK) *claims = r->claims;
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
    return rc;
}

static json_t *tcb_json(const json_t *claims)
{
    json_t *o = json_object();
    static const char *const K[] = {"tcb_status", "platform_tcb_status", "qe_tcb_status", "tdx_module_tcb_status",
                                    "tcb_date", "advisory_ids", "collateral_expiry", "revocation_checked"};
    const json_t *src = claims;
    for (int pass = 0; pass < 2 && src; pass++) {
        for (size_t i = 0; i < sizeof K / sizeof *K; i++) {
            json_t *v = json_object_get(src, K[i]);
            if (v && !json_object_get(o, K[i])) json_object_set(o, K[i], v);
        }
        src = json_object_get(claims, "tee_claims");
    }
    return o;
}

static json_t *appraise_json(const vt_ui_explore_in *in, const vt_claims *claims, bool verified, const vt_error *verr)
{
    vt_policy p;
    vt_error e = {0};
    vt_refvals rv;
    vt_refvals_init(&rv);
    json_t *o = json_object();
    if (vt_policy_parse(in->policy_text, strlen(in->policy_text), &p, &e) != VT_OK) {
        json_object_set_new(o, "error", json_string(e.msg));
        json_object_set_new(o, "error_path", json_string(e.check));
        vt_refvals_free(&rv);
        return o;
    }
    if (in->refvals_text && vt_refvals_load_mem(&rv, in->refvals_text, strlen(in->refvals_text), "explore", &e) != VT_OK) {
        json_object_set_new(o, "error", json_string(e.msg));
        json_object_set_new(o, "error_path", json_string(e.check));
        vt_policy_free(&p);
        vt_refvals_free(&rv);
        return o;
    }
    vt_appraisal *ap = calloc(1, sizeof *ap);
    if (ap == NULL) goto out;
    vt_appraise_ctx ctx = {.at = in->at, .refvals = in->refvals_text ? &rv : NULL, .report_data = in->nonce,
                           .report_data_len = in->nonce_len};
    if (!verified) vt_appraisal_rejected(p.id, verr, ap);
    else if (vt_policy_appraise(&p, claims, &ctx, ap, &e) != VT_OK) {
        json_object_set_new(o, "error", json_string(e.msg));
        goto out;
    }
    json_object_set_new(o, "policy_id", json_string(ap->policy_id));
    json_object_set_new(o, "status", json_string(vt_ear_status_name(ap->status)));
    json_object_set_new(o, "checks", vt_appraisal_checks_json(ap));
    json_object_set_new(o, "vector", vt_appraisal_vector_json(ap));
out:
    free(ap);
    vt_policy_free(&p);
    vt_refvals_free(&rv);
    return o;
}

vt_err vt_ui_analyze(const vt_verify_sources *s, const vt_ui_explore_in *in, const uint8_t *ev, size_t len,
                     json_t **out, vt_error *err)
{
    *out = NULL;
    const char *tee = in->tee ? in->tee : vt_evidence_detect(ev, len);
    if (tee == NULL) return vt_error_set(err, VT_E_INVALID, "ui.evidence", "not TDX/SGX quote, SNP report or CCA token evidence");
    vt_tee kind;
    if (vt_tee_parse(tee, &kind, NULL) == VT_OK && vt_tee_has_tpm(kind))
        return vt_error_set(err, VT_E_UNSUPPORTED, "ui.evidence",
                            "%s evidence is not shown by the explorer yet: use veritee verify (docs/azure.md)", tee);
    json_t *o = json_object(), *groups = json_array();
    if (o == NULL || groups == NULL) {
        json_decref(o);
        json_decref(groups);
        return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    }
    char at[21];
    vt_time_format(in->at, at);
    json_object_set_new(o, "tee", json_string(tee));
    json_object_set_new(o, "size", json_integer((json_int_t)len));
    json_object_set_new(o, "at", json_string(at));
    STACK_OF(X509) *chain = NULL;
    vt_error de = {0};
    vt_err drc = strcmp(tee, "snp") == 0   ? decode_snp(s, ev, len, groups, &chain, &de)
                 : strcmp(tee, "cca") == 0 ? decode_cca(ev, len, groups, &de)
                                           : decode_tdx(ev, len, groups, &chain, &de);
    json_object_set_new(o, "decoded", groups);
    if (drc != VT_OK) json_object_set_new(o, "decode_error", json_pack("{ss ss}", "check", de.check, "detail", de.msg));
    vt_verify_sources src = *s;
    if (strcmp(tee, "snp") == 0 && chain != NULL && src.snp_certs == NULL) src.snp_certs = chain;
    vt_claims *claims = calloc(1, sizeof *claims);
    vt_checks *checks = calloc(1, sizeof *checks);
    vt_error ve = {0};
    vt_err vrc = VT_E_NOMEM;
    if (claims && checks) vrc = verify_adapter(&src, tee, ev, len, in, claims, checks, &ve);
    json_t *v = json_object();
    json_object_set_new(v, "result", json_string(vrc == VT_OK ? "verified" : "rejected"));
    if (vrc != VT_OK) {
        json_object_set_new(v, "error", json_string(ve.msg));
        json_object_set_new(v, "error_check", json_string(ve.check));
        json_object_set_new(v, "error_code", json_string(vt_code_name(vrc)));
        json_object_set_new(v, "missing_collateral", json_boolean(vrc == VT_E_MISSING));
    }
    json_object_set_new(v, "checks", checks ? vt_checks_json(checks) : json_array());
    json_object_set_new(o, "verification", v);
    json_t *cj = vrc == VT_OK ? vt_claims_json(claims) : NULL;
    json_object_set_new(o, "claims", cj ? cj : json_null());
    json_object_set_new(o, "tcb", tcb_json(cj));
    STACK_OF(X509) *trusted = NULL;
    dir_certs(s->trust_dir, &trusted);
    if (strcmp(tee, "snp") == 0) {
        /* the certificates that came with the evidence and those the verifier was given */
        STACK_OF(X509) *pool = NULL;
        for (int i = 0; chain && i < sk_X509_num(chain); i++) {
            if (pool == NULL) pool = sk_X509_new_null();
            if (pool && X509_up_ref(sk_X509_value(chain, i)) == 1 && !sk_X509_push(pool, sk_X509_value(chain, i)))
                X509_free(sk_X509_value(chain, i));
        }
        dir_certs(s->certs_dir, &pool);
        dir_certs(s->collateral_dir, &pool);
        dir_certs(s->trust_dir, &pool);
        STACK_OF(X509) *path = snp_path(pool);
        sk_X509_pop_free(pool, X509_free);
        json_object_set_new(o, "chain", chain_json(path, trusted, tee, in->at, checks));
        sk_X509_pop_free(path, X509_free);
    } else {
        json_object_set_new(o, "chain", chain_json(chain, trusted, tee, in->at, checks));
    }
    sk_X509_pop_free(trusted, X509_free);
    if (in->policy_text) json_object_set_new(o, "appraisal", appraise_json(in, claims, vrc == VT_OK, &ve));
    sk_X509_pop_free(chain, X509_free);
    free(claims);
    free(checks);
    *out = o;
    return VT_OK;
}
