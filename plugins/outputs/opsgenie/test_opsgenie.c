/*
 * plugins/outputs/opsgenie/test_opsgenie.c - unit tests of the opsgenie
 * output's pure logic: create / acknowledge / close requests for events
 * and notices (paths by URL-encoded alias), Opsgenie's length limits,
 * priorities, responders, the region's URL, and how Opsgenie's answers
 * map onto results. Includes the plugin's source; no network.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/Basic.h>
#include <stdarg.h>

#include "opsgenie.c"
#include "../../../core/event.h"

#define KEY "eb243592-faa2-4ba2-a551-SeCrEtGeNiE1"

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

static struct og_config cfg;
static char *prio_keys[1] = {"warning"}, *prio_values[1] = {"P4"};
static char *tag_src[3] = {"{{severity}}", "team:{{labels.team}}", "{{labels.none}}"};
static struct og_responder resp_v[2] = {{.type = 0, .name = "dba"},
					{.type = 1, .username = "ada@example.com"}};

static struct og_out *new_out(const char *url, int region)
{
	struct og_out *g = NULL;
	char err[256] = "";

	memset(&cfg, 0, sizeof cfg);
	cfg.http.url = (char *)url;
	cfg.http.timeout_ms = 1000;
	cfg.http.connect_timeout_ms = 1000;
	cfg.http.tls_verify = true;
	cfg.region = region;
	cfg.api_key = KEY;
	cfg.message = "[{{severity}}] {{check}} on {{host}}";
	cfg.notice_message = "{{nfiring}} firing: {{group.labels}}";
	cfg.description = "{{message}}";
	cfg.notice_description = "{{#firing}}{{check}} on {{host}}\n{{/firing}}";
	cfg.entity = "{{host}}";
	cfg.source = "reflex";
	cfg.note = "{{message}}";
	cfg.tags.n = 3;
	cfg.tags.v = tag_src;
	cfg.priority_map.n = 1;
	cfg.priority_map.keys = prio_keys;
	cfg.priority_map.values = prio_values;
	cfg.responders.n = 2;
	cfg.responders.v = resp_v;
	if (og_init(NULL, &host, &cfg, (void **)&g, err, sizeof err) != 0)
		fprintf(stderr, "init: %s\n", err);
	return g;
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

static const char *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static struct json_object *build_ev(struct og_out *g, rfx_event *ev, enum og_action *a, char *path,
				    size_t plen)
{
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = ev};
	const char *why;

	return og_build(g, &rec, a, path, plen, &why);
}

static void test_og_create_carries_alias_priority_tags_and_responders(void)
{
	struct og_out *g = new_out(NULL, 0);
	rfx_event *ev = mkev("db1/disk var", RFX_SEV_CRITICAL, RFX_STATUS_FIRING, "97% full");
	char path[512];
	enum og_action a;
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_STRING_EQUAL(g->base, "https://api.opsgenie.com");
	CU_ASSERT_STRING_EQUAL(g->auth, "Authorization: GenieKey " KEY);
	o = build_ev(g, ev, &a, path, sizeof path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(a, OG_CREATE);
	CU_ASSERT_STRING_EQUAL(path, "/v2/alerts");
	CU_ASSERT_STRING_EQUAL(jget(o, "alias"), "db1/disk var");
	CU_ASSERT_STRING_EQUAL(jget(o, "message"), "[critical] disk on db1");
	CU_ASSERT_STRING_EQUAL(jget(o, "description"), "97% full");
	CU_ASSERT_STRING_EQUAL(jget(o, "priority"), "P1");
	CU_ASSERT_STRING_EQUAL(jget(o, "entity"), "db1");
	CU_ASSERT_STRING_EQUAL(jget(o, "tags"), "[ \"critical\", \"team:dba\" ]");
	CU_ASSERT_STRING_EQUAL(jget(json_object_object_get(o, "details"), "team"), "dba");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(json_object_object_get(o, "responders"),
							      JSON_C_TO_STRING_PLAIN),
			       "[{\"type\":\"team\",\"name\":\"dba\"},{\"type\":\"user\","
			       "\"username\":\"ada@example.com\"}]");
	json_object_put(o);
	rfx_event_unref(ev);
	og_destroy(g);
}

static void test_og_limits_cut_message_description_and_details(void)
{
	struct og_out *g = new_out("http://127.0.0.1:9/v2/alerts/", 0);
	char *big = malloc(30001), *lv = malloc(3001), path[512];
	rfx_event *ev;
	enum og_action a;
	struct json_object *o, *d;
	size_t dl = 0;

	memset(big, 'x', 30000);
	big[30000] = '\0';
	memset(lv, 'v', 3000);
	lv[3000] = '\0';
	CU_ASSERT_STRING_EQUAL(g->base, "http://127.0.0.1:9"); /* /v2/alerts and / dropped */
	ev = mkev("fp", RFX_SEV_WARNING, RFX_STATUS_FIRING, big);
	rfx_event_set(ev, RFX_F_CHECK, big);
	for (int i = 0; i < 5; i++) {
		char k[8];

		snprintf(k, sizeof k, "l%d", i);
		rfx_event_label_set(ev, k, lv);
	}
	o = build_ev(g, ev, &a, path, sizeof path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(utf8_len(jget(o, "message")), OG_MESSAGE_MAX);
	CU_ASSERT_EQUAL(utf8_len(jget(o, "description")), OG_DESCRIPTION_MAX);
	CU_ASSERT_STRING_EQUAL(jget(o, "priority"), "P4"); /* priority_map override */
	d = json_object_object_get(o, "details");
	json_object_object_foreach(d, k, v) dl += strlen(k) + strlen(json_object_get_string(v));
	CU_ASSERT(dl <= OG_DETAILS_MAX);
	CU_ASSERT_STRING_EQUAL(jget(d, "truncated"), "yes");
	json_object_put(o);
	rfx_event_unref(ev);
	free(big);
	free(lv);
	og_destroy(g);
}

