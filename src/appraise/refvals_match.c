/* Reference-value group matching for Arm CCA (realm: RIM + REMs + personalization value;
 * platform: implementation id, configuration, software components), following the appraisal
 * rules of the rust-ccatoken store (src/store), and the store as JSON. */
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/refvals.h"

static bool eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Distinct group names with entries named `first` (the member every group of the kind has). */
typedef bool (*group_fn)(const vt_refvals *s, const char *group, const vt_claims *c);

static bool for_groups(const vt_refvals *s, const char *first, const vt_claims *c, group_fn f,
                       const char **which)
{
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        if (v->group[0] == '\0' || strcmp(v->name, first) != 0 || v->tee != VT_TEE_CCA) continue;
        if (f(s, v->group, c)) {
            if (which) *which = v->group;
            return true;
        }
    }
    return false;
}

static bool realm_group(const vt_refvals *s, const char *group, const vt_claims *c)
{
    size_t seen = 0;
    for (size_t i = 0; i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        if (strcmp(v->group, group) != 0) continue;
        const vt_measurement *m = vt_claims_meas(c, v->name);
        if (m == NULL || !eq(m->value, m->len, v->value, v->len)) return false;
        seen |= strcmp(v->name, "rim") == 0 ? 1u : strncmp(v->name, "rem", 3) == 0 ? 2u : 0u;
    }
    return seen == 3; /* a realm group must state the RIM and the REMs */
}

bool vt_refvals_match_cca_realm(const vt_refvals *s, const vt_claims *c, const char **group)
{
    return c->tee == VT_TEE_CCA && for_groups(s, "rim", c, realm_group, group);
}

static bool sw_in_group(const vt_refvals *s, const char *group, const vt_claims_cca_sw *sw)
{
    for (size_t i = 0; i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        if (strcmp(v->group, group) != 0 || strcmp(v->name, "sw_component") != 0) continue;
        if (!eq(sw->measurement, sw->measurement_len, v->value, v->len) ||
            !eq(sw->signer_id, sw->signer_id_len, v->signer_id, v->signer_id_len))
            continue;
        if (v->component_type[0] && strcmp(v->component_type, sw->type) != 0) continue;
        if (v->version[0] && strcmp(v->version, sw->version) != 0) continue;
        return true;
    }
    return false;
}

static bool platform_group(const vt_refvals *s, const char *group, const vt_claims *c)
{
    const vt_claims_cca *x = &c->u.cca;
    if (x->n_sw == 0) return false;
    for (size_t i = 0; i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        if (strcmp(v->group, group) != 0) continue;
        if (strcmp(v->name, "implementation_id") == 0 &&
            !eq(x->implementation_id, x->implementation_id_len, v->value, v->len))
            return false;
        if (strcmp(v->name, "platform_config") == 0 &&
            !eq(x->platform_config, x->platform_config_len, v->value, v->len))
            return false;
    }
    for (size_t k = 0; k < x->n_sw; k++)
        if (!sw_in_group(s, group, &x->sw[k])) return false;
    return true;
}

bool vt_refvals_match_cca_platform(const vt_refvals *s, const vt_claims *c, const char **group)
{
    return c->tee == VT_TEE_CCA && for_groups(s, "implementation_id", c, platform_group, group);
}

json_t *vt_refvals_json(const vt_refvals *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && s != NULL && i < s->n; i++) {
        const vt_refval *v = &s->items[i];
        char *h = vt_hex_dup(v->value, v->len);
        json_t *o = json_pack("{s:s, s:s, s:s?}", "tee", v->tee ? vt_tee_name(v->tee) : "any",
                              "name", v->name, "value", h);
        free(h);
        if (o == NULL) continue;
        if (v->alg[0]) json_object_set_new(o, "alg", json_string(v->alg));
        if (v->component_type[0]) json_object_set_new(o, "component_type", json_string(v->component_type));
        if (v->version[0]) json_object_set_new(o, "version", json_string(v->version));
        if (v->signer_id_len) {
            char *sid = vt_hex_dup(v->signer_id, v->signer_id_len);
            if (sid) json_object_set_new(o, "signer_id", json_string(sid));
            free(sid);
        }
        if (v->group[0]) json_object_set_new(o, "group", json_string(v->group));
        json_object_set_new(o, "source", json_string(v->source));
        if (v->origin[0]) json_object_set_new(o, "origin", json_string(v->origin));
        json_array_append_new(a, o);
    }
    return a;
}
