/* Time as signed seconds since the Unix epoch (UTC). The library never reads the clock:
 * callers pass the verification instant, so every verification can be replayed. */
#ifndef VERITEE_VTIME_H
#define VERITEE_VTIME_H

#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

typedef int64_t vt_time;

/* RFC 3339 date-time ("2025-07-19T10:00:34Z", fractional seconds and offsets accepted). */
VT_MUST_USE vt_err vt_time_parse_rfc3339(const char *s, vt_time *out, vt_error *err);
/* Writes "YYYY-MM-DDThh:mm:ssZ" into out (needs 21 bytes). */
void vt_time_format(vt_time t, char out[21]);
/* Days since epoch for a civil date (proleptic Gregorian). */
int64_t vt_days_from_civil(int64_t y, unsigned m, unsigned d);

VT_END_DECLS

#endif
