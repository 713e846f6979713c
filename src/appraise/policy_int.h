/* Internal helpers shared by the policy parser files (src/appraise/policy_*.c). */
#ifndef VT_APPRAISE_POLICY_INT_H
#define VT_APPRAISE_POLICY_INT_H

#include <stdarg.h>

#include "veritee/policy.h"

typedef struct pctx {
    vt_error *err;
} pctx;

vt_err pol_fail(pctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pol_path(char *out, size_t cap, const char *base, const char *key);
vt_err pol_keys(pctx *c, const json_t *o, const char *path, const char *const *allowed);
vt_err pol_bool(pctx *c, const json_t *o, const char *key, const char *path, bool *out);
vt_err pol_int(pctx *c, const json_t *o, const char *key, const char *path, int64_t min,
               int64_t max, int64_t *out);
vt_err pol_hex(pctx *c, const json_t *j, const char *path, size_t exact, vt_policy_bytes *out);
vt_err pol_set(pctx *c, const json_t *j, const char *path, vt_policy_set *out);
vt_err pol_u64(pctx *c, const json_t *j, const char *path, uint64_t *out);
vt_err pol_mask(pctx *c, const json_t *o, const char *key, const char *path, size_t len,
                vt_policy_mask *out);
vt_err pol_names(pctx *c, const json_t *o, const char *key, const char *path,
                 int (*lookup)(const char *), unsigned *out);

/* Section parsers (policy_sections.c). */
vt_err pol_parse_tcb(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_binding(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_measurements(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_tdx_sgx(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_snp(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_cca(pctx *c, const json_t *root, vt_policy *p);
vt_err pol_parse_nvidia(pctx *c, const json_t *root, vt_policy *p); /* policy_gpu.c */
vt_err pol_parse_tpm(pctx *c, const json_t *root, vt_policy *p); /* policy_tpm.c */
void pol_free_tpm(vt_policy *p);

/* Measurement names a TEE reports (NULL-terminated lists), and which are configuration. */
bool pol_known_measurement(const char *name);
bool pol_config_measurement(const char *name);

#endif
