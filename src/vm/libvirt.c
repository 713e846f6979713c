/* libvirt backend through the libvirt C API (specs/vm-launch.md §6): define, start,
 * shut down, destroy, undefine, state. Built only when libvirt-dev is present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/vm.h"

#define CHECK "libvirt"

#ifdef VT_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct vt_virt {
    virConnectPtr conn;
};

bool vt_virt_available(void) { return true; }

/* libvirt's default handler prints to stderr; the library must not print. */
static void quiet(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;
}

static vt_err lv_err(vt_error *err, const char *what, const char *name)
{
    virErrorPtr e = virGetLastError();
    const char *m = e && e->message ? e->message : "unknown error";
    return vt_error_set(err, VT_E_IO, CHECK, "%s%s%s: %s", what, name ? " " : "", name ? name : "",
                        m);
}

vt_err vt_virt_open(const char *uri, vt_virt **out, vt_error *err)
{
    virSetErrorFunc(NULL, quiet);
    vt_virt *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    v->conn = virConnectOpen(uri && uri[0] ? uri : NULL);
    if (v->conn == NULL) {
        free(v);
        return lv_err(err, "connect", uri && uri[0] ? uri : "(default URI)");
    }
    *out = v;
    return VT_OK;
}

void vt_virt_close(vt_virt *v)
{
    if (v == NULL) return;
    if (v->conn) virConnectClose(v->conn);
    free(v);
}

static vt_err lookup(vt_virt *v, const char *name, virDomainPtr *d, vt_error *err)
{
    *d = virDomainLookupByName(v->conn, name);
    if (*d == NULL) return lv_err(err, "lookup domain", name);
    return VT_OK;
}

vt_err vt_virt_define(vt_virt *v, const char *xml, vt_error *err)
{
    virDomainPtr d = virDomainDefineXML(v->conn, xml);
    if (d == NULL) return lv_err(err, "define domain", NULL);
    virDomainFree(d);
    return VT_OK;
}

typedef int (*dom_op)(virDomainPtr);

static vt_err op(vt_virt *v, const char *name, dom_op f, const char *what, vt_error *err)
{
    virDomainPtr d;
    VT_GUARD(lookup(v, name, &d, err));
    vt_err rc = f(d) == 0 ? VT_OK : lv_err(err, what, name);
    virDomainFree(d);
    return rc;
}

vt_err vt_virt_start(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, virDomainCreate, "start", err);
}

vt_err vt_virt_shutdown(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, virDomainShutdown, "shutdown", err);
}

vt_err vt_virt_destroy(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, virDomainDestroy, "destroy", err);
}

vt_err vt_virt_undefine(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, virDomainUndefine, "undefine", err);
}

vt_err vt_virt_state(vt_virt *v, const char *name, char *state, size_t cap, bool *active,
                     vt_error *err)
{
    virDomainPtr d;
    VT_GUARD(lookup(v, name, &d, err));
    int s = 0, reason = 0;
    vt_err rc = VT_OK;
    if (virDomainGetState(d, &s, &reason, 0) != 0) {
        rc = lv_err(err, "state of", name);
    } else {
        static const char *const names[] = {"nostate", "running", "blocked",  "paused",
                                            "shutdown", "shutoff", "crashed", "pmsuspended"};
        snprintf(state, cap, "%s",
                 s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "unknown");
        *active = virDomainIsActive(d) == 1;
    }
    virDomainFree(d);
    return rc;
}

#else /* !VT_HAVE_LIBVIRT */

struct vt_virt {
    int unused;
};

bool vt_virt_available(void) { return false; }

static vt_err absent(vt_error *err)
{
    return vt_error_set(err, VT_E_UNSUPPORTED, CHECK,
                        "veritee was built without libvirt (install libvirt-dev and rebuild)");
}

vt_err vt_virt_open(const char *uri, vt_virt **out, vt_error *err)
{
    (void)uri;
    *out = NULL;
    return absent(err);
}
void vt_virt_close(vt_virt *v) { (void)v; }
vt_err vt_virt_define(vt_virt *v, const char *xml, vt_error *err) { (void)v; (void)xml; return absent(err); }
vt_err vt_virt_start(vt_virt *v, const char *n, vt_error *err) { (void)v; (void)n; return absent(err); }
vt_err vt_virt_shutdown(vt_virt *v, const char *n, vt_error *err) { (void)v; (void)n; return absent(err); }
vt_err vt_virt_destroy(vt_virt *v, const char *n, vt_error *err) { (void)v; (void)n; return absent(err); }
vt_err vt_virt_undefine(vt_virt *v, const char *n, vt_error *err) { (void)v; (void)n; return absent(err); }
vt_err vt_virt_state(vt_virt *v, const char *n, char *s, size_t cap, bool *active, vt_error *err)
{
    (void)v; (void)n; (void)s; (void)cap; (void)active;
    return absent(err);
}

#endif
