/* The emulated TEE: a test PKI per TEE that mirrors the vendor's, collateral in the real
 * layouts, and evidence in exactly the real formats, signed by the emulated keys. Its roots
 * are never trusted by default: a verifier accepts emulated evidence only when given the
 * emulator's trust directory, and the claims then say `emulated`. See docs/emulate.md. */
#ifndef VERITEE_EMULATE_H
#define VERITEE_EMULATE_H

#include <jansson.h>
#include <stdint.h>

#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/vtime.h"
#include "veritee/x509.h"

/* Subject organisation of every emulated root and CA: how a verifier recognises it. */
#define VT_EMU_ORGANIZATION VT_EMULATED_ORGANIZATION

typedef struct vt_emu vt_emu;

/* Create DIR (platform.json, keys/, trust/, collateral/) from a platform description (JSON
 * text; NULL = the built-in default), with certificates and collateral valid around `at`. */
vt_err vt_emu_init(const char *dir, const char *platform_json, vt_time at, vt_error *err);

/* Open an emulator directory made by vt_emu_init. */
vt_err vt_emu_open(const char *dir, vt_emu **out, vt_error *err);
void vt_emu_free(vt_emu *e);
/* The platform description (borrowed). */
const json_t *vt_emu_platform(const vt_emu *e);
const char *vt_emu_dir(const vt_emu *e);

/* A TDX quote (version 4 or 5; 0 = the platform's "quote_version") over report_data. */
vt_err vt_emu_tdx_quote(vt_emu *e, const uint8_t report_data[64], int version, vt_buf *out, vt_error *err);

/* The default platform description (owned JSON). */
json_t *vt_emu_default_platform(void);

#endif
