/* The emulated Azure CVM backed by a real TPM (include/veritee/emulate.h): what Azure's paravisor
 * does at boot, done to a software TPM (swtpm) so that the guest-side collection of a real Azure
 * CVM (vtpm_evidence.c) runs unchanged against it. The AK is made in the TPM; the HCL report
 * binds that AK under the emulated SNP/TDX PKI; firmware events go to PCR 0..7 and a TCG2 log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/tpm.h"
#include "veritee/vtpm.h"
#include "veritee/writer.h"

/* libtpms (swtpm) caps an NV index at 2048 bytes, the size of Azure's first HCL reports; the
 * claims of one AK fit (current Azure VMs read 2600 bytes, with the EK as well). */
#define CVM_HCL_SIZE 2048u
#define EV_EFI_ACTION 0x80000007u

static vt_err out_path(const char *dir, const char *name, char *p, size_t cap, vt_error *err)
{
    int n = snprintf(p, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? VT_OK : vt_error_set(err, VT_E_ARG, "emulate", "path too long");
}

/* TCG_PCR_EVENT header with a Spec ID Event03 announcing SHA-256 only (TCG PC Client PFP, 10.4.5.1);
 * zero_signature: the attestation agent's synthetic header instead of firmware's. */
static void log_header(vt_writer *w, bool zero_signature)
{
    vt_write_u32le(w, "PCRIndex", 0);
    vt_write_u32le(w, "EventType", VT_TCG_EV_NOACTION);
    vt_write_zeros(w, "SHA-1 digest", 20);
    vt_write_u32le(w, "EventSize", 33);
    if (zero_signature) vt_write_zeros(w, "signature", 16);
    else vt_write_bytes(w, "signature", "Spec ID Event03", 16);
    vt_write_u32le(w, "platformClass", 0);
    vt_write_u8(w, "specVersionMinor", 0);
    vt_write_u8(w, "specVersionMajor", 2);
    vt_write_u8(w, "specErrata", 0);
    vt_write_u8(w, "uintnSize", 2);
    vt_write_u32le(w, "numberOfAlgorithms", 1);
    vt_write_u16le(w, "algorithmId", VT_TPM_ALG_SHA256);
    vt_write_u16le(w, "digestSize", 32);
    vt_write_u8(w, "vendorInfoSize", 0);
}

/* One TCG_PCR_EVENT2 with its SHA-256 digest, and the same extend in the TPM. */
static vt_err log_event(vt_vtpm *t, vt_writer *w, unsigned pcr, uint32_t type, const uint8_t *data, size_t n,
                        vt_error *err)
{
    uint8_t d[32];
    VT_GUARD(vt_hash(VT_SHA256, data, n, d, err));
    VT_GUARD(vt_vtpm_pcr_extend(t, pcr, d, err));
    vt_write_u32le(w, "PCRIndex", pcr);
    vt_write_u32le(w, "EventType", type);
    vt_write_u32le(w, "digest count", 1);
    vt_write_u16le(w, "algorithmId", VT_TPM_ALG_SHA256);
    vt_write_bytes(w, "digest", d, 32);
    vt_write_u32le(w, "EventSize", (uint32_t)n);
    vt_write_bytes(w, "Event", data, n);
    return vt_writer_status(w);
}

static vt_err write_log(vt_writer *w, const char *dir, const char *name, vt_error *err)
{
    uint8_t *p = NULL;
    size_t n = 0;
    char path[1200];
    VT_GUARD(vt_writer_take(w, &p, &n));
    vt_err rc = out_path(dir, name, path, sizeof path, err);
    if (rc == VT_OK) rc = vt_file_write(path, p, n, err);
    free(p);
    return rc;
}

/* Firmware: one EV_EFI_ACTION per PCR 0..7, logged as binary_bios_measurements is. */
static vt_err boot(vt_vtpm *t, const char *dir, vt_error *err)
{
    vt_writer w;
    vt_writer_init(&w, "emulated firmware log", err);
    log_header(&w, false);
    vt_err rc = VT_OK;
    for (unsigned i = 0; rc == VT_OK && i < 8; i++) {
        char ev[64];
        int n = snprintf(ev, sizeof ev, "veritee emulated Azure CVM firmware, PCR %u", i);
        rc = log_event(t, &w, i, EV_EFI_ACTION, (const uint8_t *)ev, (size_t)n, err);
    }
    if (rc == VT_OK) rc = write_log(&w, dir, "binary_bios_measurements", err);
    vt_writer_free(&w);
    return rc;
}

vt_err vt_vtpm_aael_extend(const char *tcti, const char *log_path, unsigned pcr, const char *entry,
                               vt_error *err)
{
    size_t tl = entry != NULL ? strlen(entry) : 0;
    if (tl == 0 || tl > 4096 || strchr(entry, '\n') != NULL)
        return vt_error_set(err, VT_E_ARG, "aael", "an AAEL entry is one line \"<domain> <operation> <content>\"");
    vt_aael_entry parsed;
    VT_GUARD(vt_aael_entry_parse((const uint8_t *)entry, tl, &parsed, err));
    vt_buf old = {0};
    if (vt_file_exists(log_path)) VT_GUARD(vt_file_read(log_path, 4u << 20, &old, err));
    vt_vtpm *t = NULL;
    vt_err rc = vt_vtpm_open(tcti, &t, err);
    vt_writer w;
    vt_writer_init(&w, "attestation agent log", err);
    if (old.len == 0) log_header(&w, true);
    else vt_write_bytes(&w, "log", old.ptr, old.len);
    /* EV_EVENT_TAG: TCG_PCClientTaggedEvent {id "LEAA", size, the entry} (aael_ccel.md section 2) */
    uint8_t *data = malloc(8 + tl);
    if (rc == VT_OK && data == NULL) rc = vt_error_set(err, VT_E_NOMEM, "aael", "out of memory");
    if (rc == VT_OK) {
        vt_put_le(data, VT_AAEL_TAG, 4);
        vt_put_le(data + 4, tl, 4);
        memcpy(data + 8, entry, tl);
        rc = log_event(t, &w, pcr, VT_TCG_EV_EVENT_TAG, data, 8 + tl, err);
    }
    uint8_t *p = NULL;
    size_t n = 0;
    if (rc == VT_OK) rc = vt_writer_take(&w, &p, &n);
    if (rc == VT_OK) rc = vt_file_write(log_path, p, n, err);
    free(p);
    free(data);
    vt_writer_free(&w);
    vt_buf_free(&old);
    vt_vtpm_close(t);
    return rc;
}

vt_err vt_emu_az_cvm_provision(vt_emu *e, vt_emu_az_kind kind, const vt_emu_az_cvm_opts *o, vt_error *err)
{
    if (kind != VT_EMU_AZ_SNP && kind != VT_EMU_AZ_TDX) return vt_error_set(err, VT_E_ARG, "emulate", "Azure kind");
    if (o == NULL || o->out_dir == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the CVM needs an output directory");
    vt_vtpm *t = NULL;
    EVP_PKEY *ak = NULL;
    char *var = NULL, path[1200];
    uint8_t rd[64] = {0}, hw[1184], *hcl = calloc(1, CVM_HCL_SIZE);
    vt_buf quote = {0}, vcek = {0};
    vt_err rc = hcl != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    if (rc == VT_OK) rc = vt_vtpm_open(o->tcti, &t, err);
    /* provisioning is the boot: the firmware PCRs must be at their reset value */
    uint8_t pcrs[24][32], zero[32] = {0};
    if (rc == VT_OK) rc = vt_vtpm_pcr_read(t, 0xFFu, pcrs, err);
    for (int i = 0; rc == VT_OK && i < 8; i++)
        if (memcmp(pcrs[i], zero, 32) != 0)
            rc = vt_error_set(err, VT_E_ARG, "emulate", "PCR %d of this TPM is already extended: provision a freshly "
                              "started TPM (a CVM boots once)", i);
    if (rc == VT_OK) rc = vt_vtpm_ak_create(t, VT_AZ_AK_HANDLE, err);
    if (rc == VT_OK) rc = vt_vtpm_read_public(t, VT_AZ_AK_HANDLE, &ak, err);
    if (rc == VT_OK) rc = emu_az_runtime_claims(ak, NULL, 0, &var, err);
    size_t vl = var != NULL ? strlen(var) : 0;
    if (rc == VT_OK && 0x4D4 + vl > CVM_HCL_SIZE)
        rc = vt_error_set(err, VT_E_INTERNAL, "emulate", "runtime claims do not fit the NV index");
    if (rc == VT_OK) rc = vt_hash(VT_SHA256, var, vl, rd, err);
    if (rc == VT_OK) rc = emu_az_hardware(e, kind, rd, hw, &quote, err);
    if (rc == VT_OK) emu_az_hcl(kind, hw, var, vl, hcl, CVM_HCL_SIZE);
    if (rc == VT_OK) rc = vt_vtpm_nv_store(t, VT_AZ_NV_HCL_REPORT, hcl, CVM_HCL_SIZE, err);
    if (rc == VT_OK) rc = boot(t, o->out_dir, err);
    if (rc == VT_OK && o->init_data_hash != NULL) rc = vt_vtpm_pcr_extend(t, 8, o->init_data_hash, err);
    /* what IMDS would answer this VM */
    if (rc == VT_OK && kind == VT_EMU_AZ_SNP) rc = emu_az_vcek_der(e, &vcek, err);
    if (rc == VT_OK) rc = out_path(o->out_dir, kind == VT_EMU_AZ_SNP ? "vcek.der" : "td_quote.bin", path, sizeof path, err);
    if (rc == VT_OK)
        rc = kind == VT_EMU_AZ_SNP ? vt_file_write(path, vcek.ptr, vcek.len, err) : vt_file_write(path, quote.ptr, quote.len, err);
    vt_vtpm_close(t);
    t = NULL;
    if (rc == VT_OK) rc = out_path(o->out_dir, "aa_eventlog", path, sizeof path, err);
    if (rc == VT_OK && vt_file_exists(path)) remove(path);
    for (size_t i = 0; rc == VT_OK && i < o->n_aael; i++) rc = vt_vtpm_aael_extend(o->tcti, path, 23, o->aael[i], err);
    free(var);
    free(hcl);
    vt_buf_free(&quote);
    vt_buf_free(&vcek);
    EVP_PKEY_free(ak);
    return rc;
}
