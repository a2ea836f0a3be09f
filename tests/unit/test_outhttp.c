/*
 * tests/unit/test_outhttp.c - the output plugins' HTTP client
 * (plugins/common/outhttp.c) against a local libmicrohttpd server on a free
 * loopback port: results for 2xx/4xx/429/5xx, Retry-After in both forms,
 * timeouts, connections closed without an answer, bounded bodies,
 * keep-alive, and secrets kept out of every message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "../../plugins/common/outhttp.h"
#include "testutil.h"

#define SECRET "xoxb-1234-SECRETTOKEN"

static struct MHD_Daemon *daemon_;
static unsigned short port;
static int connections; /* connections the server accepted */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_method[16], last_auth[128], last_ctype[128], last_idem[64];
static char last_body[256];

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_context,
		    enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&conn_lock);
		connections++;
		pthread_mutex_unlock(&conn_lock);
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			     const char *body, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", ctype);
	if (retry_after != NULL)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, len, "%s", v != NULL ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **ctx)
{
	static int marker;
	char date[64];

	if (*ctx == NULL) {
		*ctx = &marker;
		last_body[0] = '\0';
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = strlen(last_body), take = *upload_size;

		if (n + take >= sizeof last_body)
			take = sizeof last_body - n - 1;
		memcpy(last_body + n, upload, take);
		last_body[n + take] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(last_method, sizeof last_method, "%s", method);
	copy_header(c, "Authorization", last_auth, sizeof last_auth);
	copy_header(c, "Content-Type", last_ctype, sizeof last_ctype);
	copy_header(c, "Idempotency-Key", last_idem, sizeof last_idem);

	if (strcmp(url, "/ok") == 0)
		return reply(c, 200, "application/json", "{\"ok\":true}", NULL);
	if (strcmp(url, "/created") == 0)
		return reply(c, 201, "text/plain", "", NULL);
	if (strcmp(url, "/bad") == 0)
		return reply(c, 400, "application/json",
			     "{\"error\":{\"code\":\"E1\",\"message\":\"field 'x' is invalid\"}}", NULL);
	if (strcmp(url, "/text403") == 0)
		return reply(c, 403, "text/plain", "invalid_token\nmore", NULL);
	if (strcmp(url, "/echo-secret") == 0)
		return reply(c, 401, "application/json",
			     "{\"message\":\"token " SECRET " is not valid\"}", NULL);
	if (strcmp(url, "/429s") == 0)
		return reply(c, 429, "application/json", "{\"error\":\"ratelimited\"}", "7");
	if (strcmp(url, "/429d") == 0) {
		time_t t = time(NULL) + 120;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		return reply(c, 429, "text/plain", "slow down", date);
	}
	if (strcmp(url, "/503") == 0)
		return reply(c, 503, "text/html", "<html>unavailable</html>", "2");
	if (strcmp(url, "/500") == 0)
		return reply(c, 500, "text/plain", "", NULL);
	if (strcmp(url, "/408") == 0)
		return reply(c, 408, "text/plain", "", NULL);
	if (strcmp(url, "/302") == 0)
		return reply(c, 302, "text/plain", "", NULL);
	if (strcmp(url, "/slow") == 0) {
		usleep(1500 * 1000);
		return reply(c, 200, "text/plain", "late", NULL);
	}
	if (strcmp(url, "/big") == 0) {
		static char big[100 * 1024];

		memset(big, 'b', sizeof big - 1);
		return reply(c, 200, "text/plain", big, NULL);
	}
	if (strcmp(url, "/reset") == 0)
		return MHD_NO; /* closes the connection with no answer */
	return reply(c, 404, "text/plain", "no such path", NULL);
}

static int start_server(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	const union MHD_DaemonInfo *info;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				   0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				   MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL, MHD_OPTION_END);
	if (daemon_ == NULL)
		return -1;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL)
		return -1;
	port = info->port;
	return 0;
}

/* ---- a host that records log lines ---- */

static char logged[4096];
static int nlogged;

static void fake_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(logged);

	va_start(ap, fmt);
	vsnprintf(logged + n, sizeof logged - n, fmt, ap);
	va_end(ap);
	nlogged++;
}

