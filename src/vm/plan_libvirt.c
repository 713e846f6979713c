/* Launch plan: a VM config becomes a libvirt domain XML with <launchSecurity>
 * (specs/vm-launch.md §6.1 sev-snp, §6.3 tdx; CCA has no upstream type, so the realm object
 * goes through <qemu:commandline>, §5.1/§6.4). */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/vm.h"
#include "veritee/writer.h"
#include "vm_internal.h"

#define CHECK "vm_plan"

typedef struct xb {
    vt_writer w; /* the XML text, NUL-terminated */
    bool oom;    /* an allocation outside the writer failed */
} xb;

static void xb_raw(xb *b, const char *s, size_t n) { vt_write_bytes(&b->w, "domain XML", s, n); }

/* printf-style; every %s argument must already be escaped (use xb_text / xb_attr). */
static void xb_f(xb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xb_f(xb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_write_vfmt(&b->w, fmt, ap);
    va_end(ap);
}

/* Escaped text, for element content and single-quoted attribute values. */
static void xb_esc(xb *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': xb_raw(b, "&amp;", 5); break;
        case '<': xb_raw(b, "&lt;", 4); break;
        case '>': xb_raw(b, "&gt;", 4); break;
        case '\'': xb_raw(b, "&apos;", 6); break;
        case '"': xb_raw(b, "&quot;", 6); break;
        default: xb_raw(b, s, 1);
        }
    }
}

/* <tag>escaped text</tag> at an indent. */
static void xb_el(xb *b, int indent, const char *tag, const char *text)
{
    xb_f(b, "%*s<%s>", indent, "", tag);
    xb_esc(b, text);
    xb_f(b, "</%s>\n", tag);
}

static void xb_b64el(xb *b, int indent, const char *tag, const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, false);
    if (s == NULL) {
        b->oom = true;
        return;
    }
    xb_el(b, indent, tag, s);
    free(s);
}

static void os_section(xb *b, const vt_vm_config *c)
{
    bool arm = c->tee == VT_VM_TEE_CCA;
    xb_f(b, "  <os>\n    <type arch='%s' machine='%s'>hvm</type>\n", arm ? "aarch64" : "x86_64",
         arm ? "virt" : "q35");
    if (c->firmware[0]) {
        xb_f(b, "    <loader type='rom' readonly='yes'>");
        xb_esc(b, c->firmware);
        xb_f(b, "</loader>\n");
    }
    if (c->kernel[0]) xb_el(b, 4, "kernel", c->kernel);
    if (c->initrd[0]) xb_el(b, 4, "initrd", c->initrd);
    if (c->cmdline[0]) xb_el(b, 4, "cmdline", c->cmdline);
    xb_f(b, "  </os>\n");
}

static void features_cpu_clock(xb *b, const vt_vm_config *c)
{
    xb_f(b, "  <features>\n");
    if (c->tee == VT_VM_TEE_CCA) {
        xb_f(b, "    <gic version='3'/>\n");
    } else {
        xb_f(b, "    <acpi/>\n    <apic/>\n");
        if (c->tee == VT_VM_TEE_TDX) xb_f(b, "    <ioapic driver='qemu'/>\n");
        if (c->tee != VT_VM_TEE_NONE) xb_f(b, "    <smm state='off'/>\n");
    }
    xb_f(b, "  </features>\n");
    if (c->tee == VT_VM_TEE_SNP) {
        /* The vCPU model is in every VMSA, hence in the launch digest: pin it (§4). */
        xb_f(b, "  <cpu mode='custom' match='exact' check='none'>\n"
                "    <model fallback='forbid'>");
        xb_esc(b, c->snp.cpu);
        xb_f(b, "</model>\n  </cpu>\n");
    } else if (c->tee == VT_VM_TEE_NONE && c->accel != VT_VM_ACCEL_KVM) {
        xb_f(b, "  <cpu mode='maximum'/>\n");
    } else {
        xb_f(b, "  <cpu mode='host-passthrough'/>\n");
    }
    if (c->tee == VT_VM_TEE_TDX)
        xb_f(b, "  <clock offset='utc'>\n    <timer name='hpet' present='no'/>\n  </clock>\n");
    else
        xb_f(b, "  <clock offset='utc'/>\n");
    /* A TD or SNP guest cannot be reset: a reboot is a relaunch (§3, §4). */
    xb_f(b, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>%s</on_reboot>\n"
            "  <on_crash>destroy</on_crash>\n",
         c->tee == VT_VM_TEE_NONE ? "restart" : "destroy");
    if (c->tee == VT_VM_TEE_TDX)
        xb_f(b, "  <memoryBacking>\n    <source type='anonymous'/>\n"
                "    <access mode='private'/>\n  </memoryBacking>\n");
}

static void devices(xb *b, const vt_vm_config *c)
{
    const char *iommu = c->tee == VT_VM_TEE_NONE ? "" : " iommu='on'";
    xb_f(b, "  <devices>\n");
    if (c->qemu[0] == '/') xb_el(b, 4, "emulator", c->qemu);
    for (size_t i = 0; i < c->n_disks; i++) {
        const vt_vm_disk *d = &c->disks[i];
        xb_f(b, "    <disk type='file' device='disk'>\n"
                "      <driver name='qemu' type='%s'%s/>\n      <source file='",
             d->format, iommu);
        xb_esc(b, d->path);
        xb_f(b, "'/>\n      <target dev='vd%c' bus='virtio'/>\n", (char)('a' + i));
        if (d->readonly) xb_f(b, "      <readonly/>\n");
        xb_f(b, "    </disk>\n");
    }
    if (c->net == VT_VM_NET_USER) {
        xb_f(b, "    <interface type='user'>\n      <model type='virtio'/>\n");
        if (iommu[0]) xb_f(b, "      <driver%s/>\n", iommu);
        xb_f(b, "    </interface>\n");
    }
    xb_f(b, "    <serial type='pty'/>\n    <console type='pty'/>\n");
    if (c->tee != VT_VM_TEE_NONE) xb_f(b, "    <memballoon model='none'/>\n");
    xb_f(b, "  </devices>\n");
}

