/*
 * plugins/inputs/webhook/webhook.c - the webhook input: an HTTP POST route on
 * the core's API server that turns JSON bodies into events.
 *
 * A request is answered 202 only once every event it carried is durable
 * (host->ack_wait), so a sender that sees 2xx may forget the alert. Requests
 * are all-or-nothing: one invalid element rejects the whole body and nothing
 * is emitted. The body format is chosen per instance (`format`); each format
 * is one decode function in webhook_formats[], so Alertmanager, Zabbix and
 * friends can be added without touching the request handling.
 *
 * Handlers run on the HTTP server's connection threads, concurrently; the
 * state is read-only after init() and the metrics are atomic, so no locks.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

struct webhook_config {
	char *path;
	int64_t max_events;
	int64_t ack_timeout_ms;
	int format; /* index into webhook_format_names */
};

struct webhook {
	rfx_instance *inst;
	const rfx_host *host;
	const struct webhook_config *cfg; /* borrowed from the core */
	rfx_metric *requests;
	rfx_metric *rejected;
	rfx_metric *events;
};

/* Serialisation used for the raw payload we store with each event: compact,
 * and without json-c's "\/" escaping so URLs read as they were sent. */
#define WEBHOOK_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* configure accepts json-c >= 0.13; these arrived in 0.15. */
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
#define WEBHOOK_TOKENER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define webhook_parse_end(tok) json_tokener_get_parse_end(tok)
#else
#define WEBHOOK_TOKENER_FLAGS JSON_TOKENER_STRICT
#define webhook_parse_end(tok) ((size_t)(tok)->char_offset)
#endif

/* Longest error message we send back; event_from_json messages are short. */
#define WEBHOOK_ERR_MAX 512

/*
 * A format turns the parsed body into events. On success it returns 0 and
 * fills evs[0..*n) (each one reference, owned by the caller). On failure it
 * returns -1 having built nothing that outlives the call, and fills resp
 * with the error to send.
 */
typedef int (*webhook_decode_fn)(struct webhook *w, struct json_object *root,
				 rfx_event ***evs, size_t *n, rfx_http_response *resp);

static int webhook_decode_json(struct webhook *w, struct json_object *root, rfx_event ***evs,
			       size_t *n, rfx_http_response *resp);

/* Indexed by the `format` enum; keep the two tables in the same order. */
static const char *const webhook_format_names[] = { "json", NULL };
static const webhook_decode_fn webhook_decoders[] = { webhook_decode_json };

static void webhook_unref_all(struct webhook *w, rfx_event **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->host->event_unref(evs[i]);
}

/* Sets the element's JSON text as the event's raw payload. */
static int webhook_set_raw(struct webhook *w, rfx_event *ev, struct json_object *elem)
{
	const char *raw = json_object_to_json_string_ext(elem, WEBHOOK_JSON_FLAGS);

	if (raw == NULL)
		return RFX_ENOMEM;
	return w->host->event_set(ev, RFX_F_RAW, raw);
}

