/* The web console (docs/console.md): static assets built into the binary, and the explorer's
 * analysis of one piece of evidence as JSON (decoded fields, named checks, chain of trust, TCB,
 * policy appraisal). Transport-free: the HTTP routes are the server's (src/server/ui_routes.c);
 * `veritee verify --html` writes the same view as one file. Nothing here keeps what it is given. */
#ifndef VERITEE_UI_H
#define VERITEE_UI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/verify.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_UI_EXPLORE_MAX_BODY (4u << 20) /* POST /api/v1/explore body limit */
#define VT_UI_EVIDENCE_MAX (1u << 20)     /* decoded evidence bytes at most */

/* One built-in file of ui/. */
typedef struct vt_ui_asset {
    const char *path;         /* "/index.html", "/js/explorer.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} vt_ui_asset;

/* The asset served at a request path ("/" and "/ui" are "/index.html"), NULL when none. */
const vt_ui_asset *vt_ui_asset_find(const char *path);
/* The Content-Security-Policy every console response carries: no inline script or style, no
 * framing, nothing from another origin. */
const char *vt_ui_csp(void);

/* What an explore request may carry besides the evidence. */
typedef struct vt_ui_explore_in {
    const char *tee;           /* NULL: detect */
    vt_time at;                /* the verification instant */
    const uint8_t *nonce;      /* expected report data (policy appraisal), may be NULL */
    size_t nonce_len;
    const char *policy_text;   /* attestation policy JSON, may be NULL */
    const char *refvals_text;  /* reference values JSON, may be NULL */
} vt_ui_explore_in;

/* Analyzes evidence: {"tee","size","decoded":{...},"verification":{"result","error","checks"},
 * "claims", "chain":[...], "tcb":{...}, "appraisal":{...}} (docs/console.md). Decoding is done
 * even when verification fails; a parse failure is reported in "decode_error". *out owned. */
VT_MUST_USE vt_err vt_ui_analyze(const vt_verify_sources *s, const vt_ui_explore_in *in, const uint8_t *ev, size_t len,
                     json_t **out, vt_error *err);

/* POST /api/v1/explore body {"evidence": base64, "tee"?, "at"?: RFC 3339, "nonce"?: hex,
 * "policy"?: object, "reference_values"?: object, "collateral"?: {"name": base64, ...}}:
 * validates it, writes given collateral files into a private temporary directory removed
 * before returning, and analyzes. now is the instant used when "at" is absent. *status
 * receives the HTTP status (200, 400 or 413) and *out the analysis or a problem body. */
vt_err vt_ui_explore(const vt_verify_sources *s, const uint8_t *body, size_t len, vt_time now, int *status,
                     json_t **out, vt_error *err);

/* One self-contained HTML file showing an analysis (the explorer's view, no server needed). */
VT_MUST_USE vt_err vt_ui_html_report(const json_t *analysis, vt_buf *out, vt_error *err);

VT_END_DECLS

#endif
