/*
 * core/event.c - the typed event: lifetime, labels, the generic JSON form,
 * ULIDs, default fingerprints and time helpers (see event.h).
 */
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <reflex/plugin.h>
#include "schema.h"

/* Bounds on what one event may carry, so one request cannot pin memory. */
#define FIELD_MAX 4096        /* host, service, check, fingerprint, kind */
#define MESSAGE_MAX (64 * 1024)
#define LABEL_KEY_MAX 256
#define LABEL_VALUE_MAX 4096

rfx_event *rfx_event_new(void)
{
	rfx_event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->attrs = json_object_new_object();
	if (!ev->attrs) {
		free(ev);
		return NULL;
	}
	ev->severity = RFX_SEV_INFO;
	ev->status = RFX_STATUS_FIRING;
	ev->count = 1;
	ev->refcnt = 1;
	return ev;
}

rfx_event *rfx_event_ref(rfx_event *ev)
{
	if (ev)
		__atomic_add_fetch(&ev->refcnt, 1, __ATOMIC_RELAXED);
	return ev;
}

void rfx_event_unref(rfx_event *ev)
{
	if (!ev || __atomic_sub_fetch(&ev->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (int i = 0; i < RFX_F__COUNT; i++)
		free(ev->str[i]);
	for (size_t i = 0; i < ev->nlabels; i++) {
		free(ev->labels[i].key);
		free(ev->labels[i].value);
	}
	free(ev->labels);
	json_object_put(ev->attrs);
	free(ev);
}

int rfx_event_set(rfx_event *ev, enum rfx_field f, const char *value)
{
	char *copy = NULL;

	if (!ev || (unsigned)f >= RFX_F__COUNT)
		return RFX_EINVAL;
	if (value && !(copy = strdup(value)))
		return RFX_ENOMEM;
	free(ev->str[f]);
	ev->str[f] = copy;
	return 0;
}

const char *rfx_event_label_get(const rfx_event *ev, const char *key)
{
	for (size_t i = 0; i < ev->nlabels; i++)
		if (strcmp(ev->labels[i].key, key) == 0)
			return ev->labels[i].value;
	return NULL;
}

int rfx_event_label_set(rfx_event *ev, const char *key, const char *value)
{
	char *v;

	if (!ev || !key || !*key || !value)
		return RFX_EINVAL;
	for (size_t i = 0; i < ev->nlabels; i++) {
		if (strcmp(ev->labels[i].key, key) == 0) {
			if (!(v = strdup(value)))
				return RFX_ENOMEM;
			free(ev->labels[i].value);
			ev->labels[i].value = v;
			return 0;
		}
	}
	if (ev->nlabels >= RFX_LABELS_MAX)
		return RFX_EFULL;
	if (ev->nlabels == ev->labels_cap) {
		size_t cap = ev->labels_cap ? ev->labels_cap * 2 : 8;
		struct rfx_label *l = realloc(ev->labels, cap * sizeof(*l));
		if (!l)
			return RFX_ENOMEM;
		ev->labels = l;
		ev->labels_cap = cap;
	}
	char *k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return RFX_ENOMEM;
	}
	ev->labels[ev->nlabels].key = k;
	ev->labels[ev->nlabels].value = v;
	ev->nlabels++;
	return 0;
}

/* ---- severities --------------------------------------------------------- */

static const char *const sev_names[8] = {"emergency", "alert", "critical", "error",
					 "warning", "notice", "info", "debug"};

static const struct {
	const char *alias;
	int sev;
} sev_aliases[] = {
	/* disaster, high, average: Zabbix's names, ranked as the zabbix
	 * webhook format ranks Zabbix's levels 5, 4 and 3 */
	{"emerg", 0}, {"panic", 0}, {"fatal", 1}, {"disaster", 1}, {"crit", 2}, {"high", 2},
	{"err", 3}, {"major", 3}, {"average", 3}, {"warn", 4},
	{"minor", 4}, {"information", 6}, {"informational", 6}, {"ok", 6},
	{"trace", 7},
};

int rfx_severity_parse(const char *name)
{
	if (!name || !*name)
		return -1;
	if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
		return name[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcasecmp(name, sev_names[i]) == 0)
			return i;
	for (size_t i = 0; i < sizeof(sev_aliases) / sizeof(sev_aliases[0]); i++)
		if (strcasecmp(name, sev_aliases[i].alias) == 0)
			return sev_aliases[i].sev;
	return -1;
}

const char *rfx_severity_name(int sev)
{
	return sev >= 0 && sev <= 7 ? sev_names[sev] : "unknown";
}

/* ---- time ----------------------------------------------------------------- */

int64_t rfx_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int rfx_time_parse(const char *s, int64_t *ns)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0;
	const char *p = s;

	if (!s || parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d))
		return RFX_EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return RFX_EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
	    parse_digits(&p, 2, &sec))
		return RFX_EINVAL;
	if (*p == '.' || *p == ',') {
		int digits = 0;
		p++;
		if (!isdigit((unsigned char)*p))
			return RFX_EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
			return RFX_EINVAL;
		oh *= sign;
		om *= sign;
	} else {
		return RFX_EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    y < 1)
		return RFX_EINVAL;
	/* ns since 1970 fit in int64 for 1678..2261 only (found by fuzz_event_json) */
	if (y < 1678 || y > 2261)
		return RFX_EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return RFX_EINVAL;
	t -= (time_t)oh * 3600 + (time_t)om * 60;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

