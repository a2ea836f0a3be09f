/*
 * plugins/itsm/servicenow/servicenow.c - the ServiceNow ITSM plugin: keeps
 * one incident per problem through the Table API. The first firing event of
 * a correlation key (its fingerprint, or a notice's group) opens an
 * incident with correlation_id = the key; later ones add work notes to it;
 * the resolution resolves it (state 6 with close code and notes).
 *
 * The open incident of a key is found by the sys_id this instance keeps in
 * its kv state (checked to be still open), else by querying correlation_id,
 * which also finds incidents other agents (or an earlier kv) opened.
 * handle() of one instance is serial, so two updates of one key never race
 * here; two agents may still both create an incident for one key when they
 * query in the same instant (see docs/plugins/servicenow.md).
 *
 * One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/outhttp.h"
#include "../../common/template.h"
#include "itsm_common.h"

#define SNOW_SHORT_MAX 160   /* characters of short_description */
#define SNOW_TEXT_MAX 4000   /* characters of description, notes */
#define SNOW_RENDER_MAX 32768
#define SNOW_SYSID_LEN 32
#define SNOW_STATE_RESOLVED 6
#define SNOW_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#ifdef RFX_TEST_AS_OUTPUT
#define SNOW_KIND RFX_KIND_OUTPUT /* until the core wires itsm: instances */
#else
#define SNOW_KIND RFX_KIND_ITSM
#endif

struct snow_config {
	struct rfx_outhttp_config http;
	char *instance;
	char *user;
	char *password;
	char *token;
	char *caller_id;
	char *assignment_group;
	char *category;
	char *cmdb_ci;
	char *short_description;
	char *description;
	char *work_notes;
	char *close_notes;
	char *close_code;
};

struct snow {
	rfx_instance *inst;
	const rfx_host *host;
	const struct snow_config *cfg;
	struct rfx_outhttp_config hcfg; /* cfg->http with url = base */
	char *base;                     /* https://x.service-now.com, no trailing / */
	rfx_outhttp *http;
	char *auth; /* "Authorization: ..." */
	char shown[256];
	rfx_otpl *t_short, *t_desc, *t_notes, *t_close, *t_ci;
	struct rfx_otpl_buf b_short, b_desc, b_notes, b_close, b_ci; /* handle() is serial */
	rfx_metric *created, *updated, *resolved, *failed, *retried;
};

/* The incident found for a key. */
struct snow_inc {
	char sys_id[SNOW_SYSID_LEN + 1];
	char number[64];
};

static bool valid_sys_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == SNOW_SYSID_LEN;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ServiceNow's error answer, {"error":{"message","detail"},"status":"failure"}:
 * "message (detail)"; else what the shared reader finds. */
static void vendor_message(struct snow *s, const struct rfx_outhttp_response *r, char *out,
			   size_t len)
{
	struct json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL, *e;
	const char *m, *dt;

	out[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "error", &e) &&
	    json_object_is_type(e, json_type_object) && (m = jstr(e, "message")) != NULL) {
		dt = jstr(e, "detail");
		if (dt != NULL && dt[0] != '\0' && strcmp(dt, m) != 0)
			snprintf(out, len, "%s (%s)", m, dt);
		else
			snprintf(out, len, "%s", m);
		for (char *p = out; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		rfx_outhttp_redact(s->http, out, len);
	} else {
		rfx_outhttp_vendor_message(s->http, r->body, r->body_len, out, len);
	}
	json_object_put(o);
}

/*
 * One request to the Table API. body (borrowed) may be NULL. On a 2xx
 * answer with a JSON object *out receives it (a new reference). With
 * not_found non-NULL a 404 is no error: *not_found is set and RFX_OK
 * returned. Otherwise RETRY/FAIL with msg and d filled.
 */
static rfx_result snow_call(struct snow *s, const char *method, const char *url,
			    struct json_object *body, const char *what, rfx_delivery *d,
			    struct json_object **out, bool *not_found, char *msg, size_t msglen)
{
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[4] = {"Accept: application/json", s->auth, NULL, NULL};
	const char *data = NULL;
	char vendor[200];
	size_t dlen = 0;
	rfx_result res = RFX_FAIL;
	int rc;

