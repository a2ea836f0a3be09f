/*
 * core/noise_rules.c - the silence and maintenance window sets of the noise
 * stage: validation of their JSON and YAML forms, matching against events,
 * the API operations and persistence. The sets are read by the pipeline's
 * worker and written by HTTP threads, so a read-write lock guards them.
 */
#include "noise_impl.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "event.h"
#include "expr.h"

#define WINDOWS_MAX 1000
#define MATCHERS_MAX 4096
#define CREATED_BY_MAX 256
#define COMMENT_MAX 4096
#define NS_PER_S 1000000000LL

struct silence {
	struct rfx_silence s; /* owned strings */
	rfx_expr *expr;
};

struct window {
	char name[RFX_NOISE_NAME_MAX];
	rfx_expr *expr; /* NULL = everything */
	bool weekly, from_api;
	int64_t start_ns, end_ns;   /* one-off */
	unsigned days;              /* weekly: bit 0 = sunday .. 6 = saturday */
	int from_min, to_min;       /* minutes after local midnight */
	struct rfx_noise_tz *tz;
	char *comment;
};

struct rfx_noise_rules {
	pthread_rwlock_t lock; /* guards sil[] and win[] and everything in them */
	struct silence **sil;
	size_t nsil, max_sil;
	int64_t retention_ns;
	struct window **win;
	size_t nwin;
};

static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static void fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

/* ---- silences ---- */

void rfx_silence_clear(struct rfx_silence *s)
{
	if (!s)
		return;
	free(s->matchers);
	free(s->created_by);
	free(s->comment);
	memset(s, 0, sizeof(*s));
}

static void silence_free(struct silence *s)
{
	if (!s)
		return;
	rfx_silence_clear(&s->s);
	rfx_expr_free(s->expr);
	free(s);
}

static const char *silence_state(const struct rfx_silence *s, int64_t now)
{
	if (now >= s->ends_at_ns)
		return "expired";
	return now < s->starts_at_ns ? "pending" : "active";
}

static int compile_matchers(const char *src, rfx_expr **out, char *err, size_t errlen)
{
	char e[200];
	int col = 0;
	if (!src || !*src) {
		fail(err, errlen, "matchers: must not be empty (use an expression such as host == \"db1\")");
		return RFX_EINVAL;
	}
	if (strlen(src) > MATCHERS_MAX) {
		fail(err, errlen, "matchers: longer than %d characters", MATCHERS_MAX);
		return RFX_EINVAL;
	}
	*out = rfx_expr_compile(src, e, sizeof(e), &col);
	if (!*out) {
		fail(err, errlen, "matchers: column %d: %s", col, e);
		return RFX_EINVAL;
	}
	return 0;
}

/* A string member: absent leaves *out alone; wrong type or over max fails. */
static int get_str(struct json_object *obj, const char *key, size_t max, bool required,
		   const char **out, char *err, size_t errlen)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			fail(err, errlen, "%s: missing", key);
			return RFX_EINVAL;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		fail(err, errlen, "%s: expected a string, got %s", key, json_type_name(v));
		return RFX_EINVAL;
	}
	const char *s = json_object_get_string(v);
	if (strlen(s) > max) {
		fail(err, errlen, "%s: longer than %zu characters", key, max);
		return RFX_EINVAL;
	}
	if (required && !*s) {
		fail(err, errlen, "%s: must not be empty", key);
		return RFX_EINVAL;
	}
	*out = s;
	return 0;
}

static int get_time(struct json_object *obj, const char *key, bool required, int64_t *out,
		    char *err, size_t errlen)
{
	const char *s = NULL;
	int rc = get_str(obj, key, 64, required, &s, err, errlen);
	if (rc || !s)
		return rc;
	if (rfx_time_parse(s, out)) {
		fail(err, errlen, "%s: expected an RFC 3339 time like 2026-05-01T22:00:00Z, got '%s'",
		     key, s);
		return RFX_EINVAL;
	}
	return 0;
}

static bool key_known(const char *key, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

static int check_keys(struct json_object *obj, const char *const *keys, const char *const *ignored,
		      char *err, size_t errlen)
{
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		fail(err, errlen, "expected a JSON object, got %s", obj ? json_type_name(obj) : "null");
		return RFX_EINVAL;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!key_known(key, keys) && !key_known(key, ignored)) {
			char list[256] = "";
			for (size_t i = 0; keys[i]; i++) {
				strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, keys[i], sizeof(list) - strlen(list) - 1);
			}
			fail(err, errlen, "%s: unknown field (known: %s)", key, list);
			return RFX_EINVAL;
		}
	}
	return 0;
}

