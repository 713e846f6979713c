/* veritee vm: confidential VM lifecycle (docs/vm.md). Thin: parse arguments, call the vm
 * library, print. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "veritee/vm.h"

static void usage(FILE *f)
{
    cli_usage(f, "vm");
}

typedef struct vm_args {
    const char *cmd;
    const char *pos[2];
    int npos;
    bool libvirt, json, force, no_check_files, measure;
    const char *connect;
    int timeout_ms;
} vm_args;

static int fail(const vm_args *a, const vt_error *e)
{
    fprintf(stderr, "veritee vm %s: %s\n", a->cmd, e->msg);
    return cli_exit_for(e->code);
}

static int parse(int argc, char **argv, vm_args *a)
{
    memset(a, 0, sizeof *a);
    a->cmd = argv[1];
    a->timeout_ms = 30000;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--libvirt") == 0) a->libvirt = true;
        else if (strcmp(s, "--json") == 0) a->json = true;
        else if (strcmp(s, "--force") == 0) a->force = true;
        else if (strcmp(s, "--no-check-files") == 0) a->no_check_files = true;
        else if (strcmp(s, "--measure") == 0) a->measure = true;
        else if (strcmp(s, "--connect") == 0 && i + 1 < argc) a->connect = argv[++i];
        else if (strcmp(s, "--timeout") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 3600) {
                fprintf(stderr, "veritee vm: --timeout takes 1..3600 seconds\n");
                return VT_EXIT_USAGE;
            }
            a->timeout_ms = (int)t * 1000;
        } else if (s[0] == '-' && s[1] != 0) {
            char path[64];
            snprintf(path, sizeof path, "vm %s", a->cmd);
            return cli_bad_arg(cli_find(path) ? path : "vm", s);
        } else if (a->npos < 2) {
            a->pos[a->npos++] = s;
        } else {
            fprintf(stderr, "veritee vm %s: too many arguments\n", a->cmd);
            return VT_EXIT_USAGE;
        }
    }
    return VT_EXIT_OK;
}

static vt_err state_dir(char *out, size_t cap, vt_error *e)
{
    return vt_vm_state_dir(out, cap, getenv("VERITEE_STATE_DIR"), geteuid() == 0,
                           getenv("XDG_STATE_HOME"), getenv("HOME"), e);
}

static void print_argv_pretty(const vt_vm_argv *av)
{
    for (size_t i = 0; i < av->n; i++) {
        char *one[2] = {av->v[i], NULL};
        vt_vm_argv a1 = {.v = one, .n = 1, .cap = 2};
        char *q = vt_vm_argv_shell(&a1);
        bool opt = av->v[i][0] == '-' && i > 0;
        printf("%s%s", i == 0 ? "" : opt ? " \\\n  " : " ", q ? q : "?");
        free(q);
    }
    printf("\n");
}

/* plan reads no file (unless --measure reads the firmware): a file the config names that is not
 * on this host is a warning, not an error, so a plan can be made anywhere. */
static void warn_missing(const vt_vm_config *c)
{
    const char *keys[3] = {"firmware", "kernel", "initrd"};
    const char *paths[3] = {c->firmware, c->kernel, c->initrd};
    bool any = false;
    for (size_t i = 0; i < 3 + c->n_disks; i++) {
        const char *p = i < 3 ? paths[i] : c->disks[i - 3].path;
        if (p[0] == 0 || access(p, F_OK) == 0) continue;
        fprintf(stderr, "veritee vm plan: warning: %s %s does not exist on this host\n", i < 3 ? keys[i] : "disk", p);
        any = true;
    }
    if (any)
        fprintf(stderr, "veritee vm plan: (the plan does not read them; 'vm create' and 'vm start' need them. "
                        "Debian 12's ovmf package has /usr/share/ovmf/OVMF.fd only, no AmdSev or IntelTdx build; "
                        "--no-check-files silences this)\n");
}

