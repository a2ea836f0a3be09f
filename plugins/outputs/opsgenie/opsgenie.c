/*
 * plugins/outputs/opsgenie/opsgenie.c - the Opsgenie output: creates,
 * acknowledges and closes alerts through the Alert API v2 (POST
 * /v2/alerts, /v2/alerts/{alias}/acknowledge, /v2/alerts/{alias}/close
 * with identifierType=alias). The alias is derived from the event's
 * fingerprint (a notice's group key), so Opsgenie deduplicates the
 * updates of a firing into one open alert and the resolution closes it,
 * without any state kept here.
 *
 * Opsgenie's limits are kept: message <= 130 characters, alias <= 512,
 * description <= 15,000, entity <= 512, source <= 100, tags <= 20 of <= 50
 * characters, details <= 8,000 characters, responders <= 50. Opsgenie
 * answers 202 and processes requests asynchronously. One attempt per
 * handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, strcasecmp */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "../../common/text.h"

#define OG_URL_US "https://api.opsgenie.com"
#define OG_URL_EU "https://api.eu.opsgenie.com"
#define OG_MESSAGE_MAX 130
#define OG_ALIAS_MAX 512
#define OG_DESCRIPTION_MAX 15000
#define OG_ENTITY_MAX 512
#define OG_SOURCE_MAX 100
#define OG_USER_MAX 100
#define OG_NOTE_MAX 25000
#define OG_TAGS_MAX 20
#define OG_TAG_LEN 50
#define OG_DETAILS_MAX 8000 /* characters of all keys and values */
#define OG_RESPONDERS_MAX 50
#define OG_FIELD_BYTES 4096
#define OG_DESC_BYTES (OG_DESCRIPTION_MAX * 4)
#define OG_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum og_action { OG_CREATE = 0, OG_ACKNOWLEDGE, OG_CLOSE };
static const char *const og_action_names[] = {"create", "acknowledge", "close"};
static const char *const og_regions[] = {"us", "eu", NULL};
static const char *const og_responder_types[] = {"team", "user", "escalation", "schedule", NULL};

struct og_responder {
	int type; /* index into og_responder_types */
	char *name;
	char *id;
	char *username;
};

struct og_config {
	struct rfx_outhttp_config http;
	int region;
	char *api_key;
	char *message;
	char *notice_message;
	char *description;
	char *notice_description;
	char *entity;
	char *source;
	char *user;
	char *note;
	struct rfx_strlist tags;
	struct rfx_strmap priority_map;
	struct rfx_seclist responders;
};

struct og_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct og_config *cfg;
	struct rfx_outhttp_config http_cfg; /* the config's, with the region's url */
	char *base;                         /* API root, no trailing slash */
	rfx_outhttp *http;
	char shown_url[256];
	char *auth; /* "Authorization: GenieKey ..." */
	int prio[8]; /* reflex severity -> 1..5 */
	rfx_otpl *message, *nmessage, *description, *ndescription, *entity, *source, *note;
	rfx_otpl **tags;
	size_t ntags;
	struct json_object *responders; /* built once at init */
	struct rfx_otpl_buf buf;        /* handle() is serial: one scratch buffer */
	rfx_metric *sent, *failed, *retried;
};

static size_t utf8_len(const char *s)
{
	return rfx_text_chars(s, strlen(s));
}

/* The alias for an identity (fingerprint or group key): itself when it
 * fits in max characters, else its first characters and a 128-bit digest.
 * len must be at least 4 * max + 1. "" for an empty identity. */
static void og_alias(const char *id, size_t max, char *out, size_t len)
{
	rfx_text_key(id, max, out, len);
}

/* Percent-encodes s for a URL path segment (RFC 3986 unreserved kept).
 * Returns 0, or RFX_EFULL when out is too small. */
static int og_path_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (o + 1 >= len)
				return RFX_EFULL;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				return RFX_EFULL;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

static bool truthy(const char *s)
{
	return s != NULL && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
			     strcmp(s, "1") == 0);
}

/* Acknowledged, as the inputs mark it: attrs.acknowledged (Zabbix's
 * {EVENT.ACK.STATUS}, a Nagios ACKNOWLEDGEMENT) or a label
 * acknowledged=true. */
