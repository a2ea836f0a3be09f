/*
 * plugins/stores/sqlite/sqlite_json.c - labels and attrs as the JSON text
 * of their processed_events columns: written by insert_event, read back by
 * row_to_event.
 *
 * They are written by a small serializer of our own instead of
 * json_object_to_json_string(), which caches its output inside the json
 * object and so writes to an event other threads may be reading.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sqlite_store.h"

#define JSON_DEPTH_MAX 64   /* deeper attrs are refused, not truncated */

static int sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
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

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (sbuf_reserve(b, n) != 0)
		return RFX_ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sbuf_addc(struct sbuf *b, char c)
{
	return sbuf_add(b, &c, 1);
}

/* Appends s as a JSON string literal. Bytes >= 0x80 pass through: the text
 * stays UTF-8 as it came in. */
static int json_add_string(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (sbuf_addc(b, '"') != 0)
		return RFX_ENOMEM;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 0;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			elen = 2;
		} else if (c == '\n') {
			memcpy(esc, "\\n", 2);
			elen = 2;
		} else if (c == '\r') {
			memcpy(esc, "\\r", 2);
			elen = 2;
		} else if (c == '\t') {
			memcpy(esc, "\\t", 2);
			elen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		} else {
			continue;
		}
		if (sbuf_add(b, s + start, i - start) != 0 || sbuf_add(b, esc, elen) != 0)
			return RFX_ENOMEM;
		start = i + 1;
	}
	if (sbuf_add(b, s + start, n - start) != 0 || sbuf_addc(b, '"') != 0)
		return RFX_ENOMEM;
	return 0;
}

/* Serializes a json-c value using read-only accessors only (see the file
 * comment). Non-finite doubles, which JSON cannot carry, become null. */
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
		return json_object_get_boolean(o) ? sbuf_add(b, "true", 4)
						  : sbuf_add(b, "false", 5);
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
		/* keep it a double when read back */
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0");
		return sbuf_add(b, num, strlen(num));
	}
	case json_type_string:
		return json_add_string(b, json_object_get_string(o),
				       (size_t)json_object_get_string_len(o));
	case json_type_array: {
		size_t n = json_object_array_length(o);
		if (sbuf_addc(b, '[') != 0)
			return RFX_ENOMEM;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i > 0 && sbuf_addc(b, ',') != 0)
				return RFX_ENOMEM;
			rc = json_add_value(b, json_object_array_get_idx(o, i), depth + 1);
		}
		return rc != 0 ? rc : sbuf_addc(b, ']');
	}
	case json_type_object: {
		bool first = true;
		if (sbuf_addc(b, '{') != 0)
			return RFX_ENOMEM;
		json_object_object_foreach(o, key, val) {
			if (!first && sbuf_addc(b, ',') != 0)
				return RFX_ENOMEM;
			first = false;
			rc = json_add_string(b, key, strlen(key));
			if (rc == 0)
				rc = sbuf_addc(b, ':');
			if (rc == 0)
				rc = json_add_value(b, val, depth + 1);
			if (rc != 0)
				return rc;
		}
		return sbuf_addc(b, '}');
	}
	}
	return RFX_EINVAL;
}

int sqlite_json_write(struct store *s, struct sbuf *b, const rfx_event *ev, size_t *labels_end)
{
	int rc;

	b->len = 0;
	rc = sbuf_addc(b, '{');
	for (size_t i = 0; i < ev->nlabels && rc == 0; i++) {
		const struct rfx_label *l = &ev->labels[i];
		if (i > 0)
			rc = sbuf_addc(b, ',');
		if (rc == 0)
			rc = json_add_string(b, l->key, strlen(l->key));
		if (rc == 0)
			rc = sbuf_addc(b, ':');
		if (rc == 0)
			rc = json_add_string(b, l->value ? l->value : "",
					     l->value ? strlen(l->value) : 0);
	}
	if (rc == 0)
		rc = sbuf_addc(b, '}');
	*labels_end = b->len;
	if (rc == 0)
		rc = ev->attrs ? json_add_value(b, ev->attrs, 0) : sbuf_add(b, "{}", 2);
	if (rc == RFX_EINVAL) {
		/* One event's attrs must not fail the whole batch (and every
		 * sender in it): keep the event, say what was left out. */
		s->host->log(s->inst, RFX_LOG_WARNING, "event %s: attrs nested deeper than 64 "
			     "levels were not stored", ev->id);
		b->len = *labels_end;
		rc = sbuf_add(b, "{\"_reflex_error\":\"attrs nested too deeply\"}", 43);
	}
	if (rc != 0)
		s->host->log(s->inst, RFX_LOG_ERROR, "event %s: cannot serialize %s", ev->id,
			     rc == RFX_EINVAL ? "attrs (nested too deeply)" : "labels/attrs");
	return rc;
}

int sqlite_json_read(struct store *s, rfx_event *ev, const char *ltext, const char *atext)
{
	const rfx_host *h = s->host;
	struct json_object *labels = NULL, *attrs = NULL;
	int rc = RFX_EIO;

	if (ltext && strcmp(ltext, "{}") != 0) {
		labels = json_tokener_parse(ltext);
		if (!labels || !json_object_is_type(labels, json_type_object)) {
			h->log(s->inst, RFX_LOG_ERROR, "event %s: labels are not a JSON object",
			       ev->id);
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
			h->log(s->inst, RFX_LOG_ERROR, "event %s: attrs are not a JSON object",
			       ev->id);
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
