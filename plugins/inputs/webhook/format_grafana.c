/*
 * plugins/inputs/webhook/format_grafana.c - Grafana unified alerting's
 * webhook contact point (payload version "1"): one event per entry of
 * `alerts`, keyed by the alert's own fingerprint, so a "resolved" for an
 * alert pairs with its "firing". See docs/inputs/grafana.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook.h"

/* Alertmanager's zero time: "not ended yet". */
#define GRAFANA_ZERO_TIME "0001-01-01T00:00:00Z"

/* Alert fields copied into attrs as given (attrs name, payload name). */
static const struct {
	const char *attr, *key;
} grafana_alert_attrs[] = {
	{"generator_url", "generatorURL"}, {"silence_url", "silenceURL"},
	{"dashboard_url", "dashboardURL"}, {"panel_url", "panelURL"},
	{"image_url", "imageURL"},         {"value_string", "valueString"},
	{"annotations", "annotations"},    {"values", "values"},
	{"starts_at", "startsAt"},         {"ends_at", "endsAt"},
};

/* Group fields copied into every event's attrs. */
static const struct {
	const char *attr, *key;
} grafana_group_attrs[] = {
	{"receiver", "receiver"},       {"org_id", "orgId"},
	{"group_key", "groupKey"},      {"external_url", "externalURL"},
	{"group_labels", "groupLabels"}, {"title", "title"},
};

/* A non-empty string member, or NULL. */
static const char *grafana_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string_len(v) > 0 ? json_object_get_string(v) : NULL;
}

/* Copies obj.key (deep: the event outlives the request tree and crosses
 * threads) into attrs as name. 0, or -1 out of memory. */
static int grafana_copy(struct json_object *attrs, const char *name, struct json_object *obj,
			const char *key)
{
	struct json_object *v, *copy = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
		return 0;
	if (json_object_deep_copy(v, &copy, NULL) != 0)
		return -1;
	if (json_object_object_add(attrs, name, copy) != 0) {
		json_object_put(copy);
		return -1;
	}
	return 0;
}

/*
 * Parses an RFC 3339 time with the core's own parser (through the generic
 * event form), so every format accepts the same times. 0 and *ns, or -1.
 */
static int grafana_time(const rfx_host *host, const char *text, int64_t *ns)
{
	struct json_object *o = json_object_new_object();
	rfx_event *ev = NULL;
	char err[WEBHOOK_ERR_MAX];

	if (o != NULL && json_object_object_add(o, "check", json_object_new_string("t")) == 0 &&
	    json_object_object_add(o, "time", json_object_new_string(text)) == 0)
		ev = host->event_from_json(o, err, sizeof err);
	json_object_put(o);
	if (ev == NULL)
		return -1;
	*ns = ev->occurred_ns;
	host->event_unref(ev);
	return 0;
}

/* Severity from the severity label: severity_map (any case) first, then a
 * reflex name or alias. -1 when neither knows it. */
static int grafana_severity(const struct webhook *w, const char *s)
{
	for (size_t i = 0; i < w->cfg->severity_map.n; i++)
		if (strcasecmp(w->cfg->severity_map.keys[i], s) == 0)
			return w->host->severity_parse(w->cfg->severity_map.values[i]);
	return w->host->severity_parse(s);
}

/* FNV-1a over the sorted labels, for alerts from a Grafana too old to send
 * its fingerprint: the same label set gives the same key. */
