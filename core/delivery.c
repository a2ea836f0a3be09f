/*
 * core/delivery.c - owns delivering to one output: its thread, the queue of
 * fresh deliveries, the schedule of retries (a min-heap by due time), the
 * retry budget and dead letters, the circuit breaker, and keeping the
 * store's outbox in step (see delivery.h for the guarantees).
 *
 * Everything but offer/wake runs on the deliverer's own thread, so the
 * schedule and the breaker need no lock. Successful deliveries are removed
 * from the outbox in batches (every DONE_FLUSH_MS or DONE_MAX entries): a
 * crash in between delivers those again, which at-least-once allows, and
 * saves a commit per delivery.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "delivery.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "event.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"

#include "delivery_impl.h"

const rfx_option rfx_delivery_options[] = {
	{"max_attempts", RFX_OPT_INT, "10", RFX_OPT_RANGE, 1, 1000, NULL,
	 "Attempts before a delivery is dead (kept for replay through the API)",
	 offsetof(struct rfx_delivery_conf, max_attempts), NULL},
	{"initial_backoff", RFX_OPT_DURATION, "1s", RFX_OPT_RANGE, 10, 3600000, NULL,
	 "Delay before the second attempt; doubles with each failure (with jitter)",
	 offsetof(struct rfx_delivery_conf, initial_backoff_ms), NULL},
	{"max_backoff", RFX_OPT_DURATION, "5m", RFX_OPT_RANGE, 10, 86400000, NULL,
	 "Longest delay between two attempts",
	 offsetof(struct rfx_delivery_conf, max_backoff_ms), NULL},
	{"max_age", RFX_OPT_DURATION, "24h", RFX_OPT_RANGE, 0, 30LL * 86400000, NULL,
	 "A delivery still failing this long after its event is dead; 0 = no limit",
	 offsetof(struct rfx_delivery_conf, max_age_ms), NULL},
	{"max_retry_after", RFX_OPT_DURATION, "1h", RFX_OPT_RANGE, 0, 86400000, NULL,
	 "A receiver's Retry-After is honoured up to this long",
	 offsetof(struct rfx_delivery_conf, max_retry_after_ms), NULL},
	{"breaker_failures", RFX_OPT_INT, "5", RFX_OPT_RANGE, 0, 1000, NULL,
	 "Consecutive failed attempts (RETRY) that open the circuit breaker and pause the "
	 "output; 0 = no breaker",
	 offsetof(struct rfx_delivery_conf, breaker_failures), NULL},
	{"breaker_cooldown", RFX_OPT_DURATION, "30s", RFX_OPT_RANGE, 10, 3600000, NULL,
	 "Pause before one trial delivery; doubles (up to 10x) while trials fail",
	 offsetof(struct rfx_delivery_conf, breaker_cooldown_ms), NULL},
	{"concurrency", RFX_OPT_INT, "1", RFX_OPT_RANGE, 1, 64, NULL,
	 "Deliveries attempted at once (keep-alive connections), for plugins that allow it; "
	 "deliveries of one fingerprint stay one at a time",
	 offsetof(struct rfx_delivery_conf, concurrency), NULL},
	{"drain_timeout", RFX_OPT_DURATION, "5s", RFX_OPT_RANGE, 0, 600000, NULL,
	 "At shutdown, time to deliver what is queued; the rest stays in the outbox",
	 offsetof(struct rfx_delivery_conf, drain_timeout_ms), NULL},
	RFX_OPTION_END,
};

static const struct rfx_delivery_conf default_conf = {
	.max_attempts = 10,
	.initial_backoff_ms = 1000,
	.max_backoff_ms = 300000,
	.max_age_ms = 86400000,
	.max_retry_after_ms = 3600000,
	.breaker_failures = 5,
	.breaker_cooldown_ms = 30000,
	.drain_timeout_ms = 5000,
	.concurrency = 1,
};

/* ---- small helpers -------------------------------------------------------- */

