/*
 * tests/unit/test_webhook_alertmanager.c - the Alertmanager decoder in-process, against
 * the real core event functions and a minimal host table, so ASan sees every
 * success and error path (no leaks on any 422).
 */
#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "webhook.h"

static char last_code[64];
static char last_msg[1024];
static int last_status;
static int logs;

static void fake_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	logs++;
}

static void fake_http_error(rfx_http_response *resp, int status, const char *code,
			    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof last_msg, fmt, ap);
	va_end(ap);
	snprintf(last_code, sizeof last_code, "%s", code);
	last_status = status;
	resp->status = status;
}

static int64_t fake_now(void)
{
	return 42;
}

static rfx_host host;
static struct webhook_config cfg;
static struct webhook w;
static char *map_keys[] = {"p1", "bogus"};
static char *map_values[] = {"critical", "notaseverity"};

static void setup(void)
{
	host.log = fake_log;
	host.event_new = rfx_event_new;
	host.event_ref = rfx_event_ref;
	host.event_unref = rfx_event_unref;
	host.event_set = rfx_event_set;
	host.event_label_set = rfx_event_label_set;
	host.event_label_get = rfx_event_label_get;
	host.severity_parse = rfx_severity_parse;
	host.severity_name = rfx_severity_name;
	host.now_ns = fake_now;
	host.http_error = fake_http_error;
	cfg.max_events = 100;
	cfg.host_label = "instance";
	cfg.severity_label = "severity";
	cfg.strip_port = true;
	cfg.severity_map.n = 2;
	cfg.severity_map.keys = map_keys;
	cfg.severity_map.values = map_values;
	w.host = &host;
	w.cfg = &cfg;
}

/* Decodes text; returns the number of events (kept in *out) or -1. */
static int decode(const char *text, rfx_event ***out)
{
	struct json_object *root = json_tokener_parse(text);
	rfx_http_response resp = {0};
	size_t n = 0;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	last_msg[0] = '\0';
	last_status = 0;
	*out = NULL;
	rc = webhook_decode_alertmanager(&w, root, out, &n, &resp);
	json_object_put(root);
	return rc == 0 ? (int)n : -1;
}

static void free_events(rfx_event **evs, int n)
{
	for (int i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
	free(evs);
}

#define ALERT(extra)                                                                      \
	"{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\",\"instance\":\"h:1\"},"     \
	"\"startsAt\":\"2026-01-10T03:22:45Z\",\"fingerprint\":\"fp\"" extra "}"
#define GROUP(alerts) "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[" alerts "]}"

/* Decodes a one-alert group with a given instance label; returns the host. */
static char *host_of(const char *instance)
{
	char body[512];
	rfx_event **evs;
	char *h = NULL;

	snprintf(body, sizeof body,
		 GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\",\"instance\":\"%s\"},"
		       "\"startsAt\":\"2026-01-10T03:22:45Z\",\"fingerprint\":\"fp\"}"),
		 instance);
	if (decode(body, &evs) == 1) {
		h = evs[0]->str[RFX_F_HOST] ? strdup(evs[0]->str[RFX_F_HOST]) : strdup("(null)");
		free_events(evs, 1);
	}
	return h;
}

