/*
 * plugins/inputs/webhook/format_nagios.c - Nagios / Icinga 1 notifications,
 * as posted by the commands in etc/nagios/reflex.cfg: one notification per
 * request, an object of macro name -> value (a form post with curl
 * --data-urlencode, or the same as a JSON object of strings).
 *
 * The fingerprint is "nagios:HOST/SERVICE" ("nagios:HOST" for host
 * notifications), not the problem id: Nagios sends SERVICEPROBLEMID=0 with a
 * recovery (the id moves to LASTSERVICEPROBLEMID) and starts a new id for
 * every new problem, so only host and service pair a problem with its
 * recovery and successive problems of one check with each other. Flapping,
 * downtime and custom notifications are conditions of their own with their
 * own fingerprint (":flapping", ":downtime", ":custom" appended), so their
 * end never resolves the state problem. See docs/inputs/nagios.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook.h"

/* Longest host name + service description we build a fingerprint from
 * (the core bounds fields at 4096 bytes). */
#define NAGIOS_ID_MAX 4096

enum nagios_ntype {
	NT_PROBLEM,
	NT_RECOVERY,
	NT_ACK,
	NT_FLAP_START,
	NT_FLAP_STOP,
	NT_FLAP_DISABLED,
	NT_DT_START,
	NT_DT_END,
	NT_DT_CANCELLED,
	NT_CUSTOM,
};

static const struct {
	const char *name;
	enum nagios_ntype type;
	const char *kind;   /* event kind */
	const char *suffix; /* fingerprint suffix: a condition of its own */
	int status;
} nagios_types[] = {
	{"PROBLEM", NT_PROBLEM, "alert", "", RFX_STATUS_FIRING},
	{"RECOVERY", NT_RECOVERY, "alert", "", RFX_STATUS_RESOLVED},
	{"ACKNOWLEDGEMENT", NT_ACK, "alert", "", RFX_STATUS_FIRING},
	{"FLAPPINGSTART", NT_FLAP_START, "flapping", ":flapping", RFX_STATUS_FIRING},
	{"FLAPPINGSTOP", NT_FLAP_STOP, "flapping", ":flapping", RFX_STATUS_RESOLVED},
	{"FLAPPINGDISABLED", NT_FLAP_DISABLED, "flapping", ":flapping", RFX_STATUS_RESOLVED},
	{"DOWNTIMESTART", NT_DT_START, "downtime", ":downtime", RFX_STATUS_FIRING},
	{"DOWNTIMEEND", NT_DT_END, "downtime", ":downtime", RFX_STATUS_RESOLVED},
	{"DOWNTIMECANCELLED", NT_DT_CANCELLED, "downtime", ":downtime", RFX_STATUS_RESOLVED},
	{"CUSTOM", NT_CUSTOM, "custom", ":custom", RFX_STATUS_FIRING},
};

/* Default severities of the states; severity_map overrides per state. */
static const struct {
	const char *state;
	int sev;
	bool ok; /* the good state: UP / OK */
} nagios_states[] = {
	{"OK", RFX_SEV_INFO, true},          {"WARNING", RFX_SEV_WARNING, false},
	{"CRITICAL", RFX_SEV_CRITICAL, false}, {"UNKNOWN", RFX_SEV_WARNING, false},
	{"UP", RFX_SEV_INFO, true},          {"DOWN", RFX_SEV_CRITICAL, false},
	{"UNREACHABLE", RFX_SEV_ERROR, false},
};

/* Macros copied into attrs (name in attrs, service macro, host macro). */
static const struct {
	const char *attr, *svc, *hst;
} nagios_attrs[] = {
	{"address", "HOSTADDRESS", "HOSTADDRESS"},
	{"host_alias", "HOSTALIAS", "HOSTALIAS"},
	{"output", "SERVICEOUTPUT", "HOSTOUTPUT"},
	{"long_output", "LONGSERVICEOUTPUT", "LONGHOSTOUTPUT"},
	{"state_type", "SERVICESTATETYPE", "HOSTSTATETYPE"},
	{"attempt", "SERVICEATTEMPT", "HOSTATTEMPT"},
	{"problem_id", "SERVICEPROBLEMID", "HOSTPROBLEMID"},
	{"last_problem_id", "LASTSERVICEPROBLEMID", "LASTHOSTPROBLEMID"},
	{"duration", "SERVICEDURATION", "HOSTDURATION"},
	{"check_command", "SERVICECHECKCOMMAND", "HOSTCHECKCOMMAND"},
	{"notification_number", "NOTIFICATIONNUMBER", "NOTIFICATIONNUMBER"},
	{"author", "NOTIFICATIONAUTHOR", "NOTIFICATIONAUTHOR"},
	{"comment", "NOTIFICATIONCOMMENT", "NOTIFICATIONCOMMENT"},
	{"contact", "CONTACTNAME", "CONTACTNAME"},
	{"host_state", "HOSTSTATE", "HOSTSTATE"},
};

