/*
 * tests/unit/test_event.c - the typed event: labels, the generic JSON form
 * (strict validation with messages naming the field), the API form, ULIDs,
 * default fingerprints and RFC 3339 time.
 */
#include <json-c/json.h>
#include <pthread.h>
#include <string.h>

#include <reflex/plugin.h>
#include "event.h"
#include "testutil.h"

static rfx_event *parse(const char *text, char *err, size_t errlen)
{
	struct json_object *o = json_tokener_parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	err[0] = '\0';
	rfx_event *ev = rfx_event_from_json(o, err, errlen);
	json_object_put(o);
	return ev;
}

static void expect_error(const char *text, const char *msg)
{
	char err[512];
	rfx_event *ev = parse(text, err, sizeof(err));
	CU_ASSERT_PTR_NULL(ev);
	if (strcmp(err, msg) != 0)
		fprintf(stderr, "\n  input %s\n  want  %s\n  got   %s\n", text, msg, err);
	CU_ASSERT_STRING_EQUAL(err, msg);
	rfx_event_unref(ev);
}

static void test_event_json_accepts_every_documented_field(void)
{
	char err[512];
	rfx_event *ev = parse("{\"host\":\"db1\",\"service\":\"postgres\",\"check\":\"disk\","
			      "\"severity\":\"critical\",\"status\":\"resolved\",\"message\":\"m\","
			      "\"labels\":{\"team\":\"dba\",\"env\":\"prod\"},\"attrs\":{\"a\":{\"b\":1}},"
			      "\"time\":\"2026-11-28T03:22:45.5Z\",\"fingerprint\":\"fp1\","
			      "\"kind\":\"alert\",\"value\":97.5}", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "db1");
	CU_ASSERT_STRING_EQUAL(rfx_event_service(ev), "postgres");
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ev), "disk");
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team"), "dba");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "env"), "prod");
	CU_ASSERT_EQUAL(ev->occurred_ns, 1795836165500000000LL);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(ev), "fp1");
	CU_ASSERT_TRUE(ev->has_value);
	CU_ASSERT_DOUBLE_EQUAL(ev->value, 97.5, 1e-9);
	struct json_object *b;
	CU_ASSERT_TRUE(json_pointer_get(ev->attrs, "/a/b", &b) == 0 && json_object_get_int(b) == 1);

	/* the API form gives the same names back */
	strcpy(ev->id, "01JDQ7Y8Z9ABCDEFGHJKMNPQRS");
	struct json_object *o = rfx_event_to_json(ev);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "severity")), "critical");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "status")), "resolved");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "time")),
			       "2026-11-28T03:22:45.500Z");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(o, "id")),
			       "01JDQ7Y8Z9ABCDEFGHJKMNPQRS");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
		json_object_object_get(o, "labels"), "team")), "dba");
	json_object_put(o);
	rfx_event_unref(ev);
}

static void test_event_json_errors_name_the_field(void)
{
	expect_error("{\"check\":\"c\",\"severity\":\"hgih\"}",
		     "severity: unknown severity 'hgih' (use emergency, alert, critical, error, "
		     "warning, notice, info, debug or 0-7)");
	expect_error("{\"check\":\"c\",\"severity\":9}", "severity: 9 is out of range 0-7");
	expect_error("{\"check\":\"c\",\"hots\":\"x\"}", "hots: unknown field; did you mean 'host'?");
	expect_error("{\"check\":\"c\",\"host\":5}", "host: expected a string, got a number");
	expect_error("{\"check\":\"c\",\"status\":\"open\"}",
		     "status: expected \"firing\" or \"resolved\", got 'open'");
	expect_error("{\"check\":\"c\",\"labels\":{\"a\":1}}", "labels.a: expected a string, got a number");
	expect_error("{\"check\":\"c\",\"labels\":[]}", "labels: expected an object of strings, got an array");
	expect_error("{\"check\":\"c\",\"attrs\":\"x\"}", "attrs: expected an object, got a string");
	expect_error("{\"check\":\"c\",\"time\":\"yesterday\"}",
		     "time: expected an RFC 3339 time like 2026-11-28T03:22:45Z, got yesterday");
	expect_error("{\"check\":\"c\",\"value\":\"high\"}", "value: expected a number, got a string");
	expect_error("{\"host\":\"h\"}", "check: an event needs at least 'check' or 'message'");
	expect_error("[1]", "expected a JSON object, got an array");
}

