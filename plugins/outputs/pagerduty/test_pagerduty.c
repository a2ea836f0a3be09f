/*
 * plugins/outputs/pagerduty/test_pagerduty.c - unit tests of the pagerduty
 * output's pure logic: the Events API v2 body for events and notices
 * (trigger / acknowledge / resolve), dedup keys, the severity mapping, the
 * summary cut, and how PagerDuty's answers map onto results. Includes the
 * plugin's source to reach its static functions; no network.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/Basic.h>
#include <stdarg.h>

#include "pagerduty.c"
#include "../../../core/event.h"

#define KEY "R0uT1nGkEy0123456789abcdefSeCrEt"

static void fk_log(rfx_instance *inst, int level, const char *fmt, ...)
{
	(void)inst;
	(void)level;
	(void)fmt;
}
static int fk_metric;
static rfx_metric *fk_counter(rfx_instance *inst, const char *name, const char *help)
{
	return (rfx_metric *)&fk_metric;
}
static void fk_add(rfx_metric *m, double v) {}

static const rfx_host host = {
	.abi_major = RFX_ABI_MAJOR, .abi_minor = RFX_ABI_MINOR, .size = sizeof(rfx_host),
	.log = fk_log, .severity_parse = rfx_severity_parse, .counter = fk_counter,
	.metric_add = fk_add,
};

static struct pd_config cfg;
static char *map_keys[1] = {"notice"}, *map_values[1] = {"warning"};

static struct pd_out *new_out(const char *key)
{
	struct pd_out *p = NULL;
	char err[256] = "";

	memset(&cfg, 0, sizeof cfg);
	cfg.http.url = "http://127.0.0.1:9/v2/enqueue";
	cfg.http.timeout_ms = 1000;
	cfg.http.connect_timeout_ms = 1000;
	cfg.http.tls_verify = true;
	cfg.routing_key = (char *)key;
	cfg.summary = "[{{severity}}] {{check}} on {{host}}{{#message}}: {{message}}{{/message}}";
	cfg.notice_summary = "{{nfiring}} firing, {{nresolved}} resolved: {{group.labels}}";
	cfg.source = "{{host}}";
	cfg.component = "{{service}}";
	cfg.class_ = "{{check}}";
	cfg.client = "reflex";
	cfg.link_text = "Details";
	cfg.send_attrs = true;
	cfg.severity_map.n = 1;
	cfg.severity_map.keys = map_keys;
	cfg.severity_map.values = map_values;
	if (pd_init(NULL, &host, &cfg, (void **)&p, err, sizeof err) != 0)
		fprintf(stderr, "init: %s\n", err);
	return p;
}

static rfx_event *mkev(const char *fp, int sev, int status, const char *msg)
{
	rfx_event *ev = rfx_event_new();

	rfx_event_set(ev, RFX_F_HOST, "db1");
	rfx_event_set(ev, RFX_F_CHECK, "disk");
	rfx_event_set(ev, RFX_F_SOURCE, "hook");
	rfx_event_set(ev, RFX_F_FINGERPRINT, fp);
	if (msg != NULL)
		rfx_event_set(ev, RFX_F_MESSAGE, msg);
	rfx_event_label_set(ev, "team", "dba");
	json_object_object_add(ev->attrs, "mount", json_object_new_string("/var"));
	ev->severity = sev;
	ev->status = status;
	ev->occurred_ns = 1700000000123000000LL;
	return ev;
}

static const char *jget(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	     tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, tok, &o))
			return NULL;
	return o != NULL ? json_object_get_string(o) : NULL;
}

static size_t utf8_chars_for_test(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static struct json_object *build_ev(struct pd_out *p, rfx_event *ev, enum pd_action *a)
{
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = ev};
	const char *why;

	return pd_build(p, &rec, true, a, &why);
}

static void test_pd_trigger_carries_the_documented_payload(void)
{
	struct pd_out *p = new_out(KEY);
	rfx_event *ev = mkev("db1-disk", RFX_SEV_CRITICAL, RFX_STATUS_FIRING, "97% full");
	enum pd_action a;
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	o = build_ev(p, ev, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(a, PD_TRIGGER);
	CU_ASSERT_STRING_EQUAL(jget(o, "routing_key"), KEY);
	CU_ASSERT_STRING_EQUAL(jget(o, "event_action"), "trigger");
	CU_ASSERT_STRING_EQUAL(jget(o, "dedup_key"), "db1-disk");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.summary"), "[critical] disk on db1: 97% full");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.source"), "db1");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.severity"), "critical");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.class"), "disk");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.timestamp"), "2023-11-14T22:13:20.123Z");
	CU_ASSERT_PTR_NULL(jget(o, "payload.component")); /* no service: left out */
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.custom_details.labels.team"), "dba");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.custom_details.attrs.mount"), "/var");
	CU_ASSERT_STRING_EQUAL(jget(o, "client"), "reflex");
	json_object_put(o);
	rfx_event_unref(ev);
	pd_destroy(p);
}

