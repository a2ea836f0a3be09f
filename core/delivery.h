/*
 * core/delivery.h - the delivery side of the pipeline: one deliverer per
 * output, with its own thread, working off the store's outbox.
 *
 * A delivery is recorded in the outbox in the same transaction as its
 * event (rfx_store_ops.put_batch), handed to the output's deliverer, and
 * removed only once the output's handle() returned OK (or DROP: declined).
 * RETRY schedules the next attempt with exponential backoff and jitter, or
 * after the receiver's Retry-After; the retry budget (attempts, age) ends
 * in the dead-letter state, which the API lists and can replay. A circuit
 * breaker pauses an output whose receiver keeps failing. After a restart,
 * the pending entries of the outbox are attempted again: delivery is at
 * least once, and rfx_delivery.id is the idempotency key receivers can use.
 *
 * With a store that has no outbox (an older store plugin), deliveries live
 * in memory only and are lost on restart; the agent says so at start.
 */
#ifndef RFX_CORE_DELIVERY_H
#define RFX_CORE_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>
#include "expr.h"

/* The `delivery:` section of an output instance. */
struct rfx_delivery_conf {
	int64_t max_attempts;
	int64_t initial_backoff_ms;
	int64_t max_backoff_ms;
	int64_t max_age_ms;         /* 0 = no age limit */
	int64_t max_retry_after_ms; /* a longer Retry-After is cut to this */
	int64_t breaker_failures;   /* consecutive RETRYs that open it; 0 = off */
	int64_t breaker_cooldown_ms;
	int64_t drain_timeout_ms;   /* at stop, time to deliver what is queued */
	int64_t concurrency;        /* attempts at once (RFX_CAP_CONCURRENT plugins) */
};

extern const rfx_option rfx_delivery_options[];

/* True when the store plugin keeps an outbox (ABI 1.3 store ops): then
 * deliveries are durable, written with their events. */
bool rfx_store_has_outbox(const rfx_store_ops *store);

/* The `grouping:` section of an output: Alertmanager's grouping. With `by`
 * set, deliveries gather per group and go out as notices (RFX_REC_NOTICE):
 * a new group waits `wait`, later changes wait until `interval` after the
 * last notice, a still-firing group is notified again after `repeat`, and
 * a resolution goes out at once. */
struct rfx_group_conf {
	struct rfx_strlist by; /* label names, or host/service/check/source/kind */
	int64_t wait_ms;
	int64_t interval_ms;
	int64_t repeat_ms;
	int64_t max_events; /* events in one notice */
};

extern const rfx_option rfx_group_options[];

/* An output as the pipeline sees it. The pipeline does not own the plugin
 * state; the deliverer calls handle() from its own thread. */
struct rfx_output_spec {
	const char *name;
	const rfx_plugin *plugin;
	void *state;
	const rfx_expr *match;                  /* NULL = everything */
	const struct rfx_delivery_conf *delivery; /* NULL = defaults */
	const struct rfx_group_conf *group;       /* NULL or no `by` = per event */
};

struct rfx_deliverer;

/* store/store_state may lack the outbox (in-memory deliveries). */
struct rfx_deliverer *rfx_deliverer_new(const struct rfx_output_spec *spec,
					const rfx_store_ops *store, void *store_state,
					size_t queue_size);
/* Loads the output's pending outbox entries, then starts the thread. Call
 * before any offer, so a fresh entry is never also loaded as pending. */
int rfx_deliverer_start(struct rfx_deliverer *d);
/* Delivers what is queued (for up to drain_timeout), leaves the rest in
 * the outbox, and joins the thread. */
void rfx_deliverer_stop(struct rfx_deliverer *d);
void rfx_deliverer_free(struct rfx_deliverer *d);

const char *rfx_deliverer_name(const struct rfx_deliverer *d);
const struct rfx_output_spec *rfx_deliverer_spec(const struct rfx_deliverer *d);
/* True when deliveries survive a restart (the store has an outbox). */
bool rfx_deliverer_durable(const struct rfx_deliverer *d);

/* Hands over a stored event and its outbox entry (entry_id 0: not durable).
 * Takes one reference to ev. Never blocks: when the queue is full the
 * entry stays in the outbox and is picked up later (in-memory deliveries
 * are then lost, and counted). */
void rfx_deliverer_offer(struct rfx_deliverer *d, rfx_event *ev, uint64_t entry_id,
			 int64_t created_ns);
/* An outbox entry of this output was made pending again (API replay). */
void rfx_deliverer_wake(struct rfx_deliverer *d, uint64_t entry_id);

/* The next attempt's delay after `attempts` failed ones: exponential from
 * initial_backoff, capped at max_backoff, with "equal jitter" (half fixed,
 * half random) so a receiver coming back is not hit by every retry at
 * once. r in [0, 1) is the random draw. Exposed for tests. */
int64_t rfx_delivery_backoff_ms(const struct rfx_delivery_conf *c, uint32_t attempts, double r);

#endif
