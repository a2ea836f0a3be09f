/*
 * plugins/itsm/remedy/remedy.c - the BMC Helix ITSM / Remedy plugin: keeps
 * one incident per problem through the AR System REST API. The first firing
 * event of a correlation key (fingerprint or notice group) creates an
 * incident through HPD:IncidentInterface_Create; later ones add work info
 * (HPD:WorkLog); the resolution sets it Resolved through
 * HPD:IncidentInterface.
 *
 * Authentication is a JWT from POST /api/jwt/login (user and password,
 * form-encoded), sent as "Authorization: AR-JWT <token>". The token is kept
 * in memory and renewed when a request answers 401 (it expires after an
 * hour), once per attempt.
 *
 * The incident number of a key is kept in the instance's kv state; before
 * each update the incident is read back (HPD:IncidentInterface by Incident
 * Number) for its Request ID and status, so one resolved or closed by hand
 * is not written to again.
 *
 * One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, strcasecmp */
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "../servicenow/itsm_common.h"

#define REM_SHORT_MAX 100   /* characters of Description (the summary) */
#define REM_TEXT_MAX 4000   /* characters of the long texts we send */
#define REM_RENDER_MAX 32768
#define REM_TOKEN_MAX 8192
#define REM_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#ifdef RFX_TEST_AS_OUTPUT
#define REM_KIND RFX_KIND_OUTPUT /* until the core wires itsm: instances */
#else
#define REM_KIND RFX_KIND_ITSM
#endif

struct rem_config {
	struct rfx_outhttp_config http;
	char *user;
	char *password;
	char *first_name;
	char *last_name;
	char *status;
	char *reported_source;
	char *service_type;
	char *status_reason;
	char *work_log_type;
	char *summary;
	char *description;
	char *work_log;
	char *resolution;
	struct rfx_strmap fields;
};

struct remedy {
	rfx_instance *inst;
	const rfx_host *host;
	const struct rem_config *cfg;
	struct rfx_outhttp_config hcfg;
	char *base;
	rfx_outhttp *http;
	char *token; /* the JWT; NULL until logged in. handle() is serial. */
	char shown[256];
	rfx_otpl *t_summary, *t_desc, *t_log, *t_res;
	struct rfx_otpl_buf b_summary, b_desc, b_log, b_res;
	rfx_metric *created, *updated, *resolved, *failed, *retried, *logins;
};

struct rem_inc {
	char number[64];      /* Incident Number, INC... */
	char request_id[128]; /* Request ID of the HPD:IncidentInterface entry */
};

static bool set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* AR System's error answer, a list of
 * {"messageType":"ERROR","messageText","messageAppendedText","messageNumber"}:
 * "messageText: messageAppendedText (ARERR n)". */
