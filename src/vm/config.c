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

/* Reject keys outside the allowed list: a typo must not silently drop a security option. */
static vt_err only_keys(const json_t *o, const char *path, const char *const *allowed,
                        vt_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        bool found = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0) found = true;
        if (!found)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s%s%.64s: unknown key", path,
                                *path ? "." : "", key);
    }
    return VT_OK;
}

static const char *kp(char *buf, size_t cap, const char *path, const char *key)
{
    snprintf(buf, cap, "%s%s%s", path, *path ? "." : "", key);
    return buf;
}

/* Optional string copied into out (cap bytes incl. NUL); no control characters. */
static vt_err opt_str(const json_t *o, const char *path, const char *key, char *out, size_t cap,
                      vt_error *err)
{
    char k[96];
    json_t *v = json_object_get(o, key);
    if (v == NULL) return VT_OK;
    if (!json_is_string(v))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected a string",
                            kp(k, sizeof k, path, key));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= cap)
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: %zu bytes, at most %zu",
                            kp(k, sizeof k, path, key), n, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "%s: control character 0x%02x at %zu",
                                kp(k, sizeof k, path, key), (unsigned)(unsigned char)s[i], i);
    memcpy(out, s, n + 1);
    return VT_OK;
}

static vt_err opt_bool(const json_t *o, const char *path, const char *key, bool *out,
                       bool *given, vt_error *err)
{
    char k[96];
    json_t *v = json_object_get(o, key);
    if (given) *given = v != NULL;
    if (v == NULL) return VT_OK;
    if (!json_is_boolean(v))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected true or false",
                            kp(k, sizeof k, path, key));
    *out = json_is_true(v);
    return VT_OK;
}

static vt_err opt_int(const json_t *o, const char *path, const char *key, int64_t min,
                      int64_t max, uint64_t *out, vt_error *err)
{
    if (json_object_get(o, key) == NULL) return VT_OK;
    int64_t i;
    VT_GUARD(vt_json_int(o, key, path[0] ? path : "config", min, max, &i, err));
    *out = (uint64_t)i;
    return VT_OK;
}

/* A u64 given as a JSON integer or a "0x..." hex string (bit 63 does not fit JSON ints). */
static vt_err opt_u64(const json_t *o, const char *path, const char *key, uint64_t *out,
                      bool *given, vt_error *err)
{
    char k[96];
    json_t *v = json_object_get(o, key);
    if (given) *given = v != NULL;
    if (v == NULL) return VT_OK;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: negative",
                                kp(k, sizeof k, path, key));
        *out = (uint64_t)json_integer_value(v);
        return VT_OK;
    }
    if (!json_is_string(v))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "%s: expected an integer or a \"0x...\" hex string",
                            kp(k, sizeof k, path, key));
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: '%.40s' is not a 0x-prefixed hex "
                            "number of at most 16 digits", kp(k, sizeof k, path, key), s);
    uint64_t x = 0;
    for (size_t i = 2; i < n; i++) {
        char ch = s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
        else
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: '%.40s' has a non-hex digit",
                                kp(k, sizeof k, path, key), s);
        x = (x << 4) | d;
    }
    *out = x;
    return VT_OK;
}

/* Hex string of exactly n bytes. */
static vt_err opt_hex(const json_t *o, const char *path, const char *key, uint8_t *out, size_t n,
                      bool *given, vt_error *err)
{
    char k[96];
    json_t *v = json_object_get(o, key);
    *given = v != NULL;
    if (v == NULL) return VT_OK;
    if (!json_is_string(v) || json_string_length(v) != 2 * n)
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected %zu hex digits (%zu bytes)",
                            kp(k, sizeof k, path, key), 2 * n, n);
    vt_err rc = vt_hex_decode_fixed(json_string_value(v), out, n, err);
    if (rc != VT_OK) return vt_error_set(err, VT_E_INVALID, CHECK, "%s: not hex",
                                         kp(k, sizeof k, path, key));
    return VT_OK;
}

/* Base64 string decoding to exactly n bytes. */
static vt_err opt_b64(const json_t *o, const char *path, const char *key, uint8_t *out, size_t n,
                      bool *given, vt_error *err)
{
    char k[96];
    json_t *v = json_object_get(o, key);
    *given = v != NULL;
    if (v == NULL) return VT_OK;
    if (!json_is_string(v) || json_string_length(v) > 4 * (n / 3 + 2))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected base64 of %zu bytes",
                            kp(k, sizeof k, path, key), n);
    vt_buf b = {0};
    vt_error e2;
    if (vt_b64_decode(json_string_value(v), json_string_length(v), &b, &e2) != VT_OK ||
        b.len != n) {
        size_t got = b.len;
        vt_buf_free(&b);
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected base64 of %zu bytes (got %s%zu)",
                            kp(k, sizeof k, path, key), n, got ? "" : "invalid or ", got);
    }
    memcpy(out, b.ptr, n);
    vt_buf_free(&b);
    return VT_OK;
}

