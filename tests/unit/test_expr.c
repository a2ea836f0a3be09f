/*
 * tests/unit/test_expr.c - the condition language (core/expr_parse.c,
 * core/expr_eval.c): every
 * operator, precedence, severity ranking, labels and attrs, missing values,
 * regexes, error messages with their columns, and concurrent evaluation.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "expr.h"

static rfx_event *ev_main;

/* host web-01, service nginx, check http, message "disk full on /var",
 * severity warning, firing, value 42.5, time 2026-11-28T03:22:45Z,
 * labels team=db env=prod count=17 app.kubernetes.io/name=api,
 * attrs {"http":{"status":503,"method":"GET","ok":false,"latency":0.25},
 *        "tags":["a","b",7],"items":[{"name":"x"}],"nothing":null} */
static rfx_event *make_event(void)
{
	rfx_event *ev = rfx_event_new();
	struct json_object *attrs;

	if (!ev)
		return NULL;
	rfx_event_set(ev, RFX_F_HOST, "web-01");
	rfx_event_set(ev, RFX_F_SERVICE, "nginx");
	rfx_event_set(ev, RFX_F_CHECK, "http");
	rfx_event_set(ev, RFX_F_MESSAGE, "disk full on /var");
	rfx_event_set(ev, RFX_F_KIND, "alert");
	rfx_event_set(ev, RFX_F_SOURCE, "hook");
	ev->severity = RFX_SEV_WARNING;
	ev->status = RFX_STATUS_FIRING;
	ev->value = 42.5;
	ev->has_value = true;
	rfx_time_parse("2026-11-28T03:22:45Z", &ev->occurred_ns);
	ev->received_ns = ev->occurred_ns + 1000000000;
	rfx_event_label_set(ev, "team", "db");
	rfx_event_label_set(ev, "env", "prod");
	rfx_event_label_set(ev, "count", "17");
	rfx_event_label_set(ev, "app.kubernetes.io/name", "api");
	attrs = json_tokener_parse("{\"http\":{\"status\":503,\"method\":\"GET\",\"ok\":false,"
				   "\"latency\":0.25},\"tags\":[\"a\",\"b\",7],"
				   "\"items\":[{\"name\":\"x\"}],\"nothing\":null}");
	json_object_put(ev->attrs);
	ev->attrs = attrs;
	return ev;
}

static int suite_init(void)
{
	ev_main = make_event();
	return ev_main && ev_main->attrs ? 0 : 1;
}

static int suite_clean(void)
{
	rfx_event_unref(ev_main);
	return 0;
}

/* Compiles src (which must compile), evaluates it on ev and frees it.
 * Returns -1 when compilation fails so the assertion shows it. */
static int match_on(const char *src, const rfx_event *ev)
{
	char err[256];
	int col, r;
	rfx_expr *e = rfx_expr_compile(src, err, sizeof(err), &col);

	if (!e) {
		fprintf(stderr, "\n  compile failed: %s: %s (column %d)\n", src, err, col);
		return -1;
	}
	r = rfx_expr_eval(e, ev) ? 1 : 0;
	rfx_expr_free(e);
	return r;
}

static int m(const char *src)
{
	return match_on(src, ev_main);
}

/* Asserts src fails at col with a message containing want. */
#define ASSERT_ERR(src, want_col, want)                                                            \
	do {                                                                                       \
		char err_[256] = "";                                                               \
		int col_ = -1;                                                                     \
		rfx_expr *e_ = rfx_expr_compile((src), err_, sizeof(err_), &col_);                 \
		CU_ASSERT_PTR_NULL(e_);                                                            \
		rfx_expr_free(e_);                                                                 \
		CU_ASSERT_EQUAL(col_, (want_col));                                                 \
		CU_ASSERT_PTR_NOT_NULL(strstr(err_, (want)));                                      \
		if (col_ != (want_col) || !strstr(err_, (want)))                                   \
			fprintf(stderr, "\n  %s: got '%s' at column %d\n", (src), err_, col_);     \
	} while (0)