static bool og_acknowledged(const rfx_event *ev)
{
	struct json_object *v;

	if (ev->attrs != NULL && json_object_object_get_ex(ev->attrs, "acknowledged", &v)) {
		if (json_object_is_type(v, json_type_boolean))
			return json_object_get_boolean(v);
		if (json_object_is_type(v, json_type_string))
			return truthy(json_object_get_string(v));
	}
	for (size_t i = 0; i < ev->nlabels; i++)
		if (strcmp(ev->labels[i].key, "acknowledged") == 0)
			return truthy(ev->labels[i].value);
	return false;
}

static enum og_action og_action_of(const rfx_record *rec)
{
	if (rec->type == RFX_REC_EVENT) {
		if (rec->u.event->status == RFX_STATUS_RESOLVED)
			return OG_CLOSE;
		return og_acknowledged(rec->u.event) ? OG_ACKNOWLEDGE : OG_CREATE;
	}
	if (rec->u.notice->status == RFX_STATUS_RESOLVED || rec->u.notice->nfiring == 0)
		return OG_CLOSE;
	for (size_t i = 0; i < rec->u.notice->nfiring; i++)
		if (!og_acknowledged(rec->u.notice->events[i]))
			return OG_CREATE;
	return OG_ACKNOWLEDGE;
}

static void og_prio_default(int map[8])
{
	static const int def[8] = {1, 1, 1, 2, 3, 4, 5, 5};

	memcpy(map, def, sizeof def);
}

/* "P1".."P5" -> 1..5, else -1. */
static int og_prio_parse(const char *s)
{
	if ((s[0] == 'P' || s[0] == 'p') && s[1] >= '1' && s[1] <= '5' && s[2] == '\0')
		return s[1] - '0';
	return -1;
}

/* Opsgenie's refusal as one line: its message and the errors object
 * ({"message": "Request body is not processable...", "errors": {"message":
 * "Message can not be empty."}}). */
static void og_vendor_error(const rfx_outhttp *c, long status, const char *body, size_t blen,
			    char *out, size_t len)
{
	struct json_object *o = body != NULL && blen > 0 ? json_tokener_parse(body) : NULL;
	struct json_object *m, *errs;
	size_t k;

	k = (size_t)snprintf(out, len, "HTTP %ld", status);
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		bool first = true;

		if (json_object_object_get_ex(o, "message", &m) &&
		    json_object_is_type(m, json_type_string) && k < len)
			k += (size_t)snprintf(out + k, len - k, ": %s", json_object_get_string(m));
		if (json_object_object_get_ex(o, "errors", &errs) &&
		    json_object_is_type(errs, json_type_object)) {
			json_object_object_foreach(errs, ek, ev)
			{
				if (k >= len)
					break;
				k += (size_t)snprintf(out + k, len - k, "%s%s: %s", first ? " (" : "; ",
						      ek, json_object_get_string(ev));
				first = false;
			}
			if (!first && k < len)
				snprintf(out + k, len - k, ")");
		}
	} else {
		char vm[200];

		rfx_outhttp_vendor_message(c, body, blen, vm, sizeof vm);
		if (vm[0] != '\0' && k < len)
			snprintf(out + k, len - k, ": %s", vm);
	}
	json_object_put(o);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	rfx_outhttp_redact(c, out, len);
}

/* Maps Opsgenie's answer: 2xx (202 "Request will be processed") delivered;
 * 429 (rate limited), 5xx and transport failures retried with Retry-After
 * when given; 400/401/402/403/404/422 refused for good with Opsgenie's
 * message and errors. */
static rfx_result og_classify(const rfx_outhttp *c, int rc, const struct rfx_outhttp_response *r,
			      rfx_delivery *d, char *msg, size_t msglen)
{
	if (rc != 0 || r->status == 0 || (r->status >= 200 && r->status < 300) ||
	    r->status == 408 || r->status == 429 || r->status >= 500 ||
	    (r->status >= 300 && r->status < 400)) {
		rfx_result res = rfx_outhttp_result(c, rc, r, d, msg, msglen);

		if (res == RFX_RETRY && r->status >= 400) {
			/* keep Opsgenie's own words ("You are making too many requests") */
			og_vendor_error(c, r->status, r->body, r->body_len, msg, msglen);
			rfx_outhttp_delivery_set(d, r->retry_after_ms, msg);
		}
		return res;
	}
	og_vendor_error(c, r->status, r->body, r->body_len, msg, msglen);
	rfx_outhttp_delivery_set(d, 0, msg);
	return RFX_FAIL;
}

