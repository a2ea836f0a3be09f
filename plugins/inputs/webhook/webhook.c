/*
 * plugins/inputs/webhook/webhook.c - the webhook input: an HTTP POST route on
 * the core's API server that turns JSON bodies into events.
 *
 * A request is answered 202 only once every event it carried is durable
 * (host->ack_wait), so a sender that sees 2xx may forget the alert. Requests
 * are all-or-nothing: one invalid element rejects the whole body and nothing
 * is emitted. The body format is chosen per instance (`format`); each format
 * is one decode function in webhook_formats[], so Alertmanager, Zabbix and
 * friends can be added without touching the request handling.
 *
 * Handlers run on the HTTP server's connection threads, concurrently; the
 * state is read-only after init() and the metrics are atomic, so no locks.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hmac_sha256.h"
#include "webhook.h"

/* configure accepts json-c >= 0.13; these arrived in 0.15. */
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
#define WEBHOOK_TOKENER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define webhook_parse_end(tok) json_tokener_get_parse_end(tok)
#else
#define WEBHOOK_TOKENER_FLAGS JSON_TOKENER_STRICT
#define webhook_parse_end(tok) ((size_t)(tok)->char_offset)
#endif

/* Indexed by the `format` enum (webhook_format_names, same order). */
const struct webhook_format webhook_formats[] = {
	{"json", webhook_decode_json, false},
	{"alertmanager", webhook_decode_alertmanager, false},
	{"zabbix", webhook_decode_zabbix, false},
	{"nagios", webhook_decode_nagios, true},
	{"grafana", webhook_decode_grafana, false},
	{NULL, NULL, false},
};
static const char *const webhook_format_names[] = {"json", "alertmanager", "zabbix", "nagios",
						    "grafana", NULL};

void webhook_unref_all(struct webhook *w, rfx_event **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->host->event_unref(evs[i]);
}

const char *webhook_type_name(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "a value";
}

/* Sets the element's JSON text as the event's raw payload. */
int webhook_set_raw(struct webhook *w, rfx_event *ev, struct json_object *elem)
{
	const char *raw = json_object_to_json_string_ext(elem, WEBHOOK_JSON_FLAGS);

	if (raw == NULL)
		return RFX_ENOMEM;
	return w->host->event_set(ev, RFX_F_RAW, raw);
}

/* True when the Content-Type names `want`, with or without parameters
 * ("application/json; charset=utf-8"), in any case. */
static bool webhook_is_type(const char *ct, const char *want)
{
	size_t wl = strlen(want);

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, wl) != 0)
		return false;
	ct += wl;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one application/x-www-form-urlencoded component into a new
 * string ('+' is a space, %XX a byte). NULL on a bad escape or no memory. */
static char *form_decode(const char *p, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '+') {
			*o++ = ' ';
		} else if (p[i] == '%') {
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)p[i + 1]), l = hexval((unsigned char)p[i + 2]);
			if (h < 0 || l < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	return out;
}

/*
 * Parses a form body (k=v&k2=v2) into a JSON object of strings, for formats
 * whose senders post forms (Nagios notification commands with curl
 * --data-urlencode). A repeated key keeps its last value. Returns the object
 * or NULL with resp filled.
 */
static struct json_object *webhook_parse_form(struct webhook *w, const char *body, size_t len,
					      rfx_http_response *resp)
{
	struct json_object *obj = json_object_new_object();
	size_t i = 0;

	if (obj == NULL) {
		w->host->http_error(resp, 500, "internal", "out of memory");
		return NULL;
	}
	while (i < len) {
		size_t amp = i;
		while (amp < len && body[amp] != '&')
			amp++;
		size_t eq = i;
		while (eq < amp && body[eq] != '=')
			eq++;
		if (amp > i) {
			char *k = form_decode(body + i, eq - i);
			char *v = eq < amp ? form_decode(body + eq + 1, amp - eq - 1) : strdup("");
			if (k == NULL || v == NULL || !*k) {
				free(k);
				free(v);
				json_object_put(obj);
				w->host->http_error(resp, 400, "invalid_form",
						    "invalid form data at byte %zu: a bad %%-escape "
						    "or an empty name", i);
				return NULL;
			}
			json_object_object_add(obj, k, json_object_new_string(v));
			free(k);
			free(v);
		}
		i = amp + 1;
	}
	if (json_object_object_length(obj) == 0) {
		json_object_put(obj);
		w->host->http_error(resp, 400, "invalid_form", "the form body is empty");
		return NULL;
	}
	return obj;
}

