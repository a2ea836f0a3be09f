/*
 * core/api.c - the core's REST routes (see api.h): health, metrics, the
 * OpenAPI document and reading events back from the store. Query
 * parameters are validated strictly: an unknown or malformed one is a 400
 * that names it, never silently ignored.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "event.h"
#include "metrics.h"
#include "schema.h"

#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX 1000
#define API_PARAM_MAX 512 /* bytes of one query parameter value */
#define API_STORE_RETRY_S 1

/* ---- OpenAPI ------------------------------------------------------------ */

static const char openapi_doc[] =
	"{\"openapi\":\"3.0.3\","
	"\"info\":{\"title\":\"reflex API\",\"version\":\"1\","
	"\"description\":\"Event intake and query API of the reflex operations agent. "
	"With tokens configured, requests carry 'Authorization: Bearer TOKEN'; roles are "
	"viewer < operator < admin.\"},"
	"\"servers\":[{\"url\":\"/\"}],"
	"\"security\":[{\"bearerAuth\":[]}],"
	"\"paths\":{"
	/* webhook */
	"\"/api/v1/events/webhook\":{\"post\":{"
	"\"summary\":\"Submit events (generic JSON form)\","
	"\"description\":\"Accepts one event object or an array of them. 202 means the events "
	"are durable. Needs the operator role.\","
	"\"operationId\":\"postEvents\","
	"\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
	"\"oneOf\":[{\"$ref\":\"#/components/schemas/EventInput\"},"
	"{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/EventInput\"}}]}}}},"
	"\"responses\":{"
	"\"202\":{\"description\":\"Accepted and durable\",\"content\":{\"application/json\":"
	"{\"schema\":{\"$ref\":\"#/components/schemas/Accepted\"}}}},"
	"\"400\":{\"$ref\":\"#/components/responses/BadRequest\"},"
	"\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
	"\"403\":{\"$ref\":\"#/components/responses/Forbidden\"},"
	"\"413\":{\"description\":\"Body larger than the configured limit\",\"content\":"
	"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"415\":{\"description\":\"Content-Type is not application/json\",\"content\":"
	"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"422\":{\"description\":\"Valid JSON that is not a valid event; the message names "
	"the field\",\"content\":{\"application/json\":{\"schema\":"
	"{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"503\":{\"$ref\":\"#/components/responses/Unavailable\"}}}},"
	/* list */
	"\"/api/v1/events\":{\"get\":{"
	"\"summary\":\"List stored events, newest first\","
	"\"operationId\":\"listEvents\","
	"\"parameters\":["
	"{\"name\":\"host\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"service\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"check\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"source\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"fingerprint\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"severity\",\"in\":\"query\",\"description\":\"A severity name or 0-7: "
	"events at least this severe\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"status\",\"in\":\"query\",\"schema\":{\"type\":\"string\","
	"\"enum\":[\"firing\",\"resolved\"]}},"
	"{\"name\":\"since\",\"in\":\"query\",\"description\":\"RFC 3339 time or a duration "
	"before now such as 15m\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"until\",\"in\":\"query\",\"description\":\"RFC 3339 time or a duration "
	"before now (exclusive)\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"q\",\"in\":\"query\",\"description\":\"Text found in check, message or "
	"host\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"
	"\"maximum\":1000,\"default\":100}},"
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "
	"page\",\"schema\":{\"type\":\"string\"}}],"
	"\"responses\":{"
	"\"200\":{\"description\":\"A page of events\",\"content\":{\"application/json\":"
	"{\"schema\":{\"$ref\":\"#/components/schemas/EventPage\"}}}},"
	"\"400\":{\"$ref\":\"#/components/responses/BadRequest\"},"
	"\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
	"\"403\":{\"$ref\":\"#/components/responses/Forbidden\"},"
	"\"503\":{\"$ref\":\"#/components/responses/Unavailable\"}}}},"
	/* get */
	"\"/api/v1/events/{id}\":{\"get\":{"
	"\"summary\":\"One stored event\","
	"\"operationId\":\"getEvent\","
	"\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":"
	"{\"type\":\"string\",\"pattern\":\"^[0-7][0-9A-HJKMNP-TV-Z]{25}$\"}}],"
	"\"responses\":{"
	"\"200\":{\"description\":\"The event\",\"content\":{\"application/json\":"
	"{\"schema\":{\"$ref\":\"#/components/schemas/Event\"}}}},"
	"\"400\":{\"$ref\":\"#/components/responses/BadRequest\"},"
	"\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
	"\"403\":{\"$ref\":\"#/components/responses/Forbidden\"},"
	"\"404\":{\"description\":\"No such event\",\"content\":{\"application/json\":"
	"{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"503\":{\"$ref\":\"#/components/responses/Unavailable\"}}}},"
	/* deliveries (api_deliveries.c, docs/delivery.md) */
	"\"/api/v1/deliveries\":{\"get\":{\"summary\":\"Pending and dead deliveries of the "
	"outbox\",\"operationId\":\"listDeliveries\",\"parameters\":["
	"{\"name\":\"state\",\"in\":\"query\",\"schema\":{\"type\":\"string\","
	"\"enum\":[\"pending\",\"dead\",\"any\"]}},"
	"{\"name\":\"output\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"after\",\"in\":\"query\",\"schema\":{\"type\":\"integer\"}},"
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
	"\"minimum\":1,\"maximum\":1000}}],"
	"\"responses\":{\"200\":{\"description\":\"{deliveries: [...], next_after}\"},"
	"\"400\":{\"$ref\":\"#/components/responses/BadRequest\"},"
	"\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"}}}},"
	"\"/api/v1/deliveries/{id}\":{\"get\":{\"summary\":\"One delivery\","
	"\"operationId\":\"getDelivery\",\"parameters\":[{\"name\":\"id\",\"in\":\"path\","
	"\"required\":true,\"schema\":{\"type\":\"integer\"}}],"
	"\"responses\":{\"200\":{\"description\":\"The delivery\"},"
	"\"404\":{\"description\":\"Delivered, or no such delivery\"}}}},"
	"\"/api/v1/deliveries/{id}/retry\":{\"post\":{\"summary\":\"Replay a dead delivery "
	"(operator)\",\"operationId\":\"retryDelivery\",\"parameters\":[{\"name\":\"id\","
	"\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"integer\"}}],"
	"\"responses\":{\"202\":{\"description\":\"Pending again, attempted at once\"},"
	"\"404\":{\"description\":\"No such delivery\"},"
	"\"409\":{\"description\":\"Pending already, or its output is gone\"}}}},"
	/* silences, maintenance windows, templates (api_noise.c, docs/noise.md) */
	"\"/api/v1/silences\":{\"get\":{\"summary\":\"Silences, newest first\","
	"\"operationId\":\"listSilences\",\"responses\":{\"200\":{\"description\":"
	"\"Array of silences\"}}},\"post\":{\"summary\":\"Create or update a silence "
	"(operator)\",\"operationId\":\"postSilence\",\"responses\":{\"200\":"
	"{\"description\":\"{silenceID}\"},\"400\":{\"$ref\":"
	"\"#/components/responses/BadRequest\"},\"404\":{\"description\":\"Unknown id\"},"
	"\"409\":{\"description\":\"Too many silences\"}}}},"
	"\"/api/v1/silences/{id}\":{\"get\":{\"summary\":\"One silence\","
	"\"operationId\":\"getSilence\",\"parameters\":[{\"name\":\"id\",\"in\":\"path\","
	"\"required\":true,\"schema\":{\"type\":\"string\"}}],\"responses\":{\"200\":"
	"{\"description\":\"The silence\"},\"404\":{\"description\":\"No such silence\"}}},"
	"\"delete\":{\"summary\":\"Expire a silence (operator)\",\"operationId\":"
	"\"expireSilence\",\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":"
	"true,\"schema\":{\"type\":\"string\"}}],\"responses\":{\"200\":{\"description\":"
	"\"Expired\"},\"404\":{\"description\":\"No such silence\"}}}},"
	"\"/api/v1/maintenance\":{\"get\":{\"summary\":\"Maintenance windows\","
	"\"operationId\":\"listMaintenance\",\"responses\":{\"200\":{\"description\":"
	"\"Array of windows, with origin and active\"}}},\"post\":{\"summary\":\"Create or "
	"replace a window (operator)\",\"operationId\":\"postMaintenance\",\"responses\":"
	"{\"200\":{\"description\":\"{name}\"},\"400\":{\"$ref\":"
	"\"#/components/responses/BadRequest\"}}}},"
	"\"/api/v1/maintenance/{name}\":{\"delete\":{\"summary\":\"Delete a window made "
	"through the API (operator)\",\"operationId\":\"deleteMaintenance\",\"parameters\":"
	"[{\"name\":\"name\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
	"\"string\"}}],\"responses\":{\"200\":{\"description\":\"Deleted\"},\"400\":"
	"{\"description\":\"A window from the configuration file\"},\"404\":{\"description\":"
	"\"No such window\"}}}},"
	"\"/api/v1/templates\":{\"get\":{\"summary\":\"Message templates of this run, or "
	"the signature store with stored=true\",\"operationId\":\"listTemplates\","
	"\"parameters\":[{\"name\":\"stored\",\"in\":\"query\",\"schema\":{\"type\":"
	"\"string\",\"enum\":[\"true\"]}}],\"responses\":{\"200\":{\"description\":"
	"\"{templates: [...]} or {signatures: {...}}\"}}}},"
	/* health */
	"\"/healthz\":{\"get\":{"
	"\"summary\":\"Liveness and store health\",\"security\":[],"
	"\"operationId\":\"health\","
	"\"responses\":{"
	"\"200\":{\"description\":\"Healthy\",\"content\":{\"application/json\":{\"schema\":{"
	"\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"ok\"]},"
	"\"agent\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"},"
	"\"events\":{\"type\":\"integer\"}}}}}},"
	"\"503\":{\"description\":\"Unhealthy\",\"content\":{\"application/json\":{\"schema\":{"
	"\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\","
	"\"enum\":[\"unavailable\"]},\"reason\":{\"type\":\"string\"}}}}}}}}},"
	/* metrics */
	"\"/metrics\":{\"get\":{"
	"\"summary\":\"Prometheus metrics (text format 0.0.4)\","
	"\"operationId\":\"metrics\","
	"\"responses\":{"
	"\"200\":{\"description\":\"Metrics\",\"content\":{\"text/plain\":{\"schema\":"
	"{\"type\":\"string\"}}}},"
	"\"401\":{\"$ref\":\"#/components/responses/Unauthorized\"},"
	"\"403\":{\"$ref\":\"#/components/responses/Forbidden\"}}}}"
	"},"
	"\"components\":{"
	"\"securitySchemes\":{\"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\"}},"
	"\"responses\":{"
	"\"BadRequest\":{\"description\":\"Malformed request; the message names the "
	"parameter or field\",\"content\":{\"application/json\":{\"schema\":"
	"{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"Unauthorized\":{\"description\":\"Missing or unknown bearer token\",\"headers\":"
	"{\"WWW-Authenticate\":{\"schema\":{\"type\":\"string\"}}},\"content\":"
	"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"Forbidden\":{\"description\":\"The token's role is too small\",\"content\":"
	"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}},"
	"\"Unavailable\":{\"description\":\"Store unavailable or queue full; retry later\","
	"\"headers\":{\"Retry-After\":{\"description\":\"Seconds to wait\",\"schema\":"
	"{\"type\":\"integer\"}}},\"content\":{\"application/json\":{\"schema\":"
	"{\"$ref\":\"#/components/schemas/Error\"}}}}},"
	"\"schemas\":{"
	"\"Severity\":{\"oneOf\":[{\"type\":\"string\",\"enum\":[\"emergency\",\"alert\","
	"\"critical\",\"error\",\"warning\",\"notice\",\"info\",\"debug\"]},"
	"{\"type\":\"integer\",\"minimum\":0,\"maximum\":7}]},"
	"\"EventInput\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
	"\"host\":{\"type\":\"string\"},\"service\":{\"type\":\"string\"},"
	"\"check\":{\"type\":\"string\"},"
	"\"severity\":{\"$ref\":\"#/components/schemas/Severity\"},"
	"\"status\":{\"type\":\"string\",\"enum\":[\"firing\",\"resolved\"]},"
	"\"message\":{\"type\":\"string\"},"
	"\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	"\"attrs\":{\"type\":\"object\"},"
	"\"time\":{\"type\":\"string\",\"format\":\"date-time\"},"
	"\"fingerprint\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},"
	"\"value\":{\"type\":\"number\"}}},"
	"\"Event\":{\"type\":\"object\",\"required\":[\"id\",\"received\",\"severity\","
	"\"status\"],\"properties\":{"
	"\"id\":{\"type\":\"string\",\"description\":\"ULID\"},"
	"\"time\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
	"\"received\":{\"type\":\"string\",\"format\":\"date-time\"},"
	"\"source\":{\"type\":\"string\",\"nullable\":true,"
	"\"description\":\"input instance that received it\"},"
	"\"kind\":{\"type\":\"string\",\"nullable\":true},"
	"\"host\":{\"type\":\"string\",\"nullable\":true},"
	"\"service\":{\"type\":\"string\",\"nullable\":true},"
	"\"check\":{\"type\":\"string\",\"nullable\":true},"
	"\"severity\":{\"type\":\"string\",\"enum\":[\"emergency\",\"alert\",\"critical\","
	"\"error\",\"warning\",\"notice\",\"info\",\"debug\"]},"
	"\"status\":{\"type\":\"string\",\"enum\":[\"firing\",\"resolved\"]},"
	"\"message\":{\"type\":\"string\",\"nullable\":true},"
	"\"fingerprint\":{\"type\":\"string\",\"nullable\":true},"
	"\"value\":{\"type\":\"number\",\"nullable\":true},"
	"\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	"\"attrs\":{\"type\":\"object\"}}},"
	"\"EventPage\":{\"type\":\"object\",\"required\":[\"events\",\"next_cursor\"],"
	"\"properties\":{\"events\":{\"type\":\"array\",\"items\":"
	"{\"$ref\":\"#/components/schemas/Event\"}},"
	"\"next_cursor\":{\"type\":\"string\",\"nullable\":true}}},"
	"\"Accepted\":{\"type\":\"object\",\"required\":[\"accepted\",\"ids\"],\"properties\":{"
	"\"accepted\":{\"type\":\"integer\"},"
	"\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
	"\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
	"\"type\":\"object\",\"required\":[\"status\",\"code\",\"message\"],\"properties\":{"
	"\"status\":{\"type\":\"integer\"},\"code\":{\"type\":\"string\"},"
	"\"message\":{\"type\":\"string\"}}}}}"
	"}}}";

