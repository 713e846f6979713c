/* libvirt backend through the libvirt C API (specs/vm-launch.md §6): define, start,
 * shut down, destroy, undefine, state. Built when libvirt-dev's headers are present; the
 * library itself is loaded at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/vm.h"

#define CHECK "libvirt"

#ifdef VT_HAVE_LIBVIRT
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* libvirt is loaded with dlopen() when a libvirt connection is opened: linking it would make
 * every `veritee` process load ~50 libraries (a few ms) that only `vm --libvirt` needs. */
typedef struct lv_api {
    void *lib;
    virConnectPtr (*connect_open)(const char *);
    int (*connect_close)(virConnectPtr);
    virDomainPtr (*lookup)(virConnectPtr, const char *);
    virDomainPtr (*define_xml)(virConnectPtr, const char *);
    int (*domain_free)(virDomainPtr);
    int (*create)(virDomainPtr);
    int (*shutdown)(virDomainPtr);
    int (*destroy)(virDomainPtr);
    int (*undefine)(virDomainPtr);
    int (*get_state)(virDomainPtr, int *, int *, unsigned int);
    int (*is_active)(virDomainPtr);
    virErrorPtr (*last_error)(void);
    void (*set_error_func)(void *, virErrorFunc);
} lv_api;

struct vt_virt {
    lv_api api;
    virConnectPtr conn;
};

bool vt_virt_available(void)
{
    void *h = dlopen("libvirt.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (h == NULL) return false;
    dlclose(h);
    return true;
}

/* libvirt's default handler prints to stderr; the library must not print. */
static void quiet(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;
}

static vt_err lv_load(lv_api *a, vt_error *err)
{
    a->lib = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_UNSUPPORTED, CHECK, "libvirt.so.0 is not installed (Debian: libvirt0)");
    static const char *const names[] = {"virConnectOpen",     "virConnectClose",   "virDomainLookupByName",
                                        "virDomainDefineXML", "virDomainFree",     "virDomainCreate",
                                        "virDomainShutdown",  "virDomainDestroy",  "virDomainUndefine",
                                        "virDomainGetState",  "virDomainIsActive", "virGetLastError",
                                        "virSetErrorFunc"};
    void **slots[] = {(void **)&a->connect_open, (void **)&a->connect_close, (void **)&a->lookup,
                      (void **)&a->define_xml,   (void **)&a->domain_free,   (void **)&a->create,
                      (void **)&a->shutdown,     (void **)&a->destroy,       (void **)&a->undefine,
                      (void **)&a->get_state,    (void **)&a->is_active,     (void **)&a->last_error,
                      (void **)&a->set_error_func};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *slots[i] = dlsym(a->lib, names[i]);
        if (*slots[i] == NULL) {
            dlclose(a->lib);
            return vt_error_set(err, VT_E_UNSUPPORTED, CHECK, "libvirt.so.0 lacks %s", names[i]);
        }
    }
    return VT_OK;
}

static vt_err lv_err(const vt_virt *v, vt_error *err, const char *what, const char *name)
{
    virErrorPtr e = v->api.last_error();
    const char *m = e && e->message ? e->message : "unknown error";
    return vt_error_set(err, VT_E_IO, CHECK, "%s%s%s: %s", what, name ? " " : "", name ? name : "",
                        m);
}

vt_err vt_virt_open(const char *uri, vt_virt **out, vt_error *err)
{
    vt_virt *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = lv_load(&v->api, err);
    if (rc != VT_OK) {
        free(v);
        return rc;
    }
    v->api.set_error_func(NULL, quiet);
    v->conn = v->api.connect_open(uri && uri[0] ? uri : NULL);
    if (v->conn == NULL) {
        rc = lv_err(v, err, "connect", uri && uri[0] ? uri : "(default URI)");
        dlclose(v->api.lib);
        free(v);
        return rc;
    }
    *out = v;
    return VT_OK;
}

void vt_virt_close(vt_virt *v)
{
    if (v == NULL) return;
    if (v->conn) v->api.connect_close(v->conn);
    dlclose(v->api.lib);
    free(v);
}

static vt_err lookup(vt_virt *v, const char *name, virDomainPtr *d, vt_error *err)
{
    *d = v->api.lookup(v->conn, name);
    if (*d == NULL) return lv_err(v, err, "lookup domain", name);
    return VT_OK;
}

vt_err vt_virt_define(vt_virt *v, const char *xml, vt_error *err)
{
    virDomainPtr d = v->api.define_xml(v->conn, xml);
    if (d == NULL) return lv_err(v, err, "define domain", NULL);
    v->api.domain_free(d);
    return VT_OK;
}

typedef int (*dom_op)(virDomainPtr);

static vt_err op(vt_virt *v, const char *name, dom_op f, const char *what, vt_error *err)
{
    virDomainPtr d;
    VT_GUARD(lookup(v, name, &d, err));
    vt_err rc = f(d) == 0 ? VT_OK : lv_err(v, err, what, name);
    v->api.domain_free(d);
    return rc;
}

vt_err vt_virt_start(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, v->api.create, "start", err);
}

vt_err vt_virt_shutdown(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, v->api.shutdown, "shutdown", err);
}

vt_err vt_virt_destroy(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, v->api.destroy, "destroy", err);
}

vt_err vt_virt_undefine(vt_virt *v, const char *name, vt_error *err)
{
    return op(v, name, v->api.undefine, "undefine", err);
}

vt_err vt_virt_state(vt_virt *v, const char *name, char *state, size_t cap, bool *active,
                     vt_error *err)
{
    virDomainPtr d;
    VT_GUARD(lookup(v, name, &d, err));
    int s = 0, reason = 0;
    vt_err rc = VT_OK;
    if (v->api.get_state(d, &s, &reason, 0) != 0) {
        rc = lv_err(v, err, "state of", name);
    } else {
        static const char *const names[] = {"nostate", "running", "blocked",  "paused",
                                            "shutdown", "shutoff", "crashed", "pmsuspended"};
        snprintf(state, cap, "%s",
                 s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : "unknown");
        *active = v->api.is_active(d) == 1;
    }
    v->api.domain_free(d);
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
