/*
 * plugins/outputs/elasticsearch/es_bulk_test.c - unit tests of the _bulk
 * request builder and answer reader for several documents, and of the
 * plugin's handling of a notice whose items partly fail: only the failed
 * items are sent again, and a repeated document counts as done (409).
 * The plugin is included whole so its static functions are reachable; the
 * receiver is tests/receivers/elasticsearch_receiver.py, started here.
 */
#include "elasticsearch.c"

#include <CUnit/Basic.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"

/* ---- a host with an in-memory kv -------------------------------------- */

#define KV_MAX 16
static char *kv_keys[KV_MAX], *kv_vals[KV_MAX];
static int logged;

static void f_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	logged++;
}

static int f_kv_get(rfx_instance *inst, const char *key, char **value)
{
	for (int i = 0; i < KV_MAX; i++)
		if (kv_keys[i] != NULL && strcmp(kv_keys[i], key) == 0) {
			*value = strdup(kv_vals[i]);
			return 0;
		}
	return RFX_ENOENT;
}

static int f_kv_del(rfx_instance *inst, const char *key)
{
	for (int i = 0; i < KV_MAX; i++)
		if (kv_keys[i] != NULL && strcmp(kv_keys[i], key) == 0) {
			free(kv_keys[i]);
			free(kv_vals[i]);
			kv_keys[i] = kv_vals[i] = NULL;
			return 0;
		}
	return RFX_ENOENT;
}

static int f_kv_put(rfx_instance *inst, const char *key, const char *value)
{
	f_kv_del(inst, key);
	for (int i = 0; i < KV_MAX; i++)
		if (kv_keys[i] == NULL) {
			kv_keys[i] = strdup(key);
			kv_vals[i] = strdup(value);
			return 0;
		}
	return RFX_EFULL;
}

static int kv_count(void)
{
	int n = 0;

	for (int i = 0; i < KV_MAX; i++)
		n += kv_keys[i] != NULL;
	return n;
}

static rfx_metric *f_counter(rfx_instance *inst, const char *name, const char *help)
{
	static int dummy;

	return (rfx_metric *)&dummy;
}

static void f_metric_add(rfx_metric *m, double v)
{
}

static int64_t f_now(void)
{
	return 1714564800LL * 1000000000LL;
}

static const rfx_host fake_host = {
	.abi_major = RFX_ABI_MAJOR,
	.abi_minor = RFX_ABI_MINOR,
	.size = sizeof(rfx_host),
	.log = f_log,
	.event_to_json = rfx_event_to_json,
	.now_ns = f_now,
	.counter = f_counter,
	.metric_add = f_metric_add,
	.kv_get = f_kv_get,
	.kv_put = f_kv_put,
	.kv_del = f_kv_del,
};

/* ---- the pure parts --------------------------------------------------- */

static const struct es_doc three[] = {
	{"reflex-2024.05.01", "01HX0000000000000000000001", "{\"a\":1}", 7},
	{"reflex-2024.05.01", "01HX0000000000000000000002", "{\"b\":\"x\\ny\"}", 12},
	{"reflex-2024.05.02", "01HX0000000000000000000003", "{\"c\":3}", 7},
};

static void test_es_bulk_writes_action_and_source_pairs_ending_with_newline(void)
{
	struct es_buf b = {0};
	char st[] = "---";
	int n = es_bulk_build(three, 3, st, &b);

	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(b.data,
			       "{\"create\":{\"_index\":\"reflex-2024.05.01\",\"_id\":\"01HX0000000000000000000001\"}}\n"
			       "{\"a\":1}\n"
			       "{\"create\":{\"_index\":\"reflex-2024.05.01\",\"_id\":\"01HX0000000000000000000002\"}}\n"
			       "{\"b\":\"x\\ny\"}\n"
			       "{\"create\":{\"_index\":\"reflex-2024.05.02\",\"_id\":\"01HX0000000000000000000003\"}}\n"
			       "{\"c\":3}\n");
	CU_ASSERT_EQUAL(b.len, strlen(b.data));
	es_buf_free(&b);
}

static void test_es_bulk_sends_only_pending_items(void)
{
	struct es_buf b = {0};
	char st[] = "d-f";
	int n = es_bulk_build(three, 3, st, &b);

	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(b.data,
			       "{\"create\":{\"_index\":\"reflex-2024.05.01\",\"_id\":\"01HX0000000000000000000002\"}}\n"
			       "{\"b\":\"x\\ny\"}\n");
	strcpy(st, "ddd");
	CU_ASSERT_EQUAL(es_bulk_build(three, 3, st, &b), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	es_buf_free(&b);
}

static void test_es_bulk_escapes_quotes_in_the_action_line(void)
{
	struct es_doc d = {"a\"b", "x\\y", "{}", 2};
	struct es_buf b = {0};
	char st[] = "-";

	CU_ASSERT_EQUAL(es_bulk_build(&d, 1, st, &b), 1);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"create\":{\"_index\":\"a\\\"b\",\"_id\":\"x\\\\y\"}}\n{}\n");
	es_buf_free(&b);
}

