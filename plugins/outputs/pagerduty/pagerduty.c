/*
 * plugins/outputs/pagerduty/pagerduty.c - the PagerDuty output: sends
 * events and notices to the Events API v2 (POST /v2/enqueue) as trigger,
 * acknowledge or resolve events. The dedup_key is derived from the
 * event's fingerprint (a notice's group key), so a firing, its updates,
 * an acknowledgement and the resolution all land on the same PagerDuty
 * alert without any state kept here.
 *
 * PagerDuty's rules are kept: summary <= 1024 characters (cut), severity
 * one of critical/error/warning/info (mapped, configurable), dedup_key
 * <= 255 characters (long keys get a digest), the event <= 512 KB (attrs
 * dropped first). One attempt per handle(): the core owns retries.
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

#define PD_EVENTS_URL "https://events.pagerduty.com/v2/enqueue"
#define PD_SUMMARY_MAX 1024       /* characters */
#define PD_DEDUP_MAX 255          /* characters */
#define PD_ROUTING_KEY_LEN 32
#define PD_EVENT_MAX (512 * 1024) /* bytes of the whole event */
#define PD_FIELD_BYTES 4096       /* rendered bound of the short fields */
#define PD_NOTICE_EVENTS_MAX 50   /* events listed in a notice's details */
#define PD_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum pd_action { PD_TRIGGER = 0, PD_ACKNOWLEDGE, PD_RESOLVE };
static const char *const pd_action_names[] = {"trigger", "acknowledge", "resolve"};
static const char *const pd_severities[] = {"critical", "error", "warning", "info", NULL};

struct pd_config {
	struct rfx_outhttp_config http;
	char *routing_key;
	char *summary;
	char *notice_summary;
	char *source;
	char *component;
	char *group;
	char *class_;
	struct rfx_strmap severity_map;
	char *client;
	char *client_url;
	char *link;
	char *link_text;
	char *image;
	bool send_attrs;
};

struct pd_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct pd_config *cfg;
	rfx_outhttp *http;
	char shown_url[256];
	int sevmap[8]; /* reflex severity -> index into pd_severities */
	rfx_otpl *summary, *nsummary, *source, *component, *group, *class_, *client_url, *link,
		*image;
	struct rfx_otpl_buf buf; /* handle() is serial: one scratch buffer */
	rfx_metric *sent, *failed, *retried;
};

/* The dedup_key for an identity (fingerprint or group key): itself when it
 * fits in max characters, else its first characters and a 128-bit digest,
 * so it stays stable and distinct. "" for an empty identity. len must be
 * at least 4 * max + 1 (max characters of up to 4 bytes). */
static void pd_dedup_key(const char *id, size_t max, char *out, size_t len)
{
	rfx_text_key(id, max, out, len);
}

static bool truthy(const char *s)
{
	return s != NULL && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
			     strcmp(s, "1") == 0);
}

/* Acknowledged, as the inputs mark it: attrs.acknowledged (the Zabbix
 * webhook's {EVENT.ACK.STATUS}, a Nagios ACKNOWLEDGEMENT), or a label
 * acknowledged=true set by a filter or a generic JSON sender. */
static bool pd_acknowledged(const rfx_event *ev)
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

/* What the record asks PagerDuty to do. A notice is acknowledged when
 * every firing event in it is. */
static enum pd_action pd_action_of(const rfx_record *rec)
{
	if (rec->type == RFX_REC_EVENT) {
		if (rec->u.event->status == RFX_STATUS_RESOLVED)
			return PD_RESOLVE;
		return pd_acknowledged(rec->u.event) ? PD_ACKNOWLEDGE : PD_TRIGGER;
	}
	if (rec->u.notice->status == RFX_STATUS_RESOLVED || rec->u.notice->nfiring == 0)
		return PD_RESOLVE;
	for (size_t i = 0; i < rec->u.notice->nfiring; i++)
		if (!pd_acknowledged(rec->u.notice->events[i]))
			return PD_TRIGGER;
	return PD_ACKNOWLEDGE;
}

/* Default mapping of the syslog scale onto PagerDuty's four severities. */
static void pd_sevmap_default(int map[8])
{
	static const int def[8] = {0, 0, 0, 1, 2, 3, 3, 3};

	memcpy(map, def, sizeof def);
}