static void test_am_strip_port_handles_names_ipv4_and_ipv6(void)
{
	static const char *cases[][2] = {
		{"db1:9100", "db1"},       {"10.0.0.1:9100", "10.0.0.1"}, {"[::1]:9100", "::1"},
		{"[2001:db8::7]", "2001:db8::7"}, {"::1", "::1"},        {"db1", "db1"},
		{"db1:http", "db1:http"},  {"db1:", "db1:"},              {":9100", ":9100"},
		{"[::1]:x", "[::1]:x"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *h = host_of(cases[i][0]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		if (strcmp(h, cases[i][1]) != 0)
			fprintf(stderr, "\n%s -> %s, expected %s\n", cases[i][0], h, cases[i][1]);
		CU_ASSERT_STRING_EQUAL(h, cases[i][1]);
		free(h);
	}
	cfg.strip_port = false;
	char *h = host_of("db1:9100");
	CU_ASSERT_STRING_EQUAL(h, "db1:9100");
	free(h);
	cfg.strip_port = true;
}

static void test_am_times_parse_offsets_fractions_and_zero(void)
{
	rfx_event **evs;
	int n = decode(GROUP("{\"status\":\"resolved\",\"labels\":{\"alertname\":\"A\"},"
			     "\"startsAt\":\"2026-01-10T05:22:45.5+02:00\","
			     "\"endsAt\":\"2026-01-10T04:00:00.123456789Z\",\"fingerprint\":\"f\"},"
			     ALERT(",\"endsAt\":\"0001-01-01T00:00:00Z\"")),
		       &evs);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(evs[0]->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_EQUAL(evs[0]->occurred_ns, 1768017600123456789LL);
	CU_ASSERT_EQUAL(evs[1]->status, RFX_STATUS_FIRING);
	CU_ASSERT_EQUAL(evs[1]->occurred_ns, 1768015365000000000LL);
	struct json_object *v;
	CU_ASSERT_FALSE(json_object_object_get_ex(evs[1]->attrs, "endsAt", &v));
	free_events(evs, n);

	/* resolved without endsAt: receipt time (0, set by the core) */
	n = decode(GROUP("{\"status\":\"resolved\",\"labels\":{\"alertname\":\"A\"},"
			 "\"startsAt\":\"2026-01-10T05:22:45Z\",\"fingerprint\":\"f\"}"),
		   &evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0]->occurred_ns, 0);
	free_events(evs, n);

	static const char *bad[] = {"2026-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
				    "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
				    "2024-01-01T00:00:00.Z", "1500-01-01T00:00:00Z",
				    "2024-01-01T00:00:00+2:00", "2024-01-01T24:00:00Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char body[512];
		snprintf(body, sizeof body,
			 GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},"
			       "\"startsAt\":\"2026-01-10T03:22:45Z\",\"endsAt\":\"%s\","
			       "\"fingerprint\":\"f\"}"),
			 bad[i]);
		CU_ASSERT_EQUAL(decode(body, &evs), -1);
		CU_ASSERT_EQUAL(last_status, 422);
		CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "alerts[0].endsAt"));
	}
	/* leap day of a leap year is fine */
	n = decode(GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},"
			 "\"startsAt\":\"2024-02-29T00:00:00Z\",\"fingerprint\":\"f\"}"),
		   &evs);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		free_events(evs, n);
}

static void test_am_severity_map_defaults_and_fallback(void)
{
	static const struct {
		const char *label;
		int sev;
		bool unmapped;
	} cases[] = {
		{"P1", RFX_SEV_CRITICAL, false},   {"page", RFX_SEV_CRITICAL, false},
		{"none", RFX_SEV_INFO, false},     {"warn", RFX_SEV_WARNING, false},
		{"disaster", RFX_SEV_ALERT, false}, {"weird", RFX_SEV_WARNING, true},
		{"bogus", RFX_SEV_WARNING, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[512];
		rfx_event **evs;
		struct json_object *v;

		snprintf(body, sizeof body,
			 GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\","
			       "\"severity\":\"%s\"},\"startsAt\":\"2026-01-10T03:22:45Z\","
			       "\"fingerprint\":\"f\"}"),
			 cases[i].label);
		int before = logs;
		CU_ASSERT_EQUAL_FATAL(decode(body, &evs), 1);
		CU_ASSERT_EQUAL(evs[0]->severity, cases[i].sev);
		CU_ASSERT_EQUAL(json_object_object_get_ex(evs[0]->attrs, "severity_unmapped", &v),
				cases[i].unmapped);
		/* a bad severity_map value is a config mistake: logged */
		CU_ASSERT_EQUAL(logs > before, strcmp(cases[i].label, "bogus") == 0);
		free_events(evs, 1);
	}
}

