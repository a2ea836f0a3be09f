/*
 * core/host.h - the host table handed to plugins, and plugin instances.
 *
 * An rfx_instance is one configured use of a plugin (inputs[0], the store,
 * ...). It carries the names used in log prefixes (kind:plugin:instance) and
 * metric labels, the data directory, and the links to the services the
 * host table exposes (pipeline for emit, HTTP server for routes, store for
 * kv state). The pipeline/http/store links may be NULL (tests, --describe):
 * the matching host calls then fail with RFX_EINVAL / RFX_ESTOPPED.
 */
#ifndef RFX_CORE_HOST_H
#define RFX_CORE_HOST_H

#include <reflex/plugin.h>

struct rfx_pipeline;
struct rfx_http;

struct rfx_instance {
	rfx_kind kind;
	char *plugin;    /* plugin name */
	char *name;      /* instance name */
	char *component; /* "input:webhook:hook", for logs */
	char *data_dir;  /* absolute */
	struct rfx_pipeline *pipeline; /* for emit; may be NULL */
	struct rfx_http *http;         /* for http_route; may be NULL */
	const rfx_store_ops *store;    /* for kv; may be NULL */
	void *store_state;
	rfx_metric *m_in;       /* reflex_events_in_total{input=name} */
	rfx_metric *m_rejected; /* reflex_events_rejected_total{input=name} */
};

/* The core's host table (static, lives for the process). */
const rfx_host *rfx_host_table(void);

/* A new instance with the given names; links are NULL. data_dir is copied
 * (NULL means "."). Free with rfx_instance_free(). */
rfx_instance *rfx_instance_new(rfx_kind kind, const char *plugin, const char *name,
			       const char *data_dir);
void rfx_instance_free(rfx_instance *inst);

const char *rfx_kind_name(rfx_kind k); /* "input", "output", ... */

#endif