static void test_expr_string_equality_and_inequality(void)
{
	CU_ASSERT_EQUAL(m("host == \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("host == 'web-01'"), 1);
	CU_ASSERT_EQUAL(m("host == \"web-02\""), 0);
	CU_ASSERT_EQUAL(m("host != \"web-02\""), 1);
	CU_ASSERT_EQUAL(m("host != \"web-01\""), 0);
	CU_ASSERT_EQUAL(m("service == \"nginx\" and check == \"http\""), 1);
	CU_ASSERT_EQUAL(m("kind == \"alert\" and source == \"hook\""), 1);
	CU_ASSERT_EQUAL(m("message == \"disk full on /var\""), 1);
}

static void test_expr_strings_order_lexically(void)
{
	CU_ASSERT_EQUAL(m("host > \"web-00\""), 1);
	CU_ASSERT_EQUAL(m("host >= \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("host < \"web-01\""), 0);
	CU_ASSERT_EQUAL(m("host <= \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("host < \"x\""), 1);
	/* Quoted literals are text: "17" < "9" lexically. */
	CU_ASSERT_EQUAL(m("labels.count < \"9\""), 1);
}

static void test_expr_numbers_compare_numerically(void)
{
	CU_ASSERT_EQUAL(m("value == 42.5"), 1);
	CU_ASSERT_EQUAL(m("value > 42"), 1);
	CU_ASSERT_EQUAL(m("value >= 42.5"), 1);
	CU_ASSERT_EQUAL(m("value < 42.5"), 0);
	CU_ASSERT_EQUAL(m("value <= 100"), 1);
	CU_ASSERT_EQUAL(m("value != 1e2"), 1);
	CU_ASSERT_EQUAL(m("value > -5"), 1);
	/* Label text compared with a number literal is read as a number. */
	CU_ASSERT_EQUAL(m("labels.count > 9"), 1);
	CU_ASSERT_EQUAL(m("labels.count == 17"), 1);
	CU_ASSERT_EQUAL(m("labels.count == 17.0"), 1);
	CU_ASSERT_EQUAL(m("labels.count < 9"), 0);
	/* Non-numeric text never equals or orders against a number. */
	CU_ASSERT_EQUAL(m("labels.team == 5"), 0);
	CU_ASSERT_EQUAL(m("labels.team > 5"), 0);
	CU_ASSERT_EQUAL(m("labels.team != 5"), 1);
}

static void test_expr_missing_value_field(void)
{
	rfx_event *ev = rfx_event_new();

	CU_ASSERT_EQUAL(match_on("value == 0", ev), 0);
	CU_ASSERT_EQUAL(match_on("value < 1", ev), 0);
	CU_ASSERT_EQUAL(match_on("value != 0", ev), 1);
	CU_ASSERT_EQUAL(match_on("value exists", ev), 0);
	CU_ASSERT_EQUAL(match_on("host exists", ev), 0);
	CU_ASSERT_EQUAL(match_on("host == \"\"", ev), 0);
	CU_ASSERT_EQUAL(match_on("time exists", ev), 0);
	CU_ASSERT_EQUAL(match_on("id exists", ev), 0);
	CU_ASSERT_EQUAL(match_on("severity exists and status exists", ev), 1);
	ev->has_value = true;
	ev->value = 0;
	CU_ASSERT_EQUAL(match_on("value == 0", ev), 1);
	CU_ASSERT_EQUAL(match_on("value exists", ev), 1);
	rfx_event_unref(ev);
}

static void test_expr_severity_compares_by_rank(void)
{
	rfx_event *ev = rfx_event_new();
	/* Events at or above warning: emergency(0) .. warning(4). */
	for (int sev = 0; sev <= 7; sev++) {
		ev->severity = sev;
		CU_ASSERT_EQUAL(match_on("severity >= warning", ev), sev <= 4);
		CU_ASSERT_EQUAL(match_on("severity > warning", ev), sev < 4);
		CU_ASSERT_EQUAL(match_on("severity <= warning", ev), sev >= 4);
		CU_ASSERT_EQUAL(match_on("severity < warning", ev), sev > 4);
		CU_ASSERT_EQUAL(match_on("severity == warning", ev), sev == 4);
		CU_ASSERT_EQUAL(match_on("severity != warning", ev), sev != 4);
		CU_ASSERT_EQUAL(match_on("severity >= critical", ev), sev <= 2);
		/* Numbers are syslog numbers, ranked the same way. */
		CU_ASSERT_EQUAL(match_on("severity >= 4", ev), sev <= 4);
		CU_ASSERT_EQUAL(match_on("severity < 3", ev), sev > 3);
	}
	ev->severity = RFX_SEV_ERROR;
	CU_ASSERT_EQUAL(match_on("severity > warning", ev), 1);
	CU_ASSERT_EQUAL(match_on("severity >= \"warning\"", ev), 1);
	CU_ASSERT_EQUAL(match_on("severity == ERROR", ev), 1);
	CU_ASSERT_EQUAL(match_on("severity == err", ev), 1);
	CU_ASSERT_EQUAL(match_on("severity in [critical, error, 1]", ev), 1);
	CU_ASSERT_EQUAL(match_on("severity in [warning, notice]", ev), 0);
	rfx_event_unref(ev);
}

static void test_expr_status_names(void)
{
	rfx_event *ev = rfx_event_new();

	CU_ASSERT_EQUAL(match_on("status == firing", ev), 1);
	CU_ASSERT_EQUAL(match_on("status == resolved", ev), 0);
	CU_ASSERT_EQUAL(match_on("status != resolved", ev), 1);
	CU_ASSERT_EQUAL(match_on("status == \"FIRING\"", ev), 1);
	ev->status = RFX_STATUS_RESOLVED;
	CU_ASSERT_EQUAL(match_on("status == resolved", ev), 1);
	CU_ASSERT_EQUAL(match_on("status in [firing]", ev), 0);
	CU_ASSERT_EQUAL(match_on("status in [firing, resolved]", ev), 1);
	rfx_event_unref(ev);
}

static void test_expr_labels(void)
{
	CU_ASSERT_EQUAL(m("labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("labels.team == \"web\""), 0);
	CU_ASSERT_EQUAL(m("labels.app.kubernetes.io/name == \"api\""), 1);
	CU_ASSERT_EQUAL(m("labels.team exists"), 1);
	CU_ASSERT_EQUAL(m("labels.runbook exists"), 0);
	CU_ASSERT_EQUAL(m("not labels.runbook exists"), 1);
	/* Missing: only != holds. */
	CU_ASSERT_EQUAL(m("labels.runbook == \"x\""), 0);
	CU_ASSERT_EQUAL(m("labels.runbook != \"x\""), 1);
	CU_ASSERT_EQUAL(m("labels.runbook < \"x\""), 0);
	CU_ASSERT_EQUAL(m("labels.runbook contains \"\""), 0);
	/* Label keys are case-sensitive, field names are not. */
	CU_ASSERT_EQUAL(m("labels.TEAM exists"), 0);
	CU_ASSERT_EQUAL(m("LABELS.team exists"), 1);
	CU_ASSERT_EQUAL(m("HOST == \"web-01\""), 1);
}

static void test_expr_attrs_nested_types_and_missing(void)
{
	CU_ASSERT_EQUAL(m("attrs.http.status == 503"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.status >= 500 and attrs.http.status < 600"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.status == \"503\""), 1);
	CU_ASSERT_EQUAL(m("attrs.http.method == \"GET\""), 1);
	CU_ASSERT_EQUAL(m("attrs.http.latency < 0.5"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.ok == false"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.ok == true"), 0);
	CU_ASSERT_EQUAL(m("attrs.http.ok != true"), 1);
	CU_ASSERT_EQUAL(m("attrs.items.0.name == \"x\""), 1);
	CU_ASSERT_EQUAL(m("attrs.items.1.name exists"), 0);
	CU_ASSERT_EQUAL(m("attrs.http exists"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.nope exists"), 0);
	CU_ASSERT_EQUAL(m("attrs.http.status.deeper exists"), 0);
	/* JSON null is not present. */
	CU_ASSERT_EQUAL(m("attrs.nothing exists"), 0);
	CU_ASSERT_EQUAL(m("not attrs.nothing exists"), 1);
	CU_ASSERT_EQUAL(m("attrs.nothing == 1"), 0);
	CU_ASSERT_EQUAL(m("attrs.missing.path == 1"), 0);
	CU_ASSERT_EQUAL(m("attrs.missing.path > 1"), 0);
	CU_ASSERT_EQUAL(m("attrs.missing.path != 1"), 1);
	CU_ASSERT_EQUAL(m("attrs.missing.path in [1, 2]"), 0);
	CU_ASSERT_EQUAL(m("attrs.missing.path not in [1, 2]"), 1);
	/* An object never equals a scalar, but is unequal to it. */
	CU_ASSERT_EQUAL(m("attrs.http == 1"), 0);
	CU_ASSERT_EQUAL(m("attrs.http != 1"), 1);
	/* contains on an array looks for a member. */
	CU_ASSERT_EQUAL(m("attrs.tags contains \"b\""), 1);
	CU_ASSERT_EQUAL(m("attrs.tags contains \"7\""), 1);
	CU_ASSERT_EQUAL(m("attrs.tags contains \"c\""), 0);
	/* Numbers are text for the text operators. */
	CU_ASSERT_EQUAL(m("attrs.http.status startswith \"5\""), 1);
	CU_ASSERT_EQUAL(m("attrs.http.status matches \"^5\\\\d\\\\d$\""), 1);
}

static void test_expr_in_lists(void)
{
	CU_ASSERT_EQUAL(m("host in [\"db-01\", \"web-01\"]"), 1);
	CU_ASSERT_EQUAL(m("host in [\"db-01\", \"db-02\"]"), 0);
	CU_ASSERT_EQUAL(m("host in ['web-01',]"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.status in [500, 502, 503]"), 1);
	CU_ASSERT_EQUAL(m("attrs.http.status in [500, 502]"), 0);
	CU_ASSERT_EQUAL(m("labels.count in [16, 17]"), 1);
	CU_ASSERT_EQUAL(m("host not in [\"web-01\"]"), 0);
	CU_ASSERT_EQUAL(m("host NOT IN [\"x\"]"), 1);
	CU_ASSERT_EQUAL(m("value in [1, 42.5]"), 1);
}

static void test_expr_text_operators(void)
{
	CU_ASSERT_EQUAL(m("message contains \"full\""), 1);
	CU_ASSERT_EQUAL(m("message contains \"FULL\""), 0);
	CU_ASSERT_EQUAL(m("message contains \"\""), 1);
	CU_ASSERT_EQUAL(m("host startswith \"web\""), 1);
	CU_ASSERT_EQUAL(m("host startswith \"db\""), 0);
	CU_ASSERT_EQUAL(m("host endswith \"-01\""), 1);
	CU_ASSERT_EQUAL(m("host endswith \"web-01-long\""), 0);
	CU_ASSERT_EQUAL(m("message endswith \"/var\""), 1);
}

static void test_expr_regex_matches_and_jit(void)
{
	uint32_t jit = 0;

	CU_ASSERT_EQUAL(m("message matches \"disk (full|quota)\""), 1);
	CU_ASSERT_EQUAL(m("message matches \"^disk\""), 1);
	CU_ASSERT_EQUAL(m("message matches \"^full\""), 0);
	CU_ASSERT_EQUAL(m("message matches \"(?i)DISK FULL\""), 1);
	/* Unknown escapes survive, so "\d" reaches PCRE2 as written. */
	CU_ASSERT_EQUAL(m("host matches \"^web-\\d+$\""), 1);
	CU_ASSERT_EQUAL(m("host matches \"^web-\\\\d+$\""), 1);
	CU_ASSERT_EQUAL(m("host matches \"^db-\\d+$\""), 0);
	/* UTF mode: '.' is one character, not one byte. */
	{
		rfx_event *ev = rfx_event_new();

		rfx_event_set(ev, RFX_F_MESSAGE, "caf\xc3\xa9");
		CU_ASSERT_EQUAL(match_on("message matches \"^caf.$\"", ev), 1);
		/* Invalid UTF-8 in the subject is no match, never a crash. */
		rfx_event_set(ev, RFX_F_MESSAGE, "bad \xff\xfe bytes");
		CU_ASSERT_EQUAL(match_on("message matches \"bytes$\"", ev), 1);
		CU_ASSERT_EQUAL(match_on("message matches \"^nope\"", ev), 0);
		rfx_event_unref(ev);
	}
	/* The library on the build host has JIT; results above used it. */
	CU_ASSERT_EQUAL(pcre2_config(PCRE2_CONFIG_JIT, &jit), 0);
	if (!jit)
		fprintf(stderr, "\n  note: PCRE2 without JIT; matches used the interpreter\n");
}

static void test_expr_exists_postfix(void)
{
	CU_ASSERT_EQUAL(m("host exists"), 1);
	CU_ASSERT_EQUAL(m("fingerprint exists"), 0);
	CU_ASSERT_EQUAL(m("time exists and received exists"), 1);
	CU_ASSERT_EQUAL(m("labels.team exists and labels.env exists"), 1);
	CU_ASSERT_EQUAL(m("! fingerprint exists"), 1);
	CU_ASSERT_EQUAL(m("fingerprint not exists"), 1);
	CU_ASSERT_EQUAL(m("host NOT exists"), 0);
	CU_ASSERT_EQUAL(m("message not contains \"full\""), 0);
	CU_ASSERT_EQUAL(m("host not startswith \"db\" and host not matches \"^db\""), 1);
}

static void test_expr_not_and_or_precedence(void)
{
	/* not > and > or: "a or b and c" is "a or (b and c)". */
	CU_ASSERT_EQUAL(m("host == \"web-01\" or host == \"x\" and host == \"y\""), 1);
	CU_ASSERT_EQUAL(m("(host == \"web-01\" or host == \"x\") and host == \"y\""), 0);
	CU_ASSERT_EQUAL(m("host == \"x\" and host == \"y\" or host == \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("host == \"x\" and (host == \"y\" or host == \"web-01\")"), 0);
	/* "not a and b" is "(not a) and b". */
	CU_ASSERT_EQUAL(m("not host == \"x\" and host == \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("not (host == \"web-01\" and host == \"x\")"), 1);
	CU_ASSERT_EQUAL(m("not (host == \"web-01\" or host == \"x\")"), 0);
	CU_ASSERT_EQUAL(m("not not host == \"web-01\""), 1);
	CU_ASSERT_EQUAL(m("((((host == \"web-01\"))))"), 1);
	CU_ASSERT_EQUAL(m("severity >= warning and labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("host startswith \"web\" or attrs.http.status in [500, 502, 503]"), 1);
	CU_ASSERT_EQUAL(m("message matches \"disk (full|quota)\" and not labels.env == \"dev\""), 1);
}

static void test_expr_keywords_are_case_insensitive_with_aliases(void)
{
	CU_ASSERT_EQUAL(m("host == \"web-01\" AND labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("host == \"x\" Or labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("NOT host == \"x\""), 1);
	CU_ASSERT_EQUAL(m("host STARTSWITH \"web\" and message CONTAINS \"disk\""), 1);
	CU_ASSERT_EQUAL(m("host EndsWith \"01\" and host MATCHES \"web\""), 1);
	CU_ASSERT_EQUAL(m("host In [\"web-01\"] and labels.team EXISTS"), 1);
	CU_ASSERT_EQUAL(m("host == \"web-01\" && labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("host == \"x\" || labels.team == \"db\""), 1);
	CU_ASSERT_EQUAL(m("!(host == \"x\")"), 1);
	CU_ASSERT_EQUAL(m("!host == \"web-01\""), 0);
	CU_ASSERT_EQUAL(m("attrs.http.ok == FALSE"), 1);
}

static void test_expr_string_escapes(void)
{
	rfx_event *ev = rfx_event_new();

	rfx_event_set(ev, RFX_F_MESSAGE, "say \"hi\"\tit's\n\\done");
	CU_ASSERT_EQUAL(match_on("message == \"say \\\"hi\\\"\\tit's\\n\\\\done\"", ev), 1);
	CU_ASSERT_EQUAL(match_on("message contains 'it\\'s'", ev), 1);
	rfx_event_unref(ev);
}

static void test_expr_time_compares_with_rfc3339(void)
{
	CU_ASSERT_EQUAL(m("time == \"2026-11-28T03:22:45Z\""), 1);
	CU_ASSERT_EQUAL(m("time > \"2026-11-28T03:00:00Z\""), 1);
	CU_ASSERT_EQUAL(m("time < \"2026-11-28T04:22:45+01:00\""), 0);
	CU_ASSERT_EQUAL(m("time < \"2026-11-28T04:22:45.5+01:00\""), 1);
	CU_ASSERT_EQUAL(m("received > \"2026-11-28T03:22:45Z\""), 1);
	CU_ASSERT_EQUAL(m("received >= 1795836166"), 1);
	ASSERT_ERR("time > \"yesterday\"", 8, "invalid time 'yesterday'");
	ASSERT_ERR("time > yesterday", 8, "RFC 3339");
}

static void test_expr_id_field(void)
{
	rfx_event *ev = rfx_event_new();

	memcpy(ev->id, "01JDZ8Y3C5V8N6Q2W4E7R9T1YA", RFX_EVENT_ID_LEN + 1);
	CU_ASSERT_EQUAL(match_on("id == \"01JDZ8Y3C5V8N6Q2W4E7R9T1YA\"", ev), 1);
	CU_ASSERT_EQUAL(match_on("id startswith \"01JDZ\"", ev), 1);
	rfx_event_unref(ev);
}

static void test_expr_errors_report_message_and_column(void)
{
	ASSERT_ERR("hots == \"a\"", 1, "unknown field 'hots'; did you mean 'host'?");
	ASSERT_ERR("host == \"a\" and sevrity >= warning", 17,
		   "unknown field 'sevrity'; did you mean 'severity'?");
	ASSERT_ERR("labls.team == \"db\"", 1, "did you mean 'labels.team'?");
	ASSERT_ERR("zzzzzz == 1", 1, "unknown field 'zzzzzz'");
	ASSERT_ERR("host ==", 8, "unexpected end of expression, expected a value");
	ASSERT_ERR("host == \"a\" and", 16, "unexpected end of expression, expected a field name");
	ASSERT_ERR("host", 5, "unexpected end of expression, expected an operator");
	ASSERT_ERR("host == \"abc", 9, "unterminated string");
	ASSERT_ERR("host == 'abc\\'", 9, "unterminated string");
	ASSERT_ERR("message matches \"disk (full\"", 17, "invalid regex: missing closing parenthesis");
	ASSERT_ERR("severity >= warnig", 13, "unknown severity 'warnig'; did you mean 'warning'?");
	ASSERT_ERR("severity >= \"bogus\"", 13, "unknown severity 'bogus'; expected emergency");
	ASSERT_ERR("severity >= 9", 13, "severity number must be 0-7");
	ASSERT_ERR("status == burning", 11, "unknown status 'burning'");
	ASSERT_ERR("host == \"a\" garbage", 13, "unexpected 'garbage', expected 'and', 'or'");
	ASSERT_ERR("host == \"a\")", 12, "unexpected ')' without a matching '('");
	ASSERT_ERR("(host == \"a\"", 13, "expected ')' to close '(' at column 1");
	ASSERT_ERR("host == web", 9, "expected a quoted string or number");
	ASSERT_ERR("labels.team = \"db\"", 13, "did you mean '=='?");
	ASSERT_ERR("host == \"a\" & x", 13, "did you mean '&&'");
	ASSERT_ERR("host ~ \"a\"", 6, "unexpected character '~'");
	ASSERT_ERR("host == 5abc", 9, "invalid number '5abc'");
	ASSERT_ERR("host in 5", 9, "expected '['");
	ASSERT_ERR("host in []", 10, "empty list");
	ASSERT_ERR("host in [\"a\" \"b\"]", 14, "expected ',' or ']'");
	ASSERT_ERR("host contains 5", 15, "expected a quoted string");
	ASSERT_ERR("severity contains \"x\"", 10, "needs a text field");
	ASSERT_ERR("status > firing", 8, "status can only be compared with ==, != or in");
	ASSERT_ERR("value == \"x\"", 10, "expected a number");
	ASSERT_ERR("host not == \"a\"", 10, "expected in, contains, startswith, endswith, matches or exists after 'not'");
	ASSERT_ERR("labels == \"x\"", 1, "'labels' needs a name");
	ASSERT_ERR("attrs.a..b == 1", 1, "empty segment");
	ASSERT_ERR("host.name == 1", 1, "field 'host' has no subfields");
	ASSERT_ERR("", 1, "empty expression");
	ASSERT_ERR("   ", 1, "empty expression");
	/* Columns count characters, not bytes. */
	ASSERT_ERR("host == \"\xc3\xa9\xc3\xa9\" oops", 14, "unexpected 'oops'");
}

static void test_expr_error_outputs_are_optional_and_bounded(void)
{
	char tiny[8];
	char deep[400];
	size_t i;
	int col = 0;

	CU_ASSERT_PTR_NULL(rfx_expr_compile("hots == 1", NULL, 0, NULL));
	CU_ASSERT_PTR_NULL(rfx_expr_compile("hots == 1", tiny, sizeof(tiny), NULL));
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
	CU_ASSERT_PTR_NULL(rfx_expr_compile(NULL, tiny, sizeof(tiny), &col));
	for (i = 0; i < 100; i++)
		deep[i] = '(';
	strcpy(deep + i, "host exists");
	CU_ASSERT_PTR_NULL(rfx_expr_compile(deep, NULL, 0, &col));
	CU_ASSERT_EQUAL(col, 65);
}

static void test_expr_null_expr_matches_all_and_source_is_kept(void)
{
	const char *src = "host == \"web-01\"   and  labels.team exists";
	rfx_expr *e = rfx_expr_compile(src, NULL, 0, NULL);

	CU_ASSERT_TRUE(rfx_expr_eval(NULL, ev_main));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_STRING_EQUAL(rfx_expr_source(e), src);
	CU_ASSERT_PTR_NOT_EQUAL(rfx_expr_source(e), src);
	CU_ASSERT_TRUE(rfx_expr_eval(e, ev_main));
	rfx_expr_free(e);
	rfx_expr_free(NULL);
}

static void test_expr_long_chains_compile_flat(void)
{
	/* 2000 'or' terms must not recurse 2000 deep. */
	size_t cap = 2000 * 32, n = 0;
	char *src = malloc(cap);
	rfx_expr *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(src + n, cap - n, "%shost == \"h%d\"", i ? " or " : "", i);
	e = rfx_expr_compile(src, NULL, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(e);
	CU_ASSERT_FALSE(rfx_expr_eval(e, ev_main));
	rfx_expr_free(e);
	free(src);
}

struct thread_arg {
	const rfx_expr *exprs[4];
	rfx_event *events[8];
	bool expect[4][8];
	int mismatches;
};

static void *eval_thread(void *p)
{
	struct thread_arg *a = p;

	for (int round = 0; round < 2000; round++)
		for (int x = 0; x < 4; x++)
			for (int v = 0; v < 8; v++)
				if (rfx_expr_eval(a->exprs[x], a->events[v]) != a->expect[x][v])
					a->mismatches++;
	return NULL;
}

static void test_expr_concurrent_evaluation_is_consistent(void)
{
	static const char *srcs[4] = {
		"severity >= warning and labels.team == \"db\"",
		"message matches \"disk (full|quota) on /(var|home)\"",
		"host in [\"h1\", \"h3\", \"h5\"] or attrs.n > 5",
		"not labels.team exists or message contains \"quota\"",
	};
	struct thread_arg args[4];
	pthread_t th[4];
	rfx_expr *exprs[4] = {0};
	rfx_event *events[8] = {0};
	char host[8];

	for (int x = 0; x < 4; x++) {
		exprs[x] = rfx_expr_compile(srcs[x], NULL, 0, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(exprs[x]);
	}
	for (int v = 0; v < 8; v++) {
		events[v] = rfx_event_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(events[v]);
		snprintf(host, sizeof(host), "h%d", v);
		rfx_event_set(events[v], RFX_F_HOST, host);
		events[v]->severity = v;
		rfx_event_set(events[v], RFX_F_MESSAGE, v % 3 == 0 ? "disk full on /var"
					 : v % 3 == 1 ? "disk quota on /home" : "cpu hot");
		if (v % 2 == 0)
			rfx_event_label_set(events[v], "team", "db");
		json_object_object_add(events[v]->attrs, "n", json_object_new_int(v));
	}
	for (int t = 0; t < 4; t++) {
		memset(&args[t], 0, sizeof(args[t]));
		for (int x = 0; x < 4; x++) {
			args[t].exprs[x] = exprs[x];
			for (int v = 0; v < 8; v++)
				args[t].expect[x][v] = rfx_expr_eval(exprs[x], events[v]);
		}
		memcpy(args[t].events, events, sizeof(events));
	}
	/* The single-threaded answers are themselves right. */
	CU_ASSERT_TRUE(args[0].expect[0][0] && args[0].expect[0][4] && args[0].expect[0][2] &&
		       !args[0].expect[0][6] && !args[0].expect[0][3]);
	CU_ASSERT_TRUE(args[0].expect[1][0] && args[0].expect[1][1] && !args[0].expect[1][2]);
	CU_ASSERT_TRUE(args[0].expect[2][1] && args[0].expect[2][6] && !args[0].expect[2][2]);
	CU_ASSERT_TRUE(args[0].expect[3][1] && !args[0].expect[3][0] && args[0].expect[3][3]);
	for (int t = 0; t < 4; t++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, eval_thread, &args[t]), 0);
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		CU_ASSERT_EQUAL(args[t].mismatches, 0);
	}
	for (int x = 0; x < 4; x++)
		rfx_expr_free(exprs[x]);
	for (int v = 0; v < 8; v++)
		rfx_event_unref(events[v]);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("expr", suite_init, suite_clean);
	if (!s)
		goto fail;
#define ADD(t) if (!CU_add_test(s, #t, t)) goto fail
	ADD(test_expr_string_equality_and_inequality);
	ADD(test_expr_strings_order_lexically);
	ADD(test_expr_numbers_compare_numerically);
	ADD(test_expr_missing_value_field);
	ADD(test_expr_severity_compares_by_rank);
	ADD(test_expr_status_names);
	ADD(test_expr_labels);
	ADD(test_expr_attrs_nested_types_and_missing);
	ADD(test_expr_in_lists);
	ADD(test_expr_text_operators);
	ADD(test_expr_regex_matches_and_jit);
	ADD(test_expr_exists_postfix);
	ADD(test_expr_not_and_or_precedence);
	ADD(test_expr_keywords_are_case_insensitive_with_aliases);
	ADD(test_expr_string_escapes);
	ADD(test_expr_time_compares_with_rfc3339);
	ADD(test_expr_id_field);
	ADD(test_expr_errors_report_message_and_column);
	ADD(test_expr_error_outputs_are_optional_and_bounded);
	ADD(test_expr_null_expr_matches_all_and_source_is_kept);
	ADD(test_expr_long_chains_compile_flat);
	ADD(test_expr_concurrent_evaluation_is_consistent);
#undef ADD
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures > 0;
fail:
	CU_cleanup_registry();
	return 1;
}
