/* Launch plan: a VM config becomes a QEMU command line (specs/vm-launch.md §3 TDX,
 * §4 SEV-SNP, §5.1 CCA rme-guest). The process is daemonized with a QMP socket, a pid file
 * and a serial log under the run directory. */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/vm.h"
#include "vm_internal.h"

#define CHECK "vm_plan"

/* QemuOpts values: a comma is written as ",,". */
static char *opt_escape(const char *s)
{
    size_t n = strlen(s), extra = 0;
    for (size_t i = 0; i < n; i++) extra += s[i] == ',';
    char *o = malloc(n + extra + 1), *p = o;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        *p++ = s[i];
        if (s[i] == ',') *p++ = ',';
    }
    *p = 0;
    return o;
}

/* push "<prefix><escaped value><suffix>" */
static vt_err push_esc(vt_vm_argv *a, const char *prefix, const char *value, const char *suffix,
                       vt_error *err)
{
    char *e = opt_escape(value);
    if (e == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = vt_vm_argv_pushf(a, err, "%s%s%s", prefix, e, suffix);
    free(e);
    return rc;
}

static vt_err push2(vt_vm_argv *a, const char *opt, const char *val, vt_error *err)
{
    VT_GUARD(vt_vm_argv_push(a, opt, err));
    return vt_vm_argv_push(a, val, err);
}

static char *b64(const uint8_t *p, size_t n) { return vt_b64_encode(p, n, false); }

/* Append ",key=base64(p)" to a growing option string. */
static vt_err cat_b64(char **s, const char *key, const uint8_t *p, size_t n, vt_error *err)
{
    char *v = b64(p, n), *o = NULL;
    if (v == NULL || asprintf(&o, "%s,%s=%s", *s, key, v) < 0) {
        free(v);
        return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    }
    free(v);
    free(*s);
    *s = o;
    return VT_OK;
}

/* Append prefix + value to a growing option string. */
static vt_err cat(char **s, vt_error *err, const char *prefix, const char *value)
{
    char *o = NULL;
    if (asprintf(&o, "%s%s%s", *s, prefix, value) < 0)
        return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    free(*s);
    *s = o;
    return VT_OK;
}

/* tdx-guest: keyval form, or the JSON form when the structured QGS socket is given (§3). */
static vt_err tdx_object(const vt_vm_tdx *t, vt_vm_argv *a, vt_error *err)
{
    VT_GUARD(vt_vm_argv_push(a, "-object", err));
    const struct { const char *key; bool has; const uint8_t *v; } mr[] = {
        {"mrconfigid", t->has_mrconfigid, t->mrconfigid},
        {"mrowner", t->has_mrowner, t->mrowner},
        {"mrownerconfig", t->has_mrownerconfig, t->mrownerconfig},
    };
    if (t->qgs_type[0] == 0) {
        char *s = NULL;
        if (asprintf(&s, "tdx-guest,id=tdx0,attributes=0x%llx",
                     (unsigned long long)t->attributes) < 0)
            return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
        vt_err rc = VT_OK;
        for (size_t i = 0; i < 3 && rc == VT_OK; i++)
            if (mr[i].has) rc = cat_b64(&s, mr[i].key, mr[i].v, 48, err);
        if (rc == VT_OK) rc = vt_vm_argv_push(a, s, err);
        free(s);
        return rc;
    }
    json_t *o = json_object(), *q = json_object();
    vt_err rc = VT_OK;
    char cid[16], port[16];
    if (o == NULL || q == NULL) goto nomem;
    json_object_set_new(o, "qom-type", json_string("tdx-guest"));
    json_object_set_new(o, "id", json_string("tdx0"));
    json_object_set_new(o, "attributes", json_integer((json_int_t)t->attributes));
    if (t->attributes > (uint64_t)INT64_MAX) {
        /* jansson integers are signed: a PERFMON (bit 63) value needs the keyval form. */
        rc = vt_error_set(err, VT_E_UNSUPPORTED, CHECK,
                          "tdx.attributes: bit 63 together with quote_generation_socket is not "
                          "supported by this planner");
        goto out;
    }
    for (size_t i = 0; i < 3; i++) {
        if (!mr[i].has) continue;
        char *v = b64(mr[i].v, 48);
        if (v == NULL) goto nomem;
        json_object_set_new(o, mr[i].key, json_string(v));
        free(v);
    }
    json_object_set_new(q, "type", json_string(t->qgs_type));
    if (strcmp(t->qgs_type, "vsock") == 0) {
        snprintf(cid, sizeof cid, "%u", t->qgs_cid);
        snprintf(port, sizeof port, "%u", t->qgs_port);
        json_object_set_new(q, "cid", json_string(cid));
        json_object_set_new(q, "port", json_string(port));
    } else {
        json_object_set_new(q, "path", json_string(t->qgs_path));
    }
    json_object_set(o, "quote-generation-socket", q);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s == NULL) goto nomem;
    rc = vt_vm_argv_push(a, s, err);
    free(s);
    goto out;
nomem:
    rc = vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
out:
    json_decref(q);
    json_decref(o);
    return rc;
}

