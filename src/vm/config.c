/* VM config: JSON load and validation with errors naming the key (docs/vm.md; TEE options
 * per specs/vm-launch.md §3–§5, SNP policy bits per guest-evidence.md §9). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/vm.h"

#define CHECK "vm_config"

const char *vt_vm_tee_name(vt_vm_tee t)
{
    switch (t) {
    case VT_VM_TEE_NONE: return "none";
    case VT_VM_TEE_TDX: return "tdx";
    case VT_VM_TEE_SNP: return "snp";
    case VT_VM_TEE_CCA: return "cca";
    }
    return "?";
}

vt_err vt_vm_name_check(const char *name, vt_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n >= VT_VM_NAME_MAX)
        return vt_error_set(err, VT_E_INVALID, CHECK, "name: length %zu outside 1..%d", n,
                            VT_VM_NAME_MAX - 1);
    if (name[0] == '.' || name[0] == '-')
        return vt_error_set(err, VT_E_INVALID, CHECK, "name: '%s' must not start with '%c'",
                            name, name[0]);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) {
            if (ch == '/' || ch == '\\')
                return vt_error_set(err, VT_E_INVALID, CHECK,
                                    "name: '%s' contains a path character '%c' (use letters, "
                                    "digits, '.', '_', '-')", name, ch);
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "name: character 0x%02x at %zu not allowed (use letters, digits, "
                                "'.', '_', '-')", (unsigned)(unsigned char)ch, i);
        }
    }
    return VT_OK;
}

#define OPT VT_JSON_OPTIONAL

/* An integer member in [min, max] into a uint64_t (absent: *out stays). */
static vt_err opt_int(const vt_json_in *in, const char *key, int64_t min, int64_t max, uint64_t *out)
{
    int64_t v = (int64_t)*out;
    VT_GUARD(vt_json_get_int(in, key, OPT, min, max, &v, NULL));
    *out = (uint64_t)v;
    return VT_OK;
}

static vt_err parse_disks(const vt_json_in *root, vt_vm_config *c)
{
    const json_t *arr = NULL;
    VT_GUARD(vt_json_get_arr(root, "disks", OPT, 0, VT_VM_MAX_DISKS, &arr, NULL));
    static const char *const keys[] = {"path", "format", "readonly", NULL};
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
        vt_json_in din;
        VT_GUARD(vt_json_elem_obj(root, "disks", arr, i, &din));
        VT_GUARD(vt_json_keys(&din, keys));
        vt_vm_disk *k = &c->disks[i];
        VT_GUARD(vt_json_get_text(&din, "path", VT_JSON_REQUIRED, k->path, sizeof k->path, NULL));
        if (k->path[0] == 0) return vt_json_fail(&din, "path", "empty");
        snprintf(k->format, sizeof k->format, "raw");
        VT_GUARD(vt_json_get_text(&din, "format", OPT, k->format, sizeof k->format, NULL));
        if (strcmp(k->format, "raw") != 0 && strcmp(k->format, "qcow2") != 0)
            return vt_json_fail(&din, "format", "'%s' unknown (raw or qcow2)", k->format);
        VT_GUARD(vt_json_get_bool(&din, "readonly", OPT, &k->readonly, NULL));
        c->n_disks++;
    }
    return VT_OK;
}

