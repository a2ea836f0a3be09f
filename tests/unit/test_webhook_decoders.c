/*
 * tests/unit/test_webhook_decoders.c - the webhook input's nagios, grafana
 * and json `mapping` decoders (plugins/inputs/webhook/format_*.c) called
 * directly with the core's real event functions behind a host table, so
 * they run under the sanitizers without a server. The HTTP side (auth,
 * forms, storing) is covered by tests/integration/test_webhook_formats.sh.
 */
#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/event.h"
#include "../../plugins/inputs/webhook/webhook.h"
#include "testutil.h"

static int last_status;
static char last_msg[512];

static void fake_http_error(rfx_http_response *resp, int status, const char *code,
			    const char *fmt, ...)
{
	va_list ap;

	(void)code;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof last_msg, fmt, ap);
	va_end(ap);
	last_status = status;
	resp->status = status;
}

static void fake_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	(void)inst;
	(void)level;
	(void)fmt;
}

static rfx_host host;
static struct webhook_config cfg;
static struct webhook w;

static int fmt_index(const char *name)
{
	for (int i = 0; webhook_formats[i].name != NULL; i++)
		if (strcmp(webhook_formats[i].name, name) == 0)
			return i;
	return -1;
}

static void setup(const char *format)
{
	memset(&cfg, 0, sizeof cfg);
	cfg.max_events = 100;
	cfg.format = fmt_index(format);
	cfg.host_label = "instance";
	cfg.strip_port = true;
	cfg.severity_label = "severity";
	host.event_new = rfx_event_new;
	host.event_ref = rfx_event_ref;
	host.event_unref = rfx_event_unref;
	host.event_set = rfx_event_set;
	host.event_label_set = rfx_event_label_set;
	host.event_label_get = rfx_event_label_get;
	host.event_from_json = rfx_event_from_json;
	host.severity_parse = rfx_severity_parse;
	host.severity_name = rfx_severity_name;
	host.now_ns = rfx_now_ns;
	host.http_error = fake_http_error;
	host.log = fake_log;
	w.host = &host;
	w.cfg = &cfg;
	last_status = 0;
	last_msg[0] = '\0';
}

/* Decodes text with the current format: the number of events, or -1. */
static int decode(const char *text, rfx_event ***evs)
{
	struct json_object *root = json_tokener_parse(text);
	rfx_http_response resp = {0};
	size_t n = 0;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	*evs = NULL;
	rc = webhook_formats[cfg.format].decode(&w, root, evs, &n, &resp);
	json_object_put(root);
	return rc == 0 ? (int)n : -1;
}