static void test_pd_summary_is_cut_at_1024_characters_on_a_character_boundary(void)
{
	struct pd_out *p = new_out(KEY);
	char *msg = malloc(2 * 3000 + 1);
	rfx_event *ev;
	enum pd_action a;
	struct json_object *o;
	const char *s;

	for (int i = 0; i < 3000; i++)
		memcpy(msg + 2 * i, "\xC3\xA9", 2); /* é */
	msg[6000] = '\0';
	ev = mkev("fp", RFX_SEV_ERROR, RFX_STATUS_FIRING, msg);
	o = build_ev(p, ev, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	s = jget(o, "payload.summary");
	CU_ASSERT_EQUAL(utf8_chars_for_test(s), 1024);
	CU_ASSERT_STRING_EQUAL(s + strlen(s) - 3, "\xE2\x80\xA6");
	CU_ASSERT_EQUAL(strlen(jget(o, "payload.custom_details.message")), 6000);
	json_object_put(o);
	rfx_event_unref(ev);
	free(msg);
	pd_destroy(p);
}

static void test_pd_resolved_sends_resolve_with_only_the_key_fields(void)
{
	struct pd_out *p = new_out(KEY);
	rfx_event *ev = mkev("db1-disk", RFX_SEV_CRITICAL, RFX_STATUS_RESOLVED, "ok");
	enum pd_action a;
	struct json_object *o = build_ev(p, ev, &a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(a, PD_RESOLVE);
	CU_ASSERT_STRING_EQUAL(jget(o, "event_action"), "resolve");
	CU_ASSERT_STRING_EQUAL(jget(o, "dedup_key"), "db1-disk");
	CU_ASSERT_EQUAL(json_object_object_length(o), 3);
	json_object_put(o);
	rfx_event_unref(ev);
	pd_destroy(p);
}

static void test_pd_acknowledged_attr_or_label_sends_acknowledge(void)
{
	rfx_event *ev = mkev("fp", RFX_SEV_ERROR, RFX_STATUS_FIRING, NULL);
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = ev};

	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_TRIGGER);
	json_object_object_add(ev->attrs, "acknowledged", json_object_new_boolean(1));
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_ACKNOWLEDGE); /* Zabbix, Nagios */
	json_object_object_add(ev->attrs, "acknowledged", json_object_new_boolean(0));
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_TRIGGER);
	json_object_object_del(ev->attrs, "acknowledged");
	rfx_event_label_set(ev, "acknowledged", "yes");
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_ACKNOWLEDGE);
	ev->status = RFX_STATUS_RESOLVED; /* resolution wins */
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_RESOLVE);
	rfx_event_unref(ev);
}

