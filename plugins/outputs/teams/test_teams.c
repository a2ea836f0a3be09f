/*
 * plugins/outputs/teams/test_teams.c - unit tests of the teams output's
 * pure logic: the Workflows message with its Adaptive Card, the legacy
 * MessageCard, notices, the 28 KB bound, and how Teams' answers (the
 * connector's "200 with an error text" included) map onto results.
 * Includes the plugin's source; no network.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/Basic.h>
#include <stdarg.h>

#include "teams.c"
#include "../../../core/event.h"

#define URL "http://127.0.0.1:9/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SiGsEcReT42"

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

static struct teams_config cfg;

static struct teams_out *new_out(int format)
{
	struct teams_out *t = NULL;
	char err[256] = "";

	memset(&cfg, 0, sizeof cfg);
	cfg.http.url = URL;
	cfg.http.timeout_ms = 1000;
	cfg.http.connect_timeout_ms = 1000;
	cfg.http.tls_verify = true;
	cfg.format = format;
	cfg.title = "[{{status}}] {{severity}}: {{check}} on {{host}}";
	cfg.body = "{{message}}";
	cfg.notice_title = "{{nfiring}} firing: {{group.labels}}";
	cfg.notice_body = "{{#firing}}- {{check}} on {{host}}\n{{/firing}}";
	cfg.link = "https://reflex.example.com/events/{{id}}";
	cfg.link_text = "Details";
	cfg.facts = true;
	cfg.label_facts = true;
	if (teams_init(NULL, &host, &cfg, (void **)&t, err, sizeof err) != 0)
		fprintf(stderr, "init: %s\n", err);
	return t;
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

/* Renders rec like handle() does and builds the message. */
static struct json_object *build(struct teams_out *t, const rfx_record *rec, size_t *len)
{
	const rfx_event *ev = rec->type == RFX_REC_EVENT ? rec->u.event : NULL;
	const rfx_notice *n = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	struct teams_msg m = {0};
	const char *json;
	bool too_large;

	m.ev = ev != NULL ? ev : n->events[0];
	m.notice = n;
	m.resolved = ev != NULL ? ev->status == RFX_STATUS_RESOLVED : n->status == RFX_STATUS_RESOLVED;
	m.severity = m.ev->severity;
	m.facts = true;
	m.label_facts = true;
	m.link_text = "Details";
	CU_ASSERT_EQUAL(rfx_otpl_render(n ? t->ntitle : t->title, ev, n, &t->b_title, NULL), 0);
	CU_ASSERT_EQUAL(rfx_otpl_render(n ? t->nbody : t->body, ev, n, &t->b_body, NULL), 0);
	CU_ASSERT_EQUAL(rfx_otpl_render(t->link, ev, n, &t->b_link, NULL), 0);
	m.title = t->b_title.data;
	m.title_len = t->b_title.len;
	m.body = t->b_body.data;
	m.body_len = t->b_body.len;
	m.link = t->b_link.data;
	return teams_build(&m, t->cfg->format, &json, len, &too_large);
}

static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	     tok = strtok_r(NULL, ".", &save)) {
		if (*tok >= '0' && *tok <= '9')
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			return NULL;
	}
	return o;
}

static const char *sat(struct json_object *o, const char *path)
{
	o = at(o, path);
	return o != NULL ? json_object_get_string(o) : NULL;
}

static void test_teams_adaptive_card_message_as_workflows_document_it(void)
{
	struct teams_out *t = new_out(TEAMS_ADAPTIVE);
	rfx_event *ev = mkev("fp", RFX_SEV_CRITICAL, RFX_STATUS_FIRING, "97% full");
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = ev};
	size_t len;
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	o = build(t, &rec, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(sat(o, "type"), "message");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.contentType"),
			       "application/vnd.microsoft.card.adaptive");
	CU_ASSERT(json_object_object_get_ex(at(o, "attachments.0"), "contentUrl", NULL));
	CU_ASSERT_PTR_NULL(at(o, "attachments.0.contentUrl"));
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.type"), "AdaptiveCard");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.version"), "1.4");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.$schema"), TEAMS_CARD_SCHEMA);
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.0.text"),
			       "[firing] critical: disk on db1");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.0.color"), "Attention");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.1.text"), "97% full");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.2.type"), "FactSet");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.2.facts.0.title"), "Host");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.actions.0.type"), "Action.OpenUrl");
	json_object_put(o);
	ev->status = RFX_STATUS_RESOLVED;
	o = build(t, &rec, &len);
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.0.color"), "Good");
	json_object_put(o);
	rfx_event_unref(ev);
	teams_destroy(t);
}

static void test_teams_messagecard_for_legacy_connectors(void)
{
	struct teams_out *t = new_out(TEAMS_MESSAGECARD);
	rfx_event *ev = mkev("fp", RFX_SEV_WARNING, RFX_STATUS_FIRING, "slow");
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = ev};
	size_t len;
	struct json_object *o = build(t, &rec, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(sat(o, "@type"), "MessageCard");
	CU_ASSERT_STRING_EQUAL(sat(o, "@context"), "https://schema.org/extensions");
	CU_ASSERT_STRING_EQUAL(sat(o, "summary"), "[firing] warning: disk on db1");
	CU_ASSERT_STRING_EQUAL(sat(o, "themeColor"), "FFB900");
	CU_ASSERT_STRING_EQUAL(sat(o, "sections.0.text"), "slow");
	CU_ASSERT_STRING_EQUAL(sat(o, "sections.0.facts.0.name"), "Host");
	CU_ASSERT_STRING_EQUAL(sat(o, "potentialAction.0.@type"), "OpenUri");
	CU_ASSERT_STRING_EQUAL(sat(o, "potentialAction.0.targets.0.os"), "default");
	json_object_put(o);
	rfx_event_unref(ev);
	teams_destroy(t);
}

