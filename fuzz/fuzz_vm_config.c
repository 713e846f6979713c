/* libFuzzer target: VM config JSON parse + validation, then both launch planners
 * (src/vm/config.c, plan_qemu.c, plan_libvirt.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_vm_config *c = calloc(1, sizeof *c);
    if (c == NULL) return 0;
    vt_error e;
    if (vt_vm_config_parse((const char *)data, size, c, &e) == VT_OK) {
        vt_vm_plan_opts o = {.run_dir = "/var/lib/veritee/vms/fuzz"};
        vt_vm_plan p = {0};
        if (vt_vm_plan_qemu(c, &o, &p, &e) == VT_OK) {
            char *s = vt_vm_argv_shell(&p.argv);
            free(s);
        }
        (void)vt_vm_plan_libvirt(c, &o, &p, &e);
        vt_vm_plan_free(&p);
    } else if (e.msg[0] == 0) {
        abort(); /* every rejection names its reason */
    }
    free(c);
    return 0;
}