static vt_err parse_disks(const json_t *root, vt_vm_config *c, vt_error *err)
{
    json_t *arr = json_object_get(root, "disks");
    if (arr == NULL) return VT_OK;
    if (!json_is_array(arr))
        return vt_error_set(err, VT_E_INVALID, CHECK, "disks: expected an array");
    if (json_array_size(arr) > VT_VM_MAX_DISKS)
        return vt_error_set(err, VT_E_INVALID, CHECK, "disks: %zu entries, at most %d",
                            json_array_size(arr), VT_VM_MAX_DISKS);
    static const char *const keys[] = {"path", "format", "readonly", NULL};
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *d = json_array_get(arr, i);
        char path[32];
        snprintf(path, sizeof path, "disks[%zu]", i);
        if (!json_is_object(d))
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected an object", path);
        VT_GUARD(only_keys(d, path, keys, err));
        vt_vm_disk *k = &c->disks[i];
        if (json_object_get(d, "path") == NULL)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s.path: missing", path);
        VT_GUARD(opt_str(d, path, "path", k->path, sizeof k->path, err));
        if (k->path[0] == 0)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s.path: empty", path);
        snprintf(k->format, sizeof k->format, "raw");
        VT_GUARD(opt_str(d, path, "format", k->format, sizeof k->format, err));
        if (strcmp(k->format, "raw") != 0 && strcmp(k->format, "qcow2") != 0)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "%s.format: '%s' unknown (raw or qcow2)", path, k->format);
        VT_GUARD(opt_bool(d, path, "readonly", &k->readonly, NULL, err));
        c->n_disks++;
    }
    return VT_OK;
}

