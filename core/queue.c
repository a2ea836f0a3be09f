/* core/queue.c - bounded MPMC event queue (see queue.h): a ring buffer
 * guarded by one mutex, with condition variables for "not full" and "not
 * empty". Batching on both sides keeps the lock cheap per event. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <reflex/plugin.h>

struct rfx_queue {
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t not_full, not_empty;
	struct rfx_queue_item *ring;
	size_t cap, ring_cap, head, count;
	bool closed;
};

rfx_queue *rfx_queue_new(size_t capacity)
{
	rfx_queue *q = calloc(1, sizeof(*q));
	if (!q || capacity == 0)
		goto fail;
	q->cap = capacity;
	q->ring_cap = capacity;
	if (!(q->ring = calloc(q->ring_cap, sizeof(*q->ring))))
		goto fail;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_full, &ca);
	pthread_cond_init(&q->not_empty, &ca);
	pthread_condattr_destroy(&ca);
	return q;
fail:
	free(q);
	return NULL;
}

void rfx_queue_free(rfx_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	free(q->ring);
	free(q);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Grows the ring for an oversized batch into an empty queue. */
static int ring_reserve(rfx_queue *q, size_t n)
{
	if (n <= q->ring_cap)
		return 0;
	struct rfx_queue_item *r = calloc(n, sizeof(*r));
	if (!r)
		return RFX_ENOMEM;
	free(q->ring); /* empty: nothing to copy */
	q->ring = r;
	q->ring_cap = n;
	q->head = 0;
	return 0;
}

int rfx_queue_push(rfx_queue *q, const struct rfx_queue_item *items, size_t n, int64_t timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (n == 0)
		return 0;
	if (timeout_ms > 0)
		deadline_after(&dl, timeout_ms);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->closed) {
			rc = RFX_ESTOPPED;
			goto out;
		}
		if (q->count + n <= q->cap || (q->count == 0 && n > q->cap))
			break;
		if (timeout_ms == 0) {
			rc = RFX_EFULL;
			goto out;
		}
		int w = timeout_ms < 0 ? pthread_cond_wait(&q->not_full, &q->lock)
				       : pthread_cond_timedwait(&q->not_full, &q->lock, &dl);
		if (w == ETIMEDOUT) {
			rc = RFX_EFULL;
			goto out;
		}
	}
	if (q->count == 0 && n > q->ring_cap && (rc = ring_reserve(q, n)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		q->ring[(q->head + q->count + i) % q->ring_cap] = items[i];
	q->count += n;
	pthread_cond_signal(&q->not_empty);
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

ssize_t rfx_queue_pop(rfx_queue *q, struct rfx_queue_item *out, size_t max, int64_t timeout_ms)
{
	struct timespec dl;
	ssize_t got = 0;

	if (timeout_ms > 0)
		deadline_after(&dl, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->count == 0) {
		if (q->closed) {
			got = -1;
			goto out;
		}
		if (timeout_ms == 0)
			goto out;
		int w = timeout_ms < 0 ? pthread_cond_wait(&q->not_empty, &q->lock)
				       : pthread_cond_timedwait(&q->not_empty, &q->lock, &dl);
		if (w == ETIMEDOUT && q->count == 0)
			goto out;
	}
	while ((size_t)got < max && q->count > 0) {
		out[got++] = q->ring[q->head];
		q->head = (q->head + 1) % q->ring_cap;
		q->count--;
	}
	if (q->count == 0)
		q->head = 0;
	if (q->count > 0)
		pthread_cond_signal(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
out:
	pthread_mutex_unlock(&q->lock);
	return got;
}

void rfx_queue_close(rfx_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_full);
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

size_t rfx_queue_depth(rfx_queue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t rfx_queue_capacity(const rfx_queue *q)
{
	return q->cap;
}
