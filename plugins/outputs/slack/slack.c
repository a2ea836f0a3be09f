/*
 * plugins/outputs/slack/slack.c - the Slack output: posts events and
 * notices as Block Kit messages (a header, mrkdwn sections, a link) with a
 * `text` fallback, through an incoming webhook or the Web API's
 * chat.postMessage. With chat.postMessage, updates of the same
 * fingerprint (events) or group (notices) are posted as replies in the
 * thread of the first message, whose ts is kept in the instance's kv
 * state; the resolution goes into the thread too and ends it.
 *
 * Slack's limits (text 40,000 characters, 50 blocks, a section's text
 * 3,000, a header's 150) are kept by cutting on character boundaries.
 * One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "../../common/text.h"

#define SLACK_API_URL "https://slack.com/api/chat.postMessage"
#define SLACK_TEXT_MAX 40000    /* characters in `text` */
#define SLACK_BLOCKS_MAX 50
#define SLACK_SECTION_MAX 3000  /* characters in a section's text */
#define SLACK_HEADER_MAX 150    /* characters in a header's plain_text */
#define SLACK_TITLE_BYTES 2048  /* rendered title bound, before the cut */
#define SLACK_BODY_BYTES 36000  /* rendered body bound: text fallback fits */
#define SLACK_KV_KEY_MAX 200
#define SLACK_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#define SLACK_DEFAULT_TITLE "[{{status}}] {{severity}}: {{check}} on {{host}}"
#define SLACK_DEFAULT_NOTICE_TITLE                                                     \
	"[{{status}}] {{nfiring}} firing, {{nresolved}} resolved: {{group.labels}}"

struct slack_config {
	struct rfx_outhttp_config http;
	char *webhook_url;
	char *token;
	char *channel;
	char *title;
	char *body;
	char *notice_title;
	char *notice_body;
	char *link;
	bool thread;
	bool broadcast_resolved;
};

struct slack_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct slack_config *cfg;
	rfx_outhttp *http;
	bool api;                    /* chat.postMessage, else an incoming webhook */
	const char *url;             /* where requests go */
	char shown_url[256];
	char *auth;                  /* "Authorization: Bearer ..." (api mode) */
	rfx_otpl *title, *title_md, *body, *ntitle, *ntitle_md, *nbody, *link;
	struct rfx_otpl_buf b_title, b_title_md, b_body, b_link; /* handle() is serial */
	rfx_metric *sent, *failed, *retried;
};

static struct json_object *text_obj(const char *type, const char *s, size_t n)
{
	struct json_object *t = json_object_new_object();

	json_object_object_add(t, "type", json_object_new_string(type));
	json_object_object_add(t, "text", json_object_new_string_len(s, (int)n));
	return t;
}

/* Appends the body as mrkdwn sections of at most SLACK_SECTION_MAX
 * characters, cut after a newline where one is near, within max blocks. */
static void add_sections(struct json_object *blocks, const char *s, size_t len, size_t max)
{
	size_t off = 0;

	while (off < len && json_object_array_length(blocks) < max) {
		size_t n = rfx_text_prefix(s + off, len - off, SLACK_SECTION_MAX);
		struct json_object *sec;

		if (off + n < len) {
			size_t k = n;

			while (k > n / 2 && s[off + k - 1] != '\n')
				k--;
			if (k > n / 2)
				n = k;
		}
		sec = json_object_new_object();
		json_object_object_add(sec, "type", json_object_new_string("section"));
		json_object_object_add(sec, "text", text_obj("mrkdwn", s + off, n));
		json_object_array_add(blocks, sec);
		off += n;
		while (off < len && s[off] == '\n')
			off++;
	}
}