static rfx_host host = {.abi_major = RFX_ABI_MAJOR, .abi_minor = RFX_ABI_MINOR,
			.size = sizeof(rfx_host), .log = fake_log};

static char url_buf[256];
static struct rfx_outhttp_config cfg;

static rfx_outhttp *client(int64_t timeout_ms)
{
	char err[256] = "";
	rfx_outhttp *c;

	snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%u/ok", port);
	cfg = (struct rfx_outhttp_config){.url = url_buf, .timeout_ms = timeout_ms,
					  .connect_timeout_ms = 1000, .tls_verify = true,
					  .max_response = 4096};
	c = rfx_outhttp_new(&cfg, &host, NULL, err, sizeof err);
	if (c == NULL)
		fprintf(stderr, "rfx_outhttp_new: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rfx_outhttp_secret(c, SECRET), 0);
	return c;
}

/* POSTs to path and classifies the outcome; d and msg filled. */
static rfx_result post(rfx_outhttp *c, const char *path, rfx_delivery *d, char *msg,
		       size_t msglen, struct rfx_outhttp_response *keep)
{
	char url[256];
	const char *headers[] = {"Content-Type: application/json",
				 "Authorization: Bearer " SECRET, NULL};
	struct rfx_outhttp_response r;
	int rc;
	rfx_result res;

	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
	memset(d, 0, sizeof *d);
	d->size = sizeof *d;
	d->attempt = 1;
	rc = rfx_outhttp_request(c, "POST", url, headers, "{\"a\":1}", 7, &r);
	res = rfx_outhttp_result(c, rc, &r, d, msg, msglen);
	if (keep != NULL)
		*keep = r;
	else
		rfx_outhttp_response_free(&r);
	return res;
}

static void test_outhttp_2xx_is_ok_and_sends_method_headers_body(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];
	struct rfx_outhttp_response r;

	CU_ASSERT_EQUAL(post(c, "/ok", &d, msg, sizeof msg, &r), RFX_OK);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"ok\":true}");
	CU_ASSERT_STRING_EQUAL(last_method, "POST");
	CU_ASSERT_STRING_EQUAL(last_ctype, "application/json");
	CU_ASSERT_STRING_EQUAL(last_auth, "Bearer " SECRET);
	CU_ASSERT_STRING_EQUAL(last_body, "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(d.error, "");
	rfx_outhttp_response_free(&r);
	CU_ASSERT_EQUAL(post(c, "/created", &d, msg, sizeof msg, NULL), RFX_OK);
	rfx_outhttp_free(c);
}

static void test_outhttp_4xx_fails_with_vendor_message(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];

	CU_ASSERT_EQUAL(post(c, "/bad", &d, msg, sizeof msg, NULL), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 400: field 'x' is invalid");
	CU_ASSERT_STRING_EQUAL(msg, d.error);
	CU_ASSERT_EQUAL(d.retry_after_ms, 0);
	CU_ASSERT_EQUAL(post(c, "/text403", &d, msg, sizeof msg, NULL), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 403: invalid_token");
	CU_ASSERT_EQUAL(post(c, "/nowhere", &d, msg, sizeof msg, NULL), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 404: no such path");
	CU_ASSERT_EQUAL(post(c, "/302", &d, msg, sizeof msg, NULL), RFX_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "redirects are not followed"));
	rfx_outhttp_free(c);
}

static void test_outhttp_429_retries_after_delta_seconds(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];

	CU_ASSERT_EQUAL(post(c, "/429s", &d, msg, sizeof msg, NULL), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 7000);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 429: ratelimited");
	rfx_outhttp_free(c);
}

static void test_outhttp_429_retries_after_http_date(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];

	CU_ASSERT_EQUAL(post(c, "/429d", &d, msg, sizeof msg, NULL), RFX_RETRY);
	/* 120 s ahead, give or take the second boundary crossed meanwhile */
	CU_ASSERT(d.retry_after_ms >= 118000 && d.retry_after_ms <= 120000);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 429: slow down");
	rfx_outhttp_free(c);
}

static void test_outhttp_5xx_and_408_retry(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];

	CU_ASSERT_EQUAL(post(c, "/503", &d, msg, sizeof msg, NULL), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 2000);
	CU_ASSERT_EQUAL(post(c, "/500", &d, msg, sizeof msg, NULL), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 0);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 500");
	CU_ASSERT_EQUAL(post(c, "/408", &d, msg, sizeof msg, NULL), RFX_RETRY);
	rfx_outhttp_free(c);
}