static void grafana_label_fingerprint(struct json_object *labels, char out[32])
{
	const char *keys[RFX_LABELS_MAX];
	size_t nk = 0;
	uint64_t h = 14695981039346656037ULL;

	json_object_object_foreach(labels, k, v) {
		(void)v;
		if (nk < RFX_LABELS_MAX)
			keys[nk++] = k;
	}
	for (size_t i = 1; i < nk; i++) /* few labels: insertion sort */
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < nk; i++) {
		struct json_object *val = NULL;
		json_object_object_get_ex(labels, keys[i], &val);
		for (const char *p = keys[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
		for (const char *p = json_object_get_string(val); p != NULL && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xfe) * 1099511628211ULL;
	}
	snprintf(out, 32, "grafana:%016llx", (unsigned long long)h);
}

/* Fills ev from alert number i; 0, or -1 with resp filled. */
static int grafana_alert(struct webhook *w, struct json_object *root, struct json_object *alert,
			 size_t i, rfx_event *ev, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	struct json_object *labels = NULL, *v;
	const char *st, *hostv = NULL, *s;
	char hostbuf[4096], fpbuf[32];
	int64_t ns;

	if (!json_object_is_type(alert, json_type_object)) {
		host->http_error(resp, 422, "invalid_event", "alerts[%zu]: expected an object, got %s",
				 i, webhook_type_name(alert));
		return -1;
	}
	if (json_object_object_get_ex(alert, "labels", &labels) && labels != NULL &&
	    !json_object_is_type(labels, json_type_object)) {
		host->http_error(resp, 422, "invalid_event",
				 "alerts[%zu].labels: expected an object of strings, got %s", i,
				 webhook_type_name(labels));
		return -1;
	}
	if (labels == NULL) {
		host->http_error(resp, 422, "invalid_event", "alerts[%zu].labels: missing", i);
		return -1;
	}
	if (json_object_object_length(labels) > RFX_LABELS_MAX) {
		host->http_error(resp, 422, "invalid_event",
				 "alerts[%zu].labels: more than %d labels", i, RFX_LABELS_MAX);
		return -1;
	}
	json_object_object_foreach(labels, lk, lv) {
		int rc;
		if (!json_object_is_type(lv, json_type_string)) {
			host->http_error(resp, 422, "invalid_event",
					 "alerts[%zu].labels.%s: expected a string, got %s", i, lk,
					 webhook_type_name(lv));
			return -1;
		}
		rc = host->event_label_set(ev, lk, json_object_get_string(lv));
		if (rc == RFX_EINVAL) {
			host->http_error(resp, 422, "invalid_event",
					 "alerts[%zu].labels: a label name must not be empty", i);
			return -1;
		}
		if (rc != 0)
			goto nomem;
	}

	/* Status: the alert's own, else the group's. */
	st = grafana_str(alert, "status");
	if (st == NULL)
		st = grafana_str(root, "status");
	if (st != NULL && strcasecmp(st, "firing") == 0) {
		ev->status = RFX_STATUS_FIRING;
	} else if (st != NULL && strcasecmp(st, "resolved") == 0) {
		ev->status = RFX_STATUS_RESOLVED;
	} else {
		host->http_error(resp, 422, "invalid_event",
				 "alerts[%zu].status: expected \"firing\" or \"resolved\", got '%s'", i,
				 st != NULL ? st : "(none)");
		return -1;
	}

	/* When: a resolution happened at endsAt, a firing at startsAt. */
	s = ev->status == RFX_STATUS_RESOLVED ? grafana_str(alert, "endsAt") : NULL;
	if (s == NULL || strcmp(s, GRAFANA_ZERO_TIME) == 0)
		s = grafana_str(alert, "startsAt");
	if (s != NULL) {
		if (grafana_time(host, s, &ns) != 0) {
			bool ends = s == grafana_str(alert, "endsAt");
			host->http_error(resp, 422, "invalid_event",
					 "alerts[%zu].%s: expected an RFC 3339 time, got '%s'", i,
					 ends ? "endsAt" : "startsAt", s);
			return -1;
		}
		ev->occurred_ns = ns;
	}

	/* Host: host_label (default instance, port stripped), else host. */
	hostv = grafana_str(labels, w->cfg->host_label != NULL ? w->cfg->host_label : "instance");
	if (hostv != NULL && w->cfg->strip_port) {
		const char *colon = strrchr(hostv, ':');
		size_t hl = strlen(hostv);
		/* Only a trailing :digits, and not inside a bare IPv6 address. */
		if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") ==
							 strlen(colon + 1) &&
		    (memchr(hostv, ':', (size_t)(colon - hostv)) == NULL || hostv[0] == '[') &&
		    hl < sizeof hostbuf) {
			size_t keep = (size_t)(colon - hostv);
			if (hostv[0] == '[' && keep > 1 && hostv[keep - 1] == ']') {
				memcpy(hostbuf, hostv + 1, keep - 2);
				hostbuf[keep - 2] = '\0';
			} else {
				memcpy(hostbuf, hostv, keep);
				hostbuf[keep] = '\0';
			}
			hostv = hostbuf;
		}
	}
	if (hostv == NULL)
		hostv = grafana_str(labels, "host");
	if (hostv != NULL && host->event_set(ev, RFX_F_HOST, hostv) != 0)
		goto nomem;
	if ((s = grafana_str(labels, "service")) != NULL && host->event_set(ev, RFX_F_SERVICE, s) != 0)
		goto nomem;

	/* Check: the rule's name; message: what the rule says about it. */
	s = grafana_str(labels, "alertname");
	if (s == NULL)
		s = grafana_str(labels, "__alert_rule_title__");
	if (s == NULL)
		s = grafana_str(root, "title");
	if (s == NULL)
		s = "grafana_alert";
	if (host->event_set(ev, RFX_F_CHECK, s) != 0)
		goto nomem;
	s = NULL;
	if (json_object_object_get_ex(alert, "annotations", &v) &&
	    json_object_is_type(v, json_type_object)) {
		s = grafana_str(v, "summary");
		if (s == NULL)
			s = grafana_str(v, "description");
		if (s == NULL)
			s = grafana_str(v, "message");
	}
	if (s == NULL)
		s = grafana_str(alert, "valueString");
	if (s != NULL && host->event_set(ev, RFX_F_MESSAGE, s) != 0)
		goto nomem;

	s = grafana_str(alert, "fingerprint");
	if (s == NULL) {
		grafana_label_fingerprint(labels, fpbuf);
		s = fpbuf;
	}
	if (host->event_set(ev, RFX_F_FINGERPRINT, s) != 0 ||
	    host->event_set(ev, RFX_F_KIND, "alert") != 0)
		goto nomem;

	/* Severity: the severity label; without one, firing alerts warn. */
	ev->severity = ev->status == RFX_STATUS_FIRING ? RFX_SEV_WARNING : RFX_SEV_INFO;
	s = grafana_str(labels, w->cfg->severity_label != NULL ? w->cfg->severity_label : "severity");
	if (s != NULL) {
		int sev = grafana_severity(w, s);
		if (sev >= 0) {
			ev->severity = sev;
		} else {
			/* A free-form label Grafana users set as they like: refusing
			 * the batch would drop every alert in it, so keep the alert
			 * and say what was not understood. */
			struct json_object *u = json_object_new_string(s);
			if (u == NULL || json_object_object_add(ev->attrs, "unknown_severity", u) != 0) {
				json_object_put(u);
				goto nomem;
			}
		}
	}

	/* One numeric value (a single query) is the event's value. */
	if (json_object_object_get_ex(alert, "values", &v) &&
	    json_object_is_type(v, json_type_object) && json_object_object_length(v) == 1) {
		json_object_object_foreach(v, vk, vv) {
			(void)vk;
			if (json_object_is_type(vv, json_type_int) ||
			    json_object_is_type(vv, json_type_double)) {
				ev->value = json_object_get_double(vv);
				ev->has_value = true;
			}
		}
	}

	for (size_t k = 0; k < sizeof grafana_alert_attrs / sizeof grafana_alert_attrs[0]; k++)
		if (grafana_copy(ev->attrs, grafana_alert_attrs[k].attr, alert,
				 grafana_alert_attrs[k].key) != 0)
			goto nomem;
	for (size_t k = 0; k < sizeof grafana_group_attrs / sizeof grafana_group_attrs[0]; k++)
		if (grafana_copy(ev->attrs, grafana_group_attrs[k].attr, root,
				 grafana_group_attrs[k].key) != 0)
			goto nomem;
	if (webhook_set_raw(w, ev, alert) != 0)
		goto nomem;
	return 0;
nomem:
	host->http_error(resp, 500, "internal", "out of memory");
	return -1;
}

