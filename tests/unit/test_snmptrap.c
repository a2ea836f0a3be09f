/*
 * tests/unit/test_snmptrap.c - the SNMP trap conversion without sockets:
 * PDUs built with the net-snmp API go through the admission check and
 * plugins/inputs/snmptrap/trapmap.c, and the events are checked field by
 * field (RFC 3584 v1 OIDs, built-in and configured rules, fingerprints of
 * linkDown/linkUp pairs, templates, value rendering, inform ids).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "testutil.h"
#include "trapmap.h"

static rfx_host host;

static void host_setup(void)
{
	host.abi_major = RFX_ABI_MAJOR;
	host.abi_minor = RFX_ABI_MINOR;
	host.size = sizeof(host);
	host.event_new = rfx_event_new;
	host.event_ref = rfx_event_ref;
	host.event_unref = rfx_event_unref;
	host.event_set = rfx_event_set;
	host.event_label_set = rfx_event_label_set;
	host.event_label_get = rfx_event_label_get;
	host.severity_parse = rfx_severity_parse;
	host.severity_name = rfx_severity_name;
	host.now_ns = rfx_now_ns;
}

static const oid sysuptime0[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};

static void add_oid_text(netsnmp_pdu *pdu, const char *name, char type, const char *value)
{
	oid o[MAX_OID_LEN];
	size_t len = MAX_OID_LEN;

	CU_ASSERT_FATAL(read_objid(name, o, &len) != 0);
	CU_ASSERT_FATAL(snmp_add_var(pdu, o, len, type, value) == 0);
}

/* A v2c Trap (or Inform) with sysUpTime.0, snmpTrapOID.0 = trap. */
static netsnmp_pdu *v2(int command, const char *community, const char *trap)
{
	netsnmp_pdu *pdu = snmp_pdu_create(command);
	long up = 12345;

	pdu->version = SNMP_VERSION_2c;
	pdu->community = (u_char *)strdup(community);
	pdu->community_len = strlen(community);
	snmp_pdu_add_variable(pdu, sysuptime0, 9, ASN_TIMETICKS, &up, sizeof(up));
	if (trap)
		add_oid_text(pdu, ".1.3.6.1.6.3.1.1.4.1.0", 'o', trap);
	return pdu;
}

static struct trapmap *map_of(const struct snmptrap_rule_cfg *rules, size_t n)
{
	char err[256] = "";
	struct trapmap *m = rfx_trapmap_new(&host, rules, n, false, err, sizeof(err));
	if (m == NULL)
		fprintf(stderr, "trapmap: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static const char *attr_str(rfx_event *ev, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(ev->attrs, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_v2c_linkdown_uses_builtin_rule_and_ifindex_label(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.3");
	add_oid_text(pdu, ".1.3.6.1.2.1.2.2.1.1.7", 'i', "7");

	rfx_event *ev = rfx_trap_to_event(m, pdu, "10.0.0.9:40000", "10.0.0.9");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_kind(ev), "trap");
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "10.0.0.9");
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ev), "linkDown ifIndex 7");
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_FIRING);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "ifIndex"), "7");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "trap"), "linkDown");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "trap_oid"), "1.3.6.1.6.3.1.1.5.3");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "snmp_version"), "2c");
	/* the header varbinds are no labels */
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "sysUpTime"));
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "community"), "public");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "peer"), "10.0.0.9:40000");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "pdu"), "trap2");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "rule"), "builtin");
	CU_ASSERT_PTR_NOT_NULL(rfx_event_fingerprint(ev));
	CU_ASSERT_PTR_NOT_NULL(strstr(rfx_event_message(ev), "ifIndex=7"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ev->str[RFX_F_RAW], "1.3.6.1.2.1.2.2.1.1.7 = integer: 7"));

	json_object *vbs, *third, *v;
	CU_ASSERT_FATAL(json_object_object_get_ex(ev->attrs, "varbinds", &vbs));
	CU_ASSERT_EQUAL(json_object_array_length(vbs), 3);
	third = json_object_array_get_idx(vbs, 2);
	CU_ASSERT(json_object_object_get_ex(third, "oid", &v) &&
		  strcmp(json_object_get_string(v), "1.3.6.1.2.1.2.2.1.1.7") == 0);
	CU_ASSERT(json_object_object_get_ex(third, "name", &v) &&
		  strcmp(json_object_get_string(v), "ifIndex.7") == 0);
	CU_ASSERT(json_object_object_get_ex(third, "type", &v) &&
		  strcmp(json_object_get_string(v), "integer") == 0);
	CU_ASSERT(json_object_object_get_ex(third, "value", &v) &&
		  strcmp(json_object_get_string(v), "7") == 0);
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

