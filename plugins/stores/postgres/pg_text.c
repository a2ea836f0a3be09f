/*
 * plugins/stores/postgres/pg_text.c - the text the PostgreSQL store sends
 * and reads back: labels and attrs as JSON, fields in COPY text format, and
 * UTF-8 cleaning.
 *
 * A UTF8 database refuses invalid UTF-8 and jsonb refuses \u0000. One such
 * event from a syslog sender must not fail its whole batch (every sender
 * in it would be refused), so both are replaced by U+FFFD on the way in.
 * JSON is written by our own serializer, not json_object_to_json_string(),
 * which caches its output inside the json object and so writes to an event
 * other threads may be reading.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pg_store.h"

#define JSON_DEPTH_MAX 64
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* ---- buffers ------------------------------------------------------------- */

int sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1) {
		if (cap > SIZE_MAX / 2)
			return RFX_ENOMEM;
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p)
		return RFX_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (sbuf_reserve(b, n) != 0)
		return RFX_ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int sbuf_addc(struct sbuf *b, char c)
{
	return sbuf_add(b, &c, 1);
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

/* ---- UTF-8 ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	uint32_t min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	cp = c & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

const char *pg_utf8_clean(struct sbuf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, k;

	while (i < n && (k = utf8_seq(p + i, n - i)) != 0)
		i += k;
	if (i == n)
		return v;
	b->len = 0;
	if (sbuf_add(b, v, i) != 0)
		return NULL;
	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 0 ? sbuf_add(b, REPLACEMENT, 3) : sbuf_add(b, v + i, k))
			return NULL;
		i += k ? k : 1;
	}
	return b->p;
}

/* ---- COPY text format ---------------------------------------------------------- */

int pg_copy_field(struct sbuf *b, const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t start = 0, i = 0;

	if (!v)
		return sbuf_add(b, "\\N", 2);
	/* worst case every byte doubles or becomes U+FFFD */
	if (sbuf_reserve(b, 3 * n) != 0)
		return RFX_ENOMEM;
	while (i < n) {
		const char *esc = NULL;
		size_t k = 1;
		switch (p[i]) {
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (p[i] < 0x80)
				break;
			k = utf8_seq(p + i, n - i);
			if (k == 0) {
				esc = REPLACEMENT;
				k = 1;
			}
		}
		if (esc) {
			sbuf_add(b, v + start, i - start);
			sbuf_add(b, esc, strlen(esc));
			start = i + k;
		}
		i += k;
	}
	sbuf_add(b, v + start, n - start);
	return 0;
}

/* ---- JSON --------------------------------------------------------------------- */

/* Appends s (n bytes) as a JSON string literal. Valid UTF-8 passes through;
 * invalid bytes and NUL become U+FFFD. */
static int json_add_string(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	int rc = sbuf_addc(b, '"');

	for (size_t i = 0; i < n && rc == 0;) {
		unsigned c = p[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
		} else if (c == '\n') {
			strcpy(esc, "\\n");
		} else if (c == '\r') {
			strcpy(esc, "\\r");
		} else if (c == '\t') {
			strcpy(esc, "\\t");
		} else if (c == 0) {
			strcpy(esc, REPLACEMENT);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			size_t k = utf8_seq(p + i, n - i);
			if (k == 0) {
				rc = sbuf_add(b, REPLACEMENT, 3);
				i++;
			} else {
				rc = sbuf_add(b, s + i, k);
				i += k;
			}
			continue;
		}
		rc = sbuf_add(b, esc, strlen(esc));
		i++;
	}
	return rc != 0 ? rc : sbuf_addc(b, '"');
}

/* Serializes a json-c value with read-only accessors. Non-finite doubles,
 * which JSON cannot carry, become null. RFX_EINVAL when nested too deep. */
static int json_add_value(struct sbuf *b, struct json_object *o, int depth)
{
	char num[64];
	int rc = 0;

	if (depth > JSON_DEPTH_MAX)
		return RFX_EINVAL;
	switch (json_object_get_type(o)) {
	case json_type_null:
		return sbuf_add(b, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(o) ? sbuf_add(b, "true", 4) : sbuf_add(b, "false", 5);
	case json_type_int: {
		int64_t v = json_object_get_int64(o);
		if (v == INT64_MAX)
			snprintf(num, sizeof num, "%" PRIu64, json_object_get_uint64(o));
		else
			snprintf(num, sizeof num, "%" PRId64, v);
		return sbuf_add(b, num, strlen(num));
	}
	case json_type_double: {
		double d = json_object_get_double(o);
		if (!isfinite(d))
			return sbuf_add(b, "null", 4);
		snprintf(num, sizeof num, "%.17g", d);
		if (!strpbrk(num, ".eE")) /* stays a double when read back */
			strcat(num, ".0");
		return sbuf_add(b, num, strlen(num));
	}
	case json_type_string:
		return json_add_string(b, json_object_get_string(o),
				       (size_t)json_object_get_string_len(o));
	case json_type_array: {
		size_t n = json_object_array_length(o);
		rc = sbuf_addc(b, '[');
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				rc = sbuf_addc(b, ',');
			if (rc == 0)
				rc = json_add_value(b, json_object_array_get_idx(o, i), depth + 1);
		}
		return rc != 0 ? rc : sbuf_addc(b, ']');
	}
	case json_type_object: {
		bool first = true;
		rc = sbuf_addc(b, '{');
		json_object_object_foreach(o, key, val) {
			if (rc == 0 && !first)
				rc = sbuf_addc(b, ',');
			first = false;
			if (rc == 0)
				rc = json_add_string(b, key, strlen(key));
			if (rc == 0)
				rc = sbuf_addc(b, ':');
			if (rc == 0)
				rc = json_add_value(b, val, depth + 1);
			if (rc != 0)
				return rc;
		}
		return rc != 0 ? rc : sbuf_addc(b, '}');
	}
	}
	return RFX_EINVAL;
}

int pg_json_write(struct store *s, struct sbuf *b, const rfx_event *ev, size_t *attrs_at)
{
	static const char too_deep[] = "{\"_reflex_error\":\"attrs nested too deeply\"}";
	int rc;

	b->len = 0;
	rc = sbuf_addc(b, '{');
	for (size_t i = 0; i < ev->nlabels && rc == 0; i++) {
		const struct rfx_label *l = &ev->labels[i];
		const char *v = l->value ? l->value : "";
		if (i > 0)
			rc = sbuf_addc(b, ',');
		if (rc == 0)
			rc = json_add_string(b, l->key, strlen(l->key));
		if (rc == 0)
			rc = sbuf_addc(b, ':');
		if (rc == 0)
			rc = json_add_string(b, v, strlen(v));
	}
	if (rc == 0)
		rc = sbuf_addc(b, '}');
	if (rc == 0)
		rc = sbuf_add(b, "", 1); /* the NUL ending the labels */
	*attrs_at = b->len;
	if (rc == 0)
		rc = ev->attrs ? json_add_value(b, ev->attrs, 0) : sbuf_add(b, "{}", 2);
	if (rc == RFX_EINVAL) {
		/* one event's attrs must not fail the whole batch */
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "event %s: attrs nested deeper than %d levels were not stored", ev->id,
			     JSON_DEPTH_MAX);
		b->len = *attrs_at;
		rc = sbuf_add(b, too_deep, sizeof too_deep - 1);
	}
	if (rc != 0)
		s->host->log(s->inst, RFX_LOG_ERROR, "event %s: out of memory serializing labels/attrs",
			     ev->id);
	return rc;
}

