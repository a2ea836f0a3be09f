/*
 * core/api.h - the core's REST routes: /healthz, /metrics,
 * /api/v1/openapi.json, GET /api/v1/events and GET /api/v1/events/{id},
 * and the deliveries of the outbox (api_deliveries.c).
 * (POST /api/v1/events/webhook belongs to the webhook input plugin.)
 */
#ifndef RFX_CORE_API_H
#define RFX_CORE_API_H

#include <reflex/plugin.h>
#include "http.h"

struct rfx_api_ctx {
	const rfx_store_ops *store; /* the store plugin's ops */
	void *store_state;
	const char *agent_name;
	const char *version;
	/* Health: 0 = ok; otherwise a static reason ("store unavailable"). */
	const char *(*health)(void *arg);
	void *health_arg;
	struct rfx_pipeline *pipeline; /* for replaying deliveries */
	struct rfx_stages *stages;     /* silences, maintenance, templates */
};

/* Registers the routes; ctx must outlive the server. 0 or RFX_EINVAL. */
int rfx_api_register(rfx_http *h, struct rfx_api_ctx *ctx);
/* The /api/v1/deliveries routes (api_deliveries.c), called by the above. */
int rfx_api_deliveries_register(rfx_http *h, struct rfx_api_ctx *ctx);
/* /api/v1/silences, /api/v1/maintenance, /api/v1/templates (api_noise.c). */
int rfx_api_noise_register(rfx_http *h, struct rfx_api_ctx *ctx);

#endif