static void test_linkdown_and_linkup_share_a_fingerprint_per_ifindex(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *down = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.3");
	netsnmp_pdu *up = v2(SNMP_MSG_INFORM, "public", "1.3.6.1.6.3.1.1.5.4");
	netsnmp_pdu *other = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.3");
	add_oid_text(down, ".1.3.6.1.2.1.2.2.1.1.7", 'i', "7");
	add_oid_text(up, ".1.3.6.1.2.1.2.2.1.1.7", 'i', "7");
	add_oid_text(up, ".1.3.6.1.2.1.2.2.1.8.7", 'i', "1");
	add_oid_text(other, ".1.3.6.1.2.1.2.2.1.1.8", 'i', "8");

	rfx_event *d = rfx_trap_to_event(m, down, NULL, "10.0.0.1");
	rfx_event *u = rfx_trap_to_event(m, up, NULL, "10.0.0.1");
	rfx_event *o = rfx_trap_to_event(m, other, NULL, "10.0.0.1");
	rfx_event *elsewhere = rfx_trap_to_event(m, down, NULL, "10.0.0.2");
	CU_ASSERT_FATAL(d && u && o && elsewhere);
	CU_ASSERT_EQUAL(d->status, RFX_STATUS_FIRING);
	CU_ASSERT_EQUAL(u->status, RFX_STATUS_RESOLVED);
	CU_ASSERT_EQUAL(u->severity, RFX_SEV_INFO);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(d), rfx_event_fingerprint(u));
	CU_ASSERT_STRING_NOT_EQUAL(rfx_event_fingerprint(d), rfx_event_fingerprint(o));
	CU_ASSERT_STRING_NOT_EQUAL(rfx_event_fingerprint(d), rfx_event_fingerprint(elsewhere));
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(u, "ifOperStatus"), "1");
	rfx_event_unref(d);
	rfx_event_unref(u);
	rfx_event_unref(o);
	rfx_event_unref(elsewhere);
	snmp_free_pdu(down);
	snmp_free_pdu(up);
	snmp_free_pdu(other);
	rfx_trapmap_free(m);
}

static void test_v1_generic_trap_gets_rfc3584_oid_and_agent_address(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_TRAP);
	static const oid ent[] = {1, 3, 6, 1, 4, 1, 8072};

	pdu->version = SNMP_VERSION_1;
	pdu->community = (u_char *)strdup("public");
	pdu->community_len = 6;
	pdu->enterprise = snmp_duplicate_objid(ent, 7);
	pdu->enterprise_length = 7;
	pdu->trap_type = SNMP_TRAP_LINKDOWN;
	pdu->specific_type = 0;
	pdu->time = 4242;
	memcpy(pdu->agent_addr, "\x0a\x01\x02\x03", 4);
	add_oid_text(pdu, ".1.3.6.1.2.1.2.2.1.1.7", 'i', "7");

	rfx_event *ev = rfx_trap_to_event(m, pdu, "127.0.0.1:5000", "127.0.0.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "trap_oid"), "1.3.6.1.6.3.1.1.5.3");
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "10.1.2.3");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "enterprise"), "1.3.6.1.4.1.8072");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "generic_trap"), "2");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "uptime"), "4242");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "version"), "1");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "ifIndex"), "7");

	/* The same interface over v2c pairs with it: same fingerprint. */
	netsnmp_pdu *p2 = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.4");
	add_oid_text(p2, ".1.3.6.1.6.3.18.1.3.0", 'a', "10.1.2.3");
	add_oid_text(p2, ".1.3.6.1.2.1.2.2.1.1.7", 'i', "7");
	rfx_event *up = rfx_trap_to_event(m, p2, "127.0.0.1:5001", "127.0.0.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(up);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(up), "10.1.2.3");
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(ev), rfx_event_fingerprint(up));
	rfx_event_unref(up);
	snmp_free_pdu(p2);

	/* enterprise-specific: enterprise.0.specific */
	pdu->trap_type = SNMP_TRAP_ENTERPRISESPECIFIC;
	pdu->specific_type = 17;
	char t[128];
	CU_ASSERT(rfx_trap_oid(pdu, t, sizeof(t)));
	CU_ASSERT_STRING_EQUAL(t, "1.3.6.1.4.1.8072.0.17");
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

