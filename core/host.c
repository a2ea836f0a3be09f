/*
 * core/host.c - the host table handed to every plugin's init(), and plugin
 * instances. Each entry forwards to the core module that owns the service,
 * adding the instance's identity (log prefix, metric labels, kv namespace).
 */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "timer.h"

static const char *const kind_names[] = {
	[RFX_KIND_INPUT] = "input",       [RFX_KIND_FILTER] = "filter",
	[RFX_KIND_CORRELATOR] = "correlator", [RFX_KIND_ANALYZER] = "analyzer",
	[RFX_KIND_ACTION] = "action",     [RFX_KIND_OUTPUT] = "output",
	[RFX_KIND_ITSM] = "itsm",         [RFX_KIND_STORE] = "store",
};

const char *rfx_kind_name(rfx_kind k)
{
	if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[k])
		return kind_names[k];
	return "unknown";
}

rfx_instance *rfx_instance_new(rfx_kind kind, const char *plugin, const char *name,
			       const char *data_dir)
{
	rfx_instance *inst = calloc(1, sizeof(*inst));
	char lbl[256];

	if (!inst)
		return NULL;
	inst->kind = kind;
	inst->plugin = strdup(plugin);
	inst->name = strdup(name);
	inst->data_dir = strdup(data_dir ? data_dir : ".");
	if (asprintf(&inst->component, "%s:%s:%s", rfx_kind_name(kind), plugin, name) < 0)
		inst->component = NULL;
	if (!inst->plugin || !inst->name || !inst->data_dir || !inst->component) {
		rfx_instance_free(inst);
		return NULL;
	}
	if (kind == RFX_KIND_INPUT) {
		snprintf(lbl, sizeof(lbl), "input=\"%s\"", name);
		inst->m_in = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_in_total",
					    "Events accepted into the pipeline, per input", lbl);
		inst->m_rejected = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_rejected_total",
						  "Events refused at the ingress queue (sender told "
						  "to retry, or shed by severity), per input",
						  lbl);
	}
	return inst;
}

void rfx_instance_free(rfx_instance *inst)
{
	if (!inst)
		return;
	free(inst->plugin);
	free(inst->name);
	free(inst->component);
	free(inst->data_dir);
	free(inst);
}

/* ---- host functions -------------------------------------------------------- */

static void h_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rfx_logv(level, inst ? inst->component : "plugin", fmt, ap);
	va_end(ap);
}

static int h_emit(rfx_instance *inst, rfx_event **evs, size_t n, rfx_ack *ack)
{
	if (!inst || !inst->pipeline) {
		for (size_t i = 0; i < n; i++)
			rfx_event_unref(evs[i]);
		return RFX_ESTOPPED;
	}
	return rfx_pipeline_emit(inst->pipeline, inst, evs, n, ack);
}

static rfx_timer *h_timer_add(rfx_instance *inst, int64_t interval_ms, void (*cb)(void *),
			      void *arg)
{
	return rfx_timer_add(inst, interval_ms, cb, arg);
}

static rfx_metric *instance_metric(rfx_instance *inst, enum rfx_metric_type type,
				   const char *name, const char *help)
{
	char full[256], lbl[256];
	if (!inst || !name)
		return NULL;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
			return NULL;
	snprintf(full, sizeof(full), "reflex_%s_%s_%s", rfx_kind_name(inst->kind), inst->plugin,
		 name);
	snprintf(lbl, sizeof(lbl), "instance=\"%s\"", inst->name);
	return rfx_metric_get(type, full, help, lbl);
}

static rfx_metric *h_counter(rfx_instance *inst, const char *name, const char *help)
{
	return instance_metric(inst, RFX_METRIC_COUNTER, name, help);
}

static rfx_metric *h_gauge(rfx_instance *inst, const char *name, const char *help)
{
	return instance_metric(inst, RFX_METRIC_GAUGE, name, help);
}

static int h_http_route(rfx_instance *inst, const char *method, const char *path,
			rfx_role min_role, rfx_http_handler fn, void *arg)
{
	if (!inst || !inst->http)
		return RFX_EINVAL;
	return rfx_http_route(inst->http, method, path, min_role, fn, arg, inst->component);
}

static int h_kv_get(rfx_instance *inst, const char *key, char **value)
{
	if (!inst || !inst->store || !inst->store->kv_get)
		return RFX_EINVAL;
	return inst->store->kv_get(inst->store_state, inst->component, key, value);
}

static int h_kv_put(rfx_instance *inst, const char *key, const char *value)
{
	if (!inst || !inst->store || !inst->store->kv_put)
		return RFX_EINVAL;
	return inst->store->kv_put(inst->store_state, inst->component, key, value);
}

static int h_kv_del(rfx_instance *inst, const char *key)
{
	if (!inst || !inst->store || !inst->store->kv_del)
		return RFX_EINVAL;
	return inst->store->kv_del(inst->store_state, inst->component, key);
}

static const char *h_instance_name(const rfx_instance *inst)
{
	return inst ? inst->name : "";
}

static const char *h_data_dir(const rfx_instance *inst)
{
	return inst ? inst->data_dir : ".";
}

static void h_http_error(rfx_http_response *resp, int status, const char *code,
			 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rfx_http_errorv(resp, status, code, fmt, ap);
	va_end(ap);
}

static const rfx_host host_table = {
	.abi_major = RFX_ABI_MAJOR,
	.abi_minor = RFX_ABI_MINOR,
	.size = sizeof(rfx_host),
	.log = h_log,
	.emit = h_emit,
	.ack_new = rfx_ack_new,
	.ack_wait = rfx_ack_wait,
	.ack_free = rfx_ack_free,
	.event_new = rfx_event_new,
	.event_ref = rfx_event_ref,
	.event_unref = rfx_event_unref,
	.event_set = rfx_event_set,
	.event_label_set = rfx_event_label_set,
	.event_label_get = rfx_event_label_get,
	.event_from_json = rfx_event_from_json,
	.event_to_json = rfx_event_to_json,
	.severity_parse = rfx_severity_parse,
	.severity_name = rfx_severity_name,
	.now_ns = rfx_now_ns,
	.timer_add = h_timer_add,
	.timer_cancel = rfx_timer_cancel,
	.counter = h_counter,
	.gauge = h_gauge,
	.metric_add = rfx_metric_add,
	.metric_set = rfx_metric_set,
	.http_route = h_http_route,
	.http_header = rfx_http_req_header,
	.http_query = rfx_http_req_query,
	.http_body = rfx_http_req_body,
	.http_method = rfx_http_req_method,
	.http_error = h_http_error,
	.kv_get = h_kv_get,
	.kv_put = h_kv_put,
	.kv_del = h_kv_del,
	.instance_name = h_instance_name,
	.data_dir = h_data_dir,
};

const rfx_host *rfx_host_table(void)
{
	return &host_table;
}