static void api_openapi(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	resp->body = strdup(openapi_doc);
	if (!resp->body) {
		rfx_http_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp->body_len = sizeof(openapi_doc) - 1;
	resp->status = 200;
	resp->content_type = "application/json";
}

/* ---- health and metrics ------------------------------------------------- */

static void api_unavailable(rfx_http_response *resp, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		rfx_http_error(resp, 503, "unavailable", "%s", reason);
		return;
	}
	json_object_object_add(o, "status", json_object_new_string("unavailable"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	rfx_http_json(resp, 503, o);
	resp->retry_after = API_STORE_RETRY_S;
	json_object_put(o);
}

static void api_healthz(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	const char *reason = ctx->health ? ctx->health(ctx->health_arg) : NULL;
	struct json_object *o;
	uint64_t n = 0;

	if (reason) {
		api_unavailable(resp, reason);
		return;
	}
	if (!ctx->store || !ctx->store->count_events) {
		api_unavailable(resp, "no store configured");
		return;
	}
	if (ctx->store->count_events(ctx->store_state, &n) != 0) {
		api_unavailable(resp, "store: cannot count events");
		return;
	}
	o = json_object_new_object();
	if (!o) {
		rfx_http_error(resp, 500, "internal", "out of memory");
		return;
	}
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "agent",
			       json_object_new_string(ctx->agent_name ? ctx->agent_name : ""));
	json_object_object_add(o, "version",
			       json_object_new_string(ctx->version ? ctx->version : ""));
	json_object_object_add(o, "events", json_object_new_int64((int64_t)n));
	rfx_http_json(resp, 200, o);
	json_object_put(o);
}

static void api_metrics(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	rfx_buf b;
	size_t len;

	rfx_buf_init(&b);
	rfx_metrics_render(&b);
	resp->body = rfx_buf_take(&b, &len);
	if (!resp->body) {
		rfx_http_error(resp, 500, "internal", "out of memory rendering metrics");
		return;
	}
	resp->body_len = len;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
}

/* ---- events ------------------------------------------------------------- */

static void store_failed(rfx_http_response *resp, int rc)
{
	rfx_http_error(resp, 503, "store_unavailable", "the event store failed (%d); retry later",
		       rc);
	resp->retry_after = API_STORE_RETRY_S;
}

/* ULIDs are 26 Crockford base32 characters whose first one is 0-7 (128
 * bits). Upper-cases id in place; false when it is no ULID. */
static bool ulid_normalize(char *id)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	size_t n = strlen(id);

	if (n != RFX_EVENT_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (id[i] >= 'a' && id[i] <= 'z')
			id[i] = (char)(id[i] - 'a' + 'A');
		if (!id[i] || !strchr(alphabet, id[i]))
			return false;
	}
	return id[0] >= '0' && id[0] <= '7';
}