static vt_err parse_tdx(const vt_json_in *tin, vt_vm_tdx *t, vt_error *err)
{
    const vt_json_in in = *tin;
    static const char *const keys[] = {"attributes", "debug", "sept_ve_disable", "mrconfigid",
                                       "mrowner", "mrownerconfig", "quote_generation_socket",
                                       NULL};
    VT_GUARD(vt_json_keys(&in, keys));
    bool debug = false, sept = true, has_attr, has_debug, has_sept;
    uint64_t attr = 0;
    VT_GUARD(vt_json_get_u64(&in, "attributes", OPT, UINT64_MAX, &attr, &has_attr));
    VT_GUARD(vt_json_get_bool(&in, "debug", OPT, &debug, &has_debug));
    VT_GUARD(vt_json_get_bool(&in, "sept_ve_disable", OPT, &sept, &has_sept));
    if (has_attr && (has_debug || has_sept))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "tdx.attributes: give either attributes or debug/sept_ve_disable, "
                            "not both");
    if (!has_attr)
        attr = (debug ? VT_VM_TDX_ATTR_DEBUG : 0) | (sept ? VT_VM_TDX_ATTR_SEPT_VE_DISABLE : 0);
    const uint64_t known = VT_VM_TDX_ATTR_DEBUG | VT_VM_TDX_ATTR_SEPT_VE_DISABLE |
                           VT_VM_TDX_ATTR_PKS | VT_VM_TDX_ATTR_KL | VT_VM_TDX_ATTR_PERFMON;
    if (attr & ~known)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "tdx.attributes: reserved bits set (0x%llx; known bits are 0 DEBUG, "
                            "28 SEPT_VE_DISABLE, 30 PKS, 31 KL, 63 PERFMON)",
                            (unsigned long long)(attr & ~known));
    t->attributes = attr;
    VT_GUARD(vt_json_get_hex(&in, "mrconfigid", OPT, t->mrconfigid, 48, &t->has_mrconfigid));
    VT_GUARD(vt_json_get_hex(&in, "mrowner", OPT, t->mrowner, 48, &t->has_mrowner));
    VT_GUARD(vt_json_get_hex(&in, "mrownerconfig", OPT, t->mrownerconfig, 48, &t->has_mrownerconfig));
    vt_json_in qin;
    bool has_qgs;
    VT_GUARD(vt_json_get_obj(&in, "quote_generation_socket", OPT, &qin, &has_qgs));
    if (!has_qgs) return VT_OK;
    const json_t *q = qin.obj;
    const char *p = "tdx.quote_generation_socket";
    static const char *const qkeys[] = {"type", "cid", "port", "path", NULL};
    VT_GUARD(vt_json_keys(&qin, qkeys));
    VT_GUARD(vt_json_get_text(&qin, "type", OPT, t->qgs_type, sizeof t->qgs_type, NULL));
    if (strcmp(t->qgs_type, "vsock") == 0) {
        uint64_t cid = 2, port = 4050;
        VT_GUARD(opt_int(&qin, "cid", 2, UINT32_MAX, &cid));
        VT_GUARD(opt_int(&qin, "port", 1, UINT32_MAX, &port));
        if (json_object_get(q, "path"))
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s.path: only for type unix", p);
        t->qgs_cid = (uint32_t)cid;
        t->qgs_port = (uint32_t)port;
    } else if (strcmp(t->qgs_type, "unix") == 0) {
        snprintf(t->qgs_path, sizeof t->qgs_path, "/var/run/tdx-qgs/qgs.socket");
        VT_GUARD(vt_json_get_text(&qin, "path", OPT, t->qgs_path, sizeof t->qgs_path, NULL));
        if (t->qgs_path[0] != '/')
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s.path: must be absolute", p);
        if (json_object_get(q, "cid") || json_object_get(q, "port"))
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: cid/port only for type vsock",
                                p);
    } else {
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s.type: '%s' unknown (vsock or unix)",
                            p, t->qgs_type);
    }
    return VT_OK;
}

