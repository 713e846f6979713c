/* `veritee vm plan --measure`: the launch measurement the planned VM must show, computed
 * with `veritee measure` from the same firmware, kernel and options the plan passes to QEMU
 * (SNP MEASUREMENT, TDX MRTD). Glue between the vm and measure layers, so it lives here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/measure.h"
#include "veritee/vm.h"

#define IMAGE_MAX (256u << 20)

static vt_err load(const char *path, const char *what, vt_buf *out, vt_error *err)
{
    if (path[0] == '\0') return vt_error_set(err, VT_E_ARG, "measure", "the config names no %s to measure", what);
    return vt_file_read(path, IMAGE_MAX, out, err);
}

/* A SHA-384 launch measurement into the register the TEE reports it in. */
static void found(vt_vm_measurement *out, const char *reg, const uint8_t m[48])
{
    out->present = true;
    snprintf(out->register_name, sizeof out->register_name, "%s", reg);
    snprintf(out->algorithm, sizeof out->algorithm, "sha384");
    vt_hex_encode(m, 48, out->value_hex);
}

static vt_err snp(const vt_vm_config *c, vt_vm_measurement *out, vt_error *err)
{
    vt_buf fw = {0}, k = {0}, in = {0};
    vt_sev_hashes h;
    vt_snp_launch p = {.vcpus = c->vcpus, .guest_features = 0x1, .vmm = VT_SNP_VMM_QEMU};
    uint8_t m[48];
    vt_err rc;
    VT_GUARD_GOTO(load(c->firmware, "firmware", &fw, err));
    VT_GUARD_GOTO(vt_snp_vcpu_sig(c->snp.cpu[0] ? c->snp.cpu : "EPYC-v4", &p.vcpu_sig, err));
    p.firmware = fw.ptr;
    p.firmware_len = fw.len;
    if (c->snp.kernel_hashes) {
        VT_GUARD_GOTO(load(c->kernel, "kernel", &k, err));
        if (c->initrd[0]) VT_GUARD_GOTO(vt_file_read(c->initrd, IMAGE_MAX, &in, err));
        VT_GUARD_GOTO(vt_sev_hashes_compute(k.ptr, k.len, in.ptr, in.len, c->cmdline[0] ? c->cmdline : NULL, &h, err));
        p.hashes = &h;
    }
    VT_GUARD_GOTO(vt_measure_snp(&p, m, err));
    found(out, "MEASUREMENT", m);
out:
    vt_buf_free(&fw);
    vt_buf_free(&k);
    vt_buf_free(&in);
    return rc;
}

static vt_err tdx(const vt_vm_config *c, vt_vm_measurement *out, vt_error *err)
{
    vt_buf fw = {0};
    vt_tdvf t;
    uint8_t m[48];
    vt_err rc;
    VT_GUARD_GOTO(load(c->firmware, "firmware", &fw, err));
    VT_GUARD_GOTO(vt_tdvf_parse(fw.ptr, fw.len, &t, err));
    VT_GUARD_GOTO(vt_measure_tdx_mrtd(fw.ptr, fw.len, &t, VT_TDX_ORDER_SINGLE, m, err));
    found(out, "MRTD", m);
out:
    vt_buf_free(&fw);
    return rc;
}

vt_err cli_vm_measure(const vt_vm_config *c, const vt_vm_plan *plan, void *ctx, vt_vm_measurement *out,
                      vt_error *err)
{
    (void)plan;
    (void)ctx;
    switch (c->tee) {
    case VT_VM_TEE_SNP: return snp(c, out, err);
    case VT_VM_TEE_TDX: return tdx(c, out, err);
    case VT_VM_TEE_CCA:
        return vt_error_set(err, VT_E_UNSUPPORTED, "measure",
                            "the realm RIM needs the realm parameters, DTB and load addresses the VMM "
                            "chooses: use `veritee measure cca --realm-config` (docs/measure.md)");
    default: return vt_error_set(err, VT_E_ARG, "measure", "a VM of kind none has no launch measurement");
    }
}
