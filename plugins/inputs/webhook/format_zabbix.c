/*
 * plugins/inputs/webhook/format_zabbix.c - the `zabbix` format: the body our
 * Zabbix media type (etc/zabbix/media_reflex.yaml) posts, one trigger
 * notification per request: a problem, its recovery or an update
 * (acknowledge, comment, severity change). The body and its mapping to
 * events are documented in docs/inputs/zabbix.md; keep the three in step.
 *
 * Every notification about one Zabbix problem carries the problem's event id
 * ({EVENT.ID} names the problem in recovery and update notifications too),
 * so all of them share the fingerprint "zabbix:<problem event id>" and the
 * recovery resolves exactly the problem it belongs to.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, timegm */
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "webhook.h"

/* Bounds of the generic event form (docs/events.md), applied here too so a
 * Zabbix event can always be re-posted in that form. */
#define ZBX_FIELD_MAX 4096
#define ZBX_MESSAGE_MAX (64 * 1024)
#define ZBX_LABEL_KEY_MAX 256
#define ZBX_LABEL_VALUE_MAX 4096
#define ZBX_LIST_MAX 1024 /* tags or host groups in one notification */

/* Zabbix severities 0-5, by {EVENT.NSEVERITY}. */
static const struct {
	const char *name;  /* as Zabbix names it by default */
	const char *ident; /* the same as one word, for severity_map keys */
	int sev;	   /* reflex default */
} zbx_severities[6] = {
    {"not classified", "not_classified", RFX_SEV_INFO},
    {"information", "information", RFX_SEV_INFO},
    {"warning", "warning", RFX_SEV_WARNING},
    {"average", "average", RFX_SEV_ERROR},
    {"high", "high", RFX_SEV_CRITICAL},
    {"disaster", "disaster", RFX_SEV_ALERT},
};

struct zbx_ctx {
	struct webhook *w;
	struct json_object *root;
	rfx_http_response *resp;
	rfx_event *ev;
};

/* Fills the response with 422 naming the field; always returns -1. */
__attribute__((format(printf, 2, 3))) static int zbx_invalid(struct zbx_ctx *c, const char *fmt,
							     ...)
{
	char msg[WEBHOOK_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->w->host->http_error(c->resp, 422, "invalid_event", "%s", msg);
	return -1;
}

static int zbx_oom(struct zbx_ctx *c)
{
	c->w->host->http_error(c->resp, 500, "internal", "out of memory");
	return -1;
}

/* The JSON type of v as error messages name it ("got a number"). */
static const char *zbx_type(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	default:
		return "an object";
	}
}

/*
 * An optional string member. Absent, null and "" all leave *out NULL: the
 * media type sends every parameter, empty when Zabbix had no value.
 */
static int zbx_str(struct zbx_ctx *c, const char *key, size_t max, const char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(c->root, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return zbx_invalid(c, "%s: expected a string, got %s", key, zbx_type(v));
	if ((size_t)json_object_get_string_len(v) > max)
		return zbx_invalid(c, "%s: longer than %zu bytes", key, max);
	if (json_object_get_string_len(v) > 0)
		*out = json_object_get_string(v);
	return 0;
}

/*
 * An unsigned integer member, as a JSON integer or a string of digits
 * (macros are text, and people posting with curl write either). *present is
 * false when absent, null or "". `expect` completes "KEY: expected ...".
 */
static int zbx_uint(struct zbx_ctx *c, const char *key, uint64_t max, const char *expect,
		    bool *present, uint64_t *out)
{
	struct json_object *v;
	uint64_t n = 0;

	*present = false;
	*out = 0;
	if (!json_object_object_get_ex(c->root, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || (uint64_t)i > max)
			return zbx_invalid(c, "%s: expected %s, got %" PRId64, key, expect, i);
		n = (uint64_t)i;
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);

		if (len == 0)
			return 0;
		for (size_t i = 0; i < len; i++) {
			unsigned d = (unsigned)(s[i] - '0');

			/* n * 10 + d <= max, without overflowing (nor wrapping
			 * max - d when a digit alone exceeds max) */
			if (d > 9 || d > max || n > (max - d) / 10)
				return zbx_invalid(c, "%s: expected %s, got '%.64s'", key, expect,
						   s);
			n = n * 10 + d;
		}
	} else {
		return zbx_invalid(c, "%s: expected %s, got %s", key, expect, zbx_type(v));
	}
	*present = true;
	*out = n;
	return 0;
}

