/*
 * core/pipeline.h - the event pipeline: the bounded ingress queue, worker
 * threads that take batches through normalize -> store -> routing, and one
 * delivery thread per output with its own bounded queue.
 *
 * Inputs call rfx_pipeline_emit (through host->emit). An event is durable
 * once the store's put_events returned 0 for its batch; then its ack is
 * signalled and it is routed to every output whose match expression holds.
 */
#ifndef RFX_CORE_PIPELINE_H
#define RFX_CORE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>
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
	unsigned output_retries; /* attempts after RETRY before dropping */
};

/* An output as the pipeline sees it. The pipeline does not own the plugin
 * state; it calls handle() from the output's delivery thread. */
struct rfx_output_spec {
	const char *name;
	const rfx_plugin *plugin;
	void *state;
	const rfx_expr *match; /* NULL = everything */
};

struct rfx_pipeline;

struct rfx_pipeline *rfx_pipeline_new(const struct rfx_pipeline_opts *o,
				      const rfx_store_ops *store, void *store_state);
/* Adds an output before rfx_pipeline_start. 0 or RFX_ENOMEM. */
int rfx_pipeline_add_output(struct rfx_pipeline *p, const struct rfx_output_spec *spec);
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