/* Entries up to id are in the outbox but not in the schedule. */
static void raise_overflow(struct rfx_deliverer *d, uint64_t id)
{
	uint64_t max = atomic_load(&d->overflow_max);

	while (id > max && !atomic_compare_exchange_weak(&d->overflow_max, &max, id))
		;
	atomic_store(&d->overflow, true);
}

int64_t now_ns(void)
{
	return rfx_now_ns();
}

double rnd(struct rfx_deliverer *d)
{
	/* xorshift64*: jitter needs spread, not secrecy */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return (double)((d->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

bool rfx_store_has_outbox(const rfx_store_ops *store)
{
	return store && store->size >= sizeof(rfx_store_ops) && store->put_batch &&
	       store->outbox_update && store->outbox_delete && store->outbox_list &&
	       store->get_event;
}

int64_t rfx_delivery_backoff_ms(const struct rfx_delivery_conf *c, uint32_t attempts, double r)
{
	int64_t b = c->initial_backoff_ms;

	for (uint32_t i = 1; i < attempts && b < c->max_backoff_ms; i++)
		b *= 2;
	if (b > c->max_backoff_ms)
		b = c->max_backoff_ms;
	return b / 2 + (int64_t)((double)(b - b / 2) * r);
}

/* ---- the schedule: a min-heap by next_ns ------------------------------------ */

static bool heap_less(const struct pend *a, const struct pend *b)
{
	return a->next_ns < b->next_ns || (a->next_ns == b->next_ns && a->id < b->id);
}

static int heap_push(struct rfx_deliverer *d, struct pend *p)
{
	if (d->nheap == d->capheap) {
		size_t cap = d->capheap ? d->capheap * 2 : 64;
		struct pend **v = realloc(d->heap, cap * sizeof(*v));
		if (!v)
			return RFX_ENOMEM;
		d->heap = v;
		d->capheap = cap;
	}
	size_t i = d->nheap++;
	while (i > 0 && heap_less(p, d->heap[(i - 1) / 2])) {
		d->heap[i] = d->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	d->heap[i] = p;
	atomic_store(&d->pending, d->nheap);
	return 0;
}

static struct pend *heap_pop(struct rfx_deliverer *d)
{
	struct pend *top = d->heap[0], *last = d->heap[--d->nheap];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l >= d->nheap)
			break;
		m = l + 1 < d->nheap && heap_less(d->heap[l + 1], d->heap[l]) ? l + 1 : l;
		if (!heap_less(d->heap[m], last))
			break;
		d->heap[i] = d->heap[m];
		i = m;
	}
	if (d->nheap)
		d->heap[i] = last;
	atomic_store(&d->pending, d->nheap);
	return top;
}

void pend_free(struct pend *p)
{
	if (p->ev)
		rfx_event_unref(p->ev);
	free(p);
}

/* Schedules p; past HEAP_MAX (or without memory) a durable entry is left
 * to the outbox and a later scan, an in-memory one is lost and counted. */
static void schedule(struct rfx_deliverer *d, struct pend *p)
{
	if (p->ev && d->durable && d->nheap >= KEEP_EVENT_MAX) {
		/* a long backlog keeps ids, not events */
		rfx_event_unref(p->ev);
		p->ev = NULL;
	}
	if (d->nheap < HEAP_MAX && heap_push(d, p) == 0)
		return;
	if (p->id) {
		raise_overflow(d, p->id);
	} else {
		rfx_metric_add(d->m_lost, 1);
		rfx_log(RFX_LOG_WARNING, d->label,
			"%zu retries already scheduled: delivery of event %s dropped (the store "
			"has no outbox)", d->nheap, p->event_id);
	}
	pend_free(p);
}

struct pend *pend_new(uint64_t id, const char *event_id, rfx_event *ev,
			     int64_t created_ns, uint32_t attempts, int64_t next_ns)
{
	struct pend *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = id;
	p->ev = ev;
	p->created_ns = created_ns;
	p->attempts = attempts;
	p->next_ns = next_ns;
	snprintf(p->event_id, sizeof p->event_id, "%s", event_id);
	return p;
}

/* ---- the outbox --------------------------------------------------------------- */

static void flush_done(struct rfx_deliverer *d)
{
	if (d->ndone == 0)
		return;
	if (d->store->outbox_delete(d->store_state, d->done, d->ndone) != 0) {
		/* kept for the next flush; delivered again after a crash */
		rfx_log(RFX_LOG_WARNING, d->label,
			"cannot remove %zu delivered entries from the outbox; retrying",
			d->ndone);
		if (d->ndone < DONE_MAX) {
			/* next try in a second, not at once: the store is down */
			d->done_since_ns = now_ns() + (1000 - DONE_FLUSH_MS) * MS;
			return;
		}
		rfx_log(RFX_LOG_ERROR, d->label,
			"giving up on removing %zu delivered entries: they will be delivered "
			"again after a restart", d->ndone);
	}
	d->ndone = 0;
}

void mark_done(struct rfx_deliverer *d, uint64_t id)
{
	if (!id)
		return;
	if (d->ndone == 0)
		d->done_since_ns = now_ns();
	d->done[d->ndone++] = id;
	if (d->ndone == DONE_MAX)
		flush_done(d);
}

void save(struct rfx_deliverer *d, const struct pend *p, int state, const char *error)
{
	if (!p->id)
		return;
	rfx_outbox_entry e = {.id = p->id, .state = state, .attempts = p->attempts,
			      .created_ns = p->created_ns,
			      .next_ns = state == RFX_OUTBOX_PENDING ? p->next_ns : 0};
	snprintf(e.output, sizeof e.output, "%s", d->spec.name);
	snprintf(e.event_id, sizeof e.event_id, "%s", p->event_id);
	snprintf(e.last_error, sizeof e.last_error, "%s", error ? error : "");
	int rc = d->store->outbox_update(d->store_state, &e);
	if (rc != 0 && rc != RFX_ENOENT)
		rfx_log(RFX_LOG_WARNING, d->label,
			"cannot save the state of delivery %llu in the outbox (%d)",
			(unsigned long long)p->id, rc);
}

/* Loads pending entries of this output the schedule does not hold yet:
 * all of them at start, those up to overflow_max after an overflow. */
static void scan(struct rfx_deliverer *d, uint64_t upto)
{
	uint64_t *known = NULL;
	size_t nknown = d->nheap;
	uint64_t after = 0;

	if (nknown && (known = malloc(nknown * sizeof(*known)))) {
		for (size_t i = 0; i < nknown; i++)
			known[i] = d->heap[i]->id;
	} else {
		nknown = 0;
	}
	for (;;) {
		rfx_outbox_query q = {.output = d->spec.name, .state = RFX_OUTBOX_PENDING,
				      .after_id = after, .limit = SCAN_PAGE};
		rfx_outbox_entry *v = NULL;
		size_t n = 0;
		if (d->store->outbox_list(d->store_state, &q, &v, &n) != 0) {
			rfx_log(RFX_LOG_WARNING, d->label, "cannot read the outbox; will try again");
			atomic_store(&d->overflow, true);
			break;
		}
		bool full = false;
		for (size_t i = 0; i < n && (!upto || v[i].id <= upto); i++) {
			bool dup = false;
			for (size_t k = 0; k < nknown && !dup; k++)
				dup = known[k] == v[i].id;
			if (dup)
				continue;
			if (d->nheap >= HEAP_MAX) {
				full = true;
				break;
			}
			struct pend *p = pend_new(v[i].id, v[i].event_id, NULL, v[i].created_ns,
						  v[i].attempts, v[i].next_ns);
			if (!p || heap_push(d, p) != 0) {
				free(p);
				full = true;
				break;
			}
		}
		after = n ? v[n - 1].id : after;
		free(v);
		if (full) {
			atomic_store(&d->overflow, true);
			break;
		}
		if (n < SCAN_PAGE || (upto && after >= upto))
			break;
	}
	free(known);
}

/* ---- attempts ------------------------------------------------------------------- */

void breaker_success(struct rfx_deliverer *d)
{
	d->consecutive_failures = 0;
	if (d->breaker != BREAKER_CLOSED) {
		rfx_log(RFX_LOG_INFO, d->label, "circuit closed: the receiver accepts deliveries "
						"again");
		d->breaker = BREAKER_CLOSED;
		d->cooldown_ms = d->c.breaker_cooldown_ms;
		rfx_metric_set(d->m_circuit, 0);
	}
}

void breaker_failure(struct rfx_deliverer *d, const char *error)
{
	d->consecutive_failures++;
	if (d->c.breaker_failures <= 0)
		return;
	if (d->breaker == BREAKER_HALF_OPEN)
		d->cooldown_ms = d->cooldown_ms * 2 > d->c.breaker_cooldown_ms * 10
					 ? d->c.breaker_cooldown_ms * 10
					 : d->cooldown_ms * 2;
	else if (d->consecutive_failures < d->c.breaker_failures)
		return;
	if (d->breaker == BREAKER_CLOSED)
		rfx_metric_add(d->m_opened, 1);
	d->breaker = BREAKER_OPEN;
	d->open_until_ns = now_ns() + d->cooldown_ms * MS;
	rfx_metric_set(d->m_circuit, 1);
	rfx_log(RFX_LOG_WARNING, d->label,
		"circuit open after %lld consecutive failed attempts (last: %s): pausing "
		"deliveries for %lld ms",
		(long long)d->consecutive_failures, error[0] ? error : "no reason given",
		(long long)d->cooldown_ms);
}

void dead(struct rfx_deliverer *d, struct pend *p, const char *error)
{
	rfx_metric_add(d->m_dead, 1);
	rfx_log(RFX_LOG_WARNING, d->label,
		"delivery %llu of event %s is dead after %u attempt(s): %s%s",
		(unsigned long long)p->id, p->event_id, p->attempts, error,
		p->id ? "; replay it with POST /api/v1/deliveries/ID/retry" : "");
	save(d, p, RFX_OUTBOX_DEAD, error);
	pend_free(p);
}

/* One attempt at p, which the caller hands over. */
/* Loads p's event when it was not kept in memory. False when p was dealt
 * with instead (dead, or rescheduled while the store is unavailable). */
static bool load_event(struct rfx_deliverer *d, struct pend *p)
{
	if (p->ev)
		return true;
	int rc = d->store->get_event(d->store_state, p->event_id, &p->ev);
	if (rc == RFX_ENOENT) {
		dead(d, p, "the event is no longer in the store");
		return false;
	}
	if (rc != 0) {
		/* the store is unavailable: try again shortly */
		p->next_ns = now_ns() + 1000 * MS;
		schedule(d, p);
		return false;
	}
	return true;
}

int64_t retry_delay_ms(struct rfx_deliverer *d, uint32_t attempts, int64_t retry_after_ms)
{
	if (retry_after_ms > 0)
		return retry_after_ms < d->c.max_retry_after_ms ? retry_after_ms
							       : d->c.max_retry_after_ms;
	return rfx_delivery_backoff_ms(&d->c, attempts, rnd(d));
}

/* What an attempt's answer does to p (the deliverer's thread). */
static void complete(struct rfx_deliverer *d, struct pend *p, rfx_result r, rfx_delivery *info)
{
	int64_t t;

	p->attempts++;
	info->error[sizeof info->error - 1] = '\0';
	switch (r) {
	case RFX_OK:
	case RFX_DROP:
		rfx_metric_add(r == RFX_OK ? d->m_out : d->m_declined, 1);
		breaker_success(d);
		mark_done(d, p->id);
		pend_free(p);
		return;
	case RFX_RETRY: {
		const char *why = info->error[0] ? info->error : "the output asked to retry";
		breaker_failure(d, info->error);
		t = now_ns();
		if (p->attempts >= (uint32_t)d->c.max_attempts) {
			char msg[400];
			snprintf(msg, sizeof msg, "retry budget spent (%u attempts); last: %s",
				 p->attempts, why);
			dead(d, p, msg);
			return;
		}
		if (d->c.max_age_ms > 0 && t - p->created_ns >= d->c.max_age_ms * MS) {
			char msg[400];
			snprintf(msg, sizeof msg, "still failing after max_age (%lld ms); last: %s",
				 (long long)d->c.max_age_ms, why);
			dead(d, p, msg);
			return;
		}
		p->next_ns = t + retry_delay_ms(d, p->attempts, info->retry_after_ms) * MS;
		rfx_metric_add(d->m_retried, 1);
		save(d, p, RFX_OUTBOX_PENDING, why);
		schedule(d, p);
		return;
	}
	case RFX_FAIL:
	default:
		/* the receiver answered: it is up, so the breaker is not involved */
		d->consecutive_failures = 0;
		dead(d, p, info->error[0] ? info->error : "permanent failure");
		return;
	}
}

/* ---- concurrent attempts (delivery.concurrency > 1) ------------------------- */

/* An attempt handed to a worker thread. */
struct job {
	struct pend *p;
	rfx_delivery info;
	rfx_result r;
	struct job *next;
};

static const char *pend_key(const struct pend *p)
{
	const char *fp = rfx_event_fingerprint(p->ev);
	return fp && *fp ? fp : p->ev->id;
}

static bool key_busy(const struct rfx_deliverer *d, const char *key)
{
	for (size_t i = 0; i < d->nbusy; i++)
		if (strcmp(d->busy[i], key) == 0)
			return true;
	return false;
}

static void *worker_main(void *arg)
{
	struct rfx_deliverer *d = arg;

	pthread_mutex_lock(&d->wlock);
	for (;;) {
		while (!d->jobs && !d->wstop)
			pthread_cond_wait(&d->wcond, &d->wlock);
		if (!d->jobs)
			break;
		struct job *j = d->jobs;
		d->jobs = j->next;
		pthread_mutex_unlock(&d->wlock);
		rfx_record rec = {.type = RFX_REC_EVENT, .u.event = j->p->ev, .delivery = &j->info};
		j->r = d->spec.plugin->handle(d->spec.state, &rec);
		pthread_mutex_lock(&d->wlock);
		j->next = d->done_jobs;
		d->done_jobs = j;
	}
	pthread_mutex_unlock(&d->wlock);
	return NULL;
}

/* Takes in what the workers finished (the deliverer's thread). */
static void reap(struct rfx_deliverer *d)
{
	pthread_mutex_lock(&d->wlock);
	struct job *j = d->done_jobs;
	d->done_jobs = NULL;
	pthread_mutex_unlock(&d->wlock);
	while (j) {
		struct job *next = j->next;
		const char *key = pend_key(j->p);
		for (size_t i = 0; i < d->nbusy; i++) {
			if (strcmp(d->busy[i], key) == 0) {
				free(d->busy[i]);
				d->busy[i] = d->busy[--d->nbusy];
				break;
			}
		}
		d->inflight--;
		complete(d, j->p, j->r, &j->info);
		free(j);
		j = next;
	}
}

/* One attempt at p, which the caller hands over: on this thread, or on a
 * worker when the output takes concurrent deliveries. Deliveries of one
 * fingerprint are never attempted at the same time, so their order holds
 * while they succeed. */
static void attempt(struct rfx_deliverer *d, struct pend *p)
{
	if (!load_event(d, p))
		return;
	rfx_delivery info = {.size = sizeof(rfx_delivery), .attempt = p->attempts + 1,
			     .id = p->id, .created_ns = p->created_ns};
	if (d->nworkers == 0) {
		rfx_record rec = {.type = RFX_REC_EVENT, .u.event = p->ev, .delivery = &info};
		complete(d, p, d->spec.plugin->handle(d->spec.state, &rec), &info);
		return;
	}
	const char *key = pend_key(p);
	struct job *j = NULL;
	char *k = NULL;
	if (key_busy(d, key) || d->nbusy == BUSY_MAX || !(j = calloc(1, sizeof(*j))) ||
	    !(k = strdup(key))) {
		/* after the one in flight (or when memory is short) */
		free(j);
		p->next_ns = now_ns() + 20 * MS;
		schedule(d, p);
		return;
	}
	d->busy[d->nbusy++] = k;
	d->inflight++;
	j->p = p;
	j->info = info;
	pthread_mutex_lock(&d->wlock);
	j->next = d->jobs;
	d->jobs = j;
	pthread_cond_signal(&d->wcond);
	pthread_mutex_unlock(&d->wlock);
}

/* Room for another attempt now. */
static bool can_attempt(const struct rfx_deliverer *d)
{
	if (d->nworkers == 0)
		return true;
	/* a half-open breaker makes one trial at a time */
	return d->inflight < d->nworkers && !(d->breaker == BREAKER_HALF_OPEN && d->inflight);
}

/* ---- the thread ----------------------------------------------------------------- */

bool paused(struct rfx_deliverer *d, int64_t t)
{
	if (d->breaker != BREAKER_OPEN)
		return false;
	if (t < d->open_until_ns)
		return true;
	d->breaker = BREAKER_HALF_OPEN; /* one trial */
	return false;
}

/* Milliseconds until something is due (capped), for the queue wait. */
static int64_t wait_ms(struct rfx_deliverer *d, int64_t t)
{
	int64_t until = t + 1000 * MS;

	if (d->breaker == BREAKER_OPEN && d->open_until_ns < until)
		until = d->open_until_ns;
	else if (d->nheap && d->heap[0]->next_ns < until)
		until = d->heap[0]->next_ns;
	if (d->ndone && d->done_since_ns + DONE_FLUSH_MS * MS < until)
		until = d->done_since_ns + DONE_FLUSH_MS * MS;
	if (d->grouped && d->breaker != BREAKER_OPEN && group_next_ns(d) < until)
		until = group_next_ns(d);
	if (d->inflight && t + 2 * MS < until)
		until = t + 2 * MS; /* finished attempts are reaped on this thread */
	return until <= t ? 0 : (until - t + MS - 1) / MS;
}

static void take_fresh(struct rfx_deliverer *d, const struct rfx_queue_item *it, int64_t t)
{
	struct pend *p;

	if (!it->ev && it->id) {
		/* a replayed entry: load it when due (now) */
		p = pend_new(it->id, "", NULL, it->created_ns, 0, t);
		if (!p)
			return;
		rfx_outbox_query q = {.output = d->spec.name, .state = RFX_OUTBOX_PENDING,
				      .after_id = it->id - 1, .limit = 1};
		rfx_outbox_entry *v = NULL;
		size_t n = 0;
		if (d->store->outbox_list(d->store_state, &q, &v, &n) != 0 || n != 1 ||
		    v[0].id != it->id) {
			free(v);
			free(p);
			return;
		}
		snprintf(p->event_id, sizeof p->event_id, "%s", v[0].event_id);
		p->created_ns = v[0].created_ns;
		p->attempts = v[0].attempts;
		free(v);
	} else {
		p = pend_new(it->id, it->ev->id, it->ev, it->created_ns, 0, t);
		if (!p) {
			rfx_event_unref(it->ev);
			return;
		}
	}
	if (d->grouped) {
		group_add(d, p, t);
		return;
	}
	if (paused(d, t) || !can_attempt(d))
		schedule(d, p); /* due now: attempted when there is room */
	else
		attempt(d, p);
}

static void *deliverer_main(void *arg)
{
	struct rfx_deliverer *d = arg;
	struct rfx_queue_item items[POP_MAX];
	int64_t drain_deadline = 0;

	for (;;) {
		int64_t t = now_ns();
		bool stopping = atomic_load(&d->stopping);

		if (stopping && !drain_deadline)
			drain_deadline = t + d->c.drain_timeout_ms * MS;
		if (d->ndone && (d->ndone >= DONE_MAX || t >= d->done_since_ns + DONE_FLUSH_MS * MS))
			flush_done(d);
		if (d->grouped && !stopping) {
			/* entries from the outbox (start, overflow) join their groups */
			while (d->nheap)
				group_add(d, heap_pop(d), t);
			group_flush_due(d, t);
			atomic_store(&d->pending, group_pending(d));
		}
		/* Retries that are due go first, unless the breaker says wait. */
		if (d->nworkers)
			reap(d);
		if (!stopping && d->nheap && d->heap[0]->next_ns <= t && !paused(d, t) &&
		    can_attempt(d)) {
			attempt(d, heap_pop(d));
			continue;
		}
		/* an attempt in flight is in no list a scan could check: scan
		 * only when none is */
		if (!stopping && d->durable && atomic_load(&d->overflow) && d->inflight == 0 &&
		    rfx_queue_depth(d->q) == 0 && d->nheap < HEAP_MAX / 2) {
			atomic_store(&d->overflow, false);
			flush_done(d); /* a delivered entry must not be scanned back in */
			scan(d, atomic_load(&d->overflow_max));
			continue;
		}
		size_t room = paused(d, t) ? 0 : POP_MAX;
		if (stopping && t >= drain_deadline)
			break;
		if (room && d->nworkers && !can_attempt(d)) {
			/* every worker busy: wait a moment for one to finish */
			struct timespec ts = {0, 1 * MS};
			nanosleep(&ts, NULL);
			continue;
		}
		if (room == 0) {
			/* paused: the queue waits; offers that do not fit stay in the outbox */
			struct timespec ts = {0, 50 * MS};
			nanosleep(&ts, NULL);
			if (stopping)
				break;
			continue;
		}
		ssize_t n = rfx_queue_pop(d->q, items, room, stopping ? 0 : wait_ms(d, t));
		if (n < 0)
			break; /* closed and empty */
		for (ssize_t i = 0; i < n; i++)
			take_fresh(d, &items[i], now_ns());
		if (stopping && n == 0)
			break;
	}
	while (d->inflight) {
		/* attempts in flight end before the thread does */
		struct timespec ts = {0, 1 * MS};
		nanosleep(&ts, NULL);
		reap(d);
	}
	flush_done(d);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static double pending_fn(void *arg)
{
	struct rfx_deliverer *d = arg;
	return (double)(atomic_load(&d->pending) + rfx_queue_depth(d->q));
}

struct rfx_deliverer *rfx_deliverer_new(const struct rfx_output_spec *spec,
					const rfx_store_ops *store, void *store_state,
					size_t queue_size)
{
	struct rfx_deliverer *d = calloc(1, sizeof(*d));
	char lbl[200];

	if (!d)
		return NULL;
	if (!(d->q = rfx_queue_new(queue_size ? queue_size : 10000))) {
		free(d);
		return NULL;
	}
	d->spec = *spec;
	d->c = spec->delivery ? *spec->delivery : default_conf;
	if (spec->group)
		d->g = *spec->group; /* borrows the list: the config outlives us */
	d->grouped = d->g.by.n > 0;
	/* several attempts at once only for plugins that allow it; notices
	 * keep their order one at a time */
	if (d->c.concurrency > 1 && !d->grouped && (spec->plugin->caps & RFX_CAP_CONCURRENT))
		d->nworkers = (unsigned)d->c.concurrency;
	pthread_mutex_init(&d->wlock, NULL);
	pthread_cond_init(&d->wcond, NULL);
	d->store = store;
	d->store_state = store_state;
	d->durable = rfx_store_has_outbox(store);
	d->cooldown_ms = d->c.breaker_cooldown_ms;
	if (getrandom(&d->rng, sizeof d->rng, 0) != (ssize_t)sizeof d->rng || !d->rng)
		d->rng = (uint64_t)now_ns() | 1;
	snprintf(d->label, sizeof(d->label), "output:%s:%s", spec->plugin->name, spec->name);
	snprintf(lbl, sizeof(lbl), "output=\"%s\"", spec->name);
	d->m_out = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_out_total",
				  "Events delivered by an output", lbl);
	d->m_retried = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_output_retries_total",
				      "Delivery attempts that will be retried (RETRY)", lbl);
	d->m_declined = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_output_declined_total",
				       "Events an output declined with DROP (not for it)", lbl);
	d->m_dead = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_output_dead_total",
				   "Deliveries that became dead letters (budget spent or FAIL)",
				   lbl);
	d->m_circuit = rfx_metric_get(RFX_METRIC_GAUGE, "reflex_output_circuit_open",
				      "1 while the output's circuit breaker pauses it", lbl);
	d->m_opened = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_output_circuit_opened_total",
				     "Times the output's circuit breaker opened", lbl);
	rfx_metrics_gauge_fn("reflex_output_pending", "Deliveries waiting (queued or scheduled)",
			     lbl, pending_fn, d);
	snprintf(lbl, sizeof(lbl), "stage=\"output\",reason=\"queue_full\",output=\"%s\"",
		 spec->name);
	d->m_lost = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_dropped_total",
				   "Events lost to a stage, by stage and reason", lbl);
	return d;
}

