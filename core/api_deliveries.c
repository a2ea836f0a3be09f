/*
 * core/api_deliveries.c - the outbox through the REST API:
 *   GET  /api/v1/deliveries?state=pending|dead&output=NAME&after=ID&limit=N
 *   GET  /api/v1/deliveries/{id}
 *   POST /api/v1/deliveries/{id}/retry   (operator) a dead letter again
 * Entries come from the store (rfx_store_ops.outbox_*); a replay is handed
 * to the output's deliverer through the pipeline.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "event.h"
#include "pipeline.h"
#include "suggest.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000

static bool has_outbox(const struct rfx_api_ctx *ctx, rfx_http_response *resp)
{
	if (rfx_store_has_outbox(ctx->store))
		return true;
	rfx_http_error(resp, 501, "not_implemented",
		       "the store has no outbox: deliveries are kept in memory only");
	return false;
}

static const char *state_name(int state)
{
	return state == RFX_OUTBOX_DEAD ? "dead" : "pending";
}

static void add_time(struct json_object *o, const char *key, int64_t ns)
{
	char t[64];

	rfx_time_format(ns, t, sizeof t);
	json_object_object_add(o, key, json_object_new_string(t));
}

static struct json_object *entry_json(const rfx_outbox_entry *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64((int64_t)e->id));
	json_object_object_add(o, "output", json_object_new_string(e->output));
	json_object_object_add(o, "event_id", json_object_new_string(e->event_id));
	json_object_object_add(o, "state", json_object_new_string(state_name(e->state)));
	json_object_object_add(o, "attempts", json_object_new_int64(e->attempts));
	add_time(o, "created", e->created_ns);
	if (e->state == RFX_OUTBOX_PENDING)
		add_time(o, "next_attempt", e->next_ns);
	json_object_object_add(o, "last_error", json_object_new_string(e->last_error));
	return o;
}

/* A positive decimal id, or 0. */
static uint64_t parse_id(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '1' || *s > '9' || strlen(s) > 20)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return *end || errno ? 0 : (uint64_t)v;
}

struct list_args {
	rfx_outbox_query *q;
	rfx_http_response *resp;
};

static int list_param(void *arg, const char *key, const char *v)
{
	static const char *const known[] = {"state", "output", "after", "limit", NULL};
	struct list_args *a = arg;

	if (strcmp(key, "state") == 0) {
		if (strcmp(v, "pending") == 0)
			a->q->state = RFX_OUTBOX_PENDING;
		else if (strcmp(v, "dead") == 0)
			a->q->state = RFX_OUTBOX_DEAD;
		else if (strcmp(v, "any") == 0)
			a->q->state = -1;
		else
			goto bad_value;
	} else if (strcmp(key, "output") == 0) {
		if (!*v || strlen(v) >= sizeof(((rfx_outbox_entry *)0)->output))
			goto bad_value;
		a->q->output = v;
	} else if (strcmp(key, "after") == 0) {
		if (!(a->q->after_id = parse_id(v)) && strcmp(v, "0") != 0)
			goto bad_value;
	} else if (strcmp(key, "limit") == 0) {
		uint64_t n = parse_id(v);
		if (n < 1 || n > LIMIT_MAX)
			goto bad_value;
		a->q->limit = (size_t)n;
	} else {
		const char *s = rfx_suggest(key, known);
		rfx_http_error(a->resp, 400, "bad_request", "unknown parameter '%.64s'%s%s%s", key,
			       s ? "; did you mean '" : "; known: state, output, after, limit",
			       s ? s : "", s ? "'?" : "");
		return -1;
	}
	return 0;
bad_value:
	rfx_http_error(a->resp, 400, "bad_request",
		       "%s: '%.64s' is not valid (state: pending, dead or any; after: an id; "
		       "limit: 1-%d)",
		       key, v, LIMIT_MAX);
	return -1;
}

