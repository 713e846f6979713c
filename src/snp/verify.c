/* SEV-SNP report verification (SEV-SNP Firmware ABI spec 56860 "ATTESTATION_REPORT" and
 * "Signature Format"; AMD VCEK spec 57230): sanity, leaf selection by SIGNING_KEY, product, the
 * chain to a trusted ARK, validity, revocation, VCEK extensions = report, report signature. */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "snp_internal.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"

static vt_err sanity(const vt_snp_report *r, vt_checks *checks, vt_error *err)
{
    vt_check_pass(checks, "report_version", "version %u", r->version);
    if (r->signature_algo != VT_SNP_SIG_ALGO_ECDSA_P384_SHA384)
        return vt_check_fail(checks, err, "signature_algorithm", VT_E_UNSUPPORTED,
                             "SIGNATURE_ALGO %u is not ECDSA P-384 with SHA-384 (1)", r->signature_algo);
    vt_check_pass(checks, "signature_algorithm", "ECDSA P-384 with SHA-384");
    if (r->vmpl > VT_SNP_VMPL_MAX)
        return vt_check_fail(checks, err, "vmpl", VT_E_VERIFY, "VMPL %u is outside 0..%u", r->vmpl, VT_SNP_VMPL_MAX);
    vt_check_pass(checks, "vmpl", "VMPL %u", r->vmpl);
    vt_check_pass(checks, "policy_reserved",
                  "policy 0x%llx: bit 17 set, bits 63:26 clear", (unsigned long long)r->policy.raw);
    if (r->signing_key == VT_SNP_KEY_NONE)
        return vt_check_fail(checks, err, "signing_key", VT_E_VERIFY, "report is not signed (SIGNING_KEY none)");
    if (r->mask_chip_key)
        return vt_check_fail(checks, err, "signing_key", VT_E_VERIFY,
                             "MASK_CHIP_KEY is set: the report carries no signature");
    return VT_OK;
}

/* The VCEK (SIGNING_KEY 0) or VLEK (1) among the supplied certificates. */
static vt_err pick_leaf(const vt_snp_report *r, const vt_snp_collateral *coll,
                        STACK_OF(X509) *extra, X509 **out, vt_checks *checks, vt_error *err)
{
    snp_role want = r->signing_key == VT_SNP_KEY_VLEK ? SNP_ROLE_VLEK : SNP_ROLE_VCEK;
    snp_role other = want == SNP_ROLE_VLEK ? SNP_ROLE_VCEK : SNP_ROLE_VLEK;
    bool saw_other = false;
    int n = extra ? sk_X509_num(extra) : 0;
    for (int i = -1; i < n; i++) {
        X509 *c = i < 0 ? (coll ? coll->leaf : NULL) : sk_X509_value(extra, i);
        if (c == NULL) continue;
        snp_class k;
        snp_cert_classify(c, &k);
        if (k.role == want) {
            *out = c;
            vt_check_pass(checks, "signing_key", "SIGNING_KEY %u (%s), %s supplied",
                          (unsigned)r->signing_key, snp_role_name(want), snp_role_name(want));
            return VT_OK;
        }
        if (k.role == other) saw_other = true;
    }
    if (saw_other)
        return vt_check_fail(checks, err, "signing_key", VT_E_VERIFY,
                             "report is signed by the %s (SIGNING_KEY %u) but only a %s certificate was supplied",
                             snp_role_name(want), (unsigned)r->signing_key, snp_role_name(other));
    return vt_check_fail(checks, err, "signing_key", VT_E_MISSING, "no %s certificate supplied",
                         snp_role_name(want));
}