static void release(rfx_event **evs, int n)
{
	for (int i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
	free(evs);
}

static const char *attr(const rfx_event *ev, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(ev->attrs, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_nagios_problem_and_recovery_share_the_fingerprint(void)
{
	rfx_event **evs;
	char fp[128];

	setup("nagios");
	CU_ASSERT_EQUAL_FATAL(decode("{\"NOTIFICATIONTYPE\":\"PROBLEM\",\"HOSTNAME\":\"db1\","
				     "\"SERVICEDESC\":\"disk\",\"SERVICESTATE\":\"CRITICAL\","
				     "\"SERVICEOUTPUT\":\"97%\",\"SERVICEPROBLEMID\":\"12\","
				     "\"TIMET\":\"1700000000\"}", &evs), 1);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(evs[0]), "db1");
	CU_ASSERT_STRING_EQUAL(rfx_event_service(evs[0]), "disk");
	CU_ASSERT_STRING_EQUAL(rfx_event_message(evs[0]), "97%");
	CU_ASSERT_EQUAL(evs[0]->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(evs[0]->status, RFX_STATUS_FIRING);
	CU_ASSERT_EQUAL(evs[0]->occurred_ns, 1700000000LL * 1000000000);
	CU_ASSERT_STRING_EQUAL(attr(evs[0], "problem_id"), "12");
	CU_ASSERT_PTR_NOT_NULL(evs[0]->str[RFX_F_RAW]);
	snprintf(fp, sizeof fp, "%s", rfx_event_fingerprint(evs[0]));
	release(evs, 1);

	CU_ASSERT_EQUAL_FATAL(decode("{\"NOTIFICATIONTYPE\":\"RECOVERY\",\"HOSTNAME\":\"db1\","
				     "\"SERVICEDESC\":\"disk\",\"SERVICESTATE\":\"OK\","
				     "\"SERVICEPROBLEMID\":\"0\",\"LASTSERVICEPROBLEMID\":\"12\"}",
				     &evs), 1);
	CU_ASSERT_EQUAL(evs[0]->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_EQUAL(evs[0]->severity, RFX_SEV_INFO);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(evs[0]), fp);
	CU_ASSERT_STRING_EQUAL(fp, "nagios:db1/disk");
	release(evs, 1);
}

static void test_nagios_host_ack_and_severity_map(void)
{
	rfx_event **evs;
	char *keys[] = {"unreachable"}, *vals[] = {"critical"};

	setup("nagios");
	CU_ASSERT_EQUAL_FATAL(decode("{\"NOTIFICATIONTYPE\":\"ACKNOWLEDGEMENT\",\"HOSTNAME\":\"sw\","
				     "\"HOSTSTATE\":\"DOWN\",\"NOTIFICATIONAUTHOR\":\"bob\"}", &evs), 1);
	CU_ASSERT_PTR_NULL(rfx_event_service(evs[0]));
	CU_ASSERT_STRING_EQUAL(rfx_event_check(evs[0]), "host");
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(evs[0]), "nagios:sw");
	CU_ASSERT_EQUAL(evs[0]->status, RFX_STATUS_FIRING);
	CU_ASSERT_STRING_EQUAL(attr(evs[0], "acknowledged"), "true");
	CU_ASSERT_STRING_EQUAL(attr(evs[0], "author"), "bob");
	release(evs, 1);

	cfg.severity_map.n = 1;
	cfg.severity_map.keys = keys;
	cfg.severity_map.values = vals;
	CU_ASSERT_EQUAL_FATAL(decode("{\"HOSTNAME\":\"sw\",\"HOSTSTATE\":\"UNREACHABLE\"}", &evs), 1);
	CU_ASSERT_EQUAL(evs[0]->severity, RFX_SEV_CRITICAL);
	release(evs, 1);
}

static void test_nagios_refuses_bad_fields_naming_them(void)
{
	rfx_event **evs;

	setup("nagios");
	CU_ASSERT_EQUAL(decode("{\"SERVICEDESC\":\"x\"}", &evs), -1);
	CU_ASSERT_EQUAL(last_status, 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "HOSTNAME"));
	CU_ASSERT_EQUAL(decode("{\"HOSTNAME\":\"a\",\"HOSTSTATE\":\"OK\"}", &evs), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "HOSTSTATE: unknown state 'OK'"));
	CU_ASSERT_EQUAL(decode("{\"HOSTNAME\":\"a\",\"LONGHOSTOUTPUT\":[1]}", &evs), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "LONGHOSTOUTPUT: expected a string"));
	CU_ASSERT_EQUAL(decode("[{\"HOSTNAME\":\"a\"}]", &evs), -1);
	CU_ASSERT_EQUAL(last_status, 422);
}

static const char grafana_body[] =
	"{\"receiver\":\"r\",\"status\":\"firing\",\"alerts\":["
	"{\"status\":\"firing\",\"labels\":{\"alertname\":\"Mem\",\"instance\":\"[::1]:9100\","
	"\"severity\":\"crit\"},\"annotations\":{\"description\":\"d\"},"
	"\"startsAt\":\"2024-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
	"\"fingerprint\":\"f1\",\"values\":{\"B\":1.5}},"
	"{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Cpu\",\"instance\":\"web1:9100\"},"
	"\"startsAt\":\"2024-01-01T00:00:00Z\",\"endsAt\":\"2024-01-01T00:10:00Z\"}],"
	"\"version\":\"1\",\"groupKey\":\"g\",\"truncatedAlerts\":0}";

static void test_grafana_one_event_per_alert(void)
{
	rfx_event **evs;

	setup("grafana");
	CU_ASSERT_EQUAL_FATAL(decode(grafana_body, &evs), 2);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(evs[0]), "::1");
	CU_ASSERT_STRING_EQUAL(rfx_event_check(evs[0]), "Mem");
	CU_ASSERT_STRING_EQUAL(rfx_event_message(evs[0]), "d");
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(evs[0]), "f1");
	CU_ASSERT_EQUAL(evs[0]->severity, RFX_SEV_CRITICAL);
	CU_ASSERT(evs[0]->has_value && evs[0]->value == 1.5);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(evs[0], "alertname"), "Mem");
	CU_ASSERT_STRING_EQUAL(attr(evs[0], "group_key"), "g");
	CU_ASSERT_STRING_EQUAL(rfx_event_host(evs[1]), "web1");
	CU_ASSERT_EQUAL(evs[1]->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_EQUAL(evs[1]->occurred_ns, 1704067800LL * 1000000000);
	/* No fingerprint sent: one derived from the labels, stable. */
	CU_ASSERT_EQUAL(strncmp(rfx_event_fingerprint(evs[1]), "grafana:", 8), 0);
	release(evs, 2);
}

