/*
 * core/pipeline.c - ingress queue, store workers and output delivery
 * threads (see pipeline.h).
 *
 * Threads share nothing but the queues: an event travels by reference from
 * the input's thread through the ingress queue to a worker, which stores a
 * whole batch in one transaction, signals the acks and hands new references
 * to the output queues.
 */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"

#define STORE_ATTEMPTS 4 /* a failing batch is tried this often before its acks fail */

struct rfx_ack {
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	size_t pending;
	bool failed, freed;
};

/* An output as the workers see it: its deliverer and the count of events
 * its match: turned away. */
struct output {
	struct rfx_deliverer *d;
	const rfx_expr *match;
	char name[64];
	rfx_metric *m_filtered;
};

struct rfx_pipeline {
	struct rfx_pipeline_opts o;
	const rfx_store_ops *store;
	void *store_state;
	rfx_queue *ingress;
	pthread_t *workers;
	unsigned nworkers;
	struct output **outputs;
	size_t noutputs;
	bool durable; /* the store keeps an outbox */
	bool started;
	rfx_metric *m_stored, *m_store_failed, *m_shed;
	rfx_histogram *h_store;
};

/* ---- acks ----------------------------------------------------------------- */

rfx_ack *rfx_ack_new(void)
{
	rfx_ack *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	return a;
}