static void deliveries_list(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	rfx_outbox_query q = {.state = -1, .limit = LIMIT_DEFAULT};
	struct list_args a = {&q, resp};
	rfx_outbox_entry *v = NULL;
	size_t n = 0;

	if (!has_outbox(ctx, resp) || rfx_http_req_query_each(req, list_param, &a) != 0)
		return;
	if (ctx->store->outbox_list(ctx->store_state, &q, &v, &n) != 0) {
		rfx_http_error(resp, 503, "store_unavailable", "the outbox cannot be read");
		resp->retry_after = 5;
		return;
	}
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, entry_json(&v[i]));
	json_object_object_add(root, "deliveries", arr);
	if (n == q.limit)
		json_object_object_add(root, "next_after", json_object_new_int64((int64_t)v[n - 1].id));
	else
		json_object_object_add(root, "next_after", NULL);
	rfx_http_json(resp, 200, root);
	json_object_put(root);
	free(v);
}

/* Loads entry `id` into *e: 0, or the response is filled. */
static int load(struct rfx_api_ctx *ctx, const rfx_http_request *req, rfx_http_response *resp,
		rfx_outbox_entry *e)
{
	const char *param = rfx_http_req_param(req);
	uint64_t id = parse_id(param);
	rfx_outbox_entry *v = NULL;
	size_t n = 0;

	if (!has_outbox(ctx, resp))
		return -1;
	if (!id) {
		rfx_http_error(resp, 400, "bad_request", "id: '%.64s' is not a delivery id",
			       param ? param : "");
		return -1;
	}
	rfx_outbox_query q = {.state = -1, .after_id = id - 1, .limit = 1};
	if (ctx->store->outbox_list(ctx->store_state, &q, &v, &n) != 0) {
		rfx_http_error(resp, 503, "store_unavailable", "the outbox cannot be read");
		resp->retry_after = 5;
		return -1;
	}
	if (n != 1 || v[0].id != id) {
		free(v);
		rfx_http_error(resp, 404, "not_found",
			       "delivery %" PRIu64 " not found (delivered deliveries are removed)",
			       id);
		return -1;
	}
	*e = v[0];
	free(v);
	return 0;
}

static void deliveries_get(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	rfx_outbox_entry e;

	if (load(arg, req, resp, &e) != 0)
		return;
	struct json_object *o = entry_json(&e);
	rfx_http_json(resp, 200, o);
	json_object_put(o);
}

static void deliveries_retry(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct rfx_deliverer *d;
	rfx_outbox_entry e;

	if (load(ctx, req, resp, &e) != 0)
		return;
	if (e.state == RFX_OUTBOX_PENDING) {
		char t[64];
		rfx_time_format(e.next_ns, t, sizeof t);
		rfx_http_error(resp, 409, "conflict",
			       "delivery %" PRIu64 " is pending already; next attempt at %s", e.id,
			       t);
		return;
	}
	if (!(d = rfx_pipeline_output(ctx->pipeline, e.output))) {
		rfx_http_error(resp, 409, "conflict",
			       "output '%s' of delivery %" PRIu64 " is not configured any more",
			       e.output, e.id);
		return;
	}
	e.state = RFX_OUTBOX_PENDING;
	e.attempts = 0;
	e.next_ns = rfx_now_ns();
	snprintf(e.last_error, sizeof e.last_error, "replayed through the API");
	if (ctx->store->outbox_update(ctx->store_state, &e) != 0) {
		rfx_http_error(resp, 503, "store_unavailable", "the outbox cannot be written");
		resp->retry_after = 5;
		return;
	}
	rfx_deliverer_wake(d, e.id);
	struct json_object *o = entry_json(&e);
	rfx_http_json(resp, 202, o);
	json_object_put(o);
}

int rfx_api_deliveries_register(rfx_http *h, struct rfx_api_ctx *ctx)
{
	if (rfx_http_route(h, "GET", "/api/v1/deliveries", RFX_ROLE_VIEWER, deliveries_list, ctx,
			   "core api") ||
	    rfx_http_route(h, "GET", "/api/v1/deliveries/{}", RFX_ROLE_VIEWER, deliveries_get,
			   ctx, "core api") ||
	    rfx_http_route(h, "POST", "/api/v1/deliveries/{}/retry", RFX_ROLE_OPERATOR,
			   deliveries_retry, ctx, "core api"))
		return RFX_EINVAL;
	return 0;
}
