/* VM lifecycle: create, start, stop, destroy, status, list, query (docs/vm.md). Dispatches
 * to direct QEMU (launch.c) or libvirt (libvirt.c) by the backend recorded at create. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/fileio.h"
#include "veritee/vm.h"
#include "veritee/writer.h"
#include "vm_internal.h"

#define CHECK "vm"
#define DEFAULT_TIMEOUT_MS 30000

typedef struct vm_rec {
    char run[VT_VM_PATH_MAX];
    vt_vm_config cfg;
    char backend[16];
    char uri[512];
} vm_rec;

const char *vt_vm_run_state_name(vt_vm_run_state s)
{
    switch (s) {
    case VT_VM_DEFINED: return "stopped";
    case VT_VM_RUNNING: return "running";
    case VT_VM_CRASHED: return "crashed";
    }
    return "?";
}

static int timeout_of(const vt_vm_lifecycle_opts *o)
{
    return o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
}

static vt_err need_state(const vt_vm_lifecycle_opts *o, vt_error *err)
{
    if (o == NULL || o->state_dir == NULL || o->state_dir[0] != '/')
        return vt_error_set(err, VT_E_ARG, CHECK, "an absolute state directory is needed");
    return VT_OK;
}

/* Load a VM's record: its config and backend. VT_E_MISSING when there is no such VM. */
static vt_err rec_load(const vt_vm_lifecycle_opts *o, const char *name, vm_rec *r,
                       vt_error *err)
{
    memset(r, 0, sizeof *r);
    VT_GUARD(need_state(o, err));
    VT_GUARD(vt_vm_run_dir(r->run, sizeof r->run, o->state_dir, name, err));
    struct stat st;
    if (stat(r->run, &st) != 0 || !S_ISDIR(st.st_mode))
        return vt_error_set(err, VT_E_MISSING, CHECK, "no VM named '%s' (under %s)", name,
                            o->state_dir);
    char p[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(p, sizeof p, r->run, VM_F_CONFIG, err));
    VT_GUARD(vt_vm_config_load(p, &r->cfg, err));
    VT_GUARD(vm_path(p, sizeof p, r->run, VM_F_BACKEND, err));
    vt_buf b = {0};
    if (vt_file_read(p, 1024, &b, err) != VT_OK) return vt_error_wrap(err, "VM '%s'", name);
    char *s = (char *)b.ptr, *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    snprintf(r->backend, sizeof r->backend, "%s", s);
    if (nl) {
        char *u = nl + 1, *nl2 = strchr(u, '\n');
        if (nl2) *nl2 = 0;
        snprintf(r->uri, sizeof r->uri, "%s", u);
    }
    vt_buf_free(&b);
    if (strcmp(r->backend, "qemu") != 0 && strcmp(r->backend, "libvirt") != 0)
        return vt_error_set(err, VT_E_INVALID, CHECK, "%s: unknown backend '%s'", p, r->backend);
    return VT_OK;
}

static void status_init(vt_vm_status *st, const vm_rec *r)
{
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", r->cfg.name);
    snprintf(st->backend, sizeof st->backend, "%s", r->backend);
    st->tee = r->cfg.tee;
}

static vt_err status_libvirt(const vm_rec *r, vt_vm_status *st, vt_error *err)
{
    vt_virt *v = NULL;
    VT_GUARD(vt_virt_open(r->uri, &v, err));
    bool active = false;
    vt_err rc = vt_virt_state(v, r->cfg.name, st->qemu_status, sizeof st->qemu_status, &active,
                              err);
    vt_virt_close(v);
    if (rc == VT_OK) st->state = active ? VT_VM_RUNNING : VT_VM_DEFINED;
    return rc;
}