static vt_err product(const vt_snp_report *r, const vt_snp_verify_opts *o, X509 *leaf,
                      vt_snp_product *out, vt_checks *checks, vt_error *err)
{
    vt_snp_product rp = VT_SNP_PRODUCT_UNKNOWN;
    bool cpuid = r->has_cpuid && (r->cpuid_fam_id | r->cpuid_mod_id | r->cpuid_step) != 0;
    if (cpuid) {
        rp = vt_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
        if (rp == VT_SNP_PRODUCT_UNKNOWN)
            return vt_check_fail(checks, err, "product", VT_E_UNSUPPORTED,
                                 "CPUID family %02Xh model %02Xh is not a known SEV-SNP product",
                                 r->cpuid_fam_id, r->cpuid_mod_id);
    }
    if (rp != VT_SNP_PRODUCT_UNKNOWN && o->product != VT_SNP_PRODUCT_UNKNOWN && rp != o->product)
        return vt_check_fail(checks, err, "product", VT_E_VERIFY, "report CPUID names %s, the expected product is %s",
                             vt_snp_product_name(rp), vt_snp_product_name(o->product));
    snp_class k;
    snp_cert_classify(leaf, &k);
    vt_snp_product p = rp ? rp : o->product ? o->product : k.product;
    const char *src = rp ? "report CPUID" : o->product ? "argument" : "certificate issuer";
    if (k.product != p)
        return vt_check_fail(checks, err, "product", VT_E_VERIFY,
                             "%s is issued for %s but the report is from a %s part",
                             snp_role_name(k.role), vt_snp_product_name(k.product), vt_snp_product_name(p));
    vt_check_pass(checks, "product", "%s (from the %s)", vt_snp_product_name(p), src);
    *out = p;
    return VT_OK;
}

static void chain_checks(const snp_chain *c, vt_checks *checks)
{
    char ark[96], ask[96], hex[17];
    vt_x509_subject_cn(c->ark, ark, sizeof ark);
    vt_x509_subject_cn(c->ask, ask, sizeof ask);
    vt_hex_encode(c->ark_sha256, 8, hex);
    vt_check_pass(checks, "ark_trusted",
                  "%s self-signed (RSA-PSS), sha256 %s... trusted", ark, hex);
    vt_check_pass(checks, "ask_signed_by_ark", "%s signed by %s (RSA-PSS)", ask, ark);
    vt_check_pass(checks, "leaf_signed_by_ask", "%s signed by %s (RSA-PSS)",
                  snp_role_name(c->leaf_role), ask);
}

static vt_err validity(const snp_chain *c, vt_time at, vt_checks *checks, vt_error *err)
{
    char t1[21], t2[21], at_s[21];
    vt_time_format(at, at_s);
    if (vt_valid_at(at, c->not_before, c->not_after)) {
        vt_time_format(c->not_after, t2);
        vt_check_pass(checks, "cert_validity", "chain valid at %s (until %s)", at_s, t2);
        return VT_OK;
    }
    X509 *certs[3] = {c->leaf, c->ask, c->ark};
    for (int i = 0; i < 3; i++) {
        vt_time nb, na;
        VT_GUARD(vt_x509_validity(certs[i], &nb, &na, err));
        if (vt_valid_at(at, nb, na)) continue;
        char cn[96];
        vt_x509_subject_cn(certs[i], cn, sizeof cn);
        vt_time_format(nb, t1);
        vt_time_format(na, t2);
        return vt_check_fail(checks, err, "cert_validity", VT_E_EXPIRED,
                             "certificate \"%s\" is %s at %s (valid %s..%s)", cn,
                             at < nb ? "not yet valid" : "expired", at_s, t1, t2);
    }
    return vt_check_fail(checks, err, "cert_validity", VT_E_EXPIRED, "certificate chain is not valid at %s", at_s);
}

static vt_err product_name(const snp_chain *c, vt_snp_product p, vt_checks *checks, vt_error *err)
{
    const char *want = vt_snp_product_name(p), *got = c->ext.product_name;
    size_t n = strlen(want);
    if (got[0] == '\0') {
        vt_check_skip(checks, "product_name", "no productName extension");
        return VT_OK;
    }
    if (strncmp(got, want, n) != 0 || (got[n] != '\0' && got[n] != '-'))
        return vt_check_fail(checks, err, "product_name", VT_E_VERIFY,
                             "certificate productName \"%s\" is not %s", got, want);
    vt_check_pass(checks, "product_name", "productName %s", got);
    return VT_OK;
}