/* Progress of a stop that may wait (up to --timeout): on stderr, so the user knows why. */
static void stop_progress(void *ctx, const char *msg)
{
    const vm_args *a = ctx;
    fprintf(stderr, "veritee vm %s: %s%s\n", a->cmd, msg,
            strncmp(msg, "ACPI", 4) == 0 && !a->force ? " (--force quits at once)" : "");
}

static int cmd_plan(const vm_args *a)
{
    vt_error e;
    vt_error_clear(&e);
    if (a->npos != 1) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_vm_config *c = calloc(1, sizeof *c);
    if (c == NULL) return VT_EXIT_REJECTED;
    char sd[VT_VM_PATH_MAX], run[VT_VM_PATH_MAX];
    vt_vm_plan plan = {0};
    vt_err rc = vt_vm_config_load(a->pos[0], c, &e);
    if (rc == VT_OK && !a->no_check_files) warn_missing(c);
    if (rc == VT_OK) rc = state_dir(sd, sizeof sd, &e);
    if (rc == VT_OK) rc = vt_vm_run_dir(run, sizeof run, sd, c->name, &e);
    /* --measure: veritee measure computes the launch measurement (src/cli/vm_measure.c) */
    vt_vm_plan_opts po = {.run_dir = run, .measure = a->measure ? cli_vm_measure : NULL};
    if (rc == VT_OK)
        rc = a->libvirt ? vt_vm_plan_libvirt(c, &po, &plan, &e) : vt_vm_plan_qemu(c, &po, &plan, &e);
    free(c);
    if (rc != VT_OK) {
        vt_vm_plan_free(&plan); /* a failing measure hook leaves a built argv/XML behind */
        return fail(a, &e);
    }
    if (a->json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "backend", json_string(a->libvirt ? "libvirt" : "qemu"));
        if (a->libvirt) {
            json_object_set_new(o, "xml", json_string(plan.xml));
            json_decref(arr);
        } else {
            for (size_t i = 0; i < plan.argv.n; i++)
                json_array_append_new(arr, json_string(plan.argv.v[i]));
            json_object_set_new(o, "argv", arr);
        }
        if (plan.measurement.present)
            json_object_set_new(o, "expected_measurement",
                                json_pack("{s:s, s:s, s:s}", "register",
                                          plan.measurement.register_name, "algorithm",
                                          plan.measurement.algorithm, "value",
                                          plan.measurement.value_hex));
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else if (a->libvirt) {
        fputs(plan.xml, stdout);
    } else {
        print_argv_pretty(&plan.argv);
    }
    if (!a->json && plan.measurement.present)
        fprintf(a->libvirt ? stderr : stdout, "# expected %s (%s): %s\n", plan.measurement.register_name,
                plan.measurement.algorithm, plan.measurement.value_hex);
    vt_vm_plan_free(&plan);
    return VT_EXIT_OK;
}

static json_t *status_json(const vt_vm_status *s)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", s->name, "tee", vt_vm_tee_name(s->tee),
                          "backend", s->backend, "state", vt_vm_run_state_name(s->state));
    if (o == NULL) return NULL;
    if (s->pid > 0) json_object_set_new(o, "pid", json_integer(s->pid));
    if (s->qemu_status[0]) json_object_set_new(o, "qemu_status", json_string(s->qemu_status));
    if (s->detail[0]) json_object_set_new(o, "detail", json_string(s->detail));
    return o;
}

static void print_status(const vm_args *a, const vt_vm_status *s)
{
    if (a->json) {
        json_t *o = status_json(s);
        char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", t ? t : "{}");
        free(t);
        json_decref(o);
        return;
    }
    printf("%s: %s (tee %s, backend %s)%s%s\n", s->name, vt_vm_run_state_name(s->state),
           vt_vm_tee_name(s->tee), s->backend, s->detail[0] ? ": " : "", s->detail);
}