static void test_outhttp_slow_response_times_out_and_retries(void)
{
	rfx_outhttp *c = client(300);
	rfx_delivery d;
	char msg[256];
	struct rfx_outhttp_response r;
	struct timespec a, b;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(post(c, "/slow", &d, msg, sizeof msg, &r), RFX_RETRY);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CU_ASSERT_TRUE(r.timed_out);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT(ms < 1200);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "timed out"));
	rfx_outhttp_response_free(&r);
	rfx_outhttp_free(c);
}

static void test_outhttp_connection_closed_without_answer_retries(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];

	CU_ASSERT_EQUAL(post(c, "/reset", &d, msg, sizeof msg, NULL), RFX_RETRY);
	CU_ASSERT_NOT_EQUAL(d.error[0], '\0');
	/* the handle recovers: the next request on it succeeds */
	CU_ASSERT_EQUAL(post(c, "/ok", &d, msg, sizeof msg, NULL), RFX_OK);
	rfx_outhttp_free(c);
}

static void test_outhttp_connection_refused_retries(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	struct rfx_outhttp_response r;
	rfx_delivery d = {.size = sizeof d};
	char url[128], err[128];
	rfx_outhttp *c;
	int rc;

	/* a port that was free a moment ago: bind, read it, close */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/services/" SECRET, ntohs(sa.sin_port));
	cfg = (struct rfx_outhttp_config){.url = url, .timeout_ms = 2000,
					  .connect_timeout_ms = 1000, .tls_verify = true};
	c = rfx_outhttp_new(&cfg, &host, NULL, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	rc = rfx_outhttp_request(c, "POST", NULL, NULL, "x", 1, &r);
	CU_ASSERT_EQUAL(rc, RFX_EIO);
	CU_ASSERT_EQUAL(rfx_outhttp_result(c, rc, &r, &d, NULL, 0), RFX_RETRY);
	CU_ASSERT_PTR_NULL(strstr(d.error, SECRET));
	CU_ASSERT_PTR_NULL(strstr(d.error, "/services"));
	rfx_outhttp_response_free(&r);
	rfx_outhttp_free(c);
}

static void test_outhttp_secrets_never_reach_errors_or_logs(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256], buf[256], err[256];
	struct rfx_outhttp_config bad;

	CU_ASSERT_EQUAL(post(c, "/echo-secret", &d, msg, sizeof msg, NULL), RFX_FAIL);
	CU_ASSERT_PTR_NULL(strstr(d.error, SECRET));
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 401: token *** is not valid");
	rfx_outhttp_free(c);

	rfx_outhttp_url_for_log("https://hooks.slack.com/services/T0/B0/abcdef", buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "https://hooks.slack.com/...");
	rfx_outhttp_url_for_log("https://user:pw@api.example.com:8443/x?token=1", buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "https://api.example.com:8443/...");
	rfx_outhttp_url_for_log("http://127.0.0.1:9/", buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "http://127.0.0.1:9");

	/* init errors show the redacted url */
	bad = (struct rfx_outhttp_config){.url = "ftp://h/services/" SECRET, .timeout_ms = 100,
					  .connect_timeout_ms = 100, .tls_verify = true};
	CU_ASSERT_PTR_NULL(rfx_outhttp_new(&bad, &host, NULL, err, sizeof err));
	CU_ASSERT_PTR_NULL(strstr(err, SECRET));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an http:// or https:// URL"));

	/* tls_verify: false is said once, at creation, with the url redacted */
	logged[0] = '\0';
	nlogged = 0;
	bad.url = "https://hooks.example.com/services/" SECRET;
	bad.tls_verify = false;
	c = rfx_outhttp_new(&bad, &host, NULL, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(nlogged, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "tls_verify: false"));
	CU_ASSERT_PTR_NULL(strstr(logged, SECRET));
	rfx_outhttp_free(c);
}