/* The generic event form (docs/events.md): one object, or an array of them. */
static int webhook_decode_json(struct webhook *w, struct json_object *root, rfx_event ***evs,
			       size_t *n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	bool single = json_object_is_type(root, json_type_object);
	rfx_event **out = NULL;
	size_t count, built = 0;
	char err[WEBHOOK_ERR_MAX];

	if (single) {
		count = 1;
	} else if (json_object_is_type(root, json_type_array)) {
		count = json_object_array_length(root);
		if (count == 0) {
			host->http_error(resp, 422, "no_events",
					 "the request holds no events: the array is empty");
			return -1;
		}
		if (count > (size_t)w->cfg->max_events) {
			host->http_error(resp, 413, "too_many_events",
					 "the request holds %zu events; at most %lld are accepted "
					 "per request (max_events): split it",
					 count, (long long)w->cfg->max_events);
			return -1;
		}
	} else {
		host->http_error(resp, 422, "invalid_event",
				 "expected a JSON object or an array of objects, got %s",
				 json_type_to_name(json_object_get_type(root)));
		return -1;
	}

	out = calloc(count, sizeof *out);
	if (out == NULL) {
		host->http_error(resp, 500, "internal", "out of memory");
		return -1;
	}
	for (built = 0; built < count; built++) {
		struct json_object *elem = single ? root : json_object_array_get_idx(root, built);
		/* Index prefix only when the sender sent an array. */
		char where[32] = "";

		if (!single)
			snprintf(where, sizeof where, "events[%zu]: ", built);
		if (!json_object_is_type(elem, json_type_object)) {
			host->http_error(resp, 422, "invalid_event", "%sexpected a JSON object, got %s",
					 where, json_type_to_name(json_object_get_type(elem)));
			goto fail;
		}
		err[0] = '\0';
		out[built] = host->event_from_json(elem, err, sizeof err);
		if (out[built] == NULL) {
			host->http_error(resp, 422, "invalid_event", "%s%s", where,
					 err[0] != '\0' ? err : "invalid event");
			goto fail;
		}
		if (webhook_set_raw(w, out[built], elem) != 0) {
			built++; /* this one was built: unref it too */
			host->http_error(resp, 500, "internal", "out of memory");
			goto fail;
		}
	}
	*evs = out;
	*n = count;
	return 0;

fail:
	webhook_unref_all(w, out, built);
	free(out);
	return -1;
}

/* True when the Content-Type names application/json, with or without
 * parameters ("application/json; charset=utf-8"), in any case. */
static bool webhook_is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t wl = sizeof want - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, wl) != 0)
		return false;
	ct += wl;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * Parses the whole body as one JSON value. Returns the value (one json-c
 * reference) or NULL with resp filled.
 */
static struct json_object *webhook_parse_body(struct webhook *w, const char *body, size_t len,
					      rfx_http_response *resp)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end, i;

	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		w->host->http_error(resp, 400, "invalid_json",
				    "the request body is empty; send a JSON event object "
				    "or an array of them");
		return NULL;
	}
	if (len > (size_t)INT32_MAX) { /* json_tokener_parse_ex takes an int */
		w->host->http_error(resp, 413, "payload_too_large", "the request body is too large");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		w->host->http_error(resp, 500, "internal", "out of memory");
		return NULL;
	}
	/* Strict: a webhook body is JSON, not json-c's lenient dialect. */
	json_tokener_set_flags(tok, WEBHOOK_TOKENER_FLAGS);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root == NULL && jerr == json_tokener_continue) {
		/* The tokener waits for more input; the terminating NUL tells it
		 * there is none, which completes a bare top-level number and
		 * fails anything truly cut short. */
		root = json_tokener_parse_ex(tok, "", 1);
		if (root == NULL) {
			w->host->http_error(resp, 400, "invalid_json",
					    "invalid JSON at byte %zu: unexpected end of input", len);
			goto out;
		}
		end = len;
	} else {
		end = webhook_parse_end(tok);
	}
	if (root == NULL) {
		w->host->http_error(resp, 400, "invalid_json", "invalid JSON at byte %zu: %s",
				    webhook_parse_end(tok), json_tokener_error_desc(jerr));
		goto out;
	}
	for (i = end; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i < len) {
		w->host->http_error(resp, 400, "invalid_json",
				    "invalid JSON at byte %zu: unexpected data after the JSON value", i);
		json_object_put(root);
		root = NULL;
	}
out:
	json_tokener_free(tok);
	return root;
}

