/* The guest agent's evidence providers: evidence over the RCAR report data from the emulated
 * TEE, configfs-tsm or the legacy ioctls, in the JSON forms of src/rcar (kbs-protocol.md §8). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/jcs.h"
#include "veritee/json.h"
#include "veritee/kbs_client.h"
#include "veritee/snp.h"
#include "veritee/vtpm.h"

/* ---- providers ----------------------------------------------------------------------------- */

vt_err vt_kbs_provider_parse(const char *s, vt_kbs_provider *out, vt_error *err)
{
    static const char *const names[] = {"auto", "emulated", "tsm", "ioctl", "vtpm"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (vt_kbs_provider)i;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_ARG, "kbs_provider", "provider \"%.32s\": auto, emulated, tsm, ioctl or vtpm",
                        s ? s : "");
}

/* A configured event-log path: NULL -> the default, "" -> none. */
static const char *log_path(const char *given, const char *dflt)
{
    return given == NULL ? dflt : *given ? given : NULL;
}

/* TDX (GCP and other configfs-tsm guests): the ACPI CCEL with the attestation agent's records
 * as cc_eventlog; the 2024 text AAEL as aa_eventlog. */
static vt_err tdx_shape(const vt_kbs_evidence_src *s, const vt_buf *ev, json_t **out, vt_error *err)
{
    vt_buf log = {0};
    char *aa_text = NULL;
    VT_GUARD(vt_vtpm_event_logs_read(log_path(s->event_log, VT_CCEL_DEFAULT), log_path(s->aa_eventlog, VT_AA_EVENT_LOG_DEFAULT),
                                     &log, &aa_text, err));
    vt_err rc = vt_rcar_tdx_evidence_json(ev->ptr, ev->len, log.ptr, log.len, out, err);
    if (rc == VT_OK && aa_text != NULL && json_object_set_new(*out, "aa_eventlog", json_string(aa_text)) != 0)
        rc = vt_error_set(err, VT_E_INVALID, "aa_eventlog", "the attestation agent's text log is not UTF-8");
    free(aa_text);
    vt_buf_free(&log);
    return rc;
}

/* Raw evidence bytes -> the TEE's JSON shape. */
static vt_err shape(const vt_kbs_evidence_src *s, bool logs, vt_ev_tee tee, const vt_buf *ev, const vt_buf *aux,
                    json_t **out, vt_error *err)
{
    if (tee == VT_EV_TEE_TDX && logs) return tdx_shape(s, ev, out, err);
    if (tee == VT_EV_TEE_TDX) return vt_rcar_tdx_evidence_json(ev->ptr, ev->len, NULL, 0, out, err);
    if (tee == VT_EV_TEE_CCA) return vt_rcar_cca_evidence_json(ev->ptr, ev->len, out, err);
    if (tee == VT_EV_TEE_SNP) return vt_rcar_snp_evidence_json(ev->ptr, ev->len, aux->ptr, aux->len, out, err);
    return vt_error_set(err, VT_E_ARG, "kbs_evidence", "unknown TEE");
}

/* Azure CVMs and TPM hosts: the evidence JSON straight from the vTPM. */
static vt_err from_vtpm(const vt_kbs_evidence_src *s, const uint8_t rd[64], size_t rd_len, json_t **out, vt_error *err)
{
    vt_vtpm_kind k = s->tee == VT_EV_TEE_AZ_SNP_VTPM   ? VT_VTPM_AZ_SNP
                     : s->tee == VT_EV_TEE_AZ_TDX_VTPM ? VT_VTPM_AZ_TDX
                     : s->tee == VT_EV_TEE_TPM         ? VT_VTPM_TPM
                                                       : 0;
    if (k == 0) return vt_error_set(err, VT_E_ARG, "kbs_evidence", "the vtpm provider serves az-snp-vtpm, az-tdx-vtpm, tpm");
    vt_buf log = {0};
    char *aa_text = NULL;
    VT_GUARD(vt_vtpm_event_logs_read(log_path(s->event_log, VT_VTPM_EVENT_LOG_DEFAULT),
                                     log_path(s->aa_eventlog, VT_AA_EVENT_LOG_DEFAULT), &log, &aa_text, err));
    vt_vtpm_evidence_opts o = {.kind = k, .tcti = s->tcti, .nonce = rd, .nonce_len = k == VT_VTPM_TPM ? 64 : rd_len,
                               .ak_handle = s->ak_handle, .imds_url = s->imds_url, .imds_dir = s->imds_dir,
                               .event_log = log.ptr, .event_log_len = log.len, .aa_eventlog_text = aa_text};
    vt_err rc = vt_vtpm_evidence(&o, out, err);
    free(aa_text);
    vt_buf_free(&log);
    return rc;
}

static vt_err from_emulator(const vt_kbs_evidence_src *s, const uint8_t rd[64], vt_buf *ev, vt_buf *aux,
                            vt_error *err)
{
    if (s->emulator_dir == NULL)
        return vt_error_set(err, VT_E_ARG, "kbs_evidence", "the emulated provider needs an emulator directory");
    vt_emu *emu = NULL;
    VT_GUARD(vt_emu_open(s->emulator_dir, &emu, err));
    vt_err rc;
    if (s->tee == VT_EV_TEE_TDX) {
        rc = vt_emu_tdx_quote(emu, rd, 0, ev, err);
    } else if (s->tee == VT_EV_TEE_SNP) {
        rc = vt_emu_snp_report(emu, rd, NULL, ev, err);
        if (rc == VT_OK) rc = vt_emu_snp_certtable(emu, false, aux, err);
    } else if (s->tee == VT_EV_TEE_CCA) {
        vt_emu_cca_opts o = {.realm = s->realm};
        rc = vt_emu_cca_token(emu, rd, &o, ev, err);
    } else {
        rc = vt_error_set(err, VT_E_ARG, "kbs_evidence", "the emulated provider needs the TEE (tdx, snp, cca)");
    }
    vt_emu_free(emu);
    return rc;
}

