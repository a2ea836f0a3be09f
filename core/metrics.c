/*
 * core/metrics.c - the metric registry behind /metrics (see metrics.h).
 * Values are doubles updated with compare-and-swap so hot paths never lock;
 * the registry list itself is guarded by reg_lock.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rfx_metric {
	struct rfx_metric *next;
	enum rfx_metric_type type;
	char *name, *help, *labels;
	double (*fn)(void *arg); /* gauge read at scrape time, or NULL */
	void *fn_arg;
	uint64_t bits; /* the double value, accessed atomically */
};

static const double hist_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				     0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define HIST_N (sizeof(hist_bounds) / sizeof(hist_bounds[0]))

struct rfx_histogram {
	struct rfx_histogram *next;
	char *name, *help, *labels;
	uint64_t buckets[HIST_N + 1]; /* atomic counters, last is +Inf */
	uint64_t count;
	uint64_t sum_bits;
};

/* Guards the two registry lists (not the values). */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rfx_metric *metrics;
static struct rfx_histogram *histograms;

static double bits_to_double(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static void atomic_add_double(uint64_t *bits, double v)
{
	uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED), nv;
	do {
		nv = double_to_bits(bits_to_double(old) + v);
	} while (!__atomic_compare_exchange_n(bits, &old, nv, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static struct rfx_metric *metric_new(enum rfx_metric_type type, const char *name,
				     const char *help, const char *labels)
{
	struct rfx_metric *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->type = type;
	m->name = strdup(name);
	m->help = strdup(help ? help : "");
	m->labels = strdup(labels ? labels : "");
	if (!m->name || !m->help || !m->labels) {
		free(m->name);
		free(m->help);
		free(m->labels);
		free(m);
		return NULL;
	}
	return m;
}

rfx_metric *rfx_metric_get(enum rfx_metric_type type, const char *name, const char *help,
			   const char *labels)
{
	struct rfx_metric *m;

	pthread_mutex_lock(&reg_lock);
	for (m = metrics; m; m = m->next)
		if (!m->fn && strcmp(m->name, name) == 0 && same(m->labels, labels))
			goto out;
	m = metric_new(type, name, help, labels);
	if (m) {
		m->next = metrics;
		metrics = m;
	}
out:
	pthread_mutex_unlock(&reg_lock);
	return m;
}

void rfx_metric_add(rfx_metric *m, double v)
{
	if (m)
		atomic_add_double(&m->bits, v);
}

void rfx_metric_set(rfx_metric *m, double v)
{
	if (m)
		__atomic_store_n(&m->bits, double_to_bits(v), __ATOMIC_RELAXED);
}

double rfx_metric_value(const rfx_metric *m)
{
	return m ? bits_to_double(__atomic_load_n(&m->bits, __ATOMIC_RELAXED)) : 0;
}

rfx_histogram *rfx_histogram_get(const char *name, const char *help, const char *labels)
{
	struct rfx_histogram *h;

	pthread_mutex_lock(&reg_lock);
	for (h = histograms; h; h = h->next)
		if (strcmp(h->name, name) == 0 && same(h->labels, labels))
			goto out;
	h = calloc(1, sizeof(*h));
	if (h) {
		h->name = strdup(name);
		h->help = strdup(help ? help : "");
		h->labels = strdup(labels ? labels : "");
		if (!h->name || !h->help || !h->labels) {
			free(h->name);
			free(h->help);
			free(h->labels);
			free(h);
			h = NULL;
			goto out;
		}
		h->next = histograms;
		histograms = h;
	}
out:
	pthread_mutex_unlock(&reg_lock);
	return h;
}

void rfx_histogram_observe(rfx_histogram *h, double seconds)
{
	size_t i = 0;

	if (!h)
		return;
	while (i < HIST_N && seconds > hist_bounds[i])
		i++;
	__atomic_add_fetch(&h->buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
	atomic_add_double(&h->sum_bits, seconds);
}

void rfx_metrics_gauge_fn(const char *name, const char *help, const char *labels,
			  double (*fn)(void *arg), void *arg)
{
	struct rfx_metric *m = metric_new(RFX_METRIC_GAUGE, name, help, labels);
	if (!m)
		return;
	m->fn = fn;
	m->fn_arg = arg;
	pthread_mutex_lock(&reg_lock);
	m->next = metrics;
	metrics = m;
	pthread_mutex_unlock(&reg_lock);
}

static void metric_free(struct rfx_metric *m)
{
	free(m->name);
	free(m->help);
	free(m->labels);
	free(m);
}

void rfx_metrics_gauge_fn_remove(void *arg)
{
	pthread_mutex_lock(&reg_lock);
	for (struct rfx_metric **pp = &metrics; *pp;) {
		struct rfx_metric *m = *pp;
		if (m->fn && m->fn_arg == arg) {
			*pp = m->next;
			metric_free(m);
		} else {
			pp = &m->next;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

static void render_value(rfx_buf *out, const char *name, const char *suffix,
			 const char *labels, const char *extra, double v)
{
	bool any = (labels && *labels) || extra;
	rfx_buf_printf(out, "%s%s", name, suffix);
	if (any)
		rfx_buf_printf(out, "{%s%s%s}", labels ? labels : "",
			       labels && *labels && extra ? "," : "", extra ? extra : "");
	rfx_buf_printf(out, " %.17g\n", v);
}

/* Families are printed together: HELP/TYPE once per name. The registry is
 * small (tens of entries), so the quadratic grouping is fine. */
void rfx_metrics_render(rfx_buf *out)
{
	pthread_mutex_lock(&reg_lock);
	for (struct rfx_metric *m = metrics; m; m = m->next) {
		bool first = true;
		for (struct rfx_metric *p = metrics; p != m; p = p->next)
			if (strcmp(p->name, m->name) == 0)
				first = false;
		if (!first)
			continue;
		rfx_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
			       m->type == RFX_METRIC_COUNTER ? "counter" : "gauge");
		for (struct rfx_metric *p = m; p; p = p->next) {
			if (strcmp(p->name, m->name) != 0)
				continue;
			double v = p->fn ? p->fn(p->fn_arg) : rfx_metric_value(p);
			render_value(out, p->name, "", p->labels, NULL, v);
		}
	}
	for (struct rfx_histogram *h = histograms; h; h = h->next) {
		bool first = true;
		for (struct rfx_histogram *p = histograms; p != h; p = p->next)
			if (strcmp(p->name, h->name) == 0)
				first = false;
		if (first)
			rfx_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help,
				       h->name);
		uint64_t cum = 0;
		char le[48];
		for (size_t i = 0; i <= HIST_N; i++) {
			cum += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
			if (i < HIST_N)
				snprintf(le, sizeof(le), "le=\"%g\"", hist_bounds[i]);
			else
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			render_value(out, h->name, "_bucket", h->labels, le, (double)cum);
		}
		render_value(out, h->name, "_sum", h->labels, NULL,
			     bits_to_double(__atomic_load_n(&h->sum_bits, __ATOMIC_RELAXED)));
		render_value(out, h->name, "_count", h->labels, NULL,
			     (double)__atomic_load_n(&h->count, __ATOMIC_RELAXED));
	}
	pthread_mutex_unlock(&reg_lock);
}

void rfx_metrics_shutdown(void)
{
	pthread_mutex_lock(&reg_lock);
	while (metrics) {
		struct rfx_metric *m = metrics;
		metrics = m->next;
		metric_free(m);
	}
	while (histograms) {
		struct rfx_histogram *h = histograms;
		histograms = h->next;
		free(h->name);
		free(h->help);
		free(h->labels);
		free(h);
	}
	pthread_mutex_unlock(&reg_lock);
}
