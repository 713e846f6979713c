/* Host (and guest) TEE checks with answers a user can act on (specs/vm-launch.md §1, §2).
 * Every path is read under a root so tests can use a fake tree. */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/fileio.h"
#include "veritee/vm.h"

#define CHECK "host"
#define CPUINFO_MAX (16u << 20)

const char *vt_host_answer_name(vt_host_answer a)
{
    return a == VT_HOST_YES ? "yes" : a == VT_HOST_NO ? "no" : "unknown";
}

static void rpath(char *out, size_t cap, const char *root, const char *rel)
{
    bool real = root == NULL || root[0] == 0 || strcmp(root, "/") == 0;
    snprintf(out, cap, "%s%s", real ? "" : root, rel);
}

static bool exists(const char *root, const char *rel)
{
    char p[VT_VM_PATH_MAX];
    rpath(p, sizeof p, root, rel);
    return vt_file_exists(p);
}

/* First line of a small file, trimmed; false when unreadable. */
static bool read_line(const char *root, const char *rel, char *out, size_t cap)
{
    char p[VT_VM_PATH_MAX];
    rpath(p, sizeof p, root, rel);
    vt_buf b = {0};
    vt_error e;
    if (vt_file_read(p, 4096, &b, &e) != VT_OK) return false;
    size_t n = 0;
    while (n < b.len && n + 1 < cap && b.ptr[n] != '\n' && b.ptr[n] >= 0x20 && b.ptr[n] < 0x7f)
        n++;
    memcpy(out, b.ptr, n);
    out[n] = 0;
    vt_buf_free(&b);
    return true;
}

typedef enum { CPU_UNKNOWN, CPU_INTEL, CPU_AMD, CPU_ARM, CPU_OTHER } cpu_vendor;

/* Look up a flag in the first "flags" line of /proc/cpuinfo. -1 when cpuinfo is unreadable. */
static int cpu_flag(const char *root, const char *flag, cpu_vendor *vendor)
{
    char p[VT_VM_PATH_MAX];
    rpath(p, sizeof p, root, "/proc/cpuinfo");
    vt_buf b = {0};
    vt_error e;
    *vendor = CPU_UNKNOWN;
    if (vt_file_read(p, CPUINFO_MAX, &b, &e) != VT_OK) return -1;
    const char *s = (const char *)b.ptr, *end = s + b.len;
    int found = 0;
    bool flags_seen = false;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - s);
        if (*vendor == CPU_UNKNOWN && n > 9 && strncmp(s, "vendor_id", 9) == 0)
            *vendor = memmem(s, n, "GenuineIntel", 12) ? CPU_INTEL
                      : memmem(s, n, "AuthenticAMD", 12) ? CPU_AMD : CPU_OTHER;
        if (*vendor == CPU_UNKNOWN && n > 15 && strncmp(s, "CPU implementer", 15) == 0)
            *vendor = CPU_ARM;
        if (!flags_seen && n > 5 && (strncmp(s, "flags", 5) == 0 || strncmp(s, "Features", 8) == 0)) {
            flags_seen = true;
            const char *c = memchr(s, ':', n);
            size_t fl = strlen(flag);
            for (c = c ? c + 1 : le; c < le;) {
                while (c < le && (*c == ' ' || *c == '\t')) c++;
                const char *w = c;
                while (c < le && *c != ' ' && *c != '\t') c++;
                if ((size_t)(c - w) == fl && memcmp(w, flag, fl) == 0) found = 1;
            }
        }
        s = nl ? nl + 1 : end;
    }
    vt_buf_free(&b);
    return found;
}

static void fact(vt_host_fact *f, const char *name, vt_host_answer a, const char *detail,
                 const char *advice)
{
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->answer = a;
    snprintf(f->detail, sizeof f->detail, "%s", detail);
    snprintf(f->advice, sizeof f->advice, "%s", a == VT_HOST_YES ? "" : advice);
}

