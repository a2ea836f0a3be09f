/*
 * tests/unit/test_normalize.c - the normalize stage: option table, per-source
 * severity and status maps over the built-in tables, receipt-time checks,
 * host names and label keys. Configurations are written as the YAML users
 * write under pipeline.normalize and go through the real schema code.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "normalize.h"
#include "schema.h"
#include "testutil.h"

#define NS 1000000000LL
#define NOW (1800000000LL * NS)

static struct rfx_normalize_conf conf;

/* A normalizer from the YAML of pipeline.normalize; NULL when it is refused
 * (schema errors or rfx_normalizer_new), with the message in err. */
static struct rfx_normalizer *make(const char *yaml, char *err, size_t errlen)
{
	rfx_diag d;
	rfx_doc *doc;
	struct rfx_normalizer *n = NULL;

	rfx_diag_init(&d);
	memset(&conf, 0, sizeof(conf));
	doc = rfx_doc_parse("test.yaml", yaml, &d);
	const rfx_node *root = rfx_doc_root(doc);
	if (rfx_schema_apply(rfx_normalize_options, root && root->type == RFX_NODE_MAP ? root : NULL,
			     &conf, "pipeline.normalize", NULL, &d) == 0 && d.n == 0)
		n = rfx_normalizer_new(&conf, err, errlen);
	else
		snprintf(err, errlen, "%s", d.n ? d.msgs[0] : "schema error");
	rfx_schema_free(rfx_normalize_options, &conf);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
	return n;
}

static struct rfx_normalizer *make_ok(const char *yaml)
{
	char err[512] = "";
	struct rfx_normalizer *n = make(yaml, err, sizeof(err));

