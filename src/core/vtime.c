/* RFC 3339 parsing and formatting without the C library's time zone state. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "veritee/vtime.h"

/* Howard Hinnant's days_from_civil algorithm. */
int64_t vt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

vt_err vt_time_parse_rfc3339(const char *s, vt_time *out, vt_error *err)
{
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        goto bad;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 60 || d > days_in_month(y, mo))
        goto bad;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) goto bad;
        while (isdigit((unsigned char)*p)) p++;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        /* "+hh:mm" ends the string: nothing is read past its end (a cut "+0" was) */
        if (n - (size_t)(p - s) != 6 || p[3] != ':') goto bad;
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) goto bad;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        goto bad;
    }
    if (*p != '\0') goto bad;
    if (se == 60) se = 59; /* leap second: clamp, as X.509 time does */
    *out = vt_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    return VT_OK;
bad:
    return vt_error_set(err, VT_E_INVALID, "time", "not an RFC 3339 date-time: \"%.40s\"", s);
}

void vt_time_format(vt_time t, char out[21])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(out, 21, "%s", "out-of-range-time");
        return;
    }
    unsigned hh = (unsigned)(secs / 3600) % 24, mm = (unsigned)(secs / 60 % 60),
             ss = (unsigned)(secs % 60);
    /* digits by hand: snprintf was ~3,000 instructions a call, several calls per KBS round */
    unsigned yy = (unsigned)y;
    const unsigned v[5] = {m, d, hh, mm, ss};
    out[0] = (char)('0' + yy / 1000 % 10);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    static const char sep[5] = {'-', '-', 'T', ':', ':'};
    for (int i = 0; i < 5; i++) {
        out[4 + 3 * i] = sep[i];
        out[5 + 3 * i] = (char)('0' + v[i] / 10 % 10);
        out[6 + 3 * i] = (char)('0' + v[i] % 10);
    }
    out[19] = 'Z';
    out[20] = '\0';
}

vt_err vt_duration_parse(const char *s, int64_t *seconds, vt_error *err)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return vt_error_set(err, VT_E_INVALID, "duration", "duration '%s': want a number and a unit (s, m, h, d, w), "
                            "e.g. 30d", s ? s : "");
    int64_t n = 0;
    const char *p = s;
    /* the count alone may not pass the bound: a longer one is refused before it can overflow */
    for (; isdigit((unsigned char)*p); p++) {
        n = n * 10 + (*p - '0');
        if (n > VT_DURATION_MAX)
            return vt_error_set(err, VT_E_INVALID, "duration", "duration '%s': longer than 100 years", s);
    }
    int64_t unit = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (*p == units[i].unit) unit = units[i].seconds;
    if (unit == 0 || p[1] != '\0')
        return vt_error_set(err, VT_E_INVALID, "duration", "duration '%s': want a number and one unit (s, m, h, d, w), "
                            "e.g. 30d", s);
    if (n == 0) return vt_error_set(err, VT_E_INVALID, "duration", "duration '%s': zero", s);
    if (n > VT_DURATION_MAX / unit)
        return vt_error_set(err, VT_E_INVALID, "duration", "duration '%s': longer than 100 years", s);
    *seconds = n * unit;
    return VT_OK;
}
