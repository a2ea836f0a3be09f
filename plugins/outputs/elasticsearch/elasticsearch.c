/*
 * plugins/outputs/elasticsearch/elasticsearch.c - the Elasticsearch output:
 * indexes events (a notice: each of its events) as documents through the
 * _bulk API, one `create` per document with the event id as _id, into an
 * index named from the event's time ("reflex-%Y.%m.%d").
 *
 * Exactly-once in the index: `create` with a deterministic _id makes a
 * repeated document answer 409, counted as done, so any request may be
 * repeated whole. A partly failed request (some items 429) is retried with
 * only the items still pending: their states are kept per delivery in the
 * instance's kv ("bulk:<delivery id>") between attempts, and forgotten once
 * the delivery ends. One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "es_bulk.h"

#define ES_DEFAULT_URL "http://localhost:9200"
#define ES_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ES_INDEX_MAX 256

struct es_config {
	struct rfx_outhttp_config http;
	char *index;
	char *username;
	char *password;
	char *api_key;
	char *pipeline;
};

struct es_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct es_config *cfg;
	rfx_outhttp *http;
	char *bulk_url; /* url + "/_bulk" [+ "?pipeline=..."] */
	char *auth;     /* "Authorization: ..." or NULL */
	char shown_url[256];
	struct es_buf body; /* handle() is serial: reused */
	rfx_metric *sent, *failed, *retried, *docs, *dups;
};

/* The documents of one record: their JSON, index names and ids. */
struct es_batch {
	size_t n;
	struct es_doc *docs;
	struct json_object **json;
	char (*index)[ES_INDEX_MAX];
};

static void batch_free(struct es_batch *b)
{
	for (size_t i = 0; b->json != NULL && i < b->n; i++)
		json_object_put(b->json[i]);
	free(b->json);
	free(b->docs);
	free(b->index);
	memset(b, 0, sizeof *b);
}

/* The event as a document: its API JSON plus @timestamp, which Kibana and
 * data streams expect. */
static int add_doc(struct es_out *s, struct es_batch *b, const rfx_event *ev, char *msg,
		   size_t msglen)
{
	struct json_object *o = s->host->event_to_json(ev), *t;
	int64_t ns = ev->occurred_ns ? ev->occurred_ns : ev->received_ns;
	char err[200];
	size_t i = b->n, len;

	if (o == NULL) {
		snprintf(msg, msglen, "out of memory building the document");
		return RFX_ENOMEM;
	}
	if (ns == 0)
		ns = s->host->now_ns();
	if (json_object_object_get_ex(o, "time", &t) && json_object_is_type(t, json_type_string))
		json_object_object_add(o, "@timestamp", json_object_get(t));
	else if (json_object_object_get_ex(o, "received", &t))
		json_object_object_add(o, "@timestamp", json_object_get(t));
	b->json[i] = o;
	b->n++;
	if (es_index_name(s->cfg->index, ns / 1000000000, b->index[i], ES_INDEX_MAX, err,
			  sizeof err) != 0) {
		snprintf(msg, msglen, "%s", err);
		return RFX_EINVAL;
	}
	b->docs[i].index = b->index[i];
	b->docs[i].id = ev->id;
	b->docs[i].source = json_object_to_json_string_length(o, ES_JSON_FLAGS, &len);
	b->docs[i].source_len = len;
	return b->docs[i].source != NULL ? 0 : RFX_ENOMEM;
}

