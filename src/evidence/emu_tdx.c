/* Emulated Intel TDX platform: a test PKI shaped like Intel's (SGX Root CA -> PCK Platform CA
 * -> PCK certificate with the SGX extensions; TCB Signing), signed TCB Info v3 / QE Identity v2
 * / CRLs in PCS form, and TDX quotes v4/v5 in the DCAP layout (docs/emulate.md). */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/derw.h"
#include "veritee/json.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

#define SGX_OID "1.2.840.113741.1.13.1"
#define YEAR (365 * 86400LL)

/* MRSIGNER of the emulated TD quoting enclave (distinct from Intel's). */
const uint8_t EMU_QE_MRSIGNER[32] = {0xee, 0x5e, 0x7e, 0x1e, 0x0e, 0xe0, 0x01, 0x02, 0x03, 0x04, 0x05,
                                            0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
                                            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a};

static json_t *pattern(uint8_t seed, size_t n) { return emu_pattern_json(seed, 7, n); }

json_t *emu_tdx_default(void)
{
    json_t *t = json_object();
    json_object_set_new(t, "quote_version", json_integer(4));
    json_object_set_new(t, "fmspc", json_string("90c06f000000"));
    json_object_set_new(t, "pce_id", json_string("0000"));
    json_object_set_new(t, "pce_svn", json_integer(13));
    json_t *c = json_array();
    static const int comps[16] = {4, 4, 2, 2, 4, 1, 0, 5};
    for (int i = 0; i < 16; i++) json_array_append_new(c, json_integer(comps[i]));
    json_object_set_new(t, "sgx_tcb_components", c);
    json_object_set_new(t, "tee_tcb_svn", json_string("06010300000000000000000000000000"));
    json_object_set_new(t, "tee_tcb_svn2", json_string("06010300000000000000000000000000"));
    json_object_set_new(t, "mr_seam", pattern(0x5b, 48));
    json_object_set_new(t, "mr_signer_seam", vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_object_set_new(t, "td_attributes", json_string("0000001000000000"));
    json_object_set_new(t, "debug", json_false());
    json_object_set_new(t, "xfam", json_string("e702060000000000"));
    json_object_set_new(t, "mr_td", pattern(0x91, 48));
    json_object_set_new(t, "mr_config_id", vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_object_set_new(t, "mr_owner", vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_object_set_new(t, "mr_owner_config", vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_t *r = json_array();
    for (int i = 0; i < 4; i++) json_array_append_new(r, i < 3 ? pattern((uint8_t)(0x40 + 16 * i), 48) : vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_object_set_new(t, "rtmr", r);
    json_object_set_new(t, "mr_service_td", vt_json_hex_string((const uint8_t[48]){0}, 48));
    json_object_set_new(t, "qe_svn", json_integer(7));
    json_object_set_new(t, "tcb_status", json_string("UpToDate"));
    json_object_set_new(t, "advisory_ids", json_array());
    json_object_set_new(t, "qe_tcb_status", json_string("UpToDate"));
    json_object_set_new(t, "pck_revoked", json_false());
    json_object_set_new(t, "collateral_days", json_integer(30));
    return t;
}

/* The platform's TCB as the emulator uses it. */
typedef struct tdx_plat {
    uint8_t fmspc[6], pce_id[2], comps[16], tee_tcb_svn[16];
    uint16_t pce_svn, qe_svn;
    const char *status, *qe_status;
    const json_t *advisories;
    bool pck_revoked;
    int64_t days;
} tdx_plat;

#define OPT VT_JSON_OPTIONAL

static vt_err read_plat(const json_t *tj, tdx_plat *p, vt_error *err)
{
    json_t *d = emu_tdx_default();
    vt_err rc = VT_OK;
    vt_json_in t;
    int64_t v;
    memset(p, 0, sizeof *p);
    VT_GUARD_GOTO(vt_json_in_init(&t, tj, "tdx", "emulate", err));
    VT_GUARD_GOTO(vt_json_hex(d, "fmspc", "tdx", p->fmspc, 6, err));
    VT_GUARD_GOTO(vt_json_hex(d, "tee_tcb_svn", "tdx", p->tee_tcb_svn, 16, err));
    VT_GUARD_GOTO(vt_json_get_hex(&t, "fmspc", OPT, p->fmspc, 6, NULL));
    VT_GUARD_GOTO(vt_json_get_hex(&t, "pce_id", OPT, p->pce_id, 2, NULL));
    VT_GUARD_GOTO(vt_json_get_hex(&t, "tee_tcb_svn", OPT, p->tee_tcb_svn, 16, NULL));
    const json_t *c = json_object_get(d, "sgx_tcb_components");
    VT_GUARD_GOTO(vt_json_get_arr(&t, "sgx_tcb_components", OPT, 16, 16, &c, NULL));
    for (size_t i = 0; i < 16; i++) {
        uint64_t x;
        char path[40];
        snprintf(path, sizeof path, "tdx.sgx_tcb_components[%zu]", i);
        VT_GUARD_GOTO(vt_json_u64_value(json_array_get(c, i), path, 255, &x, "emulate", err));
        p->comps[i] = (uint8_t)x;
    }
    v = 13;
    VT_GUARD_GOTO(vt_json_get_int(&t, "pce_svn", OPT, 0, UINT16_MAX, &v, NULL));
    p->pce_svn = (uint16_t)v;
    v = 7;
    VT_GUARD_GOTO(vt_json_get_int(&t, "qe_svn", OPT, 0, UINT16_MAX, &v, NULL));
    p->qe_svn = (uint16_t)v;
    p->status = p->qe_status = "UpToDate";
    VT_GUARD_GOTO(vt_json_get_str(&t, "tcb_status", OPT, &p->status, NULL));
    VT_GUARD_GOTO(vt_json_get_str(&t, "qe_tcb_status", OPT, &p->qe_status, NULL));
    p->advisories = NULL;
    VT_GUARD_GOTO(vt_json_get_arr(&t, "advisory_ids", OPT, 0, 64, &p->advisories, NULL));
    VT_GUARD_GOTO(vt_json_get_bool(&t, "pck_revoked", OPT, &p->pck_revoked, NULL));
    p->days = 30;
    VT_GUARD_GOTO(vt_json_get_int(&t, "collateral_days", OPT, -36500, 36500, &p->days, NULL));
    vt_tcb_status st;
    VT_GUARD_GOTO(vt_tcb_status_parse(p->status, &st, err));
    VT_GUARD_GOTO(vt_tcb_status_parse(p->qe_status, &st, err));
out:
    json_decref(d);
    return rc;
}

static vt_err sgx_extension(const tdx_plat *p, vt_buf *out, vt_error *err)
{
    vt_derw w;
    vt_derw_init(&w);
    uint8_t ppid[16], piid[16];
    if (RAND_bytes(ppid, 16) != 1 || RAND_bytes(piid, 16) != 1)
        return vt_error_set(err, VT_E_INTERNAL, "emulate", "no randomness");
    size_t m = vt_derw_mark(&w), e;
    char oid[64];
#define ENTRY_BEGIN(arc) (e = vt_derw_mark(&w), snprintf(oid, sizeof oid, SGX_OID ".%s", arc), vt_derw_oid(&w, oid))
#define ENTRY_END() vt_derw_wrap(&w, e, 0x30)
    ENTRY_BEGIN("1");
    vt_derw_tlv(&w, 0x04, ppid, 16);
    ENTRY_END();
    ENTRY_BEGIN("2");
    size_t tcb = vt_derw_mark(&w);
    for (int i = 1; i <= 18; i++) {
        size_t s = vt_derw_mark(&w);
        snprintf(oid, sizeof oid, SGX_OID ".2.%d", i);
        vt_derw_oid(&w, oid);
        if (i <= 16) vt_derw_uint(&w, 0x02, p->comps[i - 1]);
        else if (i == 17) vt_derw_uint(&w, 0x02, p->pce_svn);
        else vt_derw_tlv(&w, 0x04, p->comps, 16);
        vt_derw_wrap(&w, s, 0x30);
    }
    vt_derw_wrap(&w, tcb, 0x30);
    ENTRY_END();
    ENTRY_BEGIN("3");
    vt_derw_tlv(&w, 0x04, p->pce_id, 2);
    ENTRY_END();
    ENTRY_BEGIN("4");
    vt_derw_tlv(&w, 0x04, p->fmspc, 6);
    ENTRY_END();
    ENTRY_BEGIN("5");
    vt_derw_uint(&w, 0x0a, 1); /* Scalable */
    ENTRY_END();
    ENTRY_BEGIN("6");
    vt_derw_tlv(&w, 0x04, piid, 16);
    ENTRY_END();
    ENTRY_BEGIN("7");
    size_t cfg = vt_derw_mark(&w);
    for (int i = 1; i <= 3; i++) {
        size_t s = vt_derw_mark(&w);
        snprintf(oid, sizeof oid, SGX_OID ".7.%d", i);
        vt_derw_oid(&w, oid);
        vt_derw_tlv(&w, 0x01, (const uint8_t[]){i == 1 ? 0x00 : 0xff}, 1);
        vt_derw_wrap(&w, s, 0x30);
    }
    vt_derw_wrap(&w, cfg, 0x30);
    ENTRY_END();
#undef ENTRY_BEGIN
#undef ENTRY_END
    vt_derw_wrap(&w, m, 0x30);
    return vt_derw_finish(&w, out, err);
}

static json_t *svn_array(const uint8_t *v)
{
    json_t *a = json_array();
    for (int i = 0; i < 16; i++) json_array_append_new(a, json_pack("{s:i}", "svn", v[i]));
    return a;
}

/* One TCB level for the given SVNs. */
static json_t *tcb_level(const uint8_t *sgx, uint16_t pcesvn, const uint8_t *tdx, const char *status, vt_time date,
                         const json_t *adv)
{
    json_t *lv = json_pack("{s:{s:o, s:i, s:o}, s:o, s:s}", "tcb", "sgxtcbcomponents", svn_array(sgx), "pcesvn",
                           (int)pcesvn, "tdxtcbcomponents", svn_array(tdx), "tcbDate", vt_json_time_string(date),
                           "tcbStatus", status);
    if (adv != NULL && json_array_size(adv) > 0) json_object_set(lv, "advisoryIDs", (json_t *)adv);
    return lv;
}

/* Sign the compact text of `body` and wrap it as {"<key>":<text>,"signature":"<hex>"}. */
static vt_err signed_json(const char *key, json_t *body, EVP_PKEY *k, vt_buf *out, vt_error *err)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    uint8_t sig[64];
    size_t sl;
    vt_err rc = vt_ecdsa_sign_raw(k, VT_SHA256, text, strlen(text), sig, sizeof sig, &sl, err);
    if (rc == VT_OK) {
        char hex[129];
        vt_hex_encode(sig, 64, hex);
        size_t n = strlen(text) + strlen(key) + 160;
        char *s = malloc(n);
        if (s == NULL) rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        else {
            snprintf(s, n, "{\"%s\":%s,\"signature\":\"%s\"}", key, text, hex);
            out->ptr = (uint8_t *)s;
            out->len = strlen(s);
        }
    }
    free(text);
    return rc;
}

static vt_err write_tcb_info(const char *dir, const json_t *t, const tdx_plat *p, EVP_PKEY *k, vt_time at,
                             vt_error *err)
{
    uint8_t mr_signer_seam[48] = {0};
    vt_json_in tin;
    VT_GUARD(vt_json_in_init(&tin, t, "tdx", "emulate", err));
    VT_GUARD(vt_json_get_hex(&tin, "mr_signer_seam", OPT, mr_signer_seam, 48, NULL));
    json_t *levels = json_array();
    uint8_t tdxc[16];
    memcpy(tdxc, p->tee_tcb_svn, 16);
    if (p->tee_tcb_svn[1] > 0) tdxc[0] = tdxc[1] = 0; /* judged by the module identity */
    vt_time date = at - 30 * 86400;
    if (strcmp(p->status, "UpToDate") != 0) {
        uint8_t higher[16];
        memcpy(higher, p->comps, 16);
        higher[0]++;
        json_array_append_new(levels, tcb_level(higher, p->pce_svn, tdxc, "UpToDate", date, NULL));
        date -= 365 * 86400;
    }
    json_array_append_new(levels, tcb_level(p->comps, p->pce_svn, tdxc, p->status, date, p->advisories));
    char mod_id[16];
    snprintf(mod_id, sizeof mod_id, "TDX_%02X", p->tee_tcb_svn[1]);
    json_t *module = json_pack("{s:o, s:s, s:s}", "mrsigner", vt_json_hex_string(mr_signer_seam, 48), "attributes",
                               "0000000000000000", "attributesMask", "FFFFFFFFFFFFFFFF");
    json_t *ids = json_pack("[{s:s, s:o, s:s, s:s, s:[{s:{s:i}, s:o, s:s}]}]", "id", mod_id, "mrsigner",
                            vt_json_hex_string(mr_signer_seam, 48), "attributes", "0000000000000000", "attributesMask",
                            "FFFFFFFFFFFFFFFF", "tcbLevels", "tcb", "isvsvn", p->tee_tcb_svn[0], "tcbDate",
                            vt_json_time_string(date), "tcbStatus", "UpToDate");
    char fm[13], pce[5];
    vt_hex_encode(p->fmspc, 6, fm);
    vt_hex_encode(p->pce_id, 2, pce);
    json_t *ti = json_pack("{s:s, s:i, s:o, s:o, s:s, s:s, s:i, s:i, s:o, s:o, s:o}", "id", "TDX", "version", 3,
                           "issueDate", vt_json_time_string(at - 3600), "nextUpdate", vt_json_time_string(at + p->days * 86400), "fmspc",
                           fm, "pceId", pce, "tcbType", 0, "tcbEvaluationDataNumber", 17, "tdxModule", module,
                           "tdxModuleIdentities", ids, "tcbLevels", levels);
    vt_buf out = {0};
    vt_err rc = signed_json("tcbInfo", ti, k, &out, err);
    json_decref(ti);
    char name[64];
    snprintf(name, sizeof name, "tcbinfo_%s.json", fm);
    if (rc == VT_OK) rc = emu_write(dir, "collateral", name, out.ptr, out.len, false, err);
    vt_buf_free(&out);
    return rc;
}

static vt_err write_qe_identity(const char *dir, const tdx_plat *p, EVP_PKEY *k, vt_time at, vt_error *err)
{
    json_t *qi = json_pack("{s:s, s:i, s:o, s:o, s:i, s:s, s:s, s:s, s:s, s:o, s:i, s:[{s:{s:i}, s:o, s:s}]}", "id",
                           "TD_QE", "version", 2, "issueDate", vt_json_time_string(at - 3600), "nextUpdate",
                           vt_json_time_string(at + p->days * 86400), "tcbEvaluationDataNumber", 17, "miscselect", "00000000",
                           "miscselectMask", "FFFFFFFF", "attributes", "11000000000000000000000000000000",
                           "attributesMask", "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner",
                           vt_json_hex_string(EMU_QE_MRSIGNER, 32), "isvprodid", 2, "tcbLevels", "tcb", "isvsvn",
                           (int)p->qe_svn, "tcbDate", vt_json_time_string(at - 30 * 86400), "tcbStatus", p->qe_status);
    vt_buf out = {0};
    vt_err rc = signed_json("enclaveIdentity", qi, k, &out, err);
    json_decref(qi);
    if (rc == VT_OK) rc = emu_write(dir, "collateral", "qe_identity.json", out.ptr, out.len, false, err);
    vt_buf_free(&out);
    return rc;
}

static vt_err write_cert(const char *dir, const char *sub, const char *name, X509 *c, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_pki_cert_pem(c, &b, err));
    vt_err rc = emu_write(dir, sub, name, b.ptr, b.len, false, err);
    vt_buf_free(&b);
    return rc;
}

static vt_err write_crl(const char *dir, const char *name, X509_CRL *c, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_pki_crl_der(c, &b, err));
    vt_err rc = emu_write(dir, "collateral", name, b.ptr, b.len, false, err);
    vt_buf_free(&b);
    return rc;
}

vt_err emu_tdx_init(const char *dir, const json_t *t, vt_time at, vt_error *err)
{
    tdx_plat p;
    VT_GUARD(read_plat(t, &p, err));
    EVP_PKEY *root_k = NULL, *ca_k = NULL, *pck_k = NULL, *tcb_k = NULL, *ak = NULL;
    X509 *root = NULL, *ca = NULL, *pck = NULL, *tcb = NULL;
    X509_CRL *root_crl = NULL, *pck_crl = NULL;
    vt_buf ext = {0};
    vt_err rc = VT_OK;
    const char *subj = "L=Santa Clara,ST=CA,C=US";
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P256, &root_k, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P256, &ca_k, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P256, &pck_k, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P256, &tcb_k, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P256, &ak, err));
    vt_pki_cert_spec rs = {.subject_cn = "Intel SGX Root CA", .subject_o = VT_EMU_ORGANIZATION, .subject_extra = subj,
                           .not_before = at - 86400, .not_after = at + 30 * YEAR, .ca = true, .path_len = 1};
    VT_GUARD_GOTO(vt_pki_cert(&rs, root_k, NULL, root_k, &root, err));
    vt_pki_cert_spec cs = {.subject_cn = "Intel SGX PCK Platform CA", .subject_o = VT_EMU_ORGANIZATION,
                           .subject_extra = subj, .not_before = at - 86400, .not_after = at + 15 * YEAR, .ca = true,
                           .path_len = 0};
    VT_GUARD_GOTO(vt_pki_cert(&cs, ca_k, root, root_k, &ca, err));
    VT_GUARD_GOTO(sgx_extension(&p, &ext, err));
    vt_pki_ext x = {.oid = SGX_OID, .der = ext.ptr, .der_len = ext.len};
    vt_pki_cert_spec ps = {.subject_cn = "Intel SGX PCK Certificate", .subject_o = VT_EMU_ORGANIZATION,
                           .subject_extra = subj, .not_before = at - 86400, .not_after = at + 7 * YEAR, .path_len = -1,
                           .exts = &x, .n_exts = 1};
    VT_GUARD_GOTO(vt_pki_cert(&ps, pck_k, ca, ca_k, &pck, err));
    vt_pki_cert_spec ts = {.subject_cn = "Intel SGX TCB Signing", .subject_o = VT_EMU_ORGANIZATION,
                           .subject_extra = subj, .not_before = at - 86400, .not_after = at + 7 * YEAR, .path_len = -1};
    VT_GUARD_GOTO(vt_pki_cert(&ts, tcb_k, root, root_k, &tcb, err));
    VT_GUARD_GOTO(vt_pki_crl(root, root_k, at - 3600, at + 365 * 86400, NULL, NULL, 0, &root_crl, err));
    const ASN1_INTEGER *sn = X509_get0_serialNumber(pck);
    const uint8_t *snp = ASN1_STRING_get0_data(sn);
    size_t snl = (size_t)ASN1_STRING_length(sn);
    VT_GUARD_GOTO(vt_pki_crl(ca, ca_k, at - 3600, at + p.days * 86400, &snp, &snl, p.pck_revoked ? 1 : 0, &pck_crl,
                             err));
    VT_GUARD_GOTO(emu_save_key(dir, "tdx_root.key.pem", root_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "tdx_pck_ca.key.pem", ca_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "tdx_pck.key.pem", pck_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "tdx_tcb_signing.key.pem", tcb_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "tdx_attest.key.pem", ak, err));
    VT_GUARD_GOTO(emu_write_pem_chain(dir, "keys", "tdx_pck_chain.pem", (X509 *[]){pck, ca, root}, 3, err));
    VT_GUARD_GOTO(write_cert(dir, "trust", "tdx_sgx_root_ca.pem", root, err));
    VT_GUARD_GOTO(emu_write_pem_chain(dir, "collateral", "tcb_signing_chain.pem", (X509 *[]){tcb, root}, 2, err));
    VT_GUARD_GOTO(emu_write_pem_chain(dir, "collateral", "pck_crl_issuer_chain.pem", (X509 *[]){ca, root}, 2, err));
    VT_GUARD_GOTO(write_crl(dir, "root_ca_crl.der", root_crl, err));
    VT_GUARD_GOTO(write_crl(dir, "pck_crl.der", pck_crl, err));
    VT_GUARD_GOTO(write_tcb_info(dir, t, &p, tcb_k, at, err));
    VT_GUARD_GOTO(write_qe_identity(dir, &p, tcb_k, at, err));
out:
    vt_buf_free(&ext);
    EVP_PKEY_free(root_k);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(pck_k);
    EVP_PKEY_free(tcb_k);
    EVP_PKEY_free(ak);
    X509_free(root);
    X509_free(ca);
    X509_free(pck);
    X509_free(tcb);
    X509_CRL_free(root_crl);
    X509_CRL_free(pck_crl);
    return rc;
}