static vt_err snp_objects(const vt_vm_config *c, vt_vm_argv *a, vt_error *err)
{
    const vt_vm_snp *s = &c->snp;
    VT_GUARD(vt_vm_argv_push(a, "-object", err));
    VT_GUARD(vt_vm_argv_pushf(a, err,
                              "memory-backend-memfd,id=ram1,size=%lluM,share=true,prealloc=false",
                              (unsigned long long)c->memory_mib));
    char *o = NULL;
    if (asprintf(&o, "sev-snp-guest,id=sev0,cbitpos=%u,reduced-phys-bits=%u,policy=0x%llx",
                 s->cbitpos, s->reduced_phys_bits, (unsigned long long)s->policy) < 0)
        return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = VT_OK;
    if (s->kernel_hashes) rc = cat(&o, err, "", ",kernel-hashes=on");
    if (rc == VT_OK && s->vcek_disabled) rc = cat(&o, err, "", ",vcek-disabled=on");
    if (rc == VT_OK && s->has_gosvw)
        rc = cat_b64(&o, "guest-visible-workarounds", s->gosvw, 16, err);
    if (rc == VT_OK && s->has_id_block) rc = cat_b64(&o, "id-block", s->id_block, 96, err);
    if (rc == VT_OK && s->has_id_auth) rc = cat_b64(&o, "id-auth", s->id_auth, 4096, err);
    if (rc == VT_OK && s->author_key) rc = cat(&o, err, "", ",author-key-enabled=on");
    if (rc == VT_OK && s->has_host_data) rc = cat_b64(&o, "host-data", s->host_data, 32, err);
    if (rc == VT_OK) rc = push2(a, "-object", o, err);
    free(o);
    return rc;
}