/* stored: a silence read back from persistence, which may have been
 * expired while pending (then startsAt == endsAt). */
static int silence_parse(struct json_object *obj, int64_t now_ns, bool stored,
			 struct rfx_silence *out, char *err, size_t errlen)
{
	static const char *const keys[] = {"id", "matchers", "startsAt", "endsAt", "createdBy",
					   "comment", NULL};
	static const char *const ignored[] = {"status", "updatedAt", NULL};
	const char *id = NULL, *matchers = NULL, *by = NULL, *comment = NULL;
	rfx_expr *e = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_keys(obj, keys, ignored, err, errlen)))
		return rc;
	if ((rc = get_str(obj, "id", RFX_EVENT_ID_LEN, false, &id, err, errlen)))
		return rc;
	if (id && *id && !rfx_event_id_valid(id)) {
		fail(err, errlen, "id: '%s' is not a silence id", id);
		return RFX_EINVAL;
	}
	if ((rc = get_str(obj, "matchers", MATCHERS_MAX, true, &matchers, err, errlen)) ||
	    (rc = compile_matchers(matchers, &e, err, errlen)))
		return rc;
	rfx_expr_free(e);
	out->starts_at_ns = now_ns;
	if ((rc = get_time(obj, "startsAt", false, &out->starts_at_ns, err, errlen)) ||
	    (rc = get_time(obj, "endsAt", true, &out->ends_at_ns, err, errlen)))
		return rc;
	if (out->ends_at_ns < out->starts_at_ns ||
	    (!stored && out->ends_at_ns == out->starts_at_ns)) {
		fail(err, errlen, "endsAt: must be after startsAt");
		return RFX_EINVAL;
	}
	if ((rc = get_str(obj, "createdBy", CREATED_BY_MAX, true, &by, err, errlen)) ||
	    (rc = get_str(obj, "comment", COMMENT_MAX, true, &comment, err, errlen)))
		return rc;
	if (id)
		snprintf(out->id, sizeof(out->id), "%s", id);
	out->matchers = strdup(matchers);
	out->created_by = strdup(by);
	out->comment = strdup(comment);
	out->updated_at_ns = now_ns;
	if (!out->matchers || !out->created_by || !out->comment) {
		rfx_silence_clear(out);
		fail(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	return 0;
}

int rfx_silence_from_json(struct json_object *obj, int64_t now_ns, struct rfx_silence *out,
			  char *err, size_t errlen)
{
	return silence_parse(obj, now_ns, false, out, err, errlen);
}

static struct json_object *silence_to_json(const struct rfx_silence *s, int64_t now, bool status)
{
	char t[40];
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "matchers", json_object_new_string(s->matchers));
	rfx_time_format(s->starts_at_ns, t, sizeof(t));
	json_object_object_add(o, "startsAt", json_object_new_string(t));
	rfx_time_format(s->ends_at_ns, t, sizeof(t));
	json_object_object_add(o, "endsAt", json_object_new_string(t));
	rfx_time_format(s->updated_at_ns, t, sizeof(t));
	json_object_object_add(o, "updatedAt", json_object_new_string(t));
	json_object_object_add(o, "createdBy", json_object_new_string(s->created_by));
	json_object_object_add(o, "comment", json_object_new_string(s->comment));
	if (status) {
		struct json_object *st = json_object_new_object();
		if (st)
			json_object_object_add(st, "state",
					       json_object_new_string(silence_state(s, now)));
		json_object_object_add(o, "status", st);
	}
	return o;
}

