/*
 * plugins/itsm/jira/jira.c - the Jira ITSM plugin: keeps one Jira Cloud
 * issue per problem through REST API v3. The first firing event of a
 * correlation key (fingerprint or notice group) creates an issue labelled
 * with the key (`reflex-<hash>`); later ones comment on it; the resolution
 * comments and moves it through the configured transition ("Done").
 * Optionally issues are Jira Service Management requests
 * (/rest/servicedeskapi/request); comments and transitions are the same.
 *
 * The open issue of a key is the one this instance remembers in its kv
 * state (checked to be still open), else the newest open issue with the
 * key's label (a JQL search), which also finds issues other agents made.
 * Texts go out in Atlassian Document Format, a paragraph per line.
 *
 * One attempt per handle(): the core owns retries. A resolution is two
 * writes (comment, transition); the comment is remembered per delivery so
 * a retried transition does not comment twice.
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
#include "../servicenow/itsm_common.h"

#define JIRA_SUMMARY_MAX 255    /* characters */
#define JIRA_TEXT_MAX 32000     /* characters of a description or comment (Jira: 32,767) */
#define JIRA_RENDER_MAX 131072
#define JIRA_KEY_MAX 64
#define JIRA_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#ifdef RFX_TEST_AS_OUTPUT
#define JIRA_KIND RFX_KIND_OUTPUT /* until the core wires itsm: instances */
#else
#define JIRA_KIND RFX_KIND_ITSM
#endif

struct jira_config {
	struct rfx_outhttp_config http;
	char *email;
	char *api_token;
	char *project;
	char *issue_type;
	char *summary;
	char *description;
	char *comment;
	char *resolve_comment;
	char *resolve_transition;
	struct rfx_strlist labels;
	struct rfx_strmap priority_map;
	char *service_desk_id;
	char *request_type_id;
};

struct jira {
	rfx_instance *inst;
	const rfx_host *host;
	const struct jira_config *cfg;
	struct rfx_outhttp_config hcfg;
	char *base;
	rfx_outhttp *http;
	char *auth;
	char shown[256];
	rfx_otpl *t_summary, *t_desc, *t_comment, *t_resolve;
	struct rfx_otpl_buf b_summary, b_desc, b_comment, b_resolve; /* handle() is serial */
	rfx_metric *created, *commented, *resolved, *failed, *retried;
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

/* An issue key as Jira makes them (PROJ-123): safe in a URL path. */
static bool valid_issue_key(const char *k)
{
	size_t n = 0;
	bool dash = false;

	for (; k[n] != '\0'; n++) {
		char c = k[n];

		if (c == '-')
			dash = true;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '_'))
			return false;
	}
	return dash && n > 2 && n < JIRA_KEY_MAX;
}

/* Jira's error answer {"errorMessages":[...],"errors":{"field":"msg"}}:
 * "msg; field: msg"; else what the shared reader finds. */
static void vendor_message(struct jira *j, const struct rfx_outhttp_response *r, char *out,
			   size_t len)
{
	struct json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL, *m, *e;
	size_t off = 0;

	out[0] = '\0';
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "errorMessages", &m) &&
		    json_object_is_type(m, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(m) && off + 4 < len; i++) {
				struct json_object *x = json_object_array_get_idx(m, i);

				if (!json_object_is_type(x, json_type_string))
					continue;
				off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "; " : "",
							json_object_get_string(x));
			}
		}
		if (off + 4 < len && json_object_object_get_ex(o, "errors", &e) &&
		    json_object_is_type(e, json_type_object)) {
			json_object_object_foreach(e, k, v)
			{
				if (off + 4 >= len)
					break;
				off += (size_t)snprintf(out + off, len - off, "%s%s: %s", off ? "; " : "",
							k, json_object_get_string(v));
			}
		}
	}
	json_object_put(o);
	if (out[0] == '\0') {
		rfx_outhttp_vendor_message(j->http, r->body, r->body_len, out, len);
		return;
	}
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	rfx_outhttp_redact(j->http, out, len);
}

/*
 * One request. body (borrowed) may be NULL. On 2xx *out receives the JSON
 * answer (NULL for an empty one, e.g. 204). With not_found non-NULL a 404
 * sets it and returns OK. Otherwise RETRY/FAIL with msg and d filled.
 */