static void test_es_parse_counts_409_as_done_retries_429_fails_400(void)
{
	const char *ans =
		"{\"took\":5,\"errors\":true,\"items\":["
		"{\"create\":{\"_index\":\"reflex-2024.05.01\",\"_id\":\"01HX0000000000000000000001\",\"status\":409,"
		"\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"already exists\"}}},"
		"{\"create\":{\"_index\":\"reflex-2024.05.01\",\"_id\":\"01HX0000000000000000000002\",\"status\":429,"
		"\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected\"}}},"
		"{\"create\":{\"_index\":\"reflex-2024.05.02\",\"_id\":\"01HX0000000000000000000003\",\"status\":400,"
		"\"error\":{\"type\":\"document_parsing_exception\",\"reason\":\"failed to parse\"}}}]}";
	struct es_outcome o;
	char st[] = "---";

	CU_ASSERT_EQUAL(es_bulk_parse(ans, strlen(ans), three, 3, st, &o), 0);
	CU_ASSERT_STRING_EQUAL(st, "d-f");
	CU_ASSERT_EQUAL(o.done, 1);
	CU_ASSERT_EQUAL(o.conflicts, 1);
	CU_ASSERT_EQUAL(o.retry, 1);
	CU_ASSERT_EQUAL(o.failed, 1);
	CU_ASSERT_STRING_EQUAL(o.fail_error, "HTTP 400 document_parsing_exception: failed to parse");
	CU_ASSERT_STRING_EQUAL(o.retry_error, "HTTP 429 es_rejected_execution_exception: rejected");
}

static void test_es_parse_maps_items_of_a_partial_request_by_id(void)
{
	/* the retry sent only item 2 (1 and 3 settled earlier) */
	const char *ans = "{\"took\":1,\"errors\":false,\"items\":[{\"create\":{\"_index\":\"reflex-2024.05.01\","
			  "\"_id\":\"01HX0000000000000000000002\",\"result\":\"created\",\"status\":201}}]}";
	struct es_outcome o;
	char st[] = "d-f";

	CU_ASSERT_EQUAL(es_bulk_parse(ans, strlen(ans), three, 3, st, &o), 0);
	CU_ASSERT_STRING_EQUAL(st, "ddf");
	CU_ASSERT_EQUAL(o.done, 1);
	CU_ASSERT_EQUAL(o.conflicts, 0);
}

static void test_es_parse_leaves_unanswered_items_pending(void)
{
	const char *ans = "{\"took\":1,\"errors\":false,\"items\":[{\"create\":{\"_id\":\"01HX0000000000000000000003\","
			  "\"status\":201}}]}";
	struct es_outcome o;
	char st[] = "---";

	CU_ASSERT_EQUAL(es_bulk_parse(ans, strlen(ans), three, 3, st, &o), 0);
	CU_ASSERT_STRING_EQUAL(st, "--d");
}

static void test_es_parse_rejects_what_is_not_a_bulk_answer(void)
{
	struct es_outcome o;
	char st[] = "---";

	CU_ASSERT_EQUAL(es_bulk_parse("<html>", 6, three, 3, st, &o), RFX_EINVAL);
	CU_ASSERT_EQUAL(es_bulk_parse("{\"ok\":1}", 8, three, 3, st, &o), RFX_EINVAL);
	CU_ASSERT_STRING_EQUAL(st, "---");
}