/* True when s is exactly `len` characters with digits where fmt has 'd'
 * and the same punctuation elsewhere. */
static bool zbx_shape(const char *s, const char *fmt)
{
	for (; *fmt != '\0'; s++, fmt++) {
		if (*s == '\0')
			return false;
		if (*fmt == 'd' ? (*s < '0' || *s > '9') : *s != *fmt)
			return false;
	}
	return *s == '\0';
}

static int zbx_num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/*
 * The `timezone` member: the UTC offset of the Zabbix server's clock, in
 * which Zabbix writes {EVENT.DATE} and {EVENT.TIME}. "UTC", "Z", "+HH:MM",
 * "-HHMM", "+HH". Absent means UTC. Sets *off in seconds east of UTC.
 */
static int zbx_timezone(struct zbx_ctx *c, int64_t *off)
{
	const char *tz;
	int h, m = 0;

	*off = 0;
	if (zbx_str(c, "timezone", 64, &tz) != 0)
		return -1;
	if (tz == NULL || strcasecmp(tz, "UTC") == 0 || strcasecmp(tz, "Z") == 0 ||
	    strcasecmp(tz, "GMT") == 0)
		return 0;
	if ((tz[0] != '+' && tz[0] != '-') ||
	    !(zbx_shape(tz + 1, "dd:dd") || zbx_shape(tz + 1, "dddd") || zbx_shape(tz + 1, "dd")))
		goto bad;
	h = zbx_num(tz + 1, 2);
	if (tz[3] != '\0')
		m = zbx_num(tz + (tz[3] == ':' ? 4 : 3), 2);
	if (h > 14 || m > 59)
		goto bad;
	*off = (int64_t)(h * 3600 + m * 60) * (tz[0] == '-' ? -1 : 1);
	return 0;
bad:
	return zbx_invalid(c,
			   "timezone: expected UTC or an offset such as +01:00 or -0500, got "
			   "'%.64s'",
			   tz);
}

/*
 * A Zabbix date and time pair ("2026.11.28", "03:22:45", the server's local
 * time) as unix ns. *found is false when both are absent; one without the
 * other is an error.
 */
