/*
 * fuzz/fuzz_webhook.c - libFuzzer target for the webhook input's whole
 * request path: content-type dispatch, JSON and form body parsing, HMAC
 * and basic/bearer auth, and every body format (json generic and mapped,
 * alertmanager, zabbix, nagios, grafana). The plugin runs as reflexd runs
 * it, through its descriptor, against a small host table built here from
 * the core's event code; emit takes the events and serialises each, so
 * whatever a decoder built is read in full.
 *
 * Input: byte 0 picks the instance (low bits) and the content type (top
 * bit: form instead of JSON); the rest is the request body.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "event.h"
#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
const rfx_plugin *rfx_plugin_entry(void);

struct rfx_http_request {
	const char *content_type;
	const char *authorization;
	const char *signature;
	const char *body;
	size_t len;
};

/* ---- the host table --------------------------------------------------------- */

static rfx_http_handler route_fn;
static void *route_arg;
static int dummy_metric;

static void h_log(rfx_instance *inst, int level, const char *fmt, ...)
{
}

static int h_emit(rfx_instance *inst, rfx_event **evs, size_t n, rfx_ack *ack)
{
	for (size_t i = 0; i < n; i++) {
		rfx_event_id_new(evs[i]->id);
		struct json_object *o = rfx_event_to_json(evs[i]);
		if (!o)
			__builtin_trap();
		const char *s = json_object_to_json_string(o);
		if (!s || !strlen(s))
			__builtin_trap();
		json_object_put(o);
		rfx_event_unref(evs[i]);
	}
	return 0;
}

static rfx_ack *h_ack_new(void)
{
	return malloc(1);
}

static int h_ack_wait(rfx_ack *ack, int64_t timeout_ms)
{
	return 0;
}

static void h_ack_free(rfx_ack *ack)
{
	free(ack);
}

static rfx_metric *h_metric(rfx_instance *inst, const char *name, const char *help)
{
	return (rfx_metric *)&dummy_metric;
}

static void h_metric_add(rfx_metric *m, double v)
{
}

static int h_route(rfx_instance *inst, const char *method, const char *path, rfx_role min_role,
		   rfx_http_handler fn, void *arg)
{
	route_fn = fn;
	route_arg = arg;
	return 0;
}

static const char *h_header(const rfx_http_request *req, const char *name)
{
	if (strcasecmp(name, "Content-Type") == 0)
		return req->content_type;
	if (strcasecmp(name, "Authorization") == 0)
		return req->authorization;
	if (strcasecmp(name, "X-Signature") == 0)
		return req->signature;
	return NULL;
}

static const char *h_body(const rfx_http_request *req, size_t *len)
{
	*len = req->len;
	return req->body;
}

static void h_http_error(rfx_http_response *resp, int status, const char *code, const char *fmt,
			 ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status < 400 || status > 599 || !code || !code[0])
		__builtin_trap(); /* an error path must answer with an error */
	free(resp->body);
	resp->status = status;
	resp->body = strdup(msg);
	resp->body_len = strlen(msg);
}

static int64_t h_now_ns(void)
{
	return 1700000000000000000LL;
}

static const rfx_host host = {
	.abi_major = RFX_ABI_MAJOR,
	.abi_minor = RFX_ABI_MINOR,
	.size = sizeof(rfx_host),
	.log = h_log,
	.emit = h_emit,
	.ack_new = h_ack_new,
	.ack_wait = h_ack_wait,
	.ack_free = h_ack_free,
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
	.now_ns = h_now_ns,
	.counter = h_metric,
	.gauge = h_metric,
	.metric_add = h_metric_add,
	.metric_set = h_metric_add,
	.http_route = h_route,
	.http_header = h_header,
	.http_body = h_body,
	.http_error = h_http_error,
};

/* ---- the instances ------------------------------------------------------------ */

enum { INSTANCES = 8 };
static struct webhook_config cfgs[INSTANCES];
static rfx_http_handler fns[INSTANCES];
static void *args[INSTANCES];

static char *sev_keys[] = {"disaster", "page"};
static char *sev_values[] = {"critical", "major"};
static char *map_keys[] = {"host", "check", "severity", "message", "status", "time", "value",
			   "fingerprint"};
static char *map_values[] = {"/target/host", "/alert/name", "/sev", "/text", "/state",
			     "/at", "/metric/value", "/id"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const rfx_plugin *p = rfx_plugin_entry();
	char err[256];

	for (int i = 0; i < INSTANCES; i++) {
		struct webhook_config *c = &cfgs[i];
		c->path = "/hook";
		c->max_events = 50;
		c->ack_timeout_ms = 1000;
		c->format = i < 5 ? i : 0;
		c->host_label = "instance";
		c->strip_port = true;
		c->severity_label = "severity";
		c->severity_map = (struct rfx_strmap){2, sev_keys, sev_values};
		if (i == 5) /* the json format's mapping mode */
			c->mapping = (struct rfx_strmap){8, map_keys, map_values};
		if (i == 6) {
			c->format = 1;
			c->auth.type = WEBHOOK_AUTH_HMAC;
			c->auth.secret = "fuzz-secret";
			c->auth.header = "X-Signature";
		}
		if (i == 7) {
			c->format = 3;
			c->auth.type = WEBHOOK_AUTH_BASIC;
			c->auth.username = "nagios";
			c->auth.password = "pw";
		}
		void *state = NULL;
		if (p->init(NULL, &host, c, &state, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_webhook: instance %d: %s\n", i, err);
			abort();
		}
		fns[i] = route_fn;
		args[i] = route_arg;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int i = (data[0] & 0x7f) % INSTANCES;
	struct rfx_http_request req = {
		.content_type = (data[0] & 0x80) ? "application/x-www-form-urlencoded"
						 : "application/json; charset=utf-8",
		/* right for instance 7, wrong for the HMAC one */
		.authorization = "Basic bmFnaW9zOnB3",
		.signature = "sha256=00ff",
		.body = (const char *)data + 1,
		.len = size - 1,
	};
	rfx_http_response resp = {.status = 200};

	fns[i](args[i], &req, &resp);
	if (resp.status < 200 || resp.status > 599)
		__builtin_trap();
	if (resp.body && strlen(resp.body) != resp.body_len)
		__builtin_trap();
	free(resp.body);
	return 0;
}
