/*
 * plugins/outputs/elasticsearch/es_bulk.c - builds the NDJSON body of a
 * _bulk request of `create` actions and reads the per-item answer (see
 * es_bulk.h for why create with a deterministic _id).
 */
#include "es_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

void es_buf_free(struct es_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_add(struct es_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return RFX_ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* A JSON string literal of s: the index and id are plain, but a quote or a
 * control character must never break the action line. */
static int buf_add_jstr(struct es_buf *b, const char *s)
{
	char esc[8];
	int rc = buf_add(b, "\"", 1);

	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = buf_add(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			rc = buf_add(b, esc, 6);
		} else {
			rc = buf_add(b, s, 1);
		}
	}
	return rc == 0 ? buf_add(b, "\"", 1) : rc;
}

int es_bulk_build(const struct es_doc *docs, size_t n, const char *state, struct es_buf *out)
{
	int sent = 0, rc = 0;

	out->len = 0;
	if (buf_add(out, "", 0) != 0)
		return RFX_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (state[i] != ES_ST_PENDING)
			continue;
		rc = buf_add(out, "{\"create\":{\"_index\":", 20);
		if (rc == 0)
			rc = buf_add_jstr(out, docs[i].index);
		if (rc == 0)
			rc = buf_add(out, ",\"_id\":", 7);
		if (rc == 0)
			rc = buf_add_jstr(out, docs[i].id);
		if (rc == 0)
			rc = buf_add(out, "}}\n", 3);
		if (rc == 0)
			rc = buf_add(out, docs[i].source, docs[i].source_len);
		if (rc == 0)
			rc = buf_add(out, "\n", 1);
		sent++;
	}
	return rc != 0 ? RFX_ENOMEM : sent;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* "HTTP 429 es_rejected_execution_exception: rejected execution of ..." */
static void item_error(struct json_object *item, int status, char *out, size_t len)
{
	struct json_object *e = NULL;
	const char *type = NULL, *reason = NULL;

	if (json_object_object_get_ex(item, "error", &e)) {
		if (json_object_is_type(e, json_type_string)) {
			reason = json_object_get_string(e);
		} else {
			type = jstr(e, "type");
			reason = jstr(e, "reason");
		}
	}
	snprintf(out, len, "HTTP %d %s%s%.150s", status, type ? type : "error",
		 reason ? ": " : "", reason ? reason : "");
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

int es_bulk_parse(const char *body, size_t len, const struct es_doc *docs, size_t n,
		  char *state, struct es_outcome *o)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL, *items;
	char *next = NULL;
	int rc = RFX_EINVAL;
	size_t cursor = 0;

	memset(o, 0, sizeof *o);
	if (tok == NULL)
		return RFX_ENOMEM;
	root = json_tokener_parse_ex(tok, body ? body : "", (int)len);
	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		goto out;
	next = calloc(n + 1, 1);
	if (next == NULL) {
		rc = RFX_ENOMEM;
		goto out;
	}
	memcpy(next, state, n);
	/* "errors": false promises every item succeeded, but the items are
	 * read either way: they say which ones */
	for (size_t k = 0; k < json_object_array_length(items); k++) {
		struct json_object *wrap = json_object_array_get_idx(items, k), *item = NULL, *st;
		const char *id;
		size_t i;
		int status;

		if (wrap == NULL || !json_object_is_type(wrap, json_type_object))
			continue;
		json_object_object_foreach(wrap, action, val)
		{
			(void)action;
			item = val;
			break;
		}
		if (item == NULL || !json_object_is_type(item, json_type_object))
			continue;
		id = jstr(item, "_id");
		/* the next pending item in request order, checked by its _id */
		while (cursor < n && state[cursor] != ES_ST_PENDING)
			cursor++;
		i = cursor;
		if (id != NULL && (i >= n || strcmp(docs[i].id, id) != 0)) {
			for (i = 0; i < n; i++)
				if (state[i] == ES_ST_PENDING && strcmp(docs[i].id, id) == 0)
					break;
		} else {
			cursor++;
		}
		if (i >= n)
			continue;
		status = json_object_object_get_ex(item, "status", &st) ? json_object_get_int(st) : 0;
		if ((status >= 200 && status < 300) || status == 409) {
			next[i] = ES_ST_DONE;
			o->done++;
			if (status == 409)
				o->conflicts++;
		} else if (status == 429 || status >= 500 || status == 0) {
			o->retry++;
			if (o->retry_error[0] == '\0')
				item_error(item, status, o->retry_error, sizeof o->retry_error);
		} else {
			next[i] = ES_ST_FAILED;
			o->failed++;
			if (o->fail_error[0] == '\0')
				item_error(item, status, o->fail_error, sizeof o->fail_error);
		}
	}
	/* an item sent but not answered stays pending: it is sent again */
	memcpy(state, next, n);
	rc = 0;
out:
	free(next);
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

int es_index_name(const char *pattern, int64_t t, char *out, size_t len, char *err,
		  size_t errlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n;

	if (gmtime_r(&tt, &tm) == NULL || len < 2)
		goto bad_time;
	n = strftime(out, len, pattern, &tm);
	if (n == 0 || n > 255) {
		snprintf(err, errlen, "index: '%s' gives an empty name or one longer than 255 bytes",
			 pattern);
		return RFX_EINVAL;
	}
	if (strchr("-_+", out[0]) != NULL || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		snprintf(err, errlen, "index: '%s' must not start with -, _ or + (nor be . or ..)",
			 out);
		return RFX_EINVAL;
	}
	for (const char *p = out; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || strchr("\\/*?\"<>| ,#:", *p) != NULL ||
		    (unsigned char)*p < 0x20) {
			snprintf(err, errlen, "index: '%s' is not a valid index name (lowercase, "
				 "none of \\ / * ? \" < > | space , # :)", out);
			return RFX_EINVAL;
		}
	}
	return 0;
bad_time:
	snprintf(err, errlen, "index: cannot format time %lld", (long long)t);
	return RFX_EINVAL;
}

void es_base64(const unsigned char *in, size_t n, char *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
}