static int pd_severity_index(const char *name)
{
	for (int i = 0; pd_severities[i] != NULL; i++)
		if (strcasecmp(name, pd_severities[i]) == 0)
			return i;
	return -1;
}

/* Builds the error for a PagerDuty refusal: its message and errors[]. */
static void pd_vendor_error(const rfx_outhttp *c, long status, const char *body, size_t blen,
			    char *out, size_t len)
{
	struct json_object *o = body != NULL && blen > 0 ? json_tokener_parse(body) : NULL;
	struct json_object *m, *errs;
	size_t k;

	k = (size_t)snprintf(out, len, "HTTP %ld", status);
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "message", &m) &&
		    json_object_is_type(m, json_type_string) && k < len)
			k += (size_t)snprintf(out + k, len - k, ": %s", json_object_get_string(m));
		if (json_object_object_get_ex(o, "errors", &errs) &&
		    json_object_is_type(errs, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(errs) && k < len; i++) {
				struct json_object *e = json_object_array_get_idx(errs, i);

				if (json_object_is_type(e, json_type_string))
					k += (size_t)snprintf(out + k, len - k, "%s%s",
							      i == 0 ? ": " : "; ",
							      json_object_get_string(e));
			}
		}
	} else {
		char vm[200];

		rfx_outhttp_vendor_message(c, body, blen, vm, sizeof vm);
		if (vm[0] != '\0' && k < len)
			snprintf(out + k, len - k, ": %s", vm);
	}
	json_object_put(o);
	/* one line: PagerDuty's messages have none, but a proxy's page may */
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	rfx_outhttp_redact(c, out, len);
}

/* Maps PagerDuty's answer: 202 (any 2xx) delivered; 400 invalid event and
 * other 4xx refused for good with PagerDuty's reasons; 429, 5xx and
 * transport failures retried (Retry-After when given). */
static rfx_result pd_classify(const rfx_outhttp *c, int rc, const struct rfx_outhttp_response *r,
			      rfx_delivery *d, char *msg, size_t msglen)
{
	rfx_result res;

	if (rc != 0 || r->status == 0 || (r->status >= 200 && r->status < 300) ||
	    r->status == 408 || r->status == 429 || r->status >= 500 ||
	    (r->status >= 300 && r->status < 400))
		return rfx_outhttp_result(c, rc, r, d, msg, msglen);
	pd_vendor_error(c, r->status, r->body, r->body_len, msg, msglen);
	res = RFX_FAIL;
	rfx_outhttp_delivery_set(d, 0, msg);
	return res;
}

/* ---- building the event --------------------------------------------------- */

/* Renders t into s->buf; the result is valid until the next render. */
static int render(struct pd_out *p, const rfx_otpl *t, const rfx_event *ev, const rfx_notice *n)
{
	return rfx_otpl_render(t, ev, n, &p->buf, NULL);
}

/* Adds key: rendered template when not empty. */
static int add_rendered(struct pd_out *p, struct json_object *o, const char *key,
			const rfx_otpl *t, const rfx_event *ev, const rfx_notice *n, size_t max)
{
	if (t == NULL)
		return 0;
	if (render(p, t, ev, n) != 0)
		return RFX_ENOMEM;
	if (p->buf.len > 0)
		json_object_object_add(o, key, rfx_text_cut_json(p->buf.data, p->buf.len, max));
	return 0;
}

static struct json_object *labels_obj(const rfx_event *ev)
{
	struct json_object *l = json_object_new_object();

	for (size_t i = 0; l != NULL && i < ev->nlabels; i++)
		json_object_object_add(l, ev->labels[i].key,
				       json_object_new_string(ev->labels[i].value));
	return l;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_object_add(o, key, json_object_new_string(v));
}

