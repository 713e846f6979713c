/* veritee verify --tee az-snp-vtpm | az-tdx-vtpm | tpm: Azure confidential VMs with a vTPM (the
 * evidence JSON the CoCo attester posts) and CoCo TPM evidence with a trusted AK. Trust: SNP
 * ASK/ARK PEMs (--trust, --certs), TDX Intel root and PCS collateral (--trust, --collateral),
 * TPM attestation keys (--trust FILE|DIR of PEM public keys or certificates). docs/azure.md. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/azure.h"
#include "veritee/certdir.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tpm.h"

/* A directory's certificates and CRLs into the SNP verifier, as --tee snp reads them (a shared
 * collateral directory's other files are told apart by name); trust=true: self-signed ARKs
 * become anchors. */
static vt_err snp_load(vt_snp_verifier *v, const char *path, bool trust, vt_error *e)
{
    vt_snp_dir_collateral c = {0};
    VT_GUARD(vt_snp_dir_collateral_load(path, &c, e));
    vt_err rc = VT_OK;
    for (int i = 0; rc == VT_OK && i < sk_X509_CRL_num(c.crls); i++)
        rc = vt_snp_verifier_add_crl(v, sk_X509_CRL_value(c.crls, i), e);
    for (int i = 0; rc == VT_OK && i < sk_X509_num(c.certs); i++)
        rc = trust ? vt_snp_verifier_add_trust_cert(v, sk_X509_value(c.certs, i), e)
                   : vt_snp_verifier_add_cert(v, sk_X509_value(c.certs, i), e);
    vt_snp_dir_collateral_free(&c);
    return rc;
}

/* --trust for tpm: one PEM file, or every *.pem of a directory. */
static vt_err tpm_add_file(vt_tpm_verifier *v, const char *path, vt_error *e)
{
    vt_buf b = {0};
    vt_err rc = vt_file_read(path, 1u << 20, &b, e);
    if (rc == VT_OK) rc = vt_tpm_verifier_add_pem(v, b.ptr, b.len, e);
    vt_buf_free(&b);
    return rc;
}

static vt_err tpm_trust(vt_tpm_verifier **v, const char *path, vt_error *e)
{
    VT_GUARD(vt_tpm_verifier_new(NULL, 0, v, e));
    if (path == NULL) return VT_OK;
    DIR *d = opendir(path);
    if (d == NULL) return tpm_add_file(*v, path, e);
    vt_err rc = VT_OK;
    struct dirent *de;
    while (rc == VT_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char p[4096];
        if (n < 5 || strcmp(de->d_name + n - 4, ".pem") != 0) continue;
        rc = vt_path_join(p, sizeof p, path, de->d_name, e);
        if (rc == VT_OK) rc = tpm_add_file(*v, p, e);
    }
    closedir(d);
    return rc;
}

static void print_text(const cli_verify_args *a, json_t *c, const vt_checks *ck)
{
    printf("%s: %s evidence VERIFIED\n", a->file, a->tee);
    cli_print_checks(stdout, ck);
    printf("claims:\n");
    const char *keys[] = {"report_data", "init_data"};
    for (int i = 0; i < 2; i++) {
        const char *s = json_string_value(json_object_get(c, keys[i]));
        if (s != NULL) printf("  %-16s%s\n", keys[i], s);
    }
    json_t *hw = json_object_get(c, "snp");
    if (hw == NULL) hw = json_object_get(c, "tdx");
    const char *m = json_string_value(json_object_get(hw, "measurement"));
    if (m == NULL) m = json_string_value(json_object_get(hw, "mr_td"));
    if (m != NULL) printf("  %-16s%s\n", "measurement", m);
    json_t *pcrs = json_object_get(c, "tpm");
    if (pcrs == NULL) pcrs = json_object_get(c, "pcrs");
    const char *k;
    json_t *v;
    json_object_foreach(pcrs, k, v) printf("  %-16s%s\n", k, json_string_value(v));
}

/* As for every kind of evidence: an option that cannot apply is refused, never ignored. */
static bool azure_options_apply(const cli_verify_args *a)
{
    bool snp = strcmp(a->tee, "az-snp-vtpm") == 0, tdx = strcmp(a->tee, "az-tdx-vtpm") == 0;
    const struct {
        bool given, applies;
        const char *flag;
    } rules[] = {
        {a->product != NULL, false, "--product"},       {a->kds_url != NULL, false, "--kds-url"},
        {a->pcs_url != NULL, false, "--pcs-url"},       {a->cache_dir != NULL, false, "--cache"},
        {a->cpak_file != NULL, false, "--cpak"},        {a->certs_dir != NULL, snp, "--certs"},
        {a->collateral_dir != NULL, snp || tdx, "--collateral"}, {a->allow_missing_crl, tdx, "--allow-missing-crl"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].given && !rules[i].applies) {
            fprintf(stderr, "veritee verify: %s does not apply to %s evidence (%s)\n", rules[i].flag, a->tee, a->file);
            return false;
        }
    return true;
}

