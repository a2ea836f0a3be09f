/*
 * plugins/outputs/teams/teams.c - the Microsoft Teams output: posts events
 * and notices to a channel or chat through a Workflows webhook (Power
 * Automate "When a Teams webhook request is received"), as a message with
 * an Adaptive Card (1.4: a title, the body, a FactSet, a Details action),
 * or, with `format: messagecard`, as a legacy Office 365 connector
 * MessageCard.
 *
 * The whole message is kept under Teams' 28 KB limit by cutting the body
 * (then leaving out the label facts). Teams cannot update or thread a
 * webhook message: every update and the resolution is a new message.
 * One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "../../common/text.h"

#define TEAMS_PAYLOAD_MAX (27 * 1024) /* bytes; Teams refuses messages over 28 KB */
#define TEAMS_TITLE_MAX 400           /* characters */
#define TEAMS_FACT_KEY_MAX 100
#define TEAMS_FACT_VALUE_MAX 500
#define TEAMS_FACTS_MAX 30
#define TEAMS_BODY_BYTES (64 * 1024) /* rendered body bound, before the cut */
#define TEAMS_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define TEAMS_CARD_SCHEMA "http://adaptivecards.io/schemas/adaptive-card.json"

enum teams_format { TEAMS_ADAPTIVE = 0, TEAMS_MESSAGECARD = 1 };
static const char *const teams_formats[] = {"adaptive", "messagecard", NULL};

struct teams_config {
	struct rfx_outhttp_config http;
	int format;
	char *title;
	char *body;
	char *notice_title;
	char *notice_body;
	char *link;
	char *link_text;
	bool facts;
	bool label_facts;
};

struct teams_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct teams_config *cfg;
	rfx_outhttp *http;
	char shown_url[256];
	rfx_otpl *title, *body, *ntitle, *nbody, *link;
	struct rfx_otpl_buf b_title, b_body, b_link; /* handle() is serial */
	rfx_metric *sent, *failed, *retried;
};

/* What goes into one message, rendered; the builders only read it. */
struct teams_msg {
	const char *title;
	size_t title_len;
	const char *body;
	size_t body_len;
	const char *link;
	const char *link_text;
	bool resolved;
	int severity;
	const rfx_event *ev;     /* the event, or the notice's first */
	const rfx_notice *notice; /* NULL for an event */
	bool facts;
	bool label_facts;
};

/* The facts shown under the text: the event's fields, then its labels. */
static void add_fact(struct json_object *facts, bool card, const char *k, const char *v)
{
	struct json_object *f;

	if (v == NULL || *v == '\0' || json_object_array_length(facts) >= TEAMS_FACTS_MAX)
		return;
	f = json_object_new_object();
	json_object_object_add(f, card ? "title" : "name", rfx_text_cut_json(k, strlen(k), TEAMS_FACT_KEY_MAX));
	json_object_object_add(f, "value", rfx_text_cut_json(v, strlen(v), TEAMS_FACT_VALUE_MAX));
	json_object_array_add(facts, f);
}

static struct json_object *teams_facts(const struct teams_msg *m, bool card)
{
	struct json_object *facts = json_object_new_array();
	const rfx_event *ev = m->ev;
	char time[40], num[32];

	if (facts == NULL || ev == NULL)
		return facts;
	if (m->notice != NULL) {
		const rfx_notice *n = m->notice;

		for (size_t i = 0; i < n->nlabels; i++)
			add_fact(facts, card, n->label_keys[i], n->label_values[i]);
		snprintf(num, sizeof num, "%zu", n->nfiring);
		add_fact(facts, card, "Firing", num);
		snprintf(num, sizeof num, "%zu", n->nevents - n->nfiring);
		add_fact(facts, card, "Resolved", num);
		return facts;
	}
	add_fact(facts, card, "Host", rfx_event_host(ev));
	add_fact(facts, card, "Service", rfx_event_service(ev));
	add_fact(facts, card, "Check", rfx_event_check(ev));
	add_fact(facts, card, "Severity", rfx_otpl_severity_name(ev->severity));
	add_fact(facts, card, "Status", ev->status == RFX_STATUS_RESOLVED ? "resolved" : "firing");
	rfx_otpl_time(ev->occurred_ns != 0 ? ev->occurred_ns : ev->received_ns, time, sizeof time);
	add_fact(facts, card, "Time", time);
	for (size_t i = 0; m->label_facts && i < ev->nlabels; i++)
		add_fact(facts, card, ev->labels[i].key, ev->labels[i].value);
	return facts;
}

