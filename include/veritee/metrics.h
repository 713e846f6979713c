/* A small metrics registry (counters, gauges, histograms with labels) rendered in the
 * Prometheus text exposition format 0.0.4. One registry instance is passed around; no
 * globals. Thread-safe. */
#ifndef VERITEE_METRICS_H
#define VERITEE_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

typedef struct vt_metrics vt_metrics;
typedef struct vt_metric vt_metric; /* one metric family */

#define VT_METRIC_MAX_LABELS 4
#define VT_METRIC_MAX_SERIES 512 /* per family; further label combinations are dropped */
#define VT_METRIC_MAX_BUCKETS 24

vt_metrics *vt_metrics_new(void);
void vt_metrics_free(vt_metrics *m);

/* Families. name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: comma-separated label names or NULL.
 * Registering an existing name returns the existing family when it has the same type and
 * labels, else NULL. The registry owns the family. */
vt_metric *vt_metrics_counter(vt_metrics *m, const char *name, const char *help, const char *labels);
vt_metric *vt_metrics_gauge(vt_metrics *m, const char *name, const char *help, const char *labels);
/* bounds: increasing upper bounds (the +Inf bucket is implicit); NULL uses the default
 * latency buckets 5 ms .. 10 s. */
vt_metric *vt_metrics_histogram(vt_metrics *m, const char *name, const char *help, const char *labels,
                                const double *bounds, size_t nbounds);

/* values: one string per label (NULL when the family has no labels). NULL metric: no-op. */
void vt_metric_inc(vt_metric *f, const char *const *values, double by);  /* counter, gauge */
void vt_metric_set(vt_metric *f, const char *const *values, double v);   /* gauge */
void vt_metric_observe(vt_metric *f, const char *const *values, double v); /* histogram */
/* Current value of a counter/gauge series (0 when absent) or a histogram's count. */
double vt_metric_value(vt_metric *f, const char *const *values);

/* Text exposition of every family (HELP, TYPE, samples), into an owned buffer. */
VT_MUST_USE vt_err vt_metrics_render(vt_metrics *m, vt_buf *out, vt_error *err);
/* The same families as JSON {"name": [{"labels": {...}, "value": n}, ...]} (histogram buckets
 * left out; _sum and _count kept): what the console's dashboard reads. *out owned. */
VT_MUST_USE vt_err vt_metrics_json(vt_metrics *m, json_t **out, vt_error *err);

/* The service's standard metrics (names used by packaging/ alert rules and dashboard). */
typedef struct vt_std_metrics {
    vt_metric *attestation_duration; /* tee_attestation_duration_seconds{tee} histogram */
    vt_metric *attestation_total;    /* tee_attestation_total{tee,result} counter */
    vt_metric *key_releases;         /* tee_key_release_total{tee} counter */
    vt_metric *key_denials;          /* tee_key_denied_total{reason} counter */
    vt_metric *active_sessions;      /* veritee_active_sessions gauge */
    vt_metric *http_duration;        /* veritee_http_request_duration_seconds{method,route,code} */
    vt_metric *http_rate_limited;    /* veritee_http_rate_limited_total counter */
    vt_metric *admin_requests;       /* veritee_admin_requests_total{action,result} counter */
    vt_metric *audit_failures;       /* veritee_audit_append_failures_total counter */
    vt_metric *unauthenticated;      /* veritee_unauthenticated_total{endpoint} counter */
    vt_metric *store_flushes;        /* veritee_store_flushes_total counter */
    vt_metric *audit_records;        /* veritee_audit_records gauge */
} vt_std_metrics;

VT_MUST_USE vt_err vt_metrics_std(vt_metrics *m, vt_std_metrics *out, vt_error *err);

VT_END_DECLS

#endif