static vt_err chip_id(const vt_snp_report *r, const snp_chain *c, vt_checks *checks, vt_error *err)
{
    if (c->leaf_role == SNP_ROLE_VLEK) {
        vt_check_skip(checks, "chip_id", "VLEK: not bound to a chip");
        return VT_OK;
    }
    if (vt_bytes_is_zero(r->chip_id, 64)) {
        vt_check_skip(checks, "chip_id", "CHIP_ID masked (all zero)");
        return VT_OK;
    }
    size_t n = c->ext.hwid_len;
    if (n == 0) return vt_check_fail(checks, err, "chip_id", VT_E_VERIFY, "VCEK has no hwID extension");
    if (!vt_ct_eq(r->chip_id, c->ext.hwid, n) || !vt_bytes_is_zero(r->chip_id + n, 64 - n)) {
        char a[17], b[17];
        vt_hex_encode(r->chip_id, 8, a);
        vt_hex_encode(c->ext.hwid, 8, b);
        return vt_check_fail(checks, err, "chip_id", VT_E_VERIFY, "CHIP_ID %s... is not the VCEK's hwID %s...", a, b);
    }
    vt_check_pass(checks, "chip_id", "CHIP_ID = VCEK hwID (%zu bytes)", n);
    return VT_OK;
}

static vt_err tcb_field(const char *name, bool has, uint8_t cert, uint8_t report, vt_checks *checks,
                        vt_error *err)
{
    if (!has) return vt_check_fail(checks, err, "reported_tcb", VT_E_VERIFY, "certificate has no %s extension", name);
    if (cert != report)
        return vt_check_fail(checks, err, "reported_tcb", VT_E_VERIFY,
                             "REPORTED_TCB does not match the certificate: %s is %u in the report, %u in the "
                             "certificate", name, report, cert);
    return VT_OK;
}

static vt_err reported_tcb(const vt_snp_report *r, const snp_chain *c, vt_snp_product p,
                           vt_checks *checks, vt_error *err)
{
    vt_snp_tcb t;
    vt_snp_tcb_decode(r->reported_tcb, p, &t);
    const vt_snp_cert_ext *x = &c->ext;
    if (p == VT_SNP_TURIN) VT_GUARD(tcb_field("fmcSPL", x->has_fmc, x->fmc_spl, t.fmc, checks, err));
    VT_GUARD(tcb_field("blSPL", x->has_bl, x->bl_spl, t.boot_loader, checks, err));
    VT_GUARD(tcb_field("teeSPL", x->has_tee, x->tee_spl, t.tee, checks, err));
    VT_GUARD(tcb_field("snpSPL", x->has_snp, x->snp_spl, t.snp, checks, err));
    VT_GUARD(tcb_field("ucodeSPL", x->has_ucode, x->ucode_spl, t.microcode, checks, err));
    char fmc[16] = "";
    if (t.has_fmc) snprintf(fmc, sizeof fmc, "fmc %u ", t.fmc);
    vt_check_pass(checks, "reported_tcb",
                  "REPORTED_TCB %016llx = certificate SPLs (%sbl %u tee %u snp %u ucode %u)",
                  (unsigned long long)r->reported_tcb, fmc, t.boot_loader, t.tee, t.snp,
                  t.microcode);
    return VT_OK;
}