/* custom_details of an event: its fields, labels and (optionally) attrs. */
static struct json_object *event_details(const struct pd_out *p, const rfx_event *ev,
					 bool with_attrs)
{
	struct json_object *d = json_object_new_object();

	if (d == NULL)
		return NULL;
	add_str(d, "event_id", ev->id);
	add_str(d, "host", rfx_event_host(ev));
	add_str(d, "service", rfx_event_service(ev));
	add_str(d, "check", rfx_event_check(ev));
	add_str(d, "message", rfx_event_message(ev));
	add_str(d, "severity", rfx_otpl_severity_name(ev->severity));
	add_str(d, "status", ev->status == RFX_STATUS_RESOLVED ? "resolved" : "firing");
	add_str(d, "fingerprint", rfx_event_fingerprint(ev));
	add_str(d, "input", rfx_event_source(ev));
	if (ev->has_value)
		json_object_object_add(d, "value", json_object_new_double(ev->value));
	json_object_object_add(d, "labels", labels_obj(ev));
	if (with_attrs && ev->attrs != NULL)
		json_object_object_add(d, "attrs", json_object_get(ev->attrs));
	else if (ev->attrs != NULL && json_object_object_length(ev->attrs) > 0)
		json_object_object_add(d, "attrs", json_object_new_string("(left out: too large)"));
	return d;
}

static struct json_object *notice_details(const rfx_notice *n, bool with_attrs,
					  const struct pd_out *p)
{
	struct json_object *d = json_object_new_object(), *g, *evs;

	if (d == NULL)
		return NULL;
	add_str(d, "group_key", n->group_key);
	g = json_object_new_object();
	for (size_t i = 0; g != NULL && i < n->nlabels; i++)
		json_object_object_add(g, n->label_keys[i], json_object_new_string(n->label_values[i]));
	json_object_object_add(d, "group", g);
	json_object_object_add(d, "firing", json_object_new_int64((int64_t)n->nfiring));
	json_object_object_add(d, "resolved",
			       json_object_new_int64((int64_t)(n->nevents - n->nfiring)));
	evs = json_object_new_array();
	for (size_t i = 0; evs != NULL && i < n->nevents && i < PD_NOTICE_EVENTS_MAX; i++)
		json_object_array_add(evs, event_details(p, n->events[i], with_attrs));
	json_object_object_add(d, "events", evs);
	if (n->nevents > PD_NOTICE_EVENTS_MAX)
		json_object_object_add(d, "events_left_out",
				       json_object_new_int64((int64_t)(n->nevents - PD_NOTICE_EVENTS_MAX)));
	return d;
}

/*
 * The Events API v2 body for rec, or NULL (out of memory, or no identity
 * to deduplicate on: *why says which). acknowledge and resolve carry only
 * routing_key, event_action and dedup_key, as PagerDuty documents.
 */
