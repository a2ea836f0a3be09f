/*
 * core/pipeline.h - the event pipeline: the bounded ingress queue, worker
 * threads that take batches through normalize -> routing -> store, and one
 * deliverer per output (delivery.h).
 *
 * Inputs call rfx_pipeline_emit (through host->emit). Each event of a batch
 * is routed to every output whose match expression holds, and the batch is
 * stored with its outbox entries in one transaction; once that committed
 * the acks are signalled and the deliverers get their entries.
 */
#ifndef RFX_CORE_PIPELINE_H
#define RFX_CORE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>
#include "delivery.h" /* struct rfx_output_spec */
#include "stages.h"
#include "expr.h"

enum rfx_full_policy {
	RFX_FULL_BLOCK = 0, /* producers wait up to block_timeout, then EFULL */
	RFX_FULL_DROP = 1,  /* less severe than drop_below: EFULL at once */
};

struct rfx_pipeline_opts {
	size_t queue_size;      /* ingress capacity in events */
	int full_policy;        /* enum rfx_full_policy */
	int drop_below;         /* severity number; with DROP, events with a
	                           larger number (less severe) are shed */
	int64_t block_timeout_ms;
	size_t batch_size;      /* events per store transaction, max */
	unsigned workers;
	size_t output_queue_size;
	struct rfx_stages *stages; /* borrowed; NULL = defaults only */
};

struct rfx_pipeline;

struct rfx_pipeline *rfx_pipeline_new(const struct rfx_pipeline_opts *o,
				      const rfx_store_ops *store, void *store_state);
/* Adds an output before rfx_pipeline_start. 0 or RFX_ENOMEM. */
int rfx_pipeline_add_output(struct rfx_pipeline *p, const struct rfx_output_spec *spec);
/* The deliverer of output `name`, or NULL (for the deliveries API). */
struct rfx_deliverer *rfx_pipeline_output(struct rfx_pipeline *p, const char *name);
/* True when the store keeps an outbox (deliveries survive restarts). */
bool rfx_pipeline_durable_outputs(const struct rfx_pipeline *p);
int rfx_pipeline_start(struct rfx_pipeline *p);
/* Closes the ingress queue, lets the workers store everything queued,
 * then drains the output queues and joins all threads. */
void rfx_pipeline_stop(struct rfx_pipeline *p);
void rfx_pipeline_free(struct rfx_pipeline *p);

/* host->emit. Takes ownership of the events. */
int rfx_pipeline_emit(struct rfx_pipeline *p, rfx_instance *inst, rfx_event **evs, size_t n,
		      rfx_ack *ack);

rfx_ack *rfx_ack_new(void);
int rfx_ack_wait(rfx_ack *ack, int64_t timeout_ms);
void rfx_ack_free(rfx_ack *ack);

#endif
