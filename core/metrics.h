/*
 * core/metrics.h - counters and gauges exported at /metrics in the
 * Prometheus text format. A metric is a name, a help text and a set of
 * label pairs; registering the same name+labels twice returns the same
 * metric. Updates are lock-free (atomics); registration takes a lock.
 */
#ifndef RFX_CORE_METRICS_H
#define RFX_CORE_METRICS_H

#include <stdint.h>
#include <reflex/plugin.h>
#include "buf.h"

enum rfx_metric_type { RFX_METRIC_COUNTER, RFX_METRIC_GAUGE };

/* labels: "key=\"value\",key2=\"v\"" already escaped, or NULL. Returns a
 * metric owned by the registry (valid until rfx_metrics_shutdown). */
rfx_metric *rfx_metric_get(enum rfx_metric_type type, const char *name,
			   const char *help, const char *labels);
void rfx_metric_add(rfx_metric *m, double v);
void rfx_metric_set(rfx_metric *m, double v);
double rfx_metric_value(const rfx_metric *m);

/* A histogram with fixed buckets in seconds, for latencies. */
typedef struct rfx_histogram rfx_histogram;
rfx_histogram *rfx_histogram_get(const char *name, const char *help, const char *labels);
void rfx_histogram_observe(rfx_histogram *h, double seconds);

/* Gauges whose value is read when /metrics is scraped. */
void rfx_metrics_gauge_fn(const char *name, const char *help, const char *labels,
			  double (*fn)(void *arg), void *arg);
void rfx_metrics_gauge_fn_remove(void *arg);

/* Appends the whole registry in Prometheus text format 0.0.4. */
void rfx_metrics_render(rfx_buf *out);
void rfx_metrics_shutdown(void);

#endif