static void snp_launch_security(xb *b, const vt_vm_snp *s)
{
    xb_f(b, "  <launchSecurity type='sev-snp'%s%s%s>\n", s->kernel_hashes ? " kernelHashes='yes'" : "",
         s->author_key ? " authorKey='yes'" : "", s->vcek_disabled ? " vcek='no'" : "");
    xb_f(b, "    <cbitpos>%u</cbitpos>\n    <reducedPhysBits>%u</reducedPhysBits>\n", s->cbitpos,
         s->reduced_phys_bits);
    xb_f(b, "    <policy>0x%08llx</policy>\n", (unsigned long long)s->policy);
    if (s->has_gosvw) xb_b64el(b, 4, "guestVisibleWorkarounds", s->gosvw, 16);
    if (s->has_id_block) xb_b64el(b, 4, "idBlock", s->id_block, 96);
    if (s->has_id_auth) xb_b64el(b, 4, "idAuth", s->id_auth, 4096);
    if (s->has_host_data) xb_b64el(b, 4, "hostData", s->host_data, 32);
    xb_f(b, "  </launchSecurity>\n");
}

static vt_err tdx_launch_security(xb *b, const vt_vm_tdx *t, vt_error *err)
{
    if (strcmp(t->qgs_type, "vsock") == 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, CHECK,
                            "tdx.quote_generation_socket: libvirt's <quoteGenerationService> takes "
                            "a unix socket path; use type \"unix\" with the libvirt backend");
    xb_f(b, "  <launchSecurity type='tdx'>\n    <policy>0x%08llx</policy>\n",
         (unsigned long long)t->attributes);
    if (t->has_mrconfigid) xb_b64el(b, 4, "mrConfigId", t->mrconfigid, 48);
    if (t->has_mrowner) xb_b64el(b, 4, "mrOwner", t->mrowner, 48);
    if (t->has_mrownerconfig) xb_b64el(b, 4, "mrOwnerConfig", t->mrownerconfig, 48);
    if (t->qgs_type[0]) {
        xb_f(b, "    <quoteGenerationService path='");
        xb_esc(b, t->qgs_path);
        xb_f(b, "'/>\n");
    }
    xb_f(b, "  </launchSecurity>\n");
    return VT_OK;
}

static vt_err cca_commandline(xb *b, const vt_vm_cca *r, vt_error *err)
{
    char *o = NULL;
    VT_GUARD(vm_plan_rme_object(r, &o, err));
    xb_f(b, "  <qemu:commandline>\n    <qemu:arg value='-object'/>\n    <qemu:arg value='");
    xb_esc(b, o);
    xb_f(b, "'/>\n    <qemu:arg value='-machine'/>\n"
            "    <qemu:arg value='confidential-guest-support=rme0'/>\n  </qemu:commandline>\n");
    free(o);
    return VT_OK;
}

static vt_err build(const vt_vm_config *c, xb *b, vt_error *err)
{
    xb_f(b, "<domain type='%s'%s>\n", c->accel == VT_VM_ACCEL_TCG ? "qemu" : "kvm",
         c->tee == VT_VM_TEE_CCA ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
                                 : "");
    xb_el(b, 2, "name", c->name);
    xb_f(b, "  <memory unit='MiB'>%llu</memory>\n  <vcpu>%u</vcpu>\n",
         (unsigned long long)c->memory_mib, c->vcpus);
    if (c->kbs_url[0]) {
        xb_f(b, "  <sysinfo type='fwcfg'>\n    <entry name='%s'>", VT_VM_FWCFG_KBS_URL);
        xb_esc(b, c->kbs_url);
        xb_f(b, "</entry>\n  </sysinfo>\n");
    }
    os_section(b, c);
    features_cpu_clock(b, c);
    devices(b, c);
    switch (c->tee) {
    case VT_VM_TEE_NONE: break;
    case VT_VM_TEE_SNP: snp_launch_security(b, &c->snp); break;
    case VT_VM_TEE_TDX: VT_GUARD(tdx_launch_security(b, &c->tdx, err)); break;
    case VT_VM_TEE_CCA: VT_GUARD(cca_commandline(b, &c->cca, err)); break;
    }
    xb_f(b, "</domain>\n");
    if (b->oom || vt_writer_status(&b->w) != VT_OK) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    return VT_OK;
}

vt_err vt_vm_plan_libvirt(const vt_vm_config *c, const vt_vm_plan_opts *o, vt_vm_plan *out,
                          vt_error *err)
{
    xb b = {.oom = false};
    uint8_t *xml;
    vt_writer_init(&b.w, "domain XML", NULL);
    vt_err rc = build(c, &b, err);
    if (rc == VT_OK) rc = vt_writer_take(&b.w, &xml, NULL);
    vt_writer_free(&b.w);
    if (rc != VT_OK) return rc;
    free(out->xml);
    out->xml = (char *)xml;
    if (o != NULL && o->measure != NULL) {
        vt_vm_measurement m = {0};
        VT_GUARD(o->measure(c, out, o->measure_ctx, &m, err));
        out->measurement = m;
    }
    return VT_OK;
}
