/*
 * tests/unit/test_http.c - the embedded HTTP server (core/http.c) and the
 * core REST routes (core/api.c), exercised over real sockets with libcurl
 * against a server on 127.0.0.1 with an ephemeral port.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/Basic.h>
#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

/* ---- client helper ------------------------------------------------------ */

struct reply {
	long status;
	char *body;
	size_t body_len;
	char *headers; /* raw header block */
	size_t headers_len;
	CURLcode rc;
};

static size_t collect(char *p, size_t sz, size_t n, void *arg, char **buf, size_t *len)
{
	size_t add = sz * n;
	char *g = realloc(*buf, *len + add + 1);
	if (!g)
		return 0;
	memcpy(g + *len, p, add);
	*len += add;
	g[*len] = '\0';
	*buf = g;
	return add;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	return collect(p, sz, n, arg, &r->body, &r->body_len);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	return collect(p, sz, n, arg, &r->headers, &r->headers_len);
}

/* Streams `total` bytes of 'x' in pieces of at most 700 bytes. */
struct upload {
	size_t total, sent;
};

static size_t on_read(char *p, size_t sz, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = sz * n, left = u->total - u->sent;
	if (want > 700)
		want = 700;
	if (want > left)
		want = left;
	memset(p, 'x', want);
	u->sent += want;
	return want;
}

static void reply_free(struct reply *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

/* Value of a response header (first match, case-insensitive) copied into
 * out; false when absent. */
static bool reply_header(const struct reply *r, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = r->headers;

	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
		if (linelen > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(linelen - (size_t)(v - p)), v);
			return true;
		}
		p = eol ? eol + 2 : NULL;
	}
	return false;
}

static int port;

/* One request. body NULL = none; chunked streams upload_len bytes without
 * Content-Length; extra is a NULL-terminated list of header lines. */
static struct reply http_do(const char *method, const char *path, const char *const *extra,
			    const char *body, size_t upload_len, bool chunked)
{
	struct reply r = {0};
	struct upload up = {upload_len, 0};
	struct curl_slist *hdrs = NULL;
	char url[512];
	CURL *c = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	for (size_t i = 0; extra && extra[i]; i++)
		hdrs = curl_slist_append(hdrs, extra[i]);
	if (chunked) {
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	r.rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

static struct reply http_get(const char *path)
{
	return http_do("GET", path, NULL, NULL, 0, false);
}

/* Asserts r carries the error JSON shape with this status and code. */
static void assert_error(const struct reply *r, int status, const char *code)
{
	struct json_object *root, *e, *v;

	CU_ASSERT_EQUAL(r->status, status);
	root = r->body ? json_tokener_parse(r->body) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_TRUE(json_object_object_get_ex(root, "error", &e));
	CU_ASSERT_TRUE(json_object_object_get_ex(e, "status", &v) &&
		       json_object_get_int(v) == status);
	CU_ASSERT_TRUE(json_object_object_get_ex(e, "code", &v) &&
		       strcmp(json_object_get_string(v), code) == 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(e, "message", &v) &&
		       json_object_is_type(v, json_type_string) &&
		       json_object_get_string_len(v) > 0);
	json_object_put(root);
}

/* The error message of an error reply (static buffer). */
static const char *error_message(const struct reply *r)
{
	static char msg[512];
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *e, *m;

	msg[0] = '\0';
	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_object_get_ex(e, "message", &m))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(m));
	json_object_put(root);
	return msg;
}

/* ---- test handlers ------------------------------------------------------ */

static int handler_calls;
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static bool block_entered, block_release;

static void h_hello(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	__atomic_add_fetch(&handler_calls, 1, __ATOMIC_SEQ_CST);
	resp->body = strdup("{\"hello\":true}");
	resp->body_len = strlen(resp->body);
}

/* Echoes method, param, role and body length/content. */
static void h_echo(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	struct json_object *o = json_object_new_object();
	size_t len;
	const char *body = rfx_http_req_body(req, &len);
	const char *q = rfx_http_req_query(req, "x");

	__atomic_add_fetch(&handler_calls, 1, __ATOMIC_SEQ_CST);
	json_object_object_add(o, "method", json_object_new_string(rfx_http_req_method(req)));
	json_object_object_add(o, "path", json_object_new_string(rfx_http_req_path(req)));
	if (rfx_http_req_param(req))
		json_object_object_add(o, "param",
				       json_object_new_string(rfx_http_req_param(req)));
	json_object_object_add(o, "role", json_object_new_int(rfx_http_req_role(req)));
	json_object_object_add(o, "len", json_object_new_int64((int64_t)len));
	json_object_object_add(o, "body", json_object_new_string_len(body, (int)len));
	if (q)
		json_object_object_add(o, "x", json_object_new_string(q));
	if (rfx_http_req_header(req, "X-Test"))
		json_object_object_add(o, "xtest",
				       json_object_new_string(rfx_http_req_header(req, "X-Test")));
	rfx_http_json(resp, 200, o);
	json_object_put(o);
}