/* Builds an owned copy of s with its expression compiled. */
static int silence_build(const struct rfx_silence *s, struct silence **out, char *err,
			 size_t errlen)
{
	struct silence *n = calloc(1, sizeof(*n));
	int rc;
	if (!n)
		goto nomem;
	if ((rc = compile_matchers(s->matchers, &n->expr, err, errlen))) {
		silence_free(n);
		return rc;
	}
	if (!s->created_by || !*s->created_by || !s->comment) {
		fail(err, errlen, "%s: missing", !s->created_by || !*s->created_by ? "createdBy" : "comment");
		silence_free(n);
		return RFX_EINVAL;
	}
	n->s = *s;
	n->s.matchers = strdup(s->matchers);
	n->s.created_by = strdup(s->created_by);
	n->s.comment = strdup(s->comment);
	if (!n->s.matchers || !n->s.created_by || !n->s.comment)
		goto nomem;
	*out = n;
	return 0;
nomem:
	silence_free(n);
	fail(err, errlen, "out of memory");
	return RFX_ENOMEM;
}

static ssize_t silence_find(const struct rfx_noise_rules *r, const char *id)
{
	for (size_t i = 0; i < r->nsil; i++)
		if (!strcmp(r->sil[i]->s.id, id))
			return (ssize_t)i;
	return -1;
}

static void silence_remove_at(struct rfx_noise_rules *r, size_t i)
{
	silence_free(r->sil[i]);
	memmove(&r->sil[i], &r->sil[i + 1], (r->nsil - i - 1) * sizeof(*r->sil));
	r->nsil--;
}

/* Drops silences that expired more than retention ago. Write lock held. */
static void silence_gc(struct rfx_noise_rules *r, int64_t now)
{
	for (size_t i = r->nsil; i-- > 0;)
		if (r->sil[i]->s.ends_at_ns + r->retention_ns <= now)
			silence_remove_at(r, i);
}

/* Inserts or replaces by id; takes ownership of s. Write lock held. */
static int silence_put(struct rfx_noise_rules *r, struct silence *s)
{
	ssize_t i = silence_find(r, s->s.id);
	if (i >= 0) {
		silence_free(r->sil[i]);
		r->sil[i] = s;
		return 0;
	}
	if (r->nsil >= r->max_sil) {
		silence_free(s);
		return RFX_EFULL;
	}
	r->sil[r->nsil++] = s;
	return 0;
}

/* ---- maintenance windows ---- */

void rfx_noise_window_conf_clear(struct rfx_noise_window_conf *w)
{
	if (!w)
		return;
	free(w->name);
	free(w->match);
	free(w->start);
	free(w->end);
	for (size_t i = 0; i < w->days.n; i++)
		free(w->days.v[i]);
	free(w->days.v);
	free(w->from);
	free(w->to);
	free(w->timezone);
	free(w->comment);
	memset(w, 0, sizeof(*w));
}

static void window_free(struct window *w)
{
	if (!w)
		return;
	rfx_expr_free(w->expr);
	rfx_noise_tz_free(w->tz);
	free(w->comment);
	free(w);
}

static int parse_hhmm(const char *s, int *min)
{
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || m > 59 || (h == 24 && m))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= RFX_NOISE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static bool set(const char *s)
{
	return s && *s;
}