/* ---- building requests ---------------------------------------------------- */

static int render(struct og_out *g, const rfx_otpl *t, const rfx_event *ev, const rfx_notice *n)
{
	return rfx_otpl_render(t, ev, n, &g->buf, NULL);
}

static int add_rendered(struct og_out *g, struct json_object *o, const char *key,
			const rfx_otpl *t, const rfx_event *ev, const rfx_notice *n, size_t max)
{
	if (t == NULL)
		return 0;
	if (render(g, t, ev, n) != 0)
		return RFX_ENOMEM;
	if (g->buf.len > 0)
		json_object_object_add(o, key, rfx_text_cut_json(g->buf.data, g->buf.len, max));
	return 0;
}

/* details: a flat string map within OG_DETAILS_MAX characters overall;
 * what does not fit is left out (and said so). */
static void details_add(struct json_object *d, size_t *used, const char *k, const char *v)
{
	size_t need;

	if (v == NULL || *v == '\0' || json_object_object_get_ex(d, k, NULL))
		return;
	need = utf8_len(k) + utf8_len(v);
	if (*used + need > OG_DETAILS_MAX - 40) {
		if (!json_object_object_get_ex(d, "truncated", NULL) && *used + 16 <= OG_DETAILS_MAX) {
			json_object_object_add(d, "truncated", json_object_new_string("yes"));
			*used += 12;
		}
		return;
	}
	json_object_object_add(d, k, json_object_new_string(v));
	*used += need;
}

static struct json_object *og_details(const rfx_event *first, const rfx_notice *n)
{
	struct json_object *d = json_object_new_object();
	size_t used = 0;
	char num[32];

	if (d == NULL)
		return NULL;
	if (n != NULL) {
		snprintf(num, sizeof num, "%zu", n->nfiring);
		details_add(d, &used, "firing", num);
		snprintf(num, sizeof num, "%zu", n->nevents - n->nfiring);
		details_add(d, &used, "resolved", num);
		for (size_t i = 0; i < n->nlabels; i++)
			details_add(d, &used, n->label_keys[i], n->label_values[i]);
	}
	details_add(d, &used, "host", rfx_event_host(first));
	details_add(d, &used, "service", rfx_event_service(first));
	details_add(d, &used, "check", rfx_event_check(first));
	details_add(d, &used, "severity", rfx_otpl_severity_name(first->severity));
	details_add(d, &used, "fingerprint", rfx_event_fingerprint(first));
	details_add(d, &used, "event_id", first->id);
	for (size_t i = 0; i < first->nlabels; i++)
		details_add(d, &used, first->labels[i].key, first->labels[i].value);
	return d;
}

/*
 * The request for rec: *action, the path below the API root (written to
 * path) and the body. NULL with *why on out of memory or without an
 * identity to alias on.
 */