static rfx_result jira_call(struct jira *j, const char *method, const char *url,
			    struct json_object *body, const char *what, rfx_delivery *d,
			    struct json_object **out, bool *not_found, char *msg, size_t msglen)
{
	struct rfx_outhttp_response resp = {0};
	const char *hdrs[4] = {"Accept: application/json", j->auth, NULL, NULL};
	const char *data = NULL;
	char vendor[200];
	size_t dlen = 0;
	rfx_result res = RFX_FAIL;
	int rc;

	*out = NULL;
	if (body != NULL) {
		data = json_object_to_json_string_length(body, JIRA_JSON_FLAGS, &dlen);
		hdrs[2] = "Content-Type: application/json";
	}
	rc = rfx_outhttp_request(j->http, method, url, hdrs, data, dlen, &resp);
	if (rc != 0 || resp.status == 0) {
		if (snprintf(msg, msglen, "%s: %s", what, resp.error[0] ? resp.error : "no response") < 0)
			msg[0] = '\0'; /* a cut message is fine; the check quiets -Wformat-truncation */
		res = RFX_RETRY;
	} else if (resp.status >= 200 && resp.status < 300) {
		if (resp.body_len > 0) {
			*out = json_tokener_parse(resp.body);
			if (*out == NULL) {
				snprintf(msg, msglen, "%s: HTTP %ld with an answer that is not JSON (a "
					 "proxy or login page in the way?)", what, resp.status);
				res = RFX_RETRY;
				goto out;
			}
		}
		res = RFX_OK;
	} else if (resp.status == 404 && not_found != NULL) {
		*not_found = true;
		res = RFX_OK;
	} else {
		long st = resp.status;

		vendor_message(j, &resp, vendor, sizeof vendor);
		res = st == 408 || st == 429 || st >= 500 ? RFX_RETRY : RFX_FAIL;
		snprintf(msg, msglen, "%s: HTTP %ld%s%s%s", what, st, vendor[0] ? ": " : "", vendor,
			 st == 401 ? " (check email and api_token)" : "");
	}
out:
	if (res != RFX_OK) {
		rfx_outhttp_redact(j->http, msg, msglen);
		rfx_outhttp_delivery_set(d, res == RFX_RETRY ? resp.retry_after_ms : 0, msg);
	}
	rfx_outhttp_response_free(&resp);
	return res;
}

/* An Atlassian Document Format document: one paragraph per non-empty line
 * of text (cut at JIRA_TEXT_MAX characters). */
static struct json_object *adf_doc(const struct rfx_otpl_buf *b)
{
	struct json_object *doc = json_object_new_object(), *content = json_object_new_array();
	size_t len = rfx_itsm_utf8_cut(b->data, b->len, JIRA_TEXT_MAX), off = 0;

	json_object_object_add(doc, "type", json_object_new_string("doc"));
	json_object_object_add(doc, "version", json_object_new_int(1));
	while (off < len) {
		const char *nl = memchr(b->data + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (b->data + off)) : len - off;

		if (n > 0 && !(n == 1 && b->data[off] == '\r')) {
			struct json_object *p = json_object_new_object(), *pc = json_object_new_array(),
					   *t = json_object_new_object();

			if (b->data[off + n - 1] == '\r')
				n--;
			json_object_object_add(t, "type", json_object_new_string("text"));
			json_object_object_add(t, "text", json_object_new_string_len(b->data + off, (int)n));
			json_object_array_add(pc, t);
			json_object_object_add(p, "type", json_object_new_string("paragraph"));
			json_object_object_add(p, "content", pc);
			json_object_array_add(content, p);
		}
		off += (nl != NULL ? (size_t)(nl - (b->data + off)) + 1 : len - off);
	}
	if (json_object_array_length(content) == 0) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "type", json_object_new_string("paragraph"));
		json_object_object_add(p, "content", json_object_new_array());
		json_object_array_add(content, p);
	}
	json_object_object_add(doc, "content", content);
	return doc;
}

static void kv_key(const char *key, char *out, size_t len)
{
	snprintf(out, len, "issue:%s", key);
}

/* True when the issue answer's status is in a category other than done. */
static bool issue_open(struct json_object *issue)
{
	struct json_object *f, *st, *cat;
	const char *k;

	if (!json_object_object_get_ex(issue, "fields", &f) ||
	    !json_object_object_get_ex(f, "status", &st) ||
	    !json_object_object_get_ex(st, "statusCategory", &cat))
		return true; /* cannot tell: trust it */
	k = jstr(cat, "key");
	return k == NULL || strcmp(k, "done") != 0;
}