static void test_configured_rule_wins_and_renders_its_title(void)
{
	char *fp[] = {"1.3.6.1.2.1.2.2.1.1"};
	struct snmptrap_rule_cfg rules[] = {
		{"linkDown", "critical", TRAP_STATUS_FIRING, "Port {{ifIndex}} down on {{ host }} ({{trap}})",
		 "network", "ports", {1, fp}},
		{"1.3.6.1.4.1.9999.0.1", "major", TRAP_STATUS_FIRING, "{{1.3.6.1.4.1.9999.1}} hot", NULL,
		 NULL, {0, NULL}},
	};
	struct trapmap *m = map_of(rules, 2);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.3");
	add_oid_text(pdu, ".1.3.6.1.2.1.2.2.1.1.3", 'i', "3");
	rfx_event *ev = rfx_trap_to_event(m, pdu, NULL, "192.0.2.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ev), "Port 3 down on 192.0.2.1 (linkDown)");
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_STRING_EQUAL(rfx_event_service(ev), "network");
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "rule"), "configured");

	netsnmp_pdu *vendor = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.4.1.9999.0.1");
	add_oid_text(vendor, ".1.3.6.1.4.1.9999.1.0", 's', "disk0");
	rfx_event *ve = rfx_trap_to_event(m, vendor, NULL, "192.0.2.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ve);
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ve), "disk0 hot");
	CU_ASSERT_EQUAL(ve->severity, RFX_SEV_ERROR); /* "major" */
	/* unnamed OIDs stay numeric as label keys */
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ve, "1.3.6.1.4.1.9999.1.0"), "disk0");
	/* no fingerprint list: the core computes its default */
	CU_ASSERT_PTR_NULL(rfx_event_fingerprint(ve));
	rfx_event_unref(ev);
	rfx_event_unref(ve);
	snmp_free_pdu(pdu);
	snmp_free_pdu(vendor);
	rfx_trapmap_free(m);
}

static void test_unmapped_trap_is_a_warning_named_by_its_oid(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.4.1.4242.0.5");
	rfx_event *ev = rfx_trap_to_event(m, pdu, NULL, "192.0.2.7");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ev), "1.3.6.1.4.1.4242.0.5");
	CU_ASSERT_EQUAL(ev->severity, RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(ev->status, RFX_STATUS_FIRING);
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "rule"), "none");
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

static void test_named_and_numeric_fingerprint_entries_agree(void)
{
	char *by_name[] = {"ifIndex"}, *by_oid[] = {".1.3.6.1.2.1.2.2.1.1"};
	struct snmptrap_rule_cfg a = {"linkDown", NULL, 0, NULL, NULL, NULL, {1, by_name}};
	struct snmptrap_rule_cfg b = {"linkDown", NULL, 0, NULL, NULL, NULL, {1, by_oid}};
	struct trapmap *ma = map_of(&a, 1), *mb = map_of(&b, 1);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.3");
	add_oid_text(pdu, ".1.3.6.1.2.1.2.2.1.1.4", 'i', "4");
	rfx_event *ea = rfx_trap_to_event(ma, pdu, NULL, "h");
	rfx_event *eb = rfx_trap_to_event(mb, pdu, NULL, "h");
	CU_ASSERT_FATAL(ea && eb);
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(ea), rfx_event_fingerprint(eb));
	rfx_event_unref(ea);
	rfx_event_unref(eb);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(ma);
	rfx_trapmap_free(mb);
}

