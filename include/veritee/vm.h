/* Confidential VM lifecycle (host side): config, launch plans for QEMU and libvirt, QMP client,
 * state directory, lifecycle, host TEE checks. Follows specs/vm-launch.md §1–§7. */
#ifndef VERITEE_VM_H
#define VERITEE_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_VM_NAME_MAX 64
#define VT_VM_PATH_MAX 1024
#define VT_VM_CMDLINE_MAX 2048
#define VT_VM_URL_MAX 512
#define VT_VM_MAX_DISKS 8
#define VT_VM_CONFIG_MAX (256u << 10) /* config files larger than this are refused */

/* ---------------------------------------------------------------------------------------
 * Config (src/vm/config.c). A plain value: fixed-size fields, nothing to free.
 * ------------------------------------------------------------------------------------- */

typedef enum vt_vm_tee {
    VT_VM_TEE_NONE = 0, /* an ordinary VM, same machinery (how it is tested without a TEE) */
    VT_VM_TEE_TDX,
    VT_VM_TEE_SNP,
    VT_VM_TEE_CCA,
} vt_vm_tee;

typedef enum vt_vm_accel {
    VT_VM_ACCEL_AUTO = 0, /* kvm, falling back to tcg (kind none only) */
    VT_VM_ACCEL_KVM,
    VT_VM_ACCEL_TCG,
} vt_vm_accel;

typedef enum vt_vm_net { VT_VM_NET_NONE = 0, VT_VM_NET_USER } vt_vm_net;

typedef struct vt_vm_disk {
    char path[VT_VM_PATH_MAX];
    char format[16]; /* raw | qcow2 */
    bool readonly;
} vt_vm_disk;

/* Intel TDX options (vm-launch.md §3). */
typedef struct vt_vm_tdx {
    uint64_t attributes; /* final TD ATTRIBUTES (debug, sept_ve_disable folded in) */
    bool has_mrconfigid, has_mrowner, has_mrownerconfig;
    uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
    /* quote generation service: qgs_type "" (none), "vsock" (cid, port) or "unix" (path) */
    char qgs_type[8];
    uint32_t qgs_cid, qgs_port;
    char qgs_path[VT_VM_PATH_MAX];
} vt_vm_tdx;

#define VT_VM_TDX_ATTR_DEBUG (1ull << 0)
#define VT_VM_TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define VT_VM_TDX_ATTR_PKS (1ull << 30)
#define VT_VM_TDX_ATTR_KL (1ull << 31)
#define VT_VM_TDX_ATTR_PERFMON (1ull << 63)

/* AMD SEV-SNP options (vm-launch.md §4, guest policy guest-evidence.md §9). */
typedef struct vt_vm_snp {
    uint64_t policy;
    char cpu[32]; /* vCPU model: part of the launch digest */
    uint32_t cbitpos, reduced_phys_bits;
    bool kernel_hashes;
    bool vcek_disabled; /* signing_key "vlek" */
    bool author_key;
    bool has_host_data, has_id_block, has_id_auth, has_gosvw;
    uint8_t host_data[32];
    uint8_t id_block[96];
    uint8_t id_auth[4096];
    uint8_t gosvw[16]; /* guest-visible workarounds */
} vt_vm_snp;

#define VT_VM_SNP_POLICY_RSVD1 (1ull << 17) /* must be 1 */
#define VT_VM_SNP_POLICY_DEBUG (1ull << 19)
#define VT_VM_SNP_POLICY_MBZ (~((1ull << 26) - 1)) /* bits 63:26 */

/* Arm CCA realm options (vm-launch.md §5.1). */
typedef struct vt_vm_cca {
    char measurement_algorithm[8]; /* "" (QEMU default), sha256, sha512 */
    size_t rpv_len;                /* personalization value, 0..64 bytes */
    uint8_t rpv[64];
    bool measurement_log;
} vt_vm_cca;

typedef struct vt_vm_config {
    char name[VT_VM_NAME_MAX];
    vt_vm_tee tee;
    vt_vm_accel accel;
    uint32_t vcpus;
    uint64_t memory_mib;
    char qemu[VT_VM_PATH_MAX]; /* QEMU binary; default by architecture */
    char firmware[VT_VM_PATH_MAX];
    char kernel[VT_VM_PATH_MAX];
    char initrd[VT_VM_PATH_MAX];
    char cmdline[VT_VM_CMDLINE_MAX];
    vt_vm_disk disks[VT_VM_MAX_DISKS];
    size_t n_disks;
    vt_vm_net net;
    char kbs_url[VT_VM_URL_MAX]; /* attestation.kbs_url, handed to the guest over fw_cfg */
    vt_vm_tdx tdx;
    vt_vm_snp snp;
    vt_vm_cca cca;
} vt_vm_config;