static int zbx_when(struct zbx_ctx *c, const char *date_key, const char *time_key, int64_t tz_off,
		    bool *found, int64_t *ns)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *d, *t;
	struct tm tm = {0};
	int y, mo, day, h, mi, s;
	time_t secs;

	*found = false;
	if (zbx_str(c, date_key, 64, &d) != 0 || zbx_str(c, time_key, 64, &t) != 0)
		return -1;
	if (d == NULL && t == NULL)
		return 0;
	if (d == NULL)
		return zbx_invalid(c, "%s: missing while %s is set", date_key, time_key);
	if (t == NULL)
		return zbx_invalid(c, "%s: missing while %s is set", time_key, date_key);
	if (!zbx_shape(d, "dddd.dd.dd"))
		return zbx_invalid(c, "%s: expected a Zabbix date YYYY.MM.DD, got '%s'", date_key,
				   d);
	if (!zbx_shape(t, "dd:dd:dd"))
		return zbx_invalid(c, "%s: expected a Zabbix time HH:MM:SS, got '%s'", time_key, t);
	y = zbx_num(d, 4);
	mo = zbx_num(d + 5, 2);
	day = zbx_num(d + 8, 2);
	h = zbx_num(t, 2);
	mi = zbx_num(t + 3, 2);
	s = zbx_num(t + 6, 2);
	/* Nanoseconds since 1970 in 64 bits end in April 2262. */
	if (y > 2261)
		return zbx_invalid(c, "%s: '%s' is past the year 2261", date_key, d);
	if (y < 1970 || mo < 1 || mo > 12 || day < 1 || day > mdays[mo - 1] ||
	    (mo == 2 && day == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return zbx_invalid(c, "%s: '%s' is not a date", date_key, d);
	if (h > 23 || mi > 59 || s > 59)
		return zbx_invalid(c, "%s: '%s' is not a time of day", time_key, t);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	secs = timegm(&tm); /* the fields are validated, so no normalisation */
	*found = true;
	*ns = ((int64_t)secs - tz_off) * 1000000000LL;
	return 0;
}

/*
 * The reflex severity of Zabbix severity n (0-5). severity_map keys are
 * matched case-insensitively against the number ("4"), the Zabbix name
 * ("high", "not_classified" or "not classified") and the name the sender
 * used (severity_name, which may be a renamed severity). A map value that is
 * not a reflex severity is logged and the default is used.
 */
static int zbx_severity(struct zbx_ctx *c, unsigned n, const char *sent_name)
{
	const struct rfx_strmap *map = &c->w->cfg->severity_map;
	const rfx_host *host = c->w->host;
	char num[4];

	snprintf(num, sizeof num, "%u", n);
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i];
		int sev;

		if (strcasecmp(k, num) != 0 && strcasecmp(k, zbx_severities[n].name) != 0 &&
		    strcasecmp(k, zbx_severities[n].ident) != 0 &&
		    (sent_name == NULL || strcasecmp(k, sent_name) != 0))
			continue;
		sev = host->severity_parse(map->values[i]);
		if (sev >= 0)
			return sev;
		host->log(c->w->inst, RFX_LOG_ERROR,
			  "severity_map: '%s' maps to '%s', which is not a reflex severity "
			  "(emergency, alert, critical, error, warning, notice, info, debug); "
			  "using %s",
			  k, map->values[i], host->severity_name(zbx_severities[n].sev));
		break;
	}
	return zbx_severities[n].sev;
}

/* attrs[key] = val, taking val's reference; NULL val means no memory. */
static int zbx_attr(struct zbx_ctx *c, const char *key, struct json_object *val)
{
	if (val == NULL || json_object_object_add(c->ev->attrs, key, val) != 0) {
		json_object_put(val);
		return zbx_oom(c);
	}
	return 0;
}

/* attrs[key] = s unless s is NULL. */
static int zbx_attr_str(struct zbx_ctx *c, const char *key, const char *s)
{
	return s == NULL ? 0 : zbx_attr(c, key, json_object_new_string(s));
}

/* Zabbix ids go to attrs as strings, as its API gives them: they are 64-bit
 * and JSON numbers that large lose digits in many readers. */
static int zbx_attr_id(struct zbx_ctx *c, const char *key, uint64_t id)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%" PRIu64, id);
	return zbx_attr_str(c, key, buf);
}

/* attrs[key] = RFC 3339 UTC text of ns. */
static int zbx_attr_time(struct zbx_ctx *c, const char *key, int64_t ns)
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char buf[40];

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return zbx_attr_str(c, key, NULL);
	return zbx_attr_str(c, key, buf);
}

static int zbx_set(struct zbx_ctx *c, enum rfx_field f, const char *s)
{
	return c->w->host->event_set(c->ev, f, s) == 0 ? 0 : zbx_oom(c);
}

/*
 * Adds one label. A tag name repeated with another value ("scope:
 * availability", "scope: performance") joins the values with a comma. Names
 * or values past the label bounds, and labels past RFX_LABELS_MAX, are left
 * out (attrs keeps them all) and *dropped is set.
 */