void rfx_time_format(int64_t ns, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ns / 1000000000);
	long ms = (long)((ns % 1000000000) / 1000000);
	if (ms < 0) {
		ms += 1000;
		t--;
	}
	gmtime_r(&t, &tm);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", date, ms);
}

/* ---- ids and fingerprints ---------------------------------------------------- */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool rfx_event_id_valid(const char *id)
{
	size_t n = 0;

	if (!id || id[0] < '0' || id[0] > '7') /* 128 bits: the top char holds 3 */
		return false;
	for (; id[n]; n++)
		if (n >= RFX_EVENT_ID_LEN || !strchr(crockford, id[n]))
			return false;
	return n == RFX_EVENT_ID_LEN;
}

/* Guards the last ULID so ids stay monotonic within the process. */
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t id_last_ms;
static uint8_t id_rand[10];

void rfx_event_id_new(char out[RFX_EVENT_ID_LEN + 1])
{
	uint8_t b[16];
	uint64_t ms = (uint64_t)(rfx_now_ns() / 1000000);

	pthread_mutex_lock(&id_lock);
	if (ms > id_last_ms) {
		id_last_ms = ms;
		if (getrandom(id_rand, sizeof(id_rand), 0) != (ssize_t)sizeof(id_rand)) {
			/* no entropy: fall back to a clock-seeded value */
			uint64_t x = (uint64_t)rfx_now_ns() * 6364136223846793005ULL;
			memcpy(id_rand, &x, 8);
		}
		id_rand[0] &= 0x7f; /* room to increment without overflow */
	} else {
		for (int i = 9; i >= 0 && ++id_rand[i] == 0; i--)
			;
	}
	ms = id_last_ms;
	memcpy(b + 6, id_rand, 10);
	pthread_mutex_unlock(&id_lock);

	for (int i = 5; i >= 0; i--) {
		b[i] = (uint8_t)(ms & 0xff);
		ms >>= 8;
	}
	/* 128 bits -> 26 base32 chars, most significant first (2 pad bits). */
	int bit = -2;
	for (int i = 0; i < RFX_EVENT_ID_LEN; i++, bit += 5) {
		unsigned v = 0;
		for (int k = 0; k < 5; k++) {
			int pos = bit + k;
			unsigned one = pos < 0 ? 0 : (b[pos / 8] >> (7 - pos % 8)) & 1;
			v = (v << 1) | one;
		}
		out[i] = crockford[v];
	}
	out[RFX_EVENT_ID_LEN] = '\0';
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	if (s)
		for (; *s; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0x1f) * 1099511628211ULL; /* field separator */
}

int rfx_event_default_fingerprint(rfx_event *ev)
{
	char hex[17];
	uint64_t h = 14695981039346656037ULL;

	if (ev->str[RFX_F_FINGERPRINT] && *ev->str[RFX_F_FINGERPRINT])
		return 0;
	h = fnv1a(h, ev->str[RFX_F_SOURCE]);
	h = fnv1a(h, ev->str[RFX_F_HOST]);
	h = fnv1a(h, ev->str[RFX_F_SERVICE]);
	h = fnv1a(h, ev->str[RFX_F_CHECK]);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	return rfx_event_set(ev, RFX_F_FINGERPRINT, hex);
}