static void test_es_index_name_uses_the_event_day_in_utc(void)
{
	char out[256], err[200];

	/* 2024-05-01T23:59:59Z */
	CU_ASSERT_EQUAL(es_index_name("reflex-%Y.%m.%d", 1714607999, out, sizeof out, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(out, "reflex-2024.05.01");
	CU_ASSERT_EQUAL(es_index_name("logs-reflex-default", 1714607999, out, sizeof out, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(out, "logs-reflex-default");
	CU_ASSERT_EQUAL(es_index_name("Reflex-%Y", 0, out, sizeof out, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a valid index name"));
	CU_ASSERT_EQUAL(es_index_name("_x", 0, out, sizeof out, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_EQUAL(es_index_name("a b", 0, out, sizeof out, err, sizeof err), RFX_EINVAL);
}

static void test_es_base64_pads_like_rfc4648(void)
{
	char out[32];

	es_base64((const unsigned char *)"user:pass", 9, out);
	CU_ASSERT_STRING_EQUAL(out, "dXNlcjpwYXNz");
	es_base64((const unsigned char *)"ab", 2, out);
	CU_ASSERT_STRING_EQUAL(out, "YWI=");
	es_base64((const unsigned char *)"a", 1, out);
	CU_ASSERT_STRING_EQUAL(out, "YQ==");
}

/* ---- the plugin with a notice, against the receiver ------------------- */

static pid_t rx_pid;
static char rx_dir[64], rx_url[64];

static int rx_start(void)
{
	char portf[128], logf[128], script[512], port[16] = "";
	const char *src = getenv("REFLEX_SRCDIR") ? getenv("REFLEX_SRCDIR") : ".";

	strcpy(rx_dir, "/tmp/es_bulk_test.XXXXXX");
	if (mkdtemp(rx_dir) == NULL)
		return -1;
	snprintf(portf, sizeof portf, "%s/port", rx_dir);
	snprintf(logf, sizeof logf, "%s/log", rx_dir);
	snprintf(script, sizeof script, "%s/tests/receivers/elasticsearch_receiver.py", src);
	rx_pid = fork();
	if (rx_pid == 0) {
		execl("/usr/bin/python3", "python3", script, "--log", logf, "--port-file", portf,
		      "--token", "Basic dXNlcjpwYXNz", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && port[0] == '\0'; i++) {
		FILE *f = fopen(portf, "r");

		if (f != NULL) {
			if (fgets(port, sizeof port, f) == NULL)
				port[0] = '\0';
			fclose(f);
		}
		if (port[0] == '\0')
			usleep(50000);
	}
	snprintf(rx_url, sizeof rx_url, "http://127.0.0.1:%s/", port);
	return port[0] != '\0' ? 0 : -1;
}

static void rx_stop(void)
{
	char cmd[128];

	if (rx_pid > 0) {
		kill(rx_pid, SIGTERM);
		waitpid(rx_pid, NULL, 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", rx_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", rx_dir);
}

/* POSTs a control request to the receiver. */
static int rx_control(const char *path, const char *body)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "curl -sf -XPOST --data-binary '%s' %s%s >/dev/null", body,
		 rx_url, path + 1);
	return system(cmd);
}

/* Lines of the body of the n-th bulk request (1-based), via jq. */
static int rx_bulk_lines(int n)
{
	char cmd[512];
	FILE *p;
	int lines = -1;

	snprintf(cmd, sizeof cmd, "jq -c 'select(.path == \"/_bulk\")' %s/log | sed -n %dp | "
		 "jq -j '.body' | wc -l", rx_dir, n);
	p = popen(cmd, "r");
	if (p != NULL) {
		if (fscanf(p, "%d", &lines) != 1)
			lines = -1;
		pclose(p);
	}
	return lines;
}

static int rx_violations(void)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof cmd, "jq -c 'select(.violations != [])' %s/log | wc -l", rx_dir);
	p = popen(cmd, "r");
	if (p != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static rfx_event *mk(const char *host, int k)
{
	rfx_event *e = rfx_event_new();

	rfx_event_id_new(e->id);
	e->occurred_ns = (1714564800LL + k) * 1000000000LL; /* 2024-05-01 */
	e->received_ns = e->occurred_ns;
	rfx_event_set(e, RFX_F_HOST, host);
	rfx_event_set(e, RFX_F_CHECK, "disk");
	rfx_event_set(e, RFX_F_MESSAGE, "line1\nline2 \"quoted\"");
	return e;
}

static void test_es_notice_retries_only_the_failed_items(void)
{
	struct es_config cfg = {
		.http = {.url = rx_url, .timeout_ms = 5000, .connect_timeout_ms = 2000,
			 .tls_verify = true, .max_response = 65536},
		.index = "reflex-%Y.%m.%d",
		.username = "user",
		.password = "pass",
	};
	rfx_event *evs[3] = {mk("db1", 1), mk("db2", 2), mk("db3", 3)};
	rfx_notice nt = {.size = sizeof nt, .group_key = "g", .events = evs, .nevents = 3,
			 .nfiring = 3, .sequence = 1};
	rfx_delivery d = {.size = sizeof d, .attempt = 1, .id = 77};
	rfx_record rec = {.type = RFX_REC_NOTICE, .u.notice = &nt, .delivery = &d};
	void *st = NULL;
	char err[256] = "", *v = NULL;

	CU_ASSERT_FATAL(rx_start() == 0);
	CU_ASSERT_EQUAL_FATAL(es_init(NULL, &fake_host, &cfg, &st, err, sizeof err), 0);

	/* attempt 1: item 2 is rejected with 429 */
	CU_ASSERT_EQUAL(rx_control("/_control/items", "[[null, 429, null]]"), 0);
	CU_ASSERT_EQUAL(es_handle(st, &rec), RFX_RETRY);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "1 of 3 documents to retry"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "es_rejected_execution_exception"));
	CU_ASSERT_EQUAL(rx_bulk_lines(1), 6);
	CU_ASSERT_EQUAL(f_kv_get(NULL, "bulk:77", &v), 0);
	CU_ASSERT_STRING_EQUAL(v ? v : "", "d-d\t");
	free(v);
	v = NULL;

	/* attempt 2: only the failed item is sent, and the delivery is done */
	d.attempt = 2;
	d.error[0] = '\0';
	CU_ASSERT_EQUAL(es_handle(st, &rec), RFX_OK);
	CU_ASSERT_EQUAL(rx_bulk_lines(2), 2);
	CU_ASSERT_EQUAL(f_kv_get(NULL, "bulk:77", &v), RFX_ENOENT);
	CU_ASSERT_EQUAL(kv_count(), 0);

	/* the same notice again as a new delivery: every item is already
	 * there (409), which is success: repeating a whole request is harmless */
	d.id = 78;
	d.attempt = 1;
	CU_ASSERT_EQUAL(es_handle(st, &rec), RFX_OK);
	CU_ASSERT_EQUAL(rx_bulk_lines(3), 6);
	CU_ASSERT_EQUAL(kv_count(), 0);

	/* a permanent item failure among successes fails the delivery with
	 * ES's reason and is not resent */
	{
		rfx_event *more[2] = {mk("db4", 4), mk("db5", 5)};
		rfx_notice n2 = {.size = sizeof n2, .group_key = "g2", .events = more, .nevents = 2,
				 .nfiring = 2, .sequence = 1};
		rfx_record r2 = {.type = RFX_REC_NOTICE, .u.notice = &n2, .delivery = &d};

		d.id = 79;
		d.error[0] = '\0';
		CU_ASSERT_EQUAL(rx_control("/_control/items", "[[400, 503]]"), 0);
		CU_ASSERT_EQUAL(es_handle(st, &r2), RFX_RETRY);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "1 of 2 documents to retry (HTTP 503 "
						       "unavailable_shards_exception"));
		d.error[0] = '\0';
		CU_ASSERT_EQUAL(es_handle(st, &r2), RFX_FAIL);
		CU_ASSERT_EQUAL(rx_bulk_lines(5), 2); /* only the 503 item was resent */
		CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "1 of 2 documents refused: HTTP 400 "
						       "document_parsing_exception"));
		CU_ASSERT_EQUAL(kv_count(), 0);
		rfx_event_unref(more[0]);
		rfx_event_unref(more[1]);
	}
	CU_ASSERT_EQUAL(rx_violations(), 0);
	es_destroy(st);
	for (int i = 0; i < 3; i++)
		rfx_event_unref(evs[i]);
	rx_stop();
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("es_bulk", NULL, NULL);
	CU_add_test(s, "test_es_bulk_writes_action_and_source_pairs_ending_with_newline",
		    test_es_bulk_writes_action_and_source_pairs_ending_with_newline);
	CU_add_test(s, "test_es_bulk_sends_only_pending_items", test_es_bulk_sends_only_pending_items);
	CU_add_test(s, "test_es_bulk_escapes_quotes_in_the_action_line",
		    test_es_bulk_escapes_quotes_in_the_action_line);
	CU_add_test(s, "test_es_parse_counts_409_as_done_retries_429_fails_400",
		    test_es_parse_counts_409_as_done_retries_429_fails_400);
	CU_add_test(s, "test_es_parse_maps_items_of_a_partial_request_by_id",
		    test_es_parse_maps_items_of_a_partial_request_by_id);
	CU_add_test(s, "test_es_parse_leaves_unanswered_items_pending",
		    test_es_parse_leaves_unanswered_items_pending);
	CU_add_test(s, "test_es_parse_rejects_what_is_not_a_bulk_answer",
		    test_es_parse_rejects_what_is_not_a_bulk_answer);
	CU_add_test(s, "test_es_index_name_uses_the_event_day_in_utc",
		    test_es_index_name_uses_the_event_day_in_utc);
	CU_add_test(s, "test_es_base64_pads_like_rfc4648", test_es_base64_pads_like_rfc4648);
	CU_add_test(s, "test_es_notice_retries_only_the_failed_items",
		    test_es_notice_retries_only_the_failed_items);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