static vt_err parse_snp(const vt_json_in *sin, vt_vm_config *c, vt_error *err)
{
    const vt_json_in in = *sin;
    static const char *const keys[] = {"policy", "debug", "cpu", "cbitpos", "reduced_phys_bits",
                                       "kernel_hashes", "signing_key", "author_key", "host_data",
                                       "id_block", "id_auth", "guest_visible_workarounds",
                                       NULL};
    vt_vm_snp *s = &c->snp;
    VT_GUARD(vt_json_keys(&in, keys));
    s->policy = 0x30000;
    VT_GUARD(vt_json_get_u64(&in, "policy", OPT, UINT64_MAX, &s->policy, NULL));
    if (s->policy & VT_VM_SNP_POLICY_MBZ)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: reserved bits 63:26 must be zero (got 0x%llx)",
                            (unsigned long long)s->policy);
    if (!(s->policy & VT_VM_SNP_POLICY_RSVD1))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: reserved bit 17 must be one (got 0x%llx; QEMU's default "
                            "is 0x30000)", (unsigned long long)s->policy);
    bool debug = false;
    VT_GUARD(vt_json_get_bool(&in, "debug", OPT, &debug, NULL));
    if ((s->policy & VT_VM_SNP_POLICY_DEBUG) && !debug)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: DEBUG (bit 19) lets the host read guest memory; set "
                            "\"debug\": true to accept it");
    if (debug && !(s->policy & VT_VM_SNP_POLICY_DEBUG))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.debug: true but policy bit 19 (DEBUG) is clear");
    snprintf(s->cpu, sizeof s->cpu, "EPYC-v4");
    VT_GUARD(vt_json_get_text(&in, "cpu", OPT, s->cpu, sizeof s->cpu, NULL));
    for (const char *p = s->cpu; *p; p++)
        if (*p == ',' || *p == ' ' || *p == '=')
            return vt_error_set(err, VT_E_INVALID, CHECK, "snp.cpu: '%s' is not a CPU model name",
                                s->cpu);
    if (s->cpu[0] == 0) return vt_error_set(err, VT_E_INVALID, CHECK, "snp.cpu: empty");
    uint64_t cbit = 51, rpb = 1;
    VT_GUARD(opt_int(&in, "cbitpos", 32, 63, &cbit));
    VT_GUARD(opt_int(&in, "reduced_phys_bits", 1, 63, &rpb));
    s->cbitpos = (uint32_t)cbit;
    s->reduced_phys_bits = (uint32_t)rpb;
    VT_GUARD(vt_json_get_bool(&in, "kernel_hashes", OPT, &s->kernel_hashes, NULL));
    char key[8] = "vcek";
    VT_GUARD(vt_json_get_text(&in, "signing_key", OPT, key, sizeof key, NULL));
    if (strcmp(key, "vlek") == 0) s->vcek_disabled = true;
    else if (strcmp(key, "vcek") != 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.signing_key: '%s' unknown (vcek or vlek)", key);
    VT_GUARD(vt_json_get_hex(&in, "host_data", OPT, s->host_data, 32, &s->has_host_data));
    VT_GUARD(vt_json_get_hex(&in, "guest_visible_workarounds", OPT, s->gosvw, 16, &s->has_gosvw));
    VT_GUARD(vt_json_get_b64(&in, "id_block", OPT, s->id_block, 96, &s->has_id_block));
    VT_GUARD(vt_json_get_b64(&in, "id_auth", OPT, s->id_auth, 4096, &s->has_id_auth));
    VT_GUARD(vt_json_get_bool(&in, "author_key", OPT, &s->author_key, NULL));
    if (s->has_id_auth != s->has_id_block)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.id_block and snp.id_auth go together (SNP_LAUNCH_FINISH)");
    if (s->author_key && !s->has_id_auth)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.author_key: needs id_auth carrying the author key");
    if (s->kernel_hashes && c->kernel[0] == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.kernel_hashes: needs kernel (measured direct boot)");
    return VT_OK;
}

static vt_err parse_cca(const vt_json_in *cin, vt_vm_cca *a, vt_error *err)
{
    const vt_json_in in = *cin;
    static const char *const keys[] = {"measurement_algorithm", "personalization_value",
                                       "measurement_log", NULL};
    VT_GUARD(vt_json_keys(&in, keys));
    VT_GUARD(vt_json_get_text(&in, "measurement_algorithm", OPT, a->measurement_algorithm,
                     sizeof a->measurement_algorithm, NULL));
    if (a->measurement_algorithm[0] && strcmp(a->measurement_algorithm, "sha256") != 0 &&
        strcmp(a->measurement_algorithm, "sha512") != 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "cca.measurement_algorithm: '%s' unknown (sha256 or sha512)",
                            a->measurement_algorithm);
    VT_GUARD(vt_json_get_hexn(&in, "personalization_value", OPT, a->rpv, 1, 64, &a->rpv_len, NULL));
    return vt_json_get_bool(&in, "measurement_log", OPT, &a->measurement_log, NULL);
}

static vt_err parse_tee(const char *s, vt_vm_tee *t, vt_error *err)
{
    static const char *const names[] = {"none", "tdx", "snp", "cca"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *t = (vt_vm_tee)i;
            return VT_OK;
        }
    return vt_error_set(err, VT_E_INVALID, CHECK, "tee: '%.40s' unknown (tdx, snp, cca or none)",
                        s);
}

static vt_err check_abs(const char *key, const char *p, vt_error *err)
{
    if (p[0] != 0 && p[0] != '/')
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: '%s' must be an absolute path", key,
                            p);
    return VT_OK;
}