/* 202 body: {"accepted":N,"ids":[...]}. Returns 0 or -1 (out of memory). */
static int webhook_accepted(rfx_event **refs, size_t n, rfx_http_response *resp)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	const char *text;
	size_t len;
	int rc = -1;

	if (obj == NULL || ids == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct json_object *id = json_object_new_string(refs[i]->id);

		if (id == NULL || json_object_array_add(ids, id) != 0) {
			json_object_put(id);
			goto out;
		}
	}
	if (json_object_object_add(obj, "accepted", json_object_new_int64((int64_t)n)) != 0)
		goto out;
	if (json_object_object_add(obj, "ids", ids) != 0)
		goto out;
	ids = NULL; /* owned by obj now */
	text = json_object_to_json_string_length(obj, WEBHOOK_JSON_FLAGS, &len);
	if (text == NULL)
		goto out;
	resp->body = malloc(len + 1);
	if (resp->body == NULL)
		goto out;
	memcpy(resp->body, text, len + 1);
	resp->body_len = len;
	resp->content_type = "application/json";
	resp->status = 202;
	rc = 0;
out:
	json_object_put(ids);
	json_object_put(obj);
	return rc;
}

/*
 * Hands the events to the pipeline and waits until they are durable.
 * Consumes evs[0..n) (the core owns them after emit) and fills resp.
 */
static void webhook_deliver(struct webhook *w, rfx_event **evs, size_t n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	rfx_event **refs = NULL;
	rfx_ack *ack = NULL;
	int rc;

	/* Our own references: emit gives the events away, but we still need
	 * the ids it assigns for the response. */
	refs = calloc(n, sizeof *refs);
	ack = host->ack_new();
	if (refs == NULL || ack == NULL) {
		webhook_unref_all(w, evs, n);
		free(refs);
		refs = NULL; /* holds no references yet */
		host->http_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = host->event_ref(evs[i]);

	rc = host->emit(w->inst, evs, n, ack);
	if (rc == RFX_EFULL) {
		host->http_error(resp, 503, "queue_full", "ingress queue is full; retry later");
		resp->retry_after = 1;
		goto out;
	}
	if (rc == RFX_ESTOPPED) {
		host->http_error(resp, 503, "shutting_down",
				 "the agent is shutting down; retry against another agent or later");
		resp->retry_after = 1;
		goto out;
	}
	if (rc != 0) {
		host->http_error(resp, 500, "internal", "the events could not be queued (%d)",
				 rc);
		goto out;
	}

	rc = host->ack_wait(ack, w->cfg->ack_timeout_ms);
	if (rc == 0) {
		if (webhook_accepted(refs, n, resp) != 0)
			host->http_error(resp, 500, "internal",
					 "out of memory; the events were stored");
		else
			host->metric_add(w->events, (double)n);
	} else if (rc == RFX_ETIMEDOUT) {
		host->http_error(resp, 503, "timeout",
				 "the events were not confirmed as stored within %lld ms; they "
				 "may still be stored, so a retry can create duplicates",
				 (long long)w->cfg->ack_timeout_ms);
		resp->retry_after = 1;
	} else {
		host->http_error(resp, 503, "store_unavailable",
				 "the events could not be stored; retry later");
		resp->retry_after = 1;
	}
out:
	if (refs != NULL)
		webhook_unref_all(w, refs, n);
	free(refs);
	if (ack != NULL)
		host->ack_free(ack);
}

static void webhook_handle_request(void *arg, const rfx_http_request *req,
				   rfx_http_response *resp)
{
	struct webhook *w = arg;
	const rfx_host *host = w->host;
	struct json_object *root = NULL;
	rfx_event **evs = NULL;
	const char *body, *ct;
	size_t len = 0, n = 0;

	host->metric_add(w->requests, 1);

	ct = host->http_header(req, "Content-Type");
	if (!webhook_is_json_type(ct)) {
		host->http_error(resp, 415, "unsupported_media_type",
				 "Content-Type must be application/json, got '%s'",
				 ct != NULL ? ct : "(none)");
		goto out;
	}
	body = host->http_body(req, &len);
	if (body == NULL)
		len = 0;
	root = webhook_parse_body(w, body, len, resp);
	if (root == NULL)
		goto out;
	if (webhook_decoders[w->cfg->format](w, root, &evs, &n, resp) != 0)
		goto out;
	webhook_deliver(w, evs, n, resp);
out:
	if (resp->status < 200 || resp->status >= 300)
		host->metric_add(w->rejected, 1);
	free(evs);
	json_object_put(root);
}

static int webhook_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
			char *err, size_t errlen)
{
	const struct webhook_config *cfg = config;
	struct webhook *w = NULL;
	int rc;

	if (cfg->path == NULL || cfg->path[0] != '/') {
		snprintf(err, errlen, "path: '%s' must be an absolute URL path starting with '/'",
			 cfg->path != NULL ? cfg->path : "");
		return RFX_EINVAL;
	}
	if (cfg->max_events < 1) {
		snprintf(err, errlen, "max_events: must be at least 1");
		return RFX_EINVAL;
	}
	if (cfg->ack_timeout_ms <= 0) {
		snprintf(err, errlen, "ack_timeout: must be greater than 0");
		return RFX_EINVAL;
	}
	if (cfg->format < 0 ||
	    (size_t)cfg->format >= sizeof webhook_decoders / sizeof webhook_decoders[0]) {
		snprintf(err, errlen, "format: unknown format index %d", cfg->format);
		return RFX_EINVAL;
	}

	w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	w->inst = inst;
	w->host = host;
	w->cfg = cfg;
	w->requests = host->counter(inst, "requests_total", "Webhook requests received");
	w->rejected = host->counter(inst, "rejected_total",
				    "Webhook requests answered with an error status");
	w->events = host->counter(inst, "events_total",
				  "Events accepted (stored) through the webhook");
	if (w->requests == NULL || w->rejected == NULL || w->events == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		rc = RFX_ENOMEM;
		goto fail;
	}
	rc = host->http_route(inst, "POST", cfg->path, RFX_ROLE_OPERATOR, webhook_handle_request, w);
	if (rc != 0) {
		snprintf(err, errlen,
			 "path: cannot register POST %s (already used by another route, or the "
			 "API server is disabled)",
			 cfg->path);
		goto fail;
	}
	*state = w;
	return 0;
fail:
	free(w);
	return rc;
}