static void ack_destroy(rfx_ack *a)
{
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

static void ack_add(rfx_ack *a, size_t n)
{
	pthread_mutex_lock(&a->lock);
	a->pending += n;
	pthread_mutex_unlock(&a->lock);
}

/* One event of the ack is done (stored, or failed). */
static void ack_done(rfx_ack *a, bool ok)
{
	bool destroy;
	pthread_mutex_lock(&a->lock);
	if (!ok)
		a->failed = true;
	a->pending--;
	if (a->pending == 0)
		pthread_cond_broadcast(&a->cond);
	destroy = a->pending == 0 && a->freed;
	pthread_mutex_unlock(&a->lock);
	if (destroy)
		ack_destroy(a);
}

int rfx_ack_wait(rfx_ack *a, int64_t timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (!a)
		return RFX_EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&a->lock);
	while (a->pending > 0 && rc == 0)
		if (pthread_cond_timedwait(&a->cond, &a->lock, &dl) == ETIMEDOUT && a->pending > 0)
			rc = RFX_ETIMEDOUT;
	if (rc == 0 && a->failed)
		rc = RFX_EIO;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void rfx_ack_free(rfx_ack *a)
{
	bool destroy;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->freed = true;
	destroy = a->pending == 0;
	pthread_mutex_unlock(&a->lock);
	if (destroy)
		ack_destroy(a);
}

/* ---- emit ----------------------------------------------------------------- */

int rfx_pipeline_emit(struct rfx_pipeline *p, rfx_instance *inst, rfx_event **evs, size_t n,
		      rfx_ack *ack)
{
	struct rfx_queue_item stack[64], *items = stack;
	int64_t now = rfx_now_ns();
	int64_t timeout = p->o.block_timeout_ms;
	int rc;

	if (n == 0)
		return 0;
	if (n > 64 && !(items = malloc(n * sizeof(*items)))) {
		rc = RFX_ENOMEM;
		goto release;
	}
	bool all_sheddable = p->o.full_policy == RFX_FULL_DROP;
	for (size_t i = 0; i < n; i++) {
		rfx_event *ev = evs[i];
		/* A preset id is the plugin's own deterministic one (redelivery
		 * is then stored once); anything else gets a fresh ULID. */
		if (!rfx_event_id_valid(ev->id))
			rfx_event_id_new(ev->id);
		ev->received_ns = now;
		if (inst && inst->name)
			rfx_event_set(ev, RFX_F_SOURCE, inst->name);
		if (ev->severity <= p->o.drop_below)
			all_sheddable = false;
		items[i] = (struct rfx_queue_item){.ev = ev, .ack = ack};
	}
	if (ack)
		ack_add(ack, n);
	/* Shedding by severity: when the queue is full, a batch of only
	 * low-severity events is refused at once instead of waiting. */
	rc = rfx_queue_push(p->ingress, items, n, all_sheddable ? 0 : timeout);
	if (rc == RFX_EFULL && all_sheddable) {
		rfx_metric_add(p->m_shed, (double)n);
		rfx_log(RFX_LOG_WARNING, inst ? inst->component : "pipeline",
			"ingress queue full (%zu events): shed %zu events less severe than %s",
			rfx_queue_capacity(p->ingress), n, rfx_severity_name(p->o.drop_below));
	} else if (rc == RFX_EFULL) {
		rfx_log(RFX_LOG_WARNING, inst ? inst->component : "pipeline",
			"ingress queue full (%zu events) for %lld ms: refused %zu events; "
			"the sender was told to retry",
			rfx_queue_capacity(p->ingress), (long long)timeout, n);
	}
	if (rc == 0) {
		if (inst)
			rfx_metric_add(inst->m_in, (double)n);
	} else {
		if (inst)
			rfx_metric_add(inst->m_rejected, (double)n);
		if (ack) {
			/* nothing was queued: take the events back off the ack */
			pthread_mutex_lock(&ack->lock);
			ack->pending -= n;
			pthread_mutex_unlock(&ack->lock);
		}
	}
	if (items != stack)
		free(items);
	if (rc == 0)
		return 0;
release:
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
	return rc;
}

/* ---- workers --------------------------------------------------------------- */

static int store_batch(struct rfx_pipeline *p, rfx_event **evs, size_t n,
		       rfx_outbox_entry *entries, size_t m)
{
	int rc = RFX_EIO;
	int64_t backoff_ms = 100;

	for (int attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = p->durable ? p->store->put_batch(p->store_state, evs, n, entries, m)
				: p->store->put_events(p->store_state, evs, n);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rfx_histogram_observe(p->h_store, (double)(t1.tv_sec - t0.tv_sec) +
							  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (rc == 0)
			return 0;
		if (attempt + 1 == STORE_ATTEMPTS)
			break;
		rfx_log(RFX_LOG_WARNING, "pipeline",
			"store failed for a batch of %zu events (attempt %d of %d); retrying in %lld ms",
			n, attempt + 1, STORE_ATTEMPTS, (long long)backoff_ms);
		struct timespec ts = {backoff_ms / 1000, (backoff_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		backoff_ms *= 2;
	}
	return rc;
}

/* Adds an outbox entry for every output whose match holds for ev. */
static size_t route(struct rfx_pipeline *p, rfx_event *ev, rfx_outbox_entry *out,
		    struct output **to, int64_t now)
{
	size_t m = 0;

	for (size_t i = 0; i < p->noutputs; i++) {
		struct output *o = p->outputs[i];
		if (!rfx_expr_eval(o->match, ev)) {
			rfx_metric_add(o->m_filtered, 1);
			continue;
		}
		rfx_outbox_entry *e = &out[m];
		e->id = 0;
		snprintf(e->output, sizeof e->output, "%s", o->name);
		memcpy(e->event_id, ev->id, sizeof e->event_id);
		e->state = RFX_OUTBOX_PENDING;
		e->attempts = 0;
		e->created_ns = now;
		e->next_ns = now;
		e->last_error[0] = '\0';
		to[m++] = o;
	}
	return m;
}

/* Stores evs[0..n) with the outbox entries of those to forward, then signals
 * items' acks (items may be NULL) and hands the entries to the deliverers.
 * Returns whether the store committed. */
static bool commit(struct rfx_pipeline *p, rfx_event **evs, size_t n, const bool *forward,
		   struct rfx_queue_item *items, rfx_outbox_entry *entries, struct output **to,
		   rfx_event **entry_ev, int64_t now)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		/* the same preset id twice in a row: the store keeps one, and the
		 * second must not bring deliveries of its own */
		if (!forward[i] || (i > 0 && strcmp(evs[i]->id, evs[i - 1]->id) == 0))
			continue;
		size_t k = route(p, evs[i], entries + m, to + m, now);
		for (size_t e = 0; e < k; e++)
			entry_ev[m + e] = evs[i];
		m += k;
	}
	bool ok = store_batch(p, evs, n, entries, m) == 0;
	if (ok) {
		rfx_metric_add(p->m_stored, (double)n);
	} else {
		rfx_metric_add(p->m_store_failed, (double)n);
		rfx_log(RFX_LOG_ERROR, "pipeline",
			"store unavailable: %zu events not stored; their senders were told "
			"(HTTP 503) where they wait for acknowledgement", n);
	}
	for (size_t i = 0; items && i < n; i++)
		if (items[i].ack)
			ack_done(items[i].ack, ok);
	/* With an outbox, id 0 marks an event the store already held (a
	 * preset id sent again): it is not delivered twice. */
	for (size_t e = 0; ok && e < m; e++)
		if (entries[e].id || !p->durable)
			rfx_deliverer_offer(to[e]->d, rfx_event_ref(entry_ev[e]), entries[e].id,
					    entries[e].created_ns);
	return ok;
}

static void *worker_main(void *arg)
{
	struct rfx_pipeline *p = arg;
	size_t max = p->o.batch_size, maxe = max * (p->noutputs ? p->noutputs : 1);
	struct rfx_queue_item *items = calloc(max, sizeof(*items));
	rfx_event **evs = calloc(max, sizeof(*evs));
	bool *forward = calloc(max, sizeof(*forward));
	rfx_outbox_entry *entries = calloc(maxe, sizeof(*entries));
	struct output **to = calloc(maxe, sizeof(*to));
	rfx_event **entry_ev = calloc(maxe, sizeof(*entry_ev));

	if (!items || !evs || !forward || !entries || !to || !entry_ev) {
		rfx_log(RFX_LOG_ERROR, "pipeline", "worker out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = rfx_queue_pop(p->ingress, items, max, 1000);
		if (n < 0)
			break;
		int64_t now = rfx_now_ns();
		for (ssize_t i = 0; i < n; i++)
			evs[i] = items[i].ev;
		if (n > 0) {
			rfx_stages_process(p->o.stages, evs, (size_t)n, forward, now);
			commit(p, evs, (size_t)n, forward, items, entries, to, entry_ev, now);
			for (ssize_t i = 0; i < n; i++)
				rfx_event_unref(items[i].ev);
		}
		/* what the noise stage has to say (rate limits, flapping): stored
		 * and forwarded as it is, at most `max` at a time */
		rfx_event **sum = NULL;
		size_t ns = 0;
		if (p->o.stages && rfx_stages_summaries(p->o.stages, now, &sum, &ns) == 0) {
			for (size_t off = 0; off < ns; off += max) {
				size_t k = ns - off < max ? ns - off : max;
				for (size_t i = 0; i < k; i++)
					forward[i] = true;
				commit(p, sum + off, k, forward, NULL, entries, to, entry_ev, now);
			}
			for (size_t i = 0; i < ns; i++)
				rfx_event_unref(sum[i]);
			free(sum);
		}
	}
out:
	free(items);
	free(evs);
	free(forward);
	free(entries);
	free(to);
	free(entry_ev);
	return NULL;
}

static double depth_fn(void *arg)
{
	return (double)rfx_queue_depth(arg);
}

struct rfx_pipeline *rfx_pipeline_new(const struct rfx_pipeline_opts *o,
				      const rfx_store_ops *store, void *store_state)
{
	struct rfx_pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->o = *o;
	if (p->o.batch_size == 0)
		p->o.batch_size = 512;
	if (p->o.workers == 0)
		p->o.workers = 1;
	if (p->o.output_queue_size == 0)
		p->o.output_queue_size = 10000;
	p->store = store;
	p->store_state = store_state;
	p->durable = rfx_store_has_outbox(store);
	if (!(p->ingress = rfx_queue_new(o->queue_size ? o->queue_size : 50000))) {
		free(p);
		return NULL;
	}
	p->m_stored = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_stored_total",
				     "Events committed to the store", NULL);
	p->m_store_failed = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_dropped_total",
					   "Events lost to a stage, by stage and reason",
					   "stage=\"store\",reason=\"store_unavailable\"");
	p->m_shed = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_dropped_total",
				   "Events lost to a stage, by stage and reason",
				   "stage=\"ingress\",reason=\"shed_by_severity\"");
	p->h_store = rfx_histogram_get("reflex_store_batch_seconds",
				       "Time to commit one batch of events to the store", NULL);
	rfx_metrics_gauge_fn("reflex_queue_depth", "Events waiting in a queue",
			     "queue=\"ingress\"", depth_fn, p->ingress);
	rfx_metric_set(rfx_metric_get(RFX_METRIC_GAUGE, "reflex_queue_capacity",
				      "Capacity of a queue in events", "queue=\"ingress\""),
		       (double)rfx_queue_capacity(p->ingress));
	return p;
}