static struct json_object *pd_build(struct pd_out *p, const rfx_record *rec, bool with_attrs,
				    enum pd_action *action, const char **why)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	const rfx_event *first = ev != NULL ? ev : (n->nevents > 0 ? n->events[0] : NULL);
	struct json_object *o = NULL, *pl = NULL;
	char key[PD_DEDUP_MAX * 4 + 40], ts[40];
	int sev;

	*why = "out of memory building the event";
	*action = pd_action_of(rec);
	pd_dedup_key(ev != NULL ? rfx_event_fingerprint(ev) : n->group_key, PD_DEDUP_MAX, key,
		     sizeof key);
	if (key[0] == '\0' && ev != NULL)
		pd_dedup_key(ev->id, PD_DEDUP_MAX, key, sizeof key);
	if (key[0] == '\0' || first == NULL) {
		*why = "nothing to deduplicate on (no fingerprint, group key or event)";
		return NULL;
	}
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "routing_key", json_object_new_string(p->cfg->routing_key));
	json_object_object_add(o, "event_action", json_object_new_string(pd_action_names[*action]));
	json_object_object_add(o, "dedup_key", json_object_new_string(key));
	if (*action != PD_TRIGGER)
		return o;

	if ((pl = json_object_new_object()) == NULL)
		goto nomem;
	json_object_object_add(o, "payload", pl);
	if (render(p, n != NULL ? p->nsummary : p->summary, ev, n) != 0)
		goto nomem;
	json_object_object_add(pl, "summary",
			       p->buf.len > 0 ? rfx_text_cut_json(p->buf.data, p->buf.len, PD_SUMMARY_MAX)
					      : json_object_new_string("(no summary)"));
	if (render(p, p->source, ev, n) != 0)
		goto nomem;
	if (p->buf.len > 0)
		json_object_object_add(pl, "source", rfx_text_cut_json(p->buf.data, p->buf.len, 1024));
	else
		json_object_object_add(pl, "source",
				       json_object_new_string(rfx_event_source(first) != NULL
								      ? rfx_event_source(first)
								      : "reflex"));
	sev = first->severity;
	for (size_t i = 0; n != NULL && i < n->nfiring; i++)
		if (n->events[i]->severity < sev)
			sev = n->events[i]->severity; /* the most severe firing one */
	json_object_object_add(pl, "severity",
			       json_object_new_string(
				       pd_severities[p->sevmap[sev >= 0 && sev <= 7 ? sev : 6]]));
	rfx_otpl_time(first->occurred_ns != 0 ? first->occurred_ns : first->received_ns, ts,
		      sizeof ts);
	if (ts[0] != '\0')
		json_object_object_add(pl, "timestamp", json_object_new_string(ts));
	if (add_rendered(p, pl, "component", p->component, ev, n, 1024) != 0 ||
	    add_rendered(p, pl, "group", p->group, ev, n, 1024) != 0 ||
	    add_rendered(p, pl, "class", p->class_, ev, n, 1024) != 0)
		goto nomem;
	json_object_object_add(pl, "custom_details", n != NULL ? notice_details(n, with_attrs, p)
							       : event_details(p, ev, with_attrs));

	if (p->cfg->client != NULL && p->cfg->client[0] != '\0')
		json_object_object_add(o, "client", json_object_new_string(p->cfg->client));
	if (add_rendered(p, o, "client_url", p->client_url, ev, n, 2048) != 0)
		goto nomem;
	if (p->link != NULL) {
		if (render(p, p->link, ev, n) != 0)
			goto nomem;
		if (p->buf.len > 0) {
			struct json_object *links = json_object_new_array(), *l = json_object_new_object();

			json_object_object_add(l, "href", json_object_new_string_len(p->buf.data,
										     (int)p->buf.len));
			json_object_object_add(l, "text", json_object_new_string(p->cfg->link_text));
			json_object_array_add(links, l);
			json_object_object_add(o, "links", links);
		}
	}
	if (p->image != NULL) {
		if (render(p, p->image, ev, n) != 0)
			goto nomem;
		if (p->buf.len > 0) {
			struct json_object *imgs = json_object_new_array(), *im = json_object_new_object();

			json_object_object_add(im, "src", json_object_new_string_len(p->buf.data,
										     (int)p->buf.len));
			json_object_array_add(imgs, im);
			json_object_object_add(o, "images", imgs);
		}
	}
	return o;
nomem:
	json_object_put(o);
	return NULL;
}

/* ---- the plugin ------------------------------------------------------------ */