static struct json_object *og_build(struct og_out *g, const rfx_record *rec, enum og_action *action,
				    char *path, size_t pathlen, const char **why)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	const rfx_event *first = ev != NULL ? ev : (n->nevents > 0 ? n->events[0] : NULL);
	struct json_object *o = NULL, *tags;
	char alias[OG_ALIAS_MAX * 4 + 40], esc[sizeof alias * 3];
	int sev;

	*why = "out of memory building the request";
	*action = og_action_of(rec);
	og_alias(ev != NULL ? rfx_event_fingerprint(ev) : n->group_key, OG_ALIAS_MAX, alias,
		 sizeof alias);
	if (alias[0] == '\0' && ev != NULL)
		og_alias(ev->id, OG_ALIAS_MAX, alias, sizeof alias);
	if (alias[0] == '\0' || first == NULL) {
		*why = "nothing to alias on (no fingerprint, group key or event)";
		return NULL;
	}
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (add_rendered(g, o, "source", g->source, ev, n, OG_SOURCE_MAX) != 0)
		goto nomem;
	if (g->cfg->user != NULL && g->cfg->user[0] != '\0')
		json_object_object_add(o, "user", rfx_text_cut_json(g->cfg->user, strlen(g->cfg->user),
							  OG_USER_MAX));
	if (*action != OG_CREATE) {
		if (og_path_escape(alias, esc, sizeof esc) != 0)
			goto nomem;
		if ((size_t)snprintf(path, pathlen, "/v2/alerts/%s/%s?identifierType=alias", esc,
				     og_action_names[*action]) >= pathlen)
			goto nomem; /* cannot happen: the alias is bounded */
		if (add_rendered(g, o, "note", g->note, ev, n, OG_NOTE_MAX) != 0)
			goto nomem;
		return o;
	}
	snprintf(path, pathlen, "/v2/alerts");
	if (render(g, n != NULL ? g->nmessage : g->message, ev, n) != 0)
		goto nomem;
	json_object_object_add(o, "message", g->buf.len > 0
						     ? rfx_text_cut_json(g->buf.data, g->buf.len, OG_MESSAGE_MAX)
						     : json_object_new_string("(no message)"));
	json_object_object_add(o, "alias", json_object_new_string(alias));
	if (add_rendered(g, o, "description", n != NULL ? g->ndescription : g->description, ev, n,
			 OG_DESCRIPTION_MAX) != 0 ||
	    add_rendered(g, o, "entity", g->entity, ev, n, OG_ENTITY_MAX) != 0)
		goto nomem;
	sev = first->severity;
	for (size_t i = 0; n != NULL && i < n->nfiring; i++)
		if (n->events[i]->severity < sev)
			sev = n->events[i]->severity;
	{
		char prio[4];

		snprintf(prio, sizeof prio, "P%d", g->prio[sev >= 0 && sev <= 7 ? sev : 6]);
		json_object_object_add(o, "priority", json_object_new_string(prio));
	}
	if (g->ntags > 0) {
		tags = json_object_new_array();
		for (size_t i = 0; tags != NULL && i < g->ntags; i++) {
			if (json_object_array_length(tags) == OG_TAGS_MAX)
				break;
			if (render(g, g->tags[i], ev, n) != 0) {
				json_object_put(tags);
				goto nomem;
			}
			if (g->buf.len > 0)
				json_object_array_add(tags, rfx_text_cut_json(g->buf.data, g->buf.len, OG_TAG_LEN));
		}
		if (tags != NULL && json_object_array_length(tags) > 0)
			json_object_object_add(o, "tags", tags);
		else
			json_object_put(tags);
	}
	json_object_object_add(o, "details", og_details(first, n));
	if (g->responders != NULL)
		json_object_object_add(o, "responders", json_object_get(g->responders));
	return o;
nomem:
	json_object_put(o);
	return NULL;
}

/* ---- the plugin ------------------------------------------------------------ */

