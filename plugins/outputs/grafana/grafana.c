/*
 * plugins/outputs/grafana/grafana.c - the Grafana output: marks events on
 * dashboards as annotations through Grafana's HTTP API. A firing event
 * (or a notice's group) creates an annotation (POST /api/annotations) whose
 * id is kept per fingerprint (group) in the instance's kv; updates patch
 * its text and tags; the resolution turns it into a region by patching
 * timeEnd, then forgets it, so the next firing starts a new one.
 *
 * One attempt per handle(): the core owns retries.
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
#include "../../common/template.h"

#define GF_DEFAULT_URL "http://localhost:3000"
#define GF_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define GF_MAX_TAGS 16
#define GF_TEXT_BYTES 8192
#define GF_TAG_BYTES 256
#define GF_KV_KEY_MAX 200

struct gf_config {
	struct rfx_outhttp_config http;
	char *token;
	char *dashboard_uid;
	int64_t panel_id;
	int64_t org_id;
	struct rfx_strlist tags;
	char *text;
	char *notice_text;
};

struct gf_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct gf_config *cfg;
	rfx_outhttp *http;
	char *base;        /* url without a trailing slash */
	char *auth;        /* "Authorization: Bearer ..." */
	char org[64];      /* "X-Grafana-Org-Id: N" or "" */
	char shown_url[256];
	rfx_otpl *text, *ntext, *tags[GF_MAX_TAGS];
	size_t ntags;
	struct rfx_otpl_buf buf; /* handle() is serial */
	rfx_metric *sent, *failed, *retried;
};

/* The kv key of the annotation of a fingerprint or group, bounded. */
static void ann_key(const rfx_record *rec, char *out, size_t len)
{
	const char *id = rec->type == RFX_REC_EVENT ? rfx_event_fingerprint(rec->u.event)
						    : rec->u.notice->group_key;
	const char *pfx = rec->type == RFX_REC_EVENT ? "ann:fp:" : "ann:group:";

	out[0] = '\0';
	if (id == NULL || id[0] == '\0')
		return;
	if (strlen(id) + strlen(pfx) <= GF_KV_KEY_MAX) {
		snprintf(out, len, "%s%s", pfx, id);
	} else {
		uint64_t h = 1469598103934665603ULL; /* FNV-1a: long keys get a digest */

		for (const char *p = id; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		snprintf(out, len, "%sh%016" PRIx64, pfx, h);
	}
}

/* Milliseconds of the record's time: the event's (the notice's newest
 * event for a resolution, its first otherwise). */
static int64_t rec_ms(const struct gf_out *g, const rfx_record *rec)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	int64_t ns = 0;

	if (ev == NULL && rec->u.notice->nevents > 0) {
		ev = rec->u.notice->events[0];
		for (size_t i = 1; rec->u.notice->status == RFX_STATUS_RESOLVED &&
				   i < rec->u.notice->nevents; i++)
			if (rec->u.notice->events[i]->occurred_ns > ev->occurred_ns)
				ev = rec->u.notice->events[i];
	}
	if (ev != NULL)
		ns = ev->occurred_ns ? ev->occurred_ns : ev->received_ns;
	if (ns == 0)
		ns = g->host->now_ns();
	return ns / 1000000;
}

/* Adds text and tags, rendered for the record. */
static int add_content(struct gf_out *g, const rfx_record *rec, struct json_object *o)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	struct json_object *tags = json_object_new_array();

	if (tags == NULL || rfx_otpl_render(n ? g->ntext : g->text, ev, n, &g->buf, NULL) != 0) {
		json_object_put(tags);
		return RFX_ENOMEM;
	}
	json_object_object_add(o, "text", json_object_new_string_len(g->buf.data, (int)g->buf.len));
	for (size_t i = 0; i < g->ntags; i++) {
		if (rfx_otpl_render(g->tags[i], ev, n, &g->buf, NULL) != 0) {
			json_object_put(tags);
			return RFX_ENOMEM;
		}
		/* a tag whose values are all empty ("host:" of no host) says nothing */
		if (g->buf.len > 0 && g->buf.data[g->buf.len - 1] != ':')
			json_object_array_add(tags, json_object_new_string_len(g->buf.data,
									       (int)g->buf.len));
	}
	json_object_object_add(o, "tags", tags);
	return 0;
}

