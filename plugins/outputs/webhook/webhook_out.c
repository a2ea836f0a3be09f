/*
 * plugins/outputs/webhook/webhook_out.c - the webhook output: POSTs each
 * event (its JSON as the API shows it), each notice (a JSON document of the
 * group and its events) or a templated body to an HTTP endpoint, with
 * custom headers, an Idempotency-Key and an optional HMAC-SHA256 signature.
 *
 * The core owns retries: handle() makes one attempt and says OK, RETRY
 * (with the receiver's Retry-After) or FAIL (with its error message) in
 * rec->delivery when the core gives one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, strcasestr */
#endif
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "../../inputs/webhook/hmac_sha256.h"

#define WH_MAX_HEADERS 32
#define WH_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum wh_escape { WH_ESC_AUTO, WH_ESC_NONE, WH_ESC_JSON, WH_ESC_HTML };

struct wh_config {
	struct rfx_outhttp_config http;
	int method;
	char *body;
	char *content_type;
	int escape;
	struct rfx_strmap headers;
	char *hmac_secret;
	char *signature_header;
	uint64_t max_body;
};

struct wh_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct wh_config *cfg;
	rfx_outhttp *http;
	rfx_otpl *body;              /* NULL: the JSON of the record */
	char **headers;              /* "Name: value", fixed at init */
	size_t nheaders;
	struct rfx_otpl_buf buf;     /* unused: each handle() renders into its own */
	char shown_url[256];
	rfx_metric *sent, *failed, *retried;
};

static const char *const wh_methods[] = {"POST", "PUT", "PATCH", NULL};
static const char *const wh_escapes[] = {"auto", "none", "json", "html", NULL};

/* The notice as JSON: the group, its labels and its events. */
static struct json_object *notice_json(const struct wh_out *w, const rfx_notice *n)
{
	struct json_object *o = json_object_new_object(), *labels, *events;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string("notice"));
	json_object_object_add(o, "group_key", json_object_new_string(n->group_key ? n->group_key : ""));
	json_object_object_add(o, "status", json_object_new_string(
						 n->status == RFX_STATUS_RESOLVED ? "resolved" : "firing"));
	json_object_object_add(o, "sequence", json_object_new_int64((int64_t)n->sequence));
	json_object_object_add(o, "nfiring", json_object_new_int64((int64_t)n->nfiring));
	json_object_object_add(o, "nresolved", json_object_new_int64((int64_t)(n->nevents - n->nfiring)));
	labels = json_object_new_object();
	for (size_t i = 0; labels != NULL && i < n->nlabels; i++)
		if (n->label_keys[i] != NULL)
			json_object_object_add(labels, n->label_keys[i],
					       json_object_new_string(n->label_values[i] ? n->label_values[i] : ""));
	json_object_object_add(o, "labels", labels);
	events = json_object_new_array();
	for (size_t i = 0; events != NULL && i < n->nevents; i++) {
		struct json_object *e = w->host->event_to_json(n->events[i]);

		if (e != NULL)
			json_object_array_add(events, e);
	}
	json_object_object_add(o, "events", events);
	if (labels == NULL || events == NULL) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Idempotency-Key: the outbox entry when the core gives one (the same over
 * retries and restarts); else the event id, or the group and sequence. */
static void idempotency_key(const rfx_record *rec, char *out, size_t len)
{
	uint8_t d[WEBHOOK_SHA256_LEN];
	char hx[2 * WEBHOOK_SHA256_LEN + 1];
	const rfx_notice *n = rec->u.notice;

	if (rec->delivery != NULL) {
		snprintf(out, len, "rfx-%" PRIu64, rec->delivery->id);
	} else if (rec->type == RFX_REC_EVENT) {
		snprintf(out, len, "rfx-%s", rec->u.event->id);
	} else {
		webhook_hmac_sha256("reflex", 6, n->group_key, n->group_key ? strlen(n->group_key) : 0, d);
		hex(d, 8, hx);
		snprintf(out, len, "rfx-%s-%" PRIu64, hx, n->sequence);
	}
}

