/*
 * plugins/outputs/email/email.c - the email output: sends events and
 * notices as MIME mail (text and HTML alternatives) over SMTP with libcurl
 * (smtp:// with STARTTLS, or smtps://), authenticated when a user is set.
 * Mails about one fingerprint (group) form a thread: the first one's
 * Message-ID and subject are kept in the instance's kv, later ones carry
 * In-Reply-To/References to it and "Re: <first subject>"; the resolution
 * ends the thread. The Message-ID is stable per delivery
 * (<reflex.DELIVERY.EVENT@from-domain>), so a resend after a lost answer is
 * recognisable as the same message.
 *
 * SMTP replies: 4xx transient (RETRY), 5xx permanent (FAIL); no reply
 * (connection, TLS, timeout) RETRY. One attempt per handle().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <reflex/plugin.h>

#include "../../common/template.h"
#include "email_mime.h"

#define EM_MAX_TO 50
#define EM_ADDR_MAX 320
#define EM_SUBJECT_BYTES 900
#define EM_BODY_BYTES (512 * 1024)
#define EM_KV_KEY_MAX 200

enum em_ssl { EM_SSL_NONE, EM_SSL_TRY, EM_SSL_ALL };
static const char *const em_ssl_values[] = {"none", "try", "all", NULL};

struct em_config {
	char *url;
	int use_ssl;
	char *username;
	char *password;
	char *from;
	struct rfx_strlist to;
	char *subject;
	char *text;
	char *html;
	bool thread;
	int64_t timeout_ms;
	int64_t connect_timeout_ms;
	char *ca_file;
	bool tls_verify;
};

struct em_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct em_config *cfg;
	char from_addr[EM_ADDR_MAX];
	const char *domain; /* in from_addr */
	char shown_url[256];
	rfx_otpl *subject, *text, *html;
	struct rfx_otpl_buf b_subject, b_text, b_html; /* handle() is serial */
	struct em_buf msg;
	rfx_metric *sent, *failed, *retried;
};

/* Reading the message into libcurl. */
struct em_reader {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct em_reader *r = arg;
	size_t n = size * nmemb;

	if (n > r->len - r->off)
		n = r->len - r->off;
	memcpy(ptr, r->data + r->off, n);
	r->off += n;
	return n;
}

/* The server's first 4xx/5xx reply line (libcurl hands SMTP replies to
 * the header callback), for the error message. */
struct em_reply {
	char last[200];
};

static size_t on_reply(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct em_reply *r = arg;
	size_t n = size * nitems, k = 0;

	/* the first refusal: libcurl's QUIT afterwards gets a 221 */
	if (n >= 3 && (ptr[0] == '4' || ptr[0] == '5') && r->last[0] == '\0') {
		for (; k < n && k + 1 < sizeof r->last && ptr[k] != '\r' && ptr[k] != '\n'; k++)
			r->last[k] = isprint((unsigned char)ptr[k]) ? ptr[k] : ' ';
		r->last[k] = '\0';
	}
	return n;
}