/* The open issue of key into out ("" when there is none). */
static rfx_result jira_find(struct jira *j, const char *key, rfx_delivery *d, char *out,
			    size_t outlen, char *msg, size_t msglen)
{
	char kk[64], *kept = NULL, *url = NULL, jql[160], enc[400];
	struct json_object *o = NULL, *arr;
	bool gone = false;
	rfx_result res;

	out[0] = '\0';
	kv_key(key, kk, sizeof kk);
	if (j->host->kv_get(j->inst, kk, &kept) == 0 && kept != NULL && valid_issue_key(kept)) {
		if (asprintf(&url, "%s/rest/api/3/issue/%s?fields=status", j->base, kept) < 0) {
			url = NULL;
			snprintf(msg, msglen, "out of memory");
			res = RFX_RETRY;
			goto out;
		}
		res = jira_call(j, "GET", url, NULL, "read issue", d, &o, &gone, msg, msglen);
		if (res != RFX_OK)
			goto out;
		if (!gone && o != NULL && issue_open(o)) {
			snprintf(out, outlen, "%s", kept);
			goto out;
		}
		j->host->kv_del(j->inst, kk); /* done or deleted meanwhile */
		json_object_put(o);
		o = NULL;
		free(url);
		url = NULL;
	}
	snprintf(jql, sizeof jql, "labels = \"%s\" AND statusCategory != Done ORDER BY created DESC",
		 key);
	rfx_itsm_pct_encode(jql, enc, sizeof enc);
	if (asprintf(&url, "%s/rest/api/3/search/jql?jql=%s&maxResults=1&fields=status", j->base,
		     enc) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		res = RFX_RETRY;
		goto out;
	}
	res = jira_call(j, "GET", url, NULL, "search issues", d, &o, NULL, msg, msglen);
	if (res == RFX_OK && o != NULL && json_object_object_get_ex(o, "issues", &arr) &&
	    json_object_is_type(arr, json_type_array) && json_object_array_length(arr) > 0) {
		const char *k = jstr(json_object_array_get_idx(arr, 0), "key");

		if (k != NULL && valid_issue_key(k)) {
			snprintf(out, outlen, "%s", k);
			j->host->kv_put(j->inst, kk, k);
		}
	}
out:
	json_object_put(o);
	free(url);
	free(kept);
	return res;
}

static struct json_object *labels_array(struct jira *j, const char *key)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_string(key));
	for (size_t i = 0; i < j->cfg->labels.n; i++)
		json_object_array_add(a, json_object_new_string(j->cfg->labels.v[i]));
	return a;
}

/* The summary: one line (Jira refuses newlines), at most 255 characters. */
static struct json_object *summary_str(struct jira *j)
{
	for (size_t i = 0; i < j->b_summary.len; i++)
		if (j->b_summary.data[i] == '\n' || j->b_summary.data[i] == '\r')
			j->b_summary.data[i] = ' ';
	return json_object_new_string_len(
		j->b_summary.data,
		(int)rfx_itsm_utf8_cut(j->b_summary.data, j->b_summary.len, JIRA_SUMMARY_MAX));
}

