/*
 * tests/unit/test_template.c - the output plugins' templates
 * (plugins/common/template.c): fields, labels, attrs, sections over a
 * notice's events, escaping per destination, compile errors with their
 * position, and the bound on the rendered size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../core/event.h"
#include "../../plugins/common/template.h"
#include "testutil.h"

/* An event from the generic JSON form (docs/events.md). */
static rfx_event *ev_json(const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	char err[256] = "";
	rfx_event *ev;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	ev = rfx_event_from_json(o, err, sizeof err);
	json_object_put(o);
	if (ev == NULL)
		fprintf(stderr, "event_from_json: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	return ev;
}

/* Compiles src with esc, renders it for ev or n and returns a malloc'd
 * copy of the output (the test frees it). */
static char *render(const char *src, rfx_otpl_escape esc, size_t max, const rfx_event *ev,
		    const rfx_notice *n, bool *truncated)
{
	struct rfx_otpl_error e = {0};
	struct rfx_otpl_buf b = {0};
	rfx_otpl *t = rfx_otpl_compile(src, esc, max, &e);
	char *out;

	if (t == NULL)
		fprintf(stderr, "compile '%s': %d:%d %s\n", src, e.line, e.column, e.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(rfx_otpl_render(t, ev, n, &b, truncated), 0);
	out = strdup(b.data);
	rfx_otpl_buf_free(&b);
	rfx_otpl_free(t);
	return out;
}

#define ASSERT_RENDERS(src, esc, ev, n, expect)                                        \
	do {                                                                            \
		char *got_ = render(src, esc, 0, ev, n, NULL);                          \
		if (strcmp(got_, expect) != 0)                                          \
			fprintf(stderr, "\n  template %s\n  expected %s\n  got      %s\n", \
				src, expect, got_);                                     \
		CU_ASSERT_STRING_EQUAL(got_, expect);                                   \
		free(got_);                                                             \
	} while (0)

static const char *EV1 =
	"{\"host\":\"db1\",\"check\":\"disk\",\"message\":\"disk /var at 97%\","
	"\"severity\":\"critical\",\"status\":\"firing\",\"service\":\"postgres\","
	"\"time\":\"2024-05-01T12:00:00Z\",\"labels\":{\"team\":\"dba\",\"env\":\"prod\"},"
	"\"attrs\":{\"a\":{\"b\":\"deep\",\"n\":42,\"list\":[1,\"two\",true]},\"f\":1.5}}";

static void test_template_renders_event_fields_and_labels(void)
{
	rfx_event *ev = ev_json(EV1);

	ASSERT_RENDERS("[{{severity}}] {{check}} on {{host}}: {{message}}", RFX_OTPL_ESC_NONE,
		       ev, NULL, "[critical] disk on db1: disk /var at 97%");
	ASSERT_RENDERS("{{status}} {{service}} team={{labels.team}} env={{ labels.env }}",
		       RFX_OTPL_ESC_NONE, ev, NULL, "firing postgres team=dba env=prod");
	ASSERT_RENDERS("{{labels}}", RFX_OTPL_ESC_NONE, ev, NULL, "team=dba, env=prod");
	ASSERT_RENDERS("{{time}}", RFX_OTPL_ESC_NONE, ev, NULL, "2024-05-01T12:00:00Z");
	ASSERT_RENDERS("{{severity_num}}", RFX_OTPL_ESC_NONE, ev, NULL, "2");
	ASSERT_RENDERS("x{{labels.missing}}y{{service}}", RFX_OTPL_ESC_NONE, ev, NULL,
		       "xypostgres");
	rfx_event_unref(ev);
}

static void test_template_attrs_paths_scalars_and_json(void)
{
	rfx_event *ev = ev_json(EV1);

	ASSERT_RENDERS("{{attrs.a.b}} {{attrs.a.n}} {{attrs.f}} {{attrs.a.list.1}}",
		       RFX_OTPL_ESC_NONE, ev, NULL, "deep 42 1.5 two");
	ASSERT_RENDERS("{{attrs.a.list}}", RFX_OTPL_ESC_NONE, ev, NULL, "[1,\"two\",true]");
	ASSERT_RENDERS("{{attrs.nope.x}}|{{attrs.a.list.9}}", RFX_OTPL_ESC_NONE, ev, NULL, "|");
	/* objects are written as JSON, and then escaped for a JSON string */
	ASSERT_RENDERS("\"{{attrs.a.list}}\"", RFX_OTPL_ESC_JSON, ev, NULL,
		       "\"[1,\\\"two\\\",true]\"");
	rfx_event_unref(ev);
}

static void test_template_escapes_values_per_destination(void)
{
	rfx_event *ev = ev_json("{\"host\":\"h\",\"check\":\"c\",\"message\":"
				"\"a \\\"q\\\" <b> & 'x'\\n\\ttab\\u0001\"}");

	ASSERT_RENDERS("{\"m\":\"{{message}}\"}", RFX_OTPL_ESC_JSON, ev, NULL,
		       "{\"m\":\"a \\\"q\\\" <b> & 'x'\\n\\ttab\\u0001\"}");
	ASSERT_RENDERS("<p>{{message}}</p>", RFX_OTPL_ESC_HTML, ev, NULL,
		       "<p>a &quot;q&quot; &lt;b&gt; &amp; &#39;x&#39;\n\ttab\x01</p>");
	ASSERT_RENDERS("*{{message}}*", RFX_OTPL_ESC_SLACK, ev, NULL,
		       "*a \"q\" &lt;b&gt; &amp; 'x'\n\ttab\x01*");
	/* {{&x}} and {{{x}}} are raw whatever the template's escaping */
	ASSERT_RENDERS("{{&message}}|{{{host}}}", RFX_OTPL_ESC_HTML, ev, NULL,
		       "a \"q\" <b> & 'x'\n\ttab\x01|h");
	rfx_event_unref(ev);
}

static void test_template_invalid_utf8_becomes_replacement_char(void)
{
	rfx_event *ev = ev_json("{\"host\":\"h\",\"check\":\"c\"}");

	CU_ASSERT_EQUAL(rfx_event_set(ev, RFX_F_MESSAGE, "ok \xC3\xA9 bad \xFF end"), 0);
	ASSERT_RENDERS("{{message}}", RFX_OTPL_ESC_JSON, ev, NULL,
		       "ok \xC3\xA9 bad \xEF\xBF\xBD end");
	rfx_event_unref(ev);
}

static void test_template_conditional_and_inverted_sections(void)
{
	rfx_event *ev = ev_json(EV1);

	ASSERT_RENDERS("{{#labels.team}}team {{labels.team}}{{/labels.team}}", RFX_OTPL_ESC_NONE,
		       ev, NULL, "team dba");
	ASSERT_RENDERS("{{#labels.nope}}X{{/labels.nope}}{{^labels.nope}}none{{/labels.nope}}",
		       RFX_OTPL_ESC_NONE, ev, NULL, "none");
	ASSERT_RENDERS("{{^resolved}}still firing{{/resolved}}", RFX_OTPL_ESC_NONE, ev, NULL,
		       "still firing");
	ASSERT_RENDERS("{{#firing}}F:{{host}}{{/firing}}{{#resolved}}R{{/resolved}}",
		       RFX_OTPL_ESC_NONE, ev, NULL, "F:db1");
	ASSERT_RENDERS("{{! a comment }}{{#nresolved}}some resolved{{/nresolved}}{{nfiring}}",
		       RFX_OTPL_ESC_NONE, ev, NULL, "1");
	rfx_event_unref(ev);
}

static void test_template_notice_sections_iterate_events(void)
{
	rfx_event *a = ev_json("{\"host\":\"web1\",\"check\":\"http\",\"severity\":\"error\","
			       "\"labels\":{\"alertname\":\"Down\"}}");
	rfx_event *b = ev_json("{\"host\":\"web2\",\"check\":\"http\",\"severity\":\"error\","
			       "\"labels\":{\"alertname\":\"Down\"}}");
	rfx_event *c = ev_json("{\"host\":\"web3\",\"check\":\"http\",\"status\":\"resolved\","
			       "\"labels\":{\"alertname\":\"Down\"}}");
	rfx_event *evs[] = {a, b, c};
	const char *keys[] = {"alertname"}, *vals[] = {"Down"};
	rfx_notice n = {
		.size = sizeof(rfx_notice), .group_key = "slack/{alertname=\"Down\"}",
		.nlabels = 1, .label_keys = keys, .label_values = vals, .events = evs,
		.nevents = 3, .nfiring = 2, .status = RFX_STATUS_FIRING, .sequence = 4,
	};

	ASSERT_RENDERS("{{group.labels.alertname}} ({{nfiring}} firing, {{nresolved}} resolved, "
		       "#{{sequence}}, {{status}})", RFX_OTPL_ESC_NONE, NULL, &n,
		       "Down (2 firing, 1 resolved, #4, firing)");
	ASSERT_RENDERS("{{#events}}{{host}}:{{status}};{{/events}}", RFX_OTPL_ESC_NONE, NULL, &n,
		       "web1:firing;web2:firing;web3:resolved;");
	ASSERT_RENDERS("F[{{#firing}}{{host}} {{/firing}}] R[{{#resolved}}{{host}}{{/resolved}}]",
		       RFX_OTPL_ESC_NONE, NULL, &n, "F[web1 web2 ] R[web3]");
	ASSERT_RENDERS("{{group_key}}|{{group.labels}}|{{host}}", RFX_OTPL_ESC_JSON, NULL, &n,
		       "slack/{alertname=\\\"Down\\\"}|alertname=Down|web1");
	n.nevents = 2;
	n.nfiring = 2;
	ASSERT_RENDERS("{{^resolved}}none resolved{{/resolved}}", RFX_OTPL_ESC_NONE, NULL, &n,
		       "none resolved");
	rfx_event_unref(a);
	rfx_event_unref(b);
	rfx_event_unref(c);
}

static void expect_error(const char *src, int line, int col, const char *needle)
{
	struct rfx_otpl_error e = {0};
	rfx_otpl *t = rfx_otpl_compile(src, RFX_OTPL_ESC_NONE, 0, &e);
	char msg[256];

	CU_ASSERT_PTR_NULL(t);
	rfx_otpl_free(t);
	rfx_otpl_error_format(&e, msg, sizeof msg);
	if (e.line != line || e.column != col || strstr(msg, needle) == NULL)
		fprintf(stderr, "\n  template %s\n  expected %d:%d ~%s\n  got      %s\n", src, line,
			col, needle, msg);
	CU_ASSERT_EQUAL(e.line, line);
	CU_ASSERT_EQUAL(e.column, col);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
}

static void test_template_compile_errors_carry_position(void)
{
	expect_error("hello {{hots}}", 1, 9, "column 9: unknown field 'hots'");
	expect_error("ab {{host", 1, 4, "not closed");
	expect_error("{{#events}}x", 1, 4, "section 'events' is not closed");
	expect_error("{{#events}}x{{/firing}}", 1, 13, "does not close the section 'events'");
	expect_error("x{{/events}}", 1, 2, "closes no open section");
	expect_error("line one\n  {{}}", 2, 3, "line 2, column 3: empty tag");
	expect_error("{{events}}", 1, 3, "is a list");
	expect_error("{{host name}}", 1, 8, "unexpected character 'n'");
	expect_error("{{! never closed", 1, 1, "comment");
	expect_error("{{#a1}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}",
		     1, 4, "unknown field 'a1'");
	expect_error("{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}{{#host}}"
		     "{{#host}}", 1, 73, "nest deeper than 8");
}

static void test_template_output_is_bounded_on_char_and_escape_boundaries(void)
{
	rfx_event *ev = ev_json("{\"host\":\"h\",\"check\":\"c\"}");
	bool trunc = false;
	char *out;

	/* "é" is two bytes: a 6-byte bound after "abcd" + "é" leaves no half */
	CU_ASSERT_EQUAL(rfx_event_set(ev, RFX_F_MESSAGE, "abcd\xC3\xA9\xC3\xA9"), 0);
	out = render("{{message}}", RFX_OTPL_ESC_NONE, 7, ev, NULL, &trunc);
	CU_ASSERT_STRING_EQUAL(out, "abcd\xC3\xA9");
	CU_ASSERT_TRUE(trunc);
	free(out);

	/* a JSON escape is never cut in half */
	CU_ASSERT_EQUAL(rfx_event_set(ev, RFX_F_MESSAGE, "abc\"def"), 0);
	out = render("{{message}}", RFX_OTPL_ESC_JSON, 4, ev, NULL, &trunc);
	CU_ASSERT_STRING_EQUAL(out, "abc");
	CU_ASSERT_TRUE(trunc);
	free(out);

	/* literal text is cut too, and an output that fits is not marked */
	out = render("0123456789", RFX_OTPL_ESC_NONE, 5, ev, NULL, &trunc);
	CU_ASSERT_STRING_EQUAL(out, "01234");
	CU_ASSERT_TRUE(trunc);
	free(out);
	out = render("0123456789", RFX_OTPL_ESC_NONE, 10, ev, NULL, &trunc);
	CU_ASSERT_STRING_EQUAL(out, "0123456789");
	CU_ASSERT_FALSE(trunc);
	free(out);
	rfx_event_unref(ev);
}

static void test_template_buffer_is_reused_across_renders(void)
{
	rfx_event *ev = ev_json(EV1);
	struct rfx_otpl_buf b = {0};
	rfx_otpl *t = rfx_otpl_compile("{{host}} {{message}} {{labels}}", RFX_OTPL_ESC_JSON, 0, NULL);
	char *first;
	size_t cap;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(rfx_otpl_render(t, ev, NULL, &b, NULL), 0);
	first = b.data;
	cap = b.cap;
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(rfx_otpl_render(t, ev, NULL, &b, NULL), 0);
	CU_ASSERT_PTR_EQUAL(b.data, first); /* no reallocation once grown */
	CU_ASSERT_EQUAL(b.cap, cap);
	CU_ASSERT_STRING_EQUAL(b.data, "db1 disk /var at 97% team=dba, env=prod");
	rfx_otpl_buf_free(&b);
	rfx_otpl_free(t);
	rfx_event_unref(ev);
}

static void test_template_time_is_rfc3339_utc(void)
{
	char buf[40];

	rfx_otpl_time(1714564800000000000LL, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "2024-05-01T12:00:00Z");
	rfx_otpl_time(1714564800123000000LL, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "2024-05-01T12:00:00.123Z");
	rfx_otpl_time(0, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_template_renders_event_fields_and_labels),
		RFX_TEST(test_template_attrs_paths_scalars_and_json),
		RFX_TEST(test_template_escapes_values_per_destination),
		RFX_TEST(test_template_invalid_utf8_becomes_replacement_char),
		RFX_TEST(test_template_conditional_and_inverted_sections),
		RFX_TEST(test_template_notice_sections_iterate_events),
		RFX_TEST(test_template_compile_errors_carry_position),
		RFX_TEST(test_template_output_is_bounded_on_char_and_escape_boundaries),
		RFX_TEST(test_template_buffer_is_reused_across_renders),
		RFX_TEST(test_template_time_is_rfc3339_utc),
		{NULL, NULL},
	};

	return rfx_run_suite("output templates", tests);
}
