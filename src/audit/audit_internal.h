/* The audit chain's one link check, shared by verification (chain.c) and archives (archive.c). */
#ifndef VT_AUDIT_INTERNAL_H
#define VT_AUDIT_INTERNAL_H

#include "veritee/audit.h"

/* How record r joins the chain after record expect - 1, whose hash is prev. */
typedef enum audit_link {
    AUDIT_LINK_OK,
    AUDIT_LINK_SEQ,  /* r is not record `expect` */
    AUDIT_LINK_PREV, /* its prev_hash is not prev */
    AUDIT_LINK_HASH, /* its hash does not recompute */
} audit_link;

/* Checks, in that order, r's seq, prev_hash and recomputed hash into *link; an error only when
 * the hash cannot be computed. */
vt_err audit_link_check(const vt_audit_record *r, int64_t expect, const uint8_t prev[VT_AUDIT_HASH_LEN],
                        audit_link *link, vt_error *err);

#endif
