/*
 * core/api_noise.c - the noise stage and the template miner through the
 * REST API (docs/noise.md, docs/templates.md):
 *   GET/POST /api/v1/silences, GET/DELETE /api/v1/silences/{id}
 *   GET/POST /api/v1/maintenance, DELETE /api/v1/maintenance/{name}
 *   GET /api/v1/templates
 * Changes are saved to the store's key-value state before the answer, so
 * an acknowledged silence survives a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "event.h"
#include "stages.h"

#define BODY_MAX (64 * 1024)

static struct rfx_noise *noise_or_error(struct rfx_api_ctx *ctx, rfx_http_response *resp)
{
	struct rfx_noise *n = rfx_stages_noise(ctx->stages);

	if (!n)
		rfx_http_error(resp, 409, "conflict",
			       "the noise stage is disabled (pipeline.noise.enabled: false)");
	return n;
}

/* The request body as a JSON object, or NULL with resp filled. */
static struct json_object *body_object(const rfx_http_request *req, rfx_http_response *resp)
{
	size_t len = 0;
	const char *body = rfx_http_req_body(req, &len);
	struct json_tokener *tok;
	struct json_object *o;

	if (!body || !len) {
		rfx_http_error(resp, 400, "bad_request", "expected a JSON object in the body");
		return NULL;
	}
	if (len > BODY_MAX) {
		rfx_http_error(resp, 413, "too_large", "the body is larger than %d bytes", BODY_MAX);
		return NULL;
	}
	if (!(tok = json_tokener_new()))
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		rfx_http_error(resp, 400, "bad_request", "expected a JSON object in the body%s%s",
			       o ? "" : ": ", o ? "" : json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Saves the state; on failure the change stands in memory but the client
 * learns it may not survive a restart. */
static bool saved(struct rfx_api_ctx *ctx, rfx_http_response *resp)
{
	if (rfx_stages_save(ctx->stages) == 0)
		return true;
	rfx_http_error(resp, 503, "store_unavailable",
		       "the change is active but could not be saved to the store; repeat it");
	resp->retry_after = 5;
	return false;
}

static void reply(rfx_http_response *resp, int status, struct json_object *o)
{
	rfx_http_json(resp, status, o);
	json_object_put(o);
}

static void silences_list(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_noise *n = noise_or_error(arg, resp);
	struct json_object *o = NULL;

	if (!n)
		return;
	if (rfx_noise_silence_list(n, rfx_now_ns(), &o) != 0) {
		rfx_http_error(resp, 500, "internal", "out of memory");
		return;
	}
	reply(resp, 200, o);
}

static void silences_get(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_noise *n = noise_or_error(arg, resp);
	struct json_object *o = NULL;

	if (!n)
		return;
	if (rfx_noise_silence_get(n, rfx_http_req_param(req), rfx_now_ns(), &o) != 0) {
		rfx_http_error(resp, 404, "not_found", "silence '%.64s' not found",
			       rfx_http_req_param(req));
		return;
	}
	reply(resp, 200, o);
}

static void silences_post(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct rfx_noise *n = noise_or_error(ctx, resp);
	struct rfx_silence s = {0};
	struct json_object *body;
	char id[RFX_EVENT_ID_LEN + 1], err[512];
	int64_t now = rfx_now_ns();
	int rc;

	if (!n || !(body = body_object(req, resp)))
		return;
	rc = rfx_silence_from_json(body, now, &s, err, sizeof err);
	json_object_put(body);
	if (rc != 0) {
		rfx_http_error(resp, 400, "bad_request", "%s", err);
		return;
	}
	rc = rfx_noise_silence_add(n, &s, now, id, err, sizeof err);
	rfx_silence_clear(&s);
	if (rc == RFX_ENOENT) {
		rfx_http_error(resp, 404, "not_found", "%s", err);
		return;
	}
	if (rc == RFX_EFULL) {
		rfx_http_error(resp, 409, "conflict", "%s", err);
		return;
	}
	if (rc != 0) {
		rfx_http_error(resp, 400, "bad_request", "%s", err);
		return;
	}
	if (!saved(ctx, resp))
		return;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "silenceID", json_object_new_string(id));
	reply(resp, 200, o);
}

static void silences_delete(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct rfx_noise *n = noise_or_error(ctx, resp);

	if (!n)
		return;
	if (rfx_noise_silence_expire(n, rfx_http_req_param(req), rfx_now_ns()) != 0) {
		rfx_http_error(resp, 404, "not_found", "silence '%.64s' not found",
			       rfx_http_req_param(req));
		return;
	}
	if (saved(ctx, resp))
		reply(resp, 200, json_object_new_object());
}

static void windows_list(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_noise *n = noise_or_error(arg, resp);
	struct json_object *o = NULL;

	if (!n)
		return;
	if (rfx_noise_window_list(n, rfx_now_ns(), &o) != 0) {
		rfx_http_error(resp, 500, "internal", "out of memory");
		return;
	}
	reply(resp, 200, o);
}

static void windows_post(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct rfx_noise *n = noise_or_error(ctx, resp);
	struct rfx_noise_window_conf w = {0};
	struct json_object *body;
	char err[512];
	int rc;

	if (!n || !(body = body_object(req, resp)))
		return;
	rc = rfx_noise_window_from_json(body, &w, err, sizeof err);
	json_object_put(body);
	if (rc == 0)
		rc = rfx_noise_window_add(n, &w, err, sizeof err);
	if (rc != 0) {
		rfx_noise_window_conf_clear(&w);
		rfx_http_error(resp, rc == RFX_EFULL ? 409 : 400,
			       rc == RFX_EFULL ? "conflict" : "bad_request", "%s", err);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(w.name ? w.name : ""));
	rfx_noise_window_conf_clear(&w);
	if (saved(ctx, resp))
		reply(resp, 200, o);
	else
		json_object_put(o);
}

static void windows_delete(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct rfx_noise *n = noise_or_error(ctx, resp);
	const char *name = rfx_http_req_param(req);
	int rc;

	if (!n)
		return;
	rc = rfx_noise_window_delete(n, name);
	if (rc == RFX_ENOENT) {
		rfx_http_error(resp, 404, "not_found", "maintenance window '%.128s' not found", name);
		return;
	}
	if (rc != 0) {
		rfx_http_error(resp, 400, "bad_request",
			       "maintenance window '%.128s' comes from the configuration file: "
			       "change it there",
			       name);
		return;
	}
	if (saved(ctx, resp))
		reply(resp, 200, json_object_new_object());
}

static int template_json(const rfx_tmpl_info *t, void *arg)
{
	struct json_object *o = json_object_new_object();
	char hash[32];

	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)t->hash);
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "hash", json_object_new_string(hash));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)t->count));
	json_object_object_add(o, "template", json_object_new_string(t->template));
	json_object_array_add(arg, o);
	return 0;
}