/* Validates c and builds the window; messages name the field. */
static int window_build(const struct rfx_noise_window_conf *c, bool from_api, struct window **out,
			char *err, size_t errlen)
{
	char e[200];
	int col = 0, rc = RFX_EINVAL;
	struct window *w = calloc(1, sizeof(*w));
	if (!w) {
		fail(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	w->from_api = from_api;
	if (!c->name || !name_ok(c->name)) {
		fail(err, errlen, "name: %s", c->name && *c->name
			? "use 1-127 letters, digits, '-', '_' or '.'" : "missing");
		goto fail;
	}
	snprintf(w->name, sizeof(w->name), "%s", c->name);
	if (set(c->match) && !(w->expr = rfx_expr_compile(c->match, e, sizeof(e), &col))) {
		fail(err, errlen, "match: column %d: %s", col, e);
		goto fail;
	}
	bool oneoff = set(c->start) || set(c->end);
	bool weekly = set(c->from) || set(c->to) || c->days.n;
	if (oneoff && weekly) {
		fail(err, errlen, "%s: a window is either one-off (start, end) or weekly (days, from, to), "
		     "not both", set(c->from) ? "from" : set(c->to) ? "to" : "days");
		goto fail;
	}
	if (!oneoff && !weekly) {
		fail(err, errlen, "start: missing (give start and end for a one-off window, or "
		     "days, from and to for a weekly one)");
		goto fail;
	}
	if (oneoff) {
		if (set(c->timezone)) {
			fail(err, errlen, "timezone: only for weekly windows (start and end carry "
			     "their own offset)");
			goto fail;
		}
		if (!set(c->start) || !set(c->end)) {
			fail(err, errlen, "%s: missing (a one-off window needs start and end)",
			     set(c->start) ? "end" : "start");
			goto fail;
		}
		if (rfx_time_parse(c->start, &w->start_ns) || rfx_time_parse(c->end, &w->end_ns)) {
			int bad_start = rfx_time_parse(c->start, &w->start_ns) != 0;
			fail(err, errlen, "%s: expected an RFC 3339 time like 2026-05-01T22:00:00+02:00, "
			     "got '%s'", bad_start ? "start" : "end", bad_start ? c->start : c->end);
			goto fail;
		}
		if (w->end_ns <= w->start_ns) {
			fail(err, errlen, "end: must be after start");
			goto fail;
		}
	} else {
		w->weekly = true;
		if (!set(c->from) || !set(c->to)) {
			fail(err, errlen, "%s: missing (a weekly window needs from and to, e.g. "
			     "\"22:00\")", set(c->from) ? "to" : "from");
			goto fail;
		}
		if (parse_hhmm(c->from, &w->from_min)) {
			fail(err, errlen, "from: expected HH:MM, got '%s'", c->from);
			goto fail;
		}
		if (parse_hhmm(c->to, &w->to_min)) {
			fail(err, errlen, "to: expected HH:MM, got '%s'", c->to);
			goto fail;
		}
		if (w->from_min == 24 * 60) {
			fail(err, errlen, "from: 24:00 is only valid as 'to'");
			goto fail;
		}
		for (size_t i = 0; i < c->days.n; i++) {
			int d;
			for (d = 0; d < 7; d++)
				if (!strncasecmp(c->days.v[i], day_names[d], 3) &&
				    strlen(c->days.v[i]) >= 3)
					break;
			if (d == 7) {
				fail(err, errlen, "days: unknown day '%s' (use mon, tue, wed, thu, "
				     "fri, sat, sun)", c->days.v[i]);
				goto fail;
			}
			w->days |= 1u << d;
		}
		if (!c->days.n)
			w->days = 0x7f;
		char tzerr[256];
		w->tz = rfx_noise_tz_load(set(c->timezone) ? c->timezone : "UTC", tzerr, sizeof(tzerr));
		if (!w->tz) {
			fail(err, errlen, "timezone: %s", tzerr);
			goto fail;
		}
	}
	if (c->comment && strlen(c->comment) > COMMENT_MAX) {
		fail(err, errlen, "comment: longer than %d characters", COMMENT_MAX);
		goto fail;
	}
	if (c->comment && !(w->comment = strdup(c->comment))) {
		rc = RFX_ENOMEM;
		fail(err, errlen, "out of memory");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	window_free(w);
	return rc;
}

static bool window_active(const struct window *w, int64_t now_ns)
{
	if (!w->weekly)
		return now_ns >= w->start_ns && now_ns < w->end_ns;
	int64_t t = now_ns / NS_PER_S - (now_ns % NS_PER_S < 0);
	int64_t local = t + rfx_noise_tz_offset(w->tz, t);
	int64_t day = local / 86400 - (local % 86400 < 0);
	int min = (int)((local - day * 86400) / 60);
	int wd = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	int prev = (wd + 6) % 7;
	bool today = w->days & (1u << wd), yesterday = w->days & (1u << prev);
	if (w->from_min < w->to_min)
		return today && min >= w->from_min && min < w->to_min;
	/* to <= from: the window runs past midnight into the next day */
	return (today && min >= w->from_min) || (yesterday && min < w->to_min);
}

static struct json_object *window_to_json(const struct window *w, int64_t now, bool live)
{
	char t[40];
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(w->name));
	if (w->expr)
		json_object_object_add(o, "match", json_object_new_string(rfx_expr_source(w->expr)));
	if (!w->weekly) {
		rfx_time_format(w->start_ns, t, sizeof(t));
		json_object_object_add(o, "start", json_object_new_string(t));
		rfx_time_format(w->end_ns, t, sizeof(t));
		json_object_object_add(o, "end", json_object_new_string(t));
	} else {
		struct json_object *days = json_object_new_array();
		for (int d = 1; d <= 7; d++) /* monday first, as people write weeks */
			if (w->days & (1u << (d % 7)))
				json_object_array_add(days, json_object_new_string(day_names[d % 7]));
		json_object_object_add(o, "days", days);
		snprintf(t, sizeof(t), "%02d:%02d", w->from_min / 60, w->from_min % 60);
		json_object_object_add(o, "from", json_object_new_string(t));
		snprintf(t, sizeof(t), "%02d:%02d", w->to_min / 60, w->to_min % 60);
		json_object_object_add(o, "to", json_object_new_string(t));
		json_object_object_add(o, "timezone",
				       json_object_new_string(rfx_noise_tz_name(w->tz)));
	}
	if (w->comment)
		json_object_object_add(o, "comment", json_object_new_string(w->comment));
	if (live) {
		json_object_object_add(o, "origin", json_object_new_string(w->from_api ? "api" : "config"));
		json_object_object_add(o, "active", json_object_new_boolean(window_active(w, now)));
	}
	return o;
}

static ssize_t window_find(const struct rfx_noise_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nwin; i++)
		if (!strcmp(r->win[i]->name, name))
			return (ssize_t)i;
	return -1;
}

/* Inserts or replaces an API window; takes ownership. Write lock held. */
static int window_put(struct rfx_noise_rules *r, struct window *w, char *err, size_t errlen)
{
	ssize_t i = window_find(r, w->name);
	if (i >= 0 && !r->win[i]->from_api) {
		fail(err, errlen, "name: window '%s' is defined in the configuration file; edit it there",
		     w->name);
		window_free(w);
		return RFX_EINVAL;
	}
	if (i >= 0) {
		window_free(r->win[i]);
		r->win[i] = w;
		return 0;
	}
	if (r->nwin >= WINDOWS_MAX) {
		fail(err, errlen, "too many maintenance windows (at most %d)", WINDOWS_MAX);
		window_free(w);
		return RFX_EFULL;
	}
	r->win[r->nwin++] = w;
	return 0;
}

int rfx_noise_window_from_json(struct json_object *obj, struct rfx_noise_window_conf *out,
			       char *err, size_t errlen)
{
	static const char *const keys[] = {"name", "match", "start", "end", "days", "from", "to",
					   "timezone", "comment", NULL};
	static const char *const ignored[] = {"origin", "active", NULL};
	static const size_t max[] = {RFX_NOISE_NAME_MAX, MATCHERS_MAX, 64, 64, 0, 16, 16, 64,
				     COMMENT_MAX};
	char **dst[] = {&out->name, &out->match, &out->start, &out->end, NULL, &out->from,
			&out->to, &out->timezone, &out->comment};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_keys(obj, keys, ignored, err, errlen)))
		return rc;
	for (size_t i = 0; keys[i]; i++) {
		const char *s = NULL;
		if (!dst[i])
			continue;
		if ((rc = get_str(obj, keys[i], max[i], false, &s, err, errlen)))
			goto fail;
		if (s && !(*dst[i] = strdup(s)))
			goto nomem;
	}
	struct json_object *days;
	if (json_object_object_get_ex(obj, "days", &days) &&
	    !json_object_is_type(days, json_type_null)) {
		if (!json_object_is_type(days, json_type_array) || json_object_array_length(days) > 7) {
			fail(err, errlen, "days: expected an array of up to 7 day names like [\"sat\", "
			     "\"sun\"], got %s", json_type_name(days));
			rc = RFX_EINVAL;
			goto fail;
		}
		size_t nd = json_object_array_length(days);
		out->days.v = calloc(nd ? nd : 1, sizeof(char *));
		if (!out->days.v)
			goto nomem;
		for (size_t i = 0; i < nd; i++) {
			struct json_object *d = json_object_array_get_idx(days, i);
			if (!json_object_is_type(d, json_type_string)) {
				fail(err, errlen, "days[%zu]: expected a day name, got %s", i,
				     json_type_name(d));
				rc = RFX_EINVAL;
				goto fail;
			}
			if (!(out->days.v[i] = strdup(json_object_get_string(d))))
				goto nomem;
			out->days.n++;
		}
	}
	if (!set(out->name)) {
		fail(err, errlen, "name: missing");
		rc = RFX_EINVAL;
		goto fail;
	}
	return 0;