static rfx_result wh_handle(void *state, const rfx_record *rec)
{
	struct wh_out *w = state;
	const struct wh_config *cfg = w->cfg;
	struct json_object *obj = NULL;
	struct rfx_outhttp_response resp = {0};
	const char *body = NULL, **hdrs = NULL;
	size_t blen = 0, nh = 0;
	char ctype[300], idem[128], sig[400], msg[256];
	struct rfx_otpl_buf buf = {0}; /* per call: handle() runs concurrently */
	bool trunc = false;
	rfx_result res = RFX_FAIL;
	int rc;

	if (rec->type == RFX_REC_EVENT && rec->u.event == NULL)
		return RFX_DROP;
	if (rec->type == RFX_REC_NOTICE && rec->u.notice == NULL)
		return RFX_DROP;
	if (rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE)
		return RFX_DROP;

	if (w->body != NULL) {
		rc = rfx_otpl_render(w->body, rec->type == RFX_REC_EVENT ? rec->u.event : NULL,
				     rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL, &buf,
				     &trunc);
		if (rc != 0) {
			snprintf(msg, sizeof msg, "out of memory rendering the body");
			res = RFX_RETRY;
			goto out;
		}
		if (trunc) {
			/* a cut JSON or form body would be rejected or misread */
			snprintf(msg, sizeof msg, "the rendered body exceeds max_body (%" PRIu64 " bytes)",
				 cfg->max_body);
			goto out;
		}
		body = buf.data;
		blen = buf.len;
	} else {
		obj = rec->type == RFX_REC_EVENT ? w->host->event_to_json(rec->u.event)
						 : notice_json(w, rec->u.notice);
		if (obj == NULL) {
			snprintf(msg, sizeof msg, "out of memory rendering the JSON body");
			res = RFX_RETRY;
			goto out;
		}
		body = json_object_to_json_string_length(obj, WH_JSON_FLAGS, &blen);
		if (blen > cfg->max_body) {
			snprintf(msg, sizeof msg, "the JSON body of %zu bytes exceeds max_body (%" PRIu64 ")",
				 blen, cfg->max_body);
			goto out;
		}
	}

	hdrs = calloc(w->nheaders + 4, sizeof *hdrs);
	if (hdrs == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		res = RFX_RETRY;
		goto out;
	}
	snprintf(ctype, sizeof ctype, "Content-Type: %s", cfg->content_type);
	hdrs[nh++] = ctype;
	idempotency_key(rec, idem + 17, sizeof idem - 17);
	memcpy(idem, "Idempotency-Key: ", 17);
	hdrs[nh++] = idem;
	if (cfg->hmac_secret != NULL && cfg->hmac_secret[0] != '\0') {
		uint8_t d[WEBHOOK_SHA256_LEN];
		char hx[2 * WEBHOOK_SHA256_LEN + 1];

		webhook_hmac_sha256(cfg->hmac_secret, strlen(cfg->hmac_secret), body, blen, d);
		hex(d, sizeof d, hx);
		snprintf(sig, sizeof sig, "%s: sha256=%s", cfg->signature_header, hx);
		hdrs[nh++] = sig;
	}
	for (size_t i = 0; i < w->nheaders; i++)
		hdrs[nh++] = w->headers[i];
	hdrs[nh] = NULL;

	rc = rfx_outhttp_request(w->http, wh_methods[cfg->method], NULL, hdrs, body, blen, &resp);
	res = rfx_outhttp_result(w->http, rc, &resp, rec->delivery, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		w->host->metric_add(w->sent, 1);
	} else {
		if (res == RFX_RETRY)
			w->host->metric_add(w->retried, 1);
		else
			w->host->metric_add(w->failed, 1);
		rfx_outhttp_delivery_set(rec->delivery,
					 res == RFX_RETRY ? resp.retry_after_ms : 0, msg);
		w->host->log(w->inst, RFX_LOG_WARNING, "%s %s: %s (%s)", wh_methods[cfg->method],
			     w->shown_url, msg, res == RFX_RETRY ? "will retry" : "not retried");
	}
	rfx_outhttp_response_free(&resp);
	rfx_otpl_buf_free(&buf);
	free(hdrs);
	json_object_put(obj);
	return res;
}

