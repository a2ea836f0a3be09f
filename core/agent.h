/*
 * core/agent.h - a running agent built from a validated configuration:
 * data directory, store, outputs, pipeline, HTTP API and inputs, started in
 * dependency order and stopped in reverse so that nothing in flight is lost:
 * the API stops taking requests, inputs stop, the pipeline stores what is
 * queued and drains the outputs, then the store closes.
 */
#ifndef RFX_CORE_AGENT_H
#define RFX_CORE_AGENT_H

#include "conf.h"

struct rfx_agent;

/* Starts an agent on conf (borrowed; must outlive the agent). NULL with
 * the reason logged. */
struct rfx_agent *rfx_agent_start(const struct rfx_conf *conf);
/* Graceful stop and free. */
void rfx_agent_stop(struct rfx_agent *a);

#endif