/* One request to Grafana; *id receives the answer's id when asked. */
static rfx_result call(struct gf_out *g, const rfx_record *rec, const char *method,
		       const char *url, struct json_object *body, int64_t *id, char *msg,
		       size_t msglen)
{
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[4], *b;
	size_t blen, nh = 0;
	rfx_result res;
	int rc;

	b = json_object_to_json_string_length(body, GF_JSON_FLAGS, &blen);
	hdrs[nh++] = "Content-Type: application/json";
	hdrs[nh++] = g->auth;
	if (g->org[0] != '\0')
		hdrs[nh++] = g->org;
	hdrs[nh] = NULL;
	rc = rfx_outhttp_request(g->http, method, url, hdrs, b, blen, &resp);
	res = rfx_outhttp_result(g->http, rc, &resp, rec->delivery, msg, msglen);
	if (res == RFX_OK && id != NULL) {
		struct json_object *o = resp.body ? json_tokener_parse(resp.body) : NULL, *v;

		*id = 0;
		if (o != NULL && json_object_object_get_ex(o, "id", &v) &&
		    json_object_is_type(v, json_type_int))
			*id = json_object_get_int64(v);
		json_object_put(o);
		if (*id <= 0) {
			snprintf(msg, msglen, "HTTP %ld without an annotation id (is url Grafana?)",
				 resp.status);
			res = RFX_FAIL;
		}
	}
	rfx_outhttp_response_free(&resp);
	return res;
}