static vt_err parse_root(const json_t *root, vt_vm_config *c, vt_error *err)
{
    vt_json_in in;
    static const char *const keys[] = {"name", "tee", "vcpus", "memory_mib", "accel", "qemu",
                                       "firmware", "kernel", "initrd", "cmdline", "disks",
                                       "network", "attestation", "tdx", "snp", "cca", NULL};
    if (!json_is_object(root))
        return vt_error_set(err, VT_E_INVALID, CHECK, "config: expected a JSON object");
    VT_GUARD(vt_json_in_init(&in, root, "", CHECK, err));
    VT_GUARD(vt_json_keys(&in, keys));
    VT_GUARD(vt_json_get_text(&in, "name", VT_JSON_REQUIRED, c->name, sizeof c->name, NULL));
    VT_GUARD(vt_vm_name_check(c->name, err));
    char tee[16] = "";
    if (json_object_get(root, "tee") == NULL)
        return vt_error_set(err, VT_E_INVALID, CHECK, "tee: missing (tdx, snp, cca or none)");
    VT_GUARD(vt_json_get_text(&in, "tee", OPT, tee, sizeof tee, NULL));
    VT_GUARD(parse_tee(tee, &c->tee, err));
    uint64_t vcpus = 1, mem = 1024;
    VT_GUARD(opt_int(&in, "vcpus", 1, 512, &vcpus));
    VT_GUARD(opt_int(&in, "memory_mib", 16, 16 << 20, &mem));
    c->vcpus = (uint32_t)vcpus;
    c->memory_mib = mem;
    char accel[8] = "";
    VT_GUARD(vt_json_get_text(&in, "accel", OPT, accel, sizeof accel, NULL));
    if (accel[0] == 0) c->accel = c->tee == VT_VM_TEE_NONE ? VT_VM_ACCEL_AUTO : VT_VM_ACCEL_KVM;
    else if (strcmp(accel, "auto") == 0) c->accel = VT_VM_ACCEL_AUTO;
    else if (strcmp(accel, "kvm") == 0) c->accel = VT_VM_ACCEL_KVM;
    else if (strcmp(accel, "tcg") == 0) c->accel = VT_VM_ACCEL_TCG;
    else
        return vt_error_set(err, VT_E_INVALID, CHECK, "accel: '%s' unknown (auto, kvm or tcg)",
                            accel);
    if (c->tee != VT_VM_TEE_NONE && c->accel != VT_VM_ACCEL_KVM)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "accel: a %s guest needs kvm (its memory is protected by hardware)",
                            vt_vm_tee_name(c->tee));
    VT_GUARD(vt_json_get_text(&in, "qemu", OPT, c->qemu, sizeof c->qemu, NULL));
    if (c->qemu[0] == 0)
        snprintf(c->qemu, sizeof c->qemu, "%s",
                 c->tee == VT_VM_TEE_CCA ? "qemu-system-aarch64" : "qemu-system-x86_64");
    VT_GUARD(vt_json_get_text(&in, "firmware", OPT, c->firmware, sizeof c->firmware, NULL));
    VT_GUARD(vt_json_get_text(&in, "kernel", OPT, c->kernel, sizeof c->kernel, NULL));
    VT_GUARD(vt_json_get_text(&in, "initrd", OPT, c->initrd, sizeof c->initrd, NULL));
    VT_GUARD(vt_json_get_text(&in, "cmdline", OPT, c->cmdline, sizeof c->cmdline, NULL));
    VT_GUARD(check_abs("firmware", c->firmware, err));
    VT_GUARD(check_abs("kernel", c->kernel, err));
    VT_GUARD(check_abs("initrd", c->initrd, err));
    if ((c->initrd[0] || c->cmdline[0]) && c->kernel[0] == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: needs kernel",
                            c->initrd[0] ? "initrd" : "cmdline");
    if ((c->tee == VT_VM_TEE_TDX || c->tee == VT_VM_TEE_SNP) && c->firmware[0] == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "firmware: missing; a %s guest boots from %s loaded with -bios",
                            vt_vm_tee_name(c->tee),
                            c->tee == VT_VM_TEE_TDX ? "TDVF (TDX-capable OVMF)"
                                                    : "an SNP-capable OVMF");
    if (c->tee == VT_VM_TEE_CCA && c->firmware[0] == 0 && c->kernel[0] == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "firmware: missing; a realm needs firmware (edk2 ArmVirtQemu) or a "
                            "kernel for direct boot");
    VT_GUARD(parse_disks(&in, c));
    for (size_t i = 0; i < c->n_disks; i++) VT_GUARD(check_abs("disks[].path", c->disks[i].path, err));

    vt_json_in nin, ain;
    bool given;
    VT_GUARD(vt_json_get_obj(&in, "network", OPT, &nin, &given));
    if (given) {
        static const char *const nkeys[] = {"mode", NULL};
        VT_GUARD(vt_json_keys(&nin, nkeys));
        char mode[8] = "none";
        VT_GUARD(vt_json_get_text(&nin, "mode", OPT, mode, sizeof mode, NULL));
        if (strcmp(mode, "user") == 0) c->net = VT_VM_NET_USER;
        else if (strcmp(mode, "none") != 0)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "network.mode: '%s' unknown (user or none)", mode);
    }
    VT_GUARD(vt_json_get_obj(&in, "attestation", OPT, &ain, &given));
    if (given) {
        static const char *const akeys[] = {"kbs_url", NULL};
        VT_GUARD(vt_json_keys(&ain, akeys));
        VT_GUARD(vt_json_get_text(&ain, "kbs_url", OPT, c->kbs_url, sizeof c->kbs_url, NULL));
        if (c->kbs_url[0] && strncmp(c->kbs_url, "https://", 8) != 0 &&
            strncmp(c->kbs_url, "http://", 7) != 0)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "attestation.kbs_url: '%s' is not an http(s) URL", c->kbs_url);
    }
    static const char *const sect[] = {"tdx", "snp", "cca"};
    vt_json_in tee_in;
    for (int i = 0; i < 3; i++) {
        VT_GUARD(vt_json_get_obj(&in, sect[i], OPT, &tee_in, &given));
        if (given && (int)c->tee != i + 1)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: options given for tee '%s'",
                                sect[i], vt_vm_tee_name(c->tee));
    }
    if (c->tee == VT_VM_TEE_NONE) return VT_OK;
    /* an absent section reads as an empty one: every member takes its default */
    json_t *empty = json_object();
    if (empty == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    VT_GUARD(vt_json_get_obj(&in, sect[c->tee - 1], OPT, &tee_in, &given));
    if (!given) tee_in.obj = empty;
    vt_err rc = VT_OK;
    switch (c->tee) {
    case VT_VM_TEE_TDX: rc = parse_tdx(&tee_in, &c->tdx, err); break;
    case VT_VM_TEE_SNP: rc = parse_snp(&tee_in, c, err); break;
    case VT_VM_TEE_CCA: rc = parse_cca(&tee_in, &c->cca, err); break;
    case VT_VM_TEE_NONE: break;
    }
    json_decref(empty);
    return rc;
}

