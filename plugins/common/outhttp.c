/*
 * plugins/common/outhttp.c - the libcurl client of outhttp.h: a pool of
 * easy handles (one per concurrent request, kept for keep-alive), bounded
 * response capture, Retry-After, outcome classification and redaction.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "outhttp.h"

struct slot {
	CURL *h;
	bool busy;
};

struct rfx_outhttp {
	const struct rfx_outhttp_config *cfg;
	pthread_mutex_t lock; /* guards pool[].busy and pool[].h */
	struct slot pool[RFX_OUTHTTP_POOL];
	char *secrets[RFX_OUTHTTP_MAX_SECRETS];
	size_t nsecrets;
};

/* ---- redaction ------------------------------------------------------------ */

int rfx_outhttp_secret(rfx_outhttp *c, const char *secret)
{
	if (secret == NULL || strlen(secret) < 4)
		return 0; /* too short to redact without mangling ordinary text */
	if (c->nsecrets == RFX_OUTHTTP_MAX_SECRETS)
		return RFX_EFULL;
	if ((c->secrets[c->nsecrets] = strdup(secret)) == NULL)
		return RFX_ENOMEM;
	c->nsecrets++;
	return 0;
}

void rfx_outhttp_redact(const rfx_outhttp *c, char *buf, size_t len)
{
	if (c == NULL || buf == NULL || len == 0)
		return;
	for (size_t i = 0; i < c->nsecrets; i++) {
		const char *sec = c->secrets[i];
		size_t sl = strlen(sec);
		char *p;

		while ((p = strstr(buf, sec)) != NULL) {
			/* "***" is never longer than a registered secret (>= 4) */
			memcpy(p, "***", 3);
			memmove(p + 3, p + sl, strlen(p + sl) + 1);
		}
	}
}

void rfx_outhttp_url_for_log(const char *url, char *buf, size_t len)
{
	const char *p, *host, *end, *at;

	if (len == 0)
		return;
	if (url == NULL) {
		snprintf(buf, len, "(none)");
		return;
	}
	p = strstr(url, "://");
	host = p != NULL ? p + 3 : url;
	end = host + strcspn(host, "/?#");
	/* userinfo (user:password@) never goes to a log */
	at = memchr(host, '@', (size_t)(end - host));
	if (at != NULL)
		host = at + 1;
	snprintf(buf, len, "%.*s%.*s%s", p != NULL ? (int)(p + 3 - url) : 0, url,
		 (int)(end - host), host, *end != '\0' && strcmp(end, "/") != 0 ? "/..." : "");
}

/* ---- client --------------------------------------------------------------- */

rfx_outhttp *rfx_outhttp_new(const struct rfx_outhttp_config *cfg, const rfx_host *host,
			     rfx_instance *inst, char *err, size_t errlen)
{
	rfx_outhttp *c = NULL;
	CURLU *u = NULL;
	char *scheme = NULL;
	char shown[256];

	if (cfg->url == NULL || cfg->url[0] == '\0') {
		snprintf(err, errlen, "url: required");
		return NULL;
	}
	rfx_outhttp_url_for_log(cfg->url, shown, sizeof shown);
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "url: '%s' is not an http:// or https:// URL", shown);
		goto out;
	}
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0') {
		FILE *f = fopen(cfg->ca_file, "r");

		if (f == NULL) {
			snprintf(err, errlen, "ca_file: cannot read %s", cfg->ca_file);
			goto out;
		}
		fclose(f);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl");
		goto out;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		curl_global_cleanup();
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->cfg = cfg;
	pthread_mutex_init(&c->lock, NULL);
	if (!cfg->tls_verify && host != NULL)
		host->log(inst, RFX_LOG_WARNING,
			  "tls_verify: false: the certificate of %s is not checked; anyone on "
			  "the path can read and change these requests", shown);
out:
	curl_free(scheme);
	curl_url_cleanup(u);
	return c;
}