static int zbx_label(struct zbx_ctx *c, const char *key, const char *value, bool *dropped)
{
	const rfx_host *host = c->w->host;
	const char *old = host->event_label_get(c->ev, key);
	char *joined = NULL;
	int rc;

	if (strlen(key) > ZBX_LABEL_KEY_MAX) {
		*dropped = true;
		return 0;
	}
	if (old != NULL) {
		if (strcmp(old, value) == 0)
			return 0;
		if (asprintf(&joined, "%s,%s", old, value) < 0)
			return zbx_oom(c);
		value = joined;
	}
	if (strlen(value) > ZBX_LABEL_VALUE_MAX) {
		*dropped = true;
		free(joined);
		return 0;
	}
	rc = host->event_label_set(c->ev, key, value);
	free(joined);
	if (rc == RFX_EFULL) {
		*dropped = true;
		return 0;
	}
	return rc == 0 ? 0 : zbx_oom(c);
}

/*
 * event_tags: [{"tag": "scope", "value": "availability"}, ...] as
 * {EVENT.TAGSJSON} gives them. Each becomes a label; a normalised copy goes
 * to attrs.tags. *service is set from a tag named "service".
 */
static int zbx_tags(struct zbx_ctx *c, bool *dropped, const char **service)
{
	struct json_object *v, *copy;
	size_t len;

	*service = NULL;
	if (!json_object_object_get_ex(c->root, "event_tags", &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return zbx_invalid(c,
				   "event_tags: expected an array of {\"tag\": ..., \"value\": "
				   "...} objects, got %s",
				   zbx_type(v));
	len = json_object_array_length(v);
	if (len > ZBX_LIST_MAX)
		return zbx_invalid(c, "event_tags: more than %d tags", ZBX_LIST_MAX);
	copy = json_object_new_array();
	if (copy == NULL || zbx_attr(c, "tags", copy) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(v, i), *tv = NULL, *vv = NULL, *o;
		const char *tag, *val = "";

		if (!json_object_is_type(e, json_type_object))
			return zbx_invalid(c, "event_tags[%zu]: expected an object, got %s", i,
					   zbx_type(e));
		json_object_object_get_ex(e, "tag", &tv);
		json_object_object_get_ex(e, "value", &vv);
		if (!json_object_is_type(tv, json_type_string) ||
		    json_object_get_string_len(tv) == 0)
			return zbx_invalid(
			    c, "event_tags[%zu].tag: expected a non-empty string, got %s", i,
			    tv == NULL ? "nothing" : zbx_type(tv));
		if (vv != NULL && !json_object_is_type(vv, json_type_string))
			return zbx_invalid(c, "event_tags[%zu].value: expected a string, got %s", i,
					   zbx_type(vv));
		tag = json_object_get_string(tv);
		if (vv != NULL)
			val = json_object_get_string(vv);
		if (strcmp(tag, "service") == 0 && *service == NULL && *val != '\0' &&
		    strlen(val) <= ZBX_FIELD_MAX)
			*service = val;
		o = json_object_new_object();
		if (o == NULL || json_object_array_add(copy, o) != 0) {
			json_object_put(o);
			return zbx_oom(c);
		}
		if (json_object_object_add(o, "tag", json_object_new_string(tag)) != 0 ||
		    json_object_object_add(o, "value", json_object_new_string(val)) != 0)
			return zbx_oom(c);
		if (zbx_label(c, tag, val, dropped) != 0)
			return -1;
	}
	return 0;
}

/*
 * host_groups: ["Linux servers", "Zabbix servers"]. attrs.host_groups gets
 * the array, label host_groups the names joined with commas.
 */
static int zbx_groups(struct zbx_ctx *c, bool *dropped)
{
	struct json_object *v, *copy;
	char *joined = NULL;
	size_t len, jlen = 0;
	int rc = -1;

	if (!json_object_object_get_ex(c->root, "host_groups", &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return zbx_invalid(c, "host_groups: expected an array of strings, got %s",
				   zbx_type(v));
	len = json_object_array_length(v);
	if (len == 0)
		return 0;
	if (len > ZBX_LIST_MAX)
		return zbx_invalid(c, "host_groups: more than %d groups", ZBX_LIST_MAX);
	copy = json_object_new_array();
	if (copy == NULL || zbx_attr(c, "host_groups", copy) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		const char *g;
		size_t glen;
		char *grown;

		if (!json_object_is_type(e, json_type_string)) {
			zbx_invalid(c, "host_groups[%zu]: expected a string, got %s", i,
				    zbx_type(e));
			goto out;
		}
		g = json_object_get_string(e);
		glen = (size_t)json_object_get_string_len(e);
		if (json_object_array_add(copy, json_object_new_string(g)) != 0) {
			zbx_oom(c);
			goto out;
		}
		grown = realloc(joined, jlen + glen + 2);
		if (grown == NULL) {
			zbx_oom(c);
			goto out;
		}
		joined = grown;
		if (jlen > 0)
			joined[jlen++] = ',';
		memcpy(joined + jlen, g, glen);
		jlen += glen;
		joined[jlen] = '\0';
	}
	if (jlen > ZBX_LABEL_VALUE_MAX) {
		*dropped = true;
		rc = 0;
		goto out;
	}
	rc = c->w->host->event_label_set(c->ev, "host_groups", joined);
	if (rc == RFX_EFULL) {
		*dropped = true;
		rc = 0;
	} else if (rc != 0) {
		rc = zbx_oom(c);
	}
out:
	free(joined);
	return rc;
}

/* The human-readable message of the event; see docs/inputs/zabbix.md. */
static int zbx_message(struct zbx_ctx *c, bool update, bool resolved, const char *name,
		       const char *opdata)
{
	const char *user, *action, *umsg;
	char *msg = NULL;
	int rc, n;

	if (zbx_str(c, "event_update_user", ZBX_FIELD_MAX, &user) != 0 ||
	    zbx_str(c, "event_update_action", ZBX_FIELD_MAX, &action) != 0 ||
	    zbx_str(c, "event_update_message", ZBX_MESSAGE_MAX, &umsg) != 0)
		return -1;
	if (update)
		n = asprintf(&msg, "%s %s%s%s", user != NULL ? user : "Zabbix user",
			     action != NULL ? action : "updated the problem",
			     umsg != NULL ? ": " : "", umsg != NULL ? umsg : "");
	else
		n = asprintf(&msg, "%s%s%s%s%s", resolved ? "Resolved: " : "", name,
			     opdata != NULL ? " (" : "", opdata != NULL ? opdata : "",
			     opdata != NULL ? ")" : "");
	if (n < 0)
		return zbx_oom(c);
	if ((size_t)n > ZBX_MESSAGE_MAX) /* cut, never reject: the parts were valid */
		msg[ZBX_MESSAGE_MAX] = '\0';
	rc = zbx_set(c, RFX_F_MESSAGE, msg);
	free(msg);
	if (rc != 0)
		return -1;
	if (zbx_attr_str(c, "update_user", user) != 0 ||
	    zbx_attr_str(c, "update_action", action) != 0 ||
	    zbx_attr_str(c, "update_message", umsg) != 0)
		return -1;
	return 0;
}

/* {EVENT.ACK.STATUS} is "Yes"/"No"; a JSON boolean is taken as well. */
static int zbx_acknowledged(struct zbx_ctx *c, bool *present, bool *ack)
{
	struct json_object *v;
	const char *s;

	*present = false;
	*ack = false;
	if (!json_object_object_get_ex(c->root, "event_ack_status", &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*present = true;
		*ack = json_object_get_boolean(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return zbx_invalid(c, "event_ack_status: expected \"Yes\" or \"No\", got %s",
				   zbx_type(v));
	s = json_object_get_string(v);
	if (*s == '\0')
		return 0;
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*ack = true;
	else if (strcasecmp(s, "no") != 0 && strcasecmp(s, "false") != 0 && strcmp(s, "0") != 0)
		return zbx_invalid(c, "event_ack_status: expected \"Yes\" or \"No\", got '%.64s'",
				   s);
	*present = true;
	return 0;
}

/* Fills c->ev from the body; -1 with the response filled on bad input. */
static int zbx_fill(struct zbx_ctx *c)
{
	const rfx_host *host = c->w->host;
	const char *name, *sev_name, *status_text, *opdata, *host_name, *host_host, *server;
	const char *service;
	uint64_t event_id, value, nsev, upd, recovery_id, trigger_id;
	bool have, update, resolved, found, ack_present, ack, dropped = false;
	int64_t tz_off, occurred = 0;
	char fp[ZBX_FIELD_MAX + 32];

	/* Identity and state: required. */
	if (zbx_uint(c, "event_id", UINT64_MAX, "the Zabbix event id, digits", &have, &event_id) !=
	    0)
		return -1;
	if (!have)
		return zbx_invalid(c, "event_id: missing; the media type sends {EVENT.ID}");
	if (zbx_uint(c, "event_value", 1, "0 (recovery) or 1 (problem)", &have, &value) != 0)
		return -1;
	if (!have)
		return zbx_invalid(c, "event_value: missing; the media type sends {EVENT.VALUE}");
	if (zbx_str(c, "event_name", ZBX_FIELD_MAX, &name) != 0)
		return -1;
	if (name == NULL)
		return zbx_invalid(c, "event_name: missing or empty; the media type sends "
				      "{EVENT.NAME}");
	if (zbx_uint(c, "event_severity", 5, "a Zabbix severity 0-5", &have, &nsev) != 0)
		return -1;
	if (!have)
		return zbx_invalid(c, "event_severity: missing; the media type sends "
				      "{EVENT.NSEVERITY}");
	if (zbx_str(c, "severity_name", ZBX_FIELD_MAX, &sev_name) != 0)
		return -1;
	if (zbx_uint(c, "event_update_status", 1, "0 or 1", &have, &upd) != 0)
		return -1;
	update = upd == 1;
	if (zbx_str(c, "event_status", 64, &status_text) != 0)
		return -1;
	if (status_text != NULL && strcasecmp(status_text, "PROBLEM") != 0 &&
	    strcasecmp(status_text, "RESOLVED") != 0)
		return zbx_invalid(c, "event_status: expected PROBLEM or RESOLVED, got '%s'",
				   status_text);
	/* An update keeps the problem open unless Zabbix says it is resolved
	 * (a comment on a closed problem must not reopen it). */
	if (update)
		resolved = status_text != NULL && strcasecmp(status_text, "RESOLVED") == 0;
	else
		resolved = value == 0;
	if (zbx_uint(c, "recovery_id", UINT64_MAX, "the Zabbix event id, digits", &have,
		     &recovery_id) != 0)
		return -1;
	if (have && zbx_attr_id(c, "recovery_id", recovery_id) != 0)
		return -1;
	if (zbx_uint(c, "trigger_id", UINT64_MAX, "the Zabbix trigger id, digits", &have,
		     &trigger_id) != 0)
		return -1;
	if (have && zbx_attr_id(c, "trigger_id", trigger_id) != 0)
		return -1;
	if (zbx_acknowledged(c, &ack_present, &ack) != 0)
		return -1;

	/* Time: of the update, the recovery or the problem, by what this is. */
	if (zbx_timezone(c, &tz_off) != 0)
		return -1;
	if (zbx_when(c, "event_date", "event_time", tz_off, &found, &occurred) != 0)
		return -1;
	if (found && zbx_attr_time(c, "problem_started", occurred) != 0)
		return -1;
	if (!update && resolved) {
		if (zbx_when(c, "recovery_date", "recovery_time", tz_off, &found, &occurred) != 0)
			return -1;
	} else if (update) {
		if (zbx_when(c, "event_update_date", "event_update_time", tz_off, &found,
			     &occurred) != 0)
			return -1;
	}
	c->ev->occurred_ns = found ? occurred : host->now_ns();

	if (zbx_str(c, "event_opdata", ZBX_FIELD_MAX, &opdata) != 0 ||
	    zbx_str(c, "host_name", ZBX_FIELD_MAX, &host_name) != 0 ||
	    zbx_str(c, "host_host", ZBX_FIELD_MAX, &host_host) != 0 ||
	    zbx_str(c, "zabbix_server", 256, &server) != 0)
		return -1;

	/* The problem's id names the problem across its whole life. */
	if (server != NULL)
		snprintf(fp, sizeof fp, "zabbix:%s:%" PRIu64, server, event_id);
	else
		snprintf(fp, sizeof fp, "zabbix:%" PRIu64, event_id);
	c->ev->severity = zbx_severity(c, (unsigned)nsev, sev_name);
	c->ev->status = resolved ? RFX_STATUS_RESOLVED : RFX_STATUS_FIRING;
	if (zbx_set(c, RFX_F_KIND, "alert") != 0 || zbx_set(c, RFX_F_FINGERPRINT, fp) != 0 ||
	    zbx_set(c, RFX_F_CHECK, name) != 0 ||
	    zbx_set(c, RFX_F_HOST, host_name != NULL ? host_name : host_host) != 0)
		return -1;
	if (zbx_message(c, update, resolved, name, opdata) != 0)
		return -1;

	if (zbx_attr_id(c, "event_id", event_id) != 0 ||
	    zbx_attr(c, "zabbix_severity", json_object_new_int((int)nsev)) != 0 ||
	    zbx_attr_str(c, "zabbix_severity_name",
			 sev_name != NULL ? sev_name : zbx_severities[nsev].name) != 0 ||
	    zbx_attr(c, "update", json_object_new_boolean(update)) != 0 ||
	    zbx_attr_str(c, "opdata", opdata) != 0 ||
	    zbx_attr_str(c, "host_host", host_host) != 0 ||
	    zbx_attr_str(c, "zabbix_server", server) != 0)
		return -1;
	if (ack_present && zbx_attr(c, "acknowledged", json_object_new_boolean(ack)) != 0)
		return -1;
	/* Plain strings kept as sent. */
	static const struct {
		const char *key;
		size_t max;
	} passthrough[] = {
	    {"host_ip", ZBX_FIELD_MAX},	      {"trigger_description", ZBX_MESSAGE_MAX},
	    {"alert_subject", ZBX_FIELD_MAX}, {"alert_message", ZBX_MESSAGE_MAX},
	    {"event_url", ZBX_FIELD_MAX},
	};
	for (size_t i = 0; i < sizeof passthrough / sizeof passthrough[0]; i++) {
		const char *s;

		if (zbx_str(c, passthrough[i].key, passthrough[i].max, &s) != 0 ||
		    zbx_attr_str(c, passthrough[i].key, s) != 0)
			return -1;
	}

	if (zbx_tags(c, &dropped, &service) != 0)
		return -1;
	if (service != NULL && zbx_set(c, RFX_F_SERVICE, service) != 0)
		return -1;
	if (zbx_groups(c, &dropped) != 0)
		return -1;
	if (dropped && zbx_attr(c, "labels_truncated", json_object_new_boolean(true)) != 0)
		return -1;
	return 0;
}

int webhook_decode_zabbix(struct webhook *w, struct json_object *root, rfx_event ***evs, size_t *n,
			  rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	struct zbx_ctx c = {.w = w, .root = root, .resp = resp};
	rfx_event **out = NULL;

	if (!json_object_is_type(root, json_type_object)) {
		host->http_error(resp, 422, "invalid_event",
				 "expected one JSON object (a Zabbix notification from the reflex "
				 "media type), got %s",
				 zbx_type(root));
		return -1;
	}
	out = calloc(1, sizeof *out);
	c.ev = host->event_new();
	if (out == NULL || c.ev == NULL) {
		zbx_oom(&c);
		goto fail;
	}
	if (zbx_fill(&c) != 0)
		goto fail;
	if (webhook_set_raw(w, c.ev, root) != 0) {
		zbx_oom(&c);
		goto fail;
	}
	out[0] = c.ev;
	*evs = out;
	*n = 1;
	return 0;
fail:
	if (c.ev != NULL)
		host->event_unref(c.ev);
	free(out);
	return -1;
}