static void vendor_message(struct remedy *r, const struct rfx_outhttp_response *resp, char *out,
			   size_t len)
{
	struct json_object *o = resp->body != NULL ? json_tokener_parse(resp->body) : NULL, *m = NULL;

	out[0] = '\0';
	if (o != NULL && json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0)
		m = json_object_array_get_idx(o, 0);
	else if (o != NULL && json_object_is_type(o, json_type_object))
		m = o;
	if (m != NULL && jstr(m, "messageText") != NULL) {
		struct json_object *num;
		const char *app = jstr(m, "messageAppendedText");

		snprintf(out, len, "%s%s%s", jstr(m, "messageText"), set(app) ? ": " : "",
			 set(app) ? app : "");
		if (json_object_object_get_ex(m, "messageNumber", &num)) {
			size_t n = strlen(out);

			snprintf(out + n, len - n, " (ARERR %d)", json_object_get_int(num));
		}
		for (char *p = out; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		rfx_outhttp_redact(r->http, out, len);
	} else {
		rfx_outhttp_vendor_message(r->http, resp->body, resp->body_len, out, len);
	}
	json_object_put(o);
}

/* Maps a failed outcome onto RETRY/FAIL, filling msg and d. */
static rfx_result rem_fail(struct remedy *r, int rc, const struct rfx_outhttp_response *resp,
			   const char *what, rfx_delivery *d, char *msg, size_t msglen)
{
	char vendor[200];
	rfx_result res;

	if (rc != 0 || resp->status == 0) {
		if (snprintf(msg, msglen, "%s: %s", what, resp->error[0] ? resp->error : "no response") < 0)
			msg[0] = '\0'; /* a cut message is fine; the check quiets -Wformat-truncation */
		res = RFX_RETRY;
	} else {
		long st = resp->status;

		vendor_message(r, resp, vendor, sizeof vendor);
		res = st == 408 || st == 429 || st >= 500 ? RFX_RETRY : RFX_FAIL;
		snprintf(msg, msglen, "%s: HTTP %ld%s%s", what, st, vendor[0] ? ": " : "", vendor);
	}
	rfx_outhttp_redact(r->http, msg, msglen);
	rfx_outhttp_delivery_set(d, res == RFX_RETRY ? resp->retry_after_ms : 0, msg);
	return res;
}

/* POST /api/jwt/login: the answer's body is the token. */
static rfx_result rem_login(struct remedy *r, rfx_delivery *d, char *msg, size_t msglen)
{
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
			      "Accept: text/plain, application/json", NULL};
	char *url = NULL, *body = NULL, u[512], p[1024];
	rfx_result res = RFX_RETRY;
	int rc;

	free(r->token);
	r->token = NULL;
	if (rfx_itsm_pct_encode(r->cfg->user, u, sizeof u) != 0 ||
	    rfx_itsm_pct_encode(r->cfg->password, p, sizeof p) != 0) {
		snprintf(msg, msglen, "login: user or password too long");
		rfx_outhttp_delivery_set(d, 0, msg);
		return RFX_FAIL;
	}
	if (asprintf(&url, "%s/api/jwt/login", r->base) < 0 ||
	    asprintf(&body, "username=%s&password=%s", u, p) < 0) {
		snprintf(msg, msglen, "out of memory");
		rfx_outhttp_delivery_set(d, 0, msg);
		free(url);
		return RFX_RETRY;
	}
	rc = rfx_outhttp_request(r->http, "POST", url, hdrs, body, strlen(body), &resp);
	if (rc == 0 && resp.status == 200 && resp.body != NULL) {
		size_t a = 0, n = resp.body_len;

		while (a < n && isspace((unsigned char)resp.body[a]))
			a++;
		while (n > a && isspace((unsigned char)resp.body[n - 1]))
			n--;
		if (n > a && n - a < REM_TOKEN_MAX && memchr(resp.body + a, ' ', n - a) == NULL &&
		    memchr(resp.body + a, '\n', n - a) == NULL &&
		    (r->token = strndup(resp.body + a, n - a)) != NULL) {
			r->host->metric_add(r->logins, 1);
			res = RFX_OK;
		} else {
			snprintf(msg, msglen, "login: HTTP 200 without a token (is url the AR REST "
				 "API's base?)");
			rfx_outhttp_delivery_set(d, 0, msg);
		}
	} else {
		res = rem_fail(r, rc, &resp, "login", d, msg, msglen);
		if (resp.status == 401)
			strncat(msg, " (check user and password)", msglen - strlen(msg) - 1);
		rfx_outhttp_delivery_set(d, res == RFX_RETRY ? resp.retry_after_ms : 0, msg);
	}
	/* the password went out in this body: scrub our copy */
	memset(body, 0, strlen(body));
	memset(p, 0, sizeof p);
	free(body);
	free(url);
	rfx_outhttp_response_free(&resp);
	return res;
}

/*
 * One request with the JWT, logging in first when there is none and once
 * more when the token was refused (401: expired). On 2xx *out gets the JSON
 * answer (NULL when empty). Otherwise RETRY/FAIL with msg and d filled.
 */