static vt_err status_qemu(const vm_rec *r, int timeout_ms, vt_vm_status *st, vt_error *err)
{
    int pid = vm_pid_read(r->run, err);
    if (pid < 0) return err ? err->code : VT_E_INVALID;
    char crashed[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(crashed, sizeof crashed, r->run, VM_F_CRASHED, err));
    if (pid > 0 && vm_pid_is_ours(pid, r->run)) {
        st->state = VT_VM_RUNNING;
        st->pid = pid;
        char qmp[VT_VM_PATH_MAX];
        VT_GUARD(vm_path(qmp, sizeof qmp, r->run, VM_F_QMP, err));
        vt_qmp *q = NULL;
        vt_error qe;
        vt_error_clear(&qe);
        if (vt_qmp_connect(qmp, timeout_ms, &q, &qe) == VT_OK &&
            vt_qmp_query_status(q, st->qemu_status, sizeof st->qemu_status, &qe) == VT_OK)
            snprintf(st->detail, sizeof st->detail, "pid %d, QMP %s", pid, st->qemu_status);
        else
            snprintf(st->detail, sizeof st->detail, "pid %d, QMP unavailable: %.200s", pid, qe.msg);
        vt_qmp_close(q);
        return VT_OK;
    }
    if (pid > 0) {
        /* QEMU removes its pid file on a clean exit: a leftover one means it was killed. */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "QEMU (pid %d) exited without veritee stopping it; see qemu.log\n", pid);
        vm_write_text(r->run, VM_F_CRASHED, msg, NULL);
        vm_unlink(r->run, VM_F_PID);
        vm_unlink(r->run, VM_F_QMP);
    }
    if (vt_file_exists(crashed)) {
        st->state = VT_VM_CRASHED;
        vm_log_tail(r->run, VM_F_CRASHED, st->detail, sizeof st->detail);
    } else {
        st->state = VT_VM_DEFINED;
        vm_unlink(r->run, VM_F_QMP);
    }
    return VT_OK;
}

vt_err vt_vm_status_get(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                        vt_error *err)
{
    vm_rec r;
    VT_GUARD(rec_load(o, name, &r, err));
    status_init(st, &r);
    if (strcmp(r.backend, "libvirt") == 0) return status_libvirt(&r, st, err);
    int t = timeout_of(o);
    return status_qemu(&r, t < 5000 ? t : 5000, st, err);
}

static vt_err define_libvirt(const vt_vm_config *c, const char *uri, vt_error *err)
{
    vt_vm_plan plan = {0};
    VT_GUARD(vt_vm_plan_libvirt(c, NULL, &plan, err));
    vt_virt *v = NULL;
    vt_err rc = vt_virt_open(uri, &v, err);
    if (rc == VT_OK) rc = vt_virt_define(v, plan.xml, err);
    vt_virt_close(v);
    vt_vm_plan_free(&plan);
    return rc;
}

vt_err vt_vm_create(const vt_vm_lifecycle_opts *o, const char *config_path, vt_vm_status *st,
                    vt_error *err)
{
    VT_GUARD(need_state(o, err));
    vt_buf text = {0};
    vt_vm_config c;
    VT_GUARD(vt_file_read(config_path, VT_VM_CONFIG_MAX, &text, err));
    vt_err rc = vt_vm_config_parse((const char *)text.ptr, text.len, &c, err);
    if (rc != VT_OK) {
        vt_buf_free(&text);
        return vt_error_wrap(err, "%s", config_path);
    }
    char run[VT_VM_PATH_MAX], vms[VT_VM_PATH_MAX];
    bool made = false;
    VT_GUARD_GOTO(vt_vm_config_check_files(&c, err));
    VT_GUARD_GOTO(vt_vm_run_dir(run, sizeof run, o->state_dir, c.name, err));
    VT_GUARD_GOTO(vm_path(vms, sizeof vms, o->state_dir, "vms", err));
    VT_GUARD_GOTO(vm_mkdirs(vms, err));
    if (mkdir(run, 0700) != 0) {
        rc = errno == EEXIST
                 ? vt_error_set(err, VT_E_ARG, CHECK, "a VM named '%s' exists already", c.name)
                 : vt_error_set(err, VT_E_IO, CHECK, "mkdir %s: %s", run, strerror(errno));
        goto out;
    }
    made = true;
    char cfgp[VT_VM_PATH_MAX];
    VT_GUARD_GOTO(vm_path(cfgp, sizeof cfgp, run, VM_F_CONFIG, err));
    VT_GUARD_GOTO(vt_file_write(cfgp, text.ptr, text.len, err));
    if (o->libvirt_uri != NULL) {
        char b[600];
        snprintf(b, sizeof b, "libvirt\n%s\n", o->libvirt_uri);
        VT_GUARD_GOTO(vm_write_text(run, VM_F_BACKEND, b, err));
        VT_GUARD_GOTO(define_libvirt(&c, o->libvirt_uri, err));
    } else {
        VT_GUARD_GOTO(vm_write_text(run, VM_F_BACKEND, "qemu\n", err));
    }
    if (st != NULL) {
        memset(st, 0, sizeof *st);
        snprintf(st->name, sizeof st->name, "%s", c.name);
        snprintf(st->backend, sizeof st->backend, "%s", o->libvirt_uri ? "libvirt" : "qemu");
        st->tee = c.tee;
        snprintf(st->detail, sizeof st->detail, "%.250s", run);
    }
out:
    if (rc != VT_OK && made) vm_run_dir_remove(run, NULL);
    vt_buf_free(&text);
    return rc;
}