	*out = NULL;
	if (body != NULL) {
		data = json_object_to_json_string_length(body, SNOW_JSON_FLAGS, &dlen);
		hdrs[2] = "Content-Type: application/json";
	}
	rc = rfx_outhttp_request(s->http, method, url, hdrs, data, dlen, &resp);
	if (rc != 0 || resp.status == 0) {
		if (snprintf(msg, msglen, "%s: %s", what, resp.error[0] ? resp.error : "no response") < 0)
			msg[0] = '\0'; /* a cut message is fine; the check quiets -Wformat-truncation */
		res = RFX_RETRY;
	} else if (resp.status >= 200 && resp.status < 300) {
		struct json_object *o = resp.body != NULL ? json_tokener_parse(resp.body) : NULL;

		if (o == NULL || !json_object_is_type(o, json_type_object)) {
			/* a hibernating developer instance or an SSO login page
			 * answers 200 with HTML */
			json_object_put(o);
			snprintf(msg, msglen, "%s: HTTP %ld without a JSON answer (instance "
				 "hibernating, or a login page in the way?)", what, resp.status);
			res = RFX_RETRY;
		} else {
			*out = o;
			res = RFX_OK;
		}
	} else if (resp.status == 404 && not_found != NULL) {
		*not_found = true;
		res = RFX_OK;
	} else {
		long st = resp.status;

		vendor_message(s, &resp, vendor, sizeof vendor);
		res = st == 408 || st == 429 || st >= 500 ? RFX_RETRY : RFX_FAIL;
		snprintf(msg, msglen, "%s: HTTP %ld%s%s%s", what, st, vendor[0] ? ": " : "", vendor,
			 st == 401 ? " (check user/password or token)" : "");
	}
	if (res != RFX_OK) {
		rfx_outhttp_redact(s->http, msg, msglen);
		rfx_outhttp_delivery_set(d, res == RFX_RETRY ? resp.retry_after_ms : 0, msg);
	}
	rfx_outhttp_response_free(&resp);
	return res;
}

static void kv_key(const char *key, char *out, size_t len)
{
	snprintf(out, len, "inc:%s", key);
}

/* Copies an incident's sys_id and number out of a result object. */
static bool read_inc(struct json_object *r, struct snow_inc *inc)
{
	const char *id = jstr(r, "sys_id"), *num = jstr(r, "number");

	if (id == NULL || !valid_sys_id(id))
		return false;
	snprintf(inc->sys_id, sizeof inc->sys_id, "%s", id);
	snprintf(inc->number, sizeof inc->number, "%s", num != NULL ? num : "");
	return true;
}

static bool still_open(struct json_object *r)
{
	const char *st = jstr(r, "state"), *active = jstr(r, "active");

	if (active != NULL && strcmp(active, "true") != 0)
		return false;
	return st == NULL || atoi(st) < SNOW_STATE_RESOLVED;
}

/*
 * The open incident of key: inc->sys_id stays "" when there is none. The
 * sys_id remembered in kv is checked first (the incident may have been
 * resolved or closed by hand meanwhile); then correlation_id is queried.
 */
static rfx_result snow_find(struct snow *s, const char *key, rfx_delivery *d,
			    struct snow_inc *inc, char *msg, size_t msglen)
{
	char kk[64], *kept = NULL, *url = NULL, q[256], enc[512];
	struct json_object *o = NULL, *r;
	bool gone = false;
	rfx_result res;

