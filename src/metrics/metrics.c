/* Metrics registry and Prometheus text exposition format 0.0.4 (prometheus.io, "Exposition
 * formats": HELP/TYPE lines, label value escaping, histogram _bucket{le}/_sum/_count). */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/metrics.h"
#include "veritee/writer.h"

typedef enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM } kind;

typedef struct series {
    char *values[VT_METRIC_MAX_LABELS];
    double value; /* counter/gauge; histogram sum */
    uint64_t count;
    uint64_t buckets[VT_METRIC_MAX_BUCKETS]; /* cumulative at render time */
} series;

struct vt_metric {
    vt_metrics *reg;
    kind type;
    char *name, *help;
    size_t nlabels;
    char *labels[VT_METRIC_MAX_LABELS];
    double bounds[VT_METRIC_MAX_BUCKETS];
    size_t nbounds;
    series *s;
    size_t ns;
};

struct vt_metrics {
    pthread_mutex_t mu;
    vt_metric **f;
    size_t nf;
};

static const double DEFAULT_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

vt_metrics *vt_metrics_new(void)
{
    vt_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void family_free(vt_metric *f)
{
    for (size_t i = 0; i < f->ns; i++)
        for (size_t j = 0; j < f->nlabels; j++) free(f->s[i].values[j]);
    for (size_t j = 0; j < f->nlabels; j++) free(f->labels[j]);
    free(f->s);
    free(f->name);
    free(f->help);
    free(f);
}

void vt_metrics_free(vt_metrics *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < m->nf; i++) family_free(m->f[i]);
    free(m->f);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool name_ok(const char *n, bool label)
{
    if (n == NULL || *n == 0) return false;
    for (const char *p = n; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (!label && *p == ':');
        if (!alpha && !(p != n && *p >= '0' && *p <= '9')) return false;
    }
    return true;
}

static bool split_labels(vt_metric *f, const char *labels)
{
    if (labels == NULL || *labels == 0) return true;
    const char *p = labels;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (f->nlabels == VT_METRIC_MAX_LABELS) return false;
        char *l = strndup(p, n);
        if (l == NULL) return false;
        f->labels[f->nlabels++] = l;
        if (!name_ok(l, true) || strcmp(l, "le") == 0) return false;
        p += n;
        if (*p == ',') p++;
    }
    return true;
}

static bool same_shape(const vt_metric *f, kind type, const vt_metric *g)
{
    if (f->type != type || f->nlabels != g->nlabels) return false;
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i], g->labels[i]) != 0) return false;
    return true;
}