/* Header names are HTTP tokens; values one line. */
static int check_header(const char *k, const char *v, char *err, size_t errlen)
{
	if (k[0] == '\0' || strlen(k) > 100) {
		snprintf(err, errlen, "headers: a header name must be 1 to 100 characters");
		return RFX_EINVAL;
	}
	for (const char *p = k; *p; p++) {
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
			snprintf(err, errlen, "headers: '%s' is not a valid header name", k);
			return RFX_EINVAL;
		}
	}
	if (strcasecmp(k, "Content-Type") == 0 || strcasecmp(k, "Content-Length") == 0 ||
	    strcasecmp(k, "Idempotency-Key") == 0) {
		snprintf(err, errlen, "headers: '%s' is set by the output (use content_type for "
			 "Content-Type)", k);
		return RFX_EINVAL;
	}
	if (strpbrk(v, "\r\n") != NULL || strlen(v) > 4096) {
		snprintf(err, errlen, "headers: the value of '%s' must be one line of at most 4096 "
			 "bytes", k);
		return RFX_EINVAL;
	}
	return 0;
}

static bool secret_name(const char *k)
{
	static const char *const words[] = {"auth", "token", "key", "secret", "cookie", "sign",
					    "pass", NULL};

	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasestr(k, words[i]) != NULL)
			return true;
	return false;
}

static void wh_destroy(void *state)
{
	struct wh_out *w = state;

	if (w == NULL)
		return;
	rfx_outhttp_free(w->http);
	rfx_otpl_free(w->body);
	for (size_t i = 0; i < w->nheaders; i++)
		free(w->headers[i]);
	free(w->headers);
	rfx_otpl_buf_free(&w->buf);
	free(w);
}