	if (!n)
		fprintf(stderr, "normalizer refused: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(n);
	return n;
}

static rfx_event *event(const char *source, const char *kind, const char *host)
{
	rfx_event *ev = rfx_event_new();

	if (source)
		rfx_event_set(ev, RFX_F_SOURCE, source);
	if (kind)
		rfx_event_set(ev, RFX_F_KIND, kind);
	if (host)
		rfx_event_set(ev, RFX_F_HOST, host);
	ev->received_ns = NOW;
	ev->occurred_ns = NOW - NS;
	return ev;
}

static void attr_set(rfx_event *ev, const char *k, const char *v)
{
	json_object_object_add(ev->attrs, k, json_object_new_string(v));
}

/* attrs.normalize.KEY as a string, or NULL. */
static const char *note(const rfx_event *ev, const char *key)
{
	struct json_object *o = NULL, *v = NULL;

	if (!json_object_object_get_ex(ev->attrs, "normalize", &o) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* ---- options -------------------------------------------------------------- */

static void test_normalize_options_table_is_valid_and_defaults_apply(void)
{
	char err[256] = "";

	CU_ASSERT_EQUAL(rfx_schema_check(rfx_normalize_options, err, sizeof(err)), 0);
	struct rfx_normalizer *n = make_ok("{}");
	rfx_normalizer_free(n);
	/* the defaults, through the schema: 5m, 30d, received, lower, normalize */
	rfx_diag d;
	rfx_diag_init(&d);
	memset(&conf, 0, sizeof(conf));
	CU_ASSERT_EQUAL(rfx_schema_apply(rfx_normalize_options, NULL, &conf, "pipeline.normalize",
					 NULL, &d), 0);
	CU_ASSERT_EQUAL(conf.future_tolerance_ms, 5 * 60 * 1000);
	CU_ASSERT_EQUAL(conf.past_tolerance_ms, 30LL * 86400 * 1000);
	CU_ASSERT_EQUAL(conf.skewed_time, RFX_SKEW_KEEP); /* flag, never rewrite unasked */
	CU_ASSERT_EQUAL(conf.host_case, RFX_CASE_LOWER);
	CU_ASSERT_EQUAL(conf.label_keys, RFX_KEYS_KEEP); /* match: expressions name them */
	CU_ASSERT_FALSE(conf.short_hostnames);
	rfx_schema_free(rfx_normalize_options, &conf);
	rfx_diag_free(&d);
}

static void test_normalize_sources_list_parses_each_element(void)
{
	rfx_diag d;
	rfx_doc *doc;
	const struct rfx_normalize_source *s;

	rfx_diag_init(&d);
	memset(&conf, 0, sizeof(conf));
	doc = rfx_doc_parse("t.yaml",
			    "sources:\n"
			    "  - match: zbx-*\n"
			    "    format: zabbix\n"
			    "    severity_map: {\"5\": critical}\n"
			    "  - kind: trap\n", &d);
	CU_ASSERT_EQUAL(rfx_schema_apply(rfx_normalize_options, rfx_doc_root(doc), &conf,
					 "pipeline.normalize", NULL, &d), 0);
	CU_ASSERT_EQUAL_FATAL(conf.sources.n, 2);
	s = conf.sources.v;
	CU_ASSERT_STRING_EQUAL(s[0].match, "zbx-*");
	CU_ASSERT_EQUAL(s[0].format, RFX_NORM_ZABBIX);
	CU_ASSERT_EQUAL(s[0].severity_map.n, 1);
	CU_ASSERT_STRING_EQUAL(s[1].match, "*"); /* default */
	CU_ASSERT_STRING_EQUAL(s[1].kind, "trap");
	CU_ASSERT_EQUAL(s[1].format, RFX_NORM_AUTO);
	rfx_schema_free(rfx_normalize_options, &conf);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_normalize_refuses_bad_map_values_and_places(void)
{
	char err[512] = "";

	CU_ASSERT_PTR_NULL(make("sources:\n  - severity_map: {p1: urgent}\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "sources[0].severity_map.p1: 'urgent' is not a reflex "
					   "severity"));
	CU_ASSERT_PTR_NULL(make("sources:\n  - status_map: {ok: fine}\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'fine' is not a reflex status"));
	CU_ASSERT_PTR_NULL(make("sources:\n  - severity_from: tags.x\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'tags.x': expected labels.NAME"));
	CU_ASSERT_PTR_NULL(make("sources:\n  - format: zabix\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.yaml:2:13"));
	CU_ASSERT_PTR_NULL(make("strip_domains: ['.']\n", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty domain"));
}

/* ---- severity and status ------------------------------------------------------- */

static void test_normalize_zabbix_rule_maps_by_number_or_name(void)
{
	struct rfx_normalizer *n = make_ok("sources:\n"
					   "  - match: zbx*\n"
					   "    severity_map: {disaster: critical, \"2\": notice}\n");
	rfx_event *ev = event("zbx1", "alert", "h");

	attr_set(ev, "zabbix_severity", "5");
	attr_set(ev, "zabbix_severity_name", "Disaster");
	ev->severity = RFX_SEV_ALERT;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_raw"), "Disaster");
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_by"), "map");
	rfx_event_unref(ev);

	ev = event("zbx1", "alert", "h");
	json_object_object_add(ev->attrs, "zabbix_severity", json_object_new_int(2));
	ev->severity = RFX_SEV_WARNING;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_NOTICE);
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_raw"), "2");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_auto_keeps_what_the_input_mapped(void)
{
	struct rfx_normalizer *n = make_ok("{}");
	rfx_event *ev = event("zbx1", "alert", "h");

	/* The input's own severity_map made 5 a warning: auto leaves it. */
	attr_set(ev, "zabbix_severity", "5");
	ev->severity = RFX_SEV_WARNING;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_WARNING);
	CU_ASSERT_PTR_NULL(note(ev, "severity_by"));
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_auto_fills_a_severity_the_input_left_unmapped(void)
{
	struct rfx_normalizer *n = make_ok("{}");
	rfx_event *ev = event("am", "alert", "h");

	rfx_event_label_set(ev, "severity", "P1");
	attr_set(ev, "alertmanager_status", "firing");
	attr_set(ev, "severity_unmapped", "P1");
	ev->severity = RFX_SEV_WARNING; /* the webhook's fallback */
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_raw"), "P1");
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_by"), "default");
	rfx_event_unref(ev);

	/* grafana's flag, and a value only the rule knows */
	rfx_normalizer_free(n);
	n = make_ok("sources:\n  - severity_map: {sev-a: alert}\n");
	ev = event("graf", "alert", "h");
	attr_set(ev, "unknown_severity", "SEV-A");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_ALERT);
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_by"), "map");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_nagios_format_applies_its_tables(void)
{
	struct rfx_normalizer *n = make_ok("sources:\n  - match: nag\n    format: nagios\n");
	rfx_event *ev = event("nag", "alert", "h");

	attr_set(ev, "state", "UNREACHABLE");
	attr_set(ev, "notification_type", "RECOVERY");
	ev->severity = RFX_SEV_INFO;
	ev->status = RFX_STATUS_FIRING;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_ERROR);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_STRING_EQUAL(note(ev, "status_raw"), "RECOVERY");
	CU_ASSERT_STRING_EQUAL(note(ev, "status_by"), "default");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_named_format_flags_a_value_it_cannot_map(void)
{
	struct rfx_normalizer *n = make_ok("sources:\n  - format: generic\n");
	rfx_event *ev = event("x", "alert", "h");

	rfx_event_label_set(ev, "severity", "bogus");
	ev->severity = RFX_SEV_NOTICE;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_NOTICE);
	CU_ASSERT_STRING_EQUAL(note(ev, "severity_unmapped"), "bogus");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_syslog_map_keys_are_numbers_or_names(void)
{
	struct rfx_normalizer *n = make_ok("sources:\n"
					   "  - match: sys*\n"
					   "    format: syslog\n"
					   "    severity_map: {notice: info, \"7\": notice}\n");
	rfx_event *ev = event("syslog1", "log", "h");

	ev->severity = RFX_SEV_NOTICE;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_INFO);
	rfx_event_unref(ev);
	ev = event("syslog1", "log", "h");
	ev->severity = RFX_SEV_DEBUG;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_NOTICE);
	rfx_event_unref(ev);
	/* unmapped syslog severities stay: the built-in table is the identity */
	ev = event("syslog1", "log", "h");
	ev->severity = RFX_SEV_ERROR;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_ERROR);
	CU_ASSERT_PTR_NULL(note(ev, "severity_by"));
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_snmp_link_up_resolves(void)
{
	struct rfx_normalizer *n = make_ok("sources:\n  - kind: trap\n    format: snmp\n");
	rfx_event *ev = event("traps", "trap", "sw1");

	rfx_event_label_set(ev, "trap", "linkUp");
	ev->severity = RFX_SEV_WARNING;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_INFO);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_RESOLVED);
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_first_matching_rule_by_glob_and_kind_wins(void)
{
	struct rfx_normalizer *n = make_ok("label_keys: normalize\n"
					   "sources:\n"
					   "  - match: web*\n"
					   "    kind: log\n"
					   "    severity_from: labels.prio\n"
					   "    severity_map: {hi: emergency}\n"
					   "  - match: web*\n"
					   "    severity_from: labels.prio\n"
					   "    severity_map: {hi: error}\n"
					   "    status_from: labels.state\n"
					   "    status_map: {closed: resolved}\n");
	rfx_event *ev = event("webhook1", "alert", "h");

	rfx_event_label_set(ev, "Prio", "HI"); /* key normalized first, value any case */
	rfx_event_label_set(ev, "state", "closed");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_ERROR);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_RESOLVED);
	rfx_event_unref(ev);
	ev = event("webhook1", "log", "h");
	rfx_event_label_set(ev, "prio", "hi");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_EMERGENCY);
	rfx_event_unref(ev);
	ev = event("other", "log", "h");
	rfx_event_label_set(ev, "prio", "hi");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_INFO);
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