/*
 * The value of macro `name`: exact key first, then any case (Icinga and
 * hand-written senders vary). Numbers and booleans give their text; a
 * missing key, null or "" gives NULL. Objects and arrays set *bad.
 */
static const char *nagios_get(struct json_object *root, const char *name, bool *bad)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(root, name, &v)) {
		json_object_object_foreach(root, k, kv) {
			if (strcasecmp(k, name) == 0) {
				v = kv;
				break;
			}
		}
	}
	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
		*bad = true;
		return NULL;
	}
	const char *s = json_object_get_string(v);
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Severity of a state: severity_map (state names, any case) over the
 * defaults. -1 for a state we do not know. */
static int nagios_severity(const struct webhook *w, const char *state)
{
	for (size_t i = 0; i < w->cfg->severity_map.n; i++)
		if (strcasecmp(w->cfg->severity_map.keys[i], state) == 0)
			return w->host->severity_parse(w->cfg->severity_map.values[i]);
	for (size_t i = 0; i < sizeof nagios_states / sizeof nagios_states[0]; i++)
		if (strcasecmp(nagios_states[i].state, state) == 0)
			return nagios_states[i].sev;
	return -1;
}

static bool nagios_state_known(const char *state, bool service)
{
	/* The first four are service states, the rest host states. */
	size_t from = service ? 0 : 4, to = service ? 4 : 7;

	for (size_t i = from; i < to; i++)
		if (strcasecmp(nagios_states[i].state, state) == 0)
			return true;
	return false;
}

static bool nagios_state_ok(const char *state)
{
	return strcasecmp(state, "OK") == 0 || strcasecmp(state, "UP") == 0;
}