int rfx_pipeline_add_output(struct rfx_pipeline *p, const struct rfx_output_spec *spec)
{
	struct output *o = calloc(1, sizeof(*o));
	struct output **v = realloc(p->outputs, (p->noutputs + 1) * sizeof(*v));
	char lbl[200];

	if (v)
		p->outputs = v;
	if (!o || !v ||
	    !(o->d = rfx_deliverer_new(spec, p->store, p->store_state, p->o.output_queue_size))) {
		free(o);
		return RFX_ENOMEM;
	}
	o->match = spec->match;
	snprintf(o->name, sizeof(o->name), "%s", spec->name);
	snprintf(lbl, sizeof(lbl), "output=\"%s\"", spec->name);
	o->m_filtered = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_output_unmatched_total",
				       "Events not routed to an output because match: was false",
				       lbl);
	p->outputs[p->noutputs++] = o;
	return 0;
}

struct rfx_deliverer *rfx_pipeline_output(struct rfx_pipeline *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->noutputs; i++)
		if (strcmp(p->outputs[i]->name, name) == 0)
			return p->outputs[i]->d;
	return NULL;
}

bool rfx_pipeline_durable_outputs(const struct rfx_pipeline *p)
{
	return p->durable;
}

int rfx_pipeline_start(struct rfx_pipeline *p)
{
	/* Deliverers first: each loads its pending outbox entries before any
	 * worker can add new ones. */
	for (size_t i = 0; i < p->noutputs; i++)
		if (rfx_deliverer_start(p->outputs[i]->d))
			return RFX_ENOMEM;
	if (p->noutputs && !p->durable)
		rfx_log(RFX_LOG_WARNING, "pipeline",
			"the store has no outbox: deliveries to outputs are kept in memory only "
			"and are lost if the agent stops before they succeed");
	if (!(p->workers = calloc(p->o.workers, sizeof(*p->workers))))
		return RFX_ENOMEM;
	for (unsigned i = 0; i < p->o.workers; i++) {
		if (pthread_create(&p->workers[i], NULL, worker_main, p))
			return RFX_ENOMEM;
		p->nworkers++;
	}
	p->started = true;
	return 0;
}

void rfx_pipeline_stop(struct rfx_pipeline *p)
{
	if (!p)
		return;
	rfx_queue_close(p->ingress);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	p->nworkers = 0;
	for (size_t i = 0; i < p->noutputs; i++)
		rfx_deliverer_stop(p->outputs[i]->d);
}

void rfx_pipeline_free(struct rfx_pipeline *p)
{
	struct rfx_queue_item it;

	if (!p)
		return;
	rfx_pipeline_stop(p);
	rfx_metrics_gauge_fn_remove(p->ingress);
	while (rfx_queue_pop(p->ingress, &it, 1, 0) > 0)
		rfx_event_unref(it.ev);
	rfx_queue_free(p->ingress);
	for (size_t i = 0; i < p->noutputs; i++) {
		rfx_deliverer_free(p->outputs[i]->d);
		free(p->outputs[i]);
	}
	free(p->outputs);
	free(p->workers);
	free(p);
}