static void test_event_json_severity_accepts_numbers_and_aliases(void)
{
	char err[512];
	rfx_event *ev = parse("{\"message\":\"m\",\"severity\":3}", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_ERROR);
	rfx_event_unref(ev);
	CU_ASSERT_EQUAL(rfx_severity_parse("WARN"), RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(rfx_severity_parse("crit"), RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_severity_parse("7"), RFX_SEV_DEBUG);
	CU_ASSERT_EQUAL(rfx_severity_parse("8"), -1);
	CU_ASSERT_EQUAL(rfx_severity_parse(""), -1);
	CU_ASSERT_STRING_EQUAL(rfx_severity_name(0), "emergency");
	CU_ASSERT_STRING_EQUAL(rfx_severity_name(9), "unknown");
}

static void test_event_labels_replace_and_bound(void)
{
	rfx_event *ev = rfx_event_new();
	char k[16];
	CU_ASSERT_EQUAL(rfx_event_label_set(ev, "a", "1"), 0);
	CU_ASSERT_EQUAL(rfx_event_label_set(ev, "a", "2"), 0);
	CU_ASSERT_EQUAL(ev->nlabels, 1);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "a"), "2");
	CU_ASSERT_EQUAL(rfx_event_label_set(ev, "", "x"), RFX_EINVAL);
	for (int i = 1; i < RFX_LABELS_MAX; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		CU_ASSERT_EQUAL(rfx_event_label_set(ev, k, "v"), 0);
	}
	CU_ASSERT_EQUAL(rfx_event_label_set(ev, "onemore", "v"), RFX_EFULL);
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "nosuch"));
	rfx_event_unref(ev);
}

static void test_event_ids_are_ulids_and_monotonic(void)
{
	char prev[RFX_EVENT_ID_LEN + 1] = "", id[RFX_EVENT_ID_LEN + 1];
	for (int i = 0; i < 10000; i++) {
		rfx_event_id_new(id);
		CU_ASSERT_EQUAL(strlen(id), RFX_EVENT_ID_LEN);
		CU_ASSERT_TRUE(strspn(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == RFX_EVENT_ID_LEN);
		CU_ASSERT_TRUE(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}
	/* the first 10 characters encode the millisecond time */
	CU_ASSERT_TRUE(id[0] <= '7');
}

static void test_event_default_fingerprint_is_stable_and_overridable(void)
{
	rfx_event *a = rfx_event_new(), *b = rfx_event_new(), *c = rfx_event_new();
	rfx_event_set(a, RFX_F_HOST, "h");
	rfx_event_set(a, RFX_F_CHECK, "disk");
	rfx_event_set(b, RFX_F_HOST, "h");
	rfx_event_set(b, RFX_F_CHECK, "disk");
	rfx_event_set(b, RFX_F_MESSAGE, "other message");
	rfx_event_set(c, RFX_F_HOST, "hdisk"); /* field boundaries matter */
	rfx_event_default_fingerprint(a);
	rfx_event_default_fingerprint(b);
	rfx_event_default_fingerprint(c);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(a), rfx_event_fingerprint(b));
	CU_ASSERT_STRING_NOT_EQUAL(rfx_event_fingerprint(a), rfx_event_fingerprint(c));
	CU_ASSERT_EQUAL(strlen(rfx_event_fingerprint(a)), 16);
	rfx_event_set(c, RFX_F_FINGERPRINT, "alertmanager-fp");
	rfx_event_default_fingerprint(c);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(c), "alertmanager-fp");
	rfx_event_unref(a);
	rfx_event_unref(b);
	rfx_event_unref(c);
}

static void test_event_time_parse_and_format(void)
{
	int64_t ns;
	char buf[40];
	CU_ASSERT_EQUAL(rfx_time_parse("1970-01-01T00:00:00Z", &ns), 0);
	CU_ASSERT_EQUAL(ns, 0);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-11-28T04:22:45+01:00", &ns), 0);
	CU_ASSERT_EQUAL(ns, 1795836165000000000LL);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-11-28T03:22:45.123456789Z", &ns), 0);
	CU_ASSERT_EQUAL(ns, 1795836165123456789LL);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-11-28 03:22:45Z", &ns), 0);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-11-28T03:22:45", &ns), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-13-28T03:22:45Z", &ns), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_time_parse("2026-11-28T03:22:45Zjunk", &ns), RFX_EINVAL);
	/* outside int64 nanoseconds: refused, not overflowed (fuzz_event_json) */
	CU_ASSERT_EQUAL(rfx_time_parse("9999-01-01T00:00:00Z", &ns), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_time_parse("1000-01-01T00:00:00Z", &ns), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_time_parse("2261-12-31T23:59:59Z", &ns), 0);
	rfx_time_format(1795836165123456789LL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-28T03:22:45.123Z");
}

static void *ref_worker(void *arg)
{
	rfx_event *ev = arg;
	for (int i = 0; i < 100000; i++)
		rfx_event_unref(rfx_event_ref(ev));
	return NULL;
}

static void test_event_refcount_is_thread_safe(void)
{
	rfx_event *ev = rfx_event_new();
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, ref_worker, ev);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(ev->refcnt, 1);
	rfx_event_unref(ev);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_event_json_accepts_every_documented_field),
		RFX_TEST(test_event_json_errors_name_the_field),
		RFX_TEST(test_event_json_severity_accepts_numbers_and_aliases),
		RFX_TEST(test_event_labels_replace_and_bound),
		RFX_TEST(test_event_ids_are_ulids_and_monotonic),
		RFX_TEST(test_event_default_fingerprint_is_stable_and_overridable),
		RFX_TEST(test_event_time_parse_and_format),
		RFX_TEST(test_event_refcount_is_thread_safe),
		{NULL, NULL},
	};
	return rfx_run_suite("event", tests);
}
