/*
 * plugins/inputs/webhook/format_alertmanager.c - the Prometheus Alertmanager
 * webhook body (version "4"): one event per element of `alerts`, keeping
 * Alertmanager's own fingerprint as the event's fingerprint so a firing alert
 * and its resolution meet again in reflex. The field mapping is documented in
 * docs/inputs/alertmanager.md; keep the two in step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook.h"

/* The same bounds the core puts on the generic form (core/event.c), so an
 * Alertmanager alert cannot carry more than a generic event could. */
#define AM_FIELD_MAX 4096
#define AM_MESSAGE_MAX (64 * 1024)
#define AM_LABEL_KEY_MAX 256
#define AM_LABEL_VALUE_MAX 4096

#define NS_PER_S 1000000000LL

/* Alertmanager severities that are not reflex severity names; anything else
 * goes through host->severity_parse (names and aliases), then severity_map
 * overrides both. */
static const struct {
	const char *name;
	int sev;
} am_default_severities[] = {
	{"critical", RFX_SEV_CRITICAL}, {"error", RFX_SEV_ERROR}, {"warning", RFX_SEV_WARNING},
	{"info", RFX_SEV_INFO},         {"page", RFX_SEV_CRITICAL}, {"none", RFX_SEV_INFO},
};

/* What a firing alert without a usable severity label becomes: an alert
 * somebody routed to us is worth looking at, but is not known to be urgent. */
#define AM_SEVERITY_FALLBACK RFX_SEV_WARNING

/* One error message, sent as 422 invalid_event. */
#define AM_INVALID(...) host->http_error(resp, 422, "invalid_event", __VA_ARGS__)


/* ---- time ------------------------------------------------------------------ */

enum am_time_result { AM_TIME_OK, AM_TIME_ZERO, AM_TIME_BAD, AM_TIME_RANGE };

static int am_digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the
 * calendar Go's time package uses), without timegm's time_t limits. */
static int64_t am_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool am_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Parses the RFC 3339 times Go writes (time.RFC3339Nano: "2024-05-01T12:00:00Z",
 * "2024-05-01T14:00:00.123456789+02:00"). Go's zero time, year 1, is what
 * Alertmanager sends for "not ended": AM_TIME_ZERO. Times that do not fit in
 * int64 nanoseconds (before 1678 or after 2261) are AM_TIME_RANGE.
 */
static enum am_time_result am_time_parse(const char *s, int64_t *ns)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int y, mo, d, h, mi, sec, off = 0;
	int64_t frac = 0, secs;

	y = am_digits(&p, 4);
	if (y < 0 || *p++ != '-' || (mo = am_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = am_digits(&p, 2)) < 0 || (*p != 'T' && *p != 't'))
		return AM_TIME_BAD;
	p++;
	if ((h = am_digits(&p, 2)) < 0 || *p++ != ':' || (mi = am_digits(&p, 2)) < 0 ||
	    *p++ != ':' || (sec = am_digits(&p, 2)) < 0)
		return AM_TIME_BAD;
	if (*p == '.') {
		int digits = 0;

		p++;
		if (*p < '0' || *p > '9')
			return AM_TIME_BAD;
		for (; *p >= '0' && *p <= '9'; p++)
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if ((oh = am_digits(&p, 2)) < 0 || *p++ != ':' || (om = am_digits(&p, 2)) < 0 ||
		    oh > 23 || om > 59)
			return AM_TIME_BAD;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return AM_TIME_BAD;
	}
	if (*p != '\0' || y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && am_leap(y)) || h > 23 || mi > 59 || sec > 60)
		return AM_TIME_BAD;
	if (y == 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && sec == 0 && frac == 0 &&
	    off == 0)
		return AM_TIME_ZERO;
	secs = am_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (secs <= INT64_MIN / NS_PER_S || secs >= INT64_MAX / NS_PER_S)
		return AM_TIME_RANGE;
	*ns = secs * NS_PER_S + frac;
	return AM_TIME_OK;
}

/* ---- small helpers --------------------------------------------------------- */

/* The string member `key` of obj, or NULL when absent or JSON null. Sets
 * *bad when it is present with another type. */