static void h_busy(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	rfx_http_error(resp, 503, "queue_full", "queue %s is full", "ingress");
	resp->retry_after = 7;
}

static void h_status_zero(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	resp->status = 0;
	resp->body = strdup("{}");
	resp->body_len = 2;
}

static void h_bad_status(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	resp->status = 42;
}

static void h_text(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	resp->body = strdup("plain words");
	resp->body_len = strlen(resp->body);
	resp->content_type = "text/plain";
	resp->status = 201;
}

static void h_block(void *arg, const rfx_http_request *req, rfx_http_response *resp)
{
	pthread_mutex_lock(&block_lock);
	block_entered = true;
	pthread_cond_broadcast(&block_cond);
	while (!block_release)
		pthread_cond_wait(&block_cond, &block_lock);
	pthread_mutex_unlock(&block_lock);
	resp->body = strdup("{\"blocked\":false}");
	resp->body_len = strlen(resp->body);
}

/* ---- server fixture ----------------------------------------------------- */

static const struct rfx_http_token tokens[] = {
	{"viewer-secret", RFX_ROLE_VIEWER},
	{"operator-secret", RFX_ROLE_OPERATOR},
	{"admin-secret", RFX_ROLE_ADMIN},
};

static rfx_http *server_start(const struct rfx_http_token *toks, size_t ntoks)
{
	struct rfx_http_opts o = {
		.listen = "127.0.0.1:0",
		.max_body = 1024,
		.timeout_ms = 5000,
		.max_connections = 16,
		.tokens = toks,
		.ntokens = ntoks,
	};
	char err[256] = "";
	rfx_http *h = rfx_http_new(&o, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/hello", RFX_ROLE_NONE, h_hello, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "POST", "/echo", RFX_ROLE_NONE, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/items/{}", RFX_ROLE_NONE, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "DELETE", "/items/{}", RFX_ROLE_ADMIN, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/items/special", RFX_ROLE_NONE, h_hello, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "POST", "/items/{}/retry", RFX_ROLE_NONE, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/view", RFX_ROLE_VIEWER, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "POST", "/op", RFX_ROLE_OPERATOR, h_echo, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/busy", RFX_ROLE_NONE, h_busy, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/zero", RFX_ROLE_NONE, h_status_zero, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/badstatus", RFX_ROLE_NONE, h_bad_status, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/text", RFX_ROLE_NONE, h_text, NULL, "test"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/block", RFX_ROLE_NONE, h_block, NULL, "test"), 0);
	CU_ASSERT_EQUAL_FATAL(rfx_http_start(h, err, sizeof(err)), 0);
	port = rfx_http_port(h);
	CU_ASSERT_TRUE(port > 0);
	return h;
}

/* ---- routing ------------------------------------------------------------ */

static void test_http_unknown_path_is_404_error_json(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_get("/nope");
	char ct[128];

	CU_ASSERT_EQUAL(r.rc, CURLE_OK);
	assert_error(&r, 404, "not_found");
	CU_ASSERT_TRUE(reply_header(&r, "Content-Type", ct, sizeof(ct)) &&
		       strcmp(ct, "application/json") == 0);
	reply_free(&r);
	/* A trailing slash is another path. */
	r = http_get("/hello/");
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_other_method_is_405_with_allow(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_do("POST", "/hello", NULL, "{}", 0, false);
	char allow[128];

	assert_error(&r, 405, "method_not_allowed");
	CU_ASSERT_TRUE(reply_header(&r, "Allow", allow, sizeof(allow)));
	CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
	reply_free(&r);

	r = http_do("PUT", "/items/abc", NULL, "{}", 0, false);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_TRUE(reply_header(&r, "Allow", allow, sizeof(allow)));
	CU_ASSERT_PTR_NOT_NULL(strstr(allow, "GET"));
	CU_ASSERT_PTR_NOT_NULL(strstr(allow, "DELETE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(allow, "HEAD"));
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_exact_route_runs_handler_with_default_headers(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_get("/hello");
	char v[128];

	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"hello\":true}");
	CU_ASSERT_TRUE(reply_header(&r, "Content-Type", v, sizeof(v)) &&
		       strcmp(v, "application/json") == 0);
	CU_ASSERT_TRUE(reply_header(&r, "Cache-Control", v, sizeof(v)) &&
		       strcmp(v, "no-store") == 0);
	CU_ASSERT_FALSE(reply_header(&r, "Retry-After", v, sizeof(v)));
	reply_free(&r);

	r = http_get("/text");
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_STRING_EQUAL(r.body, "plain words");
	CU_ASSERT_TRUE(reply_header(&r, "Content-Type", v, sizeof(v)) &&
		       strcmp(v, "text/plain") == 0);
	reply_free(&r);

	r = http_do("HEAD", "/hello", NULL, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NULL(r.body);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_param_route_passes_decoded_segment(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_get("/items/a%20b%C3%A9?x=1%2B2");
	struct json_object *o;

	CU_ASSERT_EQUAL(r.status, 200);
	o = json_tokener_parse(r.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "param")),
			       "a b\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "path")),
			       "/items/a b\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "x")), "1+2");
	json_object_put(o);
	reply_free(&r);

	/* An exact route wins over the "{}" route. */
	r = http_get("/items/special");
	CU_ASSERT_STRING_EQUAL(r.body, "{\"hello\":true}");
	reply_free(&r);

	/* "{}" is exactly one non-empty segment. */
	r = http_get("/items/a/b");
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	/* ... also when a literal segment follows it */
	r = http_do("POST", "/items/42/retry", NULL, "", 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"param\":\"42\""));
	reply_free(&r);
	r = http_do("POST", "/items/42/retry/x", NULL, "", 0, false);
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	r = http_do("POST", "/items//retry", NULL, "", 0, false);
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	r = http_do("POST", "/items/42/other", NULL, "", 0, false);
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	r = http_get("/items/");
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	r = http_get("/items");
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_route_rejects_duplicates_and_bad_paths(void)
{
	struct rfx_http_opts o = {.listen = "127.0.0.1:0", .max_body = 100};
	char err[256];
	rfx_http *h = rfx_http_new(&o, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a", RFX_ROLE_NONE, h_hello, NULL, "one"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a", RFX_ROLE_NONE, h_hello, NULL, "two"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "POST", "/a", RFX_ROLE_NONE, h_hello, NULL, "two"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}", RFX_ROLE_NONE, h_hello, NULL, "two"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "a", RFX_ROLE_NONE, h_hello, NULL, "x"), RFX_EINVAL);
	/* a parameter may be followed by one literal segment, no more */
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/b", RFX_ROLE_NONE, h_hello, NULL, "x"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/b", RFX_ROLE_NONE, h_hello, NULL, "y"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/c", RFX_ROLE_NONE, h_hello, NULL, "x"), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/b/c", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/{}", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/a/{}/", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/b{}", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/q?x=1", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "get", "/c", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/c", RFX_ROLE_NONE, NULL, NULL, "x"), RFX_EINVAL);
	CU_ASSERT_EQUAL_FATAL(rfx_http_start(h, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/late", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	rfx_http_stop(h);
	rfx_http_stop(h); /* safe twice */
	rfx_http_free(h);
}

static void test_http_listen_addresses_parse_and_bind(void)
{
	struct rfx_http_opts o = {.max_body = 100};
	const char *bad[] = {"", "3009", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000",
			     "::1:3009", "[::1]3009", "[::1", "no.such.host.invalid:1"};
	const char *good[] = {"127.0.0.1:0", "localhost:0", ":0", "[::1]:0", "0.0.0.0:3009"};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.listen = bad[i];
		err[0] = '\0';
		rfx_http *h = rfx_http_new(&o, err, sizeof(err));
		CU_ASSERT_PTR_NULL(h);
		CU_ASSERT_TRUE(strlen(err) > 0);
		rfx_http_free(h);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		o.listen = good[i];
		rfx_http *h = rfx_http_new(&o, err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL(h);
		rfx_http_free(h);
	}

	/* Port 0 reports the bound port; binding it again fails with a message. */
	o.listen = "localhost:0";
	rfx_http *a = rfx_http_new(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(rfx_http_start(a, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(rfx_http_port(a) > 0);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rfx_http_port(a));
	o.listen = addr;
	rfx_http *b = rfx_http_new(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	err[0] = '\0';
	CU_ASSERT_TRUE(rfx_http_start(b, err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, addr));
	rfx_http_free(b);
	rfx_http_free(a);
}

/* ---- bodies ------------------------------------------------------------- */

static void test_http_body_within_limit_reaches_handler(void)
{
	rfx_http *h = server_start(NULL, 0);
	char body[1025];
	struct reply r;
	struct json_object *o;

	memset(body, 'a', 1024);
	body[1024] = '\0';
	r = http_do("POST", "/echo", NULL, body, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	o = json_tokener_parse(r.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(o, "len")), 1024);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "body")), body);
	json_object_put(o);
	reply_free(&r);

	/* Streamed without Content-Length, in pieces. */
	r = http_do("POST", "/echo", NULL, NULL, 1000, true);
	CU_ASSERT_EQUAL(r.status, 200);
	o = json_tokener_parse(r.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(o, "len")), 1000);
	json_object_put(o);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_body_over_limit_by_content_length_is_413(void)
{
	rfx_http *h = server_start(NULL, 0);
	char *body = malloc(4097);
	const char *const expect[] = {"Expect: 100-continue", NULL};
	struct reply r;
	int before = __atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST);

	memset(body, 'b', 4096);
	body[4096] = '\0';
	r = http_do("POST", "/echo", expect, body, 0, false);
	CU_ASSERT_EQUAL(r.rc, CURLE_OK);
	assert_error(&r, 413, "payload_too_large");
	CU_ASSERT_PTR_NOT_NULL(strstr(error_message(&r), "4096"));
	CU_ASSERT_EQUAL(__atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST), before);
	reply_free(&r);
	free(body);

	/* The server keeps serving. */
	r = http_get("/hello");
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_streamed_body_over_limit_is_413(void)
{
	rfx_http *h = server_start(NULL, 0);
	int before = __atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST);
	struct reply r = http_do("POST", "/echo", NULL, NULL, 8000, true);

	CU_ASSERT_EQUAL(r.rc, CURLE_OK);
	assert_error(&r, 413, "payload_too_large");
	CU_ASSERT_EQUAL(__atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST), before);
	reply_free(&r);
	rfx_http_free(h);
}

/* ---- auth --------------------------------------------------------------- */

static int role_of(const struct reply *r)
{
	struct json_object *o = r->body ? json_tokener_parse(r->body) : NULL;
	int role = o ? json_object_get_int(json_object_object_get(o, "role")) : -1;
	json_object_put(o);
	return role;
}

static void test_http_tokens_give_401_403_or_access_by_role(void)
{
	rfx_http *h = server_start(tokens, 3);
	const char *const viewer[] = {"Authorization: Bearer viewer-secret", NULL};
	const char *const op[] = {"Authorization: Bearer operator-secret", NULL};
	const char *const admin[] = {"Authorization: bearer  admin-secret ", NULL};
	const char *const wrong[] = {"Authorization: Bearer viewer-secreT", NULL};
	const char *const prefix[] = {"Authorization: Bearer viewer", NULL};
	const char *const basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
	char v[128];
	struct reply r;

	r = http_get("/view");
	assert_error(&r, 401, "unauthorized");
	CU_ASSERT_TRUE(reply_header(&r, "WWW-Authenticate", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "Bearer realm=\"reflex\"");
	reply_free(&r);

	const char *const *unknown[] = {wrong, prefix, basic};
	for (int i = 0; i < 3; i++) {
		r = http_do("GET", "/view", unknown[i], NULL, 0, false);
		assert_error(&r, 401, "unauthorized");
		CU_ASSERT_TRUE(reply_header(&r, "WWW-Authenticate", v, sizeof(v)));
		reply_free(&r);
	}

	r = http_do("GET", "/view", viewer, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(role_of(&r), RFX_ROLE_VIEWER);
	reply_free(&r);

	r = http_do("POST", "/op", viewer, "{}", 0, false);
	assert_error(&r, 403, "forbidden");
	reply_free(&r);

	r = http_do("POST", "/op", op, "{}", 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(role_of(&r), RFX_ROLE_OPERATOR);
	reply_free(&r);

	r = http_do("POST", "/op", admin, "{}", 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(role_of(&r), RFX_ROLE_ADMIN);
	reply_free(&r);

	r = http_do("DELETE", "/items/x", op, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 403);
	reply_free(&r);

	/* Routes with RFX_ROLE_NONE stay open. */
	r = http_get("/hello");
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	r = http_do("POST", "/echo", NULL, "{}", 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(role_of(&r), RFX_ROLE_NONE);
	reply_free(&r);

	/* Auth is decided before the body is read. */
	r = http_do("POST", "/op", NULL, NULL, 8000, true);
	CU_ASSERT_EQUAL(r.status, 401);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_without_tokens_everything_is_open_as_admin(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_do("POST", "/op", NULL, "{}", 0, false);

	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(role_of(&r), RFX_ROLE_ADMIN);
	reply_free(&r);
	r = http_do("DELETE", "/items/x", NULL, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	rfx_http_free(h);
}

/* ---- responses ---------------------------------------------------------- */

static void test_http_retry_after_header_and_error_json(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_get("/busy");
	char v[64];

	assert_error(&r, 503, "queue_full");
	CU_ASSERT_STRING_EQUAL(error_message(&r), "queue ingress is full");
	CU_ASSERT_TRUE(reply_header(&r, "Retry-After", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "7");
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_handler_status_zero_or_invalid_is_handled(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply r = http_get("/zero");

	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{}");
	reply_free(&r);
	r = http_get("/badstatus");
	assert_error(&r, 500, "internal");
	reply_free(&r);
	rfx_http_free(h);
}

static void test_http_error_helpers_build_json(void)
{
	rfx_http_response resp = {0};
	struct json_object *o, *e;

	rfx_http_error(&resp, 422, "invalid_event", "severity: unknown severity '%s'", "hgih");
	CU_ASSERT_EQUAL(resp.status, 422);
	CU_ASSERT_STRING_EQUAL(resp.content_type, "application/json");
	CU_ASSERT_EQUAL(resp.body_len, strlen(resp.body));
	CU_ASSERT_STRING_EQUAL(resp.body, "{\"error\":{\"status\":422,\"code\":\"invalid_event\","
					  "\"message\":\"severity: unknown severity 'hgih'\"}}");
	/* A second call replaces (and frees) the first body. */
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string("/a/b"));
	rfx_http_json(&resp, 202, o);
	json_object_put(o);
	CU_ASSERT_EQUAL(resp.status, 202);
	CU_ASSERT_STRING_EQUAL(resp.body, "{\"path\":\"/a/b\"}");
	free(resp.body);

	memset(&resp, 0, sizeof(resp));
	rfx_http_error(&resp, 400, "bad_request", "%s", "quote \" and newline \n");
	o = json_tokener_parse(resp.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "error", &e));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(e, "message")),
			       "quote \" and newline \n");
	json_object_put(o);
	free(resp.body);
}

/* ---- concurrency -------------------------------------------------------- */

static void *blocked_client(void *arg)
{
	struct reply *r = arg;
	*r = http_get("/block");
	return NULL;
}

static void test_http_blocking_handler_does_not_stall_other_requests(void)
{
	rfx_http *h = server_start(NULL, 0);
	struct reply blocked = {0}, r;
	pthread_t t;
	bool entered;

	block_entered = block_release = false;
	pthread_create(&t, NULL, blocked_client, &blocked);
	pthread_mutex_lock(&block_lock);
	while (!block_entered)
		pthread_cond_wait(&block_cond, &block_lock);
	pthread_mutex_unlock(&block_lock);

	r = http_get("/hello");
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);

	pthread_mutex_lock(&block_lock);
	entered = block_entered;
	CU_ASSERT_FALSE(block_release); /* the first request is still inside */
	block_release = true;
	pthread_cond_broadcast(&block_cond);
	pthread_mutex_unlock(&block_lock);
	pthread_join(t, NULL);
	CU_ASSERT_TRUE(entered);
	CU_ASSERT_EQUAL(blocked.status, 200);
	CU_ASSERT_STRING_EQUAL(blocked.body, "{\"blocked\":false}");
	reply_free(&blocked);
	rfx_http_free(h);
}

/* ---- api: fake store ---------------------------------------------------- */

#define FAKE_MAX 8

static struct {
	rfx_event *ev[FAKE_MAX];
	size_t n;
	int fail; /* return this from every call when non-zero */
	/* The last query, copied. */
	bool queried;
	char host[64], service[64], status[64], check[64], source[64], fingerprint[64];
	char text[64], cursor[64];
	bool cursor_set;
	int severity;
	int64_t since_ns, until_ns;
	size_t limit;
} fake;

static void copy_opt(char *dst, const char *src)
{
	snprintf(dst, 64, "%s", src ? src : "(null)");
}

static int fake_query(void *state, const rfx_event_query *q, rfx_event ***out, size_t *n,
		      char next[RFX_EVENT_ID_LEN + 1])
{
	size_t cnt;

	fake.queried = true;
	copy_opt(fake.host, q->host);
	copy_opt(fake.service, q->service);
	copy_opt(fake.status, q->status);
	copy_opt(fake.check, q->check);
	copy_opt(fake.source, q->source);
	copy_opt(fake.fingerprint, q->fingerprint);
	copy_opt(fake.text, q->text);
	copy_opt(fake.cursor, q->cursor);
	fake.severity = q->severity;
	fake.since_ns = q->since_ns;
	fake.until_ns = q->until_ns;
	fake.limit = q->limit;
	if (fake.fail)
		return fake.fail;
	cnt = fake.n < q->limit ? fake.n : q->limit;
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return RFX_ENOMEM;
	for (size_t i = 0; i < cnt; i++)
		(*out)[i] = rfx_event_ref(fake.ev[i]);
	*n = cnt;
	if (cnt < fake.n)
		snprintf(next, RFX_EVENT_ID_LEN + 1, "%s", fake.ev[cnt - 1]->id);
	else
		next[0] = '\0';
	return 0;
}

static int fake_get(void *state, const char *id, rfx_event **out)
{
	if (fake.fail)
		return fake.fail;
	for (size_t i = 0; i < fake.n; i++)
		if (strcmp(fake.ev[i]->id, id) == 0) {
			*out = rfx_event_ref(fake.ev[i]);
			return 0;
		}
	return RFX_ENOENT;
}

static int fake_count(void *state, uint64_t *n)
{
	if (fake.fail)
		return fake.fail;
	*n = fake.n;
	return 0;
}

static const rfx_store_ops fake_ops = {
	.size = sizeof(rfx_store_ops),
	.get_event = fake_get,
	.query_events = fake_query,
	.count_events = fake_count,
};

static const char *health_reason;

static const char *fake_health(void *arg)
{
	return health_reason;
}

static struct rfx_api_ctx api_ctx = {
	.store = &fake_ops,
	.agent_name = "edge-1",
	.version = "0.1.0",
	.health = fake_health,
};

static rfx_http *api_start(const struct rfx_http_token *toks, size_t ntoks)
{
	struct rfx_http_opts o = {.listen = "127.0.0.1:0", .max_body = 4096, .timeout_ms = 5000,
				  .max_connections = 8, .tokens = toks, .ntokens = ntoks};
	char err[256];
	rfx_http *h = rfx_http_new(&o, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL_FATAL(rfx_api_register(h, &api_ctx), 0);
	CU_ASSERT_EQUAL_FATAL(rfx_http_start(h, err, sizeof(err)), 0);
	port = rfx_http_port(h);
	return h;
}

static void fake_reset(void)
{
	for (size_t i = 0; i < fake.n; i++)
		rfx_event_unref(fake.ev[i]);
	memset(&fake, 0, sizeof(fake));
	health_reason = NULL;
	const char *hosts[] = {"web1", "web2", "db1"};
	for (size_t i = 0; i < 3; i++) {
		rfx_event *ev = rfx_event_new();
		rfx_event_id_new(ev->id);
		ev->received_ns = rfx_now_ns();
		rfx_event_set(ev, RFX_F_HOST, hosts[i]);
		rfx_event_set(ev, RFX_F_CHECK, "disk full");
		ev->severity = RFX_SEV_WARNING;
		fake.ev[fake.n++] = ev;
	}
}

static struct json_object *reply_json(const struct reply *r)
{
	return r->body ? json_tokener_parse(r->body) : NULL;
}

static void test_api_events_list_passes_filters_to_store(void)
{
	rfx_http *h;
	struct reply r;
	struct json_object *o, *events, *next;
	char path[512];
	int64_t now = rfx_now_ns();

	fake_reset();
	h = api_start(NULL, 0);
	snprintf(path, sizeof(path),
		 "/api/v1/events?host=web1&service=nginx&check=cpu%%20high&source=hook"
		 "&fingerprint=abc123&severity=warning&status=firing&since=15m"
		 "&until=2099-01-02T03:04:05Z&q=disk%%20full&limit=2&cursor=%s",
		 fake.ev[2]->id);
	r = http_get(path);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(fake.queried);
	CU_ASSERT_STRING_EQUAL(fake.host, "web1");
	CU_ASSERT_STRING_EQUAL(fake.service, "nginx");
	CU_ASSERT_STRING_EQUAL(fake.check, "cpu high");
	CU_ASSERT_STRING_EQUAL(fake.source, "hook");
	CU_ASSERT_STRING_EQUAL(fake.fingerprint, "abc123");
	CU_ASSERT_STRING_EQUAL(fake.status, "firing");
	CU_ASSERT_STRING_EQUAL(fake.text, "disk full");
	CU_ASSERT_STRING_EQUAL(fake.cursor, fake.ev[2]->id);
	CU_ASSERT_EQUAL(fake.severity, RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(fake.limit, 2);
	int64_t want_since = now - 15LL * 60 * 1000000000LL;
	CU_ASSERT_TRUE(fake.since_ns >= want_since - 5000000000LL &&
		       fake.since_ns <= want_since + 5000000000LL);
	int64_t until;
	CU_ASSERT_EQUAL(rfx_time_parse("2099-01-02T03:04:05Z", &until), 0);
	CU_ASSERT_EQUAL(fake.until_ns, until);

	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "events", &events));
	CU_ASSERT_EQUAL(json_object_array_length(events), 2);
	CU_ASSERT_STRING_EQUAL(
		json_object_get_string(json_object_object_get(json_object_array_get_idx(events, 0), "id")),
		fake.ev[0]->id);
	CU_ASSERT_STRING_EQUAL(
		json_object_get_string(json_object_object_get(json_object_array_get_idx(events, 1), "host")),
		"web2");
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "next_cursor", &next));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(next), fake.ev[1]->id);
	json_object_put(o);
	reply_free(&r);

	/* Defaults; the last page has next_cursor null. */
	r = http_get("/api/v1/events");
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fake.limit, 100);
	CU_ASSERT_EQUAL(fake.severity, -1);
	CU_ASSERT_STRING_EQUAL(fake.host, "(null)");
	CU_ASSERT_STRING_EQUAL(fake.cursor, "(null)");
	CU_ASSERT_EQUAL(fake.since_ns, 0);
	CU_ASSERT_EQUAL(fake.until_ns, 0);
	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(o, "events")), 3);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "next_cursor", &next));
	CU_ASSERT_PTR_NULL(next);
	json_object_put(o);
	reply_free(&r);

	r = http_get("/api/v1/events?severity=2&since=2020-01-01T00:00:00.5Z");
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fake.severity, 2);
	CU_ASSERT_EQUAL(fake.since_ns, 1577836800500000000LL);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_api_events_list_bad_parameter_is_400_naming_it(void)
{
	static const struct {
		const char *query, *needle;
	} cases[] = {
		{"severity=hgih", "severity: unknown severity 'hgih'"},
		{"severity=8", "severity"},
		{"status=open", "status"},
		{"since=yesterday", "since"},
		{"until=soon", "until"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=10x", "limit"},
		{"cursor=nope", "cursor"},
		{"hots=web1", "'hots'; did you mean 'host'"},
		{"bogus=1", "'bogus'"},
		{"host=a&host=b", "host: given more than once"},
		{"host=", "host: empty"},
		{"since=1h&until=2h", "until"},
	};
	rfx_http *h;

	fake_reset();
	h = api_start(NULL, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "/api/v1/events?%s", cases[i].query);
		fake.queried = false;
		struct reply r = http_get(path);
		assert_error(&r, 400, "bad_request");
		if (!strstr(error_message(&r), cases[i].needle))
			fprintf(stderr, "\n  %s -> %s\n", cases[i].query, error_message(&r));
		CU_ASSERT_PTR_NOT_NULL(strstr(error_message(&r), cases[i].needle));
		CU_ASSERT_FALSE(fake.queried);
		reply_free(&r);
	}
	rfx_http_free(h);
}