void rfx_outhttp_free(rfx_outhttp *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < RFX_OUTHTTP_POOL; i++)
		if (c->pool[i].h != NULL)
			curl_easy_cleanup(c->pool[i].h);
	for (size_t i = 0; i < c->nsecrets; i++)
		free(c->secrets[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
	curl_global_cleanup();
}

/* A handle for this request: an idle pooled one (its connections still
 * open), a new one in a free slot, or, with every slot busy, a one-off
 * that is cleaned up after the request (*slot = -1). */
static CURL *acquire(rfx_outhttp *c, int *slot)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	*slot = -1;
	for (int i = 0; i < RFX_OUTHTTP_POOL; i++) {
		if (!c->pool[i].busy && c->pool[i].h != NULL) {
			*slot = i;
			break;
		}
	}
	if (*slot < 0) {
		for (int i = 0; i < RFX_OUTHTTP_POOL; i++) {
			if (c->pool[i].h == NULL) {
				*slot = i;
				break;
			}
		}
	}
	if (*slot >= 0) {
		if (c->pool[*slot].h == NULL)
			c->pool[*slot].h = curl_easy_init();
		h = c->pool[*slot].h;
		if (h != NULL)
			c->pool[*slot].busy = true;
		else
			*slot = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (h == NULL)
		h = curl_easy_init();
	return h;
}

static void release(rfx_outhttp *c, CURL *h, int slot)
{
	if (slot < 0) {
		curl_easy_cleanup(h);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->pool[slot].busy = false;
	pthread_mutex_unlock(&c->lock);
}

struct capture {
	struct rfx_outhttp_response *resp;
	size_t max;
	size_t cap;
	bool oom;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct capture *cap = arg;
	struct rfx_outhttp_response *r = cap->resp;
	size_t n = size * nmemb, take = n;

	if (r->body_len + take > cap->max) {
		take = cap->max - r->body_len;
		r->body_truncated = true;
	}
	if (take > 0) {
		if (r->body_len + take + 1 > cap->cap) {
			size_t nc = cap->cap ? cap->cap : 1024;
			char *b;

			while (nc < r->body_len + take + 1)
				nc *= 2;
			b = realloc(r->body, nc);
			if (b == NULL) {
				cap->oom = true;
				return 0; /* aborts the transfer */
			}
			r->body = b;
			cap->cap = nc;
		}
		memcpy(r->body + r->body_len, ptr, take);
		r->body_len += take;
		r->body[r->body_len] = '\0';
	}
	return n; /* the rest is read and dropped, keeping the connection usable */
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct capture *cap = arg;
	size_t n = size * nitems;
	char v[128];

	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		size_t vl = n - 12;
		const char *p = ptr + 12;
		int64_t ms;

		while (vl > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			vl--;
		}
		while (vl > 0 && (p[vl - 1] == '\r' || p[vl - 1] == '\n' || p[vl - 1] == ' '))
			vl--;
		if (vl < sizeof v) {
			memcpy(v, p, vl);
			v[vl] = '\0';
			ms = rfx_outhttp_parse_retry_after(v, (int64_t)time(NULL));
			if (ms >= 0)
				cap->resp->retry_after_ms = ms;
		}
	} else if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue, say) starts afresh */
		cap->resp->retry_after_ms = 0;
	}
	return n;
}

int rfx_outhttp_request(rfx_outhttp *c, const char *method, const char *url,
			const char *const *headers, const char *body, size_t body_len,
			struct rfx_outhttp_response *resp)
{
	const struct rfx_outhttp_config *cfg = c->cfg;
	struct capture cap = {.resp = resp, .max = cfg->max_response ? cfg->max_response : 65536};
	struct curl_slist *hl = NULL, *t;
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode cc;
	int slot, rc = 0;