/* Adds key: string to obj. 0 or -1 (out of memory). */
static int attr_str(struct json_object *obj, const char *key, const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (s == NULL || json_object_object_add(obj, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

int webhook_decode_nagios(struct webhook *w, struct json_object *root, rfx_event ***evs,
			  size_t *n, rfx_http_response *resp)
{
	const rfx_host *host = w->host;
	rfx_event **out = NULL, *ev = NULL;
	const char *hostname, *svc, *ntype, *state, *output, *timet;
	size_t ti;
	bool bad = false, service;
	int sev;
	char fp[NAGIOS_ID_MAX + 64];

	if (!json_object_is_type(root, json_type_object)) {
		host->http_error(resp, 422, "invalid_event",
				 "expected one notification: an object (or form) of Nagios macros, "
				 "got %s",
				 webhook_type_name(root));
		return -1;
	}
	/* Reject structured values up front so every field below is text. */
	json_object_object_foreach(root, key, val) {
		if (json_object_is_type(val, json_type_object) ||
		    json_object_is_type(val, json_type_array)) {
			host->http_error(resp, 422, "invalid_event",
					 "%s: expected a string, got %s", key,
					 webhook_type_name(val));
			return -1;
		}
	}

	hostname = nagios_get(root, "HOSTNAME", &bad);
	if (hostname == NULL) {
		host->http_error(resp, 422, "invalid_event",
				 "HOSTNAME: missing; every Nagios notification names its host");
		return -1;
	}
	svc = nagios_get(root, "SERVICEDESC", &bad);
	service = svc != NULL;
	if (strlen(hostname) + (svc != NULL ? strlen(svc) : 0) > NAGIOS_ID_MAX) {
		host->http_error(resp, 422, "invalid_event",
				 "HOSTNAME/SERVICEDESC: longer than %d bytes together", NAGIOS_ID_MAX);
		return -1;
	}

	state = nagios_get(root, service ? "SERVICESTATE" : "HOSTSTATE", &bad);
	if (state != NULL && !nagios_state_known(state, service)) {
		host->http_error(resp, 422, "invalid_event",
				 "%s: unknown state '%s' (expected %s)",
				 service ? "SERVICESTATE" : "HOSTSTATE", state,
				 service ? "OK, WARNING, CRITICAL or UNKNOWN"
					 : "UP, DOWN or UNREACHABLE");
		return -1;
	}

	/* Without NOTIFICATIONTYPE (a hand-made sender) the state decides. */
	ntype = nagios_get(root, "NOTIFICATIONTYPE", &bad);
	if (ntype == NULL)
		ntype = state != NULL && nagios_state_ok(state) ? "RECOVERY" : "PROBLEM";
	for (ti = 0; ti < sizeof nagios_types / sizeof nagios_types[0]; ti++)
		if (strcasecmp(nagios_types[ti].name, ntype) == 0)
			break;
	if (ti == sizeof nagios_types / sizeof nagios_types[0]) {
		host->http_error(resp, 422, "invalid_event",
				 "NOTIFICATIONTYPE: unknown type '%s' (expected PROBLEM, RECOVERY, "
				 "ACKNOWLEDGEMENT, FLAPPINGSTART, FLAPPINGSTOP, FLAPPINGDISABLED, "
				 "DOWNTIMESTART, DOWNTIMEEND, DOWNTIMECANCELLED or CUSTOM)",
				 ntype);
		return -1;
	}

	/* Severity: the state's for alerts; flapping warns; downtime informs. */
	if (nagios_types[ti].type == NT_DT_START || nagios_types[ti].type == NT_DT_END ||
	    nagios_types[ti].type == NT_DT_CANCELLED)
		sev = RFX_SEV_INFO;
	else if (nagios_types[ti].type == NT_FLAP_START)
		sev = RFX_SEV_WARNING;
	else if (state != NULL)
		sev = nagios_severity(w, state);
	else
		sev = nagios_types[ti].status == RFX_STATUS_RESOLVED ? RFX_SEV_INFO : RFX_SEV_WARNING;
	if (sev < 0) {
		host->http_error(resp, 422, "invalid_event",
				 "%s: severity_map maps '%s' to no reflex severity",
				 service ? "SERVICESTATE" : "HOSTSTATE", state);
		return -1;
	}

	ev = host->event_new();
	out = calloc(1, sizeof *out);
	if (ev == NULL || out == NULL)
		goto nomem;
	ev->severity = sev;
	ev->status = nagios_types[ti].status;

	timet = nagios_get(root, "TIMET", &bad);
	if (timet != NULL) {
		char *end = NULL;
		long long t;

		errno = 0;
		t = strtoll(timet, &end, 10);
		if (end == timet || *end != '\0' || errno == ERANGE || t <= 0 ||
		    t > INT64_MAX / 1000000000) {
			host->http_error(resp, 422, "invalid_event",
					 "TIMET: expected unix seconds, got '%s'", timet);
			goto fail;
		}
		ev->occurred_ns = (int64_t)t * 1000000000;
	}

	if (service)
		snprintf(fp, sizeof fp, "nagios:%s/%s%s", hostname, svc, nagios_types[ti].suffix);
	else
		snprintf(fp, sizeof fp, "nagios:%s%s", hostname, nagios_types[ti].suffix);
	output = nagios_get(root, service ? "SERVICEOUTPUT" : "HOSTOUTPUT", &bad);
	if (host->event_set(ev, RFX_F_HOST, hostname) != 0 ||
	    (service && host->event_set(ev, RFX_F_SERVICE, svc) != 0) ||
	    host->event_set(ev, RFX_F_CHECK, service ? svc : "host") != 0 ||
	    host->event_set(ev, RFX_F_KIND, nagios_types[ti].kind) != 0 ||
	    host->event_set(ev, RFX_F_FINGERPRINT, fp) != 0)
		goto nomem;
	if (output != NULL && host->event_set(ev, RFX_F_MESSAGE, output) != 0)
		goto nomem;

	if (attr_str(ev->attrs, "notification_type", nagios_types[ti].name) != 0 ||
	    (state != NULL && attr_str(ev->attrs, "state", state) != 0))
		goto nomem;
	for (size_t i = 0; i < sizeof nagios_attrs / sizeof nagios_attrs[0]; i++) {
		const char *v = nagios_get(root, service ? nagios_attrs[i].svc : nagios_attrs[i].hst,
					   &bad);
		/* host_state only adds to a service notification. */
		if (v != NULL && !(strcmp(nagios_attrs[i].attr, "host_state") == 0 && !service) &&
		    attr_str(ev->attrs, nagios_attrs[i].attr, v) != 0)
			goto nomem;
	}
	if (nagios_types[ti].type == NT_ACK) {
		struct json_object *t = json_object_new_boolean(1);
		if (t == NULL || json_object_object_add(ev->attrs, "acknowledged", t) != 0) {
			json_object_put(t);
			goto nomem;
		}
	}
	if (webhook_set_raw(w, ev, root) != 0)
		goto nomem;

	out[0] = ev;
	*evs = out;
	*n = 1;
	return 0;

nomem:
	host->http_error(resp, 500, "internal", "out of memory");
fail:
	if (ev != NULL)
		host->event_unref(ev);
	free(out);
	return -1;
}