static void test_am_fields_message_and_attrs(void)
{
	rfx_event **evs;
	int n = decode("{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"r\","
		       "\"groupKey\":\"g\",\"externalURL\":\"http://am\",\"truncatedAlerts\":3,"
		       "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\","
		       "\"job\":\"node\",\"instance\":\"h:1\"},\"annotations\":{\"description\":"
		       "\"d\",\"x\":\"y\"},\"startsAt\":\"2026-01-10T03:22:45Z\","
		       "\"generatorURL\":\"http://g/\",\"fingerprint\":\"fp\",\"new\":1}]}",
		       &evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	rfx_event *e = evs[0];
	CU_ASSERT_STRING_EQUAL(e->str[RFX_F_MESSAGE], "d");
	CU_ASSERT_STRING_EQUAL(e->str[RFX_F_SERVICE], "node");
	CU_ASSERT_STRING_EQUAL(e->str[RFX_F_CHECK], "A");
	CU_ASSERT_STRING_EQUAL(e->str[RFX_F_KIND], "alert");
	CU_ASSERT_STRING_EQUAL(e->str[RFX_F_FINGERPRINT], "fp");
	CU_ASSERT_EQUAL(e->nlabels, 3);
	CU_ASSERT_EQUAL(e->severity, RFX_SEV_WARNING);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(e->attrs, WEBHOOK_JSON_FLAGS),
			       "{\"annotations\":{\"description\":\"d\",\"x\":\"y\"},"
			       "\"generatorURL\":\"http://g/\",\"startsAt\":\"2026-01-10T03:22:45Z\","
			       "\"receiver\":\"r\",\"groupKey\":\"g\",\"externalURL\":\"http://am\","
			       "\"alertmanager_status\":\"firing\",\"truncatedAlerts\":3}");
	CU_ASSERT_PTR_NOT_NULL(strstr(e->str[RFX_F_RAW], "\"new\":1"));
	CU_ASSERT_EQUAL(logs > 0, 1); /* truncatedAlerts is worth a warning */
	free_events(evs, n);
}

static void test_am_long_message_is_cut_on_a_character_boundary(void)
{
	size_t len = 70000;
	char *s = malloc(len + 400), *p;
	rfx_event **evs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	p = s + sprintf(s, "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":"
			   "{\"alertname\":\"A\"},\"startsAt\":\"2026-01-10T03:22:45Z\","
			   "\"fingerprint\":\"f\",\"annotations\":{\"summary\":\"a");
	for (size_t i = 0; i < len / 2; i++) {
		*p++ = (char)0xc3; /* é, two bytes, starting at an odd offset */
		*p++ = (char)0xa9;
	}
	strcpy(p, "\"}}]}");
	CU_ASSERT_EQUAL_FATAL(decode(s, &evs), 1);
	size_t ml = strlen(evs[0]->str[RFX_F_MESSAGE]);
	CU_ASSERT(ml <= 64 * 1024);
	CU_ASSERT(ml >= 64 * 1024 - 1);
	CU_ASSERT_EQUAL((unsigned char)evs[0]->str[RFX_F_MESSAGE][ml - 1], 0xa9);
	free_events(evs, 1);
	free(s);
}