vt_err vt_host_check_kvm(const char *root, vt_host_fact *f, vt_error *err)
{
    char p[VT_VM_PATH_MAX];
    rpath(p, sizeof p, root, "/dev/kvm");
    if (!vt_file_exists(p))
        fact(f, "kvm", VT_HOST_NO, "/dev/kvm is absent",
             "enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd");
    else if (access(p, R_OK | W_OK) != 0)
        fact(f, "kvm", VT_HOST_NO, "/dev/kvm exists but is not usable by this user",
             "add the user to the 'kvm' group (then log in again) or run as root");
    else
        fact(f, "kvm", VT_HOST_YES, "/dev/kvm present and usable", "");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_tdx_cpu(const char *root, vt_host_fact *f, vt_error *err)
{
    cpu_vendor v;
    int r = cpu_flag(root, "tdx_host_platform", &v);
    if (r < 0)
        fact(f, "tdx.cpu", VT_HOST_UNKNOWN, "/proc/cpuinfo unreadable", "");
    else if (r == 1)
        fact(f, "tdx.cpu", VT_HOST_YES, "cpu flag tdx_host_platform present", "");
    else if (v != CPU_INTEL)
        fact(f, "tdx.cpu", VT_HOST_NO, "not an Intel CPU", "TDX needs a 4th/5th gen Xeon or later");
    else
        fact(f, "tdx.cpu", VT_HOST_NO, "cpu flag tdx_host_platform absent",
             "TDX not enabled by the BIOS: enable TME/MK-TME, TDX and the SEAM loader, with "
             "enough private KeyIDs");
    (void)err;
    return VT_OK;
}

/* A kvm module boolean parameter: Y/1, N/0, or absent. */
static int module_param(const char *root, const char *module, const char *param)
{
    char rel[160], v[16];
    snprintf(rel, sizeof rel, "/sys/module/%s/parameters/%s", module, param);
    if (!read_line(root, rel, v, sizeof v)) return -1;
    return strcmp(v, "Y") == 0 || strcmp(v, "1") == 0;
}

static bool module_loaded(const char *root, const char *module)
{
    char rel[96];
    snprintf(rel, sizeof rel, "/sys/module/%s", module);
    return exists(root, rel);
}

vt_err vt_host_check_tdx_kvm(const char *root, vt_host_fact *f, vt_error *err)
{
    int r = module_param(root, "kvm_intel", "tdx");
    if (r == 1)
        fact(f, "tdx.kvm", VT_HOST_YES, "kvm_intel tdx=Y", "");
    else if (r == 0)
        fact(f, "tdx.kvm", VT_HOST_NO, "kvm_intel tdx=N",
             "TDX disabled: load kvm_intel with tdx=1 (kvm_intel.tdx=1 on the kernel command line)");
    else if (module_loaded(root, "kvm_intel"))
        fact(f, "tdx.kvm", VT_HOST_NO, "kvm_intel has no tdx parameter",
             "this kernel's KVM has no TDX support: use Linux 6.16 or later");
    else
        fact(f, "tdx.kvm", VT_HOST_NO, "kvm_intel not loaded", "load kvm_intel with tdx=1");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_tdx_module(const char *root, vt_host_fact *f, vt_error *err)
{
    char v[64], d[128];
    if (read_line(root, "/sys/devices/faux/tdx_host/version", v, sizeof v)) {
        snprintf(d, sizeof d, "TDX module version %s", v);
        fact(f, "tdx.module", VT_HOST_YES, d, "");
    } else {
        fact(f, "tdx.module", VT_HOST_UNKNOWN,
             "TDX module version not exposed (no tdx_host device in this kernel)",
             "check the kernel log for 'virt/tdx: TDX module initialized'");
    }
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_snp_cpu(const char *root, vt_host_fact *f, vt_error *err)
{
    cpu_vendor v;
    int snp = cpu_flag(root, "sev_snp", &v);
    int sev = snp < 0 ? -1 : cpu_flag(root, "sev", &v);
    if (snp < 0)
        fact(f, "snp.cpu", VT_HOST_UNKNOWN, "/proc/cpuinfo unreadable", "");
    else if (snp == 1)
        fact(f, "snp.cpu", VT_HOST_YES, "cpu flag sev_snp present", "");
    else if (v != CPU_AMD)
        fact(f, "snp.cpu", VT_HOST_NO, "not an AMD CPU", "SEV-SNP needs an EPYC 7003 (Milan) or later");
    else if (sev == 1)
        fact(f, "snp.cpu", VT_HOST_NO, "cpu flag sev present, sev_snp absent",
             "SNP not enabled by the BIOS: enable SEV-SNP, SNP memory coverage and the IOMMU");
    else
        fact(f, "snp.cpu", VT_HOST_NO, "cpu flags sev and sev_snp absent",
             "enable SME/SEV and SEV-SNP in the BIOS");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_snp_kvm(const char *root, vt_host_fact *f, vt_error *err)
{
    int r = module_param(root, "kvm_amd", "sev_snp");
    if (r == 1)
        fact(f, "snp.kvm", VT_HOST_YES, "kvm_amd sev_snp=Y", "");
    else if (r == 0)
        fact(f, "snp.kvm", VT_HOST_NO, "kvm_amd sev_snp=N",
             "SNP disabled: load kvm_amd with sev_snp=1 (needs the IOMMU on and SNP-initialised "
             "firmware; see the kernel log for 'SEV-SNP API')");
    else if (module_loaded(root, "kvm_amd"))
        fact(f, "snp.kvm", VT_HOST_NO, "kvm_amd has no sev_snp parameter",
             "this kernel's KVM has no SNP support: use Linux 6.11 or later");
    else
        fact(f, "snp.kvm", VT_HOST_NO, "kvm_amd not loaded", "load kvm_amd with sev_snp=1");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_sev_dev(const char *root, vt_host_fact *f, vt_error *err)
{
    if (exists(root, "/dev/sev"))
        fact(f, "snp.sev_device", VT_HOST_YES, "/dev/sev present", "");
    else
        fact(f, "snp.sev_device", VT_HOST_NO, "/dev/sev absent",
             "load the ccp module (AMD PSP driver); QEMU talks to the firmware through /dev/sev");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_cca(const char *root, vt_host_fact *f, vt_error *err)
{
    cpu_vendor v;
    int r = cpu_flag(root, "rme", &v);
    if (r < 0)
        fact(f, "cca.host", VT_HOST_UNKNOWN, "/proc/cpuinfo unreadable", "");
    else if (v != CPU_ARM)
        fact(f, "cca.host", VT_HOST_NO, "not an Arm machine", "Arm CCA needs an Armv9-A CPU with RME");
    else
        fact(f, "cca.host", VT_HOST_UNKNOWN,
             "mainline Linux exposes no host RME interface yet",
             "check the kernel log for the RMI ABI version (KVM CCA series) and that the "
             "firmware runs an RMM");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_firmware(const char *root, vt_vm_tee tee, vt_host_fact *f, vt_error *err)
{
    static const char *const none[] = {"/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF_CODE_4M.fd",
                                       "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/seabios/bios-256k.bin",
                                       "/usr/share/qemu/bios-256k.bin", NULL};
    static const char *const tdx[] = {"/usr/share/ovmf/OVMF.inteltdx.fd",
                                      "/usr/share/edk2/ovmf/OVMF.inteltdx.fd",
                                      "/usr/share/ovmf/OVMF.tdx.fd", NULL};
    static const char *const snp[] = {"/usr/share/ovmf/OVMF.amdsev.fd",
                                      "/usr/share/edk2/ovmf/OVMF.amdsev.fd",
                                      "/usr/share/ovmf/AMDSEV.fd", NULL};
    static const char *const cca[] = {"/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
                                      "/usr/share/AAVMF/AAVMF_CODE.fd",
                                      "/usr/share/edk2/aarch64/QEMU_EFI.fd", NULL};
    const char *const *list = tee == VT_VM_TEE_TDX ? tdx : tee == VT_VM_TEE_SNP ? snp
                              : tee == VT_VM_TEE_CCA ? cca : none;
    char name[32], d[200];
    snprintf(name, sizeof name, "firmware.%s", vt_vm_tee_name(tee));
    for (size_t i = 0; list[i] != NULL; i++) {
        if (exists(root, list[i])) {
            snprintf(d, sizeof d, "found %s", list[i]);
            fact(f, name, VT_HOST_YES, d, "");
            return VT_OK;
        }
    }
    const char *adv = tee == VT_VM_TEE_TDX ? "build TDVF (edk2 OvmfPkg/IntelTdx) or install a "
                                             "TDX-capable OVMF and set \"firmware\" in the config"
                      : tee == VT_VM_TEE_SNP ? "build edk2 OvmfPkg/AmdSev (measured direct boot) or "
                                               "use an SNP-capable OVMF; set \"firmware\""
                      : tee == VT_VM_TEE_CCA ? "install qemu-efi-aarch64 or build ArmVirtQemu with "
                                               "realm support, or boot a kernel directly"
                                             : "apt install ovmf (or seabios)";
    snprintf(d, sizeof d, "none of the usual paths (first: %s)", list[0]);
    fact(f, name, VT_HOST_UNKNOWN, d, adv);
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_qemu(const char *root, vt_host_fact *f, vt_error *err)
{
    bool x86 = exists(root, "/usr/bin/qemu-system-x86_64");
    bool arm = exists(root, "/usr/bin/qemu-system-aarch64");
    char d[160];
    snprintf(d, sizeof d, "qemu-system-x86_64 %s, qemu-system-aarch64 %s (TDX needs QEMU >= 10.1, "
                          "SNP >= 9.1)", x86 ? "found" : "absent", arm ? "found" : "absent");
    fact(f, "qemu", x86 || arm ? VT_HOST_YES : VT_HOST_NO, d, "apt install qemu-system-x86");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_guest_tsm(const char *root, vt_host_fact *f, vt_error *err)
{
    char p[VT_VM_PATH_MAX];
    rpath(p, sizeof p, root, "/sys/kernel/config/tsm/report");
    DIR *d = opendir(p);
    if (d == NULL) {
        fact(f, "guest.configfs_tsm", VT_HOST_NO, "no /sys/kernel/config/tsm/report", "");
        return VT_OK;
    }
    char prov[64] = "";
    struct dirent *de;
    while (prov[0] == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char rel[VT_VM_PATH_MAX];
        snprintf(rel, sizeof rel, "/sys/kernel/config/tsm/report/%.200s/provider", de->d_name);
        read_line(root, rel, prov, sizeof prov);
    }
    closedir(d);
    char det[160];
    snprintf(det, sizeof det, "configfs-tsm report interface present%s%s", prov[0] ? ", provider " : "",
             prov);
    fact(f, "guest.configfs_tsm", VT_HOST_YES, det, "");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_guest_tdx(const char *root, vt_host_fact *f, vt_error *err)
{
    cpu_vendor v;
    bool dev = exists(root, "/dev/tdx_guest");
    int flag = cpu_flag(root, "tdx_guest", &v);
    if (dev || flag == 1)
        fact(f, "guest.tdx", VT_HOST_YES, dev ? "/dev/tdx_guest present" : "cpu flag tdx_guest", "");
    else
        fact(f, "guest.tdx", VT_HOST_NO, "not inside a TD", "");
    (void)err;
    return VT_OK;
}

vt_err vt_host_check_guest_snp(const char *root, vt_host_fact *f, vt_error *err)
{
    if (exists(root, "/dev/sev-guest"))
        fact(f, "guest.snp", VT_HOST_YES, "/dev/sev-guest present", "");
    else
        fact(f, "guest.snp", VT_HOST_NO, "not inside an SNP guest", "");
    (void)err;
    return VT_OK;
}

/* Runtime measurement registers through tsm-mr sysfs (Linux >= 6.16; guest-evidence.md
 * section 2): TDX exposes rtmrN:sha384 under the tdx_guest device's measurements group. */
vt_err vt_host_check_guest_tsm_mr(const char *root, vt_host_fact *f, vt_error *err)
{
    static const char *const dir = "/sys/class/misc/tdx_guest/measurements";
    char rel[128];
    int n = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "%s/rtmr%d:sha384", dir, i);
        n += exists(root, rel);
    }
    if (n == 4)
        fact(f, "guest.tsm_mr", VT_HOST_YES, "RTMR0-3 extendable through tsm-mr sysfs (veritee evidence extend)", "");
    else if (exists(root, dir))
        fact(f, "guest.tsm_mr", VT_HOST_NO, "tsm-mr measurements directory without rtmr0..3:sha384", "");
    else
        fact(f, "guest.tsm_mr", VT_HOST_NO, "no tsm-mr measurement registers (Linux >= 6.16 TD guests have them)", "");
    (void)err;
    return VT_OK;
}

typedef vt_err (*check_fn)(const char *, vt_host_fact *, vt_error *);

vt_err vt_host_report_build(const char *root, vt_host_report *r, vt_error *err)
{
    memset(r, 0, sizeof *r);
    static const check_fn checks[] = {
        vt_host_check_kvm,     vt_host_check_qemu,          vt_host_check_tdx_cpu,
        vt_host_check_tdx_kvm, vt_host_check_tdx_module,    vt_host_check_snp_cpu,
        vt_host_check_snp_kvm, vt_host_check_sev_dev,       vt_host_check_cca,
        vt_host_check_guest_tsm, vt_host_check_guest_tdx,   vt_host_check_guest_snp,
        vt_host_check_guest_tsm_mr, /* appended: the indices below stay valid */
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        VT_GUARD(checks[i](root, &r->facts[r->n++], err));
    for (int t = VT_VM_TEE_NONE; t <= VT_VM_TEE_CCA; t++)
        VT_GUARD(vt_host_check_firmware(root, (vt_vm_tee)t, &r->facts[r->n++], err));
    bool y[VT_HOST_MAX_FACTS] = {0};
    for (size_t i = 0; i < r->n; i++) y[i] = r->facts[i].answer == VT_HOST_YES;
    /* indices follow the checks[] order above */
    r->tdx_host = y[0] && y[2] && y[3];
    r->snp_host = y[0] && y[5] && y[6] && y[7];
    r->cca_host = false; /* no host interface to confirm it (see cca.host) */
    r->tdx_guest = y[10];
    r->snp_guest = y[11];
    r->cca_guest = strstr(r->facts[9].detail, "arm_cca_guest") != NULL;
    if (!r->tdx_guest) r->tdx_guest = strstr(r->facts[9].detail, "tdx_guest") != NULL;
    if (!r->snp_guest) r->snp_guest = strstr(r->facts[9].detail, "sev_guest") != NULL;
    return VT_OK;
}