static void test_teams_huge_message_is_cut_under_28_kb(void)
{
	struct teams_out *t = new_out(TEAMS_ADAPTIVE);
	char *big = malloc(100001);
	rfx_event *ev;
	rfx_record rec = {.type = RFX_REC_EVENT};
	size_t len;
	struct json_object *o;

	for (int i = 0; i < 100000; i++)
		big[i] = i % 7 == 0 ? '"' : 'x'; /* quotes double in JSON */
	big[100000] = '\0';
	ev = mkev("fp", RFX_SEV_ERROR, RFX_STATUS_FIRING, big);
	rec.u.event = ev;
	o = build(t, &rec, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(len <= TEAMS_PAYLOAD_MAX);
	CU_ASSERT(strlen(sat(o, "attachments.0.content.body.1.text")) > 15000);
	json_object_put(o);
	rfx_event_unref(ev);
	free(big);
	teams_destroy(t);
}

static void test_teams_notice_lists_its_events(void)
{
	struct teams_out *t = new_out(TEAMS_ADAPTIVE);
	rfx_event *evs[2] = {mkev("a", RFX_SEV_WARNING, RFX_STATUS_FIRING, NULL),
			     mkev("b", RFX_SEV_CRITICAL, RFX_STATUS_FIRING, NULL)};
	const char *lk[1] = {"team"}, *lv[1] = {"dba"};
	rfx_notice n = {.size = sizeof n, .group_key = "g", .nlabels = 1, .label_keys = lk,
			.label_values = lv, .events = evs, .nevents = 2, .nfiring = 2,
			.status = RFX_STATUS_FIRING, .sequence = 1};
	rfx_record rec = {.type = RFX_REC_NOTICE, .u.notice = &n};
	size_t len;
	struct json_object *o = build(t, &rec, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.0.text"), "2 firing: team=dba");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.1.text"),
			       "- disk on db1\n- disk on db1\n");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.2.facts.0.title"), "team");
	CU_ASSERT_STRING_EQUAL(sat(o, "attachments.0.content.body.2.facts.1.value"), "2");
	json_object_put(o);
	rfx_event_unref(evs[0]);
	rfx_event_unref(evs[1]);
	teams_destroy(t);
}

static void test_teams_answers_map_onto_results(void)
{
	struct teams_out *t = new_out(TEAMS_ADAPTIVE);
	char e429[] = "Webhook message delivery failed with error: Microsoft Teams endpoint "
		      "returned HTTP error 429 with ContextId tcid=0.";
	char e403[] = "Webhook message delivery failed with error: Microsoft Teams endpoint "
		      "returned HTTP error 403 with ContextId tcid=0.";
	char b400[] = "{\"error\":{\"code\":\"InvalidRequestContent\",\"message\":\"bad " URL "\"}}";
	struct rfx_outhttp_response r = {.status = 202};
	rfx_delivery d = {.size = sizeof d};
	char msg[256];

	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_OK);
	r = (struct rfx_outhttp_response){.status = 200, .body = "1", .body_len = 1};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_OK);
	r = (struct rfx_outhttp_response){.status = 200, .body = e429, .body_len = sizeof e429 - 1};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	r = (struct rfx_outhttp_response){.status = 200, .body = e403, .body_len = sizeof e403 - 1};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "returned HTTP error 403"));
	r = (struct rfx_outhttp_response){.status = 429, .retry_after_ms = 5000};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_EQUAL(d.retry_after_ms, 5000);
	r = (struct rfx_outhttp_response){.status = 400, .body = b400, .body_len = sizeof b400 - 1};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_FAIL);
	CU_ASSERT_PTR_NULL(strstr(d.error, "SiGsEcReT42")); /* the URL's secret is redacted */
	CU_ASSERT_PTR_NULL(strstr(d.error, "workflows/abc"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.error, "HTTP 400: bad "));
	r = (struct rfx_outhttp_response){.status = 500};
	CU_ASSERT_EQUAL(teams_classify(t->http, 0, &r, &d, msg, sizeof msg), RFX_RETRY);
	teams_destroy(t);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"test_teams_adaptive_card_message_as_workflows_document_it",
		 test_teams_adaptive_card_message_as_workflows_document_it},
		{"test_teams_messagecard_for_legacy_connectors",
		 test_teams_messagecard_for_legacy_connectors},
		{"test_teams_huge_message_is_cut_under_28_kb", test_teams_huge_message_is_cut_under_28_kb},
		{"test_teams_notice_lists_its_events", test_teams_notice_lists_its_events},
		{"test_teams_answers_map_onto_results", test_teams_answers_map_onto_results},
	};
	unsigned failed;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("teams", NULL, NULL);
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