static vt_err signature(const uint8_t *raw, const vt_snp_report *r, const snp_chain *c,
                        vt_checks *checks, vt_error *err)
{
    uint8_t d[48], sig[96];
    VT_GUARD(vt_hash(VT_SHA384, raw, VT_SNP_SIGNED_SIZE, d, err));
    memcpy(sig, r->sig_r, 48);
    memcpy(sig + 48, r->sig_s, 48);
    vt_error e;
    if (vt_ecdsa_verify_digest_raw(c->leaf_key, d, sizeof d, sig, sizeof sig, "SNP report", &e) != VT_OK)
        return vt_check_fail(checks, err, "report_signature", VT_E_VERIFY,
                             "report signature does not verify with the %s public key", snp_role_name(c->leaf_role));
    vt_check_pass(checks, "report_signature", "ECDSA P-384 over bytes 0x000..0x29F");
    return VT_OK;
}

static vt_err report_data(const vt_snp_report *r, const vt_snp_verify_opts *o, vt_checks *checks,
                          vt_error *err)
{
    if (o->report_data == NULL) {
        vt_check_skip(checks, "report_data", "no expected REPORT_DATA given");
        return VT_OK;
    }
    size_t n = o->report_data_len;
    if (n == 0 || n > 64)
        return vt_check_fail(checks, err, "report_data", VT_E_ARG, "expected REPORT_DATA has %zu bytes (1..64)", n);
    if (!vt_ct_eq(r->report_data, o->report_data, n) || !vt_bytes_is_zero(r->report_data + n, 64 - n))
        return vt_check_fail(checks, err, "report_data", VT_E_VERIFY,
                             "REPORT_DATA does not hold the expected %zu-byte value%s", n,
                             n < 64 ? " followed by zeros" : "");
    vt_check_pass(checks, "report_data", "REPORT_DATA = expected (%zu bytes)", n);
    return VT_OK;
}

static void fill_claims(vt_snp_claims *cl, const vt_snp_report *r, const snp_chain *c,
                        vt_snp_product p)
{
    memset(cl, 0, sizeof *cl);
    cl->report = *r;
    cl->product = p;
    cl->signer = c->leaf_role == SNP_ROLE_VLEK ? VT_SNP_KEY_VLEK : VT_SNP_KEY_VCEK;
    vt_snp_tcb_decode(r->current_tcb, p, &cl->current_tcb);
    vt_snp_tcb_decode(r->reported_tcb, p, &cl->reported_tcb);
    vt_snp_tcb_decode(r->committed_tcb, p, &cl->committed_tcb);
    vt_snp_tcb_decode(r->launch_tcb, p, &cl->launch_tcb);
    cl->leaf_ext = c->ext;
    memcpy(cl->ark_sha256, c->ark_sha256, 32);
    cl->chain_not_before = c->not_before;
    cl->chain_not_after = c->not_after;
    cl->emulated = vt_x509_is_emulated(c->ark);
}

/* Certificates and CRLs of the call: collateral plus the evidence's certificate table. */
static vt_err gather(const vt_snp_collateral *coll, vt_bytes table, STACK_OF(X509) *certs,
                     STACK_OF(X509_CRL) *crls, vt_checks *checks, vt_error *err)
{
    for (int i = 0; coll && coll->certs && i < sk_X509_num(coll->certs); i++) {
        X509 *c = sk_X509_value(coll->certs, i);
        if (sk_X509_push(certs, c) <= 0) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        X509_up_ref(c);
    }
    for (int i = 0; coll && coll->crls && i < sk_X509_CRL_num(coll->crls); i++) {
        X509_CRL *c = sk_X509_CRL_value(coll->crls, i);
        if (sk_X509_CRL_push(crls, c) <= 0) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        X509_CRL_up_ref(c);
    }
    if (table.len == 0) return VT_OK;
    vt_snp_certtable t;
    vt_err rc = vt_snp_certtable_parse(table.ptr, table.len, &t, err);
    if (rc != VT_OK) return vt_check_step(checks, err, "certtable", rc, "%s", "");
    for (size_t i = 0; i < t.n; i++) {
        const vt_snp_cert_entry *e = &t.entries[i];
        if (e->kind == VT_SNP_CERT_OTHER) continue;
        if (e->kind == VT_SNP_CERT_CRL) {
            X509_CRL *crl = NULL;
            if (vt_crl_parse(e->data.ptr, e->data.len, &crl, err) != VT_OK)
                return vt_check_fail(checks, err, "certtable", VT_E_INVALID, "certificate table CRL does not decode");
            if (sk_X509_CRL_push(crls, crl) <= 0) {
                X509_CRL_free(crl);
                return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            }
            continue;
        }
        X509 *c = NULL;
        if (vt_cert_parse(e->data.ptr, e->data.len, &c, err) != VT_OK)
            return vt_check_fail(checks, err, "certtable", VT_E_INVALID, "certificate table %s entry does not decode",
                                 vt_snp_cert_kind_name(e->kind));
        if (sk_X509_push(certs, c) <= 0) {
            X509_free(c);
            return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        }
    }
    vt_check_pass(checks, "certtable", "%zu entries", t.n);
    return VT_OK;
}