int pg_json_read(struct store *s, rfx_event *ev, const char *ltext, const char *atext)
{
	const rfx_host *h = s->host;
	struct json_object *labels = NULL, *attrs = NULL;
	int rc = RFX_EIO;

	if (ltext && strcmp(ltext, "{}") != 0) {
		labels = json_tokener_parse(ltext);
		if (!labels || !json_object_is_type(labels, json_type_object)) {
			h->log(s->inst, RFX_LOG_ERROR, "event %s: labels are not a JSON object", ev->id);
			goto out;
		}
		json_object_object_foreach(labels, key, val) {
			int lrc = h->event_label_set(ev, key, json_object_get_string(val));
			if (lrc != 0) {
				rc = lrc == RFX_ENOMEM ? RFX_ENOMEM : RFX_EIO;
				goto out;
			}
		}
	}
	if (atext && strcmp(atext, "{}") != 0) {
		attrs = json_tokener_parse(atext);
		if (!attrs || !json_object_is_type(attrs, json_type_object)) {
			h->log(s->inst, RFX_LOG_ERROR, "event %s: attrs are not a JSON object", ev->id);
			goto out;
		}
		json_object_put(ev->attrs);
		ev->attrs = attrs;
		attrs = NULL;
	}
	rc = 0;
out:
	json_object_put(labels);
	json_object_put(attrs);
	return rc;
}