/* Adaptive Card TextBlock colours and MessageCard theme colours. */
static const char *teams_card_color(const struct teams_msg *m)
{
	if (m->resolved)
		return "Good";
	return m->severity <= RFX_SEV_ERROR ? "Attention"
					    : m->severity == RFX_SEV_WARNING ? "Warning" : "Accent";
}

static const char *teams_theme_color(const struct teams_msg *m)
{
	if (m->resolved)
		return "2EB886";
	return m->severity <= RFX_SEV_CRITICAL ? "D13438"
	       : m->severity == RFX_SEV_ERROR  ? "E8590C"
	       : m->severity == RFX_SEV_WARNING ? "FFB900"
					       : "0078D7";
}

static struct json_object *text_block(const char *s, size_t len, size_t max)
{
	struct json_object *t = json_object_new_object();

	json_object_object_add(t, "type", json_object_new_string("TextBlock"));
	json_object_object_add(t, "text", rfx_text_cut_json(s, len, max));
	json_object_object_add(t, "wrap", json_object_new_boolean(1));
	return t;
}

/* The Workflows message: {"type":"message","attachments":[{"contentType":
 * "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":
 * card}]}, the body cut to body_max characters. */
static struct json_object *teams_adaptive(const struct teams_msg *m, size_t body_max)
{
	struct json_object *o = json_object_new_object(), *atts, *att, *card, *body, *t;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string("message"));
	atts = json_object_new_array();
	att = json_object_new_object();
	card = json_object_new_object();
	body = json_object_new_array();
	json_object_object_add(o, "attachments", atts);
	json_object_array_add(atts, att);
	json_object_object_add(att, "contentType",
			       json_object_new_string("application/vnd.microsoft.card.adaptive"));
	json_object_object_add(att, "contentUrl", NULL);
	json_object_object_add(att, "content", card);
	json_object_object_add(card, "$schema", json_object_new_string(TEAMS_CARD_SCHEMA));
	json_object_object_add(card, "type", json_object_new_string("AdaptiveCard"));
	json_object_object_add(card, "version", json_object_new_string("1.4"));
	json_object_object_add(card, "body", body);

	t = text_block(m->title_len > 0 ? m->title : "(no title)",
		       m->title_len > 0 ? m->title_len : 10, TEAMS_TITLE_MAX);
	json_object_object_add(t, "size", json_object_new_string("Medium"));
	json_object_object_add(t, "weight", json_object_new_string("Bolder"));
	json_object_object_add(t, "color", json_object_new_string(teams_card_color(m)));
	json_object_array_add(body, t);
	if (m->body_len > 0 && body_max > 0)
		json_object_array_add(body, text_block(m->body, m->body_len, body_max));
	if (m->facts) {
		struct json_object *facts = teams_facts(m, true);

		if (facts != NULL && json_object_array_length(facts) > 0) {
			t = json_object_new_object();
			json_object_object_add(t, "type", json_object_new_string("FactSet"));
			json_object_object_add(t, "facts", facts);
			json_object_array_add(body, t);
		} else {
			json_object_put(facts);
		}
	}
	if (m->link != NULL && m->link[0] != '\0') {
		struct json_object *actions = json_object_new_array(), *a = json_object_new_object();

		json_object_object_add(a, "type", json_object_new_string("Action.OpenUrl"));
		json_object_object_add(a, "title", json_object_new_string(m->link_text));
		json_object_object_add(a, "url", json_object_new_string(m->link));
		json_object_array_add(actions, a);
		json_object_object_add(card, "actions", actions);
	}
	t = json_object_new_object();
	json_object_object_add(t, "width", json_object_new_string("Full"));
	json_object_object_add(card, "msteams", t);
	return o;
}

