/* Reading a command's input file, where "-" means standard input. */
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/rcar.h"

bool cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

vt_err cli_read_input(const char *path, size_t max, vt_buf *out, vt_error *err)
{
    if (strcmp(path, "-") != 0) return vt_file_read(path, max, out, err);
    size_t cap = 65536, len = 0;
    uint8_t *p = malloc(cap);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "io", "out of memory");
    for (;;) {
        if (len == cap) {
            if (cap > max) break;
            uint8_t *q = realloc(p, cap * 2);
            if (q == NULL) {
                free(p);
                return vt_error_set(err, VT_E_NOMEM, "io", "out of memory");
            }
            p = q;
            cap *= 2;
        }
        size_t n = fread(p + len, 1, cap - len, stdin);
        len += n;
        if (n == 0) break;
    }
    if (ferror(stdin) || len > max) {
        free(p);
        return vt_error_set(err, len > max ? VT_E_INVALID : VT_E_IO, "io", "standard input: %s",
                            len > max ? "too large" : "read error");
    }
    out->ptr = p;
    out->len = len;
    return VT_OK;
}

/* The NVML library for GPU evidence: --nvml, else VERITEE_NVML, else NULL (libnvidia-ml.so.1). */
const char *cli_nvml_library(const char *opt)
{
    if (opt != NULL && *opt != '\0') return opt;
    const char *t = getenv("VERITEE_NVML");
    return t != NULL && *t != '\0' ? t : NULL;
}

/* The TPM to use when --tcti is not given: TPM2TOOLS_TCTI, then TCTI (tpm2-tools' variables),
 * else NULL (the library's default, device:/dev/tpmrm0). */
const char *cli_tcti_default(void)
{
    const char *t = getenv("TPM2TOOLS_TCTI");
    if (t == NULL || *t == '\0') t = getenv("TCTI");
    return t != NULL && *t != '\0' ? t : NULL;
}

int cli_init_data_digest(const char *path, vt_buf *digest)
{
    vt_error e;
    vt_error_clear(&e);
    vt_buf toml = {0};
    uint8_t d[64];
    size_t dl = 0;
    vt_err rc = cli_read_input(path, 1u << 20, &toml, &e);
    if (rc == VT_OK) rc = vt_rcar_initdata_digest((const char *)toml.ptr, toml.len, d, &dl, NULL, &e);
    if (rc == VT_OK) rc = vt_buf_set(digest, d, dl, &e);
    vt_buf_free(&toml);
    if (rc != VT_OK) fprintf(stderr, "veritee: --init-data %s: %s\n", path, e.msg);
    return rc == VT_OK ? 0 : -1;
}