vt_err vm_plan_rme_object(const vt_vm_cca *r, char **out, vt_error *err)
{
    char *o = strdup("rme-guest,id=rme0");
    if (o == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = VT_OK;
    if (r->measurement_algorithm[0])
        rc = cat(&o, err, ",measurement-algorithm=", r->measurement_algorithm);
    if (rc == VT_OK && r->rpv_len)
        rc = cat_b64(&o, "personalization-value", r->rpv, r->rpv_len, err);
    if (rc == VT_OK && r->measurement_log) rc = cat(&o, err, "", ",measurement-log=on");
    if (rc != VT_OK) {
        free(o);
        return rc;
    }
    *out = o;
    return VT_OK;
}

static vt_err cca_object(const vt_vm_cca *r, vt_vm_argv *a, vt_error *err)
{
    char *o = NULL;
    VT_GUARD(vm_plan_rme_object(r, &o, err));
    vt_err rc = push2(a, "-object", o, err);
    free(o);
    return rc;
}

static vt_err machine(const vt_vm_config *c, vt_vm_argv *a, vt_error *err)
{
    switch (c->accel) {
    case VT_VM_ACCEL_AUTO:
        VT_GUARD(push2(a, "-accel", "kvm", err));
        VT_GUARD(push2(a, "-accel", "tcg", err));
        break;
    case VT_VM_ACCEL_KVM: VT_GUARD(push2(a, "-accel", "kvm", err)); break;
    case VT_VM_ACCEL_TCG: VT_GUARD(push2(a, "-accel", "tcg", err)); break;
    }
    switch (c->tee) {
    case VT_VM_TEE_NONE:
        VT_GUARD(push2(a, "-cpu", c->accel == VT_VM_ACCEL_KVM ? "host" : "max", err));
        return push2(a, "-machine", "q35", err);
    case VT_VM_TEE_TDX:
        VT_GUARD(push2(a, "-cpu", "host", err));
        VT_GUARD(push2(a, "-machine",
                       "q35,kernel_irqchip=split,confidential-guest-support=tdx0,smm=off,hpet=off",
                       err));
        return tdx_object(&c->tdx, a, err);
    case VT_VM_TEE_SNP:
        VT_GUARD(push2(a, "-cpu", c->snp.cpu, err));
        VT_GUARD(push2(a, "-machine", "q35,confidential-guest-support=sev0,memory-backend=ram1",
                       err));
        return snp_objects(c, a, err);
    case VT_VM_TEE_CCA:
        VT_GUARD(push2(a, "-cpu", "host", err));
        VT_GUARD(push2(a, "-machine", "virt,gic-version=3,confidential-guest-support=rme0", err));
        return cca_object(&c->cca, a, err);
    }
    return vt_error_set(err, VT_E_ARG, CHECK, "unknown tee %d", (int)c->tee);
}

static vt_err devices(const vt_vm_config *c, vt_vm_argv *a, vt_error *err)
{
    /* Confidential guests bounce virtio DMA through shared memory: they need the modern
     * (non-legacy) virtio devices with VIRTIO_F_ACCESS_PLATFORM. */
    const char *dev_opts = c->tee == VT_VM_TEE_NONE ? "" : ",disable-legacy=on,iommu_platform=on";
    for (size_t i = 0; i < c->n_disks; i++) {
        const vt_vm_disk *d = &c->disks[i];
        char suffix[64];
        snprintf(suffix, sizeof suffix, ",format=%s%s", d->format, d->readonly ? ",readonly=on" : "");
        char prefix[48];
        snprintf(prefix, sizeof prefix, "if=none,id=disk%zu,file=", i);
        VT_GUARD(vt_vm_argv_push(a, "-drive", err));
        VT_GUARD(push_esc(a, prefix, d->path, suffix, err));
        VT_GUARD(vt_vm_argv_push(a, "-device", err));
        VT_GUARD(vt_vm_argv_pushf(a, err, "virtio-blk-pci,drive=disk%zu%s", i, dev_opts));
    }
    if (c->net == VT_VM_NET_USER) {
        VT_GUARD(push2(a, "-netdev", "user,id=net0", err));
        VT_GUARD(vt_vm_argv_push(a, "-device", err));
        VT_GUARD(vt_vm_argv_pushf(a, err, "virtio-net-pci,netdev=net0%s", dev_opts));
    }
    if (c->kbs_url[0]) {
        VT_GUARD(vt_vm_argv_push(a, "-fw_cfg", err));
        VT_GUARD(push_esc(a, "name=" VT_VM_FWCFG_KBS_URL ",string=", c->kbs_url, "", err));
    }
    return VT_OK;
}

static vt_err runtime(const char *run, vt_vm_argv *a, vt_error *err)
{
    VT_GUARD(push2(a, "-display", "none", err));
    VT_GUARD(vt_vm_argv_push(a, "-chardev", err));
    VT_GUARD(push_esc(a, "file,id=serial0,path=", run, "/console.log", err));
    VT_GUARD(push2(a, "-serial", "chardev:serial0", err));
    VT_GUARD(vt_vm_argv_push(a, "-chardev", err));
    VT_GUARD(push_esc(a, "socket,id=qmp0,path=", run, "/qmp.sock,server=on,wait=off", err));
    VT_GUARD(push2(a, "-mon", "chardev=qmp0,mode=control", err));
    VT_GUARD(vt_vm_argv_push(a, "-pidfile", err));
    VT_GUARD(vt_vm_argv_pushf(a, err, "%s/qemu.pid", run));
    return vt_vm_argv_push(a, "-daemonize", err);
}

static vt_err build(const vt_vm_config *c, const char *run, vt_vm_argv *a, vt_error *err)
{
    VT_GUARD(vt_vm_argv_push(a, c->qemu, err));
    VT_GUARD(vt_vm_argv_push(a, "-name", err));
    VT_GUARD(vt_vm_argv_pushf(a, err, "guest=%s", c->name));
    VT_GUARD(vt_vm_argv_push(a, "-nodefaults", err));
    VT_GUARD(vt_vm_argv_push(a, "-no-user-config", err));
    VT_GUARD(machine(c, a, err));
    VT_GUARD(vt_vm_argv_push(a, "-smp", err));
    VT_GUARD(vt_vm_argv_pushf(a, err, "%u", c->vcpus));
    VT_GUARD(vt_vm_argv_push(a, "-m", err));
    VT_GUARD(vt_vm_argv_pushf(a, err, "%lluM", (unsigned long long)c->memory_mib));
    if (c->firmware[0]) VT_GUARD(push2(a, "-bios", c->firmware, err));
    if (c->kernel[0]) VT_GUARD(push2(a, "-kernel", c->kernel, err));
    if (c->initrd[0]) VT_GUARD(push2(a, "-initrd", c->initrd, err));
    if (c->cmdline[0]) VT_GUARD(push2(a, "-append", c->cmdline, err));
    VT_GUARD(devices(c, a, err));
    return runtime(run, a, err);
}

vt_err vt_vm_plan_qemu(const vt_vm_config *c, const vt_vm_plan_opts *o, vt_vm_plan *out,
                       vt_error *err)
{
    if (o == NULL || o->run_dir == NULL || o->run_dir[0] != '/')
        return vt_error_set(err, VT_E_ARG, CHECK, "plan: an absolute run directory is needed");
    vt_vm_argv a = {0};
    vt_err rc = build(c, o->run_dir, &a, err);
    if (rc != VT_OK) {
        vt_vm_argv_free(&a);
        return rc;
    }
    vt_vm_argv_free(&out->argv);
    out->argv = a;
    if (o->measure != NULL) {
        vt_vm_measurement m = {0};
        VT_GUARD(o->measure(c, out, o->measure_ctx, &m, err));
        out->measurement = m;
    }
    return VT_OK;
}