/*
 * Parses the whole body as one JSON value. Returns the value (one json-c
 * reference) or NULL with resp filled.
 */
static struct json_object *webhook_parse_body(struct webhook *w, const char *body, size_t len,
					      rfx_http_response *resp)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end, i;

	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		w->host->http_error(resp, 400, "invalid_json",
				    "the request body is empty; send a JSON event object "
				    "or an array of them");
		return NULL;
	}
	if (len > (size_t)INT32_MAX) { /* json_tokener_parse_ex takes an int */
		w->host->http_error(resp, 413, "payload_too_large", "the request body is too large");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		w->host->http_error(resp, 500, "internal", "out of memory");
		return NULL;
	}
	/* Strict: a webhook body is JSON, not json-c's lenient dialect. */
	json_tokener_set_flags(tok, WEBHOOK_TOKENER_FLAGS);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root == NULL && jerr == json_tokener_continue) {
		/* The tokener waits for more input; the terminating NUL tells it
		 * there is none, which completes a bare top-level number and
		 * fails anything truly cut short. */
		root = json_tokener_parse_ex(tok, "", 1);
		if (root == NULL) {
			w->host->http_error(resp, 400, "invalid_json",
					    "invalid JSON at byte %zu: unexpected end of input", len);
			goto out;
		}
		end = len;
	} else {
		end = webhook_parse_end(tok);
	}
	if (root == NULL) {
		w->host->http_error(resp, 400, "invalid_json", "invalid JSON at byte %zu: %s",
				    webhook_parse_end(tok), json_tokener_error_desc(jerr));
		goto out;
	}
	for (i = end; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i < len) {
		w->host->http_error(resp, 400, "invalid_json",
				    "invalid JSON at byte %zu: unexpected data after the JSON value", i);
		json_object_put(root);
		root = NULL;
	}
out:
	json_tokener_free(tok);
	return root;
}

/* ---- per-input authentication ------------------------------------------ */

/* Longest credential we look at; longer headers are refused unread. */
#define WEBHOOK_CRED_MAX 4096

/*
 * Compares a presented credential with the configured one in time that
 * depends on neither content nor length: both are hashed first, and the
 * digests compared without an early exit.
 */