static rfx_result jira_create(struct jira *j, const rfx_record *rec, const char *key,
			      char *issue, size_t issuelen, char *msg, size_t msglen)
{
	const struct jira_config *c = j->cfg;
	struct json_object *b = json_object_new_object(), *o = NULL, *f;
	char *url = NULL;
	const char *k;
	rfx_result res = RFX_RETRY;
	bool jsm = set(c->service_desk_id);

	if (b == NULL || asprintf(&url, "%s%s", j->base, jsm ? "/rest/servicedeskapi/request"
								  : "/rest/api/3/issue") < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	f = json_object_new_object();
	json_object_object_add(f, "summary", summary_str(j));
	json_object_object_add(f, "labels", labels_array(j, key));
	if (jsm) {
		/* request fields take the description as plain text */
		json_object_object_add(f, "description", json_object_new_string_len(
			j->b_desc.data, (int)rfx_itsm_utf8_cut(j->b_desc.data, j->b_desc.len,
								  JIRA_TEXT_MAX)));
		json_object_object_add(b, "serviceDeskId", json_object_new_string(c->service_desk_id));
		json_object_object_add(b, "requestTypeId", json_object_new_string(c->request_type_id));
		json_object_object_add(b, "requestFieldValues", f);
	} else {
		struct json_object *p = json_object_new_object(), *t = json_object_new_object();
		const char *sev = rfx_otpl_severity_name(rfx_itsm_severity(rec));

		json_object_object_add(p, "key", json_object_new_string(c->project));
		json_object_object_add(f, "project", p);
		json_object_object_add(t, "name", json_object_new_string(c->issue_type));
		json_object_object_add(f, "issuetype", t);
		json_object_object_add(f, "description", adf_doc(&j->b_desc));
		for (size_t i = 0; i < c->priority_map.n; i++)
			if (strcasecmp(c->priority_map.keys[i], sev) == 0) {
				struct json_object *pr = json_object_new_object();

				json_object_object_add(pr, "name",
						       json_object_new_string(c->priority_map.values[i]));
				json_object_object_add(f, "priority", pr);
				break;
			}
		json_object_object_add(b, "fields", f);
	}
	res = jira_call(j, "POST", url, b, jsm ? "create request" : "create issue", rec->delivery,
			&o, NULL, msg, msglen);
	if (res != RFX_OK)
		goto out;
	k = jsm ? jstr(o, "issueKey") : jstr(o, "key");
	if (k != NULL && valid_issue_key(k)) {
		char kk[64];

		snprintf(issue, issuelen, "%s", k);
		kv_key(key, kk, sizeof kk);
		if (j->host->kv_put(j->inst, kk, k) != 0)
			j->host->log(j->inst, RFX_LOG_WARNING, "cannot remember issue %s: updates "
				     "will find it by its label %s", k, key);
	} else {
		j->host->log(j->inst, RFX_LOG_WARNING, "created an issue but the answer has no key; "
			     "updates will find it by its label %s", key);
	}
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

static rfx_result jira_comment(struct jira *j, const rfx_record *rec, const char *issue,
			       const struct rfx_otpl_buf *text, char *msg, size_t msglen)
{
	struct json_object *b = json_object_new_object(), *o = NULL;
	char *url = NULL;
	rfx_result res = RFX_RETRY;

	if (b == NULL || asprintf(&url, "%s/rest/api/3/issue/%s/comment", j->base, issue) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	json_object_object_add(b, "body", adf_doc(text));
	res = jira_call(j, "POST", url, b, "comment", rec->delivery, &o, NULL, msg, msglen);
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

/* Moves the issue through the transition named resolve_transition (or the
 * one leading to a status of that name). */
static rfx_result jira_transition(struct jira *j, const rfx_record *rec, const char *issue,
				  char *msg, size_t msglen)
{
	struct json_object *o = NULL, *arr, *b = NULL, *t;
	char *url = NULL, avail[160] = "";
	const char *id = NULL, *want = j->cfg->resolve_transition;
	size_t off = 0;
	rfx_result res = RFX_RETRY;

	if (asprintf(&url, "%s/rest/api/3/issue/%s/transitions", j->base, issue) < 0) {
		url = NULL;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	res = jira_call(j, "GET", url, NULL, "list transitions", rec->delivery, &o, NULL, msg,
			msglen);
	if (res != RFX_OK)
		goto out;
	if (o != NULL && json_object_object_get_ex(o, "transitions", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr) && id == NULL; i++) {
			struct json_object *x = json_object_array_get_idx(arr, i), *to;
			const char *name = jstr(x, "name"), *toname = NULL;

			if (json_object_object_get_ex(x, "to", &to))
				toname = jstr(to, "name");
			if ((name != NULL && strcasecmp(name, want) == 0) ||
			    (toname != NULL && strcasecmp(toname, want) == 0))
				id = jstr(x, "id");
			else if (name != NULL && off + 4 < sizeof avail)
				off += (size_t)snprintf(avail + off, sizeof avail - off, "%s'%s'",
							off ? ", " : "", name);
		}
	}
	if (id == NULL) {
		snprintf(msg, msglen, "%s has no transition '%s'; available: %s (set "
			 "resolve_transition)", issue, want, avail[0] ? avail : "none");
		rfx_outhttp_redact(j->http, msg, msglen);
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		res = RFX_FAIL;
		goto out;
	}
	b = json_object_new_object();
	t = json_object_new_object();
	json_object_object_add(t, "id", json_object_new_string(id));
	json_object_object_add(b, "transition", t);
	json_object_put(o);
	o = NULL;
	res = jira_call(j, "POST", url, b, "transition", rec->delivery, &o, NULL, msg, msglen);
out:
	json_object_put(b);
	json_object_put(o);
	free(url);
	return res;
}

/* A resolution: comment (once per delivery, even across retries), then
 * the transition; the issue is forgotten once done. */
static rfx_result jira_resolve(struct jira *j, const rfx_record *rec, const char *key,
			       const char *issue, char *msg, size_t msglen)
{
	char mk[64] = "", kk[64], *done = NULL;
	rfx_result res = RFX_OK;

	if (rec->delivery != NULL)
		snprintf(mk, sizeof mk, "commented:%" PRIu64, rec->delivery->id);
	if (mk[0] != '\0' && j->host->kv_get(j->inst, mk, &done) == 0 && done != NULL &&
	    strcmp(done, issue) == 0) {
		/* the comment went in on an earlier attempt */
	} else if (j->b_resolve.len > 0) {
		res = jira_comment(j, rec, issue, &j->b_resolve, msg, msglen);
		if (res != RFX_OK)
			goto out;
		if (mk[0] != '\0')
			j->host->kv_put(j->inst, mk, issue);
	}
	res = jira_transition(j, rec, issue, msg, msglen);
	if (res == RFX_OK || res == RFX_FAIL) {
		if (mk[0] != '\0')
			j->host->kv_del(j->inst, mk);
	}
	if (res == RFX_OK) {
		kv_key(key, kk, sizeof kk);
		j->host->kv_del(j->inst, kk);
	}
out:
	free(done);
	return res;
}

static rfx_result jira_handle(void *state, const rfx_record *rec)
{
	struct jira *j = state;
	char key[RFX_ITSM_KEY_LEN], issue[JIRA_KEY_MAX] = "", msg[256] = "";
	bool resolved;
	rfx_result res;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	resolved = rfx_itsm_resolved(rec);
	rfx_itsm_corr_key(rec, key, sizeof key);
	if (rfx_itsm_render(j->t_summary, rec, &j->b_summary) != 0 ||
	    rfx_itsm_render(j->t_desc, rec, &j->b_desc) != 0 ||
	    rfx_itsm_render(j->t_comment, rec, &j->b_comment) != 0 ||
	    rfx_itsm_render(j->t_resolve, rec, &j->b_resolve) != 0) {
		snprintf(msg, sizeof msg, "out of memory rendering the issue");
		rfx_outhttp_delivery_set(rec->delivery, 0, msg);
		res = RFX_RETRY;
		goto out;
	}
	res = jira_find(j, key, rec->delivery, issue, sizeof issue, msg, sizeof msg);
	if (res != RFX_OK)
		goto out;
	if (issue[0] == '\0') {
		if (resolved) {
			j->host->log(j->inst, RFX_LOG_DEBUG, "%s: resolved, and no open issue", key);
			goto out;
		}
		res = jira_create(j, rec, key, issue, sizeof issue, msg, sizeof msg);
		if (res == RFX_OK)
			j->host->metric_add(j->created, 1);
	} else if (resolved) {
		res = jira_resolve(j, rec, key, issue, msg, sizeof msg);
		if (res == RFX_OK)
			j->host->metric_add(j->resolved, 1);
	} else if (j->b_comment.len > 0) {
		res = jira_comment(j, rec, issue, &j->b_comment, msg, sizeof msg);
		if (res == RFX_OK)
			j->host->metric_add(j->commented, 1);
	}
out:
	if (res != RFX_OK) {
		j->host->metric_add(res == RFX_RETRY ? j->retried : j->failed, 1);
		j->host->log(j->inst, RFX_LOG_WARNING, "%s: %s (%s)", j->shown, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	return res;
}

static void jira_destroy(void *state)
{
	struct jira *j = state;

	if (j == NULL)
		return;
	rfx_outhttp_free(j->http);
	rfx_otpl_free(j->t_summary);
	rfx_otpl_free(j->t_desc);
	rfx_otpl_free(j->t_comment);
	rfx_otpl_free(j->t_resolve);
	rfx_otpl_buf_free(&j->b_summary);
	rfx_otpl_buf_free(&j->b_desc);
	rfx_otpl_buf_free(&j->b_comment);
	rfx_otpl_buf_free(&j->b_resolve);
	free(j->auth);
	free(j->base);
	free(j);
}

static int jira_check(const struct jira_config *c, char *err, size_t errlen)
{
	if (!set(c->email) || !set(c->api_token)) {
		snprintf(err, errlen, "%s: required (Jira Cloud basic auth is the account's email "
			 "and an API token)", !set(c->email) ? "email" : "api_token");
		return RFX_EINVAL;
	}
	if (strchr(c->email, ':') != NULL) {
		snprintf(err, errlen, "email: must not contain ':'");
		return RFX_EINVAL;
	}
	if (set(c->service_desk_id) != set(c->request_type_id)) {
		snprintf(err, errlen, "service_desk_id and request_type_id go together "
			 "(Jira Service Management requests)");
		return RFX_EINVAL;
	}
	if (!set(c->service_desk_id) && !set(c->project)) {
		snprintf(err, errlen, "project: required (the project key, e.g. OPS), unless "
			 "service_desk_id and request_type_id are set");
		return RFX_EINVAL;
	}
	if (!set(c->resolve_transition)) {
		snprintf(err, errlen, "resolve_transition: must not be empty");
		return RFX_EINVAL;
	}
	for (size_t i = 0; i < c->labels.n; i++)
		if (strpbrk(c->labels.v[i], " \t\r\n") != NULL || c->labels.v[i][0] == '\0') {
			snprintf(err, errlen, "labels: '%s': Jira labels cannot contain spaces",
				 c->labels.v[i]);
			return RFX_EINVAL;
		}
	for (size_t i = 0; i < c->priority_map.n; i++) {
		bool known = false;

		for (int s = 0; s <= RFX_SEV_DEBUG; s++)
			if (strcasecmp(rfx_otpl_severity_name(s), c->priority_map.keys[i]) == 0)
				known = true;
		if (!known) {
			snprintf(err, errlen, "priority_map: '%s' is not a severity (emergency, "
				 "alert, critical, error, warning, notice, info, debug)",
				 c->priority_map.keys[i]);
			return RFX_EINVAL;
		}
	}
	return 0;
}

static int jira_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		     char *err, size_t errlen)
{
	const struct jira_config *cfg = config;
	struct jira *j;
	char *pair = NULL, *b64 = NULL;
	int rc;

	if ((rc = jira_check(cfg, err, errlen)) != 0)
		return rc;
	j = calloc(1, sizeof *j);
	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	j->inst = inst;
	j->host = host;
	j->cfg = cfg;
	j->hcfg = cfg->http;
	rc = RFX_ENOMEM;
	if ((j->base = strdup(cfg->http.url)) == NULL)
		goto oom;
	for (size_t n = strlen(j->base); n > 0 && j->base[n - 1] == '/'; n--)
		j->base[n - 1] = '\0';
	j->hcfg.url = j->base;
	j->http = rfx_outhttp_new(&j->hcfg, host, inst, err, errlen);
	if (j->http == NULL) {
		rc = RFX_EINVAL;
		goto fail;
	}
	rfx_outhttp_secret(j->http, cfg->api_token);
	if (asprintf(&pair, "%s:%s", cfg->email, cfg->api_token) < 0) {
		pair = NULL;
		goto oom;
	}
	if ((b64 = rfx_itsm_base64(pair, strlen(pair))) == NULL)
		goto oom;
	rfx_outhttp_secret(j->http, b64);
	if (asprintf(&j->auth, "Authorization: Basic %s", b64) < 0) {
		j->auth = NULL;
		goto oom;
	}
	if ((rc = rfx_itsm_compile("summary", cfg->summary, 4096, &j->t_summary, err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("description", cfg->description, JIRA_RENDER_MAX, &j->t_desc,
				   err, errlen)) != 0 ||
	    (rc = rfx_itsm_compile("comment", cfg->comment, JIRA_RENDER_MAX, &j->t_comment, err,
				   errlen)) != 0 ||
	    (rc = rfx_itsm_compile("resolve_comment", cfg->resolve_comment, JIRA_RENDER_MAX,
				   &j->t_resolve, err, errlen)) != 0)
		goto fail;
	rfx_outhttp_url_for_log(j->base, j->shown, sizeof j->shown);
	j->created = host->counter(inst, "created_total", "Issues created");
	j->commented = host->counter(inst, "commented_total", "Comments added for updates");
	j->resolved = host->counter(inst, "resolved_total", "Issues transitioned to done");
	j->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	j->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (!j->created || !j->commented || !j->resolved || !j->failed || !j->retried) {
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	free(pair);
	free(b64);
	*state = j;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(pair);
	free(b64);
	jira_destroy(j);
	return rc;
}

#define JIRA_OPT(n, t, def, fl, member, desc)                                                 \
	{.name = (n), .type = (t), .default_value = (def), .flags = (fl), .description = (desc), \
	 .offset = offsetof(struct jira_config, member)}

static const rfx_option jira_options[] = {
	RFX_OUTHTTP_OPTIONS(struct jira_config, http, NULL, RFX_OPT_REQUIRED),
	JIRA_OPT("email", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, email,
		 "Email of the Atlassian account the API token belongs to."),
	JIRA_OPT("api_token", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED | RFX_OPT_SECRET, api_token,
		 "API token of that account (id.atlassian.com). A secret."),
	JIRA_OPT("project", RFX_OPT_STRING, NULL, 0, project,
		 "Key of the project issues are created in, e.g. OPS."),
	JIRA_OPT("issue_type", RFX_OPT_STRING, "Task", 0, issue_type,
		 "Name of the issue type of new issues (Task, Bug, Incident...)."),
	JIRA_OPT("summary", RFX_OPT_STRING, "[{{severity}}] {{check}} on {{host}}", 0, summary,
		 "Template of a new issue's summary (one line, cut at 255 characters)."),
	JIRA_OPT("description", RFX_OPT_STRING,
		 "Host: {{host}}\nCheck: {{check}}{{#service}}\nService: {{service}}{{/service}}\n"
		 "Severity: {{severity}}\nSince: {{time}}{{#message}}\n{{message}}{{/message}}\n"
		 "Opened by reflex (fingerprint {{fingerprint}}).",
		 0, description,
		 "Template of a new issue's description; each line becomes a paragraph."),
	JIRA_OPT("comment", RFX_OPT_STRING,
		 "[{{status}}] {{severity}}: {{check}} on {{host}} at {{time}}"
		 "{{#message}}\n{{message}}{{/message}}",
		 0, comment, "Template of the comment added for each update; empty: none."),
	JIRA_OPT("resolve_comment", RFX_OPT_STRING,
		 "Recovered at {{time}}: {{check}} on {{host}}{{#message}}\n{{message}}{{/message}}",
		 0, resolve_comment,
		 "Template of the comment added before resolving; empty: none."),
	JIRA_OPT("resolve_transition", RFX_OPT_STRING, "Done", 0, resolve_transition,
		 "Name of the transition (or of its target status) that resolves an issue; "
		 "matched case-insensitively."),
	JIRA_OPT("labels", RFX_OPT_LIST, NULL, 0, labels,
		 "More labels for new issues (the reflex-<hash> label is always set)."),
	JIRA_OPT("priority_map", RFX_OPT_MAP, NULL, 0, priority_map,
		 "Priority name per severity, e.g. {critical: Highest, error: High}; "
		 "severities not listed get the project's default."),
	JIRA_OPT("service_desk_id", RFX_OPT_STRING, NULL, 0, service_desk_id,
		 "Jira Service Management: create customer requests in this service desk "
		 "(with request_type_id) instead of issues."),
	JIRA_OPT("request_type_id", RFX_OPT_STRING, NULL, 0, request_type_id,
		 "Jira Service Management: the request type of new requests."),
	RFX_OPTION_END,
};

static const rfx_plugin jira_plugin = {
	RFX_PLUGIN_ABI,
	.name = "jira",
	.version = "1.0.0",
	.description = "Creates, comments on and resolves Jira Cloud issues (REST v3), one per "
		       "fingerprint or group, found by a reflex-<hash> label.",
	.kind = JIRA_KIND,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.emits = 0,
	.caps = 0,
	.options = jira_options,
	.config_size = sizeof(struct jira_config),
	.init = jira_init,
	.handle = jira_handle,
	.destroy = jira_destroy,
};

RFX_PLUGIN_DEFINE(jira_plugin)
