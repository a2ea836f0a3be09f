/*
 * fuzz/fuzz_snmptrap.c - libFuzzer target for the SNMP trap input: raw
 * datagram bytes go through net-snmp's message parser (v1, v2c, v3 with no
 * users, as the plugin's library setup) and every PDU it accepts through
 * plugins/inputs/snmptrap/trapmap.c: admission, conversion to an event
 * (against a map with a configured rule and the built-ins) and the inform
 * identity. Besides crashes it checks that an event has its kind, host and
 * check, stays within the label bound, and serialises to JSON.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "trapmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rfx_host host;
static struct trapmap *map;

static void setup(void)
{
	static char *fp[] = {"ifIndex", "1.3.6.1.4.1.8072.1"};
	static struct snmptrap_rule_cfg rule = {
		"1.3.6.1.4.1.8072.0.1", "critical", TRAP_STATUS_FIRING,
		"{{ifIndex}} {{1.3.6.1.4.1.8072.1}} {{host}} {{trap}} {{ trap_oid }} {{peer}}",
		"svc", "g", {2, fp}};
	char err[256];

	host.event_new = rfx_event_new;
	host.event_ref = rfx_event_ref;
	host.event_unref = rfx_event_unref;
	host.event_set = rfx_event_set;
	host.event_label_set = rfx_event_label_set;
	host.event_label_get = rfx_event_label_get;
	host.severity_parse = rfx_severity_parse;
	host.severity_name = rfx_severity_name;
	host.now_ns = rfx_now_ns;
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, "/tmp");
	snmp_disable_log();
	register_mib_handlers();
	char mibs_line[] = "mibs :";
	netsnmp_config(mibs_line);
	init_snmp("reflex-fuzz-snmptrap");
	map = rfx_trapmap_new(&host, &rule, 1, false, err, sizeof(err));
	if (map == NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *comms[] = {"public"};
	static const struct trap_user users[] = {{"ops", TRAP_LEVEL_NOAUTH}};
	static const struct trap_policy policy = {comms, 1, users, 1};
	netsnmp_session sess;
	char why[128];
	uint64_t h[2];

	if (map == NULL)
		setup();
	/* net-snmp parses in place and may keep pointers: give it its own copy. */
	u_char *buf = malloc(size ? size : 1);
	netsnmp_pdu *pdu = calloc(1, sizeof(*pdu));
	if (buf == NULL || pdu == NULL) {
		free(buf);
		free(pdu);
		return 0;
	}
	memcpy(buf, data, size);
	snmp_sess_init(&sess);
	sess.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
	pdu->transport_data = NULL;
	if (snmp_parse(NULL, &sess, pdu, buf, size) == SNMPERR_SUCCESS) {
		(void)rfx_trap_admit(pdu, &policy, why, sizeof(why));
		if (pdu->command == SNMP_MSG_TRAP || pdu->command == SNMP_MSG_TRAP2 ||
		    pdu->command == SNMP_MSG_INFORM) {
			rfx_event *ev = rfx_trap_to_event(map, pdu, "127.0.0.1:162", "127.0.0.1");
			if (ev != NULL) {
				if (!rfx_event_kind(ev) || !rfx_event_host(ev) || !rfx_event_check(ev) ||
				    ev->nlabels > RFX_LABELS_MAX)
					__builtin_trap();
				json_object *j = rfx_event_to_json(ev);
				if (j == NULL || json_object_to_json_string(j) == NULL)
					__builtin_trap();
				json_object_put(j);
				rfx_event_unref(ev);
			}
			rfx_trap_identity(pdu, "127.0.0.1:162", h);
		}
	}
	snmp_free_pdu(pdu);
	free(buf);
	return 0;
}