static bool webhook_cred_equal(const void *got, size_t gotlen, const char *want)
{
	uint8_t a[WEBHOOK_SHA256_LEN], b[WEBHOOK_SHA256_LEN];
	struct webhook_sha256 s;
	unsigned diff = 0;

	webhook_sha256_init(&s);
	webhook_sha256_update(&s, got, gotlen);
	webhook_sha256_final(&s, a);
	webhook_sha256_init(&s);
	webhook_sha256_update(&s, want, strlen(want));
	webhook_sha256_final(&s, b);
	for (size_t i = 0; i < sizeof a; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard base64 (RFC 4648, padding optional) of len bytes into
 * out (at least len * 3 / 4 + 1 bytes), NUL-terminated. Returns the decoded
 * length or -1 on a character outside the alphabet or a dangling bit group.
 */
static long webhook_b64_decode(const char *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	long o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6) /* one lone character cannot encode a byte */
		return -1;
	out[o] = '\0';
	return o;
}

/* The credentials after "SCHEME " in the Authorization header, trimmed, or
 * NULL when the header is absent, uses another scheme or is too long. */
static const char *webhook_auth_param(const char *auth, const char *scheme, size_t *len)
{
	size_t sl = strlen(scheme), n;

	if (auth == NULL || strncasecmp(auth, scheme, sl) != 0 || (auth[sl] != ' ' && auth[sl] != '\t'))
		return NULL;
	auth += sl;
	while (*auth == ' ' || *auth == '\t')
		auth++;
	n = strlen(auth);
	while (n > 0 && (auth[n - 1] == ' ' || auth[n - 1] == '\t'))
		n--;
	if (n == 0 || n > WEBHOOK_CRED_MAX)
		return NULL;
	*len = n;
	return auth;
}

static bool webhook_auth_bearer(const struct webhook_auth_config *a, const char *hdr)
{
	size_t len;
	const char *tok = webhook_auth_param(hdr, "Bearer", &len);

	return tok != NULL && webhook_cred_equal(tok, len, a->token);
}

static bool webhook_auth_basic(const struct webhook_auth_config *a, const char *hdr)
{
	char dec[WEBHOOK_CRED_MAX * 3 / 4 + 1];
	size_t len;
	const char *b64 = webhook_auth_param(hdr, "Basic", &len);
	long n;
	char *colon;
	bool user_ok, pass_ok;

	if (b64 == NULL || (n = webhook_b64_decode(b64, len, dec)) < 0)
		return false;
	colon = memchr(dec, ':', (size_t)n);
	if (colon == NULL)
		return false;
	/* Both are always compared so the time says nothing about which one
	 * was wrong. */
	user_ok = webhook_cred_equal(dec, (size_t)(colon - dec), a->username);
	pass_ok = webhook_cred_equal(colon + 1, (size_t)(dec + n - colon - 1), a->password);
	memset(dec, 0, sizeof dec);
	return user_ok & pass_ok;
}

/* The signature header holds lowercase or uppercase hex of HMAC-SHA256(secret,
 * body), optionally after "sha256=" (the GitHub convention). */
static bool webhook_auth_hmac(const struct webhook_auth_config *a, const char *sig,
			      const char *body, size_t len)
{
	uint8_t mac[WEBHOOK_SHA256_LEN], got[WEBHOOK_SHA256_LEN];
	unsigned diff = 0;

	if (sig == NULL)
		return false;
	while (*sig == ' ' || *sig == '\t')
		sig++;
	if (strncasecmp(sig, "sha256=", 7) == 0)
		sig += 7;
	for (size_t i = 0; i < sizeof got; i++) {
		int h = hexval((unsigned char)sig[2 * i]);
		int l = h < 0 ? -1 : hexval((unsigned char)sig[2 * i + 1]);
		if (h < 0 || l < 0)
			return false;
		got[i] = (uint8_t)(h * 16 + l);
	}
	for (size_t i = 2 * sizeof got; sig[i] != '\0'; i++)
		if (sig[i] != ' ' && sig[i] != '\t')
			return false;
	webhook_hmac_sha256(a->secret, strlen(a->secret), body, len, mac);
	for (size_t i = 0; i < sizeof mac; i++)
		diff |= mac[i] ^ got[i];
	return diff == 0;
}

/*
 * Checks the request against the instance's `auth` before anything of the
 * body is parsed. true: go on; false: resp holds the 401. With type none
 * the core already checked the API's tokens (the route needs operator).
 *
 * The 401 carries the challenge of the configured scheme (ABI 1.1's
 * www_authenticate): Bearer, Basic, or none for hmac, which has no
 * standard challenge.
 */
static bool webhook_authorized(struct webhook *w, const rfx_http_request *req, const char *body,
			       size_t len, rfx_http_response *resp)
{
	const struct webhook_auth_config *a = &w->cfg->auth;
	const rfx_host *host = w->host;
	const char *hdr;

	switch (a->type) {
	case WEBHOOK_AUTH_BEARER:
		hdr = host->http_header(req, "Authorization");
		if (webhook_auth_bearer(a, hdr))
			return true;
		host->http_error(resp, 401, "unauthorized", "%s",
				 hdr == NULL ? "missing 'Authorization: Bearer TOKEN' header"
					     : "wrong or malformed bearer token for this webhook");
		return false;
	case WEBHOOK_AUTH_BASIC:
		hdr = host->http_header(req, "Authorization");
		if (webhook_auth_basic(a, hdr))
			return true;
		host->http_error(resp, 401, "unauthorized", "%s",
				 hdr == NULL ? "missing 'Authorization: Basic ...' header"
					     : "wrong or malformed basic credentials for this webhook");
		resp->www_authenticate = "Basic realm=\"reflex\"";
		return false;
	case WEBHOOK_AUTH_HMAC:
		hdr = host->http_header(req, a->header);
		if (webhook_auth_hmac(a, hdr, body, len))
			return true;
		if (hdr == NULL)
			host->http_error(resp, 401, "unauthorized",
					 "missing signature header '%s' (hex HMAC-SHA256 of the body)",
					 a->header);
		else
			host->http_error(resp, 401, "unauthorized",
					 "the signature in '%s' does not match the body", a->header);
		resp->www_authenticate = "";
		return false;
	default:
		return true;
	}
}

/* init-time check of the `auth` section: every type needs its secrets. */
static int webhook_auth_validate(const struct webhook_auth_config *a, char *err, size_t errlen)
{
	switch (a->type) {
	case WEBHOOK_AUTH_NONE:
		return 0;
	case WEBHOOK_AUTH_BEARER:
		if (a->token == NULL || a->token[0] == '\0') {
			snprintf(err, errlen, "auth: type bearer needs 'token' (the token senders "
					      "present as 'Authorization: Bearer TOKEN')");
			return RFX_EINVAL;
		}
		return 0;
	case WEBHOOK_AUTH_BASIC:
		if (a->username == NULL || a->username[0] == '\0' || a->password == NULL ||
		    a->password[0] == '\0') {
			snprintf(err, errlen, "auth: type basic needs both 'username' and "
					      "'password'");
			return RFX_EINVAL;
		}
		if (strchr(a->username, ':') != NULL) {
			snprintf(err, errlen, "auth: username must not contain ':' (basic "
					      "credentials are user:password)");
			return RFX_EINVAL;
		}
		return 0;
	case WEBHOOK_AUTH_HMAC:
		if (a->secret == NULL || a->secret[0] == '\0') {
			snprintf(err, errlen, "auth: type hmac needs 'secret' (the key of the "
					      "HMAC-SHA256 over the body)");
			return RFX_EINVAL;
		}
		if (a->header == NULL || a->header[0] == '\0') {
			snprintf(err, errlen, "auth: type hmac needs 'header' (the header that "
					      "carries the signature)");
			return RFX_EINVAL;
		}
		return 0;
	default:
		snprintf(err, errlen, "auth: unknown type index %d", a->type);
		return RFX_EINVAL;
	}
}

/* 202 body: {"accepted":N,"ids":[...]}. Returns 0 or -1 (out of memory). */
static int webhook_accepted(rfx_event **refs, size_t n, rfx_http_response *resp)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	const char *text;
	size_t len;
	int rc = -1;

	if (obj == NULL || ids == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct json_object *id = json_object_new_string(refs[i]->id);

		if (id == NULL || json_object_array_add(ids, id) != 0) {
			json_object_put(id);
			goto out;
		}
	}
	if (json_object_object_add(obj, "accepted", json_object_new_int64((int64_t)n)) != 0)
		goto out;
	if (json_object_object_add(obj, "ids", ids) != 0)
		goto out;
	ids = NULL; /* owned by obj now */
	text = json_object_to_json_string_length(obj, WEBHOOK_JSON_FLAGS, &len);
	if (text == NULL)
		goto out;
	resp->body = malloc(len + 1);
	if (resp->body == NULL)
		goto out;
	memcpy(resp->body, text, len + 1);
	resp->body_len = len;
	resp->content_type = "application/json";
	resp->status = 202;
	rc = 0;
out:
	json_object_put(ids);
	json_object_put(obj);
	return rc;
}