static void test_grafana_refuses_whole_batch_on_one_bad_alert(void)
{
	rfx_event **evs;

	setup("grafana");
	CU_ASSERT_EQUAL(decode("{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":\"b\"}},"
			       "{\"status\":\"burning\",\"labels\":{}}]}", &evs), -1);
	CU_ASSERT_EQUAL(last_status, 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "alerts[1].status"));
	cfg.max_events = 1;
	CU_ASSERT_EQUAL(decode(grafana_body, &evs), -1);
	CU_ASSERT_EQUAL(last_status, 413);
}

static void test_mapping_builds_events_through_pointers(void)
{
	rfx_event **evs;
	char *keys[] = {"host", "check", "severity", "status", "labels.team", "attrs.raw", "time",
			"value"};
	char *vals[] = {"/n/h", "/r", "/lvl", "/on", "/t", "/n", "/ts", "/v"};
	char *sk[] = {"P1"}, *sv[] = {"critical"};
	char err[256];

	setup("json");
	cfg.mapping.n = 8;
	cfg.mapping.keys = keys;
	cfg.mapping.values = vals;
	cfg.severity_map.n = 1;
	cfg.severity_map.keys = sk;
	cfg.severity_map.values = sv;
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(decode("[{\"n\":{\"h\":7},\"r\":\"x\",\"lvl\":\"p1\",\"on\":false,"
				     "\"t\":\"ops\",\"ts\":1.5,\"v\":\"2.5\"}]", &evs), 1);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(evs[0]), "7");
	CU_ASSERT_EQUAL(evs[0]->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(evs[0]->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(evs[0], "team"), "ops");
	CU_ASSERT_EQUAL(evs[0]->occurred_ns, 1500000000);
	CU_ASSERT(evs[0]->has_value && evs[0]->value == 2.5);
	CU_ASSERT_STRING_EQUAL(attr(evs[0], "raw"), "{ \"h\": 7 }");
	release(evs, 1);

	CU_ASSERT_EQUAL(decode("[{\"r\":\"x\"},{\"r\":\"x\",\"on\":\"2\"}]", &evs), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_msg, "events[1]: status (mapped from '/on')"));
}

static void test_mapping_validate_refuses_unknown_fields_and_pointers(void)
{
	char *k1[] = {"hots"}, *v1[] = {"/a"}, *k2[] = {"host"}, *v2[] = {"a"};
	char *k3[] = {"labels."}, *sk[] = {"x"}, *sv[] = {"urgent"};
	char err[256];

	setup("json");
	cfg.mapping = (struct rfx_strmap){1, k1, v1};
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mapping.hots: unknown event field"));
	cfg.mapping = (struct rfx_strmap){1, k2, v2};
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a JSON pointer"));
	cfg.mapping = (struct rfx_strmap){1, k3, v1};
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), RFX_EINVAL);
	cfg.mapping = (struct rfx_strmap){0, NULL, NULL};
	cfg.severity_map = (struct rfx_strmap){1, sk, sv};
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "severity_map.x"));
	setup("grafana");
	cfg.mapping = (struct rfx_strmap){1, k2, v1};
	CU_ASSERT_EQUAL(webhook_mapping_validate(&host, &cfg, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "only used with format json"));
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_nagios_problem_and_recovery_share_the_fingerprint),
		RFX_TEST(test_nagios_host_ack_and_severity_map),
		RFX_TEST(test_nagios_refuses_bad_fields_naming_them),
		RFX_TEST(test_grafana_one_event_per_alert),
		RFX_TEST(test_grafana_refuses_whole_batch_on_one_bad_alert),
		RFX_TEST(test_mapping_builds_events_through_pointers),
		RFX_TEST(test_mapping_validate_refuses_unknown_fields_and_pointers),
		{NULL, NULL},
	};
	return rfx_run_suite("webhook_decoders", tests);
}