static rfx_result rem_call(struct remedy *r, const char *method, const char *url,
			   struct json_object *body, const char *what, rfx_delivery *d,
			   struct json_object **out, char *msg, size_t msglen)
{
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[4] = {"Accept: application/json", NULL, NULL, NULL};
	const char *data = NULL;
	char *auth = NULL;
	size_t dlen = 0;
	bool fresh = false;
	rfx_result res;
	int rc;

	*out = NULL;
	if (body != NULL) {
		data = json_object_to_json_string_length(body, REM_JSON_FLAGS, &dlen);
		hdrs[2] = "Content-Type: application/json";
	}
	if (r->token == NULL) {
		if ((res = rem_login(r, d, msg, msglen)) != RFX_OK)
			return res;
		fresh = true;
	}
	for (;;) {
		free(auth);
		if (asprintf(&auth, "Authorization: AR-JWT %s", r->token) < 0) {
			auth = NULL;
			snprintf(msg, msglen, "out of memory");
			rfx_outhttp_delivery_set(d, 0, msg);
			res = RFX_RETRY;
			goto out;
		}
		hdrs[1] = auth;
		rc = rfx_outhttp_request(r->http, method, url, hdrs, data, dlen, &resp);
		if (rc == 0 && resp.status == 401 && !fresh) {
			rfx_outhttp_response_free(&resp);
			if ((res = rem_login(r, d, msg, msglen)) != RFX_OK)
				goto out;
			fresh = true;
			continue;
		}
		break;
	}
	if (rc == 0 && resp.status >= 200 && resp.status < 300) {
		res = RFX_OK;
		if (resp.body_len > 0 && (*out = json_tokener_parse(resp.body)) == NULL) {
			snprintf(msg, msglen, "%s: HTTP %ld with an answer that is not JSON", what,
				 resp.status);
			rfx_outhttp_delivery_set(d, 0, msg);
			res = RFX_RETRY;
		}
	} else {
		if (rc == 0 && resp.status == 401) {
			free(r->token); /* a fresh token was refused too */
			r->token = NULL;
		}
		res = rem_fail(r, rc, &resp, what, d, msg, msglen);
	}
out:
	free(auth);
	rfx_outhttp_response_free(&resp);
	return res;
}

static void kv_key(const char *key, char *out, size_t len)
{
	snprintf(out, len, "inc:%s", key);
}

static bool valid_number(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]))
			return false;
	return n > 0 && n < 64;
}

/* The open incident of key (inc->number "" when none): the remembered
 * number, read back from HPD:IncidentInterface for its Request ID and
 * status. */
static rfx_result rem_find(struct remedy *r, const char *key, rfx_delivery *d,
			   struct rem_inc *inc, char *msg, size_t msglen)
{
	char kk[64], *kept = NULL, *url = NULL, q[128], enc[400];
	struct json_object *o = NULL, *arr, *vals;
	rfx_result res = RFX_OK;
	const char *st, *rid;

	inc->number[0] = inc->request_id[0] = '\0';
	kv_key(key, kk, sizeof kk);
	if (r->host->kv_get(r->inst, kk, &kept) != 0 || kept == NULL || !valid_number(kept))
		goto out;
	snprintf(q, sizeof q, "'Incident Number'=\"%s\"", kept);
	rfx_itsm_pct_encode(q, enc, sizeof enc);
	if (asprintf(&url, "%s/api/arsys/v1/entry/HPD:IncidentInterface?q=%s&fields=values("
		     "Request%%20ID,Incident%%20Number,Status)", r->base, enc) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		rfx_outhttp_delivery_set(d, 0, msg);
		res = RFX_RETRY;
		goto out;
	}
	res = rem_call(r, "GET", url, NULL, "read incident", d, &o, msg, msglen);
	if (res != RFX_OK)
		goto out;
	if (o == NULL || !json_object_object_get_ex(o, "entries", &arr) ||
	    !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0 ||
	    !json_object_object_get_ex(json_object_array_get_idx(arr, 0), "values", &vals)) {
		r->host->kv_del(r->inst, kk); /* deleted, or no longer visible to us */
		goto out;
	}
	st = jstr(vals, "Status");
	rid = jstr(vals, "Request ID");
	if (rid == NULL || (st != NULL && (strcmp(st, "Resolved") == 0 ||
					  strcmp(st, "Closed") == 0 || strcmp(st, "Cancelled") == 0))) {
		r->host->kv_del(r->inst, kk); /* over: the next firing opens a new one */
		goto out;
	}
	snprintf(inc->number, sizeof inc->number, "%s", kept);
	snprintf(inc->request_id, sizeof inc->request_id, "%s", rid);
out:
	json_object_put(o);
	free(url);
	free(kept);
	return res;
}