/* Slack's mrkdwn control characters in a link target. */
static void slack_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 6 < len; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;

		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else if (*s != '|' && *s != '\n') {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* The thread's kv key: the fingerprint or the group, bounded. */
static void thread_key(const rfx_record *rec, char *out, size_t len)
{
	const char *id = rec->type == RFX_REC_EVENT ? rfx_event_fingerprint(rec->u.event)
						    : rec->u.notice->group_key;
	const char *pfx = rec->type == RFX_REC_EVENT ? "thread:fp:" : "thread:group:";

	if (id == NULL || id[0] == '\0') {
		out[0] = '\0';
		return;
	}
	if (strlen(id) + strlen(pfx) < len && strlen(id) + strlen(pfx) <= SLACK_KV_KEY_MAX) {
		snprintf(out, len, "%s%s", pfx, id);
	} else {
		uint64_t h = 1469598103934665603ULL; /* FNV-1a: long keys get a digest */

		for (const char *p = id; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		snprintf(out, len, "%sh%016" PRIx64, pfx, h);
	}
}

/* Builds the request body; NULL on out of memory or a render failure. */
static struct json_object *build(struct slack_out *s, const rfx_record *rec, const char *thread_ts,
				 bool resolved)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	struct json_object *o = NULL, *blocks, *hdr;
	char *text = NULL, linkbuf[2200];
	size_t hl, tl, bl;

	if (rfx_otpl_render(n ? s->ntitle : s->title, ev, n, &s->b_title, NULL) != 0 ||
	    rfx_otpl_render(n ? s->ntitle_md : s->title_md, ev, n, &s->b_title_md, NULL) != 0 ||
	    rfx_otpl_render(n ? s->nbody : s->body, ev, n, &s->b_body, NULL) != 0)
		return NULL;
	linkbuf[0] = '\0';
	if (s->link != NULL) {
		char esc[2048];

		if (rfx_otpl_render(s->link, ev, n, &s->b_link, NULL) != 0)
			return NULL;
		if (s->b_link.len > 0) {
			slack_escape(s->b_link.data, esc, sizeof esc);
			snprintf(linkbuf, sizeof linkbuf, "<%s|Details>", esc);
		}
	}

	o = json_object_new_object();
	blocks = json_object_new_array();
	if (o == NULL || blocks == NULL) {
		json_object_put(o);
		json_object_put(blocks);
		return NULL;
	}
	if (s->api)
		json_object_object_add(o, "channel", json_object_new_string(s->cfg->channel));

	/* text: the fallback for notifications and screen readers */
	tl = s->b_title_md.len;
	bl = s->b_body.len;
	text = malloc(tl + bl + strlen(linkbuf) + 3);
	if (text != NULL) {
		size_t k = 0;

		memcpy(text, s->b_title_md.data, tl);
		k = tl;
		if (bl > 0) {
			text[k++] = '\n';
			memcpy(text + k, s->b_body.data, bl);
			k += bl;
		}
		if (linkbuf[0] != '\0') {
			text[k++] = '\n';
			memcpy(text + k, linkbuf, strlen(linkbuf));
			k += strlen(linkbuf);
		}
		k = rfx_text_prefix(text, k, SLACK_TEXT_MAX);
		json_object_object_add(o, "text", json_object_new_string_len(text, (int)k));
		free(text);
	}

	hl = rfx_text_prefix(s->b_title.data, s->b_title.len, SLACK_HEADER_MAX);
	if (hl > 0) {
		hdr = json_object_new_object();
		json_object_object_add(hdr, "type", json_object_new_string("header"));
		json_object_object_add(hdr, "text", text_obj("plain_text", s->b_title.data, hl));
		json_object_array_add(blocks, hdr);
	}
	add_sections(blocks, s->b_body.data, s->b_body.len,
		     SLACK_BLOCKS_MAX - (linkbuf[0] != '\0' ? 1 : 0));
	if (linkbuf[0] != '\0') {
		struct json_object *sec = json_object_new_object();

		json_object_object_add(sec, "type", json_object_new_string("section"));
		json_object_object_add(sec, "text", text_obj("mrkdwn", linkbuf, strlen(linkbuf)));
		json_object_array_add(blocks, sec);
	}
	json_object_object_add(o, "blocks", blocks);
	if (thread_ts != NULL) {
		json_object_object_add(o, "thread_ts", json_object_new_string(thread_ts));
		if (resolved && s->cfg->broadcast_resolved)
			json_object_object_add(o, "reply_broadcast", json_object_new_boolean(1));
	}
	if (s->api) {
		json_object_object_add(o, "unfurl_links", json_object_new_boolean(0));
		json_object_object_add(o, "unfurl_media", json_object_new_boolean(0));
	}
	return o;
}

/* Web API errors worth another attempt; everything else is permanent. */
static bool slack_transient(const char *e)
{
	static const char *const retry[] = {"ratelimited", "rate_limited", "internal_error",
					    "fatal_error", "service_unavailable", "request_timeout",
					    "team_added_to_org", NULL};

	for (size_t i = 0; retry[i] != NULL; i++)
		if (strcmp(e, retry[i]) == 0)
			return true;
	return false;
}

/* Reads a chat.postMessage answer: ok with ts, or ok:false with error. */
static rfx_result api_result(struct slack_out *s, const struct rfx_outhttp_response *r,
			     char *ts, size_t tslen, char *msg, size_t msglen, bool *stale_thread)
{
	struct json_object *o, *v;
	rfx_result res = RFX_FAIL;

	o = r->body != NULL ? json_tokener_parse(r->body) : NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &v)) {
		snprintf(msg, msglen, "HTTP %ld: not a Web API answer (is url chat.postMessage?)",
			 r->status);
		goto out;
	}
	if (json_object_get_boolean(v)) {
		if (json_object_object_get_ex(o, "ts", &v) && json_object_is_type(v, json_type_string))
			snprintf(ts, tslen, "%s", json_object_get_string(v));
		res = RFX_OK;
		goto out;
	}
	if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string)) {
		const char *e = json_object_get_string(v);

		snprintf(msg, msglen, "Slack API error: %.200s", e);
		if (strcmp(e, "thread_not_found") == 0 || strcmp(e, "invalid_thread_ts") == 0 ||
		    strcmp(e, "message_not_found") == 0) {
			*stale_thread = true;
			res = RFX_RETRY;
		} else {
			res = slack_transient(e) ? RFX_RETRY : RFX_FAIL;
		}
	} else {
		snprintf(msg, msglen, "Slack API error without a reason");
	}