/* ---- time ---------------------------------------------------------------- */

static void test_normalize_missing_time_becomes_receipt_time(void)
{
	struct rfx_normalizer *n = make_ok("{}");
	rfx_event *ev = event("s", "log", "h");

	ev->occurred_ns = 0;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW + 5 * NS), 0);
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW);
	CU_ASSERT_STRING_EQUAL(note(ev, "clock"), "missing");
	rfx_event_unref(ev);
	/* not yet received (received_ns 0): the injected clock stands in */
	ev = event("s", "log", "h");
	ev->occurred_ns = 0;
	ev->received_ns = 0;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW + 5 * NS), 0);
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW + 5 * NS);
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_future_and_past_times_are_flagged_not_rejected(void)
{
	struct rfx_normalizer *n =
		make_ok("future_tolerance: 5m\npast_tolerance: 1d\nskewed_time: received\n");
	rfx_event *ev = event("s", "log", "h");

	ev->occurred_ns = NOW + 6 * 60 * NS;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(note(ev, "clock"), "future");
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW);
	CU_ASSERT_STRING_EQUAL(note(ev, "occurred_reported"), "2027-01-15T08:06:00.000Z");
	rfx_event_unref(ev);

	ev = event("s", "log", "h");
	ev->occurred_ns = NOW - 2 * 86400 * NS;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(note(ev, "clock"), "past");
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW);
	rfx_event_unref(ev);

	/* within both tolerances: untouched, no note */
	ev = event("s", "log", "h");
	ev->occurred_ns = NOW + 4 * 60 * NS;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW + 4 * 60 * NS);
	CU_ASSERT_PTR_NULL(note(ev, "clock"));
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_skewed_time_keep_flags_only(void)
{
	struct rfx_normalizer *n = make_ok("skewed_time: keep\npast_tolerance: 0\n");
	rfx_event *ev = event("s", "log", "h");

	ev->occurred_ns = NOW + 3600 * NS;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(note(ev, "clock"), "future");
	CU_ASSERT_EQUAL(ev->occurred_ns, NOW + 3600 * NS);
	rfx_event_unref(ev);
	/* past_tolerance 0 turns the past check off */
	ev = event("s", "log", "h");
	ev->occurred_ns = NS;
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_PTR_NULL(note(ev, "clock"));
	CU_ASSERT_EQUAL(ev->occurred_ns, NS);
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

/* ---- host names ---------------------------------------------------------- */

static const char *host_after(struct rfx_normalizer *n, const char *host, char *buf, size_t len)
{
	rfx_event *ev = event("s", "log", host);

	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	snprintf(buf, len, "%s", rfx_event_host(ev) ? rfx_event_host(ev) : "(null)");
	rfx_event_unref(ev);
	return buf;
}

static void test_normalize_host_case_dot_and_domains(void)
{
	struct rfx_normalizer *n = make_ok("strip_domains: [example.com, .corp.example.net]\n");
	char b[256];

	CU_ASSERT_STRING_EQUAL(host_after(n, "DB1.Example.COM.", b, sizeof(b)), "db1");
	CU_ASSERT_STRING_EQUAL(host_after(n, "web2.corp.example.net", b, sizeof(b)), "web2");
	CU_ASSERT_STRING_EQUAL(host_after(n, "web2.other.org", b, sizeof(b)), "web2.other.org");
	/* the domain itself is not a host to shorten to nothing */
	CU_ASSERT_STRING_EQUAL(host_after(n, "example.com", b, sizeof(b)), "example.com");
	CU_ASSERT_STRING_EQUAL(host_after(n, "  Mixed ", b, sizeof(b)), "mixed");
	CU_ASSERT_STRING_EQUAL(host_after(n, "2001:DB8::1", b, sizeof(b)), "2001:db8::1");

	rfx_event *ev = event("s", "log", "DB1.example.com");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(note(ev, "host_reported"), "DB1.example.com");
	rfx_event_unref(ev);
	ev = event("s", "log", "db1");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_PTR_NULL(note(ev, "host_reported"));
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_short_hostnames_spare_ip_addresses(void)
{
	struct rfx_normalizer *n = make_ok("short_hostnames: true\nhost_case: keep\n");
	char b[256];

	CU_ASSERT_STRING_EQUAL(host_after(n, "DB1.example.com", b, sizeof(b)), "DB1");
	CU_ASSERT_STRING_EQUAL(host_after(n, "10.0.0.1", b, sizeof(b)), "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(host_after(n, "Web", b, sizeof(b)), "Web");
	rfx_normalizer_free(n);
}

/* ---- label keys ---------------------------------------------------------- */

static void test_normalize_label_keys_lowercase_and_underscores(void)
{
	char out[64];

	CU_ASSERT_EQUAL(rfx_normalize_label_key("Team.Name", out, sizeof(out)), 9);
	CU_ASSERT_STRING_EQUAL(out, "team_name");
	rfx_normalize_label_key("app-id/x y", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "app_id_x_y");
	rfx_normalize_label_key("sd.origin@32473.ip", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "sd_origin_32473_ip");
	CU_ASSERT_EQUAL(rfx_normalize_label_key("", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(rfx_normalize_label_key("abcdef", out, 4), 3); /* bounded */
	CU_ASSERT_STRING_EQUAL(out, "abc");

	struct rfx_normalizer *n = make_ok("label_keys: normalize\n");
	rfx_event *ev = event("s", "log", "h");
	rfx_event_label_set(ev, "Team.Name", "web");
	rfx_event_label_set(ev, "ok_key", "1");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->nlabels, 2);
	CU_ASSERT_STRING_EQUAL(ev->labels[0].key, "team_name");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team_name"), "web");
	CU_ASSERT_STRING_EQUAL(ev->labels[1].key, "ok_key");
	CU_ASSERT_PTR_NULL(note(ev, "label_collisions"));
	rfx_event_unref(ev);
	rfx_normalizer_free(n);

	/* the default keeps keys as sent: match: expressions name them */
	n = make_ok("{}");
	ev = event("s", "log", "h");
	rfx_event_label_set(ev, "ifIndex", "7");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(ev->labels[0].key, "ifIndex");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_label_key_collision_keeps_the_first(void)
{
	struct rfx_normalizer *n = make_ok("label_keys: normalize\n");
	rfx_event *ev = event("s", "log", "h");
	struct json_object *o = NULL, *c = NULL;

	rfx_event_label_set(ev, "Env", "prod");
	rfx_event_label_set(ev, "x", "1");
	rfx_event_label_set(ev, "env", "test");
	rfx_event_label_set(ev, "ENV", "dev");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_EQUAL(ev->nlabels, 2);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "env"), "prod");
	CU_ASSERT_STRING_EQUAL(ev->labels[1].key, "x");
	CU_ASSERT_TRUE(json_object_object_get_ex(ev->attrs, "normalize", &o));
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "label_collisions", &c));
	CU_ASSERT_EQUAL(json_object_array_length(c), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(c, 0)), "env");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(c, 1)), "ENV");
	/* the event's label list still works after the rewrite */
	CU_ASSERT_EQUAL(rfx_event_label_set(ev, "new", "v"), 0);
	CU_ASSERT_EQUAL(ev->nlabels, 3);
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