static vt_err parse_tdx(const json_t *o, vt_vm_tdx *t, vt_error *err)
{
    static const char *const keys[] = {"attributes", "debug", "sept_ve_disable", "mrconfigid",
                                       "mrowner", "mrownerconfig", "quote_generation_socket",
                                       NULL};
    VT_GUARD(only_keys(o, "tdx", keys, err));
    bool debug = false, sept = true, has_attr, has_debug, has_sept;
    uint64_t attr = 0;
    VT_GUARD(opt_u64(o, "tdx", "attributes", &attr, &has_attr, err));
    VT_GUARD(opt_bool(o, "tdx", "debug", &debug, &has_debug, err));
    VT_GUARD(opt_bool(o, "tdx", "sept_ve_disable", &sept, &has_sept, err));
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
    VT_GUARD(opt_hex(o, "tdx", "mrconfigid", t->mrconfigid, 48, &t->has_mrconfigid, err));
    VT_GUARD(opt_hex(o, "tdx", "mrowner", t->mrowner, 48, &t->has_mrowner, err));
    VT_GUARD(opt_hex(o, "tdx", "mrownerconfig", t->mrownerconfig, 48, &t->has_mrownerconfig,
                     err));
    json_t *q = json_object_get(o, "quote_generation_socket");
    if (q == NULL) return VT_OK;
    const char *p = "tdx.quote_generation_socket";
    if (!json_is_object(q))
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected an object", p);
    static const char *const qkeys[] = {"type", "cid", "port", "path", NULL};
    VT_GUARD(only_keys(q, p, qkeys, err));
    VT_GUARD(opt_str(q, p, "type", t->qgs_type, sizeof t->qgs_type, err));
    if (strcmp(t->qgs_type, "vsock") == 0) {
        uint64_t cid = 2, port = 4050;
        VT_GUARD(opt_int(q, p, "cid", 2, UINT32_MAX, &cid, err));
        VT_GUARD(opt_int(q, p, "port", 1, UINT32_MAX, &port, err));
        if (json_object_get(q, "path"))
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s.path: only for type unix", p);
        t->qgs_cid = (uint32_t)cid;
        t->qgs_port = (uint32_t)port;
    } else if (strcmp(t->qgs_type, "unix") == 0) {
        snprintf(t->qgs_path, sizeof t->qgs_path, "/var/run/tdx-qgs/qgs.socket");
        VT_GUARD(opt_str(q, p, "path", t->qgs_path, sizeof t->qgs_path, err));
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

static vt_err parse_snp(const json_t *o, vt_vm_config *c, vt_error *err)
{
    static const char *const keys[] = {"policy", "debug", "cpu", "cbitpos", "reduced_phys_bits",
                                       "kernel_hashes", "signing_key", "author_key", "host_data",
                                       "id_block", "id_auth", "guest_visible_workarounds",
                                       NULL};
    vt_vm_snp *s = &c->snp;
    VT_GUARD(only_keys(o, "snp", keys, err));
    s->policy = 0x30000;
    VT_GUARD(opt_u64(o, "snp", "policy", &s->policy, NULL, err));
    if (s->policy & VT_VM_SNP_POLICY_MBZ)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: reserved bits 63:26 must be zero (got 0x%llx)",
                            (unsigned long long)s->policy);
    if (!(s->policy & VT_VM_SNP_POLICY_RSVD1))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: reserved bit 17 must be one (got 0x%llx; QEMU's default "
                            "is 0x30000)", (unsigned long long)s->policy);
    bool debug = false;
    VT_GUARD(opt_bool(o, "snp", "debug", &debug, NULL, err));
    if ((s->policy & VT_VM_SNP_POLICY_DEBUG) && !debug)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.policy: DEBUG (bit 19) lets the host read guest memory; set "
                            "\"debug\": true to accept it");
    if (debug && !(s->policy & VT_VM_SNP_POLICY_DEBUG))
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.debug: true but policy bit 19 (DEBUG) is clear");
    snprintf(s->cpu, sizeof s->cpu, "EPYC-v4");
    VT_GUARD(opt_str(o, "snp", "cpu", s->cpu, sizeof s->cpu, err));
    for (const char *p = s->cpu; *p; p++)
        if (*p == ',' || *p == ' ' || *p == '=')
            return vt_error_set(err, VT_E_INVALID, CHECK, "snp.cpu: '%s' is not a CPU model name",
                                s->cpu);
    if (s->cpu[0] == 0) return vt_error_set(err, VT_E_INVALID, CHECK, "snp.cpu: empty");
    uint64_t cbit = 51, rpb = 1;
    VT_GUARD(opt_int(o, "snp", "cbitpos", 32, 63, &cbit, err));
    VT_GUARD(opt_int(o, "snp", "reduced_phys_bits", 1, 63, &rpb, err));
    s->cbitpos = (uint32_t)cbit;
    s->reduced_phys_bits = (uint32_t)rpb;
    VT_GUARD(opt_bool(o, "snp", "kernel_hashes", &s->kernel_hashes, NULL, err));
    char key[8] = "vcek";
    VT_GUARD(opt_str(o, "snp", "signing_key", key, sizeof key, err));
    if (strcmp(key, "vlek") == 0) s->vcek_disabled = true;
    else if (strcmp(key, "vcek") != 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "snp.signing_key: '%s' unknown (vcek or vlek)", key);
    VT_GUARD(opt_hex(o, "snp", "host_data", s->host_data, 32, &s->has_host_data, err));
    VT_GUARD(opt_hex(o, "snp", "guest_visible_workarounds", s->gosvw, 16, &s->has_gosvw, err));
    VT_GUARD(opt_b64(o, "snp", "id_block", s->id_block, 96, &s->has_id_block, err));
    VT_GUARD(opt_b64(o, "snp", "id_auth", s->id_auth, 4096, &s->has_id_auth, err));
    VT_GUARD(opt_bool(o, "snp", "author_key", &s->author_key, NULL, err));
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

static vt_err parse_cca(const json_t *o, vt_vm_cca *a, vt_error *err)
{
    static const char *const keys[] = {"measurement_algorithm", "personalization_value",
                                       "measurement_log", NULL};
    VT_GUARD(only_keys(o, "cca", keys, err));
    VT_GUARD(opt_str(o, "cca", "measurement_algorithm", a->measurement_algorithm,
                     sizeof a->measurement_algorithm, err));
    if (a->measurement_algorithm[0] && strcmp(a->measurement_algorithm, "sha256") != 0 &&
        strcmp(a->measurement_algorithm, "sha512") != 0)
        return vt_error_set(err, VT_E_INVALID, CHECK,
                            "cca.measurement_algorithm: '%s' unknown (sha256 or sha512)",
                            a->measurement_algorithm);
    json_t *v = json_object_get(o, "personalization_value");
    if (v != NULL) {
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        if (!json_is_string(v) || n == 0 || n > 128 || n % 2)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "cca.personalization_value: expected 2..128 hex digits (up to "
                                "64 bytes)");
        if (vt_hex_decode_fixed(json_string_value(v), a->rpv, n / 2, err) != VT_OK)
            return vt_error_set(err, VT_E_INVALID, CHECK, "cca.personalization_value: not hex");
        a->rpv_len = n / 2;
    }
    return opt_bool(o, "cca", "measurement_log", &a->measurement_log, NULL, err);
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
    static const char *const keys[] = {"name", "tee", "vcpus", "memory_mib", "accel", "qemu",
                                       "firmware", "kernel", "initrd", "cmdline", "disks",
                                       "network", "attestation", "tdx", "snp", "cca", NULL};
    if (!json_is_object(root))
        return vt_error_set(err, VT_E_INVALID, CHECK, "config: expected a JSON object");
    VT_GUARD(only_keys(root, "", keys, err));
    if (json_object_get(root, "name") == NULL)
        return vt_error_set(err, VT_E_INVALID, CHECK, "name: missing");
    VT_GUARD(opt_str(root, "", "name", c->name, sizeof c->name, err));
    VT_GUARD(vt_vm_name_check(c->name, err));
    char tee[16] = "";
    if (json_object_get(root, "tee") == NULL)
        return vt_error_set(err, VT_E_INVALID, CHECK, "tee: missing (tdx, snp, cca or none)");
    VT_GUARD(opt_str(root, "", "tee", tee, sizeof tee, err));
    VT_GUARD(parse_tee(tee, &c->tee, err));
    uint64_t vcpus = 1, mem = 1024;
    VT_GUARD(opt_int(root, "", "vcpus", 1, 512, &vcpus, err));
    VT_GUARD(opt_int(root, "", "memory_mib", 16, 16 << 20, &mem, err));
    c->vcpus = (uint32_t)vcpus;
    c->memory_mib = mem;
    char accel[8] = "";
    VT_GUARD(opt_str(root, "", "accel", accel, sizeof accel, err));
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
    VT_GUARD(opt_str(root, "", "qemu", c->qemu, sizeof c->qemu, err));
    if (c->qemu[0] == 0)
        snprintf(c->qemu, sizeof c->qemu, "%s",
                 c->tee == VT_VM_TEE_CCA ? "qemu-system-aarch64" : "qemu-system-x86_64");
    VT_GUARD(opt_str(root, "", "firmware", c->firmware, sizeof c->firmware, err));
    VT_GUARD(opt_str(root, "", "kernel", c->kernel, sizeof c->kernel, err));
    VT_GUARD(opt_str(root, "", "initrd", c->initrd, sizeof c->initrd, err));
    VT_GUARD(opt_str(root, "", "cmdline", c->cmdline, sizeof c->cmdline, err));
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
    VT_GUARD(parse_disks(root, c, err));
    for (size_t i = 0; i < c->n_disks; i++) VT_GUARD(check_abs("disks[].path", c->disks[i].path, err));

    json_t *net = json_object_get(root, "network");
    if (net != NULL) {
        static const char *const nkeys[] = {"mode", NULL};
        if (!json_is_object(net))
            return vt_error_set(err, VT_E_INVALID, CHECK, "network: expected an object");
        VT_GUARD(only_keys(net, "network", nkeys, err));
        char mode[8] = "none";
        VT_GUARD(opt_str(net, "network", "mode", mode, sizeof mode, err));
        if (strcmp(mode, "user") == 0) c->net = VT_VM_NET_USER;
        else if (strcmp(mode, "none") != 0)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "network.mode: '%s' unknown (user or none)", mode);
    }
    json_t *att = json_object_get(root, "attestation");
    if (att != NULL) {
        static const char *const akeys[] = {"kbs_url", NULL};
        if (!json_is_object(att))
            return vt_error_set(err, VT_E_INVALID, CHECK, "attestation: expected an object");
        VT_GUARD(only_keys(att, "attestation", akeys, err));
        VT_GUARD(opt_str(att, "attestation", "kbs_url", c->kbs_url, sizeof c->kbs_url, err));
        if (c->kbs_url[0] && strncmp(c->kbs_url, "https://", 8) != 0 &&
            strncmp(c->kbs_url, "http://", 7) != 0)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "attestation.kbs_url: '%s' is not an http(s) URL", c->kbs_url);
    }
    static const char *const sect[] = {"tdx", "snp", "cca"};
    for (int i = 0; i < 3; i++) {
        json_t *s = json_object_get(root, sect[i]);
        if (s == NULL) continue;
        if ((int)c->tee != i + 1)
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: options given for tee '%s'",
                                sect[i], vt_vm_tee_name(c->tee));
        if (!json_is_object(s))
            return vt_error_set(err, VT_E_INVALID, CHECK, "%s: expected an object", sect[i]);
    }
    json_t *empty = json_object();
    if (empty == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = VT_OK;
    json_t *s;
    switch (c->tee) {
    case VT_VM_TEE_TDX:
        s = json_object_get(root, "tdx");
        rc = parse_tdx(s ? s : empty, &c->tdx, err);
        break;
    case VT_VM_TEE_SNP:
        s = json_object_get(root, "snp");
        rc = parse_snp(s ? s : empty, c, err);
        break;
    case VT_VM_TEE_CCA:
        s = json_object_get(root, "cca");
        rc = parse_cca(s ? s : empty, &c->cca, err);
        break;
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
