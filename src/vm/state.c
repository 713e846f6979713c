/* VM state directory (docs/vm.md "State"): where it is, pid files checked against
 * /proc/<pid>/cmdline, and removal of a VM's files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/fileio.h"
#include "veritee/vm.h"
#include "vm_internal.h"

#define CHECK "vm_state"

vt_err vt_vm_state_dir(char *out, size_t cap, const char *override, bool is_root,
                       const char *xdg_state_home, const char *home, vt_error *err)
{
    int n;
    if (override != NULL && override[0] != 0) {
        if (override[0] != '/')
            return vt_error_set(err, VT_E_ARG, CHECK,
                                "VERITEE_STATE_DIR: '%s' must be an absolute path", override);
        n = snprintf(out, cap, "%s", override);
    } else if (is_root) {
        n = snprintf(out, cap, "/var/lib/veritee");
    } else if (xdg_state_home != NULL && xdg_state_home[0] == '/') {
        n = snprintf(out, cap, "%s/veritee", xdg_state_home);
    } else if (home != NULL && home[0] == '/') {
        n = snprintf(out, cap, "%s/.local/state/veritee", home);
    } else {
        return vt_error_set(err, VT_E_ARG, CHECK,
                            "no state directory: set VERITEE_STATE_DIR, XDG_STATE_HOME or HOME");
    }
    if (n < 0 || (size_t)n >= cap)
        return vt_error_set(err, VT_E_ARG, CHECK, "state directory path too long");
    /* trailing slashes make paths ugly and sockets longer */
    while (n > 1 && out[n - 1] == '/') out[--n] = 0;
    if (strchr(out, ',') != NULL)
        return vt_error_set(err, VT_E_ARG, CHECK,
                            "state directory '%s' contains a comma (QEMU option syntax)", out);
    return VT_OK;
}

vt_err vt_vm_run_dir(char *out, size_t cap, const char *state_dir, const char *name,
                     vt_error *err)
{
    VT_GUARD(vt_vm_name_check(name, err));
    int n = snprintf(out, cap, "%s/vms/%s", state_dir, name);
    if (n < 0 || (size_t)n >= cap)
        return vt_error_set(err, VT_E_ARG, CHECK, "run directory path too long");
    return VT_OK;
}

vt_err vm_path(char *out, size_t cap, const char *dir, const char *name, vt_error *err)
{
    return vt_path_join(out, cap, dir, name, err);
}

vt_err vm_mkdirs(const char *path, vt_error *err)
{
    char p[VT_VM_PATH_MAX];
    if (strlen(path) >= sizeof p) return vt_error_set(err, VT_E_ARG, CHECK, "path too long");
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        bool end = *s == 0;
        if (*s == '/' || end) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return vt_error_set(err, VT_E_IO, CHECK, "mkdir %s: %s", p, strerror(errno));
            *s = c;
        }
        if (end) break;
    }
    return VT_OK;
}

int vm_pid_read(const char *run_dir, vt_error *err)
{
    char path[VT_VM_PATH_MAX];
    if (vm_path(path, sizeof path, run_dir, VM_F_PID, err) != VT_OK) return -1;
    vt_buf b = {0};
    vt_error e2;
    vt_err rc = vt_file_read(path, 64, &b, &e2);
    if (rc == VT_E_MISSING) return 0;
    if (rc != VT_OK) {
        vt_error_set(err, rc, CHECK, "%s", e2.msg);
        return -1;
    }
    long v = 0;
    size_t i = 0;
    for (; i < b.len && b.ptr[i] >= '0' && b.ptr[i] <= '9' && v < 100000000; i++)
        v = v * 10 + (b.ptr[i] - '0');
    bool ok = i > 0 && v > 1 && v < 100000000 && (i == b.len || b.ptr[i] == '\n');
    vt_buf_free(&b);
    if (!ok) {
        vt_error_set(err, VT_E_INVALID, CHECK, "%s: not a pid", path);
        return -1;
    }
    return (int)v;
}

bool vm_pid_is_ours(int pid, const char *run_dir)
{
    char path[64], want[VT_VM_PATH_MAX + 32];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    snprintf(want, sizeof want, "%s/" VM_F_QMP, run_dir);
    vt_buf b = {0};
    vt_error e;
    if (vt_file_read(path, 1u << 20, &b, &e) != VT_OK) return false;
    /* a zombie has an empty command line; arguments are NUL-separated */
    bool found = false;
    size_t wl = strlen(want);
    for (size_t i = 0; i + wl <= b.len && !found; i++)
        found = memcmp(b.ptr + i, want, wl) == 0;
    vt_buf_free(&b);
    return found;
}

void vm_unlink(const char *dir, const char *name)
{
    char p[VT_VM_PATH_MAX];
    if (vm_path(p, sizeof p, dir, name, NULL) == VT_OK) unlink(p);
}

vt_err vm_write_text(const char *dir, const char *name, const char *text, vt_error *err)
{
    char p[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(p, sizeof p, dir, name, err));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return vt_error_set(err, VT_E_IO, CHECK, "%s: %s", p, strerror(errno));
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int c = close(fd);
    if (w < 0 || (size_t)w != n || c != 0)
        return vt_error_set(err, VT_E_IO, CHECK, "%s: write failed", p);
    return VT_OK;
}

vt_err vm_run_dir_remove(const char *run_dir, vt_error *err)
{
    DIR *d = opendir(run_dir);
    if (d == NULL) {
        if (errno == ENOENT) return VT_OK;
        return vt_error_set(err, VT_E_IO, CHECK, "%s: %s", run_dir, strerror(errno));
    }
    struct dirent *de;
    vt_err rc = VT_OK;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && rc == VT_OK)
            rc = vt_error_set(err, VT_E_IO, CHECK, "remove %s/%s: %s", run_dir, de->d_name,
                              strerror(errno));
    }
    closedir(d);
    VT_GUARD(rc);
    if (rmdir(run_dir) != 0)
        return vt_error_set(err, VT_E_IO, CHECK, "rmdir %s: %s", run_dir, strerror(errno));
    return VT_OK;
}

void vm_log_tail(const char *run_dir, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    char p[VT_VM_PATH_MAX];
    if (cap < 2 || vm_path(p, sizeof p, run_dir, name, NULL) != VT_OK) return;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)(cap - 1) ? end - (off_t)(cap - 1) : 0;
    ssize_t r = pread(fd, out, cap - 1, start);
    close(fd);
    if (r <= 0) return;
    size_t n = (size_t)r;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) n--;
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) out[i] = ' ';
}