static void test_am_rejects_name_the_field_and_leak_nothing(void)
{
	static const struct {
		const char *body, *want;
		int status;
	} cases[] = {
		{"[]", "expected an Alertmanager webhook object", 422},
		{"{\"version\":\"3\",\"alerts\":[]}", "version:", 422},
		{"{\"version\":4,\"alerts\":[]}", "version:", 422},
		{"{\"version\":\"4\"}", "alerts:", 422},
		{"{\"version\":\"4\",\"alerts\":[]}", "alerts: the array is empty", 422},
		{"{\"version\":\"4\",\"receiver\":1,\"alerts\":[" ALERT("") "]}", "receiver:", 422},
		{"{\"version\":\"4\",\"truncatedAlerts\":\"x\",\"alerts\":[" ALERT("") "]}",
		 "truncatedAlerts:", 422},
		{GROUP(ALERT("") ",5"), "alerts[1]: expected an object", 422},
		{GROUP(ALERT("") "," ALERT(",\"startsAt\":\"x\"")), "alerts[1].startsAt", 422},
		{GROUP("{\"status\":\"firing\",\"labels\":{\"instance\":\"h\"},\"startsAt\":"
		       "\"2026-01-10T03:22:45Z\",\"fingerprint\":\"f\"}"),
		 "alerts[0].labels.alertname: missing", 422},
		{GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},\"startsAt\":"
		       "\"2026-01-10T03:22:45Z\"}"),
		 "alerts[0].fingerprint", 422},
		{GROUP("{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},\"fingerprint\":\"f\"}"),
		 "alerts[0].startsAt: expected an RFC 3339 time, got nothing", 422},
		{GROUP("{\"labels\":{\"alertname\":\"A\"},\"startsAt\":\"2026-01-10T03:22:45Z\","
		       "\"fingerprint\":\"f\"}"),
		 "alerts[0].status", 422},
		{GROUP("{\"status\":\"firing\",\"labels\":[],\"startsAt\":\"2026-01-10T03:22:45Z\","
		       "\"fingerprint\":\"f\"}"),
		 "alerts[0].labels: expected an object", 422},
		{GROUP(ALERT(",\"annotations\":{\"a\":null}")), "alerts[0].annotations.a", 422},
		{GROUP(ALERT(",\"generatorURL\":5")), "alerts[0].generatorURL", 422},
		{GROUP(ALERT(",\"startsAt\":\"2300-01-01T00:00:00Z\"")), "1678-2261", 422},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rfx_event **evs;
		CU_ASSERT_EQUAL(decode(cases[i].body, &evs), -1);
		CU_ASSERT_EQUAL(last_status, cases[i].status);
		if (strstr(last_msg, cases[i].want) == NULL)
			fprintf(stderr, "\ncase %zu: '%s' lacks '%s'\n", i, last_msg, cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, cases[i].want));
	}
	/* 65 labels */
	char body[4096], *p = body;
	p += sprintf(p, "{\"version\":\"4\",\"alerts\":[" ALERT("") ",{\"status\":\"firing\","
			"\"startsAt\":\"2026-01-10T03:22:45Z\",\"fingerprint\":\"f\",\"labels\":"
			"{\"alertname\":\"A\"");
	for (int i = 0; i < 64; i++)
		p += sprintf(p, ",\"l%d\":\"v\"", i);
	strcpy(p, "}}]}");
	rfx_event **evs;
	CU_ASSERT_EQUAL(decode(body, &evs), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "alerts[1].labels: 65 labels"));

	cfg.max_events = 1;
	CU_ASSERT_EQUAL(decode(GROUP(ALERT("") "," ALERT("")), &evs), -1);
	CU_ASSERT_EQUAL(last_status, 413);
	CU_ASSERT_STRING_EQUAL(last_code, "too_many_events");
	cfg.max_events = 100;
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	setup();
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("format_alertmanager", NULL, NULL);
	CU_add_test(s, "test_am_strip_port_handles_names_ipv4_and_ipv6",
		    test_am_strip_port_handles_names_ipv4_and_ipv6);
	CU_add_test(s, "test_am_times_parse_offsets_fractions_and_zero",
		    test_am_times_parse_offsets_fractions_and_zero);
	CU_add_test(s, "test_am_severity_map_defaults_and_fallback",
		    test_am_severity_map_defaults_and_fallback);
	CU_add_test(s, "test_am_fields_message_and_attrs", test_am_fields_message_and_attrs);
	CU_add_test(s, "test_am_long_message_is_cut_on_a_character_boundary",
		    test_am_long_message_is_cut_on_a_character_boundary);
	CU_add_test(s, "test_am_rejects_name_the_field_and_leak_nothing",
		    test_am_rejects_name_the_field_and_leak_nothing);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails > 0;
}