/* State of parsing the query parameters of GET /api/v1/events. */
struct list_args {
	rfx_event_query *q;
	char *cursor; /* RFX_EVENT_ID_LEN + 1 bytes */
	rfx_http_response *resp;
	unsigned seen; /* bit per known parameter, to refuse repeats */
};

static const char *const list_params[] = {
	"host", "service", "check", "source", "fingerprint", "severity", "status",
	"since", "until", "q", "limit", "cursor", NULL,
};

/* RFC 3339, or a duration meaning that long before now. */
static int parse_when(const char *v, int64_t now, int64_t *ns)
{
	int64_t ms;

	if (rfx_time_parse(v, ns) == 0)
		return 0;
	if (rfx_parse_duration(v, &ms) == 0 && ms >= 0) {
		*ns = now - ms * 1000000;
		return 0;
	}
	return -1;
}

/* Puts one query parameter into a->q. Strings in q point into the request
 * (or into a->cursor); on error fills a->resp and returns -1. */
static int list_param(void *arg, const char *key, const char *v)
{
	struct list_args *a = arg;
	rfx_event_query *q = a->q;
	int idx = -1;

	for (int i = 0; list_params[i]; i++)
		if (strcmp(key, list_params[i]) == 0)
			idx = i;
	if (idx < 0) {
		const char *s = rfx_suggest(key, list_params);
		if (s)
			rfx_http_error(a->resp, 400, "bad_request",
				       "unknown parameter '%.64s'; did you mean '%s'?", key, s);
		else
			rfx_http_error(a->resp, 400, "bad_request",
				       "unknown parameter '%.64s'; known: host, service, check, "
				       "source, fingerprint, severity, status, since, until, q, "
				       "limit, cursor",
				       key);
		return -1;
	}
	if (a->seen & (1u << idx)) {
		rfx_http_error(a->resp, 400, "bad_request", "%s: given more than once", key);
		return -1;
	}
	a->seen |= 1u << idx;
	if (strlen(v) > API_PARAM_MAX) {
		rfx_http_error(a->resp, 400, "bad_request", "%s: longer than %d bytes", key,
			       API_PARAM_MAX);
		return -1;
	}
	if (!*v) {
		rfx_http_error(a->resp, 400, "bad_request", "%s: empty value", key);
		return -1;
	}

	if (strcmp(key, "host") == 0) {
		q->host = v;
	} else if (strcmp(key, "service") == 0) {
		q->service = v;
	} else if (strcmp(key, "check") == 0) {
		q->check = v;
	} else if (strcmp(key, "source") == 0) {
		q->source = v;
	} else if (strcmp(key, "fingerprint") == 0) {
		q->fingerprint = v;
	} else if (strcmp(key, "q") == 0) {
		q->text = v;
	} else if (strcmp(key, "severity") == 0) {
		q->severity = rfx_severity_parse(v);
		if (q->severity < 0) {
			rfx_http_error(a->resp, 400, "bad_request",
				       "severity: unknown severity '%.64s'", v);
			return -1;
		}
	} else if (strcmp(key, "status") == 0) {
		if (strcmp(v, "firing") != 0 && strcmp(v, "resolved") != 0) {
			rfx_http_error(a->resp, 400, "bad_request",
				       "status: expected firing or resolved, got '%.64s'", v);
			return -1;
		}
		q->status = v;
	} else if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		int64_t ns;
		if (parse_when(v, rfx_now_ns(), &ns) != 0) {
			rfx_http_error(a->resp, 400, "bad_request",
				       "%s: expected an RFC 3339 time or a duration like 15m, "
				       "got '%.64s'",
				       key, v);
			return -1;
		}
		if (key[0] == 's')
			q->since_ns = ns;
		else
			q->until_ns = ns;
	} else if (strcmp(key, "limit") == 0) {
		char *end;
		long n;
		errno = 0;
		n = strtol(v, &end, 10);
		if (*end || errno || v[0] < '0' || v[0] > '9' || n < 1 || n > API_LIMIT_MAX) {
			rfx_http_error(a->resp, 400, "bad_request",
				       "limit: expected a number from 1 to %d, got '%.64s'",
				       API_LIMIT_MAX, v);
			return -1;
		}
		q->limit = (size_t)n;
	} else if (strcmp(key, "cursor") == 0) {
		size_t vl = strlen(v);
		if (vl == RFX_EVENT_ID_LEN) {
			memcpy(a->cursor, v, RFX_EVENT_ID_LEN);
			a->cursor[RFX_EVENT_ID_LEN] = '\0';
		}
		if (vl != RFX_EVENT_ID_LEN || !ulid_normalize(a->cursor)) {
			rfx_http_error(a->resp, 400, "bad_request",
				       "cursor: '%.64s' is not a cursor from next_cursor", v);
			return -1;
		}
		q->cursor = a->cursor;
	}
	return 0;
}