static void test_trapmap_refuses_unknown_names_and_severities(void)
{
	char err[256];
	char *bad_fp[] = {"ifNoSuchThing"};
	struct snmptrap_rule_cfg oid_bad = {"notATrap", NULL, 0, NULL, NULL, NULL, {0, NULL}};
	struct snmptrap_rule_cfg sev_bad = {"linkUp", "purple", 0, NULL, NULL, NULL, {0, NULL}};
	struct snmptrap_rule_cfg tpl_bad = {"linkUp", NULL, 0, "x {{nosuch}}", NULL, NULL, {0, NULL}};
	struct snmptrap_rule_cfg tpl_open = {"linkUp", NULL, 0, "x {{ifIndex", NULL, NULL, {0, NULL}};
	struct snmptrap_rule_cfg fp_bad = {"linkUp", NULL, 0, NULL, NULL, NULL, {1, bad_fp}};

	CU_ASSERT_PTR_NULL(rfx_trapmap_new(&host, &oid_bad, 1, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "traps[0]: oid 'notATrap'"));
	CU_ASSERT_PTR_NULL(rfx_trapmap_new(&host, &sev_bad, 1, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown severity 'purple'"));
	CU_ASSERT_PTR_NULL(rfx_trapmap_new(&host, &tpl_bad, 1, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "{{nosuch}}"));
	CU_ASSERT_PTR_NULL(rfx_trapmap_new(&host, &tpl_open, 1, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "without '}}'"));
	CU_ASSERT_PTR_NULL(rfx_trapmap_new(&host, &fp_bad, 1, false, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ifNoSuchThing"));
}

static void test_admission_checks_community_user_and_level(void)
{
	char *comms[] = {"public", "ops"};
	struct trap_user users[] = {{"alice", TRAP_LEVEL_PRIV}, {"bob", TRAP_LEVEL_NOAUTH}};
	struct trap_policy p = {comms, 2, users, 2};
	char why[128];

	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "ops", "1.3.6.1.6.3.1.1.5.1");
	CU_ASSERT_EQUAL(rfx_trap_admit(pdu, &p, why, sizeof(why)), TRAP_ACCEPT);
	free(pdu->community);
	pdu->community = (u_char *)strdup("opsx");
	pdu->community_len = 4;
	CU_ASSERT_EQUAL(rfx_trap_admit(pdu, &p, why, sizeof(why)), TRAP_BAD_COMMUNITY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "community"));
	pdu->command = SNMP_MSG_GET;
	CU_ASSERT_EQUAL(rfx_trap_admit(pdu, &p, why, sizeof(why)), TRAP_NOT_NOTIFICATION);
	snmp_free_pdu(pdu);

	netsnmp_pdu *v3 = snmp_pdu_create(SNMP_MSG_TRAP2);
	v3->version = SNMP_VERSION_3;
	v3->securityName = strdup("alice");
	v3->securityNameLen = 5;
	v3->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
	CU_ASSERT_EQUAL(rfx_trap_admit(v3, &p, why, sizeof(why)), TRAP_ACCEPT);
	v3->securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
	CU_ASSERT_EQUAL(rfx_trap_admit(v3, &p, why, sizeof(why)), TRAP_LOW_LEVEL);
	free(v3->securityName);
	v3->securityName = strdup("mallory");
	v3->securityNameLen = 7;
	CU_ASSERT_EQUAL(rfx_trap_admit(v3, &p, why, sizeof(why)), TRAP_BAD_USER);
	free(v3->securityName);
	v3->securityName = strdup("bob");
	v3->securityNameLen = 3;
	v3->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
	CU_ASSERT_EQUAL(rfx_trap_admit(v3, &p, why, sizeof(why)), TRAP_ACCEPT);
	snmp_free_pdu(v3);

	/* no communities configured: v1/v2c are off */
	struct trap_policy v3only = {NULL, 0, users, 2};
	netsnmp_pdu *pub = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.6.3.1.1.5.1");
	CU_ASSERT_EQUAL(rfx_trap_admit(pub, &v3only, why, sizeof(why)), TRAP_BAD_COMMUNITY);
	snmp_free_pdu(pub);
}

static void test_values_render_by_type(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.4.1.1.0.1");
	static const u_char bin[] = {0x00, 0xff, 0x10};
	static const oid bin_oid[] = {1, 3, 6, 1, 4, 1, 1, 1, 1};
	static const oid text_oid[] = {1, 3, 6, 1, 4, 1, 1, 1, 2};
	static const char nul_text[] = "eth0"; /* sent with its NUL */
	struct counter64 c64 = {1, 2};
	static const oid c64_oid[] = {1, 3, 6, 1, 4, 1, 1, 1, 3};

	snmp_pdu_add_variable(pdu, bin_oid, 9, ASN_OCTET_STR, bin, sizeof(bin));
	snmp_pdu_add_variable(pdu, text_oid, 9, ASN_OCTET_STR, nul_text, sizeof(nul_text));
	snmp_pdu_add_variable(pdu, c64_oid, 9, ASN_COUNTER64, &c64, sizeof(c64));
	add_oid_text(pdu, ".1.3.6.1.4.1.1.1.4", 'a', "192.0.2.44");
	add_oid_text(pdu, ".1.3.6.1.4.1.1.1.5", 'o', ".1.3.6.1.4.1.99");
	add_oid_text(pdu, ".1.3.6.1.4.1.1.1.6", 's', "h\xc3\xa9llo");
	add_oid_text(pdu, ".1.3.6.1.4.1.1.1.7", 'u', "4000000000");
	rfx_event *ev = rfx_trap_to_event(m, pdu, NULL, "h");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.1"), "0x00ff10");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.2"), "eth0");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.3"), "4294967298");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.4"), "192.0.2.44");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.5"), "1.3.6.1.4.1.99");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.6"), "h\xc3\xa9llo");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "1.3.6.1.4.1.1.1.7"), "4000000000");
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