static int cmd_list(const vm_args *a, const vt_vm_lifecycle_opts *o)
{
    vt_error e;
    vt_error_clear(&e);
    vt_vm_status *l = NULL;
    size_t n = 0;
    if (vt_vm_list(o, &l, &n, &e) != VT_OK) return fail(a, &e);
    if (a->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(arr, status_json(&l[i]));
        char *t = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t ? t : "[]");
        free(t);
        json_decref(arr);
    } else {
        printf("%-24s %-5s %-8s %-8s %s\n", "NAME", "TEE", "BACKEND", "STATE", "DETAIL");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-5s %-8s %-8s %s\n", l[i].name, vt_vm_tee_name(l[i].tee),
                   l[i].backend, vt_vm_run_state_name(l[i].state), l[i].detail);
    }
    free(l);
    return VT_EXIT_OK;
}

static int cmd_query(const vm_args *a, const vt_vm_lifecycle_opts *o)
{
    vt_error e;
    vt_error_clear(&e);
    json_t *r = NULL;
    if (vt_vm_query(o, a->pos[0], a->pos[1], &r, &e) != VT_OK) return fail(a, &e);
    char *t = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    printf("%s\n", t ? t : "null");
    free(t);
    json_decref(r);
    return VT_EXIT_OK;
}

int cmd_vm(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    vm_args a;
    int r = parse(argc, argv, &a);
    if (r != VT_EXIT_OK) return r;
    if (strcmp(a.cmd, "plan") == 0) return cmd_plan(&a);

    struct { const char *name; int npos; } known[] = {
        {"create", 1}, {"start", 1}, {"stop", 1}, {"destroy", 1},
        {"list", 0},   {"status", 1}, {"query", 2},
    };
    int want = -1;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(a.cmd, known[i].name) == 0) want = known[i].npos;
    if (want < 0) {
        fprintf(stderr, "veritee vm: unknown command '%s'\n", a.cmd);
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (a.npos != want) {
        fprintf(stderr, "veritee vm %s: expected %d argument%s\n", a.cmd, want, want == 1 ? "" : "s");
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    char sd[VT_VM_PATH_MAX];
    if (state_dir(sd, sizeof sd, &e) != VT_OK) return fail(&a, &e);
    vt_vm_lifecycle_opts o = {.state_dir = sd, .timeout_ms = a.timeout_ms, .force = a.force,
                              .progress = stop_progress, .progress_ctx = &a};
    if (a.libvirt) o.libvirt_uri = a.connect ? a.connect : "qemu:///system";
    vt_vm_status st;
    memset(&st, 0, sizeof st);
    vt_err rc;
    if (strcmp(a.cmd, "list") == 0) return cmd_list(&a, &o);
    if (strcmp(a.cmd, "query") == 0) return cmd_query(&a, &o);
    if (strcmp(a.cmd, "create") == 0) rc = vt_vm_create(&o, a.pos[0], &st, &e);
    else if (strcmp(a.cmd, "start") == 0) rc = vt_vm_start(&o, a.pos[0], &st, &e);
    else if (strcmp(a.cmd, "stop") == 0) rc = vt_vm_stop(&o, a.pos[0], &st, &e);
    else if (strcmp(a.cmd, "status") == 0) rc = vt_vm_status_get(&o, a.pos[0], &st, &e);
    else {
        rc = vt_vm_destroy(&o, a.pos[0], &e);
        if (rc == VT_OK && !a.json) printf("%s: destroyed\n", a.pos[0]);
        return rc == VT_OK ? VT_EXIT_OK : fail(&a, &e);
    }
    if (rc != VT_OK) return fail(&a, &e);
    if (strcmp(a.cmd, "create") == 0 && !a.json)
        printf("%s: created (tee %s, backend %s) in %s\n", st.name, vt_vm_tee_name(st.tee),
               st.backend, st.detail);
    else
        print_status(&a, &st);
    return VT_EXIT_OK;
}