static void test_api_store_failure_is_503_with_retry_after(void)
{
	rfx_http *h;
	struct reply r;
	char v[32], path[128];

	fake_reset();
	h = api_start(NULL, 0);
	fake.fail = RFX_EIO;
	r = http_get("/api/v1/events");
	assert_error(&r, 503, "store_unavailable");
	CU_ASSERT_TRUE(reply_header(&r, "Retry-After", v, sizeof(v)) && strcmp(v, "1") == 0);
	reply_free(&r);

	snprintf(path, sizeof(path), "/api/v1/events/%s", fake.ev[0]->id);
	r = http_get(path);
	assert_error(&r, 503, "store_unavailable");
	CU_ASSERT_TRUE(reply_header(&r, "Retry-After", v, sizeof(v)) && strcmp(v, "1") == 0);
	reply_free(&r);

	r = http_get("/healthz");
	CU_ASSERT_EQUAL(r.status, 503);
	reply_free(&r);
	fake.fail = 0;
	rfx_http_free(h);
}

static void test_api_event_by_id_200_404_400(void)
{
	rfx_http *h;
	struct reply r;
	struct json_object *o;
	char path[128], lower[RFX_EVENT_ID_LEN + 1];

	fake_reset();
	h = api_start(NULL, 0);
	snprintf(path, sizeof(path), "/api/v1/events/%s", fake.ev[1]->id);
	r = http_get(path);
	CU_ASSERT_EQUAL(r.status, 200);
	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "id")),
			       fake.ev[1]->id);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "host")), "web2");
	json_object_put(o);
	reply_free(&r);

	/* ULIDs are case-insensitive. */
	for (size_t i = 0; i <= RFX_EVENT_ID_LEN; i++)
		lower[i] = (char)tolower((unsigned char)fake.ev[1]->id[i]);
	snprintf(path, sizeof(path), "/api/v1/events/%s", lower);
	r = http_get(path);
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);

	r = http_get("/api/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV");
	assert_error(&r, 404, "not_found");
	reply_free(&r);

	const char *bad[] = {"xyz", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
			     "01ARZ3NDEKTSV4RRFFQ69G5FAU", "81ARZ3NDEKTSV4RRFFQ69G5FAV"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/events/%s", bad[i]);
		r = http_get(path);
		assert_error(&r, 400, "bad_request");
		reply_free(&r);
	}
	rfx_http_free(h);
}

