/* The emulated TEE: the platform description, init and open (docs/emulate.md); the files of its
 * directory are emu_files.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_internal.h"
#include "veritee/writer.h"
#include "veritee/fileio.h"
#include "veritee/json.h"

json_t *vt_emu_default_platform(void)
{
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string("veritee-emulated-platform"));
    json_object_set_new(p, "tdx", emu_tdx_default());
    json_object_set_new(p, "snp", emu_snp_default());
    json_object_set_new(p, "cca", emu_cca_default());
    return p;
}

static vt_err mkdir_p(const char *dir, const char *sub, mode_t mode, vt_error *err)
{
    char path[1200];
    VT_GUARD(emu_path(dir, sub, "", path, sizeof path, err));
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return vt_error_set(err, VT_E_IO, "emulate", "cannot create %s: %s", path, strerror(errno));
    return VT_OK;
}

vt_err vt_emu_init(const char *dir, const char *platform_json, vt_time at, vt_error *err)
{
    json_t *p = NULL;
    vt_err rc = VT_OK;
    if (platform_json != NULL) {
        VT_GUARD(vt_json_parse(platform_json, strlen(platform_json), &p, err));
        if (!json_is_object(p)) {
            json_decref(p);
            return vt_error_set(err, VT_E_INVALID, "emulate", "platform description must be a JSON object");
        }
    } else {
        p = vt_emu_default_platform();
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = vt_error_set(err, VT_E_IO, "emulate", "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    VT_GUARD_GOTO(mkdir_p(dir, "keys", 0700, err));
    VT_GUARD_GOTO(mkdir_p(dir, "trust", 0755, err));
    VT_GUARD_GOTO(mkdir_p(dir, "collateral", 0755, err));
    json_t *tdx = json_object_get(p, "tdx");
    if (tdx != NULL) VT_GUARD_GOTO(emu_tdx_init(dir, tdx, at, err));
    json_t *snp = json_object_get(p, "snp");
    if (snp != NULL) VT_GUARD_GOTO(emu_snp_init(dir, snp, at, err));
    json_t *cca = json_object_get(p, "cca");
    if (cca != NULL) VT_GUARD_GOTO(emu_cca_init(dir, cca, at, err));
    json_t *nv = json_object_get(p, "nvidia"); /* opt-in: not in the default platform */
    if (nv != NULL) VT_GUARD_GOTO(emu_nvidia_init(dir, nv, at, err));
    char *text = json_dumps(p, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        goto out;
    }
    rc = emu_write(dir, NULL, "platform.json", text, strlen(text), false, err);
    free(text);
out:
    json_decref(p);
    return rc;
}

vt_err vt_emu_open(const char *dir, vt_emu **out, vt_error *err)
{
    vt_emu *e = calloc(1, sizeof *e);
    if (e == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    vt_buf b = {0};
    vt_err rc = emu_read(dir, NULL, "platform.json", &b, err);
    if (rc == VT_E_MISSING) vt_error_wrap(err, "not an emulator directory (run `veritee emulate init %s`)", dir);
    if (rc == VT_OK) rc = vt_json_parse((const char *)b.ptr, b.len, &e->platform, err);
    vt_buf_free(&b);
    if (rc != VT_OK) {
        free(e);
        return rc;
    }
    pthread_mutex_init(&e->lock, NULL);
    *out = e;
    return VT_OK;
}

void vt_emu_free(vt_emu *e)
{
    if (e == NULL) return;
    emu_tdx_free(e->tdx);
    pthread_mutex_destroy(&e->lock);
    json_decref(e->platform);
    free(e);
}