out:
	rfx_outhttp_redact(s->http, msg, msglen);
	json_object_put(o);
	return res;
}

static rfx_result slack_handle(void *state, const rfx_record *rec)
{
	struct slack_out *s = state;
	struct json_object *payload = NULL;
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[3];
	char key[SLACK_KV_KEY_MAX + 32], ts[64] = "", msg[256] = "";
	char *thread_ts = NULL;
	const char *body;
	size_t blen;
	bool resolved, stale = false, threading;
	rfx_result res = RFX_FAIL;
	int rc;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	resolved = rec->type == RFX_REC_EVENT ? rec->u.event->status == RFX_STATUS_RESOLVED
					      : rec->u.notice->status == RFX_STATUS_RESOLVED;
	threading = s->api && s->cfg->thread;
	key[0] = '\0';
	if (threading) {
		thread_key(rec, key, sizeof key);
		if (key[0] != '\0' && s->host->kv_get(s->inst, key, &thread_ts) != 0)
			thread_ts = NULL;
	}
	payload = build(s, rec, thread_ts, resolved);
	if (payload == NULL) {
		snprintf(msg, sizeof msg, "out of memory building the message");
		res = RFX_RETRY;
		goto out;
	}
	body = json_object_to_json_string_length(payload, SLACK_JSON_FLAGS, &blen);
	hdrs[0] = "Content-Type: application/json; charset=utf-8";
	hdrs[1] = s->api ? s->auth : NULL;
	hdrs[2] = NULL;
	rc = rfx_outhttp_request(s->http, "POST", s->url, hdrs, body, blen, &resp);
	if (rc == 0 && resp.status == 200 && s->api) {
		res = api_result(s, &resp, ts, sizeof ts, msg, sizeof msg, &stale);
		rfx_outhttp_delivery_set(rec->delivery, 0, res == RFX_OK ? "" : msg);
	} else {
		/* incoming webhooks answer "ok"; errors are statuses with a text
		 * reason (invalid_payload, channel_not_found...); 429 and 5xx
		 * retry, honouring Retry-After */
		res = rfx_outhttp_result(s->http, rc, &resp, rec->delivery, msg, sizeof msg);
	}
	if (res == RFX_OK && threading && key[0] != '\0') {
		if (resolved) {
			/* the resolution closes the thread: what fires next starts anew */
			if (thread_ts != NULL)
				s->host->kv_del(s->inst, key);
		} else if (thread_ts == NULL && ts[0] != '\0') {
			if (s->host->kv_put(s->inst, key, ts) != 0)
				s->host->log(s->inst, RFX_LOG_WARNING,
					     "cannot keep the thread of %s: updates will start new "
					     "messages", key);
		}
	}
	if (stale && key[0] != '\0')
		s->host->kv_del(s->inst, key); /* the retry starts a new thread */
out:
	if (res == RFX_OK) {
		s->host->metric_add(s->sent, 1);
	} else {
		s->host->metric_add(res == RFX_RETRY ? s->retried : s->failed, 1);
		if (rec->delivery != NULL && rec->delivery->error[0] == '\0')
			rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		s->host->log(s->inst, RFX_LOG_WARNING, "POST %s: %s (%s)", s->shown_url, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	json_object_put(payload);
	free(thread_ts);
	return res;
}

static void slack_destroy(void *state)
{
	struct slack_out *s = state;

	if (s == NULL)
		return;
	rfx_outhttp_free(s->http);
	rfx_otpl_free(s->title);
	rfx_otpl_free(s->title_md);
	rfx_otpl_free(s->body);
	rfx_otpl_free(s->ntitle);
	rfx_otpl_free(s->ntitle_md);
	rfx_otpl_free(s->nbody);
	rfx_otpl_free(s->link);
	rfx_otpl_buf_free(&s->b_title);
	rfx_otpl_buf_free(&s->b_title_md);
	rfx_otpl_buf_free(&s->b_body);
	rfx_otpl_buf_free(&s->b_link);
	free(s->auth);
	free(s);
}

/* Compiles one template option; a failure names the option and position. */
static int compile(const char *opt, const char *src, rfx_otpl_escape esc, size_t max,
		   rfx_otpl **out, char *err, size_t errlen)
{
	struct rfx_otpl_error e;
	char where[200];

	*out = rfx_otpl_compile(src, esc, max, &e);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&e, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

static int slack_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		      char *err, size_t errlen)
{
	const struct slack_config *cfg = config;
	struct slack_out *s;
	bool hook = cfg->webhook_url != NULL && cfg->webhook_url[0] != '\0';
	bool tok = cfg->token != NULL && cfg->token[0] != '\0';
	int rc = RFX_EINVAL;

	if (hook == tok) {
		snprintf(err, errlen, "set either webhook_url (incoming webhook) or token and "
			 "channel (chat.postMessage), not %s", hook ? "both" : "neither");
		return RFX_EINVAL;
	}
	if (tok && (cfg->channel == NULL || cfg->channel[0] == '\0')) {
		snprintf(err, errlen, "channel: required with token, e.g. channel: C0123456789");
		return RFX_EINVAL;
	}
	if (tok && strpbrk(cfg->token, "\r\n ") != NULL) {
		snprintf(err, errlen, "token: must be one word (xoxb-...)");
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
	s->api = tok;
	s->url = hook ? cfg->webhook_url : cfg->http.url;

	if ((rc = compile("title", cfg->title, RFX_OTPL_ESC_NONE, SLACK_TITLE_BYTES, &s->title, err,
			  errlen)) != 0 ||
	    (rc = compile("title", cfg->title, RFX_OTPL_ESC_SLACK, SLACK_TITLE_BYTES, &s->title_md,
			  err, errlen)) != 0 ||
	    (rc = compile("body", cfg->body, RFX_OTPL_ESC_SLACK, SLACK_BODY_BYTES, &s->body, err,
			  errlen)) != 0 ||
	    (rc = compile("notice_title", cfg->notice_title, RFX_OTPL_ESC_NONE, SLACK_TITLE_BYTES,
			  &s->ntitle, err, errlen)) != 0 ||
	    (rc = compile("notice_title", cfg->notice_title, RFX_OTPL_ESC_SLACK, SLACK_TITLE_BYTES,
			  &s->ntitle_md, err, errlen)) != 0 ||
	    (rc = compile("notice_body", cfg->notice_body, RFX_OTPL_ESC_SLACK, SLACK_BODY_BYTES,
			  &s->nbody, err, errlen)) != 0)
		goto fail;
	if (cfg->link != NULL && cfg->link[0] != '\0' &&
	    (rc = compile("link", cfg->link, RFX_OTPL_ESC_NONE, 1800, &s->link, err, errlen)) != 0)
		goto fail;

	if (hook) {
		/* the webhook URL is the credential: check it like url */
		struct rfx_outhttp_config hc = cfg->http;

		hc.url = cfg->webhook_url;
		s->http = rfx_outhttp_new(&hc, NULL, NULL, err, errlen);
		if (s->http == NULL) {
			rc = RFX_EINVAL;
			goto fail;
		}
		rfx_outhttp_free(s->http);
	}
	s->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (s->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	if (hook) {
		const char *p = strstr(cfg->webhook_url, "://");

		p = p != NULL ? strchr(p + 3, '/') : NULL;
		rfx_outhttp_secret(s->http, cfg->webhook_url);
		if (p != NULL && strlen(p) > 1)
			rfx_outhttp_secret(s->http, p); /* the path is the secret part */
	} else {
		rfx_outhttp_secret(s->http, cfg->token);
		if (asprintf(&s->auth, "Authorization: Bearer %s", cfg->token) < 0) {
			s->auth = NULL;
			rc = RFX_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	rfx_outhttp_url_for_log(s->url, s->shown_url, sizeof s->shown_url);
	if (hook && cfg->thread)
		host->log(inst, RFX_LOG_INFO, "incoming webhooks cannot thread: each update is a "
			  "new message (use token and channel for threads)");

	s->sent = host->counter(inst, "sent_total", "Messages Slack accepted");
	s->failed = host->counter(inst, "failed_total", "Messages Slack refused for good (FAIL)");
	s->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (s->sent == NULL || s->failed == NULL || s->retried == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = s;
	return 0;
fail:
	slack_destroy(s);
	return rc;
}

static const rfx_option slack_options[] = {
	RFX_OUTHTTP_OPTIONS(struct slack_config, http, SLACK_API_URL, 0),
	{
		.name = "webhook_url",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Incoming webhook URL (https://hooks.slack.com/services/...). "
			       "A secret. Set this or token, not both.",
		.offset = offsetof(struct slack_config, webhook_url),
	},
	{
		.name = "token",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Bot token (xoxb-...) with chat:write, for chat.postMessage at url.",
		.offset = offsetof(struct slack_config, token),
	},
	{
		.name = "channel",
		.type = RFX_OPT_STRING,
		.description = "Channel ID (C0123456789) or name to post to; required with token.",
		.offset = offsetof(struct slack_config, channel),
	},
	{
		.name = "title",
		.type = RFX_OPT_STRING,
		.default_value = SLACK_DEFAULT_TITLE,
		.description = "Template of an event's header (plain text, cut at 150 characters).",
		.offset = offsetof(struct slack_config, title),
	},
	{
		.name = "body",
		.type = RFX_OPT_STRING,
		.default_value = "*Host:* {{host}}\n*Check:* {{check}}\n*Severity:* {{severity}}\n"
				 "*Status:* {{status}}{{#service}}\n*Service:* {{service}}{{/service}}"
				 "{{#message}}\n{{message}}{{/message}}",
		.description = "Template of an event's text (Slack mrkdwn; values are escaped).",
		.offset = offsetof(struct slack_config, body),
	},
	{
		.name = "notice_title",
		.type = RFX_OPT_STRING,
		.default_value = SLACK_DEFAULT_NOTICE_TITLE,
		.description = "Template of a notice's header (outputs with group_by).",
		.offset = offsetof(struct slack_config, notice_title),
	},
	{
		.name = "notice_body",
		.type = RFX_OPT_STRING,
		.default_value = "{{#firing}}• [firing] {{severity}}: {{check}} on {{host}}"
				 "{{#message}} ({{message}}){{/message}}\n{{/firing}}{{#resolved}}"
				 "• [resolved] {{check}} on {{host}}\n{{/resolved}}",
		.description = "Template of a notice's text, e.g. one line per event.",
		.offset = offsetof(struct slack_config, notice_body),
	},
	{
		.name = "link",
		.type = RFX_OPT_STRING,
		.description = "Template of a URL shown as a Details link, e.g. "
			       "https://reflex.example.com/events/{{id}}.",
		.offset = offsetof(struct slack_config, link),
	},
	{
		.name = "thread",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "chat.postMessage only: post updates and the resolution of the same "
			       "fingerprint (or group) in the thread of its first message.",
		.offset = offsetof(struct slack_config, thread),
	},
	{
		.name = "broadcast_resolved",
		.type = RFX_OPT_BOOL,
		.default_value = "false",
		.description = "Also show a resolution posted in a thread in the channel "
			       "(reply_broadcast).",
		.offset = offsetof(struct slack_config, broadcast_resolved),
	},
	RFX_OPTION_END,
};

static const rfx_plugin slack_plugin = {
	RFX_PLUGIN_ABI,
	.name = "slack",
	.version = "1.0.0",
	.description = "Posts events and notices to Slack (incoming webhook or chat.postMessage, "
		       "threaded).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = slack_options,
	.config_size = sizeof(struct slack_config),
	.init = slack_init,
	.handle = slack_handle,
	.destroy = slack_destroy,
};

RFX_PLUGIN_DEFINE(slack_plugin)
