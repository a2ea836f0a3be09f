/*
 * plugins/inputs/webhook/format_json.c - the generic event form
 * (docs/events.md): one event object, or an array of them; and, when the
 * instance has a `mapping`, any JSON tool's objects mapped field by field
 * with JSON pointers.
 *
 * The mapped mode builds the generic form from the pointers' targets and
 * hands it to host->event_from_json, so both modes accept exactly the same
 * values and bounds; only severity (severity_map), status (0/1 and friends),
 * numeric times and attrs.NAME are resolved here.
 */
#include <errno.h>
#include <json-c/json_pointer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook.h"

/* Mapping keys naming a whole field; labels.NAME and attrs.NAME come on top. */
static const char *const mapping_fields[] = {"host",   "service", "check", "message",
					     "severity", "status", "fingerprint", "kind",
					     "time",   "value",   NULL};

static bool mapping_key_known(const char *k)
{
	for (size_t i = 0; mapping_fields[i] != NULL; i++)
		if (strcmp(k, mapping_fields[i]) == 0)
			return true;
	if (strncmp(k, "labels.", 7) == 0 && k[7] != '\0')
		return true;
	return strncmp(k, "attrs.", 6) == 0 && k[6] != '\0';
}

int webhook_mapping_validate(const rfx_host *host, const struct webhook_config *cfg, char *err,
			     size_t errlen)
{
	const struct rfx_strmap *m = &cfg->mapping;

	if (m->n > 0 && strcmp(webhook_formats[cfg->format].name, "json") != 0) {
		snprintf(err, errlen, "mapping: only used with format json (this input has "
				      "format %s); remove it or set format: json",
			 webhook_formats[cfg->format].name);
		return RFX_EINVAL;
	}
	/* severity_map is shared by the formats; its targets are reflex names. */
	for (size_t i = 0; i < cfg->severity_map.n; i++) {
		const char *v = cfg->severity_map.values[i];
		if (v == NULL || host->severity_parse(v) < 0) {
			snprintf(err, errlen,
				 "severity_map.%s: '%s' is not a reflex severity (emergency, alert, "
				 "critical, error, warning, notice, info, debug, an alias or 0-7)",
				 cfg->severity_map.keys[i], v != NULL ? v : "");
			return RFX_EINVAL;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		const char *v = m->values[i];

		if (!mapping_key_known(m->keys[i])) {
			snprintf(err, errlen,
				 "mapping.%s: unknown event field (known: host, service, check, "
				 "message, severity, status, fingerprint, kind, time, value, "
				 "labels.NAME, attrs.NAME)",
				 m->keys[i]);
			return RFX_EINVAL;
		}
		if (v == NULL || (v[0] != '\0' && v[0] != '/')) {
			snprintf(err, errlen,
				 "mapping.%s: '%s' is not a JSON pointer (RFC 6901: '' for the "
				 "whole element, else '/a/b', '/list/0')",
				 m->keys[i], v != NULL ? v : "");
			return RFX_EINVAL;
		}
	}
	return 0;
}

/* The source severity after severity_map (keys case-insensitive). */
static const char *mapping_severity_name(const struct webhook_config *cfg, const char *s)
{
	for (size_t i = 0; i < cfg->severity_map.n; i++)
		if (strcasecmp(cfg->severity_map.keys[i], s) == 0)
			return cfg->severity_map.values[i];
	return s;
}

/*
 * Puts the mapped value `v` of field `key` into the generic form `gen`
 * (severity, status and time numbers resolved here; attrs into `attrs`).
 * Returns 0, or -1 with a message (without the field prefix) in msg.
 */
static int mapping_put(struct webhook *w, const char *key, struct json_object *v,
		       struct json_object *gen, struct json_object *attrs, int64_t *time_ns,
		       char *msg, size_t msglen)
{
	enum json_type t = json_object_get_type(v);
	const char *s = t == json_type_string ? json_object_get_string(v) : NULL;
	struct json_object *add = NULL;

	if (strncmp(key, "attrs.", 6) == 0) {
		/* A copy: the event outlives the request's tree and moves to other
		 * threads, and json-c's reference counts need not be atomic. */
		if (json_object_deep_copy(v, &add, NULL) != 0)
			return -1;
		if (json_object_object_add(attrs, key + 6, add) != 0) {
			json_object_put(add);
			return -1;
		}
		return 0;
	}
	if (t == json_type_object || t == json_type_array) {
		snprintf(msg, msglen, "expected a string, number or boolean, got %s",
			 webhook_type_name(v));
		return -1;
	}
	if (strcmp(key, "severity") == 0) {
		if (t == json_type_int) {
			add = json_object_new_int64(json_object_get_int64(v));
		} else {
			const char *name = mapping_severity_name(w->cfg, json_object_get_string(v));
			if (w->host->severity_parse(name) < 0) {
				snprintf(msg, msglen,
					 "unknown severity '%s' (use a reflex severity name or "
					 "0-7, or map it with severity_map)",
					 json_object_get_string(v));
				return -1;
			}
			add = json_object_new_string(name);
		}
		json_object_object_add(gen, "severity", add);
		return 0;
	}
	if (strcmp(key, "status") == 0) {
		/* 1/true: a problem is present (Zabbix's trigger value, most
		 * "alerting" flags); 0/false: it is gone. */
		const char *st = NULL;
		if (t == json_type_boolean)
			st = json_object_get_boolean(v) ? "firing" : "resolved";
		else if (t == json_type_int && json_object_get_int64(v) == 1)
			st = "firing";
		else if (t == json_type_int && json_object_get_int64(v) == 0)
			st = "resolved";
		else if (s != NULL && (strcasecmp(s, "firing") == 0 || strcasecmp(s, "problem") == 0 ||
				       strcmp(s, "1") == 0))
			st = "firing";
		else if (s != NULL && (strcasecmp(s, "resolved") == 0 || strcasecmp(s, "ok") == 0 ||
				       strcmp(s, "0") == 0))
			st = "resolved";
		if (st == NULL) {
			snprintf(msg, msglen, "expected firing, resolved, problem, ok, 1, 0 or a "
					      "boolean, got '%s'",
				 json_object_get_string(v));
			return -1;
		}
		json_object_object_add(gen, "status", json_object_new_string(st));
		return 0;
	}
	if (strcmp(key, "time") == 0 && (t == json_type_int || t == json_type_double)) {
		double sec = json_object_get_double(v);
		/* Unix seconds; the bound keeps the product inside int64. */
		if (!isfinite(sec) || sec <= 0 || sec > 9.2e9) {
			snprintf(msg, msglen, "expected unix seconds or an RFC 3339 time, got %s",
				 json_object_get_string(v));
			return -1;
		}
		/* Whole seconds apart: sec * 1e9 in one double loses the
		 * nanoseconds (it has 53 bits). sec > 0, so the cast floors;
		 * no libm needed. */
		int64_t whole = (int64_t)sec;
		*time_ns = whole * 1000000000 + (int64_t)((sec - (double)whole) * 1e9 + 0.5);
		return 0;
	}
	if (strcmp(key, "value") == 0) {
		double d;
		if (t == json_type_int || t == json_type_double) {
			d = json_object_get_double(v);
		} else {
			char *end = NULL;
			errno = 0;
			d = s != NULL ? strtod(s, &end) : 0;
			if (s == NULL || end == s || *end != '\0' || errno == ERANGE || !isfinite(d)) {
				snprintf(msg, msglen, "expected a number, got '%s'",
					 json_object_get_string(v));
				return -1;
			}
		}
		json_object_object_add(gen, "value", json_object_new_double(d));
		return 0;
	}
	/* Text fields and labels: numbers and booleans become their JSON text
	 * (an id of 42 is the host "42"). */
	add = json_object_new_string(json_object_get_string(v));
	if (strncmp(key, "labels.", 7) == 0) {
		struct json_object *labels;
		if (!json_object_object_get_ex(gen, "labels", &labels)) {
			labels = json_object_new_object();
			json_object_object_add(gen, "labels", labels);
		}
		json_object_object_add(labels, key + 7, add);
		return 0;
	}
	json_object_object_add(gen, key, add);
	return 0;
}

/* Builds one event from elem through the mapping. NULL with resp filled. */
static rfx_event *mapping_event(struct webhook *w, struct json_object *elem, const char *where,
				rfx_http_response *resp)
{
	const struct rfx_strmap *m = &w->cfg->mapping;
	const rfx_host *host = w->host;
	struct json_object *gen = json_object_new_object(), *attrs = json_object_new_object();
	rfx_event *ev = NULL;
	int64_t time_ns = 0;
	char msg[WEBHOOK_ERR_MAX];

	if (gen == NULL || attrs == NULL) {
		host->http_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct json_object *v = NULL;

		/* A pointer that matches nothing, or null, leaves the field unset. */
		if (json_pointer_get(elem, m->values[i], &v) != 0 || v == NULL)
			continue;
		msg[0] = '\0';
		if (mapping_put(w, m->keys[i], v, gen, attrs, &time_ns, msg, sizeof msg) != 0) {
			if (msg[0] == '\0')
				host->http_error(resp, 500, "internal", "out of memory");
			else
				host->http_error(resp, 422, "invalid_event", "%s%s (mapped from '%s'): %s",
						 where, m->keys[i], m->values[i], msg);
			goto out;
		}
	}
	if (json_object_object_length(attrs) > 0)
		json_object_object_add(gen, "attrs", json_object_get(attrs));
	msg[0] = '\0';
	ev = host->event_from_json(gen, msg, sizeof msg);
	if (ev == NULL) {
		/* The core names the generic field; add the pointer it came from. */
		const char *ptr = NULL;
		for (size_t i = 0; i < m->n && ptr == NULL; i++) {
			size_t kl = strcspn(m->keys[i], ".");
			if (strncmp(msg, m->keys[i], kl) == 0 && (msg[kl] == ':' || msg[kl] == '.'))
				ptr = m->values[i];
		}
		if (ptr != NULL)
			host->http_error(resp, 422, "invalid_event", "%s%s (mapped from '%s')", where,
					 msg[0] != '\0' ? msg : "invalid event", ptr);
		else
			host->http_error(resp, 422, "invalid_event", "%s%s", where,
					 msg[0] != '\0' ? msg : "invalid event");
		goto out;
	}
	if (time_ns != 0)
		ev->occurred_ns = time_ns;
	if (webhook_set_raw(w, ev, elem) != 0) {
		host->event_unref(ev);
		ev = NULL;
		host->http_error(resp, 500, "internal", "out of memory");
	}
out:
	json_object_put(attrs);
	json_object_put(gen);
	return ev;
}

/* The generic mode: one element through the core's event form. */
static rfx_event *generic_event(struct webhook *w, struct json_object *elem, const char *where,
				rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	char err[WEBHOOK_ERR_MAX] = "";
	rfx_event *ev = host->event_from_json(elem, err, sizeof err);

	if (ev == NULL) {
		host->http_error(resp, 422, "invalid_event", "%s%s", where,
				 err[0] != '\0' ? err : "invalid event");
		return NULL;
	}
	if (webhook_set_raw(w, ev, elem) != 0) {
		host->event_unref(ev);
		host->http_error(resp, 500, "internal", "out of memory");
		return NULL;
	}
	return ev;
}

/*
 * One event object or an array of them, all or nothing; both modes share
 * this and differ only in how one element becomes an event (`build`, which
 * fills resp when it returns NULL).
 */
int webhook_decode_json(struct webhook *w, struct json_object *root, rfx_event ***evs,
			size_t *n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	bool single = json_object_is_type(root, json_type_object);
	rfx_event *(*build)(struct webhook *, struct json_object *, const char *,
			    rfx_http_response *) = w->cfg->mapping.n > 0 ? mapping_event
									 : generic_event;
	rfx_event **out = NULL;
	size_t count, built = 0;

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
				 webhook_type_name(root));
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
					 where, webhook_type_name(elem));
			goto fail;
		}
		out[built] = build(w, elem, where, resp);
		if (out[built] == NULL)
			goto fail;
	}
	*evs = out;
	*n = count;
	return 0;
fail:
	webhook_unref_all(w, out, built);
	free(out);
	return -1;
}