	inc->sys_id[0] = inc->number[0] = '\0';
	kv_key(key, kk, sizeof kk);
	if (s->host->kv_get(s->inst, kk, &kept) == 0 && kept != NULL) {
		char *sp = strchr(kept, ' ');

		if (sp != NULL)
			*sp = '\0';
		if (valid_sys_id(kept)) {
			if (asprintf(&url, "%s/api/now/table/incident/%s?sysparm_fields=sys_id,"
				     "number,state,active", s->base, kept) < 0) {
				url = NULL;
				res = RFX_RETRY;
				snprintf(msg, msglen, "out of memory");
				goto out;
			}
			res = snow_call(s, "GET", url, NULL, "read incident", d, &o, &gone, msg,
					msglen);
			if (res != RFX_OK)
				goto out;
			if (!gone && json_object_object_get_ex(o, "result", &r) &&
			    json_object_is_type(r, json_type_object) && still_open(r) &&
			    read_inc(r, inc))
				goto out;
			/* resolved, closed or deleted meanwhile: forget it */
			s->host->kv_del(s->inst, kk);
			json_object_put(o);
			o = NULL;
			free(url);
			url = NULL;
		}
	}
	/* state < 6: New, In Progress, On Hold; a resolved incident stays
	 * active until closed, but a new firing opens a new one. Newest first,
	 * should two agents have raced. */
	snprintf(q, sizeof q, "correlation_id=%s^active=true^state<%d^ORDERBYDESCsys_created_on",
		 key, SNOW_STATE_RESOLVED);
	rfx_itsm_pct_encode(q, enc, sizeof enc);
	if (asprintf(&url, "%s/api/now/table/incident?sysparm_query=%s&sysparm_limit=1"
		     "&sysparm_fields=sys_id,number,state", s->base, enc) < 0) {
		url = NULL;
		res = RFX_RETRY;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	res = snow_call(s, "GET", url, NULL, "find incident", d, &o, NULL, msg, msglen);
	if (res == RFX_OK && json_object_object_get_ex(o, "result", &r) &&
	    json_object_is_type(r, json_type_array) && json_object_array_length(r) > 0 &&
	    read_inc(json_object_array_get_idx(r, 0), inc)) {
		char val[128];

		snprintf(val, sizeof val, "%s %s", inc->sys_id, inc->number);
		s->host->kv_put(s->inst, kk, val);
	}
out:
	json_object_put(o);
	free(url);
	free(kept);
	return res;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_object_add(o, k, json_object_new_string(v));
}

static void add_cut(struct json_object *o, const char *k, const struct rfx_otpl_buf *b,
		    size_t max_chars)
{
	size_t n = rfx_itsm_utf8_cut(b->data, b->len, max_chars);

	json_object_object_add(o, k, json_object_new_string_len(b->data, (int)n));
}

/* urgency and impact: 1 (High) for emergency..critical, 2 (Medium) for
 * error and warning, 3 (Low) below. */
static const char *snow_level(int sev)
{
	return sev <= RFX_SEV_CRITICAL ? "1" : sev <= RFX_SEV_WARNING ? "2" : "3";
}

static rfx_result snow_create(struct snow *s, const rfx_record *rec, const char *key,
			      struct snow_inc *inc, char *msg, size_t msglen)
{
	struct json_object *b = json_object_new_object(), *o = NULL, *r;
	const struct snow_config *c = s->cfg;
	const char *lvl = snow_level(rfx_itsm_severity(rec));
	char *url = NULL;
	rfx_result res = RFX_RETRY;