/* ---- JSON ------------------------------------------------------------------ */

static const char *const json_keys[] = {"host", "service", "check", "severity", "status",
					"message", "labels", "attrs", "time", "fingerprint",
					"kind", "value", NULL};

static const struct {
	const char *key;
	enum rfx_field field;
	size_t max;
} json_strings[] = {
	{"host", RFX_F_HOST, FIELD_MAX},       {"service", RFX_F_SERVICE, FIELD_MAX},
	{"check", RFX_F_CHECK, FIELD_MAX},     {"message", RFX_F_MESSAGE, MESSAGE_MAX},
	{"fingerprint", RFX_F_FINGERPRINT, FIELD_MAX}, {"kind", RFX_F_KIND, FIELD_MAX},
};

static const char *json_type_name(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "a value";
}

static rfx_event *from_json_fail(rfx_event *ev, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static rfx_event *from_json_fail(rfx_event *ev, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	rfx_event_unref(ev);
	return NULL;
}

#define FAIL(...) return from_json_fail(ev, err, errlen, __VA_ARGS__)

rfx_event *rfx_event_from_json(struct json_object *obj, char *err, size_t errlen)
{
	rfx_event *ev = NULL;
	struct json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object))
		FAIL("expected a JSON object, got %s", obj ? json_type_name(obj) : "null");
	if (!(ev = rfx_event_new()))
		FAIL("out of memory");

	json_object_object_foreach(obj, key, val) {
		bool known = false;
		for (int i = 0; json_keys[i]; i++)
			known |= strcmp(key, json_keys[i]) == 0;
		if (!known) {
			const char *s = rfx_suggest(key, json_keys);
			if (s)
				FAIL("%s: unknown field; did you mean '%s'?", key, s);
			FAIL("%s: unknown field (known: host, service, check, severity, status, "
			     "message, labels, attrs, time, fingerprint, kind, value)", key);
		}
		(void)val;
	}

	for (size_t i = 0; i < sizeof(json_strings) / sizeof(json_strings[0]); i++) {
		if (!json_object_object_get_ex(obj, json_strings[i].key, &v) || !v)
			continue;
		if (!json_object_is_type(v, json_type_string))
			FAIL("%s: expected a string, got %s", json_strings[i].key, json_type_name(v));
		if ((size_t)json_object_get_string_len(v) > json_strings[i].max)
			FAIL("%s: longer than %zu bytes", json_strings[i].key, json_strings[i].max);
		if (rfx_event_set(ev, json_strings[i].field, json_object_get_string(v)))
			FAIL("out of memory");
	}
	if ((!ev->str[RFX_F_CHECK] || !*ev->str[RFX_F_CHECK]) &&
	    (!ev->str[RFX_F_MESSAGE] || !*ev->str[RFX_F_MESSAGE]))
		FAIL("check: an event needs at least 'check' or 'message'");

	if (json_object_object_get_ex(obj, "severity", &v) && v) {
		int sev = -1;
		if (json_object_is_type(v, json_type_int)) {
			int64_t n = json_object_get_int64(v);
			if (n < 0 || n > 7)
				FAIL("severity: %lld is out of range 0-7", (long long)n);
			sev = (int)n;
		} else if (json_object_is_type(v, json_type_string)) {
			sev = rfx_severity_parse(json_object_get_string(v));
			if (sev < 0)
				FAIL("severity: unknown severity '%s' (use emergency, alert, "
				     "critical, error, warning, notice, info, debug or 0-7)",
				     json_object_get_string(v));
		} else {
			FAIL("severity: expected a name or a number 0-7, got %s", json_type_name(v));
		}
		ev->severity = sev;
	}

	if (json_object_object_get_ex(obj, "status", &v) && v) {
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!s)
			FAIL("status: expected \"firing\" or \"resolved\", got %s", json_type_name(v));
		if (strcasecmp(s, "firing") == 0 || strcasecmp(s, "problem") == 0)
			ev->status = RFX_STATUS_FIRING;
		else if (strcasecmp(s, "resolved") == 0 || strcasecmp(s, "ok") == 0)
			ev->status = RFX_STATUS_RESOLVED;
		else
			FAIL("status: expected \"firing\" or \"resolved\", got '%s'", s);
	}

	if (json_object_object_get_ex(obj, "time", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    rfx_time_parse(json_object_get_string(v), &ev->occurred_ns))
			FAIL("time: expected an RFC 3339 time like 2026-11-28T03:22:45Z, got %s",
			     json_object_is_type(v, json_type_string) ? json_object_get_string(v)
								       : json_type_name(v));
	}

	if (json_object_object_get_ex(obj, "value", &v) && v) {
		if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
			FAIL("value: expected a number, got %s", json_type_name(v));
		ev->value = json_object_get_double(v);
		ev->has_value = true;
	}

	if (json_object_object_get_ex(obj, "labels", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			FAIL("labels: expected an object of strings, got %s", json_type_name(v));
		if (json_object_object_length(v) > RFX_LABELS_MAX)
			FAIL("labels: more than %d labels", RFX_LABELS_MAX);
		json_object_object_foreach(v, lk, lv) {
			if (!*lk || strlen(lk) > LABEL_KEY_MAX)
				FAIL("labels: a label name must have 1 to %d bytes", LABEL_KEY_MAX);
			if (!lv || !json_object_is_type(lv, json_type_string))
				FAIL("labels.%s: expected a string, got %s", lk,
				     lv ? json_type_name(lv) : "null");
			if ((size_t)json_object_get_string_len(lv) > LABEL_VALUE_MAX)
				FAIL("labels.%s: longer than %d bytes", lk, LABEL_VALUE_MAX);
			if (rfx_event_label_set(ev, lk, json_object_get_string(lv)))
				FAIL("out of memory");
		}
	}

	if (json_object_object_get_ex(obj, "attrs", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			FAIL("attrs: expected an object, got %s", json_type_name(v));
		json_object_put(ev->attrs);
		ev->attrs = json_object_get(v);
	}
	return ev;
}

#undef FAIL

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *rfx_event_to_json(const rfx_event *ev)
{
	char t[40];
	struct json_object *o = json_object_new_object(), *labels;

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	if (ev->occurred_ns) {
		rfx_time_format(ev->occurred_ns, t, sizeof(t));
		json_object_object_add(o, "time", json_object_new_string(t));
	} else {
		json_object_object_add(o, "time", NULL);
	}
	rfx_time_format(ev->received_ns, t, sizeof(t));
	json_object_object_add(o, "received", json_object_new_string(t));
	json_object_object_add(o, "source", str_or_null(ev->str[RFX_F_SOURCE]));
	json_object_object_add(o, "kind", str_or_null(ev->str[RFX_F_KIND]));
	json_object_object_add(o, "host", str_or_null(ev->str[RFX_F_HOST]));
	json_object_object_add(o, "service", str_or_null(ev->str[RFX_F_SERVICE]));
	json_object_object_add(o, "check", str_or_null(ev->str[RFX_F_CHECK]));
	json_object_object_add(o, "severity", json_object_new_string(rfx_severity_name(ev->severity)));
	json_object_object_add(o, "status", json_object_new_string(
		ev->status == RFX_STATUS_RESOLVED ? "resolved" : "firing"));
	json_object_object_add(o, "message", str_or_null(ev->str[RFX_F_MESSAGE]));
	json_object_object_add(o, "fingerprint", str_or_null(ev->str[RFX_F_FINGERPRINT]));
	json_object_object_add(o, "value", ev->has_value ? json_object_new_double(ev->value) : NULL);
	if (ev->count > 1) {
		/* a dedup record: the repeats folded into it */
		json_object_object_add(o, "count", json_object_new_int64((int64_t)ev->count));
		rfx_time_format(ev->last_ns, t, sizeof(t));
		json_object_object_add(o, "last_seen", json_object_new_string(t));
	}
	labels = json_object_new_object();
	for (size_t i = 0; labels && i < ev->nlabels; i++)
		json_object_object_add(labels, ev->labels[i].key,
				       json_object_new_string(ev->labels[i].value));
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "attrs", json_object_get(ev->attrs));
	return o;
}