int rfx_deliverer_start(struct rfx_deliverer *d)
{
	if (d->durable)
		scan(d, 0);
	if (d->nheap)
		rfx_log(RFX_LOG_INFO, d->label, "%zu pending deliveries from the outbox resume",
			d->nheap);
	if (d->nworkers && !(d->workers = calloc(d->nworkers, sizeof(*d->workers))))
		return RFX_ENOMEM;
	for (unsigned i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i], NULL, worker_main, d))
			return RFX_ENOMEM;
		d->nstarted++;
	}
	if (pthread_create(&d->thread, NULL, deliverer_main, d))
		return RFX_ENOMEM;
	d->running = true;
	return 0;
}

void rfx_deliverer_stop(struct rfx_deliverer *d)
{
	if (!d || !d->running)
		return;
	atomic_store(&d->stopping, true);
	rfx_queue_close(d->q);
	pthread_join(d->thread, NULL);
	d->running = false;
	pthread_mutex_lock(&d->wlock);
	d->wstop = true;
	pthread_cond_broadcast(&d->wcond);
	pthread_mutex_unlock(&d->wlock);
	for (unsigned i = 0; i < d->nstarted; i++)
		pthread_join(d->workers[i], NULL);
	d->nstarted = 0;
}

void rfx_deliverer_free(struct rfx_deliverer *d)
{
	struct rfx_queue_item it;

	if (!d)
		return;
	rfx_deliverer_stop(d);
	rfx_metrics_gauge_fn_remove(d);
	size_t left = 0;
	while (rfx_queue_pop(d->q, &it, 1, 0) > 0) {
		if (it.ev)
			rfx_event_unref(it.ev);
		left += it.id == 0;
	}
	if (left)
		rfx_log(RFX_LOG_WARNING, d->label,
			"%zu in-memory deliveries not made at shutdown (the store has no outbox)",
			left);
	rfx_queue_free(d->q);
	while (d->nheap)
		pend_free(heap_pop(d));
	free(d->heap);
	group_free_all(d);
	for (size_t i = 0; i < d->nbusy; i++)
		free(d->busy[i]);
	free(d->workers);
	pthread_mutex_destroy(&d->wlock);
	pthread_cond_destroy(&d->wcond);
	free(d);
}