static void api_events_list(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	rfx_event_query q;
	char cursor[RFX_EVENT_ID_LEN + 1] = "";
	char next[RFX_EVENT_ID_LEN + 1] = "";
	struct list_args a = {&q, cursor, resp, 0};
	rfx_event **evs = NULL;
	size_t n = 0;
	struct json_object *root = NULL, *arr;
	int rc;

	memset(&q, 0, sizeof(q));
	q.severity = -1;
	q.limit = API_LIMIT_DEFAULT;
	if (rfx_http_req_query_each(req, list_param, &a) != 0)
		return; /* resp filled by list_param */
	if (q.since_ns && q.until_ns && q.since_ns >= q.until_ns) {
		rfx_http_error(resp, 400, "bad_request", "until: must be later than since");
		return;
	}
	if (!ctx->store || !ctx->store->query_events) {
		store_failed(resp, RFX_EINVAL);
		return;
	}
	rc = ctx->store->query_events(ctx->store_state, &q, &evs, &n, next);
	if (rc != 0) {
		store_failed(resp, rc);
		return;
	}

	root = json_object_new_object();
	arr = json_object_new_array_ext((int)n);
	if (!root || !arr) {
		json_object_put(arr);
		rfx_http_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	json_object_object_add(root, "events", arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = rfx_event_to_json(evs[i]);
		if (!e || json_object_array_add(arr, e) != 0) {
			json_object_put(e);
			rfx_http_error(resp, 500, "internal", "out of memory");
			goto out;
		}
	}
	next[RFX_EVENT_ID_LEN] = '\0';
	json_object_object_add(root, "next_cursor",
			       next[0] ? json_object_new_string(next) : NULL);
	rfx_http_json(resp, 200, root);

out:
	json_object_put(root);
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
	free(evs);
}

static void api_event_get(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	const char *param = rfx_http_req_param(req);
	char id[RFX_EVENT_ID_LEN + 1];
	rfx_event *ev = NULL;
	struct json_object *o;
	int rc;

	if (!param || strlen(param) != RFX_EVENT_ID_LEN) {
		rfx_http_error(resp, 400, "bad_request",
			       "id: '%.64s' is not an event id (26 characters of Crockford "
			       "base32)",
			       param ? param : "");
		return;
	}
	memcpy(id, param, sizeof(id));
	if (!ulid_normalize(id)) {
		rfx_http_error(resp, 400, "bad_request",
			       "id: '%s' is not an event id (26 characters of Crockford base32)",
			       param);
		return;
	}
	if (!ctx->store || !ctx->store->get_event) {
		store_failed(resp, RFX_EINVAL);
		return;
	}
	rc = ctx->store->get_event(ctx->store_state, id, &ev);
	if (rc == RFX_ENOENT) {
		rfx_http_error(resp, 404, "not_found", "event '%s' not found", id);
		return;
	}
	if (rc != 0 || !ev) {
		store_failed(resp, rc);
		return;
	}
	o = rfx_event_to_json(ev);
	if (o)
		rfx_http_json(resp, 200, o);
	else
		rfx_http_error(resp, 500, "internal", "out of memory");
	json_object_put(o);
	rfx_event_unref(ev);
}

/* ---- registration ------------------------------------------------------- */

int rfx_api_register(rfx_http *h, struct rfx_api_ctx *ctx)
{
	static const struct {
		const char *path;
		rfx_role role;
		rfx_http_handler fn;
	} routes[] = {
		{"/healthz", RFX_ROLE_NONE, api_healthz},
		{"/metrics", RFX_ROLE_VIEWER, api_metrics},
		{"/api/v1/openapi.json", RFX_ROLE_NONE, api_openapi},
		{"/api/v1/events", RFX_ROLE_VIEWER, api_events_list},
		{"/api/v1/events/{}", RFX_ROLE_VIEWER, api_event_get},
	};

	if (!h || !ctx)
		return RFX_EINVAL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int rc = rfx_http_route(h, "GET", routes[i].path, routes[i].role, routes[i].fn,
					ctx, "core api");
		if (rc != 0)
			return RFX_EINVAL;
	}
	if (rfx_api_deliveries_register(h, ctx))
		return RFX_EINVAL;
	return rfx_api_noise_register(h, ctx);
}