static void test_og_acknowledge_and_close_go_by_url_encoded_alias(void)
{
	struct og_out *g = new_out(NULL, 1);
	rfx_event *ev = mkev("db1/disk var", RFX_SEV_ERROR, RFX_STATUS_FIRING, "on it");
	char path[512];
	enum og_action a;
	struct json_object *o;

	CU_ASSERT_STRING_EQUAL(g->base, "https://api.eu.opsgenie.com");
	rfx_event_label_set(ev, "acknowledged", "true");
	o = build_ev(g, ev, &a, path, sizeof path);
	CU_ASSERT_EQUAL(a, OG_ACKNOWLEDGE);
	CU_ASSERT_STRING_EQUAL(path, "/v2/alerts/db1%2Fdisk%20var/acknowledge?identifierType=alias");
	CU_ASSERT_STRING_EQUAL(jget(o, "note"), "on it");
	CU_ASSERT_PTR_NULL(jget(o, "message"));
	json_object_put(o);
	ev->status = RFX_STATUS_RESOLVED;
	o = build_ev(g, ev, &a, path, sizeof path);
	CU_ASSERT_EQUAL(a, OG_CLOSE);
	CU_ASSERT_STRING_EQUAL(path, "/v2/alerts/db1%2Fdisk%20var/close?identifierType=alias");
	CU_ASSERT_STRING_EQUAL(jget(o, "source"), "reflex");
	json_object_put(o);
	rfx_event_unref(ev);
	og_destroy(g);
}

static void test_og_long_fingerprint_gives_a_bounded_stable_alias(void)
{
	char fp[700], a1[OG_ALIAS_MAX * 4 + 40], a2[sizeof a1];

	memset(fp, 'f', 600);
	fp[600] = '\0';
	og_alias(fp, OG_ALIAS_MAX, a1, sizeof a1);
	og_alias(fp, OG_ALIAS_MAX, a2, sizeof a2);
	CU_ASSERT_EQUAL(strlen(a1), OG_ALIAS_MAX);
	CU_ASSERT_STRING_EQUAL(a1, a2);
}