const char *rfx_deliverer_name(const struct rfx_deliverer *d)
{
	return d->spec.name;
}

const struct rfx_output_spec *rfx_deliverer_spec(const struct rfx_deliverer *d)
{
	return &d->spec;
}

bool rfx_deliverer_durable(const struct rfx_deliverer *d)
{
	return d->durable;
}

void rfx_deliverer_offer(struct rfx_deliverer *d, rfx_event *ev, uint64_t entry_id,
			 int64_t created_ns)
{
	struct rfx_queue_item it = {.ev = ev, .id = entry_id, .created_ns = created_ns};

	if (rfx_queue_push(d->q, &it, 1, 0) == 0)
		return;
	rfx_event_unref(ev);
	if (entry_id) {
		raise_overflow(d, entry_id);
		return;
	}
	rfx_metric_add(d->m_lost, 1);
	rfx_log(RFX_LOG_WARNING, d->label,
		"delivery queue full (%zu events): event not delivered to this output (the store "
		"has no outbox)", rfx_queue_capacity(d->q));
}

void rfx_deliverer_wake(struct rfx_deliverer *d, uint64_t entry_id)
{
	struct rfx_queue_item it = {.id = entry_id, .created_ns = now_ns()};

	if (rfx_queue_push(d->q, &it, 1, 0) != 0)
		raise_overflow(d, entry_id);
}
