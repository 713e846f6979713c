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
/* A span of time as a count and one unit: "90s", "90m", "12h", "30d", "2w" (seconds, minutes,
 * hours, days, weeks). Strict: ASCII digits then exactly one unit letter, nothing else (no sign,
 * space, fraction or second unit); zero is refused, and so is a span longer than
 * VT_DURATION_MAX (never an overflow). VT_E_INVALID names what is wrong. */
#define VT_DURATION_MAX ((int64_t)36525 * 86400) /* 100 years of 365.25 days, in seconds */
VT_MUST_USE vt_err vt_duration_parse(const char *s, int64_t *seconds, vt_error *err);
/* Days since epoch for a civil date (proleptic Gregorian). */
int64_t vt_days_from_civil(int64_t y, unsigned m, unsigned d);

VT_END_DECLS

#endif