static vt_metric *add_family(vt_metrics *m, kind type, const char *name, const char *help,
                             const char *labels, const double *bounds, size_t nb)
{
    if (m == NULL || !name_ok(name, false) || nb > VT_METRIC_MAX_BUCKETS) return NULL;
    vt_metric *f = calloc(1, sizeof *f);
    if (f == NULL) return NULL;
    f->reg = m;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : name);
    bool ok = f->name && f->help && split_labels(f, labels);
    for (size_t i = 0; ok && i < nb; i++) {
        ok = isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]);
        f->bounds[i] = bounds[i];
    }
    f->nbounds = nb;
    if (!ok) {
        family_free(f);
        return NULL;
    }
    pthread_mutex_lock(&m->mu);
    vt_metric *ret = f;
    for (size_t i = 0; i < m->nf; i++)
        if (strcmp(m->f[i]->name, name) == 0) {
            ret = same_shape(m->f[i], type, f) ? m->f[i] : NULL;
            family_free(f);
            f = NULL;
            break;
        }
    if (f) {
        vt_metric **nfam = realloc(m->f, (m->nf + 1) * sizeof *nfam);
        if (nfam == NULL) {
            family_free(f);
            ret = NULL;
        } else {
            m->f = nfam;
            m->f[m->nf++] = f;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return ret;
}

vt_metric *vt_metrics_counter(vt_metrics *m, const char *name, const char *help, const char *labels)
{
    return add_family(m, K_COUNTER, name, help, labels, NULL, 0);
}

vt_metric *vt_metrics_gauge(vt_metrics *m, const char *name, const char *help, const char *labels)
{
    return add_family(m, K_GAUGE, name, help, labels, NULL, 0);
}

vt_metric *vt_metrics_histogram(vt_metrics *m, const char *name, const char *help, const char *labels,
                                const double *bounds, size_t nbounds)
{
    if (bounds == NULL) {
        bounds = DEFAULT_BOUNDS;
        nbounds = sizeof DEFAULT_BOUNDS / sizeof DEFAULT_BOUNDS[0];
    }
    return add_family(m, K_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* Finds or creates the series; caller holds the registry lock. */
static series *find_series(vt_metric *f, const char *const *values)
{
    for (size_t i = 0; i < f->ns; i++) {
        size_t j = 0;
        while (j < f->nlabels && strcmp(f->s[i].values[j], values[j] ? values[j] : "") == 0) j++;
        if (j == f->nlabels) return &f->s[i];
    }
    if (f->ns >= VT_METRIC_MAX_SERIES) return NULL;
    series *ns = realloc(f->s, (f->ns + 1) * sizeof *ns);
    if (ns == NULL) return NULL;
    f->s = ns;
    series *s = &f->s[f->ns];
    memset(s, 0, sizeof *s);
    for (size_t j = 0; j < f->nlabels; j++) {
        s->values[j] = strdup(values && values[j] ? values[j] : "");
        if (s->values[j] == NULL) {
            for (size_t k = 0; k < j; k++) free(s->values[k]);
            return NULL;
        }
    }
    f->ns++;
    return s;
}

static void update(vt_metric *f, const char *const *values, kind want, int op, double v)
{
    if (f == NULL || (f->type != want && !(want == K_COUNTER && f->type == K_GAUGE))) return;
    if (f->nlabels && values == NULL) return;
    if (f->type == K_COUNTER && v < 0) return; /* counters only go up */
    pthread_mutex_lock(&f->reg->mu);
    series *s = find_series(f, values);
    if (s != NULL) {
        if (op == 0) s->value += v;
        else if (op == 1) s->value = v;
        else {
            s->value += v;
            s->count++;
            for (size_t i = 0; i < f->nbounds; i++)
                if (v <= f->bounds[i]) {
                    s->buckets[i]++;
                    break;
                }
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
}

void vt_metric_inc(vt_metric *f, const char *const *values, double by)
{
    update(f, values, K_COUNTER, 0, by);
}

void vt_metric_set(vt_metric *f, const char *const *values, double v)
{
    update(f, values, K_GAUGE, 1, v);
}

void vt_metric_observe(vt_metric *f, const char *const *values, double v)
{
    update(f, values, K_HISTOGRAM, 2, v);
}

double vt_metric_value(vt_metric *f, const char *const *values)
{
    if (f == NULL || (f->nlabels && values == NULL)) return 0;
    double v = 0;
    pthread_mutex_lock(&f->reg->mu);
    for (size_t i = 0; i < f->ns; i++) {
        size_t j = 0;
        while (j < f->nlabels && strcmp(f->s[i].values[j], values[j] ? values[j] : "") == 0) j++;
        if (j == f->nlabels) v = f->type == K_HISTOGRAM ? (double)f->s[i].count : f->s[i].value;
    }
    pthread_mutex_unlock(&f->reg->mu);
    return v;
}

/* ---- rendering ---- */

typedef vt_writer out; /* the exposition text */

static void emit(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_write_vfmt(o, fmt, ap);
    va_end(ap);
}

/* HELP text escapes \ and newline; label values also escape ". */
static void emit_escaped(out *o, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') emit(o, "\\\\");
        else if (*s == '\n') emit(o, "\\n");
        else if (quote && *s == '"') emit(o, "\\\"");
        else emit(o, "%c", *s);
    }
}

/* Shortest %g form that reads back as the same double ("0.0025", not 0.0025000000000000001). */
static void shortest(char *buf, size_t cap, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static void emit_num(out *o, double v)
{
    char buf[40];
    if (isnan(v)) emit(o, "NaN");
    else if (isinf(v)) emit(o, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) emit(o, "%.0f", v);
    else {
        shortest(buf, sizeof buf, v);
        emit(o, "%s", buf);
    }
}

static void emit_labels(out *o, const vt_metric *f, const series *s, const char *le)
{
    if (f->nlabels == 0 && le == NULL) return;
    emit(o, "{");
    for (size_t j = 0; j < f->nlabels; j++) {
        emit(o, "%s%s=\"", j ? "," : "", f->labels[j]);
        emit_escaped(o, s->values[j], true);
        emit(o, "\"");
    }
    if (le) emit(o, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    emit(o, "}");
}

static void render_family(out *o, const vt_metric *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    emit(o, "# HELP %s ", f->name);
    emit_escaped(o, f->help, false);
    emit(o, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    if (f->ns == 0 && f->nlabels == 0 && f->type != K_HISTOGRAM) emit(o, "%s 0\n", f->name);
    for (size_t i = 0; i < f->ns; i++) {
        const series *s = &f->s[i];
        if (f->type != K_HISTOGRAM) {
            emit(o, "%s", f->name);
            emit_labels(o, f, s, NULL);
            emit(o, " ");
            emit_num(o, s->value);
            emit(o, "\n");
            continue;
        }
        uint64_t cum = 0;
        for (size_t b = 0; b < f->nbounds; b++) {
            char le[40];
            cum += s->buckets[b];
            if (f->bounds[b] == floor(f->bounds[b])) snprintf(le, sizeof le, "%.1f", f->bounds[b]);
            else shortest(le, sizeof le, f->bounds[b]);
            emit(o, "%s_bucket", f->name);
            emit_labels(o, f, s, le);
            emit(o, " %llu\n", (unsigned long long)cum);
        }
        emit(o, "%s_bucket", f->name);
        emit_labels(o, f, s, "+Inf");
        emit(o, " %llu\n%s_sum", (unsigned long long)s->count, f->name);
        emit_labels(o, f, s, NULL);
        emit(o, " ");
        emit_num(o, s->value);
        emit(o, "\n%s_count", f->name);
        emit_labels(o, f, s, NULL);
        emit(o, " %llu\n", (unsigned long long)s->count);
    }
}

vt_err vt_metrics_render(vt_metrics *m, vt_buf *res, vt_error *err)
{
    out o;
    vt_writer_init(&o, "metrics", NULL);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nf; i++) render_family(&o, m->f[i]);
    pthread_mutex_unlock(&m->mu);
    if (vt_writer_take(&o, &res->ptr, &res->len) != VT_OK)
        return vt_error_set(err, VT_E_NOMEM, "metrics", "out of memory");
    return VT_OK;
}

vt_err vt_metrics_std(vt_metrics *m, vt_std_metrics *s, vt_error *err)
{
    static const double attest_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    s->attestation_duration = vt_metrics_histogram(
        m, "tee_attestation_duration_seconds", "Time to verify and appraise one attestation.", "tee",
        attest_bounds, sizeof attest_bounds / sizeof attest_bounds[0]);
    s->attestation_total = vt_metrics_counter(m, "tee_attestation_total",
                                              "Attestations by TEE and result (affirming, warning, contraindicated, error).",
                                              "tee,result");
    s->key_releases = vt_metrics_counter(m, "tee_key_release_total", "Resources released to attested guests.", "tee");
    s->key_denials = vt_metrics_counter(m, "tee_key_denied_total",
                                        "Resource requests refused (reason: token, policy, revoked, missing).", "reason");
    s->active_sessions = vt_metrics_gauge(m, "veritee_active_sessions", "Live KBS sessions.", NULL);
    s->http_duration = vt_metrics_histogram(m, "veritee_http_request_duration_seconds",
                                            "HTTP request latency by method, route and status code.",
                                            "method,route,code", NULL, 0);
    s->http_rate_limited = vt_metrics_counter(m, "veritee_http_rate_limited_total",
                                              "Requests refused by the per-client rate limit.", NULL);
    s->admin_requests = vt_metrics_counter(m, "veritee_admin_requests_total", "Admin API requests by action and result.",
                                           "action,result");
    s->audit_failures = vt_metrics_counter(m, "veritee_audit_append_failures_total",
                                           "Audit records that could not be written.", NULL);
    s->unauthenticated = vt_metrics_counter(m, "veritee_unauthenticated_total",
                                            "Requests refused for want of valid credentials, by endpoint (admin, resource, attest).",
                                            "endpoint");
    s->store_flushes = vt_metrics_counter(m, "veritee_store_flushes_total",
                                          "Disk flushes of the store (SQLite: fdatasync of its WAL, shared by concurrent durable writes).",
                                          NULL);
    s->audit_records = vt_metrics_gauge(m, "veritee_audit_records",
                                        "Audit records in the store, after its archive base (veritee audit archive moves the "
                                        "oldest out).",
                                        NULL);
    if (!s->attestation_duration || !s->attestation_total || !s->key_releases || !s->key_denials ||
        !s->active_sessions || !s->http_duration || !s->http_rate_limited || !s->admin_requests ||
        !s->audit_failures || !s->unauthenticated || !s->store_flushes || !s->audit_records)
        return vt_error_set(err, VT_E_INTERNAL, "metrics", "cannot register the standard metrics");
    return VT_OK;
}

/* ---- as JSON (the console's dashboard) ---- */

static json_t *text_json(const char *text, size_t len)
{
    json_t *o = json_object();
    const char *p = text, *end = text + len;
    while (o && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (*p != '#' && le > p) {
            const char *q = p;
            while (q < le && *q != '{' && *q != ' ') q++;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
            json_t *labels = json_object();
            if (q < le && *q == '{') {
                q++;
                while (q < le && *q != '}') {
                    const char *eq = memchr(q, '=', (size_t)(le - q));
                    if (eq == NULL || eq + 1 >= le || eq[1] != '"') break;
                    char lk[64], lv[256];
                    snprintf(lk, sizeof lk, "%.*s", (int)(eq - q), q);
                    const char *vs = eq + 2, *ve = vs;
                    size_t o2 = 0;
                    while (ve < le && *ve != '"') {
                        if (*ve == '\\' && ve + 1 < le) ve++;
                        if (o2 + 1 < sizeof lv) lv[o2++] = *ve;
                        ve++;
                    }
                    lv[o2] = 0;
                    json_object_set_new(labels, lk, json_string(lv));
                    q = ve + 1;
                    if (q < le && *q == ',') q++;
                }
                if (q < le) q++;
            }
            while (q < le && *q == ' ') q++;
            char num[64];
            snprintf(num, sizeof num, "%.*s", (int)(le - q), q);
            size_t nl2 = strlen(name);
            if (nl2 < 7 || strcmp(name + nl2 - 7, "_bucket") != 0) {
                json_t *arr = json_object_get(o, name);
                if (arr == NULL) {
                    arr = json_array();
                    json_object_set_new(o, name, arr);
                }
                json_array_append_new(arr, json_pack("{so sf}", "labels", labels, "value", strtod(num, NULL)));
                labels = NULL;
            }
            json_decref(labels);
        }
        p = le + 1;
    }
    return o;
}

vt_err vt_metrics_json(vt_metrics *m, json_t **res, vt_error *err)
{
    vt_buf b = {0};
    *res = NULL;
    VT_GUARD(vt_metrics_render(m, &b, err));
    *res = text_json((const char *)b.ptr, b.len);
    vt_buf_free(&b);
    return *res ? VT_OK : vt_error_set(err, VT_E_NOMEM, "metrics", "out of memory");
}