static void test_api_healthz_reports_ok_or_503(void)
{
	rfx_http *h;
	struct reply r;
	struct json_object *o;

	fake_reset();
	h = api_start(tokens, 3); /* /healthz needs no token */
	r = http_get("/healthz");
	CU_ASSERT_EQUAL(r.status, 200);
	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "status")), "ok");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "agent")), "edge-1");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "version")), "0.1.0");
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(o, "events")), 3);
	json_object_put(o);
	reply_free(&r);

	health_reason = "store unavailable";
	r = http_get("/healthz");
	CU_ASSERT_EQUAL(r.status, 503);
	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "status")),
			       "unavailable");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "reason")),
			       "store unavailable");
	json_object_put(o);
	reply_free(&r);
	health_reason = NULL;

	/* The event routes need a viewer token. */
	r = http_get("/api/v1/events");
	CU_ASSERT_EQUAL(r.status, 401);
	reply_free(&r);
	const char *const viewer[] = {"Authorization: Bearer viewer-secret", NULL};
	r = http_do("GET", "/api/v1/events", viewer, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	rfx_http_free(h);
}

static void test_api_metrics_is_prometheus_text(void)
{
	rfx_http *h;
	struct reply r;
	char ct[128];
	rfx_metric *m = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_test_requests_total",
				       "Requests in the test.", NULL);

	rfx_metric_add(m, 3);
	fake_reset();
	h = api_start(tokens, 3);
	r = http_get("/metrics");
	CU_ASSERT_EQUAL(r.status, 401);
	reply_free(&r);
	const char *const viewer[] = {"Authorization: Bearer viewer-secret", NULL};
	r = http_do("GET", "/metrics", viewer, NULL, 0, false);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(reply_header(&r, "Content-Type", ct, sizeof(ct)));
	CU_ASSERT_STRING_EQUAL(ct, "text/plain; version=0.0.4");
	CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "reflex_test_requests_total 3"));
	reply_free(&r);
	rfx_http_free(h);
}

