/*
 * core/queue.h - a bounded multi-producer multi-consumer queue of events.
 *
 * Producers push a batch all-or-nothing (so an HTTP request is either
 * wholly queued or refused), waiting up to a timeout for room; consumers pop
 * batches. A batch larger than the capacity is admitted only into an empty
 * queue, so the bound is exceeded by at most one batch. Closing wakes
 * everyone: producers get RFX_ESTOPPED, consumers drain what is left.
 */
#ifndef RFX_CORE_QUEUE_H
#define RFX_CORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <reflex/event.h>

struct rfx_ack;

struct rfx_queue_item {
	rfx_event *ev;       /* one reference, owned by the queue while queued */
	struct rfx_ack *ack; /* may be NULL */
	uint64_t id;         /* output queues: the outbox entry (0 = none) */
	int64_t created_ns;  /* output queues: when the delivery was recorded */
};

typedef struct rfx_queue rfx_queue;

rfx_queue *rfx_queue_new(size_t capacity);
/* Frees the queue; items still in it are NOT released (drain first). */
void rfx_queue_free(rfx_queue *q);
/* 0 (all queued), RFX_EFULL (no room within timeout_ms; nothing queued),
 * RFX_ESTOPPED (closed). timeout_ms 0 = do not wait, < 0 = wait forever. */
int rfx_queue_push(rfx_queue *q, const struct rfx_queue_item *items, size_t n,
		   int64_t timeout_ms);
/* Pops up to max items into out, waiting up to timeout_ms for the first.
 * Returns the count, 0 on timeout, -1 when closed and empty. */
ssize_t rfx_queue_pop(rfx_queue *q, struct rfx_queue_item *out, size_t max, int64_t timeout_ms);
void rfx_queue_close(rfx_queue *q);
size_t rfx_queue_depth(rfx_queue *q);
size_t rfx_queue_capacity(const rfx_queue *q);

#endif