static rfx_result pd_handle(void *state, const rfx_record *rec)
{
	struct pd_out *p = state;
	struct json_object *body = NULL;
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", NULL};
	const char *json, *why = "";
	char msg[256] = "";
	enum pd_action action = PD_TRIGGER;
	size_t blen = 0;
	rfx_result res = RFX_FAIL;
	int rc;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	body = pd_build(p, rec, p->cfg->send_attrs, &action, &why);
	if (body != NULL) {
		json = json_object_to_json_string_length(body, PD_JSON_FLAGS, &blen);
		if (blen > PD_EVENT_MAX && p->cfg->send_attrs) {
			/* PagerDuty refuses events over 512 KB: attrs go first */
			json_object_put(body);
			body = pd_build(p, rec, false, &action, &why);
			if (body != NULL)
				json = json_object_to_json_string_length(body, PD_JSON_FLAGS, &blen);
		}
	}
	if (body == NULL) {
		snprintf(msg, sizeof msg, "%s", why);
		res = strncmp(why, "out of memory", 13) == 0 ? RFX_RETRY : RFX_FAIL;
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	if (blen > PD_EVENT_MAX) {
		snprintf(msg, sizeof msg, "the event is %zu bytes, over PagerDuty's 512 KB", blen);
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		res = RFX_FAIL;
		goto out;
	}
	rc = rfx_outhttp_request(p->http, "POST", NULL, hdrs, json, blen, &resp);
	res = pd_classify(p->http, rc, &resp, rec->delivery, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		p->host->metric_add(p->sent, 1);
		p->host->log(p->inst, RFX_LOG_DEBUG, "%s accepted (HTTP %ld)",
			     pd_action_names[action], resp.status);
	} else {
		p->host->metric_add(res == RFX_RETRY ? p->retried : p->failed, 1);
		p->host->log(p->inst, RFX_LOG_WARNING, "%s to %s: %s (%s)", pd_action_names[action],
			     p->shown_url, msg, res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	json_object_put(body);
	return res;
}

static void pd_destroy(void *state)
{
	struct pd_out *p = state;

	if (p == NULL)
		return;
	rfx_outhttp_free(p->http);
	rfx_otpl_free(p->summary);
	rfx_otpl_free(p->nsummary);
	rfx_otpl_free(p->source);
	rfx_otpl_free(p->component);
	rfx_otpl_free(p->group);
	rfx_otpl_free(p->class_);
	rfx_otpl_free(p->client_url);
	rfx_otpl_free(p->link);
	rfx_otpl_free(p->image);
	rfx_otpl_buf_free(&p->buf);
	free(p);
}

/* Compiles an optional template option (NULL or "" leaves *out NULL); a
 * failure names the option and the position. */
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

/* severity_map: reflex severity name -> PagerDuty severity. */
static int pd_sevmap_load(const rfx_host *host, const struct rfx_strmap *m, int map[8],
			  char *err, size_t errlen)
{
	pd_sevmap_default(map);
	for (size_t i = 0; i < m->n; i++) {
		int s = host->severity_parse(m->keys[i]);
		int v = pd_severity_index(m->values[i]);

		if (s < 0 || s > 7) {
			snprintf(err, errlen, "severity_map: '%s' is not a severity (emergency, "
				 "alert, critical, error, warning, notice, info, debug)", m->keys[i]);
			return RFX_EINVAL;
		}
		if (v < 0) {
			snprintf(err, errlen, "severity_map: %s: '%s' is not a PagerDuty severity "
				 "(critical, error, warning, info)", m->keys[i], m->values[i]);
			return RFX_EINVAL;
		}
		map[s] = v;
	}
	return 0;
}

static int pd_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct pd_config *cfg = config;
	struct pd_out *p;
	int rc = RFX_EINVAL;

	if (cfg->routing_key == NULL || strlen(cfg->routing_key) != PD_ROUTING_KEY_LEN ||
	    strspn(cfg->routing_key, "0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ") !=
		    PD_ROUTING_KEY_LEN) {
		snprintf(err, errlen, "routing_key: must be the 32-character integration key of an "
			 "Events API v2 integration (service > Integrations)");
		return RFX_EINVAL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	p->inst = inst;
	p->host = host;
	p->cfg = cfg;
	if ((rc = pd_sevmap_load(host, &cfg->severity_map, p->sevmap, err, errlen)) != 0)
		goto fail;
	if ((rc = compile("summary", cfg->summary, PD_FIELD_BYTES, &p->summary, err, errlen)) != 0 ||
	    (rc = compile("notice_summary", cfg->notice_summary, PD_FIELD_BYTES, &p->nsummary, err,
			  errlen)) != 0 ||
	    (rc = compile("source", cfg->source, PD_FIELD_BYTES, &p->source, err, errlen)) != 0 ||
	    (rc = compile("component", cfg->component, PD_FIELD_BYTES, &p->component, err,
			  errlen)) != 0 ||
	    (rc = compile("group", cfg->group, PD_FIELD_BYTES, &p->group, err, errlen)) != 0 ||
	    (rc = compile("class", cfg->class_, PD_FIELD_BYTES, &p->class_, err, errlen)) != 0 ||
	    (rc = compile("client_url", cfg->client_url, PD_FIELD_BYTES, &p->client_url, err,
			  errlen)) != 0 ||
	    (rc = compile("link", cfg->link, PD_FIELD_BYTES, &p->link, err, errlen)) != 0 ||
	    (rc = compile("image", cfg->image, PD_FIELD_BYTES, &p->image, err, errlen)) != 0)
		goto fail;
	if (p->summary == NULL || p->nsummary == NULL || p->source == NULL) {
		snprintf(err, errlen, "summary, notice_summary and source must not be empty");
		rc = RFX_EINVAL;
		goto fail;
	}
	p->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (p->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	rfx_outhttp_secret(p->http, cfg->routing_key);
	rfx_outhttp_url_for_log(cfg->http.url, p->shown_url, sizeof p->shown_url);
	p->sent = host->counter(inst, "sent_total", "Events PagerDuty accepted");
	p->failed = host->counter(inst, "failed_total", "Events PagerDuty refused for good (FAIL)");
	p->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (p->sent == NULL || p->failed == NULL || p->retried == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = p;
	return 0;
fail:
	pd_destroy(p);
	return rc;
}

static const rfx_option pd_options[] = {
	RFX_OUTHTTP_OPTIONS(struct pd_config, http, PD_EVENTS_URL, 0),
	{
		.name = "routing_key",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED | RFX_OPT_SECRET,
		.description = "Integration key (32 characters) of the service's Events API v2 "
			       "integration. A secret: use ${ENV} or ${file:...}.",
		.offset = offsetof(struct pd_config, routing_key),
	},
	{
		.name = "summary",
		.type = RFX_OPT_STRING,
		.default_value = "[{{severity}}] {{check}} on {{host}}{{#message}}: {{message}}{{/message}}",
		.description = "Template of payload.summary (cut at 1,024 characters).",
		.offset = offsetof(struct pd_config, summary),
	},
	{
		.name = "notice_summary",
		.type = RFX_OPT_STRING,
		.default_value = "{{nfiring}} firing, {{nresolved}} resolved: {{group.labels}}",
		.description = "Template of payload.summary for notices (outputs with group_by).",
		.offset = offsetof(struct pd_config, notice_summary),
	},
	{
		.name = "source",
		.type = RFX_OPT_STRING,
		.default_value = "{{host}}",
		.description = "Template of payload.source, the affected system; when it renders "
			       "empty the input's name is sent.",
		.offset = offsetof(struct pd_config, source),
	},
	{
		.name = "component",
		.type = RFX_OPT_STRING,
		.default_value = "{{service}}",
		.description = "Template of payload.component; left out when empty.",
		.offset = offsetof(struct pd_config, component),
	},
	{
		.name = "group",
		.type = RFX_OPT_STRING,
		.description = "Template of payload.group, e.g. '{{labels.team}}'; left out when "
			       "empty.",
		.offset = offsetof(struct pd_config, group),
	},
	{
		.name = "class",
		.type = RFX_OPT_STRING,
		.default_value = "{{check}}",
		.description = "Template of payload.class; left out when empty.",
		.offset = offsetof(struct pd_config, class_),
	},
	{
		.name = "severity_map",
		.type = RFX_OPT_MAP,
		.description = "Overrides of the severity mapping, reflex severity -> critical, "
			       "error, warning or info. Default: emergency/alert/critical -> "
			       "critical, error -> error, warning -> warning, notice/info/debug -> "
			       "info.",
		.offset = offsetof(struct pd_config, severity_map),
	},
	{
		.name = "client",
		.type = RFX_OPT_STRING,
		.default_value = "reflex",
		.description = "Name of the monitoring client shown in PagerDuty; empty: none.",
		.offset = offsetof(struct pd_config, client),
	},
	{
		.name = "client_url",
		.type = RFX_OPT_STRING,
		.description = "Template of the client's URL, e.g. "
			       "'https://reflex.example.com/events/{{id}}'.",
		.offset = offsetof(struct pd_config, client_url),
	},
	{
		.name = "link",
		.type = RFX_OPT_STRING,
		.description = "Template of a URL sent in links[] (e.g. a runbook).",
		.offset = offsetof(struct pd_config, link),
	},
	{
		.name = "link_text",
		.type = RFX_OPT_STRING,
		.default_value = "Details",
		.description = "Text of that link.",
		.offset = offsetof(struct pd_config, link_text),
	},
	{
		.name = "image",
		.type = RFX_OPT_STRING,
		.description = "Template of an image URL sent in images[] (e.g. a graph).",
		.offset = offsetof(struct pd_config, image),
	},
	{
		.name = "send_attrs",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Send the event's attrs in custom_details (left out anyway when "
			       "the event would pass PagerDuty's 512 KB).",
		.offset = offsetof(struct pd_config, send_attrs),
	},
	RFX_OPTION_END,
};

static const rfx_plugin pd_plugin = {
	RFX_PLUGIN_ABI,
	.name = "pagerduty",
	.version = "1.0.0",
	.description = "Triggers, acknowledges and resolves PagerDuty alerts (Events API v2).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = pd_options,
	.config_size = sizeof(struct pd_config),
	.init = pd_init,
	.handle = pd_handle,
	.destroy = pd_destroy,
};

RFX_PLUGIN_DEFINE(pd_plugin)