int webhook_decode_grafana(struct webhook *w, struct json_object *root, rfx_event ***evs,
			   size_t *n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	struct json_object *alerts = NULL, *trunc;
	rfx_event **out = NULL;
	size_t count, built = 0;

	if (!json_object_is_type(root, json_type_object)) {
		host->http_error(resp, 422, "invalid_event",
				 "expected a Grafana webhook object, got %s",
				 webhook_type_name(root));
		return -1;
	}
	if (!json_object_object_get_ex(root, "alerts", &alerts) ||
	    !json_object_is_type(alerts, json_type_array)) {
		host->http_error(resp, 422, "invalid_event",
				 "alerts: expected an array of alerts, got %s",
				 alerts != NULL ? webhook_type_name(alerts)
						: "nothing");
		return -1;
	}
	count = json_object_array_length(alerts);
	if (count == 0) {
		host->http_error(resp, 422, "no_events", "alerts: the array is empty");
		return -1;
	}
	if (count > (size_t)w->cfg->max_events) {
		host->http_error(resp, 413, "too_many_events",
				 "the request holds %zu alerts; at most %lld are accepted per "
				 "request (max_events): lower max_alerts in Grafana's contact point",
				 count, (long long)w->cfg->max_events);
		return -1;
	}
	if (json_object_object_get_ex(root, "truncatedAlerts", &trunc) &&
	    json_object_get_int64(trunc) > 0)
		host->log(w->inst, RFX_LOG_WARNING,
			  "Grafana truncated %lld alerts of group %s (its max_alerts): they "
			  "are not received",
			  (long long)json_object_get_int64(trunc),
			  grafana_str(root, "groupKey") != NULL ? grafana_str(root, "groupKey") : "?");

	out = calloc(count, sizeof *out);
	if (out == NULL) {
		host->http_error(resp, 500, "internal", "out of memory");
		return -1;
	}
	for (built = 0; built < count; built++) {
		out[built] = host->event_new();
		if (out[built] == NULL) {
			host->http_error(resp, 500, "internal", "out of memory");
			goto fail;
		}
		if (grafana_alert(w, root, json_object_array_get_idx(alerts, built), built,
				  out[built], resp) != 0) {
			built++; /* this one was built: unref it too */
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