/* The thread's kv key: the fingerprint or the group, bounded. */
static void thread_key(const rfx_record *rec, char *out, size_t len)
{
	const char *id = rec->type == RFX_REC_EVENT ? rfx_event_fingerprint(rec->u.event)
						    : rec->u.notice->group_key;
	const char *pfx = rec->type == RFX_REC_EVENT ? "thread:fp:" : "thread:group:";

	out[0] = '\0';
	if (id == NULL || id[0] == '\0')
		return;
	if (strlen(id) + strlen(pfx) <= EM_KV_KEY_MAX) {
		snprintf(out, len, "%s%s", pfx, id);
	} else {
		uint64_t h = 1469598103934665603ULL; /* FNV-1a: long keys get a digest */

		for (const char *p = id; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		snprintf(out, len, "%sh%016" PRIx64, pfx, h);
	}
}

/* One SMTP transaction. Returns the result; msg says why when not OK. */
static rfx_result smtp_send(struct em_out *e, const char *data, size_t len, char *msg,
			    size_t msglen)
{
	const struct em_config *cfg = e->cfg;
	struct em_reader rd = {data, len, 0};
	struct em_reply reply = {""};
	struct curl_slist *rcpt = NULL;
	char from[EM_ADDR_MAX + 2], addr[EM_ADDR_MAX], ebuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode cc;
	CURL *h = curl_easy_init();
	rfx_result res = RFX_RETRY;

	if (h == NULL) {
		snprintf(msg, msglen, "out of memory");
		return RFX_RETRY;
	}
	snprintf(from, sizeof from, "<%s>", e->from_addr);
	for (size_t i = 0; i < cfg->to.n; i++) {
		struct curl_slist *n;

		em_addr(cfg->to.v[i], addr, sizeof addr);
		n = curl_slist_append(rcpt, addr);
		if (n == NULL) {
			snprintf(msg, msglen, "out of memory");
			goto out;
		}
		rcpt = n;
	}
	curl_easy_setopt(h, CURLOPT_URL, cfg->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, cfg->use_ssl == EM_SSL_ALL   ? (long)CURLUSESSL_ALL
					     : cfg->use_ssl == EM_SSL_TRY ? (long)CURLUSESSL_TRY
									  : (long)CURLUSESSL_NONE);
	if (cfg->username != NULL && cfg->username[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->tls_verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_reply);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		res = RFX_OK;
	} else if (code >= 500 && code < 600) {
		res = RFX_FAIL;
		snprintf(msg, msglen, "SMTP %s (%s)", reply.last[0] ? reply.last : "5xx",
			 ebuf[0] ? ebuf : curl_easy_strerror(cc));
	} else if (code >= 400 && code < 500) {
		snprintf(msg, msglen, "SMTP %s (%s)", reply.last[0] ? reply.last : "4xx",
			 ebuf[0] ? ebuf : curl_easy_strerror(cc));
	} else if (cc == CURLE_USE_SSL_FAILED || cc == CURLE_LOGIN_DENIED ||
		   cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) {
		/* the server cannot do what the configuration demands */
		res = RFX_FAIL;
		snprintf(msg, msglen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
	} else {
		snprintf(msg, msglen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return res;
}

/* Removes credentials from a message (libcurl errors never carry them, but
 * a server may echo what it got). */
static void redact(const struct em_config *cfg, char *s)
{
	const char *secret = cfg->password;
	char *p;

	if (secret == NULL || strlen(secret) < 3)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		size_t sl = strlen(secret);

		memcpy(p, "***", 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
	}
}

static rfx_result em_handle(void *state, const rfx_record *rec)
{
	struct em_out *e = state;
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	struct em_message m = {0};
	char key[EM_KV_KEY_MAX + 32] = "", msgid[400], boundary[120], msg[256] = "";
	char *kept = NULL, *first_id = NULL, *first_subject = NULL, *subject = NULL, *val = NULL;
	const char *evid;
	bool resolved;
	rfx_result res = RFX_RETRY;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	if (n != NULL && n->nevents == 0)
		return RFX_DROP;
	evid = ev != NULL ? ev->id : n->events[0]->id;
	resolved = ev != NULL ? ev->status == RFX_STATUS_RESOLVED : n->status == RFX_STATUS_RESOLVED;
	if (rfx_otpl_render(e->subject, ev, n, &e->b_subject, NULL) != 0 ||
	    rfx_otpl_render(e->text, ev, n, &e->b_text, NULL) != 0 ||
	    rfx_otpl_render(e->html, ev, n, &e->b_html, NULL) != 0) {
		snprintf(msg, sizeof msg, "out of memory rendering the mail");
		goto out;
	}
	if (e->cfg->thread) {
		thread_key(rec, key, sizeof key);
		if (key[0] != '\0' && e->host->kv_get(e->inst, key, &kept) == 0 && kept != NULL &&
		    kept[0] == '<') {
			/* "<message-id> subject" */
			char *sp = strchr(kept, ' ');

			first_id = kept;
			if (sp != NULL) {
				*sp = '\0';
				first_subject = sp + 1;
			}
		}
	}
	snprintf(msgid, sizeof msgid, "<reflex.%" PRIu64 ".%s@%s>",
		 rec->delivery != NULL ? rec->delivery->id : (uint64_t)0, evid, e->domain);
	snprintf(boundary, sizeof boundary, "=_reflex_%" PRIu64 "_%s",
		 rec->delivery != NULL ? rec->delivery->id : (uint64_t)0, evid);
	if (first_id != NULL) {
		const char *base = first_subject != NULL ? first_subject : e->b_subject.data;

		if (asprintf(&subject, "%s%s", strncasecmp(base, "Re: ", 4) == 0 ? "" : "Re: ",
			     base) < 0) {
			subject = NULL;
			snprintf(msg, sizeof msg, "out of memory");
			goto out;
		}
	}
	m.from = e->cfg->from;
	m.to = (const char *const *)e->cfg->to.v;
	m.nto = e->cfg->to.n;
	m.subject = subject != NULL ? subject : e->b_subject.data;
	m.message_id = msgid;
	m.in_reply_to = first_id;
	m.text = e->b_text.data;
	m.text_len = e->b_text.len;
	m.html = e->b_html.data;
	m.html_len = e->b_html.len;
	m.boundary = boundary;
	m.date = e->host->now_ns() / 1000000000;
	m.event_id = evid;
	if (em_build(&e->msg, &m) != 0) {
		snprintf(msg, sizeof msg, "out of memory building the mail");
		goto out;
	}
	res = smtp_send(e, e->msg.data, e->msg.len, msg, sizeof msg);
	if (res == RFX_OK && key[0] != '\0') {
		if (resolved) {
			if (first_id != NULL)
				e->host->kv_del(e->inst, key); /* what fires next starts a new thread */
		} else if (first_id == NULL) {
			if (asprintf(&val, "%s %s", msgid, e->b_subject.data) < 0)
				val = NULL;
			if (val == NULL ||
			    e->host->kv_put(e->inst, key, val) != 0)
				e->host->log(e->inst, RFX_LOG_WARNING, "cannot keep the thread of %s: "
					     "updates will start new threads", key);
		}
	}
out:
	if (res == RFX_OK) {
		e->host->metric_add(e->sent, 1);
	} else {
		redact(e->cfg, msg);
		e->host->metric_add(res == RFX_RETRY ? e->retried : e->failed, 1);
		if (rec->delivery != NULL) {
			rec->delivery->retry_after_ms = 0;
			snprintf(rec->delivery->error, sizeof rec->delivery->error, "%s", msg);
		}
		e->host->log(e->inst, RFX_LOG_WARNING, "mail via %s: %s (%s)", e->shown_url, msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	free(kept);
	free(subject);
	free(val);
	return res;
}

static void em_destroy(void *state)
{
	struct em_out *e = state;

	if (e == NULL)
		return;
	rfx_otpl_free(e->subject);
	rfx_otpl_free(e->text);
	rfx_otpl_free(e->html);
	rfx_otpl_buf_free(&e->b_subject);
	rfx_otpl_buf_free(&e->b_text);
	rfx_otpl_buf_free(&e->b_html);
	em_buf_free(&e->msg);
	free(e);
}

static int compile(const char *opt, const char *src, rfx_otpl_escape esc, size_t max,
		   rfx_otpl **out, char *err, size_t errlen)
{
	struct rfx_otpl_error er;
	char where[200];

	*out = rfx_otpl_compile(src, esc, max, &er);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&er, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

/* "scheme://host:port" of the url, for logs. */
static void url_for_log(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://"), *end, *at;

	if (p == NULL) {
		snprintf(out, len, "?");
		return;
	}
	end = strchr(p + 3, '/');
	if (end == NULL)
		end = p + strlen(p);
	at = memchr(p + 3, '@', (size_t)(end - p - 3));
	if (at != NULL) /* userinfo never reaches a log */
		snprintf(out, len, "%.*s://%.*s", (int)(p - url), url, (int)(end - at - 1), at + 1);
	else
		snprintf(out, len, "%.*s", (int)(end - url), url);
}

static int em_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct em_config *cfg = config;
	struct em_out *e;
	char addr[EM_ADDR_MAX];
	int rc = RFX_EINVAL;

	if (strncasecmp(cfg->url, "smtp://", 7) != 0 && strncasecmp(cfg->url, "smtps://", 8) != 0) {
		snprintf(err, errlen, "url: must start with smtp:// (STARTTLS per use_ssl) or "
			 "smtps:// (TLS from the start), e.g. smtp://mail.example.com:587");
		return RFX_EINVAL;
	}
	if (cfg->to.n == 0 || cfg->to.n > EM_MAX_TO) {
		snprintf(err, errlen, "to: 1 to %d addresses", EM_MAX_TO);
		return RFX_EINVAL;
	}
	for (size_t i = 0; i < cfg->to.n; i++) {
		em_addr(cfg->to.v[i], addr, sizeof addr);
		if (addr[0] == '\0' || strpbrk(cfg->to.v[i], "\r\n") != NULL) {
			snprintf(err, errlen, "to[%zu]: '%s' is not an address (user@example.com or "
				 "Name <user@example.com>)", i, cfg->to.v[i]);
			return RFX_EINVAL;
		}
		for (const char *p = cfg->to.v[i]; *p; p++)
			if ((unsigned char)*p > 126) {
				snprintf(err, errlen, "to[%zu]: ASCII only", i);
				return RFX_EINVAL;
			}
	}
	for (const char *p = cfg->from; *p; p++)
		if ((unsigned char)*p > 126 || *p == '\r' || *p == '\n') {
			snprintf(err, errlen, "from: ASCII only, on one line");
			return RFX_EINVAL;
		}
	if ((cfg->username != NULL && cfg->username[0] != '\0') !=
	    (cfg->password != NULL && cfg->password[0] != '\0')) {
		snprintf(err, errlen, "username and password go together");
		return RFX_EINVAL;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	e->inst = inst;
	e->host = host;
	e->cfg = cfg;
	em_addr(cfg->from, e->from_addr, sizeof e->from_addr);
	if (e->from_addr[0] == '\0') {
		snprintf(err, errlen, "from: '%s' is not an address (reflex@example.com or "
			 "Reflex <reflex@example.com>)", cfg->from);
		goto fail;
	}
	e->domain = strrchr(e->from_addr, '@') + 1;
	if ((rc = compile("subject", cfg->subject, RFX_OTPL_ESC_NONE, EM_SUBJECT_BYTES, &e->subject,
			  err, errlen)) != 0 ||
	    (rc = compile("text", cfg->text, RFX_OTPL_ESC_NONE, EM_BODY_BYTES, &e->text, err,
			  errlen)) != 0 ||
	    (rc = compile("html", cfg->html, RFX_OTPL_ESC_HTML, EM_BODY_BYTES, &e->html, err,
			  errlen)) != 0)
		goto fail;
	rc = RFX_EINVAL;
	url_for_log(cfg->url, e->shown_url, sizeof e->shown_url);
	if (!cfg->tls_verify)
		host->log(inst, RFX_LOG_WARNING, "tls_verify is false: the mail server's "
			  "certificate is not checked");
	if (cfg->use_ssl == EM_SSL_NONE && strncasecmp(cfg->url, "smtp://", 7) == 0 &&
	    cfg->username != NULL && cfg->username[0] != '\0')
		host->log(inst, RFX_LOG_WARNING, "use_ssl is none: the password is sent without "
			  "TLS");
	e->sent = host->counter(inst, "sent_total", "Mails the server accepted");
	e->failed = host->counter(inst, "failed_total", "Mails refused for good (5xx, FAIL)");
	e->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (e->sent == NULL || e->failed == NULL || e->retried == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = e;
	return 0;
fail:
	em_destroy(e);
	return rc;
}

static const rfx_option em_options[] = {
	{
		.name = "url",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "Mail server: smtp://host:587 (STARTTLS per use_ssl) or "
			       "smtps://host:465 (TLS from the start).",
		.offset = offsetof(struct em_config, url),
	},
	{
		.name = "use_ssl",
		.type = RFX_OPT_ENUM,
		.default_value = "all",
		.enum_values = em_ssl_values,
		.description = "smtp:// only: all = STARTTLS required, try = STARTTLS when "
			       "offered, none = plain text.",
		.offset = offsetof(struct em_config, use_ssl),
	},
	{
		.name = "username",
		.type = RFX_OPT_STRING,
		.description = "SMTP AUTH user (with password).",
		.offset = offsetof(struct em_config, username),
	},
	{
		.name = "password",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "SMTP AUTH password. A secret.",
		.offset = offsetof(struct em_config, password),
	},
	{
		.name = "from",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "Sender, reflex@example.com or 'Reflex <reflex@example.com>' "
			       "(ASCII); its domain ends the Message-IDs.",
		.offset = offsetof(struct em_config, from),
	},
	{
		.name = "to",
		.type = RFX_OPT_LIST,
		.flags = RFX_OPT_REQUIRED,
		.description = "Recipients (1 to 50), each user@example.com or 'Name <user@...>'.",
		.offset = offsetof(struct em_config, to),
	},
	{
		.name = "subject",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{severity}}: {{check}} on {{host}}",
		.description = "Template of the subject (UTF-8; encoded per RFC 2047 when needed). "
			       "Later mails of a thread use 'Re: ' and the first one's subject.",
		.offset = offsetof(struct em_config, subject),
	},
	{
		.name = "text",
		.type = RFX_OPT_STRING,
		.default_value = "{{#events}}[{{status}}] {{severity}}: {{check}} on {{host}}\n"
				 "{{#service}}Service:  {{service}}\n{{/service}}"
				 "Time:     {{time}}\n{{#message}}\n{{message}}\n{{/message}}"
				 "{{#labels}}\nLabels:   {{labels}}\n{{/labels}}"
				 "Event:    {{id}}\n\n{{/events}}-- \nreflex\n",
		.description = "Template of the text/plain part.",
		.offset = offsetof(struct em_config, text),
	},
	{
		.name = "html",
		.type = RFX_OPT_STRING,
		.default_value = "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n"
				 "{{#events}}<h3>[{{status}}] {{severity}}: {{check}} on {{host}}</h3>\n"
				 "<table>\n{{#service}}<tr><th align=\"left\">Service</th><td>{{service}}"
				 "</td></tr>\n{{/service}}<tr><th align=\"left\">Time</th><td>{{time}}"
				 "</td></tr>\n{{#labels}}<tr><th align=\"left\">Labels</th><td>{{labels}}"
				 "</td></tr>\n{{/labels}}<tr><th align=\"left\">Event</th><td>{{id}}</td>"
				 "</tr>\n</table>\n{{#message}}<pre>{{message}}</pre>\n{{/message}}"
				 "{{/events}}</body></html>\n",
		.description = "Template of the text/html part; values are HTML-escaped.",
		.offset = offsetof(struct em_config, html),
	},
	{
		.name = "thread",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Thread the mails of one fingerprint (group): In-Reply-To and "
			       "References to the first, 'Re: ' subject; the resolution ends it.",
		.offset = offsetof(struct em_config, thread),
	},
	{
		.name = "timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "30s",
		.flags = RFX_OPT_RANGE,
		.min = 100,
		.max = 600000,
		.description = "Whole SMTP transaction; past it the attempt is retried.",
		.offset = offsetof(struct em_config, timeout_ms),
	},
	{
		.name = "connect_timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "10s",
		.flags = RFX_OPT_RANGE,
		.min = 100,
		.max = 300000,
		.description = "Connecting (TCP and TLS handshake).",
		.offset = offsetof(struct em_config, connect_timeout_ms),
	},
	{
		.name = "ca_file",
		.type = RFX_OPT_STRING,
		.description = "PEM file of CA certificates to verify the server with.",
		.offset = offsetof(struct em_config, ca_file),
	},
	{
		.name = "tls_verify",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Verify the server's certificate and name (false: tests only).",
		.offset = offsetof(struct em_config, tls_verify),
	},
	RFX_OPTION_END,
};

static const rfx_plugin em_plugin = {
	RFX_PLUGIN_ABI,
	.name = "email",
	.version = "1.0.0",
	.description = "Sends events and notices as threaded MIME mail (text + HTML) over SMTP.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.options = em_options,
	.config_size = sizeof(struct em_config),
	.init = em_init,
	.handle = em_handle,
	.destroy = em_destroy,
};

RFX_PLUGIN_DEFINE(em_plugin)