static void test_v2_without_trap_oid_is_kept_and_marked_malformed(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", NULL);
	rfx_event *ev = rfx_trap_to_event(m, pdu, NULL, "h");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(rfx_event_check(ev), "unknownTrap");
	CU_ASSERT_PTR_NOT_NULL(attr_str(ev, "malformed"));
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "trap_oid"));
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

static void test_inform_ids_are_valid_ulids_equal_for_a_retransmission(void)
{
	netsnmp_pdu *a = v2(SNMP_MSG_INFORM, "public", "1.3.6.1.6.3.1.1.5.4");
	netsnmp_pdu *b = snmp_clone_pdu(a);
	uint64_t ha[2], hb[2];
	char ida[RFX_EVENT_ID_LEN + 1], idb[RFX_EVENT_ID_LEN + 1];

	rfx_trap_identity(a, "127.0.0.1:4000", ha);
	rfx_trap_identity(b, "127.0.0.1:4000", hb);
	CU_ASSERT(ha[0] == hb[0] && ha[1] == hb[1]);
	rfx_trap_ulid(1764300000000LL, ha, ida);
	rfx_trap_ulid(1764300000000LL, hb, idb);
	CU_ASSERT(rfx_event_id_valid(ida));
	CU_ASSERT_STRING_EQUAL(ida, idb);
	/* a new request (other request id) or another sender: another id */
	b->reqid = a->reqid + 1;
	rfx_trap_identity(b, "127.0.0.1:4000", hb);
	CU_ASSERT(ha[0] != hb[0]);
	rfx_trap_identity(a, "127.0.0.1:4001", hb);
	CU_ASSERT(ha[0] != hb[0]);
	/* the time part sorts: a later ms gives a larger id */
	rfx_trap_ulid(1764300000001LL, ha, idb);
	CU_ASSERT(strcmp(ida, idb) < 0);
	snmp_free_pdu(a);
	snmp_free_pdu(b);
}

static void test_label_count_stays_bounded_with_many_varbinds(void)
{
	struct trapmap *m = map_of(NULL, 0);
	netsnmp_pdu *pdu = v2(SNMP_MSG_TRAP2, "public", "1.3.6.1.4.1.1.0.1");
	char name[64];

	for (int i = 0; i < TRAP_VARBINDS_MAX + 20; i++) {
		snprintf(name, sizeof(name), ".1.3.6.1.4.1.1.2.%d", i);
		add_oid_text(pdu, name, 'i', "1");
	}
	rfx_event *ev = rfx_trap_to_event(m, pdu, NULL, "h");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT(ev->nlabels <= RFX_LABELS_MAX);
	json_object *vbs;
	CU_ASSERT_FATAL(json_object_object_get_ex(ev->attrs, "varbinds", &vbs));
	CU_ASSERT_EQUAL(json_object_array_length(vbs), TRAP_VARBINDS_MAX);
	CU_ASSERT_STRING_EQUAL(attr_str(ev, "varbinds_dropped"), "22");
	rfx_event_unref(ev);
	snmp_free_pdu(pdu);
	rfx_trapmap_free(m);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_v2c_linkdown_uses_builtin_rule_and_ifindex_label),
		RFX_TEST(test_linkdown_and_linkup_share_a_fingerprint_per_ifindex),
		RFX_TEST(test_v1_generic_trap_gets_rfc3584_oid_and_agent_address),
		RFX_TEST(test_configured_rule_wins_and_renders_its_title),
		RFX_TEST(test_unmapped_trap_is_a_warning_named_by_its_oid),
		RFX_TEST(test_named_and_numeric_fingerprint_entries_agree),
		RFX_TEST(test_trapmap_refuses_unknown_names_and_severities),
		RFX_TEST(test_admission_checks_community_user_and_level),
		RFX_TEST(test_values_render_by_type),
		RFX_TEST(test_v2_without_trap_oid_is_kept_and_marked_malformed),
		RFX_TEST(test_inform_ids_are_valid_ulids_equal_for_a_retransmission),
		RFX_TEST(test_label_count_stays_bounded_with_many_varbinds),
		{NULL, NULL},
	};
	int rc;

	host_setup();
	/* As the plugin does: no config files, no MIBs, nothing persisted. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, "/tmp");
	register_mib_handlers();
	char mibs_line[] = "mibs :";
	netsnmp_config(mibs_line);
	init_snmp("reflex-test-snmptrap");
	rc = rfx_run_suite("snmptrap", tests);
	snmp_shutdown("reflex-test-snmptrap");
	return rc;
}
