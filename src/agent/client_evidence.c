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

/* ---- providers ----------------------------------------------------------------------------- */

vt_err vt_kbs_provider_parse(const char *s, vt_kbs_provider *out, vt_error *err)
{
    static const char *const names[] = {"auto", "emulated", "tsm", "ioctl"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (vt_kbs_provider)i;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_ARG, "kbs_provider", "provider \"%.32s\": auto, emulated, tsm or ioctl",
                        s ? s : "");
}

/* Raw evidence bytes -> the TEE's JSON shape. */
static vt_err shape(vt_ev_tee tee, const vt_buf *ev, const vt_buf *aux, json_t **out, vt_error *err)
{
    if (tee == VT_EV_TEE_TDX) return vt_rcar_tdx_evidence_json(ev->ptr, ev->len, NULL, 0, out, err);
    if (tee == VT_EV_TEE_CCA) return vt_rcar_cca_evidence_json(ev->ptr, ev->len, out, err);
    if (tee == VT_EV_TEE_SNP) return vt_rcar_snp_evidence_json(ev->ptr, ev->len, aux->ptr, aux->len, out, err);
    return vt_error_set(err, VT_E_ARG, "kbs_evidence", "unknown TEE");
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

vt_err vt_kbs_evidence_get(const vt_kbs_evidence_src *src, const uint8_t report_data[64], json_t **out,
                           vt_ev_tee *tee_out, vt_error *err)
{
    *out = NULL;
    vt_kbs_provider p = src->provider;
    if (p == VT_KBS_PROVIDER_AUTO)
        p = src->emulator_dir ? VT_KBS_PROVIDER_EMULATED
            : vt_tsm_present(src->tsm_root) ? VT_KBS_PROVIDER_TSM : VT_KBS_PROVIDER_IOCTL;
    vt_buf ev = {0}, aux = {0};
    vt_ev_tee tee = src->tee;
    vt_err rc;
    if (p == VT_KBS_PROVIDER_EMULATED) rc = from_emulator(src, report_data, &ev, &aux, err);
    else if (p == VT_KBS_PROVIDER_TSM) rc = from_tsm(src, report_data, &ev, &aux, &tee, err);
    else rc = from_ioctl(src, report_data, &ev, &aux, err);
    if (rc == VT_OK) rc = shape(tee, &ev, &aux, out, err);
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
                            "GPU evidence comes from the emulated TEE so far (NVML collection is not implemented)");
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