vt_err vt_vm_config_parse(const char *text, size_t len, vt_vm_config *out, vt_error *err)
{
    if (len > VT_VM_CONFIG_MAX)
        return vt_error_set(err, VT_E_INVALID, CHECK, "config: %zu bytes, at most %u", len,
                            VT_VM_CONFIG_MAX);
    json_t *root = NULL;
    vt_err rc = vt_json_parse(text, len, &root, err);
    if (rc != VT_OK) return vt_error_wrap(err, "config");
    vt_vm_config *c = calloc(1, sizeof *c);
    if (c == NULL) {
        json_decref(root);
        return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    }
    rc = parse_root(root, c, err);
    json_decref(root);
    if (rc == VT_OK) memcpy(out, c, sizeof *c);
    free(c);
    return rc;
}

vt_err vt_vm_config_load(const char *path, vt_vm_config *out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, VT_VM_CONFIG_MAX, &b, err));
    vt_err rc = vt_vm_config_parse((const char *)b.ptr, b.len, out, err);
    vt_buf_free(&b);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    return rc;
}

static vt_err need_file(const char *key, const char *p, vt_error *err)
{
    struct stat st;
    if (p[0] == 0) return VT_OK;
    if (stat(p, &st) != 0)
        return vt_error_set(err, VT_E_MISSING, CHECK, "%s: %s: %s", key, p, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: %s is not a regular file", key, p);
    return VT_OK;
}

vt_err vt_vm_config_check_files(const vt_vm_config *c, vt_error *err)
{
    VT_GUARD(need_file("firmware", c->firmware, err));
    VT_GUARD(need_file("kernel", c->kernel, err));
    VT_GUARD(need_file("initrd", c->initrd, err));
    for (size_t i = 0; i < c->n_disks; i++) {
        char key[48];
        snprintf(key, sizeof key, "disks[%zu].path", i);
        VT_GUARD(need_file(key, c->disks[i].path, err));
    }
    return VT_OK;
}