static rfx_result gf_handle(void *state, const rfx_record *rec)
{
	struct gf_out *g = state;
	struct json_object *body = NULL;
	char key[GF_KV_KEY_MAX + 32], url[600], msg[256] = "", idbuf[32], *kept = NULL;
	int64_t id = 0, ms;
	bool resolved;
	rfx_result res = RFX_FAIL;
	const char *what = "POST";

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	resolved = rec->type == RFX_REC_EVENT ? rec->u.event->status == RFX_STATUS_RESOLVED
					      : rec->u.notice->status == RFX_STATUS_RESOLVED;
	ms = rec_ms(g, rec);
	ann_key(rec, key, sizeof key);
	if (key[0] != '\0' && g->host->kv_get(g->inst, key, &kept) == 0 && kept != NULL) {
		char *end;

		id = strtoll(kept, &end, 10);
		if (*end != '\0' || id <= 0)
			id = 0;
	}
	body = json_object_new_object();
	if (body == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		res = RFX_RETRY;
		goto out;
	}
	if (id > 0) {
		/* the fingerprint's annotation exists: close it, or refresh it */
		snprintf(url, sizeof url, "%s/api/annotations/%" PRId64, g->base, id);
		what = "PATCH";
		if (resolved) {
			json_object_object_add(body, "timeEnd", json_object_new_int64(ms));
		} else if (add_content(g, rec, body) != 0) {
			snprintf(msg, sizeof msg, "out of memory rendering the text");
			res = RFX_RETRY;
			goto out;
		}
		res = call(g, rec, "PATCH", url, body, NULL, msg, sizeof msg);
		if (res == RFX_OK && resolved)
			g->host->kv_del(g->inst, key);
		else if (res == RFX_FAIL && strstr(msg, "HTTP 404") != NULL)
			g->host->kv_del(g->inst, key); /* deleted in Grafana: the next firing starts anew */
		goto out;
	}
	/* a new annotation: a point for now, a region once resolved; a
	 * resolution of nothing we annotated is marked as a point */
	snprintf(url, sizeof url, "%s/api/annotations", g->base);
	if (g->cfg->dashboard_uid != NULL && g->cfg->dashboard_uid[0] != '\0')
		json_object_object_add(body, "dashboardUID",
				       json_object_new_string(g->cfg->dashboard_uid));
	if (g->cfg->panel_id > 0)
		json_object_object_add(body, "panelId", json_object_new_int64(g->cfg->panel_id));
	json_object_object_add(body, "time", json_object_new_int64(ms));
	if (add_content(g, rec, body) != 0) {
		snprintf(msg, sizeof msg, "out of memory rendering the text");
		res = RFX_RETRY;
		goto out;
	}
	res = call(g, rec, "POST", url, body, &id, msg, sizeof msg);
	if (res == RFX_OK && !resolved && key[0] != '\0') {
		snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
		if (g->host->kv_put(g->inst, key, idbuf) != 0)
			g->host->log(g->inst, RFX_LOG_WARNING, "cannot keep annotation %s of %s: its "
				     "resolution will be a separate annotation", idbuf, key);
	}
out:
	if (res == RFX_OK) {
		g->host->metric_add(g->sent, 1);
	} else {
		g->host->metric_add(res == RFX_RETRY ? g->retried : g->failed, 1);
		if (rec->delivery != NULL && rec->delivery->error[0] == '\0')
			rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		g->host->log(g->inst, RFX_LOG_WARNING, "%s %s/api/annotations%s: %s (%s)", what,
			     g->shown_url, id > 0 ? "/ID" : "", msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	json_object_put(body);
	free(kept);
	return res;
}

static void gf_destroy(void *state)
{
	struct gf_out *g = state;

	if (g == NULL)
		return;
	rfx_outhttp_free(g->http);
	rfx_otpl_free(g->text);
	rfx_otpl_free(g->ntext);
	for (size_t i = 0; i < g->ntags; i++)
		rfx_otpl_free(g->tags[i]);
	rfx_otpl_buf_free(&g->buf);
	free(g->base);
	free(g->auth);
	free(g);
}

static int compile(const char *opt, const char *src, size_t max, rfx_otpl **out, char *err,
		   size_t errlen)
{
	struct rfx_otpl_error e;
	char where[200];

	*out = rfx_otpl_compile(src, RFX_OTPL_ESC_NONE, max, &e);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&e, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

static int gf_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct gf_config *cfg = config;
	struct gf_out *g;
	size_t ul;
	int rc = RFX_EINVAL;

	if (strpbrk(cfg->token, "\r\n ") != NULL) {
		snprintf(err, errlen, "token: must be one word (glsa_...)");
		return RFX_EINVAL;
	}
	if (cfg->tags.n > GF_MAX_TAGS) {
		snprintf(err, errlen, "tags: at most %d", GF_MAX_TAGS);
		return RFX_EINVAL;
	}
	g = calloc(1, sizeof *g);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	g->inst = inst;
	g->host = host;
	g->cfg = cfg;
	if ((rc = compile("text", cfg->text, GF_TEXT_BYTES, &g->text, err, errlen)) != 0 ||
	    (rc = compile("notice_text", cfg->notice_text, GF_TEXT_BYTES, &g->ntext, err,
			  errlen)) != 0)
		goto fail;
	for (size_t i = 0; i < cfg->tags.n; i++) {
		char opt[32];

		snprintf(opt, sizeof opt, "tags[%zu]", i);
		if ((rc = compile(opt, cfg->tags.v[i], GF_TAG_BYTES, &g->tags[i], err, errlen)) != 0)
			goto fail;
		g->ntags++;
	}
	rc = RFX_EINVAL;
	g->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (g->http == NULL)
		goto fail;
	rfx_outhttp_secret(g->http, cfg->token);
	ul = strlen(cfg->http.url);
	while (ul > 0 && cfg->http.url[ul - 1] == '/')
		ul--;
	rc = RFX_ENOMEM;
	g->base = strndup(cfg->http.url, ul);
	if (g->base == NULL || asprintf(&g->auth, "Authorization: Bearer %s", cfg->token) < 0) {
		g->auth = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->org_id > 0)
		snprintf(g->org, sizeof g->org, "X-Grafana-Org-Id: %" PRId64, cfg->org_id);
	rfx_outhttp_url_for_log(cfg->http.url, g->shown_url, sizeof g->shown_url);
	ul = strlen(g->shown_url);
	while (ul > 0 && g->shown_url[ul - 1] == '/')
		g->shown_url[--ul] = '\0';
	g->sent = host->counter(inst, "sent_total", "Annotation requests Grafana accepted");
	g->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	g->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (g->sent == NULL || g->failed == NULL || g->retried == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = g;
	return 0;
fail:
	gf_destroy(g);
	return rc;
}

static const rfx_option gf_options[] = {
	RFX_OUTHTTP_OPTIONS(struct gf_config, http, GF_DEFAULT_URL, 0),
	{
		.name = "token",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED | RFX_OPT_SECRET,
		.description = "Service account token (glsa_...) with the annotations:write "
			       "permission, sent as Authorization: Bearer. A secret.",
		.offset = offsetof(struct gf_config, token),
	},
	{
		.name = "dashboard_uid",
		.type = RFX_OPT_STRING,
		.description = "Dashboard the annotations belong to; unset: organization-wide "
			       "annotations (shown where a dashboard queries them by tag).",
		.offset = offsetof(struct gf_config, dashboard_uid),
	},
	{
		.name = "panel_id",
		.type = RFX_OPT_INT,
		.default_value = "0",
		.flags = RFX_OPT_RANGE,
		.min = 0,
		.max = 1e9,
		.description = "Panel of dashboard_uid the annotations belong to; 0: the whole "
			       "dashboard.",
		.offset = offsetof(struct gf_config, panel_id),
	},
	{
		.name = "org_id",
		.type = RFX_OPT_INT,
		.default_value = "0",
		.flags = RFX_OPT_RANGE,
		.min = 0,
		.max = 1e12,
		.description = "Organization (X-Grafana-Org-Id); 0: the token's own.",
		.offset = offsetof(struct gf_config, org_id),
	},
	{
		.name = "tags",
		.type = RFX_OPT_LIST,
		.default_value = "[reflex, '{{severity}}', 'host:{{host}}', 'check:{{check}}']",
		.description = "Tags of the annotation, each a template; a tag that renders empty "
			       "or ends with ':' is left out. At most 16.",
		.offset = offsetof(struct gf_config, tags),
	},
	{
		.name = "text",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{severity}}: {{check}} on {{host}}"
				 "{{#service}} ({{service}}){{/service}}{{#message}}\n{{message}}"
				 "{{/message}}",
		.description = "Template of an event's annotation text.",
		.offset = offsetof(struct gf_config, text),
	},
	{
		.name = "notice_text",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{nfiring}} firing, {{nresolved}} resolved: "
				 "{{group.labels}}{{#events}}\n{{severity}}: {{check}} on {{host}}"
				 "{{/events}}",
		.description = "Template of a notice's annotation text (outputs with group_by).",
		.offset = offsetof(struct gf_config, notice_text),
	},
	RFX_OPTION_END,
};

static const rfx_plugin gf_plugin = {
	RFX_PLUGIN_ABI,
	.name = "grafana",
	.version = "1.0.0",
	.description = "Annotates Grafana dashboards: an annotation per firing fingerprint, "
		       "turned into a region when resolved.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.options = gf_options,
	.config_size = sizeof(struct gf_config),
	.init = gf_init,
	.handle = gf_handle,
	.destroy = gf_destroy,
};

RFX_PLUGIN_DEFINE(gf_plugin)