static int batch_make(struct es_out *s, const rfx_record *rec, struct es_batch *b, char *msg,
		      size_t msglen)
{
	const rfx_notice *nt = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	size_t n = nt != NULL ? nt->nevents : 1;
	int rc = 0;

	if (n == 0 || n > ES_MAX_DOCS) {
		snprintf(msg, msglen, "a notice of %zu events (1 to %d per request)", n, ES_MAX_DOCS);
		return RFX_EINVAL;
	}
	b->docs = calloc(n, sizeof *b->docs);
	b->json = calloc(n, sizeof *b->json);
	b->index = calloc(n, sizeof *b->index);
	if (b->docs == NULL || b->json == NULL || b->index == NULL) {
		snprintf(msg, msglen, "out of memory");
		return RFX_ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_doc(s, b, nt != NULL ? nt->events[i] : rec->u.event, msg, msglen);
	return rc;
}

/* The error of a whole-request refusal: ES's error.type and error.reason. */
static void es_error(const struct es_out *s, const struct rfx_outhttp_response *r, char *out,
		     size_t len)
{
	struct json_object *o = r->body ? json_tokener_parse(r->body) : NULL, *e, *v;
	const char *type = NULL, *reason = NULL;

	if (o != NULL && json_object_object_get_ex(o, "error", &e)) {
		if (json_object_is_type(e, json_type_string)) {
			reason = json_object_get_string(e);
		} else {
			if (json_object_object_get_ex(e, "type", &v))
				type = json_object_get_string(v);
			if (json_object_object_get_ex(e, "reason", &v))
				reason = json_object_get_string(v);
		}
	}
	if (type != NULL || reason != NULL) {
		snprintf(out, len, "HTTP %ld %s%s%.180s", r->status, type ? type : "error",
			 reason ? ": " : "", reason ? reason : "");
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		rfx_outhttp_redact(s->http, out, len);
	}
	json_object_put(o);
}

static rfx_result es_handle(void *state, const rfx_record *rec)
{
	struct es_out *s = state;
	struct es_batch b = {0};
	struct rfx_outhttp_response resp = {0};
	struct es_outcome oc = {0};
	const char *hdrs[3];
	char key[64] = "", msg[256] = "", refused[200] = "", *st = NULL, *kept = NULL, *val = NULL;
	size_t pending = 0, failed = 0;
	rfx_result res = RFX_FAIL;
	int rc, nsent;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	rc = batch_make(s, rec, &b, msg, sizeof msg);
	if (rc != 0) {
		res = rc == RFX_ENOMEM ? RFX_RETRY : RFX_FAIL;
		goto out;
	}
	st = malloc(b.n + 1);
	if (st == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		res = RFX_RETRY;
		goto out;
	}
	memset(st, ES_ST_PENDING, b.n);
	st[b.n] = '\0';
	/* what earlier attempts of this delivery already settled */
	if (rec->delivery != NULL) {
		snprintf(key, sizeof key, "bulk:%" PRIu64, rec->delivery->id);
		if (s->host->kv_get(s->inst, key, &kept) == 0 && kept != NULL &&
		    strspn(kept, "-df") == b.n && (kept[b.n] == '\0' || kept[b.n] == '\t')) {
			memcpy(st, kept, b.n);
			if (kept[b.n] == '\t')
				snprintf(refused, sizeof refused, "%s", kept + b.n + 1);
		}
	}
	nsent = es_bulk_build(b.docs, b.n, st, &s->body);
	if (nsent < 0) {
		snprintf(msg, sizeof msg, "out of memory building the request");
		res = RFX_RETRY;
		goto out;
	}
	if (nsent > 0) {
		hdrs[0] = "Content-Type: application/x-ndjson";
		hdrs[1] = s->auth;
		hdrs[2] = NULL;
		rc = rfx_outhttp_request(s->http, "POST", s->bulk_url, hdrs, s->body.data,
					 s->body.len, &resp);
		if (rc != 0 || resp.status != 200) {
			res = rfx_outhttp_result(s->http, rc, &resp, rec->delivery, msg, sizeof msg);
			if (rc == 0 && resp.status != 0)
				es_error(s, &resp, msg, sizeof msg);
			goto out;
		}
		if (es_bulk_parse(resp.body, resp.body_len, b.docs, b.n, st, &oc) != 0) {
			snprintf(msg, sizeof msg, "HTTP 200 without a bulk answer (is url the "
				 "Elasticsearch base URL?)");
			res = RFX_FAIL;
			goto out;
		}
		s->host->metric_add(s->docs, (double)(oc.done - oc.conflicts));
		s->host->metric_add(s->dups, (double)oc.conflicts);
		if (oc.failed > 0 && refused[0] == '\0')
			snprintf(refused, sizeof refused, "%s", oc.fail_error);
	}
	for (size_t i = 0; i < b.n; i++) {
		pending += st[i] == ES_ST_PENDING;
		failed += st[i] == ES_ST_FAILED;
	}
	if (pending > 0) {
		if (snprintf(msg, sizeof msg, "%zu of %zu documents to retry (%s)", pending, b.n,
			     nsent > 0 && oc.retry_error[0] ? oc.retry_error : "not answered") < 0)
			msg[0] = '\0'; /* cut is fine; the check quiets -Wformat-truncation */
		res = RFX_RETRY;
		/* states, a tab, and the first permanent refusal for the final word */
		if (key[0] != '\0' && pending < b.n &&
		    (asprintf(&val, "%s\t%s", st, refused) < 0 ||
		     s->host->kv_put(s->inst, key, val) != 0))
			s->host->log(s->inst, RFX_LOG_DEBUG, "cannot keep the item states of %s: the "
				     "retry sends every document (harmless: create is idempotent)",
				     key);
	} else if (failed > 0) {
		snprintf(msg, sizeof msg, "%zu of %zu documents refused: %s", failed, b.n,
			 refused[0] ? refused : "refused");
		res = RFX_FAIL;
	} else {
		res = RFX_OK;
	}
out:
	if (key[0] != '\0' && res != RFX_RETRY && kept != NULL)
		s->host->kv_del(s->inst, key);
	if (res == RFX_OK) {
		s->host->metric_add(s->sent, 1);
	} else {
		s->host->metric_add(res == RFX_RETRY ? s->retried : s->failed, 1);
		rfx_outhttp_redact(s->http, msg, sizeof msg);
		rfx_outhttp_delivery_set(rec->delivery, res == RFX_RETRY ? resp.retry_after_ms : 0,
					 msg);
		s->host->log(s->inst, RFX_LOG_WARNING, "POST %s/_bulk: %s (%s)", s->shown_url, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	batch_free(&b);
	free(st);
	free(kept);
	free(val);
	return res;
}

static void es_destroy(void *state)
{
	struct es_out *s = state;

	if (s == NULL)
		return;
	rfx_outhttp_free(s->http);
	es_buf_free(&s->body);
	free(s->bulk_url);
	free(s->auth);
	free(s);
}

static bool set(const char *v)
{
	return v != NULL && v[0] != '\0';
}

static int es_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct es_config *cfg = config;
	struct es_out *s;
	char name[ES_INDEX_MAX], *cred = NULL, *b64 = NULL;
	size_t ul;
	int rc = RFX_EINVAL;

	if (es_index_name(cfg->index, 1700000000, name, sizeof name, err, errlen) != 0)
		return RFX_EINVAL;
	if (set(cfg->api_key) && (set(cfg->username) || set(cfg->password))) {
		snprintf(err, errlen, "set api_key or username and password, not both");
		return RFX_EINVAL;
	}
	if (set(cfg->username) != set(cfg->password)) {
		snprintf(err, errlen, "username and password go together");
		return RFX_EINVAL;
	}
	if ((set(cfg->api_key) && strpbrk(cfg->api_key, "\r\n ") != NULL) ||
	    (set(cfg->username) && strpbrk(cfg->username, "\r\n:") != NULL) ||
	    (set(cfg->password) && strpbrk(cfg->password, "\r\n") != NULL)) {
		snprintf(err, errlen, "api_key, username and password must be one line (and the "
			 "username without ':')");
		return RFX_EINVAL;
	}
	if (set(cfg->pipeline) && strspn(cfg->pipeline, "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
					  strlen(cfg->pipeline)) {
		snprintf(err, errlen, "pipeline: letters, digits, '.', '_' and '-' only");
		return RFX_EINVAL;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	s->inst = inst;
	s->host = host;
	s->cfg = cfg;
	s->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (s->http == NULL)
		goto fail;
	ul = strlen(cfg->http.url);
	while (ul > 0 && cfg->http.url[ul - 1] == '/')
		ul--;
	if (asprintf(&s->bulk_url, "%.*s/_bulk%s%s", (int)ul, cfg->http.url,
		     set(cfg->pipeline) ? "?pipeline=" : "", set(cfg->pipeline) ? cfg->pipeline : "") < 0) {
		s->bulk_url = NULL;
		goto nomem;
	}
	if (set(cfg->api_key)) {
		rfx_outhttp_secret(s->http, cfg->api_key);
		if (asprintf(&s->auth, "Authorization: ApiKey %s", cfg->api_key) < 0) {
			s->auth = NULL;
			goto nomem;
		}
	} else if (set(cfg->username)) {
		if (asprintf(&cred, "%s:%s", cfg->username, cfg->password) < 0) {
			cred = NULL;
			goto nomem;
		}
		b64 = malloc(4 * ((strlen(cred) + 2) / 3) + 1);
		if (b64 == NULL)
			goto nomem;
		es_base64((const unsigned char *)cred, strlen(cred), b64);
		rfx_outhttp_secret(s->http, cfg->password);
		rfx_outhttp_secret(s->http, b64);
		if (asprintf(&s->auth, "Authorization: Basic %s", b64) < 0) {
			s->auth = NULL;
			goto nomem;
		}
	}
	rfx_outhttp_url_for_log(cfg->http.url, s->shown_url, sizeof s->shown_url);
	s->sent = host->counter(inst, "sent_total", "Deliveries Elasticsearch took completely");
	s->failed = host->counter(inst, "failed_total", "Deliveries refused for good (FAIL)");
	s->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	s->docs = host->counter(inst, "documents_total", "Documents created");
	s->dups = host->counter(inst, "duplicates_total",
				"Documents already there (409 on create: an earlier attempt made it)");
	if (s->sent == NULL || s->failed == NULL || s->retried == NULL || s->docs == NULL ||
	    s->dups == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		rc = RFX_ENOMEM;
		goto fail;
	}
	free(cred);
	free(b64);
	*state = s;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = RFX_ENOMEM;
fail:
	if (cred != NULL)
		memset(cred, 0, strlen(cred));
	free(cred);
	free(b64);
	es_destroy(s);
	return rc;
}

static const rfx_option es_options[] = {
	RFX_OUTHTTP_OPTIONS(struct es_config, http, ES_DEFAULT_URL, 0),
	{
		.name = "index",
		.type = RFX_OPT_STRING,
		.default_value = "reflex-%Y.%m.%d",
		.description = "Index to write to; strftime conversions (%Y, %m, %d, %H...) take "
			       "the event's time in UTC. Also a data stream name.",
		.offset = offsetof(struct es_config, index),
	},
	{
		.name = "username",
		.type = RFX_OPT_STRING,
		.description = "User for HTTP basic authentication (with password).",
		.offset = offsetof(struct es_config, username),
	},
	{
		.name = "password",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Password for basic authentication. A secret.",
		.offset = offsetof(struct es_config, password),
	},
	{
		.name = "api_key",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "API key, the base64 'encoded' form of id:api_key, sent as "
			       "Authorization: ApiKey. A secret; instead of username/password.",
		.offset = offsetof(struct es_config, api_key),
	},
	{
		.name = "pipeline",
		.type = RFX_OPT_STRING,
		.description = "Ingest pipeline the documents go through (?pipeline=).",
		.offset = offsetof(struct es_config, pipeline),
	},
	RFX_OPTION_END,
};

static const rfx_plugin es_plugin = {
	RFX_PLUGIN_ABI,
	.name = "elasticsearch",
	.version = "1.0.0",
	.description = "Indexes events into Elasticsearch (_bulk create, event id as _id: "
		       "exactly once in the index).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.options = es_options,
	.config_size = sizeof(struct es_config),
	.init = es_init,
	.handle = es_handle,
	.destroy = es_destroy,
};

RFX_PLUGIN_DEFINE(es_plugin)
