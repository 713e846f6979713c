/* Internal pieces of the emulated TEE shared by its per-TEE files. */
#ifndef VT_EMU_INTERNAL_H
#define VT_EMU_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>

#include "veritee/emulate.h"
#include "veritee/json.h"
#include "veritee/pki.h"
#include "veritee/snp.h"

/* What TDX quotes need from the emulator's files and platform, read at the first quote and kept
 * for the vt_emu's life (emu_tdx_quote.c): the files do not change under an open emulator. */
typedef struct emu_tdx emu_tdx;
void emu_tdx_free(emu_tdx *t);

struct vt_emu {
    char dir[1024];
    json_t *platform;
    pthread_mutex_t lock; /* guards the lazily read parts below */
    emu_tdx *tdx;
};

/* Paths and files under the emulator directory. */
vt_err emu_path(const char *dir, const char *sub, const char *name, char *out, size_t cap, vt_error *err);
vt_err emu_write(const char *dir, const char *sub, const char *name, const void *p, size_t n, bool secret,
                 vt_error *err);
vt_err emu_read(const char *dir, const char *sub, const char *name, vt_buf *out, vt_error *err);
/* Certificates c[0..n) as one PEM file under dir/sub. */
vt_err emu_write_pem_chain(const char *dir, const char *sub, const char *name, X509 *const *c, size_t n,
                           vt_error *err);
vt_err emu_save_key(const char *dir, const char *name, EVP_PKEY *k, vt_error *err);
vt_err emu_load_key(const char *dir, const char *name, EVP_PKEY **out, vt_error *err);

/* The platform description is read with the core JSON getters (veritee/json.h): an absent
 * member keeps the built-in default, a wrong-typed one is an error naming its path. */
/* Hex JSON string of n (<= 64) bytes seed, seed + step, seed + 2 step, ...: the recognisable
 * default measurements of the emulated platforms. */
json_t *emu_pattern_json(uint8_t seed, uint8_t step, size_t n);

/* MRSIGNER of the emulated TD quoting enclave. */
extern const uint8_t EMU_QE_MRSIGNER[32];

/* Per-TEE parts. */
json_t *emu_tdx_default(void);
vt_err emu_tdx_init(const char *dir, const json_t *tdx, vt_time at, vt_error *err);


/* The SEV-SNP platform as the emulator uses it (the "snp" section, defaults applied). */
typedef struct emu_snp_plat {
    vt_snp_product product;
    uint8_t cpuid[3];            /* family, model, stepping */
    vt_snp_tcb current, reported, committed, launch;
    uint8_t chip_id[64];         /* Turin: 8 bytes, then zeros */
    size_t hwid_len;             /* 64, or 8 on Turin */
    bool ask_revoked;
    int64_t crl_days;
} emu_snp_plat;
json_t *emu_snp_default(void);
/* Errors go to snp->err, naming the path ("snp.tcb.snp: ..."). */
vt_err emu_snp_plat_read(const vt_json_in *snp, emu_snp_plat *p);
vt_err emu_snp_init(const char *dir, const json_t *snp, vt_time at, vt_error *err);

/* Emulated NVIDIA GPUs (the optional "nvidia" section): device PKI and per-GPU keys. */
json_t *emu_nvidia_default(void);
vt_err emu_nvidia_init(const char *dir, const json_t *nvidia, vt_time at, vt_error *err);

/* The Arm CCA platform (the "cca" section). */
json_t *emu_cca_default(void);
vt_err emu_cca_init(const char *dir, const json_t *cca, vt_time at, vt_error *err);
/* The platform instance id: 0x01 || SHA-256(CPAK public point). */
vt_err emu_cca_instance_id(EVP_PKEY *cpak, uint8_t out[33], vt_error *err);

/* Azure CVM pieces (emu_azure.c), shared by the software-quote path and the swtpm-backed CVM
 * (emu_azure_cvm.c): the runtime claims with the AK and user-data, the hardware report area
 * (SNP report or TDREPORT; quote receives the TD quote), the HCL report of `size` bytes, the VCEK. */
vt_err emu_az_runtime_claims(EVP_PKEY *ak, const uint8_t *nonce, size_t nl, char **out, vt_error *err);
vt_err emu_az_hardware(vt_emu *e, vt_emu_az_kind kind, const uint8_t rd[64], uint8_t hw[1184], vt_buf *quote,
                       vt_error *err);
void emu_az_hcl(vt_emu_az_kind kind, const uint8_t hw[1184], const char *var, size_t vl, uint8_t *h, size_t size);
vt_err emu_az_vcek_der(vt_emu *e, vt_buf *out, vt_error *err);

#endif