static const char *am_opt_string(struct json_object *obj, const char *key, bool *bad)
{
	struct json_object *v;

	*bad = false;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = true;
		return NULL;
	}
	return json_object_get_string(v);
}

/*
 * Writes the host part of an address label into out (cap bytes): "db1:9100"
 * -> "db1", "[::1]:9100" and "[::1]" -> "::1". A bare IPv6 address ("::1",
 * several colons) or a suffix that is not a port number is left alone.
 */
static void am_strip_port(const char *in, char *out, size_t cap)
{
	const char *colon, *end = NULL;
	size_t len = strlen(in);

	if (in[0] == '[') {
		const char *rb = strchr(in, ']');
		if (rb != NULL && rb > in + 1) {
			const char *q = rb + 1;
			if (*q == ':' && q[1] != '\0' && strspn(q + 1, "0123456789") == strlen(q + 1))
				end = rb;
			else if (*q == '\0')
				end = rb;
		}
		if (end != NULL) {
			snprintf(out, cap, "%.*s", (int)(end - in - 1), in + 1);
			return;
		}
	} else if ((colon = strchr(in, ':')) != NULL && strchr(colon + 1, ':') == NULL &&
		   colon > in && colon[1] != '\0' &&
		   strspn(colon + 1, "0123456789") == len - (size_t)(colon + 1 - in)) {
		snprintf(out, cap, "%.*s", (int)(colon - in), in);
		return;
	}
	snprintf(out, cap, "%s", in);
}

/*
 * The reflex severity of an Alertmanager severity label value. severity_map
 * (keys case-insensitive) wins over the defaults; a map value that is not a
 * reflex severity is a configuration mistake, logged, and treated as
 * unmapped. Returns the severity and sets *mapped.
 */
static int am_severity(struct webhook *w, const char *value, bool *mapped)
{
	const struct rfx_strmap *map = &w->cfg->severity_map;
	int sev;

	*mapped = true;
	for (size_t i = 0; i < map->n; i++) {
		if (strcasecmp(map->keys[i], value) != 0)
			continue;
		sev = w->host->severity_parse(map->values[i]);
		if (sev >= 0)
			return sev;
		w->host->log(w->inst, RFX_LOG_ERROR,
			     "severity_map: '%s' maps to '%s', which is not a reflex severity "
			     "(emergency, alert, critical, error, warning, notice, info, debug); "
			     "using %s",
			     map->keys[i], map->values[i],
			     w->host->severity_name(AM_SEVERITY_FALLBACK));
		*mapped = false;
		return AM_SEVERITY_FALLBACK;
	}
	for (size_t i = 0; i < sizeof am_default_severities / sizeof am_default_severities[0]; i++)
		if (strcasecmp(am_default_severities[i].name, value) == 0)
			return am_default_severities[i].sev;
	sev = w->host->severity_parse(value);
	if (sev >= 0)
		return sev;
	*mapped = false;
	return AM_SEVERITY_FALLBACK;
}

