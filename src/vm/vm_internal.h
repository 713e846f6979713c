/* Internal helpers shared by the vm module's files (not public API). */
#ifndef VT_VM_INTERNAL_H
#define VT_VM_INTERNAL_H

#include "veritee/vm.h"

/* "rme-guest,id=rme0[,...]" for a realm (vm-launch.md §5.1); *out malloc'd. */
vt_err vm_plan_rme_object(const vt_vm_cca *r, char **out, vt_error *err);

/* State directory helpers (state.c). Files under a run directory: */
#define VM_F_CONFIG "config.json"
#define VM_F_BACKEND "backend"
#define VM_F_PID "qemu.pid"
#define VM_F_QMP "qmp.sock"
#define VM_F_LOG "qemu.log"
#define VM_F_CONSOLE "console.log"
#define VM_F_ARGV "argv"
#define VM_F_CRASHED "crashed"

/* dir/name into out. */
vt_err vm_path(char *out, size_t cap, const char *dir, const char *name, vt_error *err);
/* mkdir -p with mode 0700 for the created levels. */
vt_err vm_mkdirs(const char *path, vt_error *err);
/* Read a pid file: 0 when absent, -1 (and err) when malformed. */
int vm_pid_read(const char *run_dir, vt_error *err);
/* The process exists, is not a zombie, and its command line names this run dir's QMP
 * socket (guards against pid reuse). */
bool vm_pid_is_ours(int pid, const char *run_dir);
/* Remove the files of a run directory (not recursive) and the directory itself. */
vt_err vm_run_dir_remove(const char *run_dir, vt_error *err);
/* Unlink dir/name, ignoring a missing file. */
void vm_unlink(const char *dir, const char *name);
/* Write a small text file (0600). */
vt_err vm_write_text(const char *dir, const char *name, const char *text, vt_error *err);
/* Last line(s) of a log, at most cap-1 bytes, control characters replaced. */
void vm_log_tail(const char *run_dir, const char *name, char *out, size_t cap);

/* QEMU processes (launch.c). */
bool vm_wait_gone(int pid, const char *run_dir, int ms);
/* Run the daemonizing QEMU argv; bounded by timeout_ms; *pid_out the daemon's pid. */
vt_err vm_spawn_qemu(const vt_vm_argv *a, const char *run_dir, int timeout_ms, int *pid_out,
                     vt_error *err);
/* Powerdown (unless force), quit, SIGTERM, SIGKILL; removes pid file and socket. */
vt_err vm_stop_qemu(int pid, const char *run_dir, int timeout_ms, bool force,
                    void (*progress)(void *ctx, const char *msg), void *progress_ctx, char *how,
                    size_t how_cap, vt_error *err);

#endif