static void add_cut(struct json_object *o, const char *k, const struct rfx_otpl_buf *b,
		    size_t max_chars)
{
	size_t n = rfx_itsm_utf8_cut(b->data, b->len, max_chars);

	json_object_object_add(o, k, json_object_new_string_len(b->data, (int)n));
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (set(v))
		json_object_object_add(o, k, json_object_new_string(v));
}

/* Impact and Urgency, from the severity. */
static const char *rem_impact(int sev)
{
	return sev <= RFX_SEV_ALERT      ? "1-Extensive/Widespread"
	       : sev == RFX_SEV_CRITICAL ? "2-Significant/Large"
	       : sev == RFX_SEV_ERROR    ? "3-Moderate/Limited"
					 : "4-Minor/Localized";
}

static const char *rem_urgency(int sev)
{
	return sev <= RFX_SEV_ALERT      ? "1-Critical"
	       : sev == RFX_SEV_CRITICAL ? "2-High"
	       : sev == RFX_SEV_ERROR    ? "3-Medium"
					 : "4-Low";
}

static rfx_result rem_create(struct remedy *r, const rfx_record *rec, const char *key,
			     char *msg, size_t msglen)
{
	const struct rem_config *c = r->cfg;
	struct json_object *b = json_object_new_object(), *v = json_object_new_object(), *o = NULL,
			   *vals;
	int sev = rfx_itsm_severity(rec);
	const char *num;
	char *url = NULL;
	rfx_result res = RFX_RETRY;

	if (b == NULL || v == NULL ||
	    asprintf(&url, "%s/api/arsys/v1/entry/HPD:IncidentInterface_Create?fields=values("
		     "Incident%%20Number,Request%%20ID)", r->base) < 0) {
		url = NULL;
		json_object_put(v);
		snprintf(msg, msglen, "out of memory");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	json_object_object_add(b, "values", v);
	/* the configured extra fields first: ours win where they overlap */
	for (size_t i = 0; i < c->fields.n; i++)
		json_object_object_add(v, c->fields.keys[i], json_object_new_string(c->fields.values[i]));
	add_str(v, "First_Name", c->first_name);
	add_str(v, "Last_Name", c->last_name);
	add_cut(v, "Description", &r->b_summary, REM_SHORT_MAX);
	add_cut(v, "Detailed_Decription", &r->b_desc, REM_TEXT_MAX); /* sic: the form's name */
	json_object_object_add(v, "Impact", json_object_new_string(rem_impact(sev)));
	json_object_object_add(v, "Urgency", json_object_new_string(rem_urgency(sev)));
	json_object_object_add(v, "Status", json_object_new_string(c->status));
	json_object_object_add(v, "Reported Source", json_object_new_string(c->reported_source));
	json_object_object_add(v, "Service_Type", json_object_new_string(c->service_type));
	json_object_object_add(v, "z1D_Action", json_object_new_string("CREATE"));
	res = rem_call(r, "POST", url, b, "create incident", rec->delivery, &o, msg, msglen);
	if (res != RFX_OK)
		goto out;
	num = json_object_object_get_ex(o, "values", &vals) ? jstr(vals, "Incident Number") : NULL;
	if (num != NULL && valid_number(num)) {
		char kk[64];

		kv_key(key, kk, sizeof kk);
		if (r->host->kv_put(r->inst, kk, num) != 0)
			r->host->log(r->inst, RFX_LOG_WARNING, "cannot remember incident %s: its "
				     "updates will open a new one", num);
	} else {
		r->host->log(r->inst, RFX_LOG_WARNING, "create incident: the answer has no Incident "
			     "Number; updates of %s will open a new incident", key);
	}
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

/* Work info on the incident: an HPD:WorkLog entry. */
static rfx_result rem_worklog(struct remedy *r, const rfx_record *rec, const struct rem_inc *inc,
			      char *msg, size_t msglen)
{
	struct json_object *b = json_object_new_object(), *v = json_object_new_object(), *o = NULL;
	char *url = NULL;
	rfx_result res = RFX_RETRY;

	if (b == NULL || v == NULL ||
	    asprintf(&url, "%s/api/arsys/v1/entry/HPD:WorkLog", r->base) < 0) {
		url = NULL;
		json_object_put(v);
		snprintf(msg, msglen, "out of memory");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	json_object_object_add(b, "values", v);
	json_object_object_add(v, "Incident Number", json_object_new_string(inc->number));
	json_object_object_add(v, "Work Log Type", json_object_new_string(r->cfg->work_log_type));
	add_cut(v, "Description", &r->b_summary, REM_SHORT_MAX);
	add_cut(v, "Detailed Description", &r->b_log, REM_TEXT_MAX);
	json_object_object_add(v, "View Access", json_object_new_string("Internal"));
	json_object_object_add(v, "Secure Work Log", json_object_new_string("No"));
	res = rem_call(r, "POST", url, b, "add work info", rec->delivery, &o, msg, msglen);
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

static rfx_result rem_resolve(struct remedy *r, const rfx_record *rec, const char *key,
			      const struct rem_inc *inc, char *msg, size_t msglen)
{
	struct json_object *b = json_object_new_object(), *v = json_object_new_object(), *o = NULL;
	char *url = NULL, enc[400];
	rfx_result res = RFX_RETRY;

	rfx_itsm_pct_encode(inc->request_id, enc, sizeof enc);
	if (b == NULL || v == NULL ||
	    asprintf(&url, "%s/api/arsys/v1/entry/HPD:IncidentInterface/%s", r->base, enc) < 0) {
		url = NULL;
		json_object_put(v);
		snprintf(msg, msglen, "out of memory");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		goto out;
	}
	json_object_object_add(b, "values", v);
	json_object_object_add(v, "Status", json_object_new_string("Resolved"));
	add_cut(v, "Resolution", &r->b_res, REM_TEXT_MAX);
	json_object_object_add(v, "Status_Reason", json_object_new_string(r->cfg->status_reason));
	res = rem_call(r, "PUT", url, b, "resolve incident", rec->delivery, &o, msg, msglen);
	if (res == RFX_OK) {
		char kk[64];

		kv_key(key, kk, sizeof kk);
		r->host->kv_del(r->inst, kk);
	}
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

static rfx_result rem_handle(void *state, const rfx_record *rec)
{
	struct remedy *r = state;
	struct rem_inc inc;
	char key[RFX_ITSM_KEY_LEN], msg[256] = "";
	bool resolved;
	rfx_result res;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	resolved = rfx_itsm_resolved(rec);
	rfx_itsm_corr_key(rec, key, sizeof key);
	if (rfx_itsm_render(r->t_summary, rec, &r->b_summary) != 0 ||
	    rfx_itsm_render(r->t_desc, rec, &r->b_desc) != 0 ||
	    rfx_itsm_render(r->t_log, rec, &r->b_log) != 0 ||
	    rfx_itsm_render(r->t_res, rec, &r->b_res) != 0) {
		snprintf(msg, sizeof msg, "out of memory rendering the incident");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		res = RFX_RETRY;
		goto out;
	}
	res = rem_find(r, key, rec->delivery, &inc, msg, sizeof msg);
	if (res != RFX_OK)
		goto out;
	if (inc.number[0] == '\0') {
		if (resolved) {
			r->host->log(r->inst, RFX_LOG_DEBUG, "%s: resolved, and no open incident", key);
			goto out;
		}
		res = rem_create(r, rec, key, msg, sizeof msg);
		if (res == RFX_OK)
			r->host->metric_add(r->created, 1);
	} else if (resolved) {
		res = rem_resolve(r, rec, key, &inc, msg, sizeof msg);
		if (res == RFX_OK)
			r->host->metric_add(r->resolved, 1);
	} else if (r->b_log.len > 0) {
		res = rem_worklog(r, rec, &inc, msg, sizeof msg);
		if (res == RFX_OK)
			r->host->metric_add(r->updated, 1);
	}
out:
	if (res != RFX_OK) {
		r->host->metric_add(res == RFX_RETRY ? r->retried : r->failed, 1);
		r->host->log(r->inst, RFX_LOG_WARNING, "%s: %s (%s)", r->shown, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	return res;
}

static void rem_destroy(void *state)
{
	struct remedy *r = state;

	if (r == NULL)
		return;
	rfx_outhttp_free(r->http);
	rfx_otpl_free(r->t_summary);
	rfx_otpl_free(r->t_desc);
	rfx_otpl_free(r->t_log);
	rfx_otpl_free(r->t_res);
	rfx_otpl_buf_free(&r->b_summary);
	rfx_otpl_buf_free(&r->b_desc);
	rfx_otpl_buf_free(&r->b_log);
	rfx_otpl_buf_free(&r->b_res);
	free(r->token);
	free(r->base);
	free(r);
}

static int rem_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		    char *err, size_t errlen)
{
	const struct rem_config *cfg = config;
	struct remedy *r;
	int rc = RFX_EINVAL;

	if (strcmp(cfg->status, "Assigned") != 0 && strcmp(cfg->status, "New") != 0) {
		snprintf(err, errlen, "status: '%s': new incidents are Assigned or New", cfg->status);
		return RFX_EINVAL;
	}
	if (!set(cfg->reported_source) || !set(cfg->service_type) || !set(cfg->status_reason) ||
	    !set(cfg->work_log_type)) {
		snprintf(err, errlen, "reported_source, service_type, status_reason and "
			 "work_log_type must not be empty");
		return RFX_EINVAL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	r->inst = inst;
	r->host = host;
	r->cfg = cfg;
	r->hcfg = cfg->http;
	if ((r->base = strdup(cfg->http.url)) == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t n = strlen(r->base); n > 0 && r->base[n - 1] == '/'; n--)
		r->base[n - 1] = '\0';
	r->hcfg.url = r->base;
	if ((r->http = rfx_outhttp_new(&r->hcfg, host, inst, err, errlen)) == NULL)
		goto fail;
	rfx_outhttp_secret(r->http, cfg->password);
	if ((rc = rfx_itsm_compile("summary", cfg->summary, 2048, &r->t_summary, err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("description", cfg->description, REM_RENDER_MAX, &r->t_desc, err,
				   errlen)) != 0 ||
	    (rc = rfx_itsm_compile("work_log", cfg->work_log, REM_RENDER_MAX, &r->t_log, err,
				   errlen)) != 0 ||
	    (rc = rfx_itsm_compile("resolution", cfg->resolution, REM_RENDER_MAX, &r->t_res, err,
				   errlen)) != 0)
		goto fail;
	rfx_outhttp_url_for_log(r->base, r->shown, sizeof r->shown);
	r->created = host->counter(inst, "created_total", "Incidents created");
	r->updated = host->counter(inst, "updated_total", "Work info entries added");
	r->resolved = host->counter(inst, "resolved_total", "Incidents resolved");
	r->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	r->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	r->logins = host->counter(inst, "logins_total", "JWT logins (first and after expiry)");
	if (!r->created || !r->updated || !r->resolved || !r->failed || !r->retried || !r->logins) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = r;
	return 0;
fail:
	rem_destroy(r);
	return rc;
}

#define REM_OPT(n, t, def, fl, member, desc)                                                  \
	{.name = (n), .type = (t), .default_value = (def), .flags = (fl), .description = (desc), \
	 .offset = offsetof(struct rem_config, member)}

static const rfx_option rem_options[] = {
	RFX_OUTHTTP_OPTIONS(struct rem_config, http, NULL, RFX_OPT_REQUIRED),
	REM_OPT("user", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, user,
		"AR System user the plugin logs in as (POST /api/jwt/login)."),
	REM_OPT("password", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED | RFX_OPT_SECRET, password,
		"Password of user. A secret."),
	REM_OPT("first_name", RFX_OPT_STRING, NULL, 0, first_name,
		"First_Name of the customer of new incidents (a People record); optional for "
		"Infrastructure Event incidents."),
	REM_OPT("last_name", RFX_OPT_STRING, NULL, 0, last_name,
		"Last_Name of that customer."),
	REM_OPT("status", RFX_OPT_STRING, "Assigned", 0, status,
		"Status of new incidents: Assigned (needs an assignment, e.g. through fields or "
		"assignment rules) or New."),
	REM_OPT("reported_source", RFX_OPT_STRING, "Systems Management", 0, reported_source,
		"Reported Source of new incidents."),
	REM_OPT("service_type", RFX_OPT_STRING, "Infrastructure Event", 0, service_type,
		"Service_Type of new incidents."),
	REM_OPT("status_reason", RFX_OPT_STRING, "No Further Action Required", 0, status_reason,
		"Status_Reason set with the resolution."),
	REM_OPT("work_log_type", RFX_OPT_STRING, "General Information", 0, work_log_type,
		"Work Log Type of the work info added for updates."),
	REM_OPT("summary", RFX_OPT_STRING, "[{{severity}}] {{check}} on {{host}}", 0, summary,
		"Template of the incident's Description (its summary; cut at 100 characters), "
		"also the work info's summary."),
	REM_OPT("description", RFX_OPT_STRING,
		"Host: {{host}}\nCheck: {{check}}{{#service}}\nService: {{service}}{{/service}}\n"
		"Severity: {{severity}}\nSince: {{time}}{{#message}}\n\n{{message}}{{/message}}\n\n"
		"Opened by reflex (fingerprint {{fingerprint}}).",
		0, description, "Template of the incident's Detailed_Decription."),
	REM_OPT("work_log", RFX_OPT_STRING,
		"[{{status}}] {{severity}}: {{check}} on {{host}} at {{time}}"
		"{{#message}}\n{{message}}{{/message}}",
		0, work_log, "Template of the work info added for each update; empty: none."),
	REM_OPT("resolution", RFX_OPT_STRING,
		"Recovered at {{time}}: {{check}} on {{host}}{{#message}} ({{message}}){{/message}}. "
		"Resolved by reflex.",
		0, resolution, "Template of the Resolution of a resolved incident."),
	REM_OPT("fields", RFX_OPT_MAP, NULL, 0, fields,
		"More values for new incidents, e.g. {Company: Calbro Services, Assigned Support "
		"Organization: IT Support, Assigned Group: Service Desk}."),
	RFX_OPTION_END,
};

static const rfx_plugin rem_plugin = {
	RFX_PLUGIN_ABI,
	.name = "remedy",
	.version = "1.0.0",
	.description = "Creates, updates and resolves BMC Helix ITSM / Remedy incidents (AR "
		       "REST API), one per fingerprint or group.",
	.kind = REM_KIND,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = rem_options,
	.config_size = sizeof(struct rem_config),
	.init = rem_init,
	.handle = rem_handle,
	.destroy = rem_destroy,
};

RFX_PLUGIN_DEFINE(rem_plugin)
