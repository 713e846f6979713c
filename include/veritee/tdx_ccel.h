/* TDX CC event log (ACPI CCEL table + TCG crypto-agile event log) and RTMR replay.
 * Follows the TCG PC Client Platform Firmware Profile (event formats) and the Intel TDX
 * guest-host communication interface / UEFI CC measurement protocol (MR index 1..4 =
 * RTMR0..3). */
#ifndef VERITEE_TDX_CCEL_H
#define VERITEE_TDX_CCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/reader.h"

VT_BEGIN_DECLS

#define VT_TDX_RTMR_COUNT 4
#define VT_TDX_ALG_SHA384 0x000c
#define VT_TCG_EV_NO_ACTION 0x00000003u

/* ACPI "CCEL" table (56 bytes). */
typedef struct vt_tdx_ccel_table {
    uint8_t revision;
    uint8_t cc_type;    /* 2 = TDX */
    uint8_t cc_subtype;
    uint64_t log_area_min_len;
    uint64_t log_area_start;
} vt_tdx_ccel_table;

/* One event of the log. data points into the log buffer. */
typedef struct vt_tdx_ccel_event {
    size_t index;       /* position in the log, 0 = the Spec ID event */
    size_t offset;      /* byte offset of the event */
    uint32_t mr_index;  /* CC MR index: 0 MRTD, 1..4 RTMR0..3 */
    uint32_t event_type;
    bool has_sha384;
    uint8_t sha384[48];
    vt_bytes data;
} vt_tdx_ccel_event;

/* Return non-zero (a vt_err) from the callback to stop with that error. */
typedef vt_err (*vt_tdx_ccel_cb)(const vt_tdx_ccel_event *ev, void *ctx, vt_error *err);

VT_MUST_USE vt_err vt_tdx_ccel_table_parse(const uint8_t *p, size_t len, vt_tdx_ccel_table *out,
                               vt_error *err);
/* Walk every event (stops at the end marker: 0xFF or zero filler). */
VT_MUST_USE vt_err vt_tdx_ccel_iterate(const uint8_t *log, size_t len, vt_tdx_ccel_cb cb, void *ctx,
                           vt_error *err);
/* Replay the log: RTMR[i] = SHA-384(RTMR[i] || digest) from zero, for events with MR index
 * 1..4 (EV_NO_ACTION events are not extended). *events receives the number of events. */
VT_MUST_USE vt_err vt_tdx_ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[VT_TDX_RTMR_COUNT][48],
                          size_t *events, vt_error *err);

VT_END_DECLS

#endif
