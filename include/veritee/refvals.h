/* Reference values: named expected values with their provenance, loaded from files (the JSON
 * `veritee measure` prints, veritee's own list format, the rust-ccatoken/Trustee CCA store and
 * the Islet realm format) and queried by policies (policy.h). */
#ifndef VERITEE_REFVALS_H
#define VERITEE_REFVALS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/claims.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_REFVALS_MAX 4096        /* entries in one store */
#define VT_REFVALS_FILE_MAX (4u << 20)
#define VT_REFVALS_DIR_MAX 256     /* files read from one directory */

/* One expected value. `group` ties values that must match together (one CCA realm: RIM, REMs
 * and personalization value; one CCA platform: implementation id, config, components). */
typedef struct vt_refval {
    vt_tee tee;                      /* VT_TEE_UNKNOWN: any TEE */
    char name[VT_CLAIMS_NAME_MAX];   /* claim name: "mr_td", "rtmr1", "measurement", "rim",
                                        "rem0", "personalization_value", "implementation_id",
                                        "platform_config", "sw_component", or a measure name */
    uint8_t value[VT_CLAIMS_VALUE_MAX];
    size_t len;
    char alg[16];                    /* "sha-384" ... or "" */
    /* software components (name "sw_component") */
    char component_type[VT_CLAIMS_NAME_MAX];
    char version[VT_CLAIMS_NAME_MAX];
    uint8_t signer_id[VT_CLAIMS_VALUE_MAX];
    size_t signer_id_len;
    /* provenance */
    char group[96];                  /* "<file>#realm[0]"; "" for a standalone value */
    char source[160];                /* file (and position) it was read from */
    char origin[96];                 /* who produced it: tool, issuer ("veritee 0.1.0", "Samsung") */
} vt_refval;

typedef struct vt_refvals {
    vt_refval *items;
    size_t n, cap;
} vt_refvals;

void vt_refvals_init(vt_refvals *s);
void vt_refvals_free(vt_refvals *s); /* accepts NULL */

/* Load JSON text. Accepted shapes:
 *  - `veritee measure` output: one {"tee","name","alg","value","provenance":{...}} or an array;
 *  - {"reference_values": [ {"tee","name","value" | "values": [...], "alg", "origin"} ... ]};
 *  - the rust-ccatoken store (also Trustee's rvstore): {"platform": [...], "realm": [...]};
 *  - the Islet realm file: {"issuer": {...}, "realm": {"reference-values": {"rim","rems"}}}.
 * Values are hex (either case), at most 64 bytes. `label` names the source in provenance
 * and errors. On error nothing is added. VT_E_INVALID names the offending key path. */
VT_MUST_USE vt_err vt_refvals_load_mem(vt_refvals *s, const char *text, size_t len, const char *label,
                           vt_error *err);
VT_MUST_USE vt_err vt_refvals_load_file(vt_refvals *s, const char *path, vt_error *err);
/* Every *.json file of dir, in name order (at most VT_REFVALS_DIR_MAX). A path naming a file
 * loads that file. VT_E_MISSING when the path does not exist. */
VT_MUST_USE vt_err vt_refvals_load_path(vt_refvals *s, const char *path, vt_error *err);

/* Does some entry named `name` (for tee or any TEE) hold exactly value[len]? When it does and
 * `which` is not NULL, *which points at it. */
bool vt_refvals_match(const vt_refvals *s, vt_tee tee, const char *name, const uint8_t *value,
                      size_t len, const vt_refval **which);
/* Number of entries named `name` for tee (or any TEE). */
size_t vt_refvals_count(const vt_refvals *s, vt_tee tee, const char *name);

/* CCA: does some realm group match the claims (RIM, REM0-3 and, when the group has one,
 * the personalization value)? Does some platform group match (implementation id, config when
 * the group has one, and every software component of the token found in the group, measured
 * value and signer id equal, type and version equal when the reference states them)?
 * *group receives the matching group's name (may be NULL). */
bool vt_refvals_match_cca_realm(const vt_refvals *s, const vt_claims *c, const char **group);
bool vt_refvals_match_cca_platform(const vt_refvals *s, const vt_claims *c, const char **group);

/* The store as a JSON array (for `veritee appraise --refvals` listings and tests). */
json_t *vt_refvals_json(const vt_refvals *s);

VT_END_DECLS

#endif