static void test_pd_long_fingerprint_gives_a_bounded_stable_dedup_key(void)
{
	char fp[400], k1[PD_DEDUP_MAX * 4 + 40], k2[sizeof k1], k3[sizeof k1];

	memset(fp, 'f', 300);
	fp[300] = '\0';
	pd_dedup_key(fp, PD_DEDUP_MAX, k1, sizeof k1);
	pd_dedup_key(fp, PD_DEDUP_MAX, k2, sizeof k2);
	fp[299] = 'g';
	pd_dedup_key(fp, PD_DEDUP_MAX, k3, sizeof k3);
	CU_ASSERT_EQUAL(strlen(k1), PD_DEDUP_MAX);
	CU_ASSERT_STRING_EQUAL(k1, k2);
	CU_ASSERT_STRING_NOT_EQUAL(k1, k3);
	pd_dedup_key("short", PD_DEDUP_MAX, k1, sizeof k1);
	CU_ASSERT_STRING_EQUAL(k1, "short");
}

static void test_pd_severity_map_defaults_and_overrides(void)
{
	struct pd_out *p = new_out(KEY);
	char err[256];
	int map[8];
	char *bad_v[1] = {"urgent"};
	struct rfx_strmap bad = {1, map_keys, bad_v};

	CU_ASSERT_STRING_EQUAL(pd_severities[p->sevmap[RFX_SEV_EMERGENCY]], "critical");
	CU_ASSERT_STRING_EQUAL(pd_severities[p->sevmap[RFX_SEV_ERROR]], "error");
	CU_ASSERT_STRING_EQUAL(pd_severities[p->sevmap[RFX_SEV_WARNING]], "warning");
	CU_ASSERT_STRING_EQUAL(pd_severities[p->sevmap[RFX_SEV_NOTICE]], "warning"); /* override */
	CU_ASSERT_STRING_EQUAL(pd_severities[p->sevmap[RFX_SEV_DEBUG]], "info");
	CU_ASSERT_EQUAL(pd_sevmap_load(&host, &bad, map, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'urgent' is not a PagerDuty severity"));
	pd_destroy(p);
}

static void test_pd_notice_uses_the_group_key_and_its_most_severe_event(void)
{
	struct pd_out *p = new_out(KEY);
	rfx_event *evs[3] = {mkev("a", RFX_SEV_WARNING, RFX_STATUS_FIRING, NULL),
			     mkev("b", RFX_SEV_CRITICAL, RFX_STATUS_FIRING, NULL),
			     mkev("c", RFX_SEV_INFO, RFX_STATUS_RESOLVED, NULL)};
	const char *lk[1] = {"team"}, *lv[1] = {"dba"};
	rfx_notice n = {.size = sizeof n, .group_key = "grp:team=dba", .nlabels = 1,
			.label_keys = lk, .label_values = lv, .events = evs, .nevents = 3,
			.nfiring = 2, .status = RFX_STATUS_FIRING, .sequence = 1};
	rfx_record rec = {.type = RFX_REC_NOTICE, .u.notice = &n};
	enum pd_action a;
	const char *why;
	struct json_object *o = pd_build(p, &rec, true, &a, &why), *evarr;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(a, PD_TRIGGER);
	CU_ASSERT_STRING_EQUAL(jget(o, "dedup_key"), "grp:team=dba");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.severity"), "critical");
	CU_ASSERT_STRING_EQUAL(jget(o, "payload.summary"), "2 firing, 1 resolved: team=dba");
	CU_ASSERT_FATAL(json_object_object_get_ex(
		json_object_object_get(json_object_object_get(o, "payload"), "custom_details"),
		"events", &evarr));
	CU_ASSERT_EQUAL(json_object_array_length(evarr), 3);
	json_object_put(o);
	json_object_object_add(evs[0]->attrs, "acknowledged", json_object_new_boolean(1));
	json_object_object_add(evs[1]->attrs, "acknowledged", json_object_new_boolean(1));
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_ACKNOWLEDGE);
	n.status = RFX_STATUS_RESOLVED;
	CU_ASSERT_EQUAL(pd_action_of(&rec), PD_RESOLVE);
	for (int i = 0; i < 3; i++)
		rfx_event_unref(evs[i]);
	pd_destroy(p);
}

static void test_pd_answers_map_onto_results(void)
{
	struct pd_out *p = new_out(KEY);
	char body400[] = "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\","
			 "\"errors\":[\"'payload.source' is missing or blank\",\"routing_key " KEY
			 " unknown\"]}";
	char body202[] = "{\"status\":\"success\",\"message\":\"Event processed\","
			 "\"dedup_key\":\"x\"}";
	struct rfx_outhttp_response r = {.status = 400, .body = body400,
					 .body_len = sizeof body400 - 1};
	rfx_delivery d = {.size = sizeof d};
	char msg[256];

	CU_ASSERT_EQUAL(pd_classify(p->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 400: Event object is invalid: 'payload.source' is "
					"missing or blank; routing_key *** unknown");
	r = (struct rfx_outhttp_response){.status = 202, .body = body202,
					  .body_len = sizeof body202 - 1};
	CU_ASSERT_EQUAL(pd_classify(p->http, 0, &r, &d, msg, sizeof msg), RFX_OK);
	r = (struct rfx_outhttp_response){.status = 429};
	memset(d.error, 0, sizeof d.error);
	CU_ASSERT_EQUAL(pd_classify(p->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 0);
	r = (struct rfx_outhttp_response){.status = 503, .retry_after_ms = 30000};
	CU_ASSERT_EQUAL(pd_classify(p->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 30000);
	r = (struct rfx_outhttp_response){.status = 0, .error = "Connection refused"};
	CU_ASSERT_EQUAL(pd_classify(p->http, RFX_EIO, &r, &d, msg, sizeof msg), RFX_RETRY);
	r = (struct rfx_outhttp_response){.status = 403, .body = "{\"message\":\"Forbidden\"}",
					  .body_len = 23};
	CU_ASSERT_EQUAL(pd_classify(p->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 403: Forbidden");
	pd_destroy(p);
}

static void test_pd_routing_key_must_be_32_characters(void)
{
	CU_ASSERT_PTR_NULL(new_out("short-key"));
	CU_ASSERT_PTR_NULL(new_out("R0uT1nGkEy0123456789abcdef SeCrE")); /* a space */
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"test_pd_trigger_carries_the_documented_payload",
		 test_pd_trigger_carries_the_documented_payload},
		{"test_pd_summary_is_cut_at_1024_characters_on_a_character_boundary",
		 test_pd_summary_is_cut_at_1024_characters_on_a_character_boundary},
		{"test_pd_resolved_sends_resolve_with_only_the_key_fields",
		 test_pd_resolved_sends_resolve_with_only_the_key_fields},
		{"test_pd_acknowledged_attr_or_label_sends_acknowledge",
		 test_pd_acknowledged_attr_or_label_sends_acknowledge},
		{"test_pd_long_fingerprint_gives_a_bounded_stable_dedup_key",
		 test_pd_long_fingerprint_gives_a_bounded_stable_dedup_key},
		{"test_pd_severity_map_defaults_and_overrides",
		 test_pd_severity_map_defaults_and_overrides},
		{"test_pd_notice_uses_the_group_key_and_its_most_severe_event",
		 test_pd_notice_uses_the_group_key_and_its_most_severe_event},
		{"test_pd_answers_map_onto_results", test_pd_answers_map_onto_results},
		{"test_pd_routing_key_must_be_32_characters", test_pd_routing_key_must_be_32_characters},
	};
	unsigned failed;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("pagerduty", NULL, NULL);
	for (size_t i = 0; s != NULL && i < sizeof tests / sizeof tests[0]; i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() == 0)
		failed = 1;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