static int wh_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct wh_config *cfg = config;
	struct wh_out *w;
	const char *q;
	int rc = RFX_EINVAL;

	w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	w->inst = inst;
	w->host = host;
	w->cfg = cfg;
	if (cfg->headers.n > WH_MAX_HEADERS) {
		snprintf(err, errlen, "headers: at most %d", WH_MAX_HEADERS);
		goto fail;
	}
	if (cfg->body != NULL) {
		rfx_otpl_escape esc;
		struct rfx_otpl_error e;
		char where[200];

		switch (cfg->escape) {
		case WH_ESC_NONE: esc = RFX_OTPL_ESC_NONE; break;
		case WH_ESC_JSON: esc = RFX_OTPL_ESC_JSON; break;
		case WH_ESC_HTML: esc = RFX_OTPL_ESC_HTML; break;
		default:
			esc = strcasestr(cfg->content_type, "json") ? RFX_OTPL_ESC_JSON
			      : strcasestr(cfg->content_type, "html") ? RFX_OTPL_ESC_HTML
								       : RFX_OTPL_ESC_NONE;
		}
		w->body = rfx_otpl_compile(cfg->body, esc, cfg->max_body, &e);
		if (w->body == NULL) {
			rfx_otpl_error_format(&e, where, sizeof where);
			snprintf(err, errlen, "body: template %s", where);
			goto fail;
		}
	}
	if (strpbrk(cfg->content_type, "\r\n") != NULL ||
	    strpbrk(cfg->signature_header, "\r\n: ") != NULL || cfg->signature_header[0] == '\0') {
		snprintf(err, errlen, "content_type and signature_header must be one line (and a "
			 "header name)");
		goto fail;
	}
	w->headers = calloc(cfg->headers.n + 1, sizeof *w->headers);
	if (w->headers == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->headers.n; i++) {
		if ((rc = check_header(cfg->headers.keys[i], cfg->headers.values[i], err, errlen)) != 0)
			goto fail;
		if (asprintf(&w->headers[i], "%s: %s", cfg->headers.keys[i],
			     cfg->headers.values[i]) < 0) {
			w->headers[i] = NULL;
			rc = RFX_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		w->nheaders++;
	}
	w->http = rfx_outhttp_new(&cfg->http, host, inst, err, errlen);
	if (w->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	/* what may carry a credential never reaches a log or an error */
	rfx_outhttp_secret(w->http, cfg->hmac_secret);
	q = strchr(cfg->http.url, '?');
	if (q != NULL)
		rfx_outhttp_secret(w->http, q + 1);
	for (size_t i = 0; i < cfg->headers.n; i++)
		if (secret_name(cfg->headers.keys[i]))
			rfx_outhttp_secret(w->http, cfg->headers.values[i]);
	rfx_outhttp_url_for_log(cfg->http.url, w->shown_url, sizeof w->shown_url);

	w->sent = host->counter(inst, "sent_total", "Requests the receiver accepted (2xx)");
	w->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	w->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (w->sent == NULL || w->failed == NULL || w->retried == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = w;
	return 0;
fail:
	wh_destroy(w);
	return rc;
}

static const rfx_option wh_options[] = {
	RFX_OUTHTTP_OPTIONS(struct wh_config, http, NULL, RFX_OPT_REQUIRED),
	{
		.name = "method",
		.type = RFX_OPT_ENUM,
		.default_value = "POST",
		.enum_values = wh_methods,
		.description = "HTTP method.",
		.offset = offsetof(struct wh_config, method),
	},
	{
		.name = "body",
		.type = RFX_OPT_STRING,
		.description = "Template of the request body (docs/output-templates.md). Unset: "
			       "the event's JSON, or for a notice a JSON document of the group.",
		.offset = offsetof(struct wh_config, body),
	},
	{
		.name = "content_type",
		.type = RFX_OPT_STRING,
		.default_value = "application/json",
		.description = "Content-Type of the body.",
		.offset = offsetof(struct wh_config, content_type),
	},
	{
		.name = "escape",
		.type = RFX_OPT_ENUM,
		.default_value = "auto",
		.enum_values = wh_escapes,
		.description = "How values are escaped in the body template. auto: json when "
			       "content_type mentions json, html for html, else none.",
		.offset = offsetof(struct wh_config, escape),
	},
	{
		.name = "headers",
		.type = RFX_OPT_MAP,
		.description = "Extra request headers, name: value. Values of headers whose name "
			       "mentions auth, token, key, secret, sign, pass or cookie are kept "
			       "out of logs.",
		.offset = offsetof(struct wh_config, headers),
	},
	{
		.name = "hmac_secret",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Sign each body with HMAC-SHA256 under this key, sent as "
			       "signature_header: sha256=<hex>.",
		.offset = offsetof(struct wh_config, hmac_secret),
	},
	{
		.name = "signature_header",
		.type = RFX_OPT_STRING,
		.default_value = "X-Reflex-Signature",
		.description = "Header carrying the HMAC signature.",
		.offset = offsetof(struct wh_config, signature_header),
	},
	{
		.name = "max_body",
		.type = RFX_OPT_SIZE,
		.default_value = "1MiB",
		.flags = RFX_OPT_RANGE,
		.min = 64,
		.max = 67108864,
		.description = "Bound on a request body; a larger one fails (FAIL), never cut.",
		.offset = offsetof(struct wh_config, max_body),
	},
	RFX_OPTION_END,
};

static const rfx_plugin wh_plugin = {
	RFX_PLUGIN_ABI,
	.name = "webhook",
	.version = "1.0.0",
	.description = "POSTs events or notices (JSON or a template) to an HTTP endpoint.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = RFX_CAP_CONCURRENT, /* per-call buffers; the HTTP client is a locked pool */
	.options = wh_options,
	.config_size = sizeof(struct wh_config),
	.init = wh_init,
	.handle = wh_handle,
	.destroy = wh_destroy,
};

RFX_PLUGIN_DEFINE(wh_plugin)