static rfx_result og_handle(void *state, const rfx_record *rec)
{
	struct og_out *g = state;
	struct json_object *body = NULL;
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[4], *json, *why = "";
	char path[OG_ALIAS_MAX * 12 + 128], msg[256] = "";
	char *url = NULL;
	enum og_action action = OG_CREATE;
	size_t blen = 0;
	rfx_result res = RFX_FAIL;
	int rc;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	body = og_build(g, rec, &action, path, sizeof path, &why);
	if (body == NULL || asprintf(&url, "%s%s", g->base, path) < 0) {
		url = NULL;
		snprintf(msg, sizeof msg, "%s", body == NULL ? why : "out of memory");
		res = strncmp(msg, "out of memory", 13) == 0 ? RFX_RETRY : RFX_FAIL;
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	json = json_object_to_json_string_length(body, OG_JSON_FLAGS, &blen);
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = "Accept: application/json";
	hdrs[2] = g->auth;
	hdrs[3] = NULL;
	rc = rfx_outhttp_request(g->http, "POST", url, hdrs, json, blen, &resp);
	res = og_classify(g->http, rc, &resp, rec->delivery, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		g->host->metric_add(g->sent, 1);
	} else {
		g->host->metric_add(res == RFX_RETRY ? g->retried : g->failed, 1);
		g->host->log(g->inst, RFX_LOG_WARNING, "%s alert at %s: %s (%s)",
			     og_action_names[action], g->shown_url, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	json_object_put(body);
	free(url);
	return res;
}

static void og_destroy(void *state)
{
	struct og_out *g = state;

	if (g == NULL)
		return;
	rfx_outhttp_free(g->http);
	rfx_otpl_free(g->message);
	rfx_otpl_free(g->nmessage);
	rfx_otpl_free(g->description);
	rfx_otpl_free(g->ndescription);
	rfx_otpl_free(g->entity);
	rfx_otpl_free(g->source);
	rfx_otpl_free(g->note);
	for (size_t i = 0; i < g->ntags; i++)
		rfx_otpl_free(g->tags[i]);
	free(g->tags);
	json_object_put(g->responders);
	rfx_otpl_buf_free(&g->buf);
	free(g->auth);
	free(g->base);
	free(g);
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

static int og_prio_load(const rfx_host *host, const struct rfx_strmap *m, int map[8], char *err,
			size_t errlen)
{
	og_prio_default(map);
	for (size_t i = 0; i < m->n; i++) {
		int s = host->severity_parse(m->keys[i]);
		int v = og_prio_parse(m->values[i]);

		if (s < 0 || s > 7) {
			snprintf(err, errlen, "priority_map: '%s' is not a severity (emergency, "
				 "alert, critical, error, warning, notice, info, debug)", m->keys[i]);
			return RFX_EINVAL;
		}
		if (v < 0) {
			snprintf(err, errlen, "priority_map: %s: '%s' is not an Opsgenie priority "
				 "(P1..P5)", m->keys[i], m->values[i]);
			return RFX_EINVAL;
		}
		map[s] = v;
	}
	return 0;
}

/* responders[]: each one of team/user/escalation/schedule, by id or by
 * name (username for users), as Opsgenie takes them. */
static int og_responders_load(const struct rfx_seclist *l, struct json_object **out, char *err,
			      size_t errlen)
{
	const struct og_responder *r = l->v;
	struct json_object *a;

	*out = NULL;
	if (l->n == 0)
		return 0;
	if (l->n > OG_RESPONDERS_MAX) {
		snprintf(err, errlen, "responders: at most %d (Opsgenie ignores the rest)",
			 OG_RESPONDERS_MAX);
		return RFX_EINVAL;
	}
	if ((a = json_object_new_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *type = og_responder_types[r[i].type];
		bool user = strcmp(type, "user") == 0;
		const char *named = user ? r[i].username : r[i].name;
		const char *wrong = user ? r[i].name : r[i].username;
		struct json_object *o;

		if ((r[i].id != NULL && r[i].id[0] != '\0') == (named != NULL && named[0] != '\0') ||
		    (wrong != NULL && wrong[0] != '\0')) {
			snprintf(err, errlen, "responders[%zu]: a %s takes either id or %s", i, type,
				 user ? "username" : "name");
			json_object_put(a);
			return RFX_EINVAL;
		}
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(type));
		if (r[i].id != NULL && r[i].id[0] != '\0')
			json_object_object_add(o, "id", json_object_new_string(r[i].id));
		else
			json_object_object_add(o, user ? "username" : "name",
					       json_object_new_string(named));
		json_object_array_add(a, o);
	}
	*out = a;
	return 0;
}

/* The API root: url when set (a trailing "/" or "/v2/alerts" dropped), else
 * the region's. */
static char *og_base(const struct og_config *cfg)
{
	const char *u = cfg->http.url != NULL && cfg->http.url[0] != '\0'
				? cfg->http.url
				: (cfg->region == 1 ? OG_URL_EU : OG_URL_US);
	size_t n = strlen(u);
	char *b;

	while (n > 0 && u[n - 1] == '/')
		n--;
	if (n >= 10 && strncmp(u + n - 10, "/v2/alerts", 10) == 0)
		n -= 10;
	while (n > 0 && u[n - 1] == '/')
		n--;
	b = malloc(n + 1);
	if (b != NULL) {
		memcpy(b, u, n);
		b[n] = '\0';
	}
	return b;
}

static int og_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct og_config *cfg = config;
	struct og_out *g;
	int rc = RFX_EINVAL;

	if (cfg->api_key == NULL || cfg->api_key[0] == '\0' ||
	    strpbrk(cfg->api_key, " \t\r\n") != NULL) {
		snprintf(err, errlen, "api_key: the key of an API integration (one word), sent as "
			 "Authorization: GenieKey");
		return RFX_EINVAL;
	}
	if (cfg->tags.n > OG_TAGS_MAX) {
		snprintf(err, errlen, "tags: at most %d (Opsgenie's limit)", OG_TAGS_MAX);
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
	if ((rc = og_prio_load(host, &cfg->priority_map, g->prio, err, errlen)) != 0 ||
	    (rc = og_responders_load(&cfg->responders, &g->responders, err, errlen)) != 0)
		goto fail;
	if ((rc = compile("message", cfg->message, OG_FIELD_BYTES, &g->message, err, errlen)) != 0 ||
	    (rc = compile("notice_message", cfg->notice_message, OG_FIELD_BYTES, &g->nmessage, err,
			  errlen)) != 0 ||
	    (rc = compile("description", cfg->description, OG_DESC_BYTES, &g->description, err,
			  errlen)) != 0 ||
	    (rc = compile("notice_description", cfg->notice_description, OG_DESC_BYTES,
			  &g->ndescription, err, errlen)) != 0 ||
	    (rc = compile("entity", cfg->entity, OG_FIELD_BYTES, &g->entity, err, errlen)) != 0 ||
	    (rc = compile("source", cfg->source, OG_FIELD_BYTES, &g->source, err, errlen)) != 0 ||
	    (rc = compile("note", cfg->note, OG_NOTE_MAX * 2, &g->note, err, errlen)) != 0)
		goto fail;
	if (g->message == NULL || g->nmessage == NULL) {
		snprintf(err, errlen, "message and notice_message must not be empty");
		rc = RFX_EINVAL;
		goto fail;
	}
	if (cfg->tags.n > 0) {
		g->tags = calloc(cfg->tags.n, sizeof *g->tags);
		if (g->tags == NULL) {
			rc = RFX_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < cfg->tags.n; i++) {
			char opt[32];

			snprintf(opt, sizeof opt, "tags[%zu]", i);
			if ((rc = compile(opt, cfg->tags.v[i], 1024, &g->tags[g->ntags], err,
					  errlen)) != 0)
				goto fail;
			if (g->tags[g->ntags] != NULL)
				g->ntags++;
		}
	}
	g->base = og_base(cfg);
	if (g->base == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->http_cfg = cfg->http;
	g->http_cfg.url = g->base;
	g->http = rfx_outhttp_new(&g->http_cfg, host, inst, err, errlen);
	if (g->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	rfx_outhttp_secret(g->http, cfg->api_key);
	if (asprintf(&g->auth, "Authorization: GenieKey %s", cfg->api_key) < 0) {
		g->auth = NULL;
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rfx_outhttp_url_for_log(g->base, g->shown_url, sizeof g->shown_url);
	g->sent = host->counter(inst, "sent_total", "Requests Opsgenie accepted");
	g->failed = host->counter(inst, "failed_total", "Requests Opsgenie refused for good (FAIL)");
	g->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (g->sent == NULL || g->failed == NULL || g->retried == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = g;
	return 0;
fail:
	og_destroy(g);
	return rc;
}

static const rfx_option og_responder_options[] = {
	{
		.name = "type",
		.type = RFX_OPT_ENUM,
		.flags = RFX_OPT_REQUIRED,
		.enum_values = og_responder_types,
		.description = "team, user, escalation or schedule.",
		.offset = offsetof(struct og_responder, type),
	},
	{
		.name = "name",
		.type = RFX_OPT_STRING,
		.description = "Name of the team, escalation or schedule (or set id).",
		.offset = offsetof(struct og_responder, name),
	},
	{
		.name = "username",
		.type = RFX_OPT_STRING,
		.description = "A user's username, usually the e-mail address (or set id).",
		.offset = offsetof(struct og_responder, username),
	},
	{
		.name = "id",
		.type = RFX_OPT_STRING,
		.description = "Opsgenie's id of the responder, instead of name/username.",
		.offset = offsetof(struct og_responder, id),
	},
	RFX_OPTION_END_SIZE(struct og_responder),
};

static const rfx_option og_options[] = {
	RFX_OUTHTTP_OPTIONS(struct og_config, http, NULL, 0),
	{
		.name = "region",
		.type = RFX_OPT_ENUM,
		.default_value = "us",
		.enum_values = og_regions,
		.description = "Opsgenie instance: us (api.opsgenie.com) or eu "
			       "(api.eu.opsgenie.com). url, when set, overrides it.",
		.offset = offsetof(struct og_config, region),
	},
	{
		.name = "api_key",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED | RFX_OPT_SECRET,
		.description = "Key of an API integration (Settings > Integrations > API), sent "
			       "as Authorization: GenieKey. A secret: use ${ENV} or ${file:...}.",
		.offset = offsetof(struct og_config, api_key),
	},
	{
		.name = "message",
		.type = RFX_OPT_STRING,
		.default_value = "[{{severity}}] {{check}} on {{host}}",
		.description = "Template of the alert's message (cut at 130 characters).",
		.offset = offsetof(struct og_config, message),
	},
	{
		.name = "notice_message",
		.type = RFX_OPT_STRING,
		.default_value = "{{nfiring}} firing: {{group.labels}}",
		.description = "Template of the message for notices (outputs with group_by).",
		.offset = offsetof(struct og_config, notice_message),
	},
	{
		.name = "description",
		.type = RFX_OPT_STRING,
		.default_value = "{{message}}\n\nHost: {{host}}{{#service}}\nService: {{service}}"
				 "{{/service}}\nCheck: {{check}}\nSeverity: {{severity}}\nTime: "
				 "{{time}}\nEvent: {{id}}",
		.description = "Template of the description (cut at 15,000 characters).",
		.offset = offsetof(struct og_config, description),
	},
	{
		.name = "notice_description",
		.type = RFX_OPT_STRING,
		.default_value = "{{#firing}}[firing] {{severity}}: {{check}} on {{host}}"
				 "{{#message}} - {{message}}{{/message}}\n{{/firing}}{{#resolved}}"
				 "[resolved] {{check}} on {{host}}\n{{/resolved}}",
		.description = "Template of the description for notices.",
		.offset = offsetof(struct og_config, notice_description),
	},
	{
		.name = "entity",
		.type = RFX_OPT_STRING,
		.default_value = "{{host}}",
		.description = "Template of the alert's entity (cut at 512 characters).",
		.offset = offsetof(struct og_config, entity),
	},
	{
		.name = "source",
		.type = RFX_OPT_STRING,
		.default_value = "reflex",
		.description = "Template of the source field (cut at 100 characters).",
		.offset = offsetof(struct og_config, source),
	},
	{
		.name = "user",
		.type = RFX_OPT_STRING,
		.description = "Display name of the request owner (at most 100 characters).",
		.offset = offsetof(struct og_config, user),
	},
	{
		.name = "note",
		.type = RFX_OPT_STRING,
		.default_value = "{{message}}",
		.description = "Template of the note added when an alert is acknowledged or "
			       "closed; empty: none.",
		.offset = offsetof(struct og_config, note),
	},
	{
		.name = "tags",
		.type = RFX_OPT_LIST,
		.description = "Templates of the alert's tags, e.g. ['{{severity}}', "
			       "'team:{{labels.team}}']; empty ones are left out, each cut at 50 "
			       "characters, at most 20.",
		.offset = offsetof(struct og_config, tags),
	},
	{
		.name = "priority_map",
		.type = RFX_OPT_MAP,
		.description = "Overrides of the priority mapping, reflex severity -> P1..P5. "
			       "Default: emergency/alert/critical P1, error P2, warning P3, notice "
			       "P4, info/debug P5.",
		.offset = offsetof(struct og_config, priority_map),
	},
	{
		.name = "responders",
		.type = RFX_OPT_SECTION_LIST,
		.description = "Who is notified: a list of {type: team|user|escalation|schedule, "
			       "name|username|id}. Unset: the integration's team.",
		.offset = offsetof(struct og_config, responders),
		.sub = og_responder_options,
	},
	RFX_OPTION_END,
};

static const rfx_plugin og_plugin = {
	RFX_PLUGIN_ABI,
	.name = "opsgenie",
	.version = "1.0.0",
	.description = "Creates, acknowledges and closes Opsgenie alerts (Alert API v2).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = og_options,
	.config_size = sizeof(struct og_config),
	.init = og_init,
	.handle = og_handle,
	.destroy = og_destroy,
};

RFX_PLUGIN_DEFINE(og_plugin)