static void test_outhttp_response_body_is_bounded(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];
	struct rfx_outhttp_response r;

	CU_ASSERT_EQUAL(post(c, "/big", &d, msg, sizeof msg, &r), RFX_OK);
	CU_ASSERT_EQUAL(r.body_len, 4096);
	CU_ASSERT_TRUE(r.body_truncated);
	CU_ASSERT_EQUAL(strlen(r.body), 4096);
	rfx_outhttp_response_free(&r);
	rfx_outhttp_free(c);
}

static void test_outhttp_keeps_connections_alive(void)
{
	rfx_outhttp *c = client(2000);
	rfx_delivery d;
	char msg[256];
	int before;

	pthread_mutex_lock(&conn_lock);
	before = connections;
	pthread_mutex_unlock(&conn_lock);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(post(c, "/ok", &d, msg, sizeof msg, NULL), RFX_OK);
	pthread_mutex_lock(&conn_lock);
	CU_ASSERT_EQUAL(connections - before, 1);
	pthread_mutex_unlock(&conn_lock);
	rfx_outhttp_free(c);
}

struct par {
	rfx_outhttp *c;
	int oks;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	char url[128];
	struct rfx_outhttp_response r;

	snprintf(url, sizeof url, "http://127.0.0.1:%u/ok", port);
	for (int i = 0; i < 20; i++) {
		if (rfx_outhttp_request(p->c, "POST", url, NULL, "{}", 2, &r) == 0 && r.status == 200)
			p->oks++;
		rfx_outhttp_response_free(&r);
	}
	return NULL;
}

static void test_outhttp_concurrent_requests_use_separate_handles(void)
{
	rfx_outhttp *c = client(2000);
	struct par ps[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		ps[i] = (struct par){.c = c};
		pthread_create(&th[i], NULL, par_main, &ps[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(ps[i].oks, 20);
	}
	rfx_outhttp_free(c);
}

static void test_outhttp_parse_retry_after_forms(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777 */
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("30", 0), 30000);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("0", 0), 0);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 90),
			90000);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5),
			0); /* in the past: now */
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("99999999999", 0),
			RFX_OUTHTTP_MAX_RETRY_AFTER_MS);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("soon", 0), -1);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("12abc", 0), -1);
	CU_ASSERT_EQUAL(rfx_outhttp_parse_retry_after("", 0), -1);
}

static void test_outhttp_vendor_message_forms(void)
{
	char out[64];
	const char *b;

	b = "{\"ok\":false,\"error\":\"channel_not_found\"}";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "channel_not_found");
	b = "{\"errors\":[{\"message\":\"first\"},{\"message\":\"second\"}]}";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "first");
	b = "{\"error_description\":\"bad scope\",\"x\":1}";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "bad scope");
	b = "  plain text\r\nsecond line";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "plain text");
	b = "{\"unrelated\":true}";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "");
	/* bounded, and never half a UTF-8 character */
	b = "\xC3\xA9\xC3\xA9\xC3\xA9";
	rfx_outhttp_vendor_message(NULL, b, strlen(b), out, 4);
	CU_ASSERT_STRING_EQUAL(out, "\xC3\xA9");
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_outhttp_2xx_is_ok_and_sends_method_headers_body),
		RFX_TEST(test_outhttp_4xx_fails_with_vendor_message),
		RFX_TEST(test_outhttp_429_retries_after_delta_seconds),
		RFX_TEST(test_outhttp_429_retries_after_http_date),
		RFX_TEST(test_outhttp_5xx_and_408_retry),
		RFX_TEST(test_outhttp_slow_response_times_out_and_retries),
		RFX_TEST(test_outhttp_connection_closed_without_answer_retries),
		RFX_TEST(test_outhttp_connection_refused_retries),
		RFX_TEST(test_outhttp_secrets_never_reach_errors_or_logs),
		RFX_TEST(test_outhttp_response_body_is_bounded),
		RFX_TEST(test_outhttp_keeps_connections_alive),
		RFX_TEST(test_outhttp_concurrent_requests_use_separate_handles),
		RFX_TEST(test_outhttp_parse_retry_after_forms),
		RFX_TEST(test_outhttp_vendor_message_forms),
		{NULL, NULL},
	};
	int rc;

	if (start_server() != 0) {
		fprintf(stderr, "cannot start the test HTTP server\n");
		return 2;
	}
	rc = rfx_run_suite("output HTTP client", tests);
	MHD_stop_daemon(daemon_);
	return rc;
}