nomem:
	fail(err, errlen, "out of memory");
	rc = RFX_ENOMEM;
fail:
	rfx_noise_window_conf_clear(out);
	return rc;
}

/* ---- the set ---- */

struct rfx_noise_rules *rfx_noise_rules_new(const struct rfx_noise_silence_conf *sc,
					    const struct rfx_seclist *windows, char *err,
					    size_t errlen)
{
	struct rfx_noise_rules *r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	if (pthread_rwlock_init(&r->lock, NULL)) {
		free(r);
		r = NULL;
		goto nomem;
	}
	r->max_sil = sc->max > 0 ? (size_t)sc->max : 1;
	r->retention_ns = sc->retention_ms * 1000000;
	r->sil = calloc(r->max_sil, sizeof(*r->sil));
	r->win = calloc(WINDOWS_MAX, sizeof(*r->win));
	if (!r->sil || !r->win)
		goto nomem;
	size_t nw = windows ? windows->n : 0;
	const struct rfx_noise_window_conf *wc = windows ? windows->v : NULL;
	if (nw > WINDOWS_MAX) {
		fail(err, errlen, "pipeline.noise.maintenance: at most %d windows", WINDOWS_MAX);
		goto fail;
	}
	for (size_t i = 0; i < nw; i++) {
		char e[320];
		struct window *w;
		if (window_build(&wc[i], false, &w, e, sizeof(e))) {
			fail(err, errlen, "pipeline.noise.maintenance[%zu] (%s): %s", i,
			     wc[i].name ? wc[i].name : "?", e);
			goto fail;
		}
		if (window_find(r, w->name) >= 0) {
			fail(err, errlen, "pipeline.noise.maintenance[%zu] (%s): name: used twice", i,
			     w->name);
			window_free(w);
			goto fail;
		}
		r->win[r->nwin++] = w;
	}
	return r;
nomem:
	fail(err, errlen, "out of memory");
fail:
	rfx_noise_rules_free(r);
	return NULL;
}