/* Adds key: string to obj unless s is NULL. 0 or -1 (no memory). */
static int am_attr_string(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v;

	if (s == NULL)
		return 0;
	v = json_object_new_string(s);
	if (v == NULL || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The group-level fields every event of the request records in attrs. */
struct am_group {
	const char *receiver, *group_key, *external_url, *status;
	int64_t truncated;
};

/* ---- one alert ------------------------------------------------------------- */

/*
 * Validates alerts[idx] and fills ev from it. Returns 0, or -1 with resp
 * filled (ev is left for the caller to unref).
 */
static int am_decode_alert(struct webhook *w, const struct am_group *g, size_t idx,
			   struct json_object *alert, rfx_event *ev, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	const char *host_label = w->cfg->host_label != NULL ? w->cfg->host_label : "instance";
	const char *sev_label = w->cfg->severity_label != NULL ? w->cfg->severity_label
							       : "severity";
	struct json_object *labels = NULL, *annotations = NULL, *v, *attrs = ev->attrs;
	const char *status, *fingerprint, *alertname, *starts, *ends, *generator, *message;
	const char *hostval, *service, *sevval;
	int64_t starts_ns = 0, ends_ns = 0;
	enum am_time_result tr;
	bool bad, mapped = true;
	char *msg = NULL;
	int rc = -1;

	if (!json_object_is_type(alert, json_type_object)) {
		AM_INVALID("alerts[%zu]: expected an object, got %s", idx, webhook_type_name(alert));
		return -1;
	}

	status = am_opt_string(alert, "status", &bad);
	if (status == NULL || (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)) {
		AM_INVALID("alerts[%zu].status: expected \"firing\" or \"resolved\", got %s%s%s", idx,
			   status != NULL ? "'" : "",
			   status != NULL ? status : bad ? "another type" : "nothing",
			   status != NULL ? "'" : "");
		return -1;
	}
	ev->status = strcmp(status, "resolved") == 0 ? RFX_STATUS_RESOLVED : RFX_STATUS_FIRING;

	fingerprint = am_opt_string(alert, "fingerprint", &bad);
	if (fingerprint == NULL || *fingerprint == '\0' || strlen(fingerprint) > AM_FIELD_MAX) {
		AM_INVALID("alerts[%zu].fingerprint: expected Alertmanager's fingerprint (a non-empty "
			   "string of at most %d bytes; sent since Alertmanager 0.19)",
			   idx, AM_FIELD_MAX);
		return -1;
	}

	/* labels: all of them become event labels, so check every one first */
	if (!json_object_object_get_ex(alert, "labels", &labels) ||
	    !json_object_is_type(labels, json_type_object)) {
		AM_INVALID("alerts[%zu].labels: expected an object of strings, got %s", idx,
			   labels != NULL ? webhook_type_name(labels) : "nothing");
		return -1;
	}
	if (json_object_object_length(labels) > RFX_LABELS_MAX) {
		AM_INVALID("alerts[%zu].labels: %d labels; an event carries at most %d", idx,
			   json_object_object_length(labels), RFX_LABELS_MAX);
		return -1;
	}
	json_object_object_foreach(labels, lk, lv) {
		if (*lk == '\0' || strlen(lk) > AM_LABEL_KEY_MAX) {
			AM_INVALID("alerts[%zu].labels: a label name must have 1 to %d bytes", idx,
				   AM_LABEL_KEY_MAX);
			return -1;
		}
		if (lv == NULL || !json_object_is_type(lv, json_type_string)) {
			AM_INVALID("alerts[%zu].labels.%s: expected a string, got %s", idx, lk,
				   lv != NULL ? webhook_type_name(lv) : "null");
			return -1;
		}
		if (json_object_get_string_len(lv) > AM_LABEL_VALUE_MAX) {
			AM_INVALID("alerts[%zu].labels.%s: longer than %d bytes", idx, lk,
				   AM_LABEL_VALUE_MAX);
			return -1;
		}
	}
	alertname = am_opt_string(labels, "alertname", &bad);
	if (alertname == NULL || *alertname == '\0') {
		AM_INVALID("alerts[%zu].labels.alertname: missing; every Alertmanager alert is named "
			   "by its alertname label", idx);
		return -1;
	}

	if (json_object_object_get_ex(alert, "annotations", &annotations) && annotations != NULL) {
		if (!json_object_is_type(annotations, json_type_object)) {
			AM_INVALID("alerts[%zu].annotations: expected an object of strings, got %s",
				   idx, webhook_type_name(annotations));
			return -1;
		}
		json_object_object_foreach(annotations, ak, av) {
			if (av == NULL || !json_object_is_type(av, json_type_string)) {
				AM_INVALID("alerts[%zu].annotations.%s: expected a string, got %s",
					   idx, ak, av != NULL ? webhook_type_name(av) : "null");
				return -1;
			}
		}
	} else {
		annotations = NULL;
	}

	starts = am_opt_string(alert, "startsAt", &bad);
	if (starts == NULL) {
		AM_INVALID("alerts[%zu].startsAt: expected an RFC 3339 time, got %s", idx,
			   bad ? "another type" : "nothing");
		return -1;
	}
	tr = am_time_parse(starts, &starts_ns);
	if (tr != AM_TIME_OK) {
		AM_INVALID("alerts[%zu].startsAt: %s '%.64s'", idx,
			   tr == AM_TIME_RANGE ? "outside the years 1678-2261:"
					       : "expected an RFC 3339 time like "
						 "2024-05-01T12:00:00Z, got",
			   starts);
		return -1;
	}
	ends = am_opt_string(alert, "endsAt", &bad);
	if (bad) {
		AM_INVALID("alerts[%zu].endsAt: expected an RFC 3339 time, got another type", idx);
		return -1;
	}
	if (ends != NULL) {
		tr = am_time_parse(ends, &ends_ns);
		if (tr == AM_TIME_ZERO) {
			ends = NULL; /* Go's zero time: the alert has not ended */
		} else if (tr != AM_TIME_OK) {
			AM_INVALID("alerts[%zu].endsAt: %s '%.64s'", idx,
				   tr == AM_TIME_RANGE ? "outside the years 1678-2261:"
						       : "expected an RFC 3339 time like "
							 "2024-05-01T12:00:00Z, got",
				   ends);
			return -1;
		}
	}
	generator = am_opt_string(alert, "generatorURL", &bad);
	if (bad) {
		AM_INVALID("alerts[%zu].generatorURL: expected a string", idx);
		return -1;
	}

	/* A resolution happened when it ended; without endsAt the core's
	 * receipt time stands in (occurred_ns 0). */
	if (ev->status == RFX_STATUS_FIRING)
		ev->occurred_ns = starts_ns;
	else
		ev->occurred_ns = ends != NULL ? ends_ns : 0;

	if (host->event_set(ev, RFX_F_KIND, "alert") != 0 ||
	    host->event_set(ev, RFX_F_CHECK, alertname) != 0 ||
	    host->event_set(ev, RFX_F_FINGERPRINT, fingerprint) != 0)
		goto nomem;

	hostval = am_opt_string(labels, host_label, &bad);
	if (hostval != NULL && *hostval != '\0') {
		char buf[AM_LABEL_VALUE_MAX + 1];

		if (w->cfg->strip_port)
			am_strip_port(hostval, buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, "%s", hostval);
		if (buf[0] != '\0' && host->event_set(ev, RFX_F_HOST, buf) != 0)
			goto nomem;
	}
	/* An explicit service label names the service better than the scrape
	 * job (often "node" or "blackbox"), so it wins. */
	service = am_opt_string(labels, "service", &bad);
	if (service == NULL || *service == '\0')
		service = am_opt_string(labels, "job", &bad);
	if (service != NULL && *service != '\0' && host->event_set(ev, RFX_F_SERVICE, service) != 0)
		goto nomem;

	message = NULL;
	if (annotations != NULL) {
		message = am_opt_string(annotations, "summary", &bad);
		if (message == NULL || *message == '\0')
			message = am_opt_string(annotations, "description", &bad);
	}
	if (message == NULL || *message == '\0')
		message = alertname;
	if (strlen(message) > AM_MESSAGE_MAX) {
		/* The full text stays in attrs.annotations: cut the copy on a UTF-8
		 * character boundary instead of refusing the whole group, which
		 * Alertmanager would resend forever. */
		size_t cut = AM_MESSAGE_MAX;
		while (cut > 0 && ((unsigned char)message[cut] & 0xC0) == 0x80)
			cut--;
		msg = strndup(message, cut);
		if (msg == NULL)
			goto nomem;
		message = msg;
	}
	if (host->event_set(ev, RFX_F_MESSAGE, message) != 0)
		goto nomem;

	sevval = am_opt_string(labels, sev_label, &bad);
	if (sevval != NULL && *sevval != '\0')
		ev->severity = am_severity(w, sevval, &mapped);
	else
		ev->severity = AM_SEVERITY_FALLBACK;

	json_object_object_foreach(labels, k, lv2) {
		int lrc = host->event_label_set(ev, k, json_object_get_string(lv2));
		if (lrc != 0)
			goto nomem; /* RFX_EFULL cannot happen: counted above */
	}

	/* attrs: a deep copy, because the request's JSON tree is freed on this
	 * thread while the event travels on; json-c objects are not shared
	 * across threads safely. */
	if (annotations != NULL) {
		struct json_object *copy = NULL;
		if (json_object_deep_copy(annotations, &copy, NULL) != 0 ||
		    json_object_object_add(attrs, "annotations", copy) != 0) {
			json_object_put(copy);
			goto nomem;
		}
	}
	if (am_attr_string(attrs, "generatorURL", generator) != 0 ||
	    am_attr_string(attrs, "startsAt", starts) != 0 ||
	    am_attr_string(attrs, "endsAt", ends) != 0 ||
	    am_attr_string(attrs, "receiver", g->receiver) != 0 ||
	    am_attr_string(attrs, "groupKey", g->group_key) != 0 ||
	    am_attr_string(attrs, "externalURL", g->external_url) != 0 ||
	    am_attr_string(attrs, "alertmanager_status", g->status) != 0 ||
	    (!mapped && am_attr_string(attrs, "severity_unmapped", sevval) != 0))
		goto nomem;
	if (g->truncated > 0) {
		v = json_object_new_int64(g->truncated);
		if (v == NULL || json_object_object_add(attrs, "truncatedAlerts", v) != 0) {
			json_object_put(v);
			goto nomem;
		}
	}
	if (webhook_set_raw(w, ev, alert) != 0)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	host->http_error(resp, 500, "internal", "out of memory");
out:
	free(msg);
	return rc;
}

/* ---- the request ----------------------------------------------------------- */

/* Reads and checks the group-level fields. 0 or -1 with resp filled. */
static int am_decode_group(struct webhook *w, struct json_object *root, struct am_group *g,
			   rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	static const char *const keys[] = {"receiver", "groupKey", "externalURL", "status"};
	const char **dst[] = {&g->receiver, &g->group_key, &g->external_url, &g->status};
	const char *version;
	struct json_object *v;
	bool bad;

	version = am_opt_string(root, "version", &bad);
	if (version == NULL || strcmp(version, "4") != 0) {
		AM_INVALID("version: this input reads Alertmanager webhook version \"4\" (sent by "
			   "Alertmanager 0.x); got %s%s%s",
			   version != NULL ? "\"" : "",
			   version != NULL ? version : bad ? "another type" : "no version",
			   version != NULL ? "\"" : "");
		return -1;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		*dst[i] = am_opt_string(root, keys[i], &bad);
		if (bad) {
			AM_INVALID("%s: expected a string", keys[i]);
			return -1;
		}
	}
	g->truncated = 0;
	if (json_object_object_get_ex(root, "truncatedAlerts", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
			AM_INVALID("truncatedAlerts: expected a number of alerts, got %s",
				   webhook_type_name(v));
			return -1;
		}
		g->truncated = json_object_get_int64(v);
	}
	return 0;
}

int webhook_decode_alertmanager(struct webhook *w, struct json_object *root, rfx_event ***evs,
				size_t *n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	struct json_object *alerts = NULL;
	struct am_group g;
	rfx_event **out = NULL;
	size_t count, built = 0;

	if (!json_object_is_type(root, json_type_object)) {
		AM_INVALID("expected an Alertmanager webhook object "
			   "({\"version\":\"4\",\"alerts\":[...],...}), got %s",
			   webhook_type_name(root));
		return -1;
	}
	if (am_decode_group(w, root, &g, resp) != 0)
		return -1;
	if (!json_object_object_get_ex(root, "alerts", &alerts) ||
	    !json_object_is_type(alerts, json_type_array)) {
		AM_INVALID("alerts: expected an array of alerts, got %s",
			   alerts != NULL ? webhook_type_name(alerts) : "nothing");
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
				 "request (max_events): lower max_alerts in the receiver's "
				 "webhook_config or raise max_events",
				 count, (long long)w->cfg->max_events);
		return -1;
	}
	if (g.truncated > 0)
		host->log(w->inst, RFX_LOG_WARNING,
			  "Alertmanager left %lld alerts of group %s out of this notification "
			  "(max_alerts in its webhook_config)",
			  (long long)g.truncated, g.group_key != NULL ? g.group_key : "?");

	out = calloc(count, sizeof *out);
	if (out == NULL) {
		host->http_error(resp, 500, "internal", "out of memory");
		return -1;
	}
	for (built = 0; built < count; built++) {
		rfx_event *ev = host->event_new();

		if (ev == NULL) {
			host->http_error(resp, 500, "internal", "out of memory");
			goto fail;
		}
		out[built] = ev;
		if (am_decode_alert(w, &g, built, json_object_array_get_idx(alerts, built), ev,
				    resp) != 0) {
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