static void webhook_destroy(void *state)
{
	free(state);
}

static const rfx_option webhook_options[] = {
	{
		.name = "path",
		.type = RFX_OPT_STRING,
		.default_value = "/api/v1/events/webhook",
		.description = "URL path of the POST route on the agent's API server. Exact "
			       "match; must start with '/' and be unique among all routes.",
		.offset = offsetof(struct webhook_config, path),
	},
	{
		.name = "max_events",
		.type = RFX_OPT_INT,
		.default_value = "10000",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 1000000,
		.description = "Most events one request may carry; a larger array is refused "
			       "with 413 too_many_events. The API's max body size also applies.",
		.offset = offsetof(struct webhook_config, max_events),
	},
	{
		.name = "ack_timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "30s",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 3600000,
		.description = "How long a request waits for its events to be durable in the "
			       "store before it is answered 503 timeout (the events may still be "
			       "stored later).",
		.offset = offsetof(struct webhook_config, ack_timeout_ms),
	},
	{
		.name = "format",
		.type = RFX_OPT_ENUM,
		.default_value = "json",
		.enum_values = webhook_format_names,
		.description = "Body format. json: the generic event form (one event object or "
			       "an array of them, see docs/events.md).",
		.offset = offsetof(struct webhook_config, format),
	},
	RFX_OPTION_END,
};

static const rfx_plugin webhook_plugin = {
	RFX_PLUGIN_ABI,
	.name = "webhook",
	.version = "1.0.0",
	.description = "Receives events as JSON over HTTP POST on the API server and answers "
		       "202 once they are durable.",
	.kind = RFX_KIND_INPUT,
	.accepts = 0,
	.emits = RFX_REC_EVENT,
	.caps = RFX_CAP_HTTP | RFX_CAP_DURABLE_ACK,
	.options = webhook_options,
	.config_size = sizeof(struct webhook_config),
	.init = webhook_init,
	.destroy = webhook_destroy,
};

RFX_PLUGIN_DEFINE(webhook_plugin)