	if (b == NULL || asprintf(&url, "%s/api/now/table/incident", s->base) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	add_cut(b, "short_description", &s->b_short, SNOW_SHORT_MAX);
	add_cut(b, "description", &s->b_desc, SNOW_TEXT_MAX);
	json_object_object_add(b, "urgency", json_object_new_string(lvl));
	json_object_object_add(b, "impact", json_object_new_string(lvl));
	add_str(b, "caller_id", c->caller_id);
	add_str(b, "assignment_group", c->assignment_group);
	add_str(b, "category", c->category);
	if (s->t_ci != NULL)
		add_str(b, "cmdb_ci", s->b_ci.data);
	json_object_object_add(b, "correlation_id", json_object_new_string(key));
	json_object_object_add(b, "correlation_display", json_object_new_string("reflex"));
	res = snow_call(s, "POST", url, b, "create incident", rec->delivery, &o, NULL, msg, msglen);
	if (res != RFX_OK)
		goto out;
	if (!json_object_object_get_ex(o, "result", &r) || !read_inc(r, inc)) {
		/* created, but we cannot tell which: the next update finds it
		 * by correlation_id */
		s->host->log(s->inst, RFX_LOG_WARNING, "create incident: answer without a "
			     "sys_id; updates will find it by correlation_id %s", key);
	} else {
		char kk[64], val[128];

		kv_key(key, kk, sizeof kk);
		snprintf(val, sizeof val, "%s %s", inc->sys_id, inc->number);
		if (s->host->kv_put(s->inst, kk, val) != 0)
			s->host->log(s->inst, RFX_LOG_WARNING, "cannot remember incident %s: "
				     "updates will find it by correlation_id", inc->number);
	}
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

static rfx_result snow_patch(struct snow *s, const rfx_record *rec, const char *key,
			     const struct snow_inc *inc, bool resolve, char *msg, size_t msglen)
{
	struct json_object *b = json_object_new_object(), *o = NULL;
	char *url = NULL;
	rfx_result res = RFX_RETRY;

	if (b == NULL || asprintf(&url, "%s/api/now/table/incident/%s", s->base, inc->sys_id) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (s->b_notes.len > 0)
		add_cut(b, "work_notes", &s->b_notes, SNOW_TEXT_MAX);
	if (resolve) {
		json_object_object_add(b, "state", json_object_new_string("6"));
		json_object_object_add(b, "close_code", json_object_new_string(s->cfg->close_code));
		add_cut(b, "close_notes", &s->b_close, SNOW_TEXT_MAX);
	}
	res = snow_call(s, "PATCH", url, b, resolve ? "resolve incident" : "update incident",
			rec->delivery, &o, NULL, msg, msglen);
	if (res == RFX_OK && resolve) {
		char kk[64];

		kv_key(key, kk, sizeof kk);
		s->host->kv_del(s->inst, kk);
	}
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

static rfx_result snow_handle(void *state, const rfx_record *rec)
{
	struct snow *s = state;
	struct snow_inc inc;
	char key[RFX_ITSM_KEY_LEN], msg[256] = "";
	const char *did = "";
	bool resolved;
	rfx_result res;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	resolved = rfx_itsm_resolved(rec);
	rfx_itsm_corr_key(rec, key, sizeof key);
	if (rfx_itsm_render(s->t_short, rec, &s->b_short) != 0 ||
	    rfx_itsm_render(s->t_desc, rec, &s->b_desc) != 0 ||
	    rfx_itsm_render(s->t_notes, rec, &s->b_notes) != 0 ||
	    rfx_itsm_render(s->t_close, rec, &s->b_close) != 0 ||
	    (s->t_ci != NULL && rfx_itsm_render(s->t_ci, rec, &s->b_ci) != 0)) {
		snprintf(msg, sizeof msg, "out of memory rendering the incident");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		res = RFX_RETRY;
		goto out;
	}
	res = snow_find(s, key, rec->delivery, &inc, msg, sizeof msg);
	if (res != RFX_OK)
		goto out;
	if (inc.sys_id[0] == '\0') {
		if (resolved) {
			/* never opened here, or resolved by hand already */
			s->host->log(s->inst, RFX_LOG_DEBUG, "%s: resolved, and no open incident",
				     key);
			goto out;
		}
		res = snow_create(s, rec, key, &inc, msg, sizeof msg);
		did = "created";
		if (res == RFX_OK)
			s->host->metric_add(s->created, 1);
	} else {
		res = snow_patch(s, rec, key, &inc, resolved, msg, sizeof msg);
		did = resolved ? "resolved" : "updated";
		if (res == RFX_OK)
			s->host->metric_add(resolved ? s->resolved : s->updated, 1);
	}
	if (res == RFX_OK)
		s->host->log(s->inst, RFX_LOG_DEBUG, "%s incident %s for %s", did, inc.number, key);
out:
	if (res != RFX_OK) {
		s->host->metric_add(res == RFX_RETRY ? s->retried : s->failed, 1);
		s->host->log(s->inst, RFX_LOG_WARNING, "%s: %s (%s)", s->shown, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	return res;
}

static void snow_destroy(void *state)
{
	struct snow *s = state;

	if (s == NULL)
		return;
	rfx_outhttp_free(s->http);
	rfx_otpl_free(s->t_short);
	rfx_otpl_free(s->t_desc);
	rfx_otpl_free(s->t_notes);
	rfx_otpl_free(s->t_close);
	rfx_otpl_free(s->t_ci);
	rfx_otpl_buf_free(&s->b_short);
	rfx_otpl_buf_free(&s->b_desc);
	rfx_otpl_buf_free(&s->b_notes);
	rfx_otpl_buf_free(&s->b_close);
	rfx_otpl_buf_free(&s->b_ci);
	free(s->auth);
	free(s->base);
	free(s);
}

static bool set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Checks the auth options and builds the Authorization header. */
static int snow_auth(struct snow *s, char *err, size_t errlen)
{
	const struct snow_config *c = s->cfg;
	char *pair = NULL, *b64 = NULL;
	int rc = RFX_ENOMEM;

	if (set(c->token) == (set(c->user) || set(c->password))) {
		snprintf(err, errlen, "set either user and password (basic auth) or token (OAuth "
			 "bearer token), not %s", set(c->token) ? "both" : "neither");
		return RFX_EINVAL;
	}
	if (set(c->token)) {
		if (strpbrk(c->token, "\r\n ") != NULL) {
			snprintf(err, errlen, "token: must be one word");
			return RFX_EINVAL;
		}
		rfx_outhttp_secret(s->http, c->token);
		if (asprintf(&s->auth, "Authorization: Bearer %s", c->token) < 0)
			goto oom;
		return 0;
	}
	if (!set(c->user) || !set(c->password) || strchr(c->user, ':') != NULL) {
		snprintf(err, errlen, "%s", !set(c->user) ? "user: required with password"
				      : !set(c->password) ? "password: required with user"
							  : "user: must not contain ':'");
		return RFX_EINVAL;
	}
	rfx_outhttp_secret(s->http, c->password);
	if (asprintf(&pair, "%s:%s", c->user, c->password) < 0) {
		pair = NULL;
		goto oom;
	}
	if ((b64 = rfx_itsm_base64(pair, strlen(pair))) == NULL)
		goto oom;
	rfx_outhttp_secret(s->http, b64);
	if (asprintf(&s->auth, "Authorization: Basic %s", b64) < 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	s->auth = NULL;
	snprintf(err, errlen, "out of memory");
out:
	free(pair);
	free(b64);
	return rc;
}

static int snow_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		     char *err, size_t errlen)
{
	const struct snow_config *cfg = config;
	struct snow *s;
	int rc = RFX_EINVAL;

	if (set(cfg->instance) == set(cfg->http.url)) {
		snprintf(err, errlen, "set either instance (NAME of NAME.service-now.com) or url, "
			 "not %s", set(cfg->instance) ? "both" : "neither");
		return RFX_EINVAL;
	}
	if (set(cfg->instance)) {
		for (const char *p = cfg->instance; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-') {
				snprintf(err, errlen, "instance: '%s' is not an instance name (the "
					 "NAME of https://NAME.service-now.com)", cfg->instance);
				return RFX_EINVAL;
			}
	}
	if (!set(cfg->close_code)) {
		snprintf(err, errlen, "close_code: must not be empty");
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
	s->hcfg = cfg->http;
	if (set(cfg->instance)) {
		if (asprintf(&s->base, "https://%s.service-now.com", cfg->instance) < 0)
			s->base = NULL;
	} else {
		s->base = strdup(cfg->http.url);
	}
	if (s->base == NULL) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t n = strlen(s->base); n > 0 && s->base[n - 1] == '/'; n--)
		s->base[n - 1] = '\0';
	s->hcfg.url = s->base;
	s->http = rfx_outhttp_new(&s->hcfg, host, inst, err, errlen);
	if (s->http == NULL)
		goto fail;
	if ((rc = snow_auth(s, err, errlen)) != 0)
		goto fail;
	if ((rc = rfx_itsm_compile("short_description", cfg->short_description, 2048, &s->t_short,
				   err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("description", cfg->description, SNOW_RENDER_MAX, &s->t_desc,
				   err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("work_notes", cfg->work_notes, SNOW_RENDER_MAX, &s->t_notes,
				   err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("close_notes", cfg->close_notes, SNOW_RENDER_MAX, &s->t_close,
				   err, errlen)) != 0 ||
	    (set(cfg->cmdb_ci) &&
	     (rc = rfx_itsm_compile("cmdb_ci", cfg->cmdb_ci, 512, &s->t_ci, err, errlen)) != 0))
		goto fail;
	rfx_outhttp_url_for_log(s->base, s->shown, sizeof s->shown);
	s->created = host->counter(inst, "created_total", "Incidents opened");
	s->updated = host->counter(inst, "updated_total", "Work notes added to open incidents");
	s->resolved = host->counter(inst, "resolved_total", "Incidents resolved");
	s->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	s->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (!s->created || !s->updated || !s->resolved || !s->failed || !s->retried) {
		rc = RFX_ENOMEM;
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = s;
	return 0;
fail:
	snow_destroy(s);
	return rc;
}

#define SNOW_OPT(n, t, def, fl, member, desc)                                                 \
	{.name = (n), .type = (t), .default_value = (def), .flags = (fl), .description = (desc), \
	 .offset = offsetof(struct snow_config, member)}

static const rfx_option snow_options[] = {
	RFX_OUTHTTP_OPTIONS(struct snow_config, http, NULL, 0),
	SNOW_OPT("instance", RFX_OPT_STRING, NULL, 0, instance,
		 "Instance name: requests go to https://INSTANCE.service-now.com. Set this or "
		 "url (the instance's base URL)."),
	SNOW_OPT("user", RFX_OPT_STRING, NULL, 0, user,
		 "User for basic auth (needs the itil role or write access to incident)."),
	SNOW_OPT("password", RFX_OPT_STRING, NULL, RFX_OPT_SECRET, password,
		 "Password of user. A secret."),
	SNOW_OPT("token", RFX_OPT_STRING, NULL, RFX_OPT_SECRET, token,
		 "OAuth access token, sent as Authorization: Bearer, instead of user/password."),
	SNOW_OPT("caller_id", RFX_OPT_STRING, NULL, 0, caller_id,
		 "Caller of new incidents: a sys_id or user name of sys_user."),
	SNOW_OPT("assignment_group", RFX_OPT_STRING, NULL, 0, assignment_group,
		 "Assignment group of new incidents: a sys_id or group name."),
	SNOW_OPT("category", RFX_OPT_STRING, NULL, 0, category,
		 "Category of new incidents, e.g. network, software, hardware."),
	SNOW_OPT("cmdb_ci", RFX_OPT_STRING, NULL, 0, cmdb_ci,
		 "Template of the configuration item of new incidents, e.g. '{{host}}' (a CI "
		 "name or sys_id); unset: none."),
	SNOW_OPT("short_description", RFX_OPT_STRING,
		 "[{{severity}}] {{check}} on {{host}}", 0, short_description,
		 "Template of a new incident's short_description (cut at 160 characters)."),
	SNOW_OPT("description", RFX_OPT_STRING,
		 "Host: {{host}}\nCheck: {{check}}{{#service}}\nService: {{service}}{{/service}}\n"
		 "Severity: {{severity}}\nSince: {{time}}{{#message}}\n\n{{message}}{{/message}}\n\n"
		 "Opened by reflex (correlation {{fingerprint}}).",
		 0, description,
		 "Template of a new incident's description (cut at 4,000 characters)."),
	SNOW_OPT("work_notes", RFX_OPT_STRING,
		 "[{{status}}] {{severity}}: {{check}} on {{host}} at {{time}}"
		 "{{#message}}\n{{message}}{{/message}}",
		 0, work_notes,
		 "Template of the work note added for each update and the resolution; empty: "
		 "updates add nothing."),
	SNOW_OPT("close_notes", RFX_OPT_STRING,
		 "Recovered at {{time}}: {{check}} on {{host}}{{#message}} ({{message}}){{/message}}. "
		 "Resolved by reflex.",
		 0, close_notes, "Template of the close_notes of a resolved incident."),
	SNOW_OPT("close_code", RFX_OPT_STRING, "Solved (Permanently)", 0, close_code,
		 "close_code of a resolved incident (a choice of the instance's close_code field)."),
	RFX_OPTION_END,
};

static const rfx_plugin snow_plugin = {
	RFX_PLUGIN_ABI,
	.name = "servicenow",
	.version = "1.0.0",
	.description = "Opens, updates and resolves ServiceNow incidents (Table API), one per "
		       "fingerprint or group, found by correlation_id.",
	.kind = SNOW_KIND,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = snow_options,
	.config_size = sizeof(struct snow_config),
	.init = snow_init,
	.handle = snow_handle,
	.destroy = snow_destroy,
};

RFX_PLUGIN_DEFINE(snow_plugin)
