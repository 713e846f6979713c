/* Normalized CCA claims as JSON (snake_case keys, bytes as lower-case hex), the "claims" part
 * of `veritee verify --tee cca --json` and of `veritee cca show`. */
#include <stdlib.h>

#include "veritee/json.h"
#include "veritee/cca.h"
#include "veritee/codec.h"

static json_t *hexj(vt_bytes b) { return vt_json_hex_string(b.ptr, b.len); }

/* Text claims are checked UTF-8 by the parser; jansson refuses NULs, so fall back to hex. */
static json_t *textj(vt_bytes b)
{
    json_t *j = json_stringn(b.len ? (const char *)b.ptr : "", b.len);
    return j ? j : hexj(b);
}

static void set(json_t *o, const char *k, json_t *v)
{
    if (v != NULL) json_object_set_new(o, k, v);
}

static json_t *sw_json(const vt_cca_sw_component *s)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    if (s->has_type) set(o, "type", textj(s->type));
    set(o, "measurement", hexj(s->measurement));
    if (s->has_version) set(o, "version", textj(s->version));
    set(o, "signer_id", hexj(s->signer_id));
    if (s->has_description) set(o, "description", textj(s->description));
    return o;
}

static json_t *platform_json(const vt_cca_platform_claims *p)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    set(o, "profile", textj(p->profile));
    set(o, "profile_version", json_string(vt_cca_profile_name(p->profile_id)));
    set(o, "challenge", hexj(p->challenge));
    set(o, "implementation_id", hexj(p->implementation_id));
    set(o, "instance_id", hexj(p->instance_id));
    set(o, "config", hexj(p->config));
    set(o, "lifecycle", json_integer((json_int_t)p->lifecycle));
    set(o, "lifecycle_name", json_string(vt_cca_lifecycle_name(p->lifecycle)));
    set(o, "hash_algorithm", textj(p->hash_alg_id));
    if (p->has_verification_service) set(o, "verification_service", textj(p->verification_service));
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < p->n_sw; i++) json_array_append_new(a, sw_json(&p->sw[i]));
    set(o, "software_components", a);
    if (p->has_client_id) set(o, "client_id", json_integer((json_int_t)p->client_id));
    if (p->manufacturing_config.ptr) set(o, "manufacturing_config", hexj(p->manufacturing_config));
    if (p->extension.ptr) set(o, "extension_cbor", hexj(p->extension));
    if (p->tbb_rotpk.ptr) set(o, "tbb_rotpk_cbor", hexj(p->tbb_rotpk));
    if (p->peer_signers.ptr) set(o, "peer_signers_cbor", hexj(p->peer_signers));
    return o;
}

static json_t *realm_json(const vt_cca_realm_claims *r)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    if (r->has_profile) set(o, "profile", textj(r->profile));
    set(o, "profile_version", json_string(vt_cca_profile_name(r->profile_id)));
    set(o, "challenge", hexj(r->challenge));
    set(o, "personalization_value", hexj(r->personalization));
    set(o, "hash_algorithm", textj(r->hash_alg_id));
    set(o, "rim", hexj(r->rim));
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < 4; i++) json_array_append_new(a, hexj(r->rem[i]));
    set(o, "rems", a);
    set(o, "public_key", hexj(r->rak));
    set(o, "public_key_format", json_string(r->rak_is_cose_key ? "cose_key" : "sec1_point"));
    set(o, "public_key_hash_algorithm", textj(r->rak_hash_alg_id));
    if (r->has_instance_id) set(o, "instance_id", hexj(r->instance_id));
    if (r->has_mec_policy) set(o, "mec_policy", json_string(r->mec_policy ? "private" : "shared"));
    if (r->has_lfa_policy) set(o, "lfa_policy", json_string(r->lfa_policy ? "allow" : "disallow"));
    if (r->has_devices_token_hash) set(o, "devices_token_hash", hexj(r->devices_token_hash));
    return o;
}

json_t *vt_cca_claims_json(const vt_cca_token *t)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    set(o, "collection_tag", json_integer((json_int_t)t->tag));
    set(o, "profile", json_string(vt_cca_profile_name(t->platform.profile_id)));
    set(o, "platform_alg", json_string(vt_cose_alg_name(t->platform_cose.alg)));
    set(o, "realm_alg", json_string(vt_cose_alg_name(t->realm_cose.alg)));
    set(o, "platform", platform_json(&t->platform));
    set(o, "realm", realm_json(&t->realm));
    return o;
}
