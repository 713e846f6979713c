/* Internal helpers shared by the vm module's files (not public API). */
#ifndef VT_VM_INTERNAL_H
#define VT_VM_INTERNAL_H

#include "veritee/vm.h"

/* "rme-guest,id=rme0[,...]" for a realm (vm-launch.md §5.1); *out malloc'd. */
vt_err vm_plan_rme_object(const vt_vm_cca *r, char **out, vt_error *err);

#endif