static vt_err verify_report(vt_snp_verifier *v, const uint8_t *raw, const vt_snp_report *r,
                            const vt_snp_collateral *coll, STACK_OF(X509) *certs,
                            STACK_OF(X509_CRL) *crls, const vt_snp_verify_opts *o,
                            vt_snp_claims *claims, vt_checks *checks, vt_error *err)
{
    X509 *leaf = NULL;
    vt_snp_product p = VT_SNP_PRODUCT_UNKNOWN;
    snp_chain ch;
    memset(&ch, 0, sizeof ch);
    vt_err rc;
    VT_GUARD(sanity(r, checks, err));
    VT_GUARD(pick_leaf(r, coll, certs, &leaf, checks, err));
    VT_GUARD(product(r, o, leaf, &p, checks, err));
    VT_GUARD(snp_chain_get(v, leaf, certs, &ch, checks, err));
    chain_checks(&ch, checks);
    VT_GUARD_GOTO(validity(&ch, o->at, checks, err));
    VT_GUARD_GOTO(snp_chain_revocation(v, &ch, crls, o->at, o->crl_required, checks, err));
    VT_GUARD_GOTO(product_name(&ch, p, checks, err));
    VT_GUARD_GOTO(chip_id(r, &ch, checks, err));
    VT_GUARD_GOTO(reported_tcb(r, &ch, p, checks, err));
    VT_GUARD_GOTO(signature(raw, r, &ch, checks, err));
    VT_GUARD_GOTO(report_data(r, o, checks, err));
    if (claims != NULL) fill_claims(claims, r, &ch, p);
out:
    snp_chain_clear(&ch);
    return rc;
}

vt_err vt_snp_verify(vt_snp_verifier *v, const uint8_t *evidence, size_t len,
                     const vt_snp_collateral *coll, const vt_snp_verify_opts *opts,
                     vt_snp_claims *claims, vt_checks *checks, vt_error *err)
{
    if (v == NULL || evidence == NULL || opts == NULL)
        return vt_error_set(err, VT_E_ARG, "verify", "missing verifier, evidence or options");
    vt_bytes rep, table;
    vt_snp_report r;
    vt_err rc = vt_snp_evidence_split(evidence, len, &rep, &table, err);
    if (rc == VT_OK) rc = vt_snp_report_parse(rep.ptr, rep.len, &r, err);
    if (rc != VT_OK)
        return vt_check_step(checks, err, err != NULL && err->check[0] ? err->check : "report_parse", rc, "%s", "");
    vt_check_pass(checks, "report_parse", "%u-byte ATTESTATION_REPORT", VT_SNP_REPORT_SIZE);
    STACK_OF(X509) *certs = sk_X509_new_null();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    if (certs == NULL || crls == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    VT_GUARD_GOTO(gather(coll, table, certs, crls, checks, err));
    rc = verify_report(v, rep.ptr, &r, coll, certs, crls, opts, claims, checks, err);
out:
    sk_X509_pop_free(certs, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    return rc;
}