/*
 * Hands the events to the pipeline and waits until they are durable.
 * Consumes evs[0..n) (the core owns them after emit) and fills resp.
 */
static void webhook_deliver(struct webhook *w, rfx_event **evs, size_t n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	rfx_event **refs = NULL;
	rfx_ack *ack = NULL;
	int rc;

	/* Our own references: emit gives the events away, but we still need
	 * the ids it assigns for the response. */
	refs = calloc(n, sizeof *refs);
	ack = host->ack_new();
	if (refs == NULL || ack == NULL) {
		webhook_unref_all(w, evs, n);
		free(refs);
		refs = NULL; /* holds no references yet */
		host->http_error(resp, 500, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = host->event_ref(evs[i]);

	rc = host->emit(w->inst, evs, n, ack);
	if (rc == RFX_EFULL) {
		host->http_error(resp, 503, "queue_full", "ingress queue is full; retry later");
		resp->retry_after = 1;
		goto out;
	}
	if (rc == RFX_ESTOPPED) {
		host->http_error(resp, 503, "shutting_down",
				 "the agent is shutting down; retry against another agent or later");
		resp->retry_after = 1;
		goto out;
	}
	if (rc != 0) {
		host->http_error(resp, 500, "internal", "the events could not be queued (%d)",
				 rc);
		goto out;
	}

	rc = host->ack_wait(ack, w->cfg->ack_timeout_ms);
	if (rc == 0) {
		if (webhook_accepted(refs, n, resp) != 0)
			host->http_error(resp, 500, "internal",
					 "out of memory; the events were stored");
		else
			host->metric_add(w->events, (double)n);
	} else if (rc == RFX_ETIMEDOUT) {
		host->http_error(resp, 503, "timeout",
				 "the events were not confirmed as stored within %lld ms; they "
				 "may still be stored, so a retry can create duplicates",
				 (long long)w->cfg->ack_timeout_ms);
		resp->retry_after = 1;
	} else {
		host->http_error(resp, 503, "store_unavailable",
				 "the events could not be stored; retry later");
		resp->retry_after = 1;
	}
out:
	if (refs != NULL)
		webhook_unref_all(w, refs, n);
	free(refs);
	if (ack != NULL)
		host->ack_free(ack);
}

static void webhook_handle_request(void *arg, const rfx_http_request *req,
				   rfx_http_response *resp)
{
	struct webhook *w = arg;
	const rfx_host *host = w->host;
	struct json_object *root = NULL;
	rfx_event **evs = NULL;
	const char *body, *ct;
	size_t len = 0, n = 0;

	host->metric_add(w->requests, 1);

	const struct webhook_format *fmt = &webhook_formats[w->cfg->format];
	ct = host->http_header(req, "Content-Type");
	body = host->http_body(req, &len);
	if (body == NULL)
		len = 0;
	if (!webhook_authorized(w, req, body, len, resp))
		goto out;
	if (webhook_is_type(ct, "application/json")) {
		root = webhook_parse_body(w, body, len, resp);
	} else if (fmt->accepts_form && webhook_is_type(ct, "application/x-www-form-urlencoded")) {
		root = webhook_parse_form(w, body, len, resp);
	} else {
		host->http_error(resp, 415, "unsupported_media_type",
				 "Content-Type must be application/json%s, got '%s'",
				 fmt->accepts_form ? " or application/x-www-form-urlencoded" : "",
				 ct != NULL ? ct : "(none)");
		goto out;
	}
	if (root == NULL)
		goto out;
	if (webhook_formats[w->cfg->format].decode(w, root, &evs, &n, resp) != 0)
		goto out;
	webhook_deliver(w, evs, n, resp);
out:
	if (resp->status < 200 || resp->status >= 300)
		host->metric_add(w->rejected, 1);
	free(evs);
	json_object_put(root);
}

static int webhook_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
			char *err, size_t errlen)
{
	const struct webhook_config *cfg = config;
	struct webhook *w = NULL;
	int rc;

	if (cfg->path == NULL || cfg->path[0] != '/') {
		snprintf(err, errlen, "path: '%s' must be an absolute URL path starting with '/'",
			 cfg->path != NULL ? cfg->path : "");
		return RFX_EINVAL;
	}
	if (cfg->max_events < 1) {
		snprintf(err, errlen, "max_events: must be at least 1");
		return RFX_EINVAL;
	}
	if (cfg->ack_timeout_ms <= 0) {
		snprintf(err, errlen, "ack_timeout: must be greater than 0");
		return RFX_EINVAL;
	}
	if (cfg->format < 0 || (size_t)cfg->format >= sizeof webhook_format_names /
							       sizeof webhook_format_names[0] - 1) {
		snprintf(err, errlen, "format: unknown format index %d", cfg->format);
		return RFX_EINVAL;
	}
	rc = webhook_auth_validate(&cfg->auth, err, errlen);
	if (rc != 0)
		return rc;
	rc = webhook_mapping_validate(host, cfg, err, errlen);
	if (rc != 0)
		return rc;

	w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	w->inst = inst;
	w->host = host;
	w->cfg = cfg;
	w->requests = host->counter(inst, "requests_total", "Webhook requests received");
	w->rejected = host->counter(inst, "rejected_total",
				    "Webhook requests answered with an error status");
	w->events = host->counter(inst, "events_total",
				  "Events accepted (stored) through the webhook");
	if (w->requests == NULL || w->rejected == NULL || w->events == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		rc = RFX_ENOMEM;
		goto fail;
	}
	/* With auth of its own the route bypasses the API's tokens: senders such
	 * as Grafana or Nagios hold only the webhook's credential. */
	rc = host->http_route(inst, "POST", cfg->path,
			      cfg->auth.type == WEBHOOK_AUTH_NONE ? RFX_ROLE_OPERATOR : RFX_ROLE_NONE,
			      webhook_handle_request, w);
	if (rc != 0) {
		snprintf(err, errlen,
			 "path: cannot register POST %s (already used by another route, or the "
			 "API server is disabled)",
			 cfg->path);
		goto fail;
	}
	*state = w;
	return 0;
fail:
	free(w);
	return rc;
}

static void webhook_destroy(void *state)
{
	free(state);
}

static const char *const webhook_auth_types[] = {"none", "bearer", "basic", "hmac", NULL};

static const rfx_option webhook_auth_options[] = {
	{"type", RFX_OPT_ENUM, "none", 0, 0, 0, webhook_auth_types,
	 "none, bearer (Authorization: Bearer TOKEN), basic (user and password), or hmac "
	 "(HMAC-SHA256 of the raw body, hex, in `header`)",
	 offsetof(struct webhook_auth_config, type), NULL},
	{"token", RFX_OPT_STRING, NULL, RFX_OPT_SECRET, 0, 0, NULL,
	 "bearer: the token senders present", offsetof(struct webhook_auth_config, token), NULL},
	{"username", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "basic: user name",
	 offsetof(struct webhook_auth_config, username), NULL},
	{"password", RFX_OPT_STRING, NULL, RFX_OPT_SECRET, 0, 0, NULL, "basic: password",
	 offsetof(struct webhook_auth_config, password), NULL},
	{"secret", RFX_OPT_STRING, NULL, RFX_OPT_SECRET, 0, 0, NULL,
	 "hmac: the shared key", offsetof(struct webhook_auth_config, secret), NULL},
	{"header", RFX_OPT_STRING, "X-Reflex-Signature", 0, 0, 0, NULL,
	 "hmac: the header with the hex signature (an optional 'sha256=' prefix is accepted)",
	 offsetof(struct webhook_auth_config, header), NULL},
	RFX_OPTION_END,
};

static const rfx_option webhook_options[] = {
	{
		.name = "path",
		.type = RFX_OPT_STRING,
		.default_value = "/api/v1/events/webhook",
		.description = "URL path of the POST route on the agent's API server. Exact "
			       "match; must start with '/' and be unique among all routes.",
		.offset = offsetof(struct webhook_config, path),
	},
	{
		.name = "max_events",
		.type = RFX_OPT_INT,
		.default_value = "10000",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 1000000,
		.description = "Most events one request may carry; a larger array is refused "
			       "with 413 too_many_events. The API's max body size also applies.",
		.offset = offsetof(struct webhook_config, max_events),
	},
	{
		.name = "ack_timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "30s",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 3600000,
		.description = "How long a request waits for its events to be durable in the "
			       "store before it is answered 503 timeout (the events may still be "
			       "stored later).",
		.offset = offsetof(struct webhook_config, ack_timeout_ms),
	},
	{
		.name = "format",
		.type = RFX_OPT_ENUM,
		.default_value = "json",
		.enum_values = webhook_format_names,
		.description = "Body format. json: the generic event form (docs/events.md), or "
			       "any JSON through `mapping`; alertmanager, zabbix, nagios, grafana: "
			       "that tool's own webhook (docs/inputs/NAME.md).",
		.offset = offsetof(struct webhook_config, format),
	},
	{
		.name = "auth",
		.type = RFX_OPT_SECTION,
		.description = "Authentication of this input's senders, checked instead of the "
			       "API's tokens: none (the API's operator token applies), bearer, "
			       "basic, or hmac (a signature header over the body).",
		.offset = offsetof(struct webhook_config, auth),
		.sub = webhook_auth_options,
	},
	{
		.name = "host_label",
		.type = RFX_OPT_STRING,
		.default_value = "instance",
		.description = "alertmanager: the label that names the host.",
		.offset = offsetof(struct webhook_config, host_label),
	},
	{
		.name = "strip_port",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "alertmanager: drop a ':port' suffix from the host label "
			       "(db1:9100 -> db1).",
		.offset = offsetof(struct webhook_config, strip_port),
	},
	{
		.name = "severity_label",
		.type = RFX_OPT_STRING,
		.default_value = "severity",
		.description = "alertmanager, grafana: the label that carries the severity.",
		.offset = offsetof(struct webhook_config, severity_label),
	},
	{
		.name = "severity_map",
		.type = RFX_OPT_MAP,
		.description = "Source severities to reflex severities, e.g. { page: critical, "
			       "ticket: warning }; added to and overriding the format's defaults.",
		.offset = offsetof(struct webhook_config, severity_map),
	},
	{
		.name = "mapping",
		.type = RFX_OPT_MAP,
		.description = "json-mapped: event field -> JSON pointer into each element, e.g. "
			       "{ host: /node/name, check: /rule, severity: /level, message: /text }.",
		.offset = offsetof(struct webhook_config, mapping),
	},
	RFX_OPTION_END,
};

static const rfx_plugin webhook_plugin = {
	RFX_PLUGIN_ABI,
	.name = "webhook",
	.version = "1.0.0",
	.description = "Receives events as JSON over HTTP POST on the API server and answers "
		       "202 once they are durable.",
	.kind = RFX_KIND_INPUT,
	.accepts = 0,
	.emits = RFX_REC_EVENT,
	.caps = RFX_CAP_HTTP | RFX_CAP_DURABLE_ACK,
	.options = webhook_options,
	.config_size = sizeof(struct webhook_config),
	.init = webhook_init,
	.destroy = webhook_destroy,
};

RFX_PLUGIN_DEFINE(webhook_plugin)