int cli_verify_azure(cli_verify_args *a)
{
    if (!azure_options_apply(a)) return VT_EXIT_USAGE;
    vt_error e;
    vt_error_clear(&e);
    vt_checks ck = {0};
    vt_buf nonce = {0};
    vt_snp_verifier *snp = NULL;
    vt_tdx_verifier *tdx = NULL;
    vt_azure_verifier *az = NULL;
    vt_tpm_verifier *tpm = NULL;
    STACK_OF(X509) *roots = NULL;
    vt_tdx_collateral coll = {0};
    json_t *claims = NULL;
    vt_err rc = VT_OK;
    int ex;
    if (a->nonce_hex != NULL &&
        (vt_hex_decode(a->nonce_hex, strlen(a->nonce_hex), &nonce, &e) != VT_OK || nonce.len == 0 || nonce.len > 64)) {
        fprintf(stderr, "veritee verify: --nonce must be 1..64 bytes of hex\n");
        vt_buf_free(&nonce);
        return VT_EXIT_USAGE;
    }
    const char *tee = a->tee;
    if (strcmp(tee, "tpm") == 0) {
        vt_tpm_verify_opts o = {.at = a->at, .nonce = nonce.ptr, .nonce_len = nonce.len};
        rc = tpm_trust(&tpm, a->trust_dir, &e);
        if (rc == VT_OK) rc = vt_tpm_verify(tpm, a->evidence.ptr, a->evidence.len, &o, &claims, &ck, &e);
    } else {
        rc = vt_snp_verifier_new(&snp, &e);
        if (rc == VT_OK && strcmp(tee, "az-snp-vtpm") == 0) {
            if (a->trust_dir != NULL) rc = snp_load(snp, a->trust_dir, true, &e);
            if (rc == VT_OK && a->certs_dir != NULL) rc = snp_load(snp, a->certs_dir, false, &e);
            if (rc == VT_OK && a->collateral_dir != NULL) rc = snp_load(snp, a->collateral_dir, false, &e);
        } else if (rc == VT_OK) {
            if (a->trust_dir != NULL) rc = vt_certs_load_path(a->trust_dir, &roots, &e);
            if (rc == VT_OK && a->collateral_dir != NULL) rc = vt_tdx_collateral_load_dir(a->collateral_dir, &coll, &e);
            vt_tdx_verifier_opts vo = {.roots = roots, .allow_missing_pck_crl = a->allow_missing_crl};
            if (rc == VT_OK) rc = vt_tdx_verifier_new(&vo, &coll, &tdx, &e);
        }
        vt_azure_trust t = {.snp = snp, .tdx = tdx};
        if (rc == VT_OK) rc = vt_azure_verifier_new(&t, &az, &e);
        vt_azure_verify_opts o = {.at = a->at, .nonce = nonce.ptr, .nonce_len = nonce.len};
        if (rc == VT_OK)
            rc = strcmp(tee, "az-snp-vtpm") == 0 ? vt_az_snp_vtpm_verify(az, a->evidence.ptr, a->evidence.len, &o, &claims, &ck, &e)
                                                  : vt_az_tdx_vtpm_verify(az, a->evidence.ptr, a->evidence.len, &o, &claims, &ck, &e);
    }
    if (rc != VT_OK) {
        ex = cli_report_error(a, tee, &e, &ck);
    } else if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:b}", "file", a->file, "tee", tee, "verified", 1);
        json_object_update(o, claims);
        json_object_set_new(o, "checks", vt_checks_json(&ck));
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL) printf("%s\n", s);
        free(s);
        json_decref(o);
        ex = VT_EXIT_OK;
    } else {
        print_text(a, claims, &ck);
        ex = VT_EXIT_OK;
    }
    json_decref(claims);
    vt_azure_verifier_free(az);
    vt_snp_verifier_free(snp);
    vt_tdx_verifier_free(tdx);
    vt_tdx_collateral_clear(&coll);
    sk_X509_pop_free(roots, X509_free);
    vt_tpm_verifier_free(tpm);
    vt_buf_free(&nonce);
    return ex;
}