/* The legacy connector's MessageCard. */
static struct json_object *teams_messagecard(const struct teams_msg *m, size_t body_max)
{
	struct json_object *o = json_object_new_object(), *secs, *sec;
	const char *title = m->title_len > 0 ? m->title : "(no title)";
	size_t tl = m->title_len > 0 ? m->title_len : 10;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "@type", json_object_new_string("MessageCard"));
	json_object_object_add(o, "@context", json_object_new_string("https://schema.org/extensions"));
	json_object_object_add(o, "summary", rfx_text_cut_json(title, tl, TEAMS_TITLE_MAX));
	json_object_object_add(o, "themeColor", json_object_new_string(teams_theme_color(m)));
	json_object_object_add(o, "title", rfx_text_cut_json(title, tl, TEAMS_TITLE_MAX));
	secs = json_object_new_array();
	sec = json_object_new_object();
	json_object_array_add(secs, sec);
	json_object_object_add(o, "sections", secs);
	if (m->body_len > 0 && body_max > 0)
		json_object_object_add(sec, "text", rfx_text_cut_json(m->body, m->body_len, body_max));
	if (m->facts)
		json_object_object_add(sec, "facts", teams_facts(m, false));
	json_object_object_add(sec, "markdown", json_object_new_boolean(1));
	if (m->link != NULL && m->link[0] != '\0') {
		struct json_object *acts = json_object_new_array(), *a = json_object_new_object();
		struct json_object *targets = json_object_new_array(), *tg = json_object_new_object();

		json_object_object_add(a, "@type", json_object_new_string("OpenUri"));
		json_object_object_add(a, "name", json_object_new_string(m->link_text));
		json_object_object_add(tg, "os", json_object_new_string("default"));
		json_object_object_add(tg, "uri", json_object_new_string(m->link));
		json_object_array_add(targets, tg);
		json_object_object_add(a, "targets", targets);
		json_object_array_add(acts, a);
		json_object_object_add(o, "potentialAction", acts);
	}
	return o;
}

/*
 * The message for m in format fmt, within TEAMS_PAYLOAD_MAX bytes: the body
 * is cut by what is too much (escaping may make a character several bytes,
 * hence a few rounds), then the label facts go. Returns the JSON (and its
 * text in *json, *len, valid while the object lives) or NULL: out of
 * memory, or *too_large when even that does not fit.
 */
static struct json_object *teams_build(struct teams_msg *m, int fmt, const char **json,
				       size_t *len, bool *too_large)
{
	size_t body_max = rfx_text_chars(m->body, m->body_len);

	*too_large = false;
	for (int round = 0; round < 8; round++) {
		struct json_object *o = fmt == TEAMS_MESSAGECARD ? teams_messagecard(m, body_max)
								 : teams_adaptive(m, body_max);
		size_t excess;

		if (o == NULL)
			return NULL;
		*json = json_object_to_json_string_length(o, TEAMS_JSON_FLAGS, len);
		if (*json == NULL) {
			json_object_put(o);
			return NULL;
		}
		if (*len <= TEAMS_PAYLOAD_MAX)
			return o;
		json_object_put(o);
		excess = *len - TEAMS_PAYLOAD_MAX + 64;
		if (body_max > 0)
			body_max = body_max > excess ? body_max - excess : 0;
		else if (m->label_facts)
			m->label_facts = false;
		else
			break;
	}
	*too_large = true;
	return NULL;
}

/* Legacy connectors answer 200 with "1" on success; a failure further on
 * comes as a 200 whose text says so ("Webhook message delivery failed with
 * error: Microsoft Teams endpoint returned HTTP error 429 ..."). */
static rfx_result teams_classify(const rfx_outhttp *c, int rc,
				 const struct rfx_outhttp_response *r, rfx_delivery *d, char *msg,
				 size_t msglen)
{
	const char *b = r->body;

	if (rc == 0 && r->status >= 200 && r->status < 300 && b != NULL && r->body_len > 0 &&
	    (strcasestr(b, "delivery failed") != NULL || strcasestr(b, "returned HTTP error") != NULL)) {
		const char *e = strcasestr(b, "HTTP error ");
		long inner = e != NULL ? strtol(e + 11, NULL, 10) : 0;
		char vm[200];
		rfx_result res = inner == 429 || inner >= 500 ? RFX_RETRY : RFX_FAIL;

		rfx_outhttp_vendor_message(c, b, r->body_len, vm, sizeof vm);
		snprintf(msg, msglen, "HTTP %ld: %s", r->status, vm);
		rfx_outhttp_redact(c, msg, msglen);
		rfx_outhttp_delivery_set(d, 0, msg);
		return res;
	}
	return rfx_outhttp_result(c, rc, r, d, msg, msglen);
}

/* ---- the plugin ------------------------------------------------------------ */

