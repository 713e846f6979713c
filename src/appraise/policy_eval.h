/* Internal: the evaluation state shared by policy_eval.c and policy_tee.c. */
#ifndef VT_APPRAISE_POLICY_EVAL_H
#define VT_APPRAISE_POLICY_EVAL_H

#include "policy_int.h"

typedef struct ev {
    const vt_policy *p;
    const vt_claims *c;
    const vt_appraise_ctx *x;
    vt_appraisal *a;
} ev;

/* Record a check; a non-skipped check raises its AR4SI claim to `value` when that is worse. */
void ev_add(ev *e, const char *name, vt_check_status st, int claim, int value, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ev_rule(ev *e, const char *name, bool ok, int claim, int good, int bad, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void ev_hex(const uint8_t *p, size_t n, char *out, size_t cap);
/* Is v one of the set's literal values or a reference value named in it? `which` says which. */
bool ev_set_match(const ev *e, const vt_policy_set *s, const char *claim_name, const uint8_t *v,
                  size_t len, char *which, size_t cap);
/* Per-TEE rules (policy_tee.c). */
void ev_tee_rules(ev *e);
/* GPUs (policy_gpu.c): one GPU's rules, and the count of GPUs beside CPU evidence. */
void ev_gpu_rules(ev *e);
void ev_gpu_count(ev *e);
/* TPM quote rules: PCRs, AAEL events, runtime claims (policy_tpm.c). */
void ev_tpm_rules(ev *e);

#endif
