/* Direct-QEMU process handling: spawn a daemonizing QEMU with bounded waits, and stop it
 * (graceful powerdown over QMP, then quit, then signals). specs/vm-launch.md §7. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "veritee/vm.h"
#include "vm_internal.h"

#define CHECK "vm_launch"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Wait until the pid is no longer our QEMU, at most ms. */
bool vm_wait_gone(int pid, const char *run_dir, int ms)
{
    int64_t deadline = now_ms() + ms;
    while (vm_pid_is_ours(pid, run_dir)) {
        if (now_ms() >= deadline) return false;
        sleep_ms(50);
    }
    return true;
}

static void child_exec(const vt_vm_argv *a, const char *log)
{
    setsid();
    int nul = open("/dev/null", O_RDONLY);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    if (nul >= 0) dup2(nul, 0);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execvp(a->v[0], a->v);
    dprintf(2, "veritee: cannot execute %s: %s\n", a->v[0], strerror(errno));
    _exit(127);
}

vt_err vm_spawn_qemu(const vt_vm_argv *a, const char *run_dir, int timeout_ms, int *pid_out,
                     vt_error *err)
{
    char log[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(log, sizeof log, run_dir, VM_F_LOG, err));
    pid_t child = fork();
    if (child < 0) return vt_error_set(err, VT_E_IO, CHECK, "fork: %s", strerror(errno));
    if (child == 0) child_exec(a, log);

    /* With -daemonize the first QEMU process exits once the guest is set up (pid file
     * written, QMP listening), or with an error status. */
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child) break;
        if (r < 0 && errno != EINTR)
            return vt_error_set(err, VT_E_IO, CHECK, "waitpid: %s", strerror(errno));
        if (now_ms() >= deadline) {
            kill(-child, SIGKILL);
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            int pid = vm_pid_read(run_dir, NULL);
            if (pid > 0 && vm_pid_is_ours(pid, run_dir)) kill(pid, SIGKILL);
            vm_unlink(run_dir, VM_F_PID);
            vm_unlink(run_dir, VM_F_QMP);
            return vt_error_set(err, VT_E_IO, "qemu_start",
                                "QEMU did not finish starting within %d ms (killed)",
                                timeout_ms);
        }
        sleep_ms(20);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[200];
        vm_log_tail(run_dir, VM_F_LOG, tail, sizeof tail);
        vm_unlink(run_dir, VM_F_PID);
        return vt_error_set(err, VT_E_IO, "qemu_start", "QEMU failed to start (%s %d): %s",
                            WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                            tail[0] ? tail : "no output in qemu.log");
    }
    int pid = vm_pid_read(run_dir, err);
    if (pid <= 0) {
        if (pid == 0)
            vt_error_set(err, VT_E_IO, "qemu_start", "QEMU started but wrote no pid file");
        return err ? err->code : VT_E_IO;
    }
    if (!vm_pid_is_ours(pid, run_dir))
        return vt_error_set(err, VT_E_IO, "qemu_start",
                            "QEMU (pid %d) exited right after starting; see %s", pid, log);
    *pid_out = pid;
    return VT_OK;
}

/* Best effort "quit" over QMP. */
static void qmp_quit(const char *qmp_path, int timeout_ms)
{
    vt_qmp *q = NULL;
    if (vt_qmp_connect(qmp_path, timeout_ms, &q, NULL) != VT_OK) return;
    if (vt_qmp_execute(q, "quit", NULL, NULL, NULL) != VT_OK) {
        /* best effort: QEMU may be gone already; the caller checks the process */
    }
    vt_qmp_close(q);
}

vt_err vm_stop_qemu(int pid, const char *run_dir, int timeout_ms, bool force,
                    void (*progress)(void *ctx, const char *msg), void *progress_ctx, char *how,
                    size_t how_cap, vt_error *err)
{
    char msg[128];
#define PROGRESS(...)                                  \
    do {                                               \
        if (progress != NULL) {                        \
            snprintf(msg, sizeof msg, __VA_ARGS__);    \
            progress(progress_ctx, msg);               \
        }                                              \
    } while (0)
    char qmp[VT_VM_PATH_MAX];
    VT_GUARD(vm_path(qmp, sizeof qmp, run_dir, VM_F_QMP, err));
    int step = timeout_ms < 5000 ? timeout_ms : 5000;
    if (!force) {
        vt_qmp *q = NULL;
        if (vt_qmp_connect(qmp, step, &q, NULL) == VT_OK) {
            vt_err rc = vt_qmp_execute(q, "system_powerdown", NULL, NULL, NULL);
            vt_qmp_close(q);
            if (rc == VT_OK) PROGRESS("ACPI powerdown sent; waiting up to %d s for the guest", timeout_ms / 1000);
            if (rc == VT_OK && vm_wait_gone(pid, run_dir, timeout_ms)) {
                snprintf(how, how_cap, "guest powered down");
                goto gone;
            }
        }
    }
    PROGRESS("QMP quit%s", force ? "" : " (the guest did not power down)");
    qmp_quit(qmp, step);
    if (vm_wait_gone(pid, run_dir, step)) {
        snprintf(how, how_cap, force ? "QEMU quit" : "guest ignored powerdown; QEMU quit");
        goto gone;
    }
    PROGRESS("QEMU still running: SIGTERM");
    if (vm_pid_is_ours(pid, run_dir)) kill(pid, SIGTERM);
    if (vm_wait_gone(pid, run_dir, 2000)) {
        snprintf(how, how_cap, "QEMU terminated (SIGTERM)");
        goto gone;
    }
    PROGRESS("QEMU still running: SIGKILL");
    if (vm_pid_is_ours(pid, run_dir)) kill(pid, SIGKILL);
    if (!vm_wait_gone(pid, run_dir, 2000))
        return vt_error_set(err, VT_E_IO, "qemu_stop", "QEMU pid %d survived SIGKILL", pid);
    snprintf(how, how_cap, "QEMU killed (SIGKILL)");
gone:
    vm_unlink(run_dir, VM_F_PID);
    vm_unlink(run_dir, VM_F_QMP);
    return VT_OK;
#undef PROGRESS
}