static void test_og_notice_creates_on_the_group_key_and_closes_when_resolved(void)
{
	struct og_out *g = new_out(NULL, 0);
	rfx_event *evs[2] = {mkev("a", RFX_SEV_WARNING, RFX_STATUS_FIRING, NULL),
			     mkev("b", RFX_SEV_ERROR, RFX_STATUS_FIRING, NULL)};
	const char *lk[1] = {"team"}, *lv[1] = {"dba"};
	rfx_notice n = {.size = sizeof n, .group_key = "grp/1", .nlabels = 1, .label_keys = lk,
			.label_values = lv, .events = evs, .nevents = 2, .nfiring = 2,
			.status = RFX_STATUS_FIRING, .sequence = 1};
	rfx_record rec = {.type = RFX_REC_NOTICE, .u.notice = &n};
	char path[512];
	enum og_action a;
	const char *why;
	struct json_object *o = og_build(g, &rec, &a, path, sizeof path, &why);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(a, OG_CREATE);
	CU_ASSERT_STRING_EQUAL(jget(o, "alias"), "grp/1");
	CU_ASSERT_STRING_EQUAL(jget(o, "message"), "2 firing: team=dba");
	CU_ASSERT_STRING_EQUAL(jget(o, "priority"), "P2"); /* the most severe: error */
	CU_ASSERT_STRING_EQUAL(jget(o, "description"), "disk on db1\ndisk on db1\n");
	json_object_put(o);
	n.status = RFX_STATUS_RESOLVED;
	n.nfiring = 0;
	o = og_build(g, &rec, &a, path, sizeof path, &why);
	CU_ASSERT_EQUAL(a, OG_CLOSE);
	CU_ASSERT_STRING_EQUAL(path, "/v2/alerts/grp%2F1/close?identifierType=alias");
	json_object_put(o);
	rfx_event_unref(evs[0]);
	rfx_event_unref(evs[1]);
	og_destroy(g);
}

static void test_og_answers_map_onto_results(void)
{
	struct og_out *g = new_out(NULL, 0);
	char b422[] = "{\"message\":\"Request body is not processable. Please check the errors.\","
		      "\"errors\":{\"message\":\"Message can not be empty.\"},\"took\":0.001,"
		      "\"requestId\":\"r\"}";
	char b202[] = "{\"result\":\"Request will be processed\",\"took\":0.2,\"requestId\":\"r\"}";
	char b429[] = "{\"message\":\"You are making too many requests!\"}";
	struct rfx_outhttp_response r = {.status = 422, .body = b422, .body_len = sizeof b422 - 1};
	rfx_delivery d = {.size = sizeof d};
	char msg[256];

	CU_ASSERT_EQUAL(og_classify(g->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 422: Request body is not processable. Please check "
					"the errors. (message: Message can not be empty.)");
	r = (struct rfx_outhttp_response){.status = 202, .body = b202, .body_len = sizeof b202 - 1};
	CU_ASSERT_EQUAL(og_classify(g->http, 0, &r, &d, msg, sizeof msg), RFX_OK);
	r = (struct rfx_outhttp_response){.status = 429, .body = b429, .body_len = sizeof b429 - 1,
					  .retry_after_ms = 2000};
	CU_ASSERT_EQUAL(og_classify(g->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 2000);
	CU_ASSERT_STRING_EQUAL(d.error, "HTTP 429: You are making too many requests!");
	r = (struct rfx_outhttp_response){.status = 401, .body = "{\"message\":\"Could not authenticate\"}",
					  .body_len = 34};
	CU_ASSERT_EQUAL(og_classify(g->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	r = (struct rfx_outhttp_response){.status = 502};
	CU_ASSERT_EQUAL(og_classify(g->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	og_destroy(g);
}

static void test_og_config_errors_name_the_option(void)
{
	struct og_responder both = {.type = 0, .name = "x", .id = "y"};
	struct rfx_seclist l = {1, &both};
	struct json_object *o;
	char err[256];
	int map[8];
	char *bad[1] = {"P9"};
	struct rfx_strmap m = {1, prio_keys, bad};

	CU_ASSERT_EQUAL(og_responders_load(&l, &o, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "responders[0]: a team takes either id or name");
	CU_ASSERT_EQUAL(og_prio_load(&host, &m, map, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'P9' is not an Opsgenie priority"));
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"test_og_create_carries_alias_priority_tags_and_responders",
		 test_og_create_carries_alias_priority_tags_and_responders},
		{"test_og_limits_cut_message_description_and_details",
		 test_og_limits_cut_message_description_and_details},
		{"test_og_acknowledge_and_close_go_by_url_encoded_alias",
		 test_og_acknowledge_and_close_go_by_url_encoded_alias},
		{"test_og_long_fingerprint_gives_a_bounded_stable_alias",
		 test_og_long_fingerprint_gives_a_bounded_stable_alias},
		{"test_og_notice_creates_on_the_group_key_and_closes_when_resolved",
		 test_og_notice_creates_on_the_group_key_and_closes_when_resolved},
		{"test_og_answers_map_onto_results", test_og_answers_map_onto_results},
		{"test_og_config_errors_name_the_option", test_og_config_errors_name_the_option},
	};
	unsigned failed;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("opsgenie", NULL, NULL);
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