static vt_err from_tsm(const vt_kbs_evidence_src *s, const uint8_t rd[64], vt_buf *ev, vt_buf *aux,
                       vt_ev_tee *tee, vt_error *err)
{
    vt_tsm_opts o = {.root = s->tsm_root, .inblob = rd, .inblob_len = 64};
    vt_tsm_report r;
    VT_GUARD(vt_tsm_get_report(&o, &r, err));
    if (s->tee != VT_EV_TEE_UNKNOWN && s->tee != r.tee) {
        vt_err rc = vt_error_set(err, VT_E_ARG, "kbs_evidence", "TEE %s asked, but the configfs-tsm provider is %s",
                                 vt_ev_tee_name(s->tee), r.provider);
        vt_tsm_report_free(&r);
        return rc;
    }
    *tee = r.tee;
    *ev = r.outblob;
    *aux = r.auxblob;
    return VT_OK;
}

static vt_err from_ioctl(const vt_kbs_evidence_src *s, const uint8_t rd[64], vt_buf *ev, vt_buf *aux,
                         vt_error *err)
{
    if (s->tee != VT_EV_TEE_SNP)
        return vt_error_set(err, VT_E_UNSUPPORTED, "kbs_evidence",
                            "the ioctl provider serves SNP only here: a TDX TDREPORT cannot be verified "
                            "remotely and CCA has no ioctl; use the configfs-tsm provider");
    vt_snp_ioctl_result r;
    VT_GUARD(vt_ioctl_snp_report(s->device, rd, 0, true, &r, err));
    *ev = r.report;
    *aux = r.certs;
    return VT_OK;
}

static bool is_vtpm(vt_ev_tee t)
{
    return t == VT_EV_TEE_AZ_SNP_VTPM || t == VT_EV_TEE_AZ_TDX_VTPM || t == VT_EV_TEE_TPM;
}

vt_err vt_kbs_evidence_get(const vt_kbs_evidence_src *src, const uint8_t report_data[64], size_t rd_len, json_t **out,
                           vt_ev_tee *tee_out, vt_error *err)
{
    *out = NULL;
    if (rd_len < 1 || rd_len > 64) return vt_error_set(err, VT_E_ARG, "kbs_evidence", "report data length %zu", rd_len);
    vt_kbs_provider p = src->provider;
    if (p == VT_KBS_PROVIDER_AUTO)
        p = is_vtpm(src->tee) ? VT_KBS_PROVIDER_VTPM
            : src->emulator_dir ? VT_KBS_PROVIDER_EMULATED
            : vt_tsm_present(src->tsm_root) ? VT_KBS_PROVIDER_TSM : VT_KBS_PROVIDER_IOCTL;
    if (p == VT_KBS_PROVIDER_VTPM || is_vtpm(src->tee)) {
        if (p != VT_KBS_PROVIDER_VTPM)
            return vt_error_set(err, VT_E_ARG, "kbs_evidence", "%s evidence comes from the vtpm provider", vt_ev_tee_name(src->tee));
        VT_GUARD(from_vtpm(src, report_data, rd_len, out, err));
        if (tee_out != NULL) *tee_out = src->tee;
        return VT_OK;
    }
    vt_buf ev = {0}, aux = {0};
    vt_ev_tee tee = src->tee;
    vt_err rc;
    if (p == VT_KBS_PROVIDER_EMULATED) rc = from_emulator(src, report_data, &ev, &aux, err);
    else if (p == VT_KBS_PROVIDER_TSM) rc = from_tsm(src, report_data, &ev, &aux, &tee, err);
    else rc = from_ioctl(src, report_data, &ev, &aux, err);
    if (rc == VT_OK) rc = shape(src, p == VT_KBS_PROVIDER_TSM, tee, &ev, &aux, out, err);
    if (rc == VT_OK && tee_out != NULL) *tee_out = tee;
    vt_buf_free(&ev);
    vt_buf_free(&aux);
    return rc;
}

vt_err vt_kbs_gpu_evidence_get(const vt_kbs_evidence_src *src, const uint8_t device_rd[64], char **out, vt_error *err)
{
    *out = NULL;
    if (src->emulator_dir == NULL)
        return vt_error_set(err, VT_E_ARG, "kbs_evidence",
                            "GPU evidence here comes from the emulated TEE (--emulator); real GPUs through "
                            "NVML: vt_nvml_gpu_evidence (veritee attest --gpu-evidence nvml)");
    vt_emu *emu = NULL;
    vt_buf ev = {0};
    json_t *doc = NULL, *map = NULL;
    VT_GUARD(vt_emu_open(src->emulator_dir, &emu, err));
    vt_err rc = vt_emu_nvidia_evidence(emu, device_rd, &ev, err); /* the first 32 bytes: the SPDM nonce */
    vt_emu_free(emu);
    if (rc == VT_OK) rc = vt_json_parse((const char *)ev.ptr, ev.len, &doc, err);
    if (rc == VT_OK && (map = json_pack("{s:O}", "nvidia", doc)) == NULL)
        rc = vt_error_set(err, VT_E_NOMEM, "kbs_evidence", "out of memory");
    if (rc == VT_OK && (*out = json_dumps(map, JSON_COMPACT)) == NULL)
        rc = vt_error_set(err, VT_E_NOMEM, "kbs_evidence", "out of memory");
    json_decref(map);
    json_decref(doc);
    vt_buf_free(&ev);
    return rc;
}