static rfx_result teams_handle(void *state, const rfx_record *rec)
{
	struct teams_out *t = state;
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	struct json_object *payload = NULL;
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct teams_msg m = {0};
	const char *json = NULL;
	char msg[256] = "";
	size_t blen = 0;
	bool too_large = false;
	rfx_result res = RFX_FAIL;
	int rc;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	m.ev = ev != NULL ? ev : (n->nevents > 0 ? n->events[0] : NULL);
	m.notice = n;
	m.resolved = ev != NULL ? ev->status == RFX_STATUS_RESOLVED : n->status == RFX_STATUS_RESOLVED;
	m.severity = m.ev != NULL ? m.ev->severity : RFX_SEV_INFO;
	for (size_t i = 0; n != NULL && i < n->nfiring; i++)
		if (n->events[i]->severity < m.severity)
			m.severity = n->events[i]->severity;
	m.facts = t->cfg->facts;
	m.label_facts = t->cfg->label_facts;
	m.link_text = t->cfg->link_text;
	if (rfx_otpl_render(n ? t->ntitle : t->title, ev, n, &t->b_title, NULL) != 0 ||
	    rfx_otpl_render(n ? t->nbody : t->body, ev, n, &t->b_body, NULL) != 0 ||
	    (t->link != NULL && rfx_otpl_render(t->link, ev, n, &t->b_link, NULL) != 0)) {
		snprintf(msg, sizeof msg, "out of memory rendering the message");
		res = RFX_RETRY;
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	m.title = t->b_title.data;
	m.title_len = t->b_title.len;
	m.body = t->b_body.data;
	m.body_len = t->b_body.len;
	m.link = t->link != NULL ? t->b_link.data : NULL;
	payload = teams_build(&m, t->cfg->format, &json, &blen, &too_large);
	if (payload == NULL) {
		snprintf(msg, sizeof msg, "%s", too_large ? "the message does not fit Teams' 28 KB "
							  "even without its body and labels"
							: "out of memory building the message");
		res = too_large ? RFX_FAIL : RFX_RETRY;
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	rc = rfx_outhttp_request(t->http, "POST", NULL, hdrs, json, blen, &resp);
	res = teams_classify(t->http, rc, &resp, rec->delivery, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		t->host->metric_add(t->sent, 1);
	} else {
		t->host->metric_add(res == RFX_RETRY ? t->retried : t->failed, 1);
		t->host->log(t->inst, RFX_LOG_WARNING, "POST %s: %s (%s)", t->shown_url, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	json_object_put(payload);
	return res;
}

static void teams_destroy(void *state)
{
	struct teams_out *t = state;

	if (t == NULL)
		return;
	rfx_outhttp_free(t->http);
	rfx_otpl_free(t->title);
	rfx_otpl_free(t->body);
	rfx_otpl_free(t->ntitle);
	rfx_otpl_free(t->nbody);
	rfx_otpl_free(t->link);
	rfx_otpl_buf_free(&t->b_title);
	rfx_otpl_buf_free(&t->b_body);
	rfx_otpl_buf_free(&t->b_link);
	free(t);
}

static int compile(const char *opt, const char *src, size_t max, rfx_otpl **out, char *err,
		   size_t errlen)
{
	struct rfx_otpl_error e;
	char where[200];

	*out = NULL;
	if (src == NULL || *src == '\0')
		return 0;
	*out = rfx_otpl_compile(src, RFX_OTPL_ESC_NONE, max, &e);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&e, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

/* The webhook URL is the credential (its sig parameter above all): none of
 * it may reach a log. */
static void register_url_secrets(rfx_outhttp *h, const char *url)
{
	const char *p = strstr(url, "://"), *q, *sig;
	char part[1024];
	size_t n;

	rfx_outhttp_secret(h, url);
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	if (p != NULL && strlen(p) > 1 && strlen(p) < sizeof part)
		rfx_outhttp_secret(h, p);
	q = strchr(url, '?');
	if (q != NULL && strlen(q + 1) >= 4)
		rfx_outhttp_secret(h, q + 1);
	sig = strstr(url, "sig=");
	if (sig != NULL) {
		n = strcspn(sig + 4, "&#");
		if (n >= 4 && n < sizeof part) {
			memcpy(part, sig + 4, n);
			part[n] = '\0';
			rfx_outhttp_secret(h, part);
		}
	}
}

static int teams_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		      char *err, size_t errlen)
{
	const struct teams_config *cfg = config;
	struct teams_out *t;
	int rc = RFX_EINVAL;

	t = calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	t->inst = inst;
	t->host = host;
	t->cfg = cfg;
	if ((rc = compile("title", cfg->title, 4096, &t->title, err, errlen)) != 0 ||
	    (rc = compile("body", cfg->body, TEAMS_BODY_BYTES, &t->body, err, errlen)) != 0 ||
	    (rc = compile("notice_title", cfg->notice_title, 4096, &t->ntitle, err, errlen)) != 0 ||
	    (rc = compile("notice_body", cfg->notice_body, TEAMS_BODY_BYTES, &t->nbody, err,
			  errlen)) != 0 ||
	    (rc = compile("link", cfg->link, 2048, &t->link, err, errlen)) != 0)
		goto fail;
	if (t->title == NULL || t->ntitle == NULL || t->body == NULL || t->nbody == NULL) {
		snprintf(err, errlen, "title, body, notice_title and notice_body must not be empty");
		rc = RFX_EINVAL;
		goto fail;
	}
	t->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (t->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	register_url_secrets(t->http, cfg->http.url);
	rfx_outhttp_url_for_log(cfg->http.url, t->shown_url, sizeof t->shown_url);
	t->sent = host->counter(inst, "sent_total", "Messages Teams accepted");
	t->failed = host->counter(inst, "failed_total", "Messages Teams refused for good (FAIL)");
	t->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (t->sent == NULL || t->failed == NULL || t->retried == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = t;
	return 0;
fail:
	teams_destroy(t);
	return rc;
}

static const rfx_option teams_options[] = {
	RFX_OUTHTTP_OPTIONS(struct teams_config, http, NULL, RFX_OPT_REQUIRED | RFX_OPT_SECRET),
	{
		.name = "format",
		.type = RFX_OPT_ENUM,
		.default_value = "adaptive",
		.enum_values = teams_formats,
		.description = "adaptive: a message with an Adaptive Card, for Workflows webhooks; "
			       "messagecard: a MessageCard, for legacy Office 365 connectors.",
		.offset = offsetof(struct teams_config, format),
	},
	{
		.name = "title",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{severity}}: {{check}} on {{host}}",
		.description = "Template of the card's title (cut at 400 characters).",
		.offset = offsetof(struct teams_config, title),
	},
	{
		.name = "body",
		.type = RFX_OPT_STRING,
		.default_value = "{{#message}}{{message}}{{/message}}{{^message}}No message."
				 "{{/message}}",
		.description = "Template of the card's text (Teams markdown; cut to keep the "
			       "message under 28 KB).",
		.offset = offsetof(struct teams_config, body),
	},
	{
		.name = "notice_title",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{nfiring}} firing, {{nresolved}} resolved: "
				 "{{group.labels}}",
		.description = "Template of a notice's title (outputs with group_by).",
		.offset = offsetof(struct teams_config, notice_title),
	},
	{
		.name = "notice_body",
		.type = RFX_OPT_STRING,
		.default_value = "{{#firing}}- [firing] {{severity}}: {{check}} on {{host}}"
				 "{{#message}} ({{message}}){{/message}}\n{{/firing}}{{#resolved}}"
				 "- [resolved] {{check}} on {{host}}\n{{/resolved}}",
		.description = "Template of a notice's text, e.g. one line per event.",
		.offset = offsetof(struct teams_config, notice_body),
	},
	{
		.name = "link",
		.type = RFX_OPT_STRING,
		.description = "Template of a URL opened by a Details button, e.g. "
			       "https://reflex.example.com/events/{{id}}.",
		.offset = offsetof(struct teams_config, link),
	},
	{
		.name = "link_text",
		.type = RFX_OPT_STRING,
		.default_value = "Details",
		.description = "Title of that button.",
		.offset = offsetof(struct teams_config, link_text),
	},
	{
		.name = "facts",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Show host, service, check, severity, status and time as facts.",
		.offset = offsetof(struct teams_config, facts),
	},
	{
		.name = "label_facts",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Also show the labels as facts (at most 30 facts in all).",
		.offset = offsetof(struct teams_config, label_facts),
	},
	RFX_OPTION_END,
};

static const rfx_plugin teams_plugin = {
	RFX_PLUGIN_ABI,
	.name = "teams",
	.version = "1.0.0",
	.description = "Posts events and notices to Microsoft Teams (Workflows webhook with an "
		       "Adaptive Card, or a legacy connector's MessageCard).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = teams_options,
	.config_size = sizeof(struct teams_config),
	.init = teams_init,
	.handle = teams_handle,
	.destroy = teams_destroy,
};

RFX_PLUGIN_DEFINE(teams_plugin)
