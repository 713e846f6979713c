/* libFuzzer target: the NVIDIA GPU attestation report (SPDM 1.1 GET_MEASUREMENTS request +
 * MEASUREMENTS response, opaque-data TLVs) through the parser, the claims rendering and the
 * normalized GPU claims (switch PDIs included) appraised by a policy with every GPU rule, the
 * PPCIe topology across the report twice (the same GPU, so it must fail); input
 * starting with '{' goes through the evidence-list decoder and the verifier (built-in root pin,
 * fixed instant). Seeds: fuzz/seed-nvidia_report.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "veritee/claims.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"
#include "veritee/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_error_clear(&e);
    if (size > 0 && data[0] == '{') {
        vt_nvidia_verifier *v = NULL;
        if (vt_nvidia_verifier_new(NULL, &v, &e) != VT_OK) return 0;
        vt_nvidia_verify_opts o = {.at = 1717200000};
        vt_checks c = {0};
        json_t *claims = NULL;
        if (vt_nvidia_verify(v, data, size, &o, &claims, &c, &e) == VT_OK && claims == NULL)
            __builtin_trap();
        json_decref(claims);
        vt_nvidia_verifier_free(v);
        return 0;
    }
    vt_nvidia_report *r = malloc(sizeof *r);
    if (r == NULL) return 0;
    if (vt_nvidia_report_parse(data, size, r, &e) == VT_OK) {
        /* the parsed pieces lie inside the input and tile it */
        if (r->signed_part.len + r->signature.len + r->trailing.len != size) __builtin_trap();
        if (r->driver_version[0] == 0 || r->vbios_version[0] == 0) __builtin_trap();
        json_t *d = json_pack("{s:s, s:s, s:o, s:o, s:o}", "arch", "HOPPER", "ueid", "1", "nonce",
                              vt_json_hex_string(r->request_nonce, 32), "measurements",
                              vt_nvidia_measurements_json(r), "config", vt_nvidia_config_json(r));
        static vt_claims c;
        static const char pol[] = "{\"id\":\"f\",\"nvidia\":{\"ppcie\":\"required\",\"min_driver_version\":\"1.0\","
                                  "\"ppcie_topology\":{\"gpus\":2,\"switches\":4}}}";
        vt_policy p;
        if (d != NULL && vt_claims_from_gpu(d, false, &c, &e) == VT_OK) {
            if (c.u.gpu.n_switch_pdi > VT_CLAIMS_GPU_SWITCHES) __builtin_trap();
            if (vt_policy_parse(pol, sizeof pol - 1, &p, &e) != VT_OK) __builtin_trap();
            const vt_claims_gpu *peers[2] = {&c.u.gpu, &c.u.gpu};
            vt_appraise_ctx x = {.at = 1717200000, .gpu_peers = peers, .n_gpu_peers = 2};
            static vt_appraisal a;
            if (vt_policy_appraise(&p, &c, &x, &a, &e) == VT_OK && a.status == VT_EAR_AFFIRMING) __builtin_trap();
            vt_policy_free(&p);
        }
        json_decref(d);
    }
    free(r);
    return 0;
}
