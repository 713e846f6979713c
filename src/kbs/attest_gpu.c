/* Composite attestation (Trustee's additional evidence, kbs-protocol.md §8): the NVIDIA GPUs a
 * guest attests beside its CPU TEE. Each device is verified on its own through the one entry
 * (vt_verify, tee nvidia) with the session's device nonce, so each gets its own verdict and its
 * own EAR submod; a device repeating an earlier device's UEID is a replayed report. */
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/json.h"
#include "veritee/verify.h"

/* The OCSP request nonce from the broker's random source (vt_nvidia_random_fn). */
static vt_err gpu_random(void *ctx, uint8_t *out, size_t n, vt_error *err)
{
    return kbs_random(ctx, out, n, err);
}

/* One device of the list, verified alone. The configured revocation and RIM sources are shared
 * by every request thread: each verification gets its own copy, with the broker's randomness and
 * no counters (the sources' stats are plain integers, not safe to add to from two threads). */
static vt_err verify_device(vt_kbs *k, const json_t *dev, const uint8_t rd[64], vt_time now, kbs_gpu *g,
                            vt_error *err)
{
    vt_nvidia_revocation rev;
    vt_nvidia_rim_source rims;
    json_t *doc = json_pack("{s:[O]}", "device_evidence_list", (json_t *)dev);
    char *text = doc != NULL ? vt_json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
    /* on this thread's stack, not the heap: a 65 KiB result freed per device made glibc
     * consolidate its heap every time */
    vt_verify_result res;
    vt_verify_result *r = &res;
    /* Trustee's NVIDIA verifier compares the first 32 bytes of the device runtime-data hash */
    vt_verify_opts o = {.tee = "nvidia", .at = now, .nonce = rd, .nonce_len = 32};
    if (k->cfg.nvidia_revocation != NULL) {
        rev = *k->cfg.nvidia_revocation;
        rev.random = gpu_random, rev.random_ctx = k, rev.stats = NULL;
        o.nvidia_revocation = &rev;
    }
    if (k->cfg.nvidia_rim_source != NULL && k->cfg.nvidia_rim_verifier != NULL) {
        rims = *k->cfg.nvidia_rim_source;
        rims.stats = NULL;
        o.nvidia_rim_source = &rims;
        o.nvidia_rim_verifier = k->cfg.nvidia_rim_verifier;
    }
    vt_err rc = vt_verify(k->verifiers, (const uint8_t *)text, strlen(text), &o, r, err);
    if (rc == VT_OK) g->claims = r->claims;
    /* the list had one device: "device 0: " says nothing the submod label does not */
    if (rc != VT_OK && err != NULL && strncmp(err->msg, "device 0: ", 10) == 0)
        memmove(err->msg, err->msg + 10, strlen(err->msg + 10) + 1);
    vt_verify_result_clear(r);
    free(text);
    return rc;
}

vt_err kbs_gpus_verify(vt_kbs *k, const json_t *additional, const uint8_t rd[64], vt_time now, kbs_gpus *out,
                       vt_error *err)
{
    memset(out, 0, sizeof *out);
    const json_t *nv = json_object_get(additional, "nvidia"), *list;
    if (nv == NULL) return VT_OK;
    VT_GUARD(vt_json_arr(nv, "device_evidence_list", "additional_evidence.nvidia", (json_t **)&list, err));
    size_t n = json_array_size(list);
    if (n == 0 || n > VT_NVIDIA_MAX_DEVICES)
        return vt_error_set(err, VT_E_INVALID, "additional_evidence",
                            "additional_evidence.nvidia.device_evidence_list has %zu devices (1..%d)", n,
                            VT_NVIDIA_MAX_DEVICES);
    out->dev = calloc(n, sizeof *out->dev);
    if (out->dev == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        kbs_gpu *g = &out->dev[i];
        snprintf(g->label, sizeof g->label, "gpu%zu", i);
        vt_error_clear(&g->err);
        if (verify_device(k, json_array_get(list, i), rd, now, g, &g->err) != VT_OK) continue;
        for (size_t j = 0; j < i && !g->err.code; j++)
            if (out->dev[j].verified && strcmp(out->dev[j].claims.u.gpu.ueid, g->claims.u.gpu.ueid) == 0)
                vt_error_set(&g->err, VT_E_VERIFY, "ueid_unique",
                             "%s repeats the UEID %.48s of %s (a replayed report)", g->label,
                             g->claims.u.gpu.ueid, out->dev[j].label);
        g->verified = g->err.code == 0;
        if (g->verified) out->n_verified++;
    }
    return VT_OK;
}

void kbs_gpus_appraise(kbs_gpus *g, const vt_policy *pol, vt_time now, const vt_refvals *rv, const uint8_t rd[64])
{
    /* the verified GPUs of the list, for the rules across them (nvidia.ppcie_topology) */
    const vt_claims_gpu *peers[VT_NVIDIA_MAX_DEVICES];
    size_t n_peers = 0;
    for (size_t i = 0; i < g->n && n_peers < VT_NVIDIA_MAX_DEVICES; i++)
        if (g->dev[i].verified) peers[n_peers++] = &g->dev[i].claims.u.gpu;
    for (size_t i = 0; i < g->n; i++) {
        kbs_gpu *d = &g->dev[i];
        vt_error e;
        vt_appraise_ctx ctx = {.at = now, .refvals = rv, .report_data = rd, .report_data_len = 32,
                               .gpu_peers = peers, .n_gpu_peers = n_peers};
        if (!d->verified || vt_policy_appraise(pol, &d->claims, &ctx, &d->ap, &e) != VT_OK)
            vt_appraisal_rejected(pol->id, d->verified ? &e : &d->err, &d->ap);
    }
}

void kbs_gpus_free(kbs_gpus *g)
{
    free(g->dev);
    memset(g, 0, sizeof *g);
}