void rfx_noise_rules_free(struct rfx_noise_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsil; i++)
		silence_free(r->sil[i]);
	for (size_t i = 0; i < r->nwin; i++)
		window_free(r->win[i]);
	free(r->sil);
	free(r->win);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

void rfx_noise_rules_match(struct rfx_noise_rules *r, const rfx_event *ev, int64_t now_ns,
			   char silence_id[RFX_EVENT_ID_LEN + 1], char window[RFX_NOISE_NAME_MAX])
{
	silence_id[0] = 0;
	window[0] = 0;
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->nsil; i++) {
		const struct silence *s = r->sil[i];
		if (now_ns >= s->s.starts_at_ns && now_ns < s->s.ends_at_ns &&
		    rfx_expr_eval(s->expr, ev)) {
			memcpy(silence_id, s->s.id, RFX_EVENT_ID_LEN + 1);
			break;
		}
	}
	for (size_t i = 0; i < r->nwin; i++) {
		const struct window *w = r->win[i];
		if (window_active(w, now_ns) && rfx_expr_eval(w->expr, ev)) {
			memcpy(window, w->name, RFX_NOISE_NAME_MAX);
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
}

/* ---- API ---- */

int rfx_noise_silence_add(struct rfx_noise *n, const struct rfx_silence *s, int64_t now_ns,
			  char id_out[RFX_EVENT_ID_LEN + 1], char *err, size_t errlen)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct silence *ns = NULL;
	int rc;

	if (!s || s->ends_at_ns <= s->starts_at_ns) {
		fail(err, errlen, "endsAt: must be after startsAt");
		return RFX_EINVAL;
	}
	if (s->ends_at_ns <= now_ns) {
		fail(err, errlen, "endsAt: is in the past");
		return RFX_EINVAL;
	}
	if ((rc = silence_build(s, &ns, err, errlen)))
		return rc;
	ns->s.updated_at_ns = now_ns;
	pthread_rwlock_wrlock(&r->lock);
	silence_gc(r, now_ns);
	ssize_t i = s->id[0] ? silence_find(r, s->id) : -1;
	if (s->id[0] && i < 0) {
		fail(err, errlen, "id: no silence '%s'", s->id);
		rc = RFX_ENOENT;
		silence_free(ns);
		goto out;
	}
	/* like Alertmanager, an expired silence is not revived: it gets a successor */
	if (i < 0 || now_ns >= r->sil[i]->s.ends_at_ns)
		rfx_event_id_new(ns->s.id);
	memcpy(id_out, ns->s.id, RFX_EVENT_ID_LEN + 1);
	if ((rc = silence_put(r, ns)))
		fail(err, errlen, "too many silences (at most %zu, expired ones included)", r->max_sil);
out:
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_silence_expire(struct rfx_noise *n, const char *id, int64_t now_ns)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	int rc = RFX_ENOENT;
	pthread_rwlock_wrlock(&r->lock);
	ssize_t i = id ? silence_find(r, id) : -1;
	if (i >= 0) {
		struct rfx_silence *s = &r->sil[i]->s;
		if (now_ns < s->ends_at_ns) {
			s->ends_at_ns = now_ns;
			if (s->starts_at_ns > now_ns)
				s->starts_at_ns = now_ns;
			s->updated_at_ns = now_ns;
		}
		rc = 0;
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_silence_delete(struct rfx_noise *n, const char *id)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	int rc = RFX_ENOENT;
	pthread_rwlock_wrlock(&r->lock);
	ssize_t i = id ? silence_find(r, id) : -1;
	if (i >= 0) {
		silence_remove_at(r, (size_t)i);
		rc = 0;
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_silence_list(struct rfx_noise *n, int64_t now_ns, struct json_object **out)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct json_object *a = json_object_new_array();
	int rc = 0;
	if (!a)
		return RFX_ENOMEM;
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = r->nsil; i-- > 0;) {
		struct json_object *o = silence_to_json(&r->sil[i]->s, now_ns, true);
		if (!o || json_object_array_add(a, o)) {
			json_object_put(o);
			rc = RFX_ENOMEM;
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	if (rc) {
		json_object_put(a);
		return rc;
	}
	*out = a;
	return 0;
}

int rfx_noise_silence_get(struct rfx_noise *n, const char *id, int64_t now_ns,
			  struct json_object **out)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	int rc = RFX_ENOENT;
	pthread_rwlock_rdlock(&r->lock);
	ssize_t i = id ? silence_find(r, id) : -1;
	if (i >= 0) {
		*out = silence_to_json(&r->sil[i]->s, now_ns, true);
		rc = *out ? 0 : RFX_ENOMEM;
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_window_add(struct rfx_noise *n, const struct rfx_noise_window_conf *c, char *err,
			 size_t errlen)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct window *w;
	int rc = window_build(c, true, &w, err, errlen);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&r->lock);
	rc = window_put(r, w, err, errlen);
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_window_delete(struct rfx_noise *n, const char *name)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	int rc = RFX_ENOENT;
	pthread_rwlock_wrlock(&r->lock);
	ssize_t i = name ? window_find(r, name) : -1;
	if (i >= 0 && !r->win[i]->from_api) {
		rc = RFX_EINVAL;
	} else if (i >= 0) {
		window_free(r->win[i]);
		memmove(&r->win[i], &r->win[i + 1], (r->nwin - (size_t)i - 1) * sizeof(*r->win));
		r->nwin--;
		rc = 0;
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

int rfx_noise_window_list(struct rfx_noise *n, int64_t now_ns, struct json_object **out)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct json_object *a = json_object_new_array();
	int rc = 0;
	if (!a)
		return RFX_ENOMEM;
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->nwin; i++) {
		struct json_object *o = window_to_json(r->win[i], now_ns, true);
		if (!o || json_object_array_add(a, o)) {
			json_object_put(o);
			rc = RFX_ENOMEM;
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	if (rc) {
		json_object_put(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* ---- persistence ---- */

int rfx_noise_state_dump(struct rfx_noise *n, char **out)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct json_object *root = json_object_new_object();
	struct json_object *sa = json_object_new_array(), *wa = json_object_new_array();
	int rc = RFX_ENOMEM;

	*out = NULL;
	if (!root || !sa || !wa) {
		json_object_put(sa);
		json_object_put(wa);
		goto out;
	}
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "silences", sa);
	json_object_object_add(root, "maintenance", wa);
	pthread_rwlock_rdlock(&r->lock);
	for (size_t i = 0; i < r->nsil; i++)
		json_object_array_add(sa, silence_to_json(&r->sil[i]->s, 0, false));
	for (size_t i = 0; i < r->nwin; i++)
		if (r->win[i]->from_api)
			json_object_array_add(wa, window_to_json(r->win[i], 0, false));
	pthread_rwlock_unlock(&r->lock);
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && (*out = strdup(s)))
		rc = 0;
out:
	json_object_put(root);
	return rc;
}

int rfx_noise_state_load(struct rfx_noise *n, const char *json, int64_t now_ns, char *err,
			 size_t errlen)
{
	struct rfx_noise_rules *r = rfx_noise_rules_of(n);
	struct json_object *root = NULL, *sa, *wa, *ver;
	struct silence **sils = NULL;
	struct window **wins = NULL;
	size_t ns = 0, nw = 0, i;
	int rc = RFX_EINVAL;
	char e[320];

	enum json_tokener_error jerr;
	root = json ? json_tokener_parse_verbose(json, &jerr) : NULL;
	if (!root || !json_object_is_type(root, json_type_object)) {
		fail(err, errlen, "noise state: not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &ver) || json_object_get_int(ver) != 1) {
		fail(err, errlen, "noise state: version: expected 1");
		goto out;
	}
	if (!json_object_object_get_ex(root, "silences", &sa) ||
	    !json_object_is_type(sa, json_type_array) ||
	    !json_object_object_get_ex(root, "maintenance", &wa) ||
	    !json_object_is_type(wa, json_type_array)) {
		fail(err, errlen, "noise state: expected arrays 'silences' and 'maintenance'");
		goto out;
	}
	size_t sn = json_object_array_length(sa), wn = json_object_array_length(wa);
	sils = calloc(sn ? sn : 1, sizeof(*sils));
	wins = calloc(wn ? wn : 1, sizeof(*wins));
	if (!sils || !wins) {
		rc = RFX_ENOMEM;
		goto out;
	}
	for (i = 0; i < sn; i++) {
		struct json_object *o = json_object_array_get_idx(sa, i), *v;
		struct rfx_silence s;
		if ((rc = silence_parse(o, now_ns, true, &s, e, sizeof(e))))
			goto bad_silence;
		if (!s.id[0]) {
			rfx_silence_clear(&s);
			snprintf(e, sizeof(e), "id: missing");
			rc = RFX_EINVAL;
			goto bad_silence;
		}
		if (json_object_object_get_ex(o, "updatedAt", &v) && json_object_is_type(v, json_type_string))
			rfx_time_parse(json_object_get_string(v), &s.updated_at_ns);
		rc = silence_build(&s, &sils[ns], e, sizeof(e));
		rfx_silence_clear(&s);
		if (rc)
			goto bad_silence;
		if (sils[ns]->s.ends_at_ns + r->retention_ns <= now_ns)
			silence_free(sils[ns]);
		else
			ns++;
	}
	for (i = 0; i < wn; i++) {
		struct rfx_noise_window_conf c;
		if ((rc = rfx_noise_window_from_json(json_object_array_get_idx(wa, i), &c, e, sizeof(e))))
			goto bad_window;
		rc = window_build(&c, true, &wins[nw], e, sizeof(e));
		rfx_noise_window_conf_clear(&c);
		if (rc)
			goto bad_window;
		nw++;
	}
	rc = 0;
	pthread_rwlock_wrlock(&r->lock);
	for (i = 0; i < ns; i++) {
		int prc = silence_put(r, sils[i]);
		rc = rc ? rc : prc;
	}
	ns = 0;
	for (i = 0; i < nw; i++) {
		int prc = window_put(r, wins[i], e, sizeof(e));
		if (prc && !rc)
			fail(err, errlen, "noise state: maintenance: %s", e);
		rc = rc ? rc : prc;
	}
	nw = 0;
	pthread_rwlock_unlock(&r->lock);
	if (rc == RFX_EFULL)
		fail(err, errlen, "noise state: more silences than silences.max; some were dropped");
	goto out;
bad_silence:
	fail(err, errlen, "noise state: silences[%zu]: %s", i, e);
	goto out;
bad_window:
	fail(err, errlen, "noise state: maintenance[%zu]: %s", i, e);
out:
	for (i = 0; i < ns; i++)
		silence_free(sils[i]);
	for (i = 0; i < nw; i++)
		window_free(wins[i]);
	free(sils);
	free(wins);
	json_object_put(root);
	return rc;
}