static void templates_list(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct rfx_api_ctx *ctx = arg;
	struct json_object *root, *arr;
	const char *stored = rfx_http_req_query(req, "stored");

	if (stored && strcmp(stored, "true") == 0) {
		/* the signature store: every run's templates with their counts */
		char *json = NULL;
		rfx_stages_save_signatures(ctx->stages);
		if (!ctx->store || !ctx->store->kv_get ||
		    ctx->store->kv_get(ctx->store_state, "core.templates", "signatures", &json) != 0) {
			reply(resp, 200, json_tokener_parse("{\"signatures\":{}}"));
			return;
		}
		root = json_object_new_object();
		json_object_object_add(root, "signatures", json_tokener_parse(json));
		free(json);
		reply(resp, 200, root);
		return;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	rfx_stages_templates(ctx->stages, template_json, arr);
	json_object_object_add(root, "templates", arr);
	reply(resp, 200, root);
}

int rfx_api_noise_register(rfx_http *h, struct rfx_api_ctx *ctx)
{
	static const struct {
		const char *method, *path;
		rfx_role role;
		rfx_http_handler fn;
	} routes[] = {
		{"GET", "/api/v1/silences", RFX_ROLE_VIEWER, silences_list},
		{"POST", "/api/v1/silences", RFX_ROLE_OPERATOR, silences_post},
		{"GET", "/api/v1/silences/{}", RFX_ROLE_VIEWER, silences_get},
		{"DELETE", "/api/v1/silences/{}", RFX_ROLE_OPERATOR, silences_delete},
		{"GET", "/api/v1/maintenance", RFX_ROLE_VIEWER, windows_list},
		{"POST", "/api/v1/maintenance", RFX_ROLE_OPERATOR, windows_post},
		{"DELETE", "/api/v1/maintenance/{}", RFX_ROLE_OPERATOR, windows_delete},
		{"GET", "/api/v1/templates", RFX_ROLE_VIEWER, templates_list},
	};

	if (!ctx->stages)
		return 0;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (rfx_http_route(h, routes[i].method, routes[i].path, routes[i].role, routes[i].fn,
				   ctx, "core api"))
			return RFX_EINVAL;
	return 0;
}