static vt_err write_argv(const char *run, const vt_vm_argv *a, vt_error *err)
{
    char *s = vt_vm_argv_shell(a);
    if (s == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_buf t = {(uint8_t *)s, strlen(s)};
    vt_err rc = vt_buf_append(&t, "\n", 1, err);
    if (rc == VT_OK) rc = vm_write_text(run, VM_F_ARGV, (const char *)t.ptr, err);
    vt_buf_free(&t);
    return rc;
}

static vt_err start_qemu(const vt_vm_lifecycle_opts *o, vm_rec *r, vt_vm_status *st,
                         vt_error *err)
{
    VT_GUARD(status_qemu(r, 2000, st, err));
    if (st->state == VT_VM_RUNNING)
        return vt_error_set(err, VT_E_ARG, CHECK, "VM '%s' is already running (pid %d)",
                            r->cfg.name, st->pid);
    VT_GUARD(vt_vm_config_check_files(&r->cfg, err));
    vm_unlink(r->run, VM_F_CRASHED);
    vm_unlink(r->run, VM_F_QMP);
    vm_unlink(r->run, VM_F_PID);
    vt_vm_plan plan = {0};
    vt_vm_plan_opts po = {.run_dir = r->run};
    VT_GUARD(vt_vm_plan_qemu(&r->cfg, &po, &plan, err));
    int pid = 0;
    vt_err rc = write_argv(r->run, &plan.argv, err);
    if (rc == VT_OK) rc = vm_spawn_qemu(&plan.argv, r->run, timeout_of(o), &pid, err);
    vt_vm_plan_free(&plan);
    VT_GUARD(rc);
    return status_qemu(r, timeout_of(o), st, err);
}

vt_err vt_vm_start(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                   vt_error *err)
{
    vm_rec r;
    VT_GUARD(rec_load(o, name, &r, err));
    status_init(st, &r);
    if (strcmp(r.backend, "qemu") == 0) return start_qemu(o, &r, st, err);
    vt_virt *v = NULL;
    VT_GUARD(vt_virt_open(r.uri, &v, err));
    vt_err rc = vt_virt_start(v, name, err);
    vt_virt_close(v);
    VT_GUARD(rc);
    return status_libvirt(&r, st, err);
}

static vt_err stop_libvirt(const vt_vm_lifecycle_opts *o, const vm_rec *r, vt_vm_status *st,
                           vt_error *err)
{
    vt_virt *v = NULL;
    VT_GUARD(vt_virt_open(r->uri, &v, err));
    bool active = false;
    char state[32];
    vt_err rc = vt_virt_state(v, r->cfg.name, state, sizeof state, &active, err);
    if (rc == VT_OK && active && !o->force) {
        rc = vt_virt_shutdown(v, r->cfg.name, err);
        for (int waited = 0; rc == VT_OK && active && waited < timeout_of(o); waited += 100) {
            usleep(100000);
            rc = vt_virt_state(v, r->cfg.name, state, sizeof state, &active, err);
        }
    }
    if (rc == VT_OK && active) rc = vt_virt_destroy(v, r->cfg.name, err);
    vt_virt_close(v);
    VT_GUARD(rc);
    return status_libvirt(r, st, err);
}

vt_err vt_vm_stop(const vt_vm_lifecycle_opts *o, const char *name, vt_vm_status *st,
                  vt_error *err)
{
    vm_rec r;
    VT_GUARD(rec_load(o, name, &r, err));
    status_init(st, &r);
    if (strcmp(r.backend, "libvirt") == 0) return stop_libvirt(o, &r, st, err);
    VT_GUARD(status_qemu(&r, 2000, st, err));
    if (st->state == VT_VM_CRASHED) {
        vm_unlink(r.run, VM_F_CRASHED);
        st->state = VT_VM_DEFINED;
        return VT_OK;
    }
    if (st->state != VT_VM_RUNNING) {
        snprintf(st->detail, sizeof st->detail, "not running");
        return VT_OK;
    }
    char how[96];
    VT_GUARD(vm_stop_qemu(st->pid, r.run, timeout_of(o), o->force, how, sizeof how, err));
    st->state = VT_VM_DEFINED;
    st->pid = 0;
    st->qemu_status[0] = 0;
    snprintf(st->detail, sizeof st->detail, "%s", how);
    return VT_OK;
}

vt_err vt_vm_destroy(const vt_vm_lifecycle_opts *o, const char *name, vt_error *err)
{
    vm_rec r;
    VT_GUARD(rec_load(o, name, &r, err));
    vt_vm_lifecycle_opts f = *o;
    f.force = true;
    vt_vm_status st;
    if (strcmp(r.backend, "libvirt") == 0) {
        vt_virt *v = NULL;
        VT_GUARD(vt_virt_open(r.uri, &v, err));
        bool active = false;
        char state[32];
        vt_err rc = vt_virt_state(v, name, state, sizeof state, &active, err);
        if (rc == VT_OK && active) rc = vt_virt_destroy(v, name, err);
        if (rc == VT_OK) rc = vt_virt_undefine(v, name, err);
        vt_virt_close(v);
        VT_GUARD(rc);
    } else {
        VT_GUARD(vt_vm_stop(&f, name, &st, err));
    }
    return vm_run_dir_remove(r.run, err);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const vt_vm_status *)a)->name, ((const vt_vm_status *)b)->name);
}