static void test_normalize_label_keys_keep_leaves_them(void)
{
	struct rfx_normalizer *n = make_ok("label_keys: keep\n");
	rfx_event *ev = event("s", "log", "h");

	rfx_event_label_set(ev, "Team.Name", "web");
	CU_ASSERT_EQUAL(rfx_normalize(n, ev, NOW), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "Team.Name"), "web");
	rfx_event_unref(ev);
	rfx_normalizer_free(n);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_normalize_options_table_is_valid_and_defaults_apply),
		RFX_TEST(test_normalize_sources_list_parses_each_element),
		RFX_TEST(test_normalize_refuses_bad_map_values_and_places),
		RFX_TEST(test_normalize_zabbix_rule_maps_by_number_or_name),
		RFX_TEST(test_normalize_auto_keeps_what_the_input_mapped),
		RFX_TEST(test_normalize_auto_fills_a_severity_the_input_left_unmapped),
		RFX_TEST(test_normalize_nagios_format_applies_its_tables),
		RFX_TEST(test_normalize_named_format_flags_a_value_it_cannot_map),
		RFX_TEST(test_normalize_syslog_map_keys_are_numbers_or_names),
		RFX_TEST(test_normalize_snmp_link_up_resolves),
		RFX_TEST(test_normalize_first_matching_rule_by_glob_and_kind_wins),
		RFX_TEST(test_normalize_missing_time_becomes_receipt_time),
		RFX_TEST(test_normalize_future_and_past_times_are_flagged_not_rejected),
		RFX_TEST(test_normalize_skewed_time_keep_flags_only),
		RFX_TEST(test_normalize_host_case_dot_and_domains),
		RFX_TEST(test_normalize_short_hostnames_spare_ip_addresses),
		RFX_TEST(test_normalize_label_keys_lowercase_and_underscores),
		RFX_TEST(test_normalize_label_key_collision_keeps_the_first),
		RFX_TEST(test_normalize_label_keys_keep_leaves_them),
		{NULL, NULL},
	};

	return rfx_run_suite("normalize", tests);
}
