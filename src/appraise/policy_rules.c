/* Recording policy rules as named appraisal checks (policy_eval.h): each check justifies one
 * AR4SI claim value; shared by the common rules (policy_eval.c) and the per-TEE ones
 * (policy_tee.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_eval.h"

void ev_add(ev *e, const char *name, vt_check_status st, int claim, int value, const char *fmt, ...)
{
    vt_appraisal *a = e->a;
    if (a->n_checks >= VT_APPRAISAL_MAX_CHECKS) {
        /* Never drop a verdict: the last slot records the overflow as contraindicated. */
        vt_appraisal_check *last = &a->checks[VT_APPRAISAL_MAX_CHECKS - 1];
        memset(last, 0, sizeof *last);
        snprintf(last->name, sizeof last->name, "too_many_checks");
        last->status = VT_CHECK_FAIL;
        last->claim = VT_AR4SI_CONFIGURATION;
        last->value = VT_AR4SI_CONTRAINDICATED;
        snprintf(last->detail, sizeof last->detail, "more than %d checks", VT_APPRAISAL_MAX_CHECKS);
        a->vector.v[VT_AR4SI_CONFIGURATION] = VT_AR4SI_CONTRAINDICATED;
        return;
    }
    vt_appraisal_check *k = &a->checks[a->n_checks++];
    memset(k, 0, sizeof *k); /* written whole: the reset leaves the entries as they were */
    snprintf(k->name, sizeof k->name, "%s", name);
    k->status = st;
    k->claim = st == VT_CHECK_SKIP ? -1 : claim;
    k->value = st == VT_CHECK_SKIP ? 0 : value;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->detail, sizeof k->detail, fmt, ap);
    va_end(ap);
    if (k->claim >= 0 && k->claim < VT_AR4SI_COUNT) {
        int cur = a->vector.v[k->claim];
        if (vt_ear_status_rank(vt_ar4si_tier(value)) > vt_ear_status_rank(vt_ar4si_tier(cur)))
            a->vector.v[k->claim] = (int8_t)value;
    }
}

/* pass -> affirming value, fail -> bad value. */
void ev_rule(ev *e, const char *name, bool ok, int claim, int good, int bad, const char *fmt, ...)
{
    char d[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    ev_add(e, name, ok ? VT_CHECK_PASS : VT_CHECK_FAIL, claim, ok ? good : bad, "%s", d);
}

void ev_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    /* by hand: a snprintf per byte was ~700 instructions per call, ~30 calls per appraisal */
    for (size_t i = 0; i < n && k + 3 <= cap; i++) {
        out[k++] = hex[p[i] >> 4];
        out[k++] = hex[p[i] & 15];
    }
    if (cap) out[k < cap ? k : cap - 1] = '\0';
}

bool ev_set_match(const ev *e, const vt_policy_set *s, const char *claim_name, const uint8_t *v,
                  size_t len, char *which, size_t cap)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->values[i].len == len && memcmp(s->values[i].v, v, len) == 0) {
            snprintf(which, cap, "policy value %zu", i);
            return true;
        }
    }
    for (size_t i = 0; i < s->n_refs; i++) {
        const vt_refval *rv = NULL;
        if (vt_refvals_match(e->x->refvals, e->c->tee, s->refs[i], v, len, &rv)) {
            snprintf(which, cap, "reference '%s' from %s%s%s", s->refs[i], rv->source,
                     rv->origin[0] ? " by " : "", rv->origin);
            return true;
        }
    }
    (void)claim_name;
    return false;
}