static void test_api_register_twice_collides(void)
{
	struct rfx_http_opts o = {.listen = "127.0.0.1:0", .max_body = 100};
	char err[256];
	rfx_http *h = rfx_http_new(&o, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(rfx_api_register(h, NULL), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_api_register(NULL, &api_ctx), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_api_register(h, &api_ctx), 0);
	CU_ASSERT_EQUAL(rfx_api_register(h, &api_ctx), RFX_EINVAL);
	/* A plugin may not take a core path either. */
	CU_ASSERT_EQUAL(rfx_http_route(h, "GET", "/healthz", RFX_ROLE_NONE, h_hello, NULL, "x"),
			RFX_EINVAL);
	rfx_http_free(h);
}

static void test_api_openapi_is_json_with_paths(void)
{
	rfx_http *h;
	struct reply r;
	struct json_object *o, *paths, *v;
	static const char *const want[] = {"/api/v1/events/webhook", "/api/v1/events",
					    "/api/v1/events/{id}", "/healthz", "/metrics"};

	fake_reset();
	h = api_start(tokens, 3); /* the document is public */
	r = http_get("/api/v1/openapi.json");
	CU_ASSERT_EQUAL(r.status, 200);
	o = reply_json(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "openapi", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "3.0.3");
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "paths", &paths));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(paths, want[i], NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(
		json_object_object_get(json_object_object_get(o, "components"), "schemas"),
		"Event", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(
		json_object_object_get(json_object_object_get(o, "components"), "schemas"),
		"Error", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(
		json_object_object_get(json_object_object_get(o, "components"), "securitySchemes"),
		"bearerAuth", NULL));
	/* Every webhook status the brief lists is documented. */
	struct json_object *resps = json_object_object_get(
		json_object_object_get(json_object_object_get(paths, "/api/v1/events/webhook"),
				       "post"),
		"responses");
	static const char *const codes[] = {"202", "400", "401", "403", "413", "415", "422", "503"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(resps, codes[i], NULL));
	json_object_put(o);
	reply_free(&r);
	rfx_http_free(h);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	rfx_log_set_level(RFX_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_ALL);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("http", NULL, NULL);
	CU_add_test(s, "unknown path is 404 error json", test_http_unknown_path_is_404_error_json);
	CU_add_test(s, "other method is 405 with Allow", test_http_other_method_is_405_with_allow);
	CU_add_test(s, "exact route runs handler with default headers",
		    test_http_exact_route_runs_handler_with_default_headers);
	CU_add_test(s, "param route passes decoded segment",
		    test_http_param_route_passes_decoded_segment);
	CU_add_test(s, "route rejects duplicates and bad paths",
		    test_http_route_rejects_duplicates_and_bad_paths);
	CU_add_test(s, "listen addresses parse and bind", test_http_listen_addresses_parse_and_bind);
	CU_add_test(s, "body within limit reaches handler",
		    test_http_body_within_limit_reaches_handler);
	CU_add_test(s, "body over limit by Content-Length is 413",
		    test_http_body_over_limit_by_content_length_is_413);
	CU_add_test(s, "streamed body over limit is 413", test_http_streamed_body_over_limit_is_413);
	CU_add_test(s, "tokens give 401/403 or access by role",
		    test_http_tokens_give_401_403_or_access_by_role);
	CU_add_test(s, "without tokens everything is open as admin",
		    test_http_without_tokens_everything_is_open_as_admin);
	CU_add_test(s, "Retry-After header and error json",
		    test_http_retry_after_header_and_error_json);
	CU_add_test(s, "handler status zero or invalid is handled",
		    test_http_handler_status_zero_or_invalid_is_handled);
	CU_add_test(s, "error helpers build json", test_http_error_helpers_build_json);
	CU_add_test(s, "blocking handler does not stall other requests",
		    test_http_blocking_handler_does_not_stall_other_requests);
	CU_add_test(s, "api: events list passes filters to store",
		    test_api_events_list_passes_filters_to_store);
	CU_add_test(s, "api: events list bad parameter is 400 naming it",
		    test_api_events_list_bad_parameter_is_400_naming_it);
	CU_add_test(s, "api: store failure is 503 with Retry-After",
		    test_api_store_failure_is_503_with_retry_after);
	CU_add_test(s, "api: event by id 200/404/400", test_api_event_by_id_200_404_400);
	CU_add_test(s, "api: healthz reports ok or 503", test_api_healthz_reports_ok_or_503);
	CU_add_test(s, "api: metrics is prometheus text", test_api_metrics_is_prometheus_text);
	CU_add_test(s, "api: register twice collides", test_api_register_twice_collides);
	CU_add_test(s, "api: openapi is json with paths", test_api_openapi_is_json_with_paths);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	for (size_t i = 0; i < fake.n; i++)
		rfx_event_unref(fake.ev[i]);
	rfx_metrics_shutdown();
	curl_global_cleanup();
	return failures ? 1 : 0;
}