	memset(resp, 0, sizeof *resp);
	if (url == NULL)
		url = cfg->url;
	h = acquire(c, &slot);
	if (h == NULL) {
		snprintf(resp->error, sizeof resp->error, "out of memory");
		return RFX_ENOMEM;
	}
	/* reset keeps the handle's open connections, caches and TLS sessions */
	curl_easy_reset(h);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, headers[i])) == NULL)
			goto oom;
		hl = t;
	}
	/* no "Expect: 100-continue" round trip on larger bodies */
	if ((t = curl_slist_append(hl, "Expect:")) == NULL)
		goto oom;
	hl = t;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "reflex/0.1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &cap);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &cap);
	curl_easy_setopt(h, CURLOPT_PROXY, cfg->proxy != NULL ? cfg->proxy : "");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->tls_verify ? 2L : 0L);
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (method != NULL && strcmp(method, body != NULL ? "POST" : "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	cc = curl_easy_perform(h);
	if (cap.oom) {
		rc = RFX_ENOMEM;
		snprintf(resp->error, sizeof resp->error, "out of memory reading the response");
	} else if (cc != CURLE_OK) {
		resp->transport_error = (int)cc;
		resp->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
		resp->status = 0;
		/* the plugin's log line names the request; this says what failed */
		snprintf(resp->error, sizeof resp->error, "%s",
			 ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
		rc = resp->timed_out ? RFX_ETIMEDOUT : RFX_EIO;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	/* a handle whose transfer failed may hold a half-dead connection: the
	 * next request on it reconnects by itself, so it stays pooled */
	goto out;
oom:
	snprintf(resp->error, sizeof resp->error, "out of memory");
	rc = RFX_ENOMEM;
out:
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	release(c, h, slot);
	curl_slist_free_all(hl);
	rfx_outhttp_redact(c, resp->error, sizeof resp->error);
	return rc;
}

void rfx_outhttp_response_free(struct rfx_outhttp_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/* ---- outcomes ------------------------------------------------------------- */

int64_t rfx_outhttp_parse_retry_after(const char *v, int64_t now_s)
{
	int64_t ms;

	if (v == NULL || *v == '\0')
		return -1;
	if (isdigit((unsigned char)v[0])) {
		char *end;
		unsigned long long s = strtoull(v, &end, 10);

		while (*end == ' ')
			end++;
		if (*end != '\0')
			return -1;
		ms = s > (unsigned long long)(RFX_OUTHTTP_MAX_RETRY_AFTER_MS / 1000)
			     ? RFX_OUTHTTP_MAX_RETRY_AFTER_MS
			     : (int64_t)s * 1000;
		return ms;
	} else {
		time_t t = curl_getdate(v, NULL);

		if (t == (time_t)-1)
			return -1;
		ms = ((int64_t)t - now_s) * 1000;
	}
	if (ms < 0)
		ms = 0;
	if (ms > RFX_OUTHTTP_MAX_RETRY_AFTER_MS)
		ms = RFX_OUTHTTP_MAX_RETRY_AFTER_MS;
	return ms;
}

/* Copies s into out as one printable line, at most len - 1 bytes. */
static void one_line(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n' || ch == '\r')
			break;
		out[o++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	/* do not end on half a UTF-8 character */
	if (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		size_t k = o;

		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0) {
			unsigned char lead = (unsigned char)out[k - 1];
			size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;

			if (o - (k - 1) < want)
				o = k - 1;
		}
	}
	if (len > 0)
		out[o] = '\0';
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_object)) {
		const char *m = json_str(v, "message");

		return m != NULL ? m : json_str(v, "code");
	}
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0) {
		struct json_object *first = json_object_array_get_idx(v, 0);

		if (json_object_is_type(first, json_type_string))
			return json_object_get_string(first);
		if (json_object_is_type(first, json_type_object))
			return json_str(first, "message");
	}
	return NULL;
}

void rfx_outhttp_vendor_message(const rfx_outhttp *c, const char *body, size_t body_len,
				char *out, size_t len)
{
	static const char *const keys[] = {"error", "message", "error_description", "errors",
					   "detail", "title", NULL};
	struct json_tokener *tok;
	struct json_object *o = NULL;
	const char *m = NULL;

	if (len == 0)
		return;
	out[0] = '\0';
	if (body == NULL || body_len == 0)
		return;
	tok = json_tokener_new_ex(16);
	if (tok != NULL) {
		o = json_tokener_parse_ex(tok, body, (int)(body_len > 1048576 ? 1048576 : body_len));
		json_tokener_free(tok);
	}
	if (o != NULL && json_object_is_type(o, json_type_object)) {
		for (size_t i = 0; keys[i] != NULL && m == NULL; i++)
			m = json_str(o, keys[i]);
		if (m != NULL)
			one_line(m, strlen(m), out, len);
	} else if (o == NULL) {
		one_line(body, body_len, out, len);
	}
	json_object_put(o);
	rfx_outhttp_redact(c, out, len);
}

void rfx_outhttp_delivery_set(rfx_delivery *d, int64_t retry_after_ms, const char *error)
{
	if (d == NULL)
		return;
	d->retry_after_ms = retry_after_ms;
	snprintf(d->error, sizeof d->error, "%s", error != NULL ? error : "");
}

rfx_result rfx_outhttp_result(const rfx_outhttp *c, int rc,
			      const struct rfx_outhttp_response *resp, rfx_delivery *d, char *msg,
			      size_t msglen)
{
	char why[256] = "", vendor[200];
	rfx_result res;
	long st = resp->status;

	if (rc != 0 || st == 0) {
		snprintf(why, sizeof why, "%s", resp->error[0] ? resp->error : "no response");
		res = RFX_RETRY;
	} else if (st >= 200 && st < 300) {
		res = RFX_OK;
	} else {
		rfx_outhttp_vendor_message(c, resp->body, resp->body_len, vendor, sizeof vendor);
		res = st == 408 || st == 425 || st == 429 || st >= 500 ? RFX_RETRY : RFX_FAIL;
		snprintf(why, sizeof why, "HTTP %ld%s%.180s%s", st, vendor[0] ? ": " : "", vendor,
			 st >= 300 && st < 400 ? " (redirects are not followed; fix the url)" : "");
	}
	rfx_outhttp_redact(c, why, sizeof why);
	if (msg != NULL && msglen > 0)
		snprintf(msg, msglen, "%s", why);
	if (res != RFX_OK)
		rfx_outhttp_delivery_set(d, res == RFX_RETRY ? resp->retry_after_ms : 0, why);
	return res;
}