/* fw_cfg entry the guest reads the KBS URL from (/sys/firmware/qemu_fw_cfg/by_name/...). */
#define VT_VM_FWCFG_KBS_URL "opt/org.veritee/kbs-url"

/* Parse and validate a JSON config. Unknown keys, wrong types, out-of-range values and
 * inconsistent options fail with VT_E_INVALID naming the key ("snp.policy: reserved bits
 * 63:26 must be zero (got 0x4030000)"). Checks no files: see vt_vm_config_check_files. */
VT_MUST_USE vt_err vt_vm_config_parse(const char *text, size_t len, vt_vm_config *out, vt_error *err);
/* Read (bounded) and parse a config file. */
VT_MUST_USE vt_err vt_vm_config_load(const char *path, vt_vm_config *out, vt_error *err);
/* Every file the config names exists (firmware, kernel, initrd, disks): VT_E_MISSING names it. */
VT_MUST_USE vt_err vt_vm_config_check_files(const vt_vm_config *c, vt_error *err);
/* A VM name is 1..63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
VT_MUST_USE vt_err vt_vm_name_check(const char *name, vt_error *err);
const char *vt_vm_tee_name(vt_vm_tee t);

/* ---------------------------------------------------------------------------------------
 * Plans (src/vm/plan_qemu.c, src/vm/plan_libvirt.c).
 * ------------------------------------------------------------------------------------- */

typedef struct vt_vm_argv {
    char **v; /* NULL-terminated */
    size_t n, cap;
} vt_vm_argv;

/* The expected launch measurement, when a measure hook computed one (veritee measure). */
typedef struct vt_vm_measurement {
    bool present;
    char register_name[16]; /* "MRTD", "MEASUREMENT", "RIM" */
    char algorithm[16];     /* "sha384", "sha256", "sha512" */
    char value_hex[129];
} vt_vm_measurement;

typedef struct vt_vm_plan vt_vm_plan;

/* Hook for launch-measurement precompute: called by the planners once the argv/XML is built,
 * with the config and the plan. It fills out (present = true) or leaves it alone. */
typedef vt_err (*vt_vm_measure_fn)(const vt_vm_config *c, const vt_vm_plan *plan, void *ctx,
                                   vt_vm_measurement *out, vt_error *err);

typedef struct vt_vm_plan_opts {
    const char *run_dir;       /* QMP socket, pid file and logs go here (required for QEMU) */
    vt_vm_measure_fn measure;  /* optional */
    void *measure_ctx;
} vt_vm_plan_opts;

struct vt_vm_plan {
    vt_vm_argv argv;               /* QEMU command line (vt_vm_plan_qemu) */
    char *xml;                     /* libvirt domain XML (vt_vm_plan_libvirt) */
    vt_vm_measurement measurement; /* filled by opts->measure, else present = false */
};

/* Build the QEMU argv. out must be zeroed or freed; free with vt_vm_plan_free. */
VT_MUST_USE vt_err vt_vm_plan_qemu(const vt_vm_config *c, const vt_vm_plan_opts *o, vt_vm_plan *out,
                       vt_error *err);
/* Build the libvirt domain XML with <launchSecurity>. */
VT_MUST_USE vt_err vt_vm_plan_libvirt(const vt_vm_config *c, const vt_vm_plan_opts *o, vt_vm_plan *out,
                          vt_error *err);
void vt_vm_plan_free(vt_vm_plan *p);