vt_err vt_vm_list(const vt_vm_lifecycle_opts *o, vt_vm_status **out, size_t *n, vt_error *err)
{
    *out = NULL;
    *n = 0;
    VT_GUARD(need_state(o, err));
    char vms[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(vms, sizeof vms, o->state_dir, "vms", err));
    DIR *d = opendir(vms);
    if (d == NULL) {
        if (errno == ENOENT) return VT_OK;
        return vt_error_set(err, VT_E_IO, CHECK, "%s: %s", vms, strerror(errno));
    }
    vt_vm_status *list = NULL;
    size_t cnt = 0, cap = 0;
    vt_err rc = VT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (vt_vm_name_check(de->d_name, NULL) != VT_OK) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            vt_vm_status *l = realloc(list, cap * sizeof *l);
            if (l == NULL) {
                rc = vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
                break;
            }
            list = l;
        }
        vt_error e2;
        vt_vm_status *st = &list[cnt];
        if (vt_vm_status_get(o, de->d_name, st, &e2) != VT_OK) {
            memset(st, 0, sizeof *st);
            snprintf(st->name, sizeof st->name, "%.63s", de->d_name);
            snprintf(st->detail, sizeof st->detail, "unreadable: %.200s", e2.msg);
        }
        cnt++;
    }
    closedir(d);
    if (rc != VT_OK) {
        free(list);
        return rc;
    }
    if (cnt > 1) qsort(list, cnt, sizeof *list, by_name);
    *out = list;
    *n = cnt;
    return VT_OK;
}

vt_err vt_vm_query(const vt_vm_lifecycle_opts *o, const char *name, const char *command,
                   json_t **ret, vt_error *err)
{
    if (strncmp(command, "query-", 6) != 0 || strlen(command) > 64)
        return vt_error_set(err, VT_E_ARG, CHECK,
                            "only read-only query-* commands are allowed (got '%.64s')", command);
    vm_rec r;
    VT_GUARD(rec_load(o, name, &r, err));
    if (strcmp(r.backend, "qemu") != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, CHECK,
                            "QMP queries need the direct QEMU backend (VM '%s' uses libvirt)",
                            name);
    int pid = vm_pid_read(r.run, err);
    if (pid < 0) return err ? err->code : VT_E_INVALID;
    if (pid == 0 || !vm_pid_is_ours(pid, r.run))
        return vt_error_set(err, VT_E_ARG, CHECK, "VM '%s' is not running", name);
    char qmp[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(qmp, sizeof qmp, r.run, VM_F_QMP, err));
    vt_qmp *q = NULL;
    VT_GUARD(vt_qmp_connect(qmp, timeout_of(o), &q, err));
    vt_err rc = vt_qmp_execute(q, command, NULL, ret, err);
    vt_qmp_close(q);
    return rc;
}