VT_MUST_USE vt_err vt_vm_argv_push(vt_vm_argv *a, const char *s, vt_error *err);
VT_MUST_USE vt_err vt_vm_argv_pushf(vt_vm_argv *a, vt_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vt_vm_argv_free(vt_vm_argv *a);
/* One shell-quoted command line (malloc'd; NULL on allocation failure). */
char *vt_vm_argv_shell(const vt_vm_argv *a);

/* ---------------------------------------------------------------------------------------
 * QMP client (src/vm/qmp.c): every reply is hostile bytes; reads are bounded in size,
 * count and time.
 * ------------------------------------------------------------------------------------- */

#define VT_QMP_MSG_MAX (1u << 20) /* one message */
#define VT_QMP_SKIP_MAX 256       /* events skipped while waiting for one reply */

typedef struct vt_qmp vt_qmp;

typedef enum vt_qmp_kind {
    VT_QMP_GREETING = 1,
    VT_QMP_RETURN,
    VT_QMP_ERROR,
    VT_QMP_EVENT,
} vt_qmp_kind;

typedef struct vt_qmp_msg {
    vt_qmp_kind kind;
    json_t *root;      /* the whole message (owned) */
    json_t *value;     /* borrowed from root: "return" value, "QMP" object or event "data" */
    int64_t id;        /* "id" when it is an integer, else -1 */
    char name[64];     /* event name, or error class */
    char desc[256];    /* error description */
} vt_qmp_msg;

/* Parse one QMP message (pure). Free with vt_qmp_msg_free. */
VT_MUST_USE vt_err vt_qmp_parse_message(const char *text, size_t len, vt_qmp_msg *out, vt_error *err);
void vt_qmp_msg_free(vt_qmp_msg *m);

/* Connect to a QMP unix socket, read the greeting and negotiate capabilities. */
VT_MUST_USE vt_err vt_qmp_connect(const char *path, int timeout_ms, vt_qmp **out, vt_error *err);
/* Same over an already connected stream fd (takes ownership, also on failure). */
VT_MUST_USE vt_err vt_qmp_open_fd(int fd, int timeout_ms, vt_qmp **out, vt_error *err);
/* Execute a command; *ret (may be NULL) receives the "return" value (owned, json_decref).
 * A QMP error reply is VT_E_VERIFY with its class and description. */
VT_MUST_USE vt_err vt_qmp_execute(vt_qmp *q, const char *command, json_t *args, json_t **ret,
                      vt_error *err);
/* query-status: the run state ("running", "paused", "prelaunch", ...). */
VT_MUST_USE vt_err vt_qmp_query_status(vt_qmp *q, char *status, size_t cap, vt_error *err);
void vt_qmp_close(vt_qmp *q);

/* ---------------------------------------------------------------------------------------
 * State directory and lifecycle (src/vm/state.c, src/vm/lifecycle.c).
 * Layout: <state>/vms/<name>/{config.json, backend, qemu.pid, qmp.sock, qemu.log, console.log}
 * ------------------------------------------------------------------------------------- */

/* The state directory: override if set, else /var/lib/veritee as root, else
 * $XDG_STATE_HOME/veritee, else $HOME/.local/state/veritee. Pure: callers pass the env. */
VT_MUST_USE vt_err vt_vm_state_dir(char *out, size_t cap, const char *override, bool is_root,
                       const char *xdg_state_home, const char *home, vt_error *err);
/* <state>/vms/<name> (name checked). */
VT_MUST_USE vt_err vt_vm_run_dir(char *out, size_t cap, const char *state_dir, const char *name,
                     vt_error *err);

typedef enum vt_vm_run_state {
    VT_VM_DEFINED = 0, /* created, not running */
    VT_VM_RUNNING,     /* QEMU process alive (qemu_status says more) */
    VT_VM_CRASHED,     /* pid file left behind, process gone: QEMU died underneath */
} vt_vm_run_state;

typedef struct vt_vm_status {
    char name[VT_VM_NAME_MAX];
    vt_vm_tee tee;
    char backend[16];       /* "qemu" or "libvirt" */
    vt_vm_run_state state;
    int pid;                /* QEMU pid when running (qemu backend) */
    char qemu_status[32];   /* QMP query-status / libvirt state, "" when not known */
    char detail[256];
} vt_vm_status;

const char *vt_vm_run_state_name(vt_vm_run_state s);

typedef struct vt_vm_lifecycle_opts {
    const char *state_dir;
    int timeout_ms;         /* bound for QEMU start, QMP and stop (default 30 s when 0) */
    bool force;             /* stop: no graceful powerdown, quit at once */
    const char *libvirt_uri;/* create: use libvirt instead of direct QEMU (NULL: direct) */
    /* stop: called before each step that may wait (powerdown, quit, signals), so a caller can
     * show progress; NULL: silent */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
} vt_vm_lifecycle_opts;

/* Validate config (files too) and record it under the state dir; fails if the name exists.
 * With libvirt_uri set, the domain is defined through libvirt. */
VT_MUST_USE vt_err vt_vm_create(const vt_vm_lifecycle_opts *o, const char *config_path, vt_vm_status *st,
                    vt_error *err);
VT_MUST_USE vt_err vt_vm_start(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                   vt_error *err);
/* Graceful powerdown (bounded), then quit, then signals. Stopping a stopped VM is OK. */
VT_MUST_USE vt_err vt_vm_stop(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                  vt_error *err);
/* Stop forcibly if running, then remove the VM's state (and libvirt definition). */
VT_MUST_USE vt_err vt_vm_destroy(const vt_vm_lifecycle_opts *o, const char *name, vt_error *err);
/* Status; cleans a stale pid file and socket when QEMU died underneath (state CRASHED). */
VT_MUST_USE vt_err vt_vm_status_get(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                        vt_error *err);
/* All VMs under the state dir, sorted by name. *out is malloc'd (free()). */
VT_MUST_USE vt_err vt_vm_list(const vt_vm_lifecycle_opts *o, vt_vm_status **out, size_t *n, vt_error *err);
/* Run a read-only QMP query ("query-*") on a running VM; *ret owned by the caller. */
VT_MUST_USE vt_err vt_vm_query(const vt_vm_lifecycle_opts *o, const char *name, const char *command,
                   json_t **ret, vt_error *err);

/* ---------------------------------------------------------------------------------------
 * libvirt backend (src/vm/libvirt.c, libvirt C API). VT_E_UNSUPPORTED when built without it.
 * ------------------------------------------------------------------------------------- */

typedef struct vt_virt vt_virt;
bool vt_virt_available(void);
VT_MUST_USE vt_err vt_virt_open(const char *uri, vt_virt **out, vt_error *err);
void vt_virt_close(vt_virt *v);
VT_MUST_USE vt_err vt_virt_define(vt_virt *v, const char *xml, vt_error *err);
VT_MUST_USE vt_err vt_virt_start(vt_virt *v, const char *name, vt_error *err);
VT_MUST_USE vt_err vt_virt_shutdown(vt_virt *v, const char *name, vt_error *err);
VT_MUST_USE vt_err vt_virt_destroy(vt_virt *v, const char *name, vt_error *err); /* force off */
VT_MUST_USE vt_err vt_virt_undefine(vt_virt *v, const char *name, vt_error *err);
/* "running", "shutoff", "paused", ... ; *active true when the domain runs. */
VT_MUST_USE vt_err vt_virt_state(vt_virt *v, const char *name, char *state, size_t cap, bool *active,
                     vt_error *err);

/* ---------------------------------------------------------------------------------------
 * Host (and guest) TEE checks (src/vm/host.c). root "" or "/" is the real system; tests
 * point it at a fake tree. Each fact is one small function.
 * ------------------------------------------------------------------------------------- */

typedef enum vt_host_answer { VT_HOST_NO = 0, VT_HOST_YES, VT_HOST_UNKNOWN } vt_host_answer;

typedef struct vt_host_fact {
    char name[48];      /* "kvm", "tdx.cpu", "snp.kvm_param", "guest.configfs_tsm", ... */
    vt_host_answer answer;
    char detail[256];   /* what was seen */
    char advice[256];   /* what to do when the answer is no ("" otherwise) */
} vt_host_fact;

#define VT_HOST_MAX_FACTS 32

typedef struct vt_host_report {
    vt_host_fact facts[VT_HOST_MAX_FACTS];
    size_t n;
    bool tdx_host, snp_host, cca_host; /* every needed fact for that TEE is yes */
    bool tdx_guest, snp_guest, cca_guest;
} vt_host_report;

VT_MUST_USE vt_err vt_host_check_kvm(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_tdx_cpu(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_tdx_kvm(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_tdx_module(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_snp_cpu(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_snp_kvm(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_sev_dev(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_cca(const char *root, vt_host_fact *f, vt_error *err);
/* Firmware for one kind of guest at the usual distribution paths (fact "firmware.<tee>"). */
VT_MUST_USE vt_err vt_host_check_firmware(const char *root, vt_vm_tee tee, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_qemu(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_guest_tsm(const char *root, vt_host_fact *f, vt_error *err);
/* tsm-mr measurement registers (TDX RTMR0-3 extendable from the guest). */
VT_MUST_USE vt_err vt_host_check_guest_tsm_mr(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_guest_tdx(const char *root, vt_host_fact *f, vt_error *err);
VT_MUST_USE vt_err vt_host_check_guest_snp(const char *root, vt_host_fact *f, vt_error *err);
/* All of the above, plus the per-TEE verdicts. */
VT_MUST_USE vt_err vt_host_report_build(const char *root, vt_host_report *r, vt_error *err);
const char *vt_host_answer_name(vt_host_answer a);

VT_END_DECLS

#endif
